//! Cross-checks of the version-order engine on small random register
//! histories with unique written values (as our workloads produce), valid
//! by construction or with injected anomalies: its decision must equal
//! the WGL search's and stateright's `LinearizabilityTester`'s; its
//! linearizations must pass the witness check; and for a refuted history,
//! the search must agree that the history cut just before the blocked op
//! returned is linearizable and the cut just after is not.
//!
//! `PROPTEST_CASES=100000 cargo test -p checker --release --test checker
//! lin_version_order` for the long run; the default is short.

use checker::{
    Event, EventKind, History, LinOptions, Model, Outcome, Process, Verdict,
    linearizable::{
        self, Engine,
        prepare::{KeyInput, ops_by_key, prepare_key},
        version_order::{Decision, cut_ops, decide, refute},
        wgl::{SearchResult, search},
        witness::verify,
    },
};
use proptest::{prelude::*, strategy::ValueTree};
use serde_json::{Value, json};

use crate::lin_prop::{oracle, render};

const SLOTS: u8 = 4;

#[derive(Debug, Clone, Copy)]
enum Anomaly {
    None,
    /// A read returns a value overwritten `n` versions ago (or the initial
    /// value).
    StaleRead(u8),
    /// A read returns the value the next write will write.
    FutureRead,
    /// A read returns a value nobody writes.
    UnwrittenRead,
    /// A write is acknowledged but never applied.
    LostWrite,
    /// A cas takes effect although its `from` does not match.
    ForcedCas,
}

#[derive(Debug, Clone, Copy)]
enum Fate {
    Ok,
    /// Applied, then reported `info`.
    InfoApplied,
    /// Never applied, reported `info`.
    InfoNever,
    /// Reported `info`, applied at a later ghost step.
    InfoLater,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    /// `0..SLOTS` advances a client; `SLOTS` applies a late `info` op.
    slot: u8,
    f: u8,
    pick: u8,
    fate: Fate,
    anomaly: Anomaly,
}

fn step() -> impl Strategy<Value = Step> {
    let anomaly = prop_oneof![
        8 => Just(Anomaly::None),
        2 => (1u8..4).prop_map(Anomaly::StaleRead),
        1 => Just(Anomaly::FutureRead),
        1 => Just(Anomaly::UnwrittenRead),
        1 => Just(Anomaly::LostWrite),
        1 => Just(Anomaly::ForcedCas),
    ];
    let fate = prop_oneof![
        12 => Just(Fate::Ok),
        1 => Just(Fate::InfoApplied),
        1 => Just(Fate::InfoNever),
        2 => Just(Fate::InfoLater),
    ];
    (0..=SLOTS, 0u8..3, any::<u8>(), fate, anomaly).prop_map(|(slot, f, pick, fate, anomaly)| {
        Step {
            slot,
            f,
            pick,
            fate,
            anomaly,
        }
    })
}

struct Flight {
    f: &'static str,
    input: Value,
    fate: Fate,
    anomaly: Anomaly,
    applied: bool,
    output: Value,
    failed: bool,
}

/// The register the clients run against, with every value it ever held.
struct Register {
    state: Value,
    history: Vec<Value>,
    next: u64,
}

impl Register {
    fn apply(&mut self, fl: &mut Flight) {
        match (fl.f, fl.anomaly) {
            ("read", Anomaly::StaleRead(n)) => {
                let back = self.history.len().saturating_sub(1 + n as usize);
                fl.output = self.history.get(back).cloned().unwrap_or(Value::Null);
            }
            ("read", Anomaly::FutureRead) => fl.output = json!(self.next),
            ("read", Anomaly::UnwrittenRead) => fl.output = json!(1_000_000),
            ("read", _) => fl.output = self.state.clone(),
            ("write", Anomaly::LostWrite) => {}
            ("write", _) => self.set(fl.input.clone()),
            (_, anomaly) => {
                if self.state == fl.input[0] || matches!(anomaly, Anomaly::ForcedCas) {
                    self.set(fl.input[1].clone());
                } else {
                    fl.failed = true;
                }
            }
        }
    }

