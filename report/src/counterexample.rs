//! A linearizability counterexample drawn the way porcupine draws one: the
//! end of the longest linearizable prefix, the op that cannot follow it,
//! the ops concurrent with that op, and the spec state before and after,
//! with a one-line headline ("Stale read: ...") that says what went wrong.
//!
//! Time in the diagram is *ordinal*, as in porcupine: every call and
//! return of a shown op gets its own slot, so a 0.4 ms read next to a 2 s
//! write is still visible, and real-time order (one op returned before the
//! other was invoked) reads left to right.
//!
//! Invariants: [`analyze`] is a pure function of the history and the
//! checker's [`Counterexample`]; when replaying the prefix from the initial
//! state does not reproduce the checker's state (e.g. a custom `--init`),
//! per-op states are left out rather than guessed; the state *before* is
//! always the checker's own.

use std::{collections::BTreeMap, fmt::Write as _};

use checker::{
    Counterexample, History, Model, Op, Outcome,
    spec::{Refusal, initial, replay},
};
use serde_json::Value;

use super::{
    faults::FaultBand,
    svg::esc,
    timeline::{op_text, op_tooltip, short},
    units::{fmt_ms, secs},
};

/// How many ops of the prefix the diagram shows.
pub const SHOWN_PREFIX: usize = 8;
/// How many concurrent ops the diagram shows at most.
pub const SHOWN_CONCURRENT: usize = 12;

/// One linearized op of the prefix.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Position in `History::ops`.
    pub op: usize,
    /// 1-based position in the linearization.
    pub order: usize,
    /// The spec state after it, when the replay succeeded.
    pub state_after: Option<Value>,
}

/// What a person needs to see about one invalid key.
#[derive(Clone, Debug, PartialEq)]
pub struct CexView {
    pub key: String,
    /// `register` or `list`.
    pub model: String,
    /// The op that cannot be linearized (position in `History::ops`).
    pub op: usize,
    /// The spec state after the prefix.
    pub before: Value,
    /// The state after `op`, or why `op` cannot be applied.
    pub after: Result<Value, String>,
    /// One line: what went wrong, for whom, when.
    pub headline: String,
    /// The last [`SHOWN_PREFIX`] ops of the prefix.
    pub steps: Vec<Step>,
    /// Length of the whole prefix.
    pub prefix_len: usize,
    /// Ops concurrent with `op` (positions in `History::ops`).
    pub concurrent: Vec<usize>,
    /// The prefix op that last changed the state (the write a stale read
    /// missed).
    pub setter: Option<usize>,
    /// Faults in force while the op ran, with their intervals.
    pub during: Vec<String>,
}

/// Applies `op` to `state` under the model named `model` (as the checker
/// reports it), through the checker's own specs: the new state, or why
/// not, in words.
pub fn apply(model: &str, state: &Value, op: &Op) -> Result<Value, String> {
    let model = spec_model(model);
    let state = if state.is_null() && model == Model::List {
        Value::Array(Vec::new())
    } else {
        state.clone()
    };
    replay(&model, &state, op).map_err(|refusal| match *refusal {
        Refusal::Read { seen, state } => {
            let holds = if model == Model::List {
                "needs the list to be"
            } else {
                "needs the register to hold"
            };
            let it = if model == Model::List {
                "it is"
            } else {
                "it holds"
            };
            format!(
                "a read of {} {holds} {}; {it} {}",
                short(&seen),
                short(&seen),
                short(&state)
            )
        }
        Refusal::Cas { from, state } => format!(
            "a cas from {} needs the register to hold {}; it holds {}",
            short(&from),
            short(&from),
            short(&state)
        ),
        Refusal::Malformed(why) => why,
        Refusal::Unknown { model, f } => format!("the {model} model has no `{f}`"),
    })
}

/// The checker's model of a report's model name. Reports of our runs
/// start registers at `null`.
fn spec_model(name: &str) -> Model {
    if name == "list" {
        Model::List
    } else {
        Model::register()
    }
}

