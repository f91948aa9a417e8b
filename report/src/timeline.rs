//! The per-process timeline: one bar per op from invocation to completion,
//! coloured by outcome, on lanes, split into pages of equal time span so a
//! 100k-op history stays usable without JavaScript.
//!
//! - Lanes: a client takes a fresh process id after an `info`, so
//!   processes are packed onto lanes (a process goes on a lane whose last
//!   process ended before it began, preferring the same node); each lane
//!   lists its processes.
//! - Pages: `<details>` blocks of one time span each; the first page with
//!   an anomaly (or the first page) is open. At most [`MAX_DRAWN_OPS`] bars
//!   are drawn in the whole report, pages with anomalies and fault changes
//!   first, then in time order; the others say so.
//!
//! Invariants: pure functions of the history; an op that never completed
//! is drawn to the end of the history (hatched); every bar has a tooltip
//! with process, node, op, key, outcome, time and latency.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

use checker::{History, Op, Outcome};
use serde_json::Value;

use super::{
    faults::FaultBand,
    svg::{LABEL_ROW, Linear, esc, fault_bands, label_rows, time_axis},
    units::{fmt_ms, fmt_secs, secs},
};

/// Aim for about this many ops per page.
pub const TARGET_PAGE_OPS: usize = 250;
/// Bars drawn in the whole timeline at most.
pub const MAX_DRAWN_OPS: usize = 40_000;
const WIDTH: f64 = 1200.0;
const LEFT: f64 = 170.0;
const LANE: f64 = 18.0;

/// A lane of the timeline: processes that never overlap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// The node of the lane's first process's first op.
    pub node: Option<String>,
    pub processes: Vec<u64>,
}

/// Packs processes onto lanes; returns the lanes and each process's lane.
pub fn lanes(history: &History) -> (Vec<Lane>, BTreeMap<u64, usize>) {
    let end = history.end_time();
    // process -> (first call, last return or end, node)
    let mut spans: BTreeMap<u64, (u64, u64, Option<String>)> = BTreeMap::new();
    for op in &history.ops {
        let stop = op.return_time.unwrap_or(end);
        spans
            .entry(op.process)
            .and_modify(|s| s.1 = s.1.max(stop))
            .or_insert((op.call_time, stop, op.node.clone()));
    }
    let mut order: Vec<(u64, u64, u64, Option<String>)> = spans
        .into_iter()
        .map(|(p, (a, b, n))| (a, p, b, n))
        .collect();
    order.sort();
    let mut lanes: Vec<Lane> = Vec::new();
    let mut lane_end: Vec<u64> = Vec::new();
    let mut of = BTreeMap::new();
    for (first, process, last, node) in order {
        let free = |i: &usize| lane_end[*i] < first;
        let same_node = (0..lanes.len()).find(|i| free(i) && lanes[*i].node == node);
        let lane = match same_node.or_else(|| (0..lanes.len()).find(free)) {
            Some(i) => i,
            None => {
                lanes.push(Lane {
                    node: node.clone(),
                    processes: Vec::new(),
                });
                lane_end.push(0);
                lanes.len() - 1
            }
        };
        lanes[lane].processes.push(process);
        lane_end[lane] = last;
        of.insert(process, lane);
    }
    (lanes, of)
}

/// One page of the timeline: `[start, end)` and the ops overlapping it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub start: u64,
    pub end: u64,
    /// Positions in `History::ops`.
    pub ops: Vec<usize>,
}

/// A round page span (1, 2, 3, 5 × 10^k s, at least 1 s) giving about
/// [`TARGET_PAGE_OPS`] ops per page.
pub fn page_span(end: u64, ops: usize) -> u64 {
    let pages = ops.div_ceil(TARGET_PAGE_OPS).max(1) as f64;
    let raw = (secs(end) / pages).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 3.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw - 1e-9)
        .unwrap_or(10.0 * mag);
    (step * 1e9).round() as u64
}

