//! The transactional checker behind the [`Checker`] seam: a [`TxnChecker`]
//! runs [`check`] with its [`TxnOptions`], and [`TxnReport`] is its
//! [`Report`] (verdict, summary line, one anomaly explained in a sentence,
//! JSON for `results.json`).
//!
//! Invariant: the report's verdict is [`TxnReport::verdict`] as the check
//! computed it; nothing here re-judges it.

use std::any::Any;

use serde_json::Value;

use super::{TxnOptions, TxnReport, check};
use crate::{
    checker::{Checker, Report, to_json},
    history::History,
    results::Verdict,
};

/// The checker's name in `results.json`.
pub const NAME: &str = "txn";

/// Elle-class checking of `txn` operations against a consistency model.
#[derive(Clone, Debug, Default)]
pub struct TxnChecker {
    /// Workload (or detection), model, budgets.
    pub options: TxnOptions,
}

impl TxnChecker {
    /// Checks with `options`.
    pub fn new(options: TxnOptions) -> Self {
        Self { options }
    }
}

impl Checker for TxnChecker {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, history: &History) -> Box<dyn Report> {
        Box::new(check(history, &self.options))
    }
}

impl Report for TxnReport {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    fn summary(&self) -> String {
        TxnReport::summary(self)
    }

    /// The first anomaly that rules the model out (else the first one
    /// found, else the first input problem), explained.
    fn example(&self) -> Option<String> {
        let ruling = self
            .anomalies
            .iter()
            .find(|a| self.ruled_out_by.contains(&a.kind));
        if let Some(anomaly) = ruling.or_else(|| self.anomalies.first()) {
            return Some(anomaly.explanation.clone());
        }
        self.problems.first().map(ToString::to_string)
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
    use crate::{
        Checked,
        txn::{AnomalyType, ConsistencyModel, generate::TxnGen},
    };

    fn history(inject: Option<AnomalyType>) -> History {
        TxnGen {
            seed: 3,
            txns: 200,
            inject,
            ..TxnGen::default()
        }
        .history()
        .expect("generated histories pair")
    }

    #[test]
    fn the_example_explains_an_anomaly_that_rules_the_model_out() {
        let checker = TxnChecker::default();
        let report = checker.check(&history(Some(AnomalyType::GSingle)));
        assert_eq!(report.verdict(), Verdict::Invalid);
        let example = report.example().expect("an invalid report explains itself");
        assert!(example.starts_with("G-single"), "{example}");
        assert!(
            report.summary().contains("G-single x1"),
            "{}",
            report.summary()
        );

        let valid = checker.check(&history(None));
        assert_eq!(valid.verdict(), Verdict::Valid, "{}", valid.summary());
        assert_eq!(valid.example(), None);
    }

    #[test]
    fn the_report_reads_back_typed_from_results_json() {
        let checkers: Vec<Box<dyn Checker>> = vec![Box::new(TxnChecker::new(TxnOptions {
            consistency_model: ConsistencyModel::Serializable,
            ..TxnOptions::default()
        }))];
        let checked = Checked::run(&history(Some(AnomalyType::G1c)), &checkers);
        let text = serde_json::to_string(&checked.to_results()).expect("serializes");
        let back = Checked::from_results(&serde_json::from_str(&text).expect("parses"));
        let report = back
            .get_as::<TxnReport>(NAME)
            .expect("STORED reads the txn report back typed");
        assert_eq!(Some(report), checked.get_as::<TxnReport>(NAME));
        assert_eq!(report.consistency_model, ConsistencyModel::Serializable);
        assert_eq!(back.verdict(), Verdict::Invalid);
    }
}
