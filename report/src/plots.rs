//! The time plots of the report, Jepsen-style: throughput (completions per
//! second, stacked ok/fail/info) and latency (one point per op, log
//! scale), both with every fault window shaded and labelled.
//!
//! Invariants: both plots share the time axis (0 to the end of the run),
//! so fault bands line up between them; each is one `<svg>` string with
//! its own id (`throughput-plot`, `latency-plot`).

use std::fmt::Write as _;

use checker::{History, Outcome};

use super::{
    faults::FaultBand,
    series::{bin_width, latency_points, throughput},
    svg::{
        Frame, LABEL_ROW, Linear, Log10, esc, fault_bands, label_rows, nice_ticks, open,
        tick_label, time_axis, y_caption,
    },
    units::{fmt_secs, secs},
};

/// A horizontal grid line at `py` with its tick label on the left.
fn grid_line(out: &mut String, f: &Frame, py: f64, label: &str) {
    let _ = write!(
        out,
        r#"<line class="grid" x1="{:.1}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#,
        f.x0(),
        f.x1(),
        f.x0() - 6.0,
        py + 4.0,
    );
}

/// Width of the time plots, in px.
pub const PLOT_WIDTH: f64 = 1200.0;
/// At most this many throughput bins.
const MAX_BINS: u64 = 300;
/// At most this many points on the latency plot.
pub const MAX_POINTS: usize = 15_000;

/// The end of the time axis: the last event or fault stop, in ns.
pub fn time_end(history: &History, windows: &[FaultBand]) -> u64 {
    windows
        .iter()
        .filter_map(|w| w.stop)
        .chain([history.end_time(), 1])
        .max()
        .unwrap_or(1)
}

fn frame(height: f64, label_rows: usize) -> Frame {
    let top = 14.0 + label_rows as f64 * LABEL_ROW;
    Frame {
        width: PLOT_WIDTH,
        height: height + top,
        left: 64.0,
        right: 18.0,
        top,
        bottom: 42.0,
    }
}

fn legend(out: &mut String, frame: &Frame, items: &[(&str, &str)]) {
    let mut x = frame.x0();
    let y = frame.height - 6.0;
    for (class, text) in items {
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="11" height="11"/><text class="legend" x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 10.0,
            x + 15.0,
            esc(text)
        );
        x += 24.0 + text.len() as f64 * 7.0;
    }
}

/// Completions per second, stacked by type, with fault windows.
pub fn throughput_svg(history: &History, windows: &[FaultBand]) -> String {
    let end = time_end(history, windows);
    let width = bin_width(end, MAX_BINS);
    let bins = throughput(history, width);
    let probe = Linear::new((0.0, secs(end)), (64.0, PLOT_WIDTH - 18.0));
    let (rows, row_count) = label_rows(windows, &probe, end);
    let f = frame(250.0, row_count);
    let x = Linear::new((0.0, secs(end)), (f.x0(), f.x1()));
    let per_sec = |n: u32| f64::from(n) / secs(width);
    let max = bins.iter().map(|b| per_sec(b.total())).fold(1.0, f64::max);
    let ticks = nice_ticks(0.0, max, 5);
    let top = ticks.last().copied().unwrap_or(max).max(max);
    let y = Linear::new((0.0, top), (f.y1(), f.y0()));

    let mut out = String::with_capacity(32 * bins.len() + 4096);
    open(
        &mut out,
        "throughput-plot",
        f.width,
        f.height,
        "Throughput: completed operations per second by type, with fault windows",
    );
    fault_bands(&mut out, windows, &x, (f.y0(), f.y1()), end, Some(&rows));
    for t in &ticks {
        grid_line(&mut out, &f, y.at(*t), &tick_label(*t));
    }
    time_axis(&mut out, &f, &x, "time since the run started (s)");
    y_caption(&mut out, &f, "ops/s");
    let bar = (x.at(secs(width)) - x.at(0.0) - 1.0).max(1.0);
    for (i, b) in bins.iter().enumerate() {
        if b.total() == 0 {
            continue;
        }
        let left = x.at(secs(width * i as u64)) + 0.5;
        let mut base = 0.0;
        let mut tooltip = format!(
            "{}–{}: {} ok, {} fail, {} info",
            fmt_secs(secs(width * i as u64)),
            fmt_secs(secs(width * (i as u64 + 1))),
            b.ok,
            b.fail,
            b.info
        );
        if width != 1_000_000_000 {
            tooltip += &format!(" ({:.0} s bins)", secs(width));
        }
        let _ = write!(out, "<g><title>{}</title>", esc(&tooltip));
        for (class, n) in [("ok", b.ok), ("fail", b.fail), ("info", b.info)] {
            if n == 0 {
                continue;
            }
            let (y0, y1) = (y.at(base), y.at(base + per_sec(n)));
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{left:.1}" y="{y1:.1}" width="{bar:.1}" height="{:.1}"/>"#,
                (y0 - y1).max(0.5)
            );
            base += per_sec(n);
        }
        out.push_str("</g>");
    }
    legend(
        &mut out,
        &f,
        &[("ok", "ok"), ("fail", "fail"), ("info", "info (unknown)")],
    );
    out.push_str("</svg>");
    out
}