/// Splits the history into pages of `span` ns.
pub fn pages(history: &History, end: u64, span: u64) -> Vec<Page> {
    let count = (end / span + 1) as usize;
    let mut pages: Vec<Page> = (0..count)
        .map(|i| Page {
            start: i as u64 * span,
            end: (i as u64 + 1) * span,
            ops: Vec::new(),
        })
        .collect();
    for (i, op) in history.ops.iter().enumerate() {
        let last = op.return_time.unwrap_or(end).min(end);
        let (a, b) = ((op.call_time / span) as usize, (last / span) as usize);
        for page in pages.iter_mut().take(b.min(count - 1) + 1).skip(a) {
            page.ops.push(i);
        }
    }
    pages
}

/// `5–10 s`, or `5.5–6 s` for spans below a second.
pub fn fmt_span(start: u64, end: u64) -> String {
    let f = |ns: u64| {
        let s = secs(ns);
        if (s - s.round()).abs() < 1e-9 {
            format!("{s:.0}")
        } else {
            format!("{s:.1}")
        }
    };
    format!("{}–{} s", f(start), f(end))
}

/// A short description of an op: `read → 51`, `write 55`, `cas 51→55`.
pub fn op_text(op: &Op) -> String {
    match (op.f.as_str(), op.outcome) {
        ("read", Outcome::Ok) => format!("read → {}", short(&op.output)),
        ("read", _) => "read".to_owned(),
        // A committed transaction shows what its reads saw.
        ("txn", Outcome::Ok) if !op.output.is_null() => format!("txn {}", short(&op.output)),
        ("cas", _) => match op.input.as_array().map(Vec::as_slice) {
            Some([from, to]) => format!("cas {}→{}", short(from), short(to)),
            _ => format!("cas {}", short(&op.input)),
        },
        (f, _) if op.input.is_null() => f.to_owned(),
        (f, _) => format!("{f} {}", short(&op.input)),
    }
}

/// Compact JSON, cut to 40 characters.
pub fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The tooltip of an op.
pub fn op_tooltip(op: &Op) -> String {
    let mut text = format!("p{}", op.process);
    if let Some(node) = &op.node {
        text += &format!(" on {node}");
    }
    text += &format!(" · {}", op_text(op));
    if let Some(key) = &op.key {
        text += &format!(" · key {key}");
    }
    let outcome = match op.outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    };
    text += &format!(" · {outcome} · at {}", fmt_secs(secs(op.call_time)));
    match op.return_time {
        Some(r) => text += &format!(", took {}", fmt_ms((r - op.call_time) as f64 / 1e6)),
        None => text += ", never completed",
    }
    text
}

