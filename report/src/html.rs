//! `report.html`: one self-contained page (inline CSS and SVG, no script,
//! no network fetch) that opens from disk or from a CI artifact.
//!
//! Sections, in order: verdict banner; summary (plan, seed, duration,
//! nodes, system, read mode, checkers, replay command, links to the node
//! logs and raw files); throughput and latency over time with fault
//! windows; counterexamples; other checkers; faults; per-function stats;
//! the per-process timeline; node log tails.
//!
//! Invariant: [`render_html`] is a pure function of its [`ReportInput`];
//! every string from the run is escaped; links are relative to the run
//! directory, so the page works wherever the directory is copied.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

use checker::{Outcome, Stats, Verdict};

use super::{
    faults::{FaultBand, fault_bands},
    input::ReportInput,
    plots::{latency_svg, throughput_svg, time_end},
    sections::{self, Rendered},
    series::fn_stats,
    svg::esc,
    timeline::timeline_html,
    units::{fmt_ms, fmt_secs, secs},
};

const CSS: &str = include_str!("report.css");

/// Details shown as JSON are cut at this many characters.
const MAX_DETAILS_CHARS: usize = 20_000;

/// Fault id -> time from the fault's stop to the first ok op (ns), from
/// the stats checker.
pub fn recovery_times(input: &ReportInput<'_>) -> BTreeMap<u64, u64> {
    let Some(stats) = input.checked.get_as::<Stats>(checker::stats::NAME) else {
        return BTreeMap::new();
    };
    stats
        .faults
        .iter()
        .filter_map(|f| Some((f.id?, f.recovery?)))
        .collect()
}

/// Renders the whole page.
pub fn render_html(input: &ReportInput<'_>) -> String {
    let history = input.history;
    let windows = fault_bands(history);
    let end = time_end(history, &windows);
    let rendered: Vec<(&str, Option<Rendered>)> = input
        .checked
        .reports()
        .map(|(name, report)| (name, sections::find(name).map(|s| s.html(input, report))))
        .collect();
    let highlight: BTreeSet<usize> = rendered
        .iter()
        .flat_map(|(_, r)| r.iter().flat_map(|r| r.highlight.iter().copied()))
        .collect();
    let links: Vec<(&str, &str)> = rendered
        .iter()
        .filter_map(|(_, r)| r.as_ref()?.nav)
        .collect();
    let verdict = input.checked.verdict();
    let title = format!(
        "{} · {} · {}",
        verdict.to_string().to_uppercase(),
        input.meta.plan,
        input.run_name
    );

    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{CSS}</style></head><body>"#,
        esc(&title)
    );
    banner(&mut out, input);
    nav(&mut out, &links);
    summary(&mut out, input, &windows);

    out.push_str(r#"<section id="throughput"><h2>Throughput</h2><p class="note">Completed operations per second, stacked by outcome. Shaded bands are fault windows (hover for details).</p><div class="scroll">"#);
    out.push_str(&throughput_svg(history, &windows));
    out.push_str(r#"</div></section><section id="latency"><h2>Latency</h2><p class="note">Each op's latency against the time it was invoked, log scale.</p><div class="scroll">"#);
    out.push_str(&latency_svg(history, &windows));
    out.push_str("</div></section>");

    checks(&mut out, input, &rendered);
    faults_table(&mut out, &windows, end, &recovery_times(input));
    op_stats(&mut out, input);
    out.push_str(r#"<section id="timeline"><h2>Timeline</h2>"#);
    out.push_str(&timeline_html(history, &windows, &highlight, end));
    out.push_str("</section>");
    logs(&mut out, input);
    let _ = write!(
        out,
        r#"<footer>Rendered by harness {} from results.json and history.jsonl. Re-render with <code>harness report {}</code>.</footer></body></html>"#,
        env!("CARGO_PKG_VERSION"),
        esc(&input.run_dir)
    );
    out
}

/// The CSS class of a verdict.
pub fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Unknown => "unknown",
        Verdict::Invalid => "invalid",
    }
}

