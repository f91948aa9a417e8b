//! Checking a recorded history: which checkers run for which workload,
//! composing their verdicts into `results.json`, and the short summary
//! printed at the end of a run.

use std::{path::Path, time::Duration};

use checker::{CheckerResult, History, LinOptions, Model, Results, Verdict};

/// What a history is checked against.
#[derive(Clone, Debug)]
pub struct CheckConfig {
    pub model: Model,
    /// Per-key time budget of the linearizability search.
    pub time_budget: Duration,
}

/// Runs every checker that applies to `config.model` on `history`.
pub fn check(history: &History, config: &CheckConfig) -> Results {
    let mut results = Results::new();
    let options = LinOptions {
        time_budget: config.time_budget,
        ..LinOptions::default()
    };
    let report = checker::linearizable::check(history, config.model.clone(), &options);
    let result = CheckerResult::new(report.verdict, report.summary(), &report)
        .expect("linearizability reports serialize");
    results.insert("linearizable", result);
    results
}

/// Writes `results.json`.
pub fn write_results(results: &Results, path: &Path) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(results).map_err(std::io::Error::other)?;
    std::fs::write(path, json)
}

/// A few lines for people: each checker's verdict and summary.
pub fn summary(results: &Results) -> String {
    let mut out = format!("verdict: {}\n", results.verdict.to_string().to_uppercase());
    for (name, result) in &results.checkers {
        out += &format!("  {name:<14} {:<8} {}\n", result.verdict, result.summary);
    }
    if let Some(example) = first_counterexample(results) {
        out += &example;
    }
    if results.verdict == Verdict::Invalid {
        out += "  (results.json and report.html have every counterexample)\n";
    }
    out
}

/// One invalid key's counterexample in a sentence: the op that cannot be
/// placed and the state it contradicts.
fn first_counterexample(results: &Results) -> Option<String> {
    let details = &results.checkers.get("linearizable")?.details;
    let report: checker::LinearizabilityReport = serde_json::from_value(details.clone()).ok()?;
    let (key, c) = report
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
        "  e.g. key {key}: {}{seen} by process {} at {:.3}s cannot be linearized; the state was {}",
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
    Some(line + "\n")
}
