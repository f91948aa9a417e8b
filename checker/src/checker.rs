//! The checker seam: every property a history is checked for is a
//! [`Checker`], and what it finds is a typed [`Report`].
//!
//! A run's checkers come from its workload (`workloads`); `harness check`
//! picks them the same way. Everything after the check (the terminal
//! summary, `results.json`, `report.html`, `junit.xml`) works on
//! [`Checked`]: the typed reports, in memory, serialized once when written
//! and read back into the same types by [`Checked::from_results`].
//!
//! Adding a checker: a module with a type that implements [`Checker`] and a
//! report type that implements [`Report`], plus one line in [`STORED`] so
//! that a stored `results.json` reads back into that type. The HTML report
//! renders any checker (summary and details); a checker that wants a
//! section of its own registers one in the `report` crate.
//!
//! Invariants:
//! - [`Checked::verdict`] is always the max of its reports' verdicts
//!   (invalid > unknown > valid); [`Checked::insert`] keeps it so;
//! - reports are kept in a `BTreeMap` by name, so every output is in the
//!   same order whatever order the checkers ran in.

use std::{any::Any, collections::BTreeMap, fmt, time::Duration};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{
    history::History,
    results::{CheckerResult, Results, Verdict},
};

/// A property of histories.
pub trait Checker: Send + Sync {
    /// The checker's name: its key in `results.json` and its JUnit case.
    /// One constant per checker (`NAME` in its module).
    fn name(&self) -> &'static str;

    /// Checks `history`.
    ///
    /// # Correctness
    ///
    /// `valid` is a promise to the user that the property holds. A checker
    /// that cannot decide (a budget spent, an op it does not know, nothing
    /// to decide on) must say `unknown`, never `valid`.
    fn check(&self, history: &History) -> Box<dyn Report>;
}

/// What a checker found, typed; serialized into `results.json` as the
/// checker's `details`.
pub trait Report: Any + fmt::Debug + Send + Sync {
    /// The verdict.
    fn verdict(&self) -> Verdict;
    /// One line for people ("3 of 1000 keys invalid").
    fn summary(&self) -> String;
    /// One finding in a sentence, for the end of a run on the terminal.
    fn example(&self) -> Option<String> {
        None
    }
    /// The report as `results.json` holds it.
    fn to_json(&self) -> Value;
    /// For renderers that know the concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// Settings every checker may consult.
#[derive(Clone, Debug)]
pub struct CheckSettings {
    /// Per-key time budget of searches (linearizability).
    pub time_budget: Duration,
    /// The value every register holds before the first write (`null` for
    /// our workloads; imported histories may start elsewhere).
    pub initial_value: Value,
    /// The availability floor, if the plan sets one.
    pub min_ok_share: Option<f64>,
    /// Bytes the searches may hold at once; `None`: the checker's default
    /// (half the machine's memory).
    pub memory_budget: Option<usize>,
    /// Where long checks report their progress, if anywhere.
    pub progress: Option<crate::linearizable::ProgressSink>,
    /// The model transactional checkers judge against; `None`: their
    /// default (strict-serializable for runs of our systems).
    pub consistency_model: Option<crate::txn::ConsistencyModel>,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            time_budget: Duration::from_secs(30),
            initial_value: Value::Null,
            min_ok_share: None,
            memory_budget: None,
            progress: None,
            consistency_model: None,
        }
    }
}

/// Serializes a report for `results.json`. Reports are plain data; a
/// report that cannot serialize is a bug in its type.
pub fn to_json<T: Serialize>(report: &T) -> Value {
    serde_json::to_value(report).expect("checker reports serialize to JSON")
}

type Parse = fn(Value) -> Result<Box<dyn Report>, serde_json::Error>;

fn parse<T: Report + DeserializeOwned>(value: Value) -> Result<Box<dyn Report>, serde_json::Error> {
    Ok(Box::new(serde_json::from_value::<T>(value)?))
}

/// How each checker's stored `details` read back into its report type.
pub const STORED: &[(&str, Parse)] = &[
    (
        crate::linearizable::NAME,
        parse::<crate::LinearizabilityReport>,
    ),
    (crate::set::NAME, parse::<crate::SetReport>),
    (crate::stats::NAME, parse::<crate::Stats>),
    (
        crate::availability::NAME,
        parse::<crate::AvailabilityReport>,
    ),
    (crate::integrity::NAME, parse::<crate::RunIntegrity>),
    (crate::txn::NAME, parse::<crate::TxnReport>),
];

/// A stored result whose checker this build does not know (or whose
/// details do not parse): kept as it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredReport(pub CheckerResult);

