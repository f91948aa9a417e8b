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

/// Runs every checker that applies to `config.model` on `history`:
///
/// | model | checkers |
/// |---|---|
/// | register | `linearizable` (per key), `stats` |
/// | list (set workload) | `set` (lost, unexpected, recovered, duplicated, stale final reads), `stats` |
///
/// `stats` (counts, latencies, availability, recovery after faults) is
/// information, never a failure: its verdict is always valid.
pub fn check(history: &History, config: &CheckConfig) -> Results {
    let mut results = Results::new();
    match &config.model {
        Model::Register { .. } => {
            let options = LinOptions {
                time_budget: config.time_budget,
                ..LinOptions::default()
            };
            let report = checker::linearizable::check(history, config.model.clone(), &options);
            results.insert(
                "linearizable",
                to_result(report.verdict, report.summary(), &report),
            );
        }
        Model::List => {
            let report = checker::set::check(history);
            let summary = set_summary(&report);
            results.insert("set", to_result(report.verdict, summary, &report));
        }
    }
    let stats = checker::stats::compute(history);
    results.insert(
        "stats",
        to_result(Verdict::Valid, stats_summary(&stats), &stats),
    );
    results
}

fn to_result<T: serde::Serialize>(verdict: Verdict, summary: String, report: &T) -> CheckerResult {
    CheckerResult::new(verdict, summary, report).expect("checker reports serialize")
}

fn set_summary(r: &checker::SetReport) -> String {
    let mut s = format!("{} acknowledged of {} appends", r.acknowledged, r.attempted);
    for (count, what) in [
        (r.lost.len(), "lost"),
        (r.unexpected.len(), "unexpected"),
        (r.duplicated.len(), "duplicated"),
        (r.stale_final_reads.len(), "stale final reads"),
        (r.recovered.len(), "recovered"),
    ] {
        if count > 0 {
            s += &format!(", {count} {what}");
        }
    }
    for reason in &r.reasons {
        s += &format!("; {reason}");
    }
    s
}

fn stats_summary(stats: &checker::Stats) -> String {
    let secs = stats.duration as f64 / 1e9;
    let ok: u64 = stats.counts.values().filter_map(|by| by.get("ok")).sum();
    let mut s = format!(
        "{} ops, {:.0} ok/s",
        stats.ops,
        if secs > 0.0 { ok as f64 / secs } else { 0.0 }
    );
    for (f, l) in &stats.latency {
        s += &format!(", {f} p50 {} p99 {}", ms(l.p50), ms(l.p99));
    }
    s
}

fn ms(ns: u64) -> String {
    format!("{:.1}ms", ns as f64 / 1e6)
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
