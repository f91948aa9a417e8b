//! Drawing an analysed counterexample ([`CexView`]): the porcupine-style
//! SVG, its HTML frame with the headline and the ops involved, and the
//! same in plain text for JUnit.

use std::{collections::BTreeMap, fmt::Write as _};

use checker::{History, Op, Outcome};
use serde_json::Value;

use super::{CexView, SHOWN_CONCURRENT, precise};
use crate::{
    svg::esc,
    timeline::{op_text, op_tooltip, short},
    units::fmt_ms,
};

/// Layout constants of the diagram.
const LEFT: f64 = 110.0;
const ROW: f64 = 46.0;
const TOP: f64 = 50.0;
/// The diagram fits the page's content width when it can.
const MAX_WIDTH: f64 = 1180.0;

/// The porcupine-style diagram of `view`.
pub fn cex_svg(history: &History, view: &CexView) -> String {
    // Ops to show and their role.
    #[derive(Clone, Copy, PartialEq)]
    enum Role {
        Linearized(usize),
        Failed,
        Concurrent,
    }
    let mut shown: BTreeMap<usize, Role> = BTreeMap::new();
    for s in &view.steps {
        shown.insert(s.op, Role::Linearized(s.order));
    }
    for &c in view.concurrent.iter().take(SHOWN_CONCURRENT) {
        shown.entry(c).or_insert(Role::Concurrent);
    }
    shown.insert(view.op, Role::Failed);
    shown.retain(|o, _| *o < history.ops.len());
    let state_after: BTreeMap<usize, Option<Value>> = view
        .steps
        .iter()
        .map(|s| (s.op, s.state_after.clone()))
        .collect();

    // Ordinal time: one slot per distinct call/return time.
    // An info op may take effect at any time after its call: it is drawn
    // open to the right, and its (timeout) return takes no slot.
    let open_ended = |op: &Op| op.outcome == Outcome::Info || op.return_time.is_none();
    let mut times: Vec<u64> = Vec::new();
    for &o in shown.keys() {
        let op = &history.ops[o];
        times.push(op.call_time);
        if let (false, Some(r)) = (open_ended(op), op.return_time) {
            times.push(r);
        }
    }
    times.sort_unstable();
    times.dedup();
    let slots = times.len().max(1) + 1;
    let step = ((MAX_WIDTH - LEFT - 20.0) / slots as f64).clamp(40.0, 110.0);
    let width = LEFT + slots as f64 * step + 20.0;
    let slot_x = |t: u64| {
        let i = times.partition_point(|&x| x < t);
        LEFT + (i as f64 + 0.5) * step
    };
    let right_edge = LEFT + (slots as f64 - 0.2) * step;

    // Rows: one per process, in order of first appearance.
    let mut rows: Vec<u64> = Vec::new();
    for &o in shown.keys() {
        let p = history.ops[o].process;
        if !rows.contains(&p) {
            rows.push(p);
        }
    }
    let height = TOP + rows.len() as f64 * ROW + 44.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="cex-plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="counterexample for key {}"><title>{}</title>"#,
        esc(&view.key),
        esc(&view.headline)
    );
    for (i, p) in rows.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let node = shown
            .keys()
            .map(|&o| &history.ops[o])
            .find(|o| o.process == *p)
            .and_then(|o| o.node.clone())
            .map_or(String::new(), |n| format!(" · {n}"));
        let _ = write!(
            out,
            r#"<line class="row-line" x1="{LEFT:.0}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><text class="row-label" x="8" y="{:.1}">p{p}{}</text>"#,
            width - 10.0,
            y + 15.0,
            y + 15.0,
            y + 19.0,
            esc(&node)
        );
    }
    // Real-time markers: when the state was set, and when the failed op began.
    // The two labels sit on two lines, so adjacent markers stay legible.
    let mut marker = |t: u64, class: &str, text: String, prefer_end: bool, line: f64| {
        let x = slot_x(t);
        let text_width = text.chars().count() as f64 * 6.8;
        let anchor = if (prefer_end && x - text_width > 4.0) || x + text_width > width - 4.0 {
            "end"
        } else {
            "start"
        };
        let _ = write!(
            out,
            r#"<line class="marker {class}" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/><text class="marker-label {class}" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            TOP - 30.0 + line * 14.0,
            height - 30.0,
            TOP - 34.0 + line * 14.0,
            esc(&text)
        );
    };
    if let Some(s) = view.setter.and_then(|s| history.ops.get(s)) {
        if let (Outcome::Ok, Some(r)) = (s.outcome, s.return_time) {
            marker(
                r,
                "setter",
                format!("{} done {}", op_text(s), precise(r)),
                true,
                0.0,
            );
        }
    }
    if let Some(o) = history.ops.get(view.op) {
        marker(
            o.call_time,
            "failed",
            format!("{} begins {}", op_text(o), precise(o.call_time)),
            false,
            1.0,
        );
    }
    for (&o, &role) in &shown {
        let op = &history.ops[o];
        let row = rows.iter().position(|p| *p == op.process).unwrap_or(0);
        let y = TOP + row as f64 * ROW + 4.0;
        let a = slot_x(op.call_time) - step * 0.35;
        let open_ended = open_ended(op);
        let b = if open_ended {
            right_edge
        } else {
            slot_x(op.return_time.unwrap_or(0)) + step * 0.35
        };
        let w = (b - a).max(10.0);
        let class = match role {
            Role::Linearized(_) => "lin",
            Role::Failed => "failed",
            Role::Concurrent => "conc",
        };
        let _ = write!(
            out,
            r#"<g><title>{}</title><rect class="box {class}{}" x="{a:.1}" y="{y:.1}" width="{w:.1}" height="22" rx="3"/>"#,
            esc(&op_tooltip(op)),
            if open_ended { " open" } else { "" }
        );
        let mut text = op_text(op);
        if text.chars().count() as f64 * 6.6 > w - 6.0 {
            text = op_text(op)
                .replace("read → ", "r ")
                .replace("write ", "w ")
                .replace("cas ", "")
                .replace("append ", "a ");
        }
        let _ = write!(
            out,
            r#"<text class="box-label {class}" x="{:.1}" y="{:.1}">{}</text>"#,
            a + 5.0,
            y + 15.5,
            esc(&text)
        );
        let note = match role {
            Role::Linearized(order) => match state_after.get(&o).cloned().flatten() {
                Some(s) => format!("#{order} → {}", short(&s)),
                None => format!("#{order}"),
            },
            Role::Failed => format!("✗ state is {}", short(&view.before)),
            Role::Concurrent if open_ended => "info: may take effect any time".to_owned(),
            Role::Concurrent => "not linearized".to_owned(),
        };
        let _ = write!(
            out,
            r#"<text class="box-note {class}" x="{:.1}" y="{:.1}">{}</text></g>"#,
            a + 2.0,
            y + 35.0,
            esc(&note)
        );
    }
    let _ = write!(
        out,
        r#"<text class="legend" x="{LEFT:.0}" y="{:.1}">ordinal time: each call and return gets its own slot (as in porcupine); #n = position in the linearization → state after it</text></svg>"#,
        height - 8.0
    );
    out
}

