//! Verdicts and the composed `results.json`.
//!
//! Invariants:
//! - [`Verdict`] is ordered `Valid < Unknown < Invalid`, so composing
//!   verdicts is `max` (any invalid makes the run invalid; otherwise any
//!   unknown makes it unknown);
//! - [`Results::verdict`] is always the max of its checkers' verdicts
//!   ([`Results::insert`] keeps it so);
//! - maps are `BTreeMap`s, so the JSON is deterministic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the `results.json` layout.
pub const RESULTS_VERSION: u32 = 1;

/// A checker's (or a run's) verdict.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The history satisfies the property.
    #[default]
    Valid,
    /// The checker could not decide (time budget spent, unsupported op).
    Unknown,
    /// The history violates the property.
    Invalid,
}

impl Verdict {
    /// Composes verdicts: invalid > unknown > valid.
    pub fn compose(self, other: Verdict) -> Verdict {
        self.max(other)
    }

    /// Process exit code for this verdict: 0 valid, 1 invalid, 2 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Unknown => 2,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that `{:<8}` aligns verdicts in tables.
        f.pad(match self {
            Verdict::Valid => "valid",
            Verdict::Unknown => "unknown",
            Verdict::Invalid => "invalid",
        })
    }
}

/// One checker's result inside `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerResult {
    /// The checker's verdict.
    pub verdict: Verdict,
    /// One line for people ("3 of 1000 keys invalid").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// The checker's full report (e.g. a serialized
    /// [`LinearizabilityReport`](crate::LinearizabilityReport)).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl CheckerResult {
    /// A result whose details are `report` serialized to JSON.
    pub fn new<T: Serialize>(
        verdict: Verdict,
        summary: impl Into<String>,
        report: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(CheckerResult {
            verdict,
            summary: summary.into(),
            details: serde_json::to_value(report)?,
        })
    }
}

/// The whole `results.json`: the overall verdict and each checker's result.
/// Other parts of the system add fields with `#[serde(default)]` so older
/// files stay readable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Layout version ([`RESULTS_VERSION`]).
    pub version: u32,
    /// Max of the checkers' verdicts.
    pub verdict: Verdict,
    /// Results by checker name (`linearizable`, `set`, `stats`, ...).
    pub checkers: BTreeMap<String, CheckerResult>,
    /// Free-form extra sections (report data, run metadata) by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Value>,
}

impl Default for Results {
    fn default() -> Self {
        Results {
            version: RESULTS_VERSION,
            verdict: Verdict::Valid,
            checkers: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl Results {
    /// An empty, valid result set.
    pub fn new() -> Self {
        Results::default()
    }

    /// Adds (or replaces) a checker's result and recomputes the verdict.
    pub fn insert(&mut self, name: impl Into<String>, result: CheckerResult) {
        self.checkers.insert(name.into(), result);
        self.verdict = self
            .checkers
            .values()
            .map(|c| c.verdict)
            .fold(Verdict::Valid, Verdict::compose);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_compose_invalid_over_unknown_over_valid() {
        use Verdict::*;
        #[rustfmt::skip]
        let table = [
            (Valid, Valid, Valid), (Valid, Unknown, Unknown), (Valid, Invalid, Invalid),
            (Unknown, Valid, Unknown), (Unknown, Invalid, Invalid), (Invalid, Unknown, Invalid),
        ];
        for (a, b, want) in table {
            assert_eq!(a.compose(b), want, "{a} + {b}");
        }
        assert_eq!(
            [Valid.exit_code(), Invalid.exit_code(), Unknown.exit_code()],
            [0, 1, 2]
        );
    }

    #[test]
    fn results_keep_the_overall_verdict_and_round_trip() {
        let mut r = Results::new();
        assert_eq!(r.verdict, Verdict::Valid);
        r.insert(
            "stats",
            CheckerResult::new(Verdict::Valid, "", &serde_json::json!({"ops": 3})).expect("json"),
        );
        r.insert(
            "set",
            CheckerResult::new(Verdict::Unknown, "no final read", &()).expect("json"),
        );
        assert_eq!(r.verdict, Verdict::Unknown);
        r.insert(
            "linearizable",
            CheckerResult::new(Verdict::Invalid, "1 key", &()).expect("json"),
        );
        assert_eq!(r.verdict, Verdict::Invalid);
        let text = serde_json::to_string(&r).expect("serializes");
        assert!(
            text.starts_with(r#"{"version":1,"verdict":"invalid","checkers":{"linearizable""#),
            "{text}"
        );
        let back: Results = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, r);
    }
}
