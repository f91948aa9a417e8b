//! Run statistics: counts, latency percentiles, availability per second,
//! fault windows and recovery times.
//!
//! - [`compute`](compute::compute): the [`Stats`] of a history;
//! - [`faults`]: fault windows from nemesis `start-*`/`stop-*` pairs.

pub mod compute;
pub mod faults;

use std::any::Any;

pub use compute::{Latency, Second, Stats, compute};
pub use faults::{FaultWindow, fault_windows};
use serde_json::Value;

use crate::{
    checker::{Checker, Report, to_json},
    history::History,
    results::Verdict,
};

/// The checker's name in `results.json`.
pub const NAME: &str = "stats";

/// Counts, latencies, availability and recovery after faults: information,
/// never a failure (its verdict is always valid).
#[derive(Clone, Copy, Debug, Default)]
pub struct StatsChecker;

impl Checker for StatsChecker {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, history: &History) -> Box<dyn Report> {
        Box::new(compute(history))
    }
}

impl Report for Stats {
    fn verdict(&self) -> Verdict {
        Verdict::Valid
    }

    fn summary(&self) -> String {
        let secs = self.duration as f64 / 1e9;
        let ok: u64 = self.counts.values().filter_map(|by| by.get("ok")).sum();
        let mut s = format!(
            "{} ops, {:.0} ok/s",
            self.ops,
            if secs > 0.0 { ok as f64 / secs } else { 0.0 }
        );
        for (f, l) in &self.latency {
            s += &format!(", {f} p50 {} p99 {}", ms(l.p50), ms(l.p99));
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

fn ms(ns: u64) -> String {
    format!("{:.1}ms", ns as f64 / 1e6)
}