fn banner(out: &mut String, input: &ReportInput<'_>) {
    let v = input.checked.verdict();
    let explain = match v {
        Verdict::Valid => "every check passed",
        Verdict::Unknown => "no check failed, but some could not decide",
        Verdict::Invalid => "the history violates a checked property",
    };
    let _ = write!(
        out,
        r#"<header class="banner {cls}"><div class="verdict" id="verdict">{}</div><div><div class="what">{}</div><div class="sub">plan <b>{}</b> · run {}{}</div></div></header>"#,
        v.to_string().to_uppercase(),
        explain,
        esc(&input.meta.plan),
        esc(&input.run_name),
        if input.meta.interrupted {
            " · <b>interrupted</b>: the verdict covers only what was recorded"
        } else {
            ""
        },
        cls = verdict_class(v)
    );
}

fn nav(out: &mut String, links: &[(&str, &str)]) {
    out.push_str(r##"<nav><a href="#summary">Summary</a><a href="#throughput">Throughput</a><a href="#latency">Latency</a><a href="#checks">Checks</a>"##);
    for (anchor, title) in links {
        let _ = write!(out, r##"<a href="#{anchor}">{title}</a>"##);
    }
    out.push_str(r##"<a href="#faults">Faults</a><a href="#ops">Operations</a><a href="#timeline">Timeline</a><a href="#logs">Node logs</a></nav>"##);
}

fn summary(out: &mut String, input: &ReportInput<'_>, windows: &[FaultBand]) {
    let meta = &input.meta;
    let h = input.history;
    let count = |o: Outcome| h.ops.iter().filter(|op| op.outcome == o).count();
    let nodes = meta
        .nodes
        .map(|n| n.to_string())
        .unwrap_or_else(|| match input.logs.len() {
            0 => "-".to_owned(),
            n => n.to_string(),
        });
    let duration = format!(
        "{} planned, {} recorded",
        meta.duration.as_deref().unwrap_or("-"),
        fmt_secs(secs(h.end_time()))
    );
    let rows: [(&str, String); 9] = [
        ("plan", esc(&meta.plan)),
        (
            "seed",
            meta.seed
                .map_or("-".to_owned(), |s| format!("<code>{s}</code>")),
        ),
        ("duration", esc(&duration)),
        ("nodes", esc(&nodes)),
        ("system", esc(meta.system.as_deref().unwrap_or("-"))),
        ("read mode", format!("<b>{}</b>", esc(&meta.read_mode()))),
        (
            "node args",
            if meta.args.is_empty() {
                "none".to_owned()
            } else {
                format!("<code>{}</code>", esc(&meta.args.join(" ")))
            },
        ),
        ("workload", esc(meta.workload.as_deref().unwrap_or("-"))),
        (
            "operations",
            format!(
                r#"{} — <span class="t-ok">{} ok</span>, <span class="t-fail">{} fail</span>, <span class="t-info">{} info</span>; {} faults"#,
                h.ops.len(),
                count(Outcome::Ok),
                count(Outcome::Fail),
                count(Outcome::Info),
                windows.len()
            ),
        ),
    ];
    out.push_str(r#"<section id="summary" class="summary"><div><h2>Run</h2><table class="facts">"#);
    for (name, value) in rows {
        let _ = write!(out, "<tr><th>{name}</th><td>{value}</td></tr>");
    }
    out.push_str("</table></div><div><h2>Verdicts</h2><table class=\"verdicts\"><tr><th>checker</th><th>verdict</th><th>summary</th></tr>");
    for (name, report) in input.checked.reports() {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td><span class="badge {cls}">{}</span></td><td>{}</td></tr>"#,
            esc(name),
            report.verdict(),
            esc(&report.summary()),
            cls = verdict_class(report.verdict())
        );
    }
    let _ = write!(
        out,
        r#"<tr class="overall"><td>overall</td><td><span class="badge {cls}">{}</span></td><td>the worst verdict above (invalid, then unknown, then valid)</td></tr></table>"#,
        input.checked.verdict(),
        cls = verdict_class(input.checked.verdict())
    );
    let _ = write!(
        out,
        r#"<h3>Replay</h3><pre class="cmd">harness run {}/{}</pre><p class="note">The stored plan has the seed filled in: the same faults and ops are chosen again.</p>"#,
        esc(&input.run_dir),
        rundir::PLAN
    );
    if !meta.notes.is_empty() {
        out.push_str(r#"<h3>Notes</h3><ul class="notes">"#);
        for note in &meta.notes {
            let _ = write!(out, "<li>{}</li>", esc(note));
        }
        out.push_str("</ul>");
    }
    out.push_str("<h3>Node logs</h3><p>");
    if input.logs.is_empty() {
        out.push_str("none recorded");
    }
    for log in &input.logs {
        let _ = write!(
            out,
            r##"<a class="chip" href="#log-{}">{} <small>({} lines)</small></a> "##,
            esc(&log.name),
            esc(&log.name),
            log.total_lines
        );
    }
    out.push_str(r#"</p><h3>Files</h3><p class="files">"#);
    for file in [
        rundir::PLAN,
        rundir::HISTORY,
        rundir::RESULTS,
        rundir::JUNIT,
    ] {
        let _ = write!(out, r#"<a href="{file}">{file}</a> "#);
    }
    out.push_str("</p></div></section>");
}

/// Every checker: a heading with its verdict and summary, its own section
/// if it has one, and its details as JSON.
fn checks(out: &mut String, input: &ReportInput<'_>, rendered: &[(&str, Option<Rendered>)]) {
    out.push_str(r#"<section id="checks"><h2>Checks</h2>"#);
    for (name, section) in rendered {
        let Some(report) = input.checked.get(name) else {
            continue;
        };
        let _ = write!(
            out,
            r#"<h3>{} <span class="badge {}">{}</span></h3><p>{}</p>"#,
            esc(name),
            verdict_class(report.verdict()),
            report.verdict(),
            esc(&report.summary()),
        );
        if let Some(section) = section {
            out.push_str(&section.html);
        }
        let details = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
        let cut = match details.char_indices().nth(MAX_DETAILS_CHARS) {
            Some((i, _)) => format!("{}\n… (cut; see results.json)", &details[..i]),
            None => details,
        };
        let _ = write!(
            out,
            r#"<details><summary>details (JSON)</summary><pre>{}</pre></details>"#,
            esc(&cut)
        );
    }
    out.push_str("</section>");
}

fn faults_table(
    out: &mut String,
    windows: &[FaultBand],
    end: u64,
    recovery: &std::collections::BTreeMap<u64, u64>,
) {
    out.push_str(r#"<section id="faults"><h2>Faults</h2>"#);
    if windows.is_empty() {
        out.push_str("<p>No faults were injected.</p></section>");
        return;
    }
    out.push_str("<table class=\"faults\"><tr><th>fault</th><th>from</th><th>to</th><th>for</th><th>recovered after</th><th>detail</th></tr>");
    for w in windows {
        let stop = w.stop.unwrap_or(end);
        let _ = write!(
            out,
            r#"<tr><td><span class="swatch {}"></span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><small>{}</small></td></tr>"#,
            w.css_class(),
            esc(&w.label),
            fmt_secs(secs(w.start)),
            if w.stop.is_some() {
                fmt_secs(secs(stop))
            } else {
                "(end)".to_owned()
            },
            fmt_secs(secs(stop.saturating_sub(w.start))),
            w.id.and_then(|id| recovery.get(&id))
                .map_or("-".to_owned(), |ns| fmt_ms(*ns as f64 / 1e6)),
            esc(&w.detail).replace('\n', "<br>")
        );
    }
    out.push_str("</table></section>");
}

fn op_stats(out: &mut String, input: &ReportInput<'_>) {
    out.push_str(r#"<section id="ops"><h2>Operations</h2><table class="stats"><tr><th>f</th><th>ok</th><th>fail</th><th>info</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>"#);
    for (f, s) in fn_stats(input.history) {
        let lat = s.latency_ms.map_or_else(
            || "<td>-</td>".repeat(4),
            |l| {
                l.iter()
                    .map(|ms| format!("<td>{}</td>", fmt_ms(*ms)))
                    .collect()
            },
        );
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{lat}</tr>"#,
            esc(&f),
            s.ok,
            s.fail,
            s.info
        );
    }
    out.push_str("</table><p class=\"note\">Latency percentiles of ok ops.</p></section>");
}

fn logs(out: &mut String, input: &ReportInput<'_>) {
    out.push_str(r#"<section id="logs"><h2>Node logs</h2>"#);
    if input.logs.is_empty() {
        out.push_str("<p>No node logs in this run directory.</p>");
    }
    for log in &input.logs {
        let _ = write!(
            out,
            r#"<section class="log" id="log-{}"><h3>{} <small>last {} of {} lines · <a href="{}">full log</a></small></h3><pre>"#,
            esc(&log.name),
            esc(&log.name),
            log.tail.len(),
            log.total_lines,
            esc(&log.path)
        );
        for line in &log.tail {
            // The harness's own markers (start, kill, exit) stand out;
            // error lines are red.
            let class = if line.starts_with("---- ") {
                " class=\"hl\""
            } else if line.contains(" ERROR ") {
                " class=\"err\""
            } else {
                ""
            };
            let _ = writeln!(out, "<span{class}>{}</span>", esc(line));
        }
        out.push_str("</pre></section>");
    }
    out.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use checker::{Checked, Checker};
    use rundir::RunMeta;

    use super::*;
    use crate::{counterexample::tests::stale_read_history, input::NodeLog};

    fn checked_for(history: &checker::History) -> Checked {
        let checkers: Vec<Box<dyn Checker>> = vec![Box::new(checker::Linearizable::register(
            checker::CheckSettings::default(),
        ))];
        Checked::run(history, &checkers)
    }

    fn meta() -> RunMeta {
        RunMeta {
            plan: "dirty-read".into(),
            seed: Some(42),
            nodes: Some(3),
            system: Some("raft-kv".into()),
            args: vec!["--read-mode".into(), "local".into()],
            workload: Some("register".into()),
            duration: Some("30s".into()),
            notes: vec!["<script>alert(1)</script>".into()],
            ..RunMeta::default()
        }
    }

    #[test]
    fn the_page_has_verdict_summary_plots_counterexample_and_logs() {
        let history = stale_read_history();
        let checked = checked_for(&history);
        let input = ReportInput {
            history: &history,
            checked: &checked,
            meta: meta(),
            run_dir: "runs/dirty-read/20261126T110806Z".into(),
            run_name: "20261126T110806Z".into(),
            logs: vec![NodeLog {
                name: "n1".into(),
                path: "nodes/n1.log".into(),
                total_lines: 2,
                tail: vec!["hello".into(), "n1 x ERROR <boom>".into()],
            }],
        };
        let html = render_html(&input);
        for needle in [
            r#"<div class="verdict" id="verdict">INVALID</div>"#,
            "harness run runs/dirty-read/20261126T110806Z/plan.yaml",
            "<th>read mode</th><td><b>local</b></td>",
            "<code>42</code>",
            r#"id="throughput-plot""#,
            r#"id="latency-plot""#,
            r#"id="cex-k0""#,
            r##"<a href="#counterexamples">Counterexamples</a>"##,
            "Stale read: p3 on n3 read 1",
            r##"href="#log-n1""##,
            r#"<span class="err">n1 x ERROR &lt;boom&gt;</span>"#,
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            r#"<g id="op-"#,
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        assert!(
            !html.contains("<script"),
            "no script, and run text is escaped"
        );
        for fetch in [" src=", "<link", "@import", "url("] {
            assert!(!html.contains(fetch), "self-contained: no {fetch}");
        }
    }

    #[test]
    fn a_100k_op_history_gives_a_page_of_bounded_size() {
        let workload = checker::generate::RegisterWorkload {
            seed: 7,
            ops: 100_000,
            keys: 200,
            processes: 20,
            ..Default::default()
        };
        let (history, _) = checker::generate::register_with_stale_read(&workload).unwrap();
        let checked = checked_for(&history);
        assert_eq!(checked.verdict(), Verdict::Invalid);
        let input = ReportInput {
            history: &history,
            checked: &checked,
            meta: RunMeta::default(),
            run_dir: "r".into(),
            run_name: "r".into(),
            logs: Vec::new(),
        };
        let start = std::time::Instant::now();
        let html = render_html(&input);
        let took = start.elapsed();
        eprintln!("100k ops: {} bytes in {took:?}", html.len());
        assert!(html.len() < 12_000_000, "{} bytes", html.len());
        assert!(
            html.contains("Not drawn"),
            "some timeline pages are left out"
        );
        assert!(html.contains(r#"class="cex-plot""#));
    }

    #[test]
    fn a_run_without_metadata_or_ops_renders() {
        let history = checker::History::default();
        let checked = Checked::new();
        let input = ReportInput {
            history: &history,
            checked: &checked,
            meta: RunMeta::default(),
            run_dir: "r".into(),
            run_name: "r".into(),
            logs: Vec::new(),
        };
        let html = render_html(&input);
        assert!(html.contains(">VALID</div>"));
        assert!(html.contains("No client operations were recorded."));
        assert!(html.contains("No faults were injected."));
    }
}