    fn set(&mut self, v: Value) {
        self.state = v.clone();
        self.history.push(v);
    }

    fn fresh(&mut self) -> Value {
        self.next += 1;
        json!(self.next)
    }

    /// A cas's expected value: mostly the current one, else an older one,
    /// the initial `null`, or one nobody writes.
    fn expected(&self, pick: u8) -> Value {
        match pick % 8 {
            0..=3 => self.state.clone(),
            4 | 5 => {
                let back = self
                    .history
                    .len()
                    .saturating_sub(2 + (pick as usize / 8) % 3);
                self.history.get(back).cloned().unwrap_or(Value::Null)
            }
            6 => Value::Null,
            _ => json!(2_000_000 + u64::from(pick)),
        }
    }
}

/// Runs a script; returns the events.
fn simulate(script: &[Step]) -> Vec<Event> {
    let mut reg = Register {
        state: Value::Null,
        history: vec![Value::Null],
        next: 0,
    };
    let mut slots: Vec<(u64, Option<Flight>)> = (0..SLOTS).map(|p| (u64::from(p), None)).collect();
    let mut ghosts: Vec<Flight> = Vec::new();
    let mut events = Vec::new();
    let push = |events: &mut Vec<Event>, p: u64, kind, f: &str, v: Value| {
        let i = events.len() as u64;
        let mut e = Event::new(i, i * 10, Process::Client(p), kind, f);
        e.value = v;
        events.push(e);
    };
    let drain = (0..SLOTS).flat_map(|s| {
        [Step {
            slot: s,
            f: 0,
            pick: 0,
            fate: Fate::Ok,
            anomaly: Anomaly::None,
        }; 2]
    });
    let steps: Vec<Step> = script.iter().copied().chain(drain).collect();
    for (i, st) in steps.iter().enumerate() {
        if st.slot == SLOTS {
            if !ghosts.is_empty() {
                let mut g = ghosts.swap_remove(st.pick as usize % ghosts.len());
                reg.apply(&mut g);
            }
            continue;
        }
        let (pid, slot) = &mut slots[st.slot as usize];
        match slot {
            None if i < script.len() => {
                let (f, input) = match st.f {
                    0 => ("read", Value::Null),
                    1 => ("write", reg.fresh()),
                    _ => {
                        let from = reg.expected(st.pick);
                        ("cas", json!([from, reg.fresh()]))
                    }
                };
                push(&mut events, *pid, EventKind::Invoke, f, input.clone());
                *slot = Some(Flight {
                    f,
                    input,
                    fate: st.fate,
                    anomaly: st.anomaly,
                    applied: false,
                    output: Value::Null,
                    failed: false,
                });
            }
            None => {}
            Some(fl) if !fl.applied => {
                fl.applied = true;
                if matches!(fl.fate, Fate::Ok | Fate::InfoApplied) {
                    reg.apply(fl);
                }
            }
            Some(_) => {
                let Some(fl) = slot.take() else { continue };
                let (kind, v) = match fl.fate {
                    Fate::Ok if fl.failed => (EventKind::Fail, fl.input.clone()),
                    Fate::Ok if fl.f == "read" => (EventKind::Ok, fl.output.clone()),
                    Fate::Ok => (EventKind::Ok, fl.input.clone()),
                    _ => (EventKind::Info, fl.input.clone()),
                };
                push(&mut events, *pid, kind, fl.f, v);
                if kind == EventKind::Info {
                    *pid += u64::from(SLOTS);
                    if matches!(fl.fate, Fate::InfoLater) && fl.f != "read" {
                        ghosts.push(fl);
                    }
                }
            }
        }
    }
    events
}

