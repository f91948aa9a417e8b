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

use checker::{
    Counterexample, History, Model, Op, Outcome,
    spec::{Refusal, initial, replay},
};
use serde_json::Value;

mod draw;

pub use draw::{cex_html, cex_svg, cex_text};

use crate::{
    faults::FaultBand,
    timeline::{op_text, short},
    units::secs,
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
pub(crate) fn precise(ns: u64) -> String {
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