/// The HTML block of one counterexample: headline, states, diagram,
/// prefix table and concurrent ops.
pub fn cex_html(history: &History, view: &CexView, timeline_link: Option<&str>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="cex" id="cex-{}"><h3>Key <code>{}</code>: not linearizable</h3><p class="headline">{}</p>"#,
        esc(&view.key),
        esc(&view.key),
        esc(&view.headline)
    );
    if !view.during.is_empty() {
        let _ = write!(
            out,
            r#"<p class="during">during <b>{}</b></p>"#,
            esc(&view.during.join(", "))
        );
    }
    let op = history.ops.get(view.op);
    let op_label = op.map_or_else(String::new, op_text);
    let (after_class, after_text, after_note) = match &view.after {
        Ok(v) => ("", short(v), String::new()),
        Err(why) => ("bad", "impossible".to_owned(), why.clone()),
    };
    let _ = write!(
        out,
        r#"<div class="states"><div class="state"><span>state before</span><b>{}</b><small>after {} linearized ops</small></div><div class="arrow">{} ⟶</div><div class="state {after_class}"><span>state after</span><b>{}</b><small>{}</small></div></div>"#,
        esc(&short(&view.before)),
        view.prefix_len,
        esc(&op_label),
        esc(&after_text),
        esc(&after_note)
    );
    out.push_str(r#"<div class="scroll">"#);
    out.push_str(&cex_svg(history, view));
    out.push_str("</div>");
    out.push_str(r#"<table class="ops"><thead><tr><th>#</th><th>process</th><th>node</th><th>op</th><th>outcome</th><th>invoked</th><th>took</th><th>state after</th></tr></thead><tbody>"#);
    let row = |out: &mut String, order: &str, o: &Op, state: &str, class: &str| {
        let took = o
            .return_time
            .map_or("—".to_owned(), |r| fmt_ms((r - o.call_time) as f64 / 1e6));
        let outcome = match o.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        let _ = write!(
            out,
            r#"<tr class="{class}"><td>{order}</td><td>p{}</td><td>{}</td><td><code>{}</code></td><td>{outcome}</td><td>{}</td><td>{took}</td><td><code>{}</code></td></tr>"#,
            o.process,
            esc(o.node.as_deref().unwrap_or("-")),
            esc(&op_text(o)),
            precise(o.call_time),
            esc(state)
        );
    };
    let mut next = 1;
    for s in &view.steps {
        if s.order > next {
            let _ = write!(
                out,
                r#"<tr class="elided"><td colspan="8">… {} more ops of the linearizable prefix</td></tr>"#,
                s.order - next
            );
        }
        next = s.order + 1;
        if let Some(o) = history.ops.get(s.op) {
            let state = s.state_after.as_ref().map_or("?".to_owned(), short);
            row(&mut out, &s.order.to_string(), o, &state, "lin");
        }
    }
    if let Some(o) = op {
        let state = match &view.after {
            Ok(v) => short(v),
            Err(_) => "✗ cannot be placed".to_owned(),
        };
        row(&mut out, "✗", o, &state, "failed");
    }
    for &c in &view.concurrent {
        if let Some(o) = history.ops.get(c) {
            row(&mut out, "∥", o, "concurrent, not linearized", "conc");
        }
    }
    out.push_str("</tbody></table>");
    if let Some(link) = timeline_link {
        let _ = write!(
            out,
            r##"<p class="note"><a href="{}">Show this op in the timeline</a></p>"##,
            esc(link)
        );
    }
    out.push_str("</section>");
    out
}

/// Plain-text form (for JUnit failure messages and logs).
pub fn cex_text(history: &History, view: &CexView) -> String {
    let mut out = format!("{}\n", view.headline);
    if !view.during.is_empty() {
        let _ = writeln!(out, "during {}", view.during.join(", "));
    }
    let _ = writeln!(
        out,
        "state before: {}; after {}: {}",
        short(&view.before),
        history.ops.get(view.op).map_or_else(String::new, op_text),
        match &view.after {
            Ok(v) => short(v),
            Err(why) => format!("impossible ({why})"),
        }
    );
    let _ = writeln!(
        out,
        "linearizable prefix: {} ops; the last {}:",
        view.prefix_len,
        view.steps.len()
    );
    for s in &view.steps {
        if let Some(o) = history.ops.get(s.op) {
            let state = s.state_after.as_ref().map_or("?".to_owned(), short);
            let _ = writeln!(out, "  #{} {} -> {state}", s.order, op_tooltip(o));
        }
    }
    if let Some(o) = history.ops.get(view.op) {
        let _ = writeln!(out, "cannot be placed: {}", op_tooltip(o));
    }
    for &c in &view.concurrent {
        if let Some(o) = history.ops.get(c) {
            let _ = writeln!(out, "  concurrent: {}", op_tooltip(o));
        }
    }
    out
}