/// Each engine's answer on a one-key history, checked against the others.
fn cross_check(h: &History) -> Result<Outcome3, TestCaseError> {
    let expected = oracle(h);
    let Some(ids) = ops_by_key(h).remove("") else {
        return Ok(Outcome3::Empty);
    };
    let KeyInput::Register { init, ops, .. } = prepare_key(h, &Model::register(), &ids) else {
        return Err(TestCaseError::fail("register input"));
    };
    let wgl = matches!(search(&init, &ops, None), SearchResult::Linearizable { .. });
    prop_assert_eq!(wgl, expected, "wgl vs oracle:\n{}", render(h));
    let outcome = match decide(init.0, &ops) {
        Decision::Linearizable(order) => {
            prop_assert!(expected, "version order says linearizable:\n{}", render(h));
            let checked = verify(&init, &ops, &order);
            prop_assert!(
                checked.is_ok(),
                "witness {:?}: {:?}\n{}",
                order,
                checked,
                render(h)
            );
            Outcome3::Valid
        }
        Decision::NotLinearizable(violation) => {
            prop_assert!(
                !expected,
                "version order says {:?}:\n{}",
                violation,
                render(h)
            );
            let r = refute(init.0, &ops, None);
            let Some(r) = r else {
                return Err(TestCaseError::fail(format!(
                    "no refutation:\n{}",
                    render(h)
                )));
            };
            let at = ops[r.blocked].ret_pos;
            let (before, _) = cut_ops(&ops, at, false);
            let (after, _) = cut_ops(&ops, at, true);
            let lin =
                |cut: &[_]| matches!(search(&init, cut, None), SearchResult::Linearizable { .. });
            prop_assert!(lin(&before), "cut before the blocked op:\n{}", render(h));
            prop_assert!(!lin(&after), "cut after the blocked op:\n{}", render(h));
            prop_assert!(!r.prefix.contains(&r.blocked));
            Outcome3::Invalid
        }
        Decision::NotApplicable(why) => {
            return Err(TestCaseError::fail(format!(
                "unique values, yet not applicable: {why:?}\n{}",
                render(h)
            )));
        }
    };
    // And the whole check: the engine it names, the verdict it gives.
    let report = linearizable::check(
        h,
        Model::register(),
        &LinOptions {
            threads: 1,
            ..LinOptions::default()
        },
    );
    let key = &report.keys[""];
    if h.ops.iter().any(|o| o.outcome == Outcome::Ok) {
        prop_assert_eq!(key.engine, Engine::VersionOrder);
        let want = if expected {
            Verdict::Valid
        } else {
            Verdict::Invalid
        };
        prop_assert_eq!(key.verdict, want);
    } else {
        prop_assert_eq!(key.verdict, Verdict::Unknown);
    }
    Ok(outcome)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome3 {
    Empty,
    Valid,
    Invalid,
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES=100000 for the long run.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1500),
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn version_order_agrees_with_search_and_stateright(script in prop::collection::vec(step(), 0..40)) {
        let h = History::from_events(simulate(&script)).expect("simulated histories pair");
        cross_check(&h)?;
    }
}

#[test]
fn both_verdicts_and_late_info_ops_are_generated() {
    // Guards the property above against testing one side only.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(step(), 0..40);
    let (mut valid, mut invalid, mut with_info) = (0, 0, 0);
    for _ in 0..400 {
        let script = strategy.new_tree(&mut runner).expect("tree").current();
        let h = History::from_events(simulate(&script)).expect("pairs");
        with_info += usize::from(h.ops.iter().any(|o| o.outcome == Outcome::Info));
        match cross_check(&h).expect("engines agree") {
            Outcome3::Valid => valid += 1,
            Outcome3::Invalid => invalid += 1,
            Outcome3::Empty => {}
        }
    }
    assert!(
        valid > 100 && invalid > 60 && with_info > 100,
        "valid {valid}, invalid {invalid}, with info ops {with_info}"
    );
}
