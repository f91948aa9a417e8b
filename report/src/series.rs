//! Numbers the plots and tables draw, computed from a history: completions
//! per time bin by type, latency points, and per-function latency
//! percentiles.
//!
//! Invariants: pure functions of the history; ops without a completion
//! have no latency and are not counted as completions; sampling (for very
//! large histories) is deterministic and keeps every `fail` and `info`.

use std::collections::BTreeMap;

use checker::{History, Outcome};

/// Completions in one time bin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bin {
    pub ok: u32,
    pub fail: u32,
    pub info: u32,
}

impl Bin {
    pub fn total(&self) -> u32 {
        self.ok + self.fail + self.info
    }
}

/// Bin width: one second, or wider so that there are at most `max_bins`.
pub fn bin_width(end: u64, max_bins: u64) -> u64 {
    let second = 1_000_000_000u64;
    let seconds = end.div_ceil(second).max(1);
    seconds.div_ceil(max_bins.max(1)).max(1) * second
}

/// Completions per bin of `width` ns, by type, from 0 to the history's end.
pub fn throughput(history: &History, width: u64) -> Vec<Bin> {
    let end = history.end_time();
    let mut bins = vec![Bin::default(); (end / width + 1) as usize];
    for op in &history.ops {
        let Some(t) = op.return_time else { continue };
        let bin = &mut bins[(t / width) as usize];
        match op.outcome {
            Outcome::Ok => bin.ok += 1,
            Outcome::Fail => bin.fail += 1,
            Outcome::Info => bin.info += 1,
        }
    }
    bins
}

/// One op on the latency plot.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyPoint {
    /// Position in `History::ops`.
    pub op: usize,
    /// Invocation time, ns.
    pub call: u64,
    /// Latency, ns.
    pub latency: u64,
    pub outcome: Outcome,
}

/// Latency points of completed ops; at most `cap` of them (every `fail`
/// and `info`, and an evenly spaced sample of the `ok` ops). Returns the
/// points and how many ops were left out.
pub fn latency_points(history: &History, cap: usize) -> (Vec<LatencyPoint>, usize) {
    let all: Vec<LatencyPoint> = history
        .ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            Some(LatencyPoint {
                op: i,
                call: op.call_time,
                latency: op.return_time?.saturating_sub(op.call_time),
                outcome: op.outcome,
            })
        })
        .collect();
    if all.len() <= cap {
        return (all, 0);
    }
    let others = all.iter().filter(|p| p.outcome != Outcome::Ok).count();
    let oks = all.len() - others;
    let room = cap.saturating_sub(others).max(1);
    let stride = oks.div_ceil(room);
    let mut seen_ok = 0usize;
    let kept: Vec<LatencyPoint> = all
        .iter()
        .filter(|p| {
            if p.outcome != Outcome::Ok {
                return true;
            }
            seen_ok += 1;
            (seen_ok - 1) % stride == 0
        })
        .cloned()
        .collect();
    let dropped = all.len() - kept.len();
    (kept, dropped)
}

/// Counts and latency percentiles of one function (`read`, `write`, ...).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FnStats {
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    /// Latency percentiles of `ok` ops in ms: p50, p95, p99, max.
    pub latency_ms: Option<[f64; 4]>,
}

/// Per-function counts and latencies, by function name.
pub fn fn_stats(history: &History) -> BTreeMap<String, FnStats> {
    let mut stats: BTreeMap<String, FnStats> = BTreeMap::new();
    let mut latencies: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for op in &history.ops {
        let s = stats.entry(op.f.clone()).or_default();
        match op.outcome {
            Outcome::Ok => s.ok += 1,
            Outcome::Fail => s.fail += 1,
            Outcome::Info => s.info += 1,
        }
        if let (Outcome::Ok, Some(r)) = (op.outcome, op.return_time) {
            latencies
                .entry(op.f.clone())
                .or_default()
                .push(r.saturating_sub(op.call_time));
        }
    }
    for (f, mut l) in latencies {
        l.sort_unstable();
        let pick = |q: f64| {
            let i = ((l.len() as f64 * q).ceil() as usize).clamp(1, l.len()) - 1;
            l[i] as f64 / 1e6
        };
        if let Some(s) = stats.get_mut(&f) {
            s.latency_ms = Some([pick(0.5), pick(0.95), pick(0.99), pick(1.0)]);
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use checker::{Event, EventKind, Process};

    use super::*;

    /// (process, f, outcome, call ms, return ms)
    pub(crate) fn history(ops: &[(u64, &str, EventKind, u64, u64)]) -> History {
        let mut timed: Vec<(u64, u64, EventKind, &str)> = Vec::new();
        for &(p, f, kind, call, ret) in ops {
            timed.push((call * 1_000_000, p, EventKind::Invoke, f));
            timed.push((ret * 1_000_000, p, kind, f));
        }
        timed.sort_by_key(|t| (t.0, t.2 != EventKind::Invoke));
        let events = timed
            .iter()
            .enumerate()
            .map(|(i, &(t, p, kind, f))| Event::new(i as u64, t, Process::Client(p), kind, f))
            .collect();
        History::from_events(events).unwrap()
    }

    #[test]
    fn completions_are_binned_by_type() {
        let h = history(&[
            (1, "read", EventKind::Ok, 100, 200),
            (2, "write", EventKind::Fail, 300, 1_200),
            (1, "read", EventKind::Ok, 900, 1_500),
            (3, "cas", EventKind::Info, 1_000, 2_100),
        ]);
        let bins = throughput(&h, bin_width(h.end_time(), 300));
        assert_eq!(
            bins,
            vec![
                Bin {
                    ok: 1,
                    fail: 0,
                    info: 0
                },
                Bin {
                    ok: 1,
                    fail: 1,
                    info: 0
                },
                Bin {
                    ok: 0,
                    fail: 0,
                    info: 1
                },
            ]
        );
        assert_eq!(bin_width(3_600_000_000_000, 300), 12_000_000_000);
    }

    #[test]
    fn sampling_keeps_failures_and_is_bounded() {
        let mut ops = Vec::new();
        for i in 0..1_000 {
            ops.push((i % 7, "read", EventKind::Ok, i * 10, i * 10 + 5));
        }
        ops.push((9, "write", EventKind::Info, 20, 30));
        let h = history(&ops);
        let (points, dropped) = latency_points(&h, 100);
        assert!(points.len() <= 100, "{}", points.len());
        assert_eq!(points.len() + dropped, 1_001);
        assert!(points.iter().any(|p| p.outcome == Outcome::Info));
        let (all, none) = latency_points(&h, 10_000);
        assert_eq!((all.len(), none), (1_001, 0));
    }

    #[test]
    fn percentiles_per_function() {
        let h = history(&[
            (1, "read", EventKind::Ok, 0, 1),
            (1, "read", EventKind::Ok, 2, 4),
            (1, "read", EventKind::Ok, 5, 15),
            (2, "write", EventKind::Fail, 0, 3),
        ]);
        let s = fn_stats(&h);
        assert_eq!(s["read"].ok, 3);
        assert_eq!(s["read"].latency_ms, Some([2.0, 10.0, 10.0, 10.0]));
        assert_eq!((s["write"].fail, s["write"].latency_ms), (1, None));
    }
}