/// A decade of milliseconds as a tick label: `100 µs`, `1 ms`, `10 s`.
pub fn decade_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.0} s", ms / 1000.0)
    } else if ms >= 1.0 {
        format!("{ms:.0} ms")
    } else if ms >= 0.001 {
        format!("{:.0} µs", ms * 1000.0)
    } else {
        format!("{:.0} ns", ms * 1e6)
    }
}

/// A marker per op: the shape tells the function, the colour the outcome.
fn marker(out: &mut String, f: &str, class: &str, px: f64, py: f64) {
    let _ = match f {
        "read" => write!(
            out,
            r#"<circle class="{class}" cx="{px:.1}" cy="{py:.1}" r="2.2"/>"#
        ),
        "write" | "append" => write!(
            out,
            r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="4" height="4"/>"#,
            px - 2.0,
            py - 2.0
        ),
        _ => write!(
            out,
            r#"<path class="{class}" d="M{px:.1} {:.1}l2.6 2.6l-2.6 2.6l-2.6-2.6z"/>"#,
            py - 2.6
        ),
    };
}

/// Latency of every op (or a sample past [`MAX_POINTS`]) against its
/// invocation time, log scale, with fault windows.
pub fn latency_svg(history: &History, windows: &[FaultBand]) -> String {
    let end = time_end(history, windows);
    let (points, dropped) = latency_points(history, MAX_POINTS);
    let probe = Linear::new((0.0, secs(end)), (64.0, PLOT_WIDTH - 18.0));
    let (rows, row_count) = label_rows(windows, &probe, end);
    let f = frame(320.0, row_count);
    let x = Linear::new((0.0, secs(end)), (f.x0(), f.x1()));
    let ms = |ns: u64| ns as f64 / 1e6;
    let (lo, hi) = points.iter().fold((f64::MAX, 0.0f64), |(lo, hi), p| {
        let l = ms(p.latency).max(1e-3);
        (lo.min(l), hi.max(l))
    });
    let y = if points.is_empty() {
        Log10::covering(0.1, 1000.0, (f.y1(), f.y0()))
    } else {
        Log10::covering(lo, hi, (f.y1(), f.y0()))
    };

    let mut out = String::with_capacity(64 * points.len() + 4096);
    open(
        &mut out,
        "latency-plot",
        f.width,
        f.height,
        "Latency of each operation (log scale) by invocation time, with fault windows",
    );
    fault_bands(&mut out, windows, &x, (f.y0(), f.y1()), end, Some(&rows));
    for t in y.ticks() {
        grid_line(&mut out, &f, y.at(t), &decade_label(t));
    }
    time_axis(&mut out, &f, &x, "invocation time (s)");
    y_caption(&mut out, &f, "latency (log)");
    // ok first, so that failures and infos are drawn on top.
    for pass in [Outcome::Ok, Outcome::Fail, Outcome::Info] {
        let class = match pass {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        let _ = write!(out, r#"<g class="points {class}">"#);
        for p in points.iter().filter(|p| p.outcome == pass) {
            let op = &history.ops[p.op];
            marker(
                &mut out,
                &op.f,
                class,
                x.at(secs(p.call)),
                y.at(ms(p.latency).max(1e-3)),
            );
        }
        out.push_str("</g>");
    }
    let mut items = vec![("ok", "ok"), ("fail", "fail"), ("info", "info (unknown)")];
    let shapes = "● read  ■ write/append  ◆ cas";
    items.push(("none", shapes));
    legend(&mut out, &f, &items);
    if dropped > 0 {
        let _ = write!(
            out,
            r#"<text class="legend" x="{:.1}" y="{:.1}" text-anchor="end">{dropped} ok ops not drawn (evenly sampled)</text>"#,
            f.x1(),
            f.height - 6.0
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use checker::{Event, EventKind, Process};
    use serde_json::json;

    use super::*;
    use crate::faults::fault_bands;

    fn sample() -> History {
        let nem = |t: u64, f: &str| {
            let mut e = Event::new(0, t, Process::Nemesis, EventKind::Info, f);
            e.value = json!({"id": 1, "fault": "pause", "nodes": ["n2"]});
            e
        };
        let client = |t: u64, p: u64, kind: EventKind, f: &str| {
            Event::new(0, t, Process::Client(p), kind, f)
        };
        let mut events = vec![
            client(100_000_000, 0, EventKind::Invoke, "read"),
            client(101_000_000, 0, EventKind::Ok, "read"),
            nem(1_500_000_000, "start-pause"),
            client(1_600_000_000, 1, EventKind::Invoke, "write"),
            client(2_600_000_000, 1, EventKind::Info, "write"),
            nem(2_500_000_000, "stop-pause"),
            client(2_700_000_000, 2, EventKind::Invoke, "cas"),
            client(2_750_000_000, 2, EventKind::Fail, "cas"),
        ];
        events.sort_by_key(|e| e.time);
        for (i, e) in events.iter_mut().enumerate() {
            e.index = i as u64;
        }
        History::from_events(events).unwrap()
    }

    #[test]
    fn throughput_plot_has_bars_and_labelled_fault_band() {
        let h = sample();
        let w = fault_bands(&h);
        let svg = throughput_svg(&h, &w);
        assert!(svg.starts_with("<svg id=\"throughput-plot\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"class="fault pause""#));
        assert!(svg.contains(">pause n2</text>"));
        assert_eq!(
            svg.matches(r#"<rect class="ok""#).count(),
            2,
            "one bar + legend"
        );
        assert!(svg.contains("2.000 s–3.000 s: 0 ok, 1 fail, 1 info"));
    }

    #[test]
    fn latency_plot_draws_one_marker_per_op() {
        let h = sample();
        let svg = latency_svg(&h, &fault_bands(&h));
        assert!(svg.starts_with("<svg id=\"latency-plot\""));
        assert_eq!(svg.matches("<circle").count(), 1);
        assert_eq!(svg.matches("<path class=\"fail\"").count(), 1);
        assert!(
            svg.contains(">1 s</text>"),
            "decade ticks up to the 1 s info"
        );
        let labels: Vec<String> = [1e-4, 0.01, 0.1, 1.0, 10.0, 1000.0, 10_000.0]
            .into_iter()
            .map(decade_label)
            .collect();
        assert_eq!(
            labels,
            ["100 ns", "10 µs", "100 µs", "1 ms", "10 ms", "1 s", "10 s"]
        );
    }

    #[test]
    fn empty_history_still_renders() {
        let h = History::default();
        assert!(throughput_svg(&h, &[]).ends_with("</svg>"));
        assert!(latency_svg(&h, &[]).ends_with("</svg>"));
    }
}
