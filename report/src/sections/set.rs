//! The set checker's section: counts, and the lost / unexpected /
//! recovered / duplicated elements and stale final reads, by key.
//!
//! Invariant: lists are cut at [`MAX_ROWS`].

use std::{collections::BTreeMap, fmt::Write as _};

use checker::{History, Report, SetReport};

use super::{Rendered, Section};
use crate::{
    input::ReportInput,
    svg::esc,
    timeline::{op_tooltip, short},
};

/// Rows shown per list.
pub const MAX_ROWS: usize = 50;

pub struct Set;

impl Section for Set {
    fn checker(&self) -> &'static str {
        checker::set::NAME
    }

    fn html(&self, input: &ReportInput<'_>, report: &dyn Report) -> Rendered {
        match report.as_any().downcast_ref::<SetReport>() {
            Some(report) => Rendered {
                html: set_html(report, input.history),
                ..Rendered::default()
            },
            None => Rendered::default(),
        }
    }
}

/// The set checker's findings as tables.
pub fn set_html(report: &SetReport, history: &History) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<table class="set-counts"><tr><th>attempted</th><th>acknowledged</th><th>final reads</th><th>lost</th><th>unexpected</th><th>duplicated</th><th>stale final reads</th><th>recovered</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td><td class="{}">{}</td><td class="{}">{}</td><td class="{}">{}</td><td>{}</td></tr></table>"#,
        report.attempted,
        report.acknowledged,
        report.final_reads,
        bad_if(report.lost.len()),
        report.lost.len(),
        bad_if(report.unexpected.len()),
        report.unexpected.len(),
        bad_if(report.duplicated.len()),
        report.duplicated.len(),
        bad_if(report.stale_final_reads.len()),
        report.stale_final_reads.len(),
        report.recovered.len(),
    );
    for reason in &report.reasons {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(reason));
    }
    for (name, what, items) in [
        (
            "lost",
            "elements known to exist (acknowledged, or returned by a read) missing from every final read",
            &report.lost,
        ),
        (
            "unexpected",
            "elements read that were never appended",
            &report.unexpected,
        ),
        (
            "recovered",
            "info appends that did take effect (not an error)",
            &report.recovered,
        ),
    ] {
        if items.is_empty() {
            continue;
        }
        let mut by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for item in items {
            by_key
                .entry(&item.key)
                .or_default()
                .push(short(&item.element));
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
                esc(key),
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
    let stale = &report.stale_final_reads;
    if !stale.is_empty() {
        let _ = write!(out, "<h4>{} stale final reads</h4><ul>", stale.len());
        for read in stale.iter().take(MAX_ROWS) {
            let op = history
                .ops
                .get(read.op)
                .map_or_else(String::new, op_tooltip);
            let missing: Vec<String> = read.missing.iter().map(short).collect();
            let _ = write!(
                out,
                "<li>key <code>{}</code>: {} — missed <code>{}</code></li>",
                esc(&read.key),
                esc(&op),
                esc(&missing.join(", "))
            );
        }
        out.push_str("</ul>");
    }
    let dups = &report.duplicated;
    if !dups.is_empty() {
        let _ = write!(out, "<h4>{} duplicated elements</h4><ul>", dups.len());
        for d in dups.iter().take(MAX_ROWS) {
            let _ = write!(
                out,
                "<li>key <code>{}</code>: <code>{}</code> seen {} times by one read</li>",
                esc(&d.key),
                esc(&short(&d.element)),
                d.count
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
    use checker::set::Element;

    use super::*;

    #[test]
    fn lost_elements_are_listed_by_key() {
        let element = |key: &str, e: u64| Element {
            key: key.into(),
            element: e.into(),
        };
        let report = SetReport {
            verdict: checker::Verdict::Invalid,
            attempted: 10,
            acknowledged: 8,
            final_reads: 2,
            lost: vec![element("k1", 3), element("k1", 4)],
            recovered: vec![element("k2", 9)],
            ..SetReport::default()
        };
        let html = set_html(&report, &History::default());
        assert!(html.contains(r#"<td class="bad">2</td>"#), "{html}");
        assert!(html.contains("<h4>2 lost"));
        assert!(html.contains("key <code>k1</code>: <code>3, 4</code>"));
        assert!(html.contains("<h4>1 recovered"));
    }
}
