//! The linearizability checker behind the [`Checker`] seam, and its
//! report's verdict, summary and one-sentence example.

use std::any::Any;

use serde_json::Value;

use super::{LinOptions, LinearizabilityReport, Model, check};
use crate::{
    checker::{CheckSettings, Checker, Report, to_json},
    history::History,
    results::Verdict,
};

/// The checker's name in `results.json`.
pub const NAME: &str = "linearizable";

/// Per-key linearizability against a sequential model.
#[derive(Clone, Debug)]
pub struct Linearizable {
    /// The model every key must follow.
    pub model: Model,
    /// Budgets and threads of the search.
    pub options: LinOptions,
}

impl Linearizable {
    /// A read/write/cas register starting at the settings' initial value.
    pub fn register(settings: CheckSettings) -> Self {
        let init = settings.initial_value.clone();
        Self::new(Model::Register { init }, settings)
    }

    /// Checks against `model`.
    pub fn new(model: Model, settings: CheckSettings) -> Self {
        let defaults = LinOptions::default();
        Self {
            model,
            options: LinOptions {
                time_budget: settings.time_budget,
                memory_budget: settings.memory_budget.unwrap_or(defaults.memory_budget),
                progress: settings.progress,
                ..defaults
            },
        }
    }
}

impl Checker for Linearizable {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, history: &History) -> Box<dyn Report> {
        Box::new(check(history, self.model.clone(), &self.options))
    }
}

impl Report for LinearizabilityReport {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    fn summary(&self) -> String {
        LinearizabilityReport::summary(self)
    }

    /// The first invalid key's counterexample: the op that cannot be
    /// placed and the state it contradicts.
    fn example(&self) -> Option<String> {
        let (key, c) = self
            .keys
            .iter()
            .find_map(|(key, r)| r.counterexample.as_ref().map(|c| (key, c)))?;
        let op = &c.op;
        let seen = if op.f == "read" {
            format!(" -> {}", op.output)
        } else {
            format!(" {}", op.input)
        };
        let mut line = format!(
            "key {key}: {}{seen} by process {} at {:.3}s cannot be linearized; the state was {}",
            op.f,
            op.process,
            op.call_time as f64 / 1e9,
            c.state
        );
        if let Some(last) = c.prefix_tail.last() {
            line += &format!(
                " after {} {} (process {})",
                last.f, last.input, last.process
            );
        }
        Some(line)
    }

    fn to_json(&self) -> Value {
        to_json(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
