//! Readable sections for checkers other than linearizability: the set
//! checker's lost / unexpected / duplicated / recovered elements and stale
//! final reads, and the stats checker's recovery time after each fault.
//!
//! Invariants: both read the checkers' `details` as JSON (what
//! `results.json` holds), so an older or newer layout degrades to fewer
//! rows, never to an error; lists are cut at [`MAX_ROWS`].

use std::{collections::BTreeMap, fmt::Write as _};

use checker::{History, Results};
use serde_json::Value;

use super::{
    svg::esc,
    timeline::{op_tooltip, short},
};

/// Rows shown per list.
pub const MAX_ROWS: usize = 50;

/// Fault id -> time from the fault's stop to the first ok op (ns), from
/// the stats checker.
pub fn recovery_times(results: &Results) -> BTreeMap<u64, u64> {
    let Some(stats) = results.checkers.get("stats") else {
        return BTreeMap::new();
    };
    stats.details["faults"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["id"].as_u64()?, f["recovery"].as_u64()?)))
        .collect()
}

/// The set checker's findings as tables.
pub fn set_html(details: &Value, history: &History) -> String {
    let mut out = String::new();
    let count = |name: &str| details[name].as_array().map_or(0, Vec::len);
    let _ = write!(
        out,
        r#"<table class="set-counts"><tr><th>attempted</th><th>acknowledged</th><th>final reads</th><th>lost</th><th>unexpected</th><th>duplicated</th><th>stale final reads</th><th>recovered</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td><td class="{}">{}</td><td class="{}">{}</td><td class="{}">{}</td><td>{}</td></tr></table>"#,
        details["attempted"],
        details["acknowledged"],
        details["final_reads"],
        bad_if(count("lost")),
        count("lost"),
        bad_if(count("unexpected")),
        count("unexpected"),
        bad_if(count("duplicated")),
        count("duplicated"),
        bad_if(count("stale_final_reads")),
        count("stale_final_reads"),
        count("recovered"),
    );
    for reason in details["reasons"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "<p class=\"note\">{}</p>",
            esc(reason.as_str().unwrap_or(""))
        );
    }
    for (name, what) in [
        ("lost", "acknowledged appends missing from every final read"),
        ("unexpected", "elements read that were never appended"),
        (
            "recovered",
            "info appends that did take effect (not an error)",
        ),
    ] {
        let items = details[name].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            continue;
        }
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in &items {
            let key = item["key"].as_str().unwrap_or("").to_owned();
            by_key.entry(key).or_default().push(short(&item["element"]));
        }
        let _ = write!(
            out,
            "<h4>{} {name} <small>({what})</small></h4><ul>",
            items.len()
        );
        for (key, elements) in by_key {
            let shown = elements.len().min(MAX_ROWS);
            let more = elements.len() - shown;
            let _ = write!(
                out,
                "<li>key <code>{}</code>: <code>{}</code>{}</li>",
                esc(&key),
                esc(&elements[..shown].join(", ")),
                if more > 0 {
                    format!(" … and {more} more")
                } else {
                    String::new()
                }
            );
        }
        out.push_str("</ul>");
    }
    let stale = details["stale_final_reads"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !stale.is_empty() {
        let _ = write!(out, "<h4>{} stale final reads</h4><ul>", stale.len());
        for read in stale.iter().take(MAX_ROWS) {
            let op = read["op"]
                .as_u64()
                .and_then(|o| history.ops.get(o as usize))
                .map_or_else(String::new, op_tooltip);
            let missing: Vec<String> = read["missing"]
                .as_array()
                .into_iter()
                .flatten()
                .map(short)
                .collect();
            let _ = write!(
                out,
                "<li>key <code>{}</code>: {} — missed <code>{}</code></li>",
                esc(read["key"].as_str().unwrap_or("")),
                esc(&op),
                esc(&missing.join(", "))
            );
        }
        out.push_str("</ul>");
    }
    let dups = details["duplicated"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !dups.is_empty() {
        let _ = write!(out, "<h4>{} duplicated elements</h4><ul>", dups.len());
        for d in dups.iter().take(MAX_ROWS) {
            let _ = write!(
                out,
                "<li>key <code>{}</code>: <code>{}</code> seen {} times by one read</li>",
                esc(d["key"].as_str().unwrap_or("")),
                esc(&short(&d["element"])),
                d["count"]
            );
        }
        out.push_str("</ul>");
    }
    out
}

fn bad_if(n: usize) -> &'static str {
    if n > 0 { "bad" } else { "" }
}

#[cfg(test)]
mod tests {
    use checker::{CheckerResult, Verdict};
    use serde_json::json;

    use super::*;

    #[test]
    fn lost_elements_are_listed_by_key() {
        let details = json!({
            "verdict": "invalid", "attempted": 10, "acknowledged": 8, "final_reads": 2,
            "lost": [{"key": "k1", "element": 3}, {"key": "k1", "element": 4}],
            "unexpected": [], "recovered": [{"key": "k2", "element": 9}],
            "duplicated": [], "stale_final_reads": [], "reasons": []
        });
        let html = set_html(&details, &History::default());
        assert!(html.contains(r#"<td class="bad">2</td>"#), "{html}");
        assert!(html.contains("<h4>2 lost"));
        assert!(html.contains("key <code>k1</code>: <code>3, 4</code>"));
        assert!(html.contains("<h4>1 recovered"));
    }

    #[test]
    fn recovery_times_come_from_stats() {
        let mut results = Results::new();
        results.insert(
            "stats",
            CheckerResult::new(
                Verdict::Valid,
                "",
                &json!({"faults": [{"id": 1, "recovery": 5}, {"id": 2, "recovery": null}]}),
            )
            .unwrap(),
        );
        assert_eq!(recovery_times(&results), BTreeMap::from([(1, 5)]));
    }
}