/// The timeline section: a `<details>` per page.
pub fn timeline_html(
    history: &History,
    windows: &[FaultBand],
    highlight: &BTreeSet<usize>,
    end: u64,
) -> String {
    if history.ops.is_empty() {
        return "<p>No client operations were recorded.</p>".to_owned();
    }
    let (lanes, lane_of) = lanes(history);
    let span = page_span(end, history.ops.len());
    let pages = pages(history, end, span);
    let transitions: BTreeSet<usize> = windows
        .iter()
        .flat_map(|w| [Some(w.start), w.stop])
        .flatten()
        .map(|t| (t / span) as usize)
        .collect();
    // Which pages get drawn: anomalies, fault changes, then time order.
    let mut priority: Vec<usize> = (0..pages.len()).collect();
    priority.sort_by_key(|&i| {
        let anomaly = pages[i].ops.iter().any(|o| highlight.contains(o));
        (!anomaly, !transitions.contains(&i), i)
    });
    let mut drawn = BTreeSet::new();
    let mut budget = MAX_DRAWN_OPS;
    for i in priority {
        if pages[i].ops.len() <= budget {
            budget -= pages[i].ops.len();
            drawn.insert(i);
        }
    }
    let open_page = pages
        .iter()
        .position(|p| p.ops.iter().any(|o| highlight.contains(o)))
        .unwrap_or(0);

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<p class="note">{} ops on {} lanes ({} processes: a client takes a fresh process id after an <em>info</em>), in {} pages of {} s. Hover a bar for details; red outlines mark ops of counterexamples.</p>"#,
        history.ops.len(),
        lanes.len(),
        lane_of.len(),
        pages.len(),
        secs(span)
    );
    for (i, page) in pages.iter().enumerate() {
        let faults: Vec<&str> = windows
            .iter()
            .filter(|w| w.start < page.end && w.stop.unwrap_or(end) >= page.start)
            .map(|w| w.label.as_str())
            .collect();
        let anomalies = page.ops.iter().filter(|o| highlight.contains(o)).count();
        let _ = write!(
            out,
            r#"<details class="page" id="timeline-page-{i}"{}><summary>{} · {} ops"#,
            if i == open_page { " open" } else { "" },
            fmt_span(page.start, page.end),
            page.ops.len()
        );
        if anomalies > 0 {
            let _ = write!(
                out,
                r#" · <span class="bad">{anomalies} in counterexamples</span>"#
            );
        }
        if !faults.is_empty() {
            let _ = write!(out, " · {}", esc(&faults.join(", ")));
        }
        out.push_str("</summary>");
        if drawn.contains(&i) {
            page_svg(
                &mut out, history, windows, &lanes, &lane_of, page, highlight, end,
            );
        } else {
            let _ = write!(
                out,
                r#"<p class="note">Not drawn, to keep this file small ({} bars are drawn in all, pages with anomalies and fault changes first). The ops are in history.jsonl.</p>"#,
                MAX_DRAWN_OPS
            );
        }
        out.push_str("</details>");
    }
    out
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page needs the whole picture"
)]
fn page_svg(
    out: &mut String,
    history: &History,
    windows: &[FaultBand],
    lanes: &[Lane],
    lane_of: &BTreeMap<u64, usize>,
    page: &Page,
    highlight: &BTreeSet<usize>,
    end: u64,
) {
    let here: Vec<FaultBand> = windows
        .iter()
        .filter(|w| w.start < page.end && w.stop.unwrap_or(end) >= page.start)
        .cloned()
        .collect();
    let x = Linear::new((secs(page.start), secs(page.end)), (LEFT, WIDTH - 14.0));
    let (rows, row_count) = label_rows(&here, &x, end);
    let top = 10.0 + row_count as f64 * LABEL_ROW;
    let height = top + lanes.len() as f64 * LANE + 40.0;
    let frame = super::svg::Frame {
        width: WIDTH,
        height,
        left: LEFT,
        right: 14.0,
        top,
        bottom: 40.0,
    };
    let _ = write!(
        out,
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0} {height:.0}" width="{WIDTH:.0}" height="{height:.0}" role="img" aria-label="operations by process, {} to {}">"#,
        fmt_secs(secs(page.start)),
        fmt_secs(secs(page.end))
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = top + i as f64 * LANE;
        let mut label = lane
            .node
            .clone()
            .map_or(String::new(), |n| format!("{n} · "));
        let procs: Vec<String> = lane.processes.iter().map(|p| format!("p{p}")).collect();
        let full = procs.join(" ");
        label += &if full.chars().count() > 18 {
            format!(
                "{} …",
                procs.iter().take(3).cloned().collect::<Vec<_>>().join(" ")
            )
        } else {
            full.clone()
        };
        let _ = write!(
            out,
            r#"<rect class="lane{}" x="0" y="{y:.1}" width="{WIDTH:.0}" height="{LANE:.1}"/><text class="lane-label" x="6" y="{:.1}">{}<title>processes {}</title></text>"#,
            if i % 2 == 1 { " odd" } else { "" },
            y + 12.5,
            esc(&label),
            esc(&full)
        );
    }
    fault_bands(out, &here, &x, (frame.y0(), frame.y1()), end, Some(&rows));
    time_axis(out, &frame, &x, "time since the run started (s)");
    let (lo, hi) = (x.r0, x.r1);
    for &o in &page.ops {
        let op = &history.ops[o];
        let lane = lane_of.get(&op.process).copied().unwrap_or(0);
        let y = top + lane as f64 * LANE + 2.0;
        let a = x.at(secs(op.call_time)).clamp(lo, hi);
        let b = x.at(secs(op.return_time.unwrap_or(end))).clamp(lo, hi);
        let w = (b - a).max(2.0);
        let mut class = match op.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
        .to_owned();
        if op.return_time.is_none() {
            class += " open";
        }
        if highlight.contains(&o) {
            class += " bad";
        }
        // Ops of counterexamples get an anchor on the page of their call.
        if highlight.contains(&o) && (page.start..page.end).contains(&op.call_time) {
            let _ = write!(out, r#"<g id="op-{o}">"#);
        } else {
            out.push_str("<g>");
        }
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{a:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}"/>"#,
            LANE - 4.0
        );
        let text = op_text(op);
        if w > 10.0 + text.chars().count() as f64 * 6.2 {
            let _ = write!(
                out,
                r#"<text class="bar-label" x="{:.1}" y="{:.1}">{}</text>"#,
                a + 3.0,
                y + 10.0,
                esc(&text)
            );
        }
        let _ = write!(out, "<title>{}</title></g>", esc(&op_tooltip(op)));
    }
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use checker::{Event, EventKind, Process};
    use serde_json::json;

    use super::*;

    /// (process, call ms, outcome, f, value, return ms)
    type Spec<'a> = (u64, u64, EventKind, &'a str, Value, Option<u64>);

    fn op_events(list: &[Spec<'_>]) -> History {
        let mut events: Vec<Event> = Vec::new();
        for (p, call, kind, f, value, ret) in list {
            let mut e = Event::new(
                0,
                call * 1_000_000,
                Process::Client(*p),
                EventKind::Invoke,
                f,
            );
            e.value = value.clone();
            e.node = Some(format!("n{}", p % 3 + 1));
            events.push(e);
            if let Some(r) = ret {
                let mut c = Event::new(0, r * 1_000_000, Process::Client(*p), *kind, f);
                c.value = value.clone();
                events.push(c);
            }
        }
        events.sort_by_key(|e| (e.time, e.kind != EventKind::Invoke));
        for (i, e) in events.iter_mut().enumerate() {
            e.index = i as u64;
        }
        History::from_events(events).unwrap()
    }

    #[test]
    fn processes_after_an_info_share_a_lane() {
        let h = op_events(&[
            (0, 0, EventKind::Info, "write", json!(1), Some(10)),
            (1, 1, EventKind::Ok, "read", json!(1), Some(30)),
            (3, 11, EventKind::Ok, "write", json!(2), Some(20)),
        ]);
        let (lanes, of) = lanes(&h);
        assert_eq!(lanes.len(), 2);
        assert_eq!(lanes[0].processes, vec![0, 3]);
        assert_eq!(of[&1], 1);
    }

    #[test]
    fn pages_cover_every_op_and_spans_are_round() {
        assert_eq!(page_span(30_000_000_000, 4_500), 2_000_000_000);
        assert_eq!(page_span(8_000_000_000, 100), 10_000_000_000);
        assert_eq!(page_span(3_600_000_000_000, 100_000), 10_000_000_000);
        let h = op_events(&[
            (0, 500, EventKind::Ok, "read", json!(1), Some(1_500)),
            (1, 2_100, EventKind::Ok, "read", json!(1), None),
        ]);
        let p = pages(&h, 3_000_000_000, 1_000_000_000);
        let ops: Vec<Vec<usize>> = p.iter().map(|p| p.ops.clone()).collect();
        assert_eq!(ops, vec![vec![0], vec![0], vec![1], vec![1]]);
    }

    #[test]
    fn ops_are_described_briefly() {
        let h = op_events(&[
            (0, 0, EventKind::Ok, "cas", json!([1, 2]), Some(1)),
            (1, 0, EventKind::Ok, "write", json!("x".repeat(60)), Some(1)),
        ]);
        assert_eq!(op_text(&h.ops[0]), "cas 1→2");
        assert!(op_text(&h.ops[1]).ends_with('…'));
        assert!(op_tooltip(&h.ops[0]).starts_with("p0 on n1 · cas 1→2 · ok · at 0.000 s"));
    }

    #[test]
    fn big_histories_draw_a_bounded_number_of_bars() {
        let mut list = Vec::new();
        for i in 0..(MAX_DRAWN_OPS as u64 + 20_000) {
            list.push((i % 8, i, EventKind::Ok, "read", json!(1), Some(i + 1)));
        }
        let h = op_events(&list);
        let mut highlight = BTreeSet::new();
        highlight.insert(h.ops.len() - 1);
        let html = timeline_html(&h, &[], &highlight, h.end_time());
        let bars = html.matches("<rect class=\"ok").count();
        assert!(bars <= MAX_DRAWN_OPS && bars > MAX_DRAWN_OPS / 2, "{bars}");
        assert!(html.contains("Not drawn"));
        assert!(
            html.contains("class=\"ok bad\""),
            "the anomaly's page is drawn"
        );
    }
}