impl Report for StoredReport {
    fn verdict(&self) -> Verdict {
        self.0.verdict
    }
    fn summary(&self) -> String {
        self.0.summary.clone()
    }
    fn to_json(&self) -> Value {
        self.0.details.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The typed results of checking one history: each checker's report and
/// the composed verdict.
#[derive(Debug, Default)]
pub struct Checked {
    verdict: Verdict,
    reports: BTreeMap<String, Box<dyn Report>>,
}

impl Checked {
    /// No reports yet: valid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs every checker on `history`.
    pub fn run(history: &History, checkers: &[Box<dyn Checker>]) -> Self {
        let mut checked = Self::new();
        for checker in checkers {
            checked.insert(checker.name(), checker.check(history));
        }
        checked
    }

    /// Adds (or replaces) a report and recomputes the verdict.
    pub fn insert(&mut self, name: impl Into<String>, report: Box<dyn Report>) {
        self.reports.insert(name.into(), report);
        self.verdict = self
            .reports
            .values()
            .map(|r| r.verdict())
            .fold(Verdict::Valid, Verdict::compose);
    }

    /// The composed verdict: invalid > unknown > valid.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Reports by checker name.
    pub fn reports(&self) -> impl Iterator<Item = (&str, &dyn Report)> {
        self.reports.iter().map(|(n, r)| (n.as_str(), r.as_ref()))
    }

    /// One checker's report.
    pub fn get(&self, name: &str) -> Option<&dyn Report> {
        self.reports.get(name).map(AsRef::as_ref)
    }

    /// Removes one checker's report (to move it into another result).
    pub fn take(&mut self, name: &str) -> Option<Box<dyn Report>> {
        let report = self.reports.remove(name)?;
        self.verdict = self
            .reports
            .values()
            .map(|r| r.verdict())
            .fold(Verdict::Valid, Verdict::compose);
        Some(report)
    }

    /// One checker's report as its concrete type.
    pub fn get_as<T: Report>(&self, name: &str) -> Option<&T> {
        self.get(name)?.as_any().downcast_ref()
    }

    /// The serialized form, for `results.json`.
    pub fn to_results(&self) -> Results {
        let mut results = Results::new();
        for (name, report) in &self.reports {
            results.insert(
                name.clone(),
                CheckerResult {
                    verdict: report.verdict(),
                    summary: report.summary(),
                    details: report.to_json(),
                },
            );
        }
        results
    }

    /// Reads stored results back into typed reports. A checker this build
    /// does not know, or details that do not parse, stay a
    /// [`StoredReport`] with the stored verdict.
    pub fn from_results(results: &Results) -> Self {
        let mut checked = Self::new();
        for (name, result) in &results.checkers {
            let parsed = STORED
                .iter()
                .find(|(stored, _)| stored == name)
                .and_then(|(_, parse)| parse(result.details.clone()).ok())
                .filter(|report| report.verdict() == result.verdict);
            let report = parsed.unwrap_or_else(|| Box::new(StoredReport(result.clone())));
            checked.insert(name.clone(), report);
        }
        checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, EventKind, Process, SetReport};

    fn history() -> History {
        let mut events = Vec::new();
        for (i, (kind, value)) in [
            (EventKind::Invoke, Value::from(1)),
            (EventKind::Ok, Value::from(1)),
        ]
        .into_iter()
        .enumerate()
        {
            let mut e = Event::new(i as u64, i as u64 * 10, Process::Client(0), kind, "write");
            e.key = Some("k".into());
            e.value = value;
            events.push(e);
        }
        History::from_events(events).expect("pairs")
    }

    #[test]
    fn typed_reports_round_trip_through_results_json() {
        let history = history();
        let checkers: Vec<Box<dyn Checker>> = vec![
            Box::new(crate::linearizable::Linearizable::register(
                CheckSettings::default(),
            )),
            Box::new(crate::stats::StatsChecker),
        ];
        let checked = Checked::run(&history, &checkers);
        let text = serde_json::to_string(&checked.to_results()).expect("serializes");
        let back = Checked::from_results(&serde_json::from_str(&text).expect("parses"));
        assert_eq!(back.verdict(), checked.verdict());
        let lin = back
            .get_as::<crate::LinearizabilityReport>(crate::linearizable::NAME)
            .expect("the linearizability report reads back typed");
        assert_eq!(
            Some(lin),
            checked.get_as::<crate::LinearizabilityReport>(crate::linearizable::NAME)
        );
        assert!(back.get_as::<crate::Stats>(crate::stats::NAME).is_some());
    }

    #[test]
    fn unknown_checkers_keep_their_stored_verdict() {
        let mut results = Results::new();
        results.insert(
            "from-the-future",
            CheckerResult::new(Verdict::Invalid, "1 anomaly", &serde_json::json!({"x": 1}))
                .expect("json"),
        );
        let checked = Checked::from_results(&results);
        assert_eq!(checked.verdict(), Verdict::Invalid);
        assert_eq!(
            checked.get("from-the-future").map(|r| r.summary()),
            Some("1 anomaly".to_owned())
        );
        assert!(checked.get_as::<SetReport>("from-the-future").is_none());
    }

    #[test]
    fn verdicts_compose_over_reports() {
        let mut checked = Checked::new();
        assert_eq!(checked.verdict(), Verdict::Valid);
        let stored = |v| {
            Box::new(StoredReport(CheckerResult {
                verdict: v,
                summary: String::new(),
                details: Value::Null,
            }))
        };
        checked.insert("a", stored(Verdict::Unknown));
        assert_eq!(checked.verdict(), Verdict::Unknown);
        checked.insert("b", stored(Verdict::Invalid));
        checked.insert("c", stored(Verdict::Valid));
        assert_eq!(checked.verdict(), Verdict::Invalid);
        checked.insert("b", stored(Verdict::Valid));
        assert_eq!(checked.verdict(), Verdict::Unknown);
    }
}