/// Works out what to show for `key`'s counterexample; `windows` are the
/// run's faults.
pub fn analyze(
    history: &History,
    model: &str,
    key: &str,
    cex: &Counterexample,
    windows: &[FaultBand],
) -> CexView {
    let op = cex.op.op;
    let during = history.ops.get(op).map_or_else(Vec::new, |o| {
        let (a, b) = (o.call_time, o.return_time.unwrap_or(u64::MAX));
        windows
            .iter()
            .filter(|w| w.start <= b && w.stop.is_none_or(|s| s >= a) && w.stop != Some(w.start))
            .map(|w| {
                let stop = w.stop.map_or("the end".to_owned(), precise);
                format!("{} ({}–{stop})", w.label, precise(w.start))
            })
            .collect()
    });
    // Replay the prefix to know the state after each op.
    let mut states: Vec<Option<Value>> = Vec::with_capacity(cex.prefix.len());
    let mut state = initial(&spec_model(model));
    let mut replay_ok = true;
    for &p in &cex.prefix {
        match history.ops.get(p).map(|o| apply(model, &state, o)) {
            Some(Ok(next)) => {
                state = next;
                states.push(Some(state.clone()));
            }
            _ => {
                replay_ok = false;
                break;
            }
        }
    }
    let empty_list = Value::Array(Vec::new());
    let same_state = |a: &Value, b: &Value| {
        a == b || (model == "list" && [a, b].iter().all(|v| v.is_null() || **v == empty_list))
    };
    if !replay_ok || !same_state(&state, &cex.state) {
        states = vec![None; cex.prefix.len()];
    }
    let steps: Vec<Step> = cex
        .prefix
        .iter()
        .enumerate()
        .skip(cex.prefix.len().saturating_sub(SHOWN_PREFIX))
        .map(|(i, &p)| Step {
            op: p,
            order: i + 1,
            state_after: states[i].clone(),
        })
        .collect();
    let setter_at = cex
        .prefix
        .iter()
        .rposition(|&p| history.ops.get(p).is_some_and(|o| o.f != "read"));
    let setter = setter_at.map(|i| cex.prefix[i]);
    let mut steps = steps;
    // The op that set the state is shown even when it is further back.
    if let Some(i) = setter_at {
        if !steps.iter().any(|s| s.op == cex.prefix[i]) {
            steps.insert(
                0,
                Step {
                    op: cex.prefix[i],
                    order: i + 1,
                    state_after: states[i].clone(),
                },
            );
        }
    }
    let after = match history.ops.get(op) {
        Some(o) => apply(model, &cex.state, o),
        None => Err("the op is not in this history".to_owned()),
    };
    let earlier_states: Vec<&Value> = states.iter().flatten().collect();
    let mut concurrent: Vec<usize> = cex.concurrent.iter().map(|c| c.op).collect();
    concurrent.retain(|c| *c != op);
    let headline = headline(history, model, op, &cex.state, setter, &earlier_states);
    CexView {
        key: key.to_owned(),
        model: model.to_owned(),
        op,
        before: cex.state.clone(),
        after,
        headline,
        steps,
        prefix_len: cex.prefix.len(),
        concurrent,
        setter,
        during,
    }
}

/// `5.237 s`: milliseconds matter when ops are compared.
fn precise(ns: u64) -> String {
    format!("{:.3} s", secs(ns))
}

fn who(op: &Op) -> String {
    match &op.node {
        Some(node) => format!("p{} on {node}", op.process),
        None => format!("p{}", op.process),
    }
}

fn headline(
    history: &History,
    model: &str,
    op: usize,
    state: &Value,
    setter: Option<usize>,
    earlier: &[&Value],
) -> String {
    let Some(o) = history.ops.get(op) else {
        return format!("op {op} cannot be linearized");
    };
    let at = precise(o.call_time);
    let set_by = setter.and_then(|s| history.ops.get(s)).map(|s| {
        let when = match (s.outcome, s.return_time) {
            (Outcome::Ok, Some(r)) => format!("acknowledged at {}", precise(r)),
            _ => "an info op that may have taken effect".to_owned(),
        };
        format!(" ({} by {}, {when})", op_text(s), who(s))
    });
    let set_by = set_by.unwrap_or_default();
    match (model, o.f.as_str()) {
        ("list", "read") => {
            let seen: Vec<&Value> = o
                .output
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let have: Vec<&Value> = state
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let missing: Vec<String> = have
                .iter()
                .filter(|v| !seen.contains(v))
                .map(|v| short(v))
                .collect();
            let extra: Vec<String> = seen
                .iter()
                .filter(|v| !have.contains(v))
                .map(|v| short(v))
                .collect();
            if !missing.is_empty() {
                format!(
                    "Stale read: {} read the list at {at} without [{}], which the list already held{set_by}",
                    who(o),
                    missing.join(", ")
                )
            } else if !extra.is_empty() {
                format!(
                    "Impossible read: {} read [{}] at {at}, which no linearizable order had appended yet",
                    who(o),
                    extra.join(", ")
                )
            } else {
                format!(
                    "Reordered read: {} read the list in an order no linearization allows at {at}",
                    who(o)
                )
            }
        }
        (_, "read") => {
            let kind = if earlier.contains(&&o.output) || o.output.is_null() {
                "Stale read"
            } else {
                "Impossible read"
            };
            format!(
                "{kind}: {} read {} at {at}, but the register already held {}{set_by}",
                who(o),
                short(&o.output),
                short(state)
            )
        }
        (_, "cas") => format!(
            "Impossible cas: {} {} at {at} succeeded, but the register held {}{set_by}",
            who(o),
            op_text(o),
            short(state)
        ),
        _ => format!(
            "{} {} at {at} cannot follow the linearizable prefix; the state was {}",
            who(o),
            op_text(o),
            short(state)
        ),
    }
}

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

