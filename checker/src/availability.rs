//! Did the system serve anything? A history where nothing was
//! acknowledged tests nothing, so it must not pass as `valid`; and a plan
//! may ask for an availability floor.
//!
//! | finding | verdict |
//! |---|---|
//! | no client operation other than a read was acknowledged (`ok`) | unknown |
//! | the share of `ok` client operations is below the floor (`min_ok_share`) | unknown |
//! | otherwise | valid |
//!
//! Final reads are left out of the share: they run after the faults, when
//! every system should answer.

use std::any::Any;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    checker::{Checker, Report, to_json},
    history::{History, Op, Outcome},
    results::Verdict,
    txn::history::TXN_F,
};

/// The checker's name in `results.json`.
pub const NAME: &str = "availability";

/// The availability checker, with an optional floor.
#[derive(Clone, Copy, Debug, Default)]
pub struct Availability {
    /// The least share of `ok` operations a run must have, from 0 to 1.
    pub min_ok_share: Option<f64>,
}

/// What it found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityReport {
    /// Unknown when nothing was acknowledged, or below the floor.
    pub verdict: Verdict,
    /// Client operations, final reads left out.
    pub ops: u64,
    /// Of those, `ok` ones.
    pub ok: u64,
    /// `ok / ops` (0 without ops).
    pub ok_share: f64,
    /// Acknowledged operations that are not reads (writes, cas, appends,
    /// ...), final reads left out.
    pub acknowledged_writes: u64,
    /// The floor it was held to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ok_share: Option<f64>,
    /// Why the verdict is unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl Checker for Availability {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, history: &History) -> Box<dyn Report> {
        Box::new(check(history, self.min_ok_share))
    }
}

/// Whether `op`, acknowledged, wrote something: reads never do, and a
/// transaction only when one of its micro-ops appends or writes (a cluster
/// that answers only read-only transactions has tested nothing).
fn writes(op: &Op) -> bool {
    match op.f.as_str() {
        "read" => false,
        TXN_F => op.input.as_array().is_some_and(|micro_ops| {
            micro_ops
                .iter()
                .any(|m| matches!(m.get(0).and_then(Value::as_str), Some("append" | "w")))
        }),
        _ => true,
    }
}

/// Checks `history` against the floor `min_ok_share`.
pub fn check(history: &History, min_ok_share: Option<f64>) -> AvailabilityReport {
    let mut report = AvailabilityReport {
        min_ok_share,
        ..AvailabilityReport::default()
    };
    for op in &history.ops {
        if history.events[op.invoke].is_final {
            continue;
        }
        report.ops += 1;
        if op.outcome == Outcome::Ok {
            report.ok += 1;
            if writes(op) {
                report.acknowledged_writes += 1;
            }
        }
    }
    if report.ops > 0 {
        report.ok_share = report.ok as f64 / report.ops as f64;
    }
    if report.acknowledged_writes == 0 {
        report.reasons.push(format!(
            "no write was acknowledged in {} operations: the history tests nothing",
            report.ops
        ));
    }
    if let Some(floor) = min_ok_share
        && report.ok_share < floor
    {
        report.reasons.push(format!(
            "{:.1}% of operations succeeded, below the plan's floor of {:.1}%",
            report.ok_share * 100.0,
            floor * 100.0
        ));
    }
    report.verdict = if report.reasons.is_empty() {
        Verdict::Valid
    } else {
        Verdict::Unknown
    };
    report
}

impl Report for AvailabilityReport {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    fn summary(&self) -> String {
        let mut s = format!(
            "{} of {} ops ok ({:.1}%), {} writes acknowledged",
            self.ok,
            self.ops,
            self.ok_share * 100.0,
            self.acknowledged_writes
        );
        for reason in &self.reasons {
            s += &format!("; {reason}");
        }
        s
    }

    fn to_json(&self) -> Value {
        to_json(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, EventKind, Process};

    /// One op per `(f, outcome)`, one after another.
    fn history(ops: &[(&str, EventKind)]) -> History {
        let with_values: Vec<_> = ops
            .iter()
            .enumerate()
            .map(|(i, (f, outcome))| (*f, Value::from(i), *outcome))
            .collect();
        history_of(&with_values)
    }

    /// One op per `(f, value, outcome)`, one after another.
    fn history_of(ops: &[(&str, Value, EventKind)]) -> History {
        let mut events = Vec::new();
        for (i, (f, value, outcome)) in ops.iter().enumerate() {
            let i = i as u64;
            let mut invoke = Event::new(2 * i, 2 * i, Process::Client(i), EventKind::Invoke, f);
            invoke.key = Some("k".into());
            invoke.value = value.clone();
            let mut done = invoke.clone();
            done.index += 1;
            done.time += 1;
            done.kind = *outcome;
            events.extend([invoke, done]);
        }
        History::from_events(events).expect("pairs")
    }

    #[test]
    fn a_history_where_everything_failed_is_unknown_not_valid() {
        let all_failed = history(&[
            ("write", EventKind::Fail),
            ("read", EventKind::Fail),
            ("cas", EventKind::Info),
        ]);
        let report = check(&all_failed, None);
        assert_eq!(report.verdict, Verdict::Unknown, "{report:?}");
        assert!(report.summary().contains("no write was acknowledged"));
        let only_reads = history(&[("read", EventKind::Ok), ("write", EventKind::Fail)]);
        assert_eq!(check(&only_reads, None).verdict, Verdict::Unknown);
        assert_eq!(check(&History::default(), None).verdict, Verdict::Unknown);
    }

    #[test]
    fn read_only_transactions_are_not_acknowledged_writes() {
        let read_only = serde_json::json!([["r", "x", null], ["r", "y", null]]);
        let appends = serde_json::json!([["r", "x", null], ["append", "x", 3]]);
        let writes = serde_json::json!([["w", "x", 3]]);
        let only_reads = history_of(&[
            ("txn", read_only.clone(), EventKind::Ok),
            ("txn", appends.clone(), EventKind::Fail),
        ]);
        let report = check(&only_reads, None);
        assert_eq!(report.verdict, Verdict::Unknown, "{report:?}");
        assert_eq!(report.acknowledged_writes, 0);
        for wrote in [appends, writes] {
            let history = history_of(&[
                ("txn", read_only.clone(), EventKind::Ok),
                ("txn", wrote, EventKind::Ok),
            ]);
            assert_eq!(check(&history, None).acknowledged_writes, 1);
        }
    }

    #[test]
    fn the_floor_is_held() {
        let half = history(&[
            ("write", EventKind::Ok),
            ("read", EventKind::Fail),
            ("write", EventKind::Ok),
            ("read", EventKind::Fail),
        ]);
        assert_eq!(check(&half, None).verdict, Verdict::Valid);
        assert_eq!(check(&half, Some(0.5)).verdict, Verdict::Valid);
        let report = check(&half, Some(0.75));
        assert_eq!(report.verdict, Verdict::Unknown);
        assert!(report.summary().contains("below the plan's floor of 75.0%"));
    }
}
