//! [`Stats`] of a history.
//!
//! Invariants: latencies are of `ok` ops (invocation to completion, ns) via
//! hdrhistogram with 3 significant digits; availability buckets ops by the
//! second (of run time) in which they completed; maps are `BTreeMap`s.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::faults::{FaultWindow, fault_windows};
use crate::history::{History, Outcome};

/// Statistics of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Client ops.
    pub ops: usize,
    /// Time of the last event (ns).
    pub duration: u64,
    /// Ops per `f`, then per outcome (`ok`, `fail`, `info`).
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Latency of `ok` ops per `f`.
    pub latency: BTreeMap<String, Latency>,
    /// Per second of the run: ops completed and the share that was `ok`.
    pub availability: Vec<Second>,
    /// Fault windows with recovery times.
    pub faults: Vec<FaultWindow>,
}

/// Latency percentiles (ns).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Ops measured.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Second since the run started.
    pub second: u64,
    /// Ops that completed in it (any outcome).
    pub completed: u64,
    /// Of those, `ok` ones.
    pub ok: u64,
    /// `ok / completed`.
    pub ok_share: f64,
}

const SECOND: u64 = 1_000_000_000;

/// Computes the stats of `history`.
pub fn compute(history: &History) -> Stats {
    let mut counts: HashMap<&str, [u64; 3]> = HashMap::new();
    let mut hists: HashMap<&str, Histogram<u64>> = HashMap::new();
    let mut seconds: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for op in &history.ops {
        let slot = match op.outcome {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Info => 2,
        };
        counts.entry(&op.f).or_default()[slot] += 1;
        let Some(ret) = op.return_time else { continue };
        let s = seconds.entry(ret / SECOND).or_default();
        s.0 += 1;
        if op.outcome == Outcome::Ok {
            s.1 += 1;
            let h = hists.entry(&op.f).or_insert_with(|| {
                Histogram::new(3).unwrap_or_else(|_| unreachable!("3 digits is valid"))
            });
            let v = ret.saturating_sub(op.call_time).max(1);
            // Auto-resizes; saturates at the range if it cannot.
            if h.record(v).is_err() {
                h.saturating_record(v);
            }
        }
    }
    let counts = counts
        .into_iter()
        .map(|(f, [ok, fail, info])| {
            let by: BTreeMap<String, u64> = [("ok", ok), ("fail", fail), ("info", info)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| (k.to_owned(), n))
                .collect();
            (f.to_owned(), by)
        })
        .collect();
    let latency = hists
        .into_iter()
        .map(|(f, h)| {
            (
                f.to_owned(),
                Latency {
                    count: h.len(),
                    p50: h.value_at_quantile(0.5),
                    p90: h.value_at_quantile(0.9),
                    p99: h.value_at_quantile(0.99),
                    max: h.max(),
                },
            )
        })
        .collect();
    let availability = seconds
        .into_iter()
        .map(|(second, (completed, ok))| Second {
            second,
            completed,
            ok,
            ok_share: ok as f64 / completed.max(1) as f64,
        })
        .collect();
    Stats {
        ops: history.ops.len(),
        duration: history.end_time(),
        counts,
        latency,
        availability,
        faults: fault_windows(history),
    }
}