#[cfg(test)]
pub(crate) mod tests {
    use checker::{Event, EventKind, LinOptions, Model, Process};
    use serde_json::json;

    use super::*;

    /// A stale read: p1 writes 1, p2 writes 2 (acknowledged), then p3 on n3
    /// reads 1.
    pub(crate) fn stale_read_history() -> History {
        let mut events = Vec::new();
        let mut add = |t: u64, p: u64, kind: EventKind, f: &str, v: Value, node: &str| {
            let mut e = Event::new(
                events.len() as u64,
                t * 1_000_000,
                Process::Client(p),
                kind,
                f,
            );
            e.key = Some("k0".into());
            e.value = v;
            e.node = Some(node.into());
            events.push(e);
        };
        add(0, 1, EventKind::Invoke, "write", json!(1), "n1");
        add(5, 1, EventKind::Ok, "write", json!(1), "n1");
        add(10, 2, EventKind::Invoke, "write", json!(2), "n1");
        add(20, 2, EventKind::Ok, "write", json!(2), "n1");
        add(30, 3, EventKind::Invoke, "read", Value::Null, "n3");
        add(31, 4, EventKind::Invoke, "write", json!(3), "n2");
        add(32, 3, EventKind::Ok, "read", json!(1), "n3");
        add(40, 4, EventKind::Info, "write", json!(3), "n2");
        History::from_events(events).unwrap()
    }

    pub(crate) fn stale_read_view() -> (History, CexView) {
        let h = stale_read_history();
        let report = checker::linearizable::check(&h, Model::register(), &LinOptions::default());
        let cex = report.keys["k0"].counterexample.clone().expect("invalid");
        let pause = FaultBand {
            id: Some(1),
            kind: "partition".into(),
            start: 25_000_000,
            stop: Some(60_000_000),
            label: "partition isolate-one: n1 n2 | n3".into(),
            nodes: vec![],
            detail: String::new(),
        };
        let view = analyze(&h, "register", "k0", &cex, &[pause]);
        (h, view)
    }

    #[test]
    fn a_stale_read_is_named_with_the_write_it_missed() {
        let (h, view) = stale_read_view();
        assert_eq!(h.ops[view.op].f, "read");
        assert_eq!(view.before, json!(2));
        assert_eq!(
            view.headline,
            "Stale read: p3 on n3 read 1 at 0.030 s, but the register already held 2 (write 2 by p2 on n1, acknowledged at 0.020 s)"
        );
        assert_eq!(
            view.after,
            Err("a read of 1 needs the register to hold 1; it holds 2".to_owned())
        );
        let states: Vec<Option<Value>> = view.steps.iter().map(|s| s.state_after.clone()).collect();
        assert_eq!(states, vec![Some(json!(1)), Some(json!(2))]);
    }

    #[test]
    fn the_diagram_shows_prefix_failed_op_and_states() {
        let (h, view) = stale_read_view();
        let svg = cex_svg(&h, &view);
        assert!(svg.contains(r#"class="box failed""#), "{svg}");
        assert!(svg.contains(">read → 1</text>"));
        assert!(svg.contains(">✗ state is 2</text>"));
        assert!(svg.contains(">#2 → 2</text>"));
        assert!(svg.contains("write 2 done 0.020 s"));
        let html = cex_html(&h, &view, Some("#op-2"));
        assert!(html.contains("<b>impossible</b>"));
        assert!(html.contains("during <b>partition isolate-one: n1 n2 | n3 (0.025 s–0.060 s)</b>"));
        assert!(html.contains(r##"href="#op-2""##));
        let text = cex_text(&h, &view);
        assert!(text.starts_with("Stale read: p3 on n3 read 1"));
        assert!(text.contains("cannot be placed: p3 on n3 · read → 1"));
    }

    #[test]
    fn specs_apply_like_the_checker() {
        let h = stale_read_history();
        let mut cas = h.ops[0].clone();
        cas.f = "cas".into();
        cas.input = json!([1, 5]);
        assert_eq!(apply("register", &json!(1), &cas), Ok(json!(5)));
        assert!(apply("register", &json!(2), &cas).is_err());
        let mut append = h.ops[0].clone();
        append.f = "append".into();
        append.input = json!(4);
        assert_eq!(apply("list", &Value::Null, &append), Ok(json!([4])));
        let mut read = h.ops[0].clone();
        read.f = "read".into();
        read.output = json!([4]);
        assert_eq!(apply("list", &json!([4]), &read), Ok(json!([4])));
        assert!(apply("list", &json!([4, 5]), &read).is_err());
    }
}
