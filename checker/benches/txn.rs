//! The transactional checker's performance scenarios, run once each with
//! wall-clock times (a bench binary rather than criterion: the
//! million-transaction case takes seconds).
//!
//! `cargo bench -p checker --bench txn [-- SCENARIO...]`:
//! - `big`: 1,000,000 list-append transactions of 4 micro-ops, 10
//!   processes, 2% info, 2% fail, checked as strict-serializable from the
//!   compact form (a JSON `History` of that size does not fit the memory
//!   target; see `json`);
//! - `register`: the same for rw-register;
//! - `g2`: 100,000 transactions with one injected G2-item, from JSON;
//! - `json`: 100,000 transactions from a JSON `History` (conversion + check);
//! - `buggy`: 100,000 transactions where 5% of committed reads lost their
//!   last element (stale or intermediate reads): thousands of cycles to
//!   find and explain.
//!
//! Each scenario prints a baseline measured in the same run: one pass over
//! every micro-op of the compact history (what any checker must at least
//! do) and the check time as a multiple of it. No argument runs `big g2`.
//! Peak memory: run the built binary under `/usr/bin/time -v`. The machine
//! may be shared, so CPU time (user + system, from `/proc/self/stat`) is
//! printed next to wall-clock time.

use std::{hint::black_box, time::Instant};

use checker::{EventKind, History};
use serde_json::Value;

use checker::{
    Verdict,
    txn::{self, AnomalyType, TxnHistory, TxnOptions, TxnWorkload, generate::TxnGen},
};

fn generator(workload: TxnWorkload, txns: usize, inject: Option<AnomalyType>) -> TxnGen {
    TxnGen {
        seed: 1,
        workload,
        txns,
        processes: 10,
        active_keys: 10,
        min_mops: 4,
        max_mops: 4,
        max_writes_per_key: 32,
        info_rate: 0.02,
        fail_rate: 0.02,
        inject,
        ..TxnGen::default()
    }
}

/// CPU seconds (user + system) this process has used, on Linux.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces): utime is
    // the 12th, stime the 13th, in clock ticks (100 per second).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split(' ')
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<u64>() as f64 / 100.0
}

/// One pass over every micro-op (and read element) of the history: the
/// fastest of three, warm.
fn baseline(h: &TxnHistory) -> (f64, u64) {
    let mut best = (f64::MAX, 0);
    for _ in 0..3 {
        let pass = baseline_pass(h);
        if pass.0 < best.0 {
            best = pass;
        }
    }
    best
}

fn baseline_pass(h: &TxnHistory) -> (f64, u64) {
    let t = Instant::now();
    let mut sum = 0u64;
    for txn in h.txns() {
        for mop in h.mops(txn) {
            sum = sum.wrapping_add(u64::from(mop.key) ^ u64::from(mop.value));
            for &e in h.read_elements(mop) {
                sum = sum.wrapping_add(u64::from(e));
            }
        }
    }
    (t.elapsed().as_secs_f64(), black_box(sum))
}

fn compact(name: &str, workload: TxnWorkload, txns: usize) {
    let t = Instant::now();
    let h = generator(workload, txns, None).txn_history();
    let generated = t.elapsed().as_secs_f64();
    let (base, _) = baseline(&h);
    let (t, c) = (Instant::now(), cpu());
    let r = txn::check_txns(&h, &TxnOptions::default());
    let (check, check_cpu) = (t.elapsed().as_secs_f64(), cpu() - c);
    assert_eq!(r.verdict, Verdict::Valid, "{}", r.summary());
    println!(
        "{name}: {} txns, {} micro-ops: generate {generated:.2}s, baseline pass {:.3}s, check {check:.2}s wall / {check_cpu:.2}s cpu ({:.0} txn/s by cpu, {:.0}x baseline); graph {} nodes {} edges (rt {})",
        h.txns().len(),
        h.txns().iter().map(|t| t.mop_range().len()).sum::<usize>(),
        base,
        h.txns().len() as f64 / check_cpu,
        check / base,
        r.graph.nodes,
        r.graph.edges,
        r.graph.realtime,
    );
}

fn from_json(name: &str, txns: usize, inject: Option<AnomalyType>) {
    let g = generator(TxnWorkload::ListAppend, txns, inject);
    let t = Instant::now();
    let h = g.history().expect("pairs");
    let generated = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let compact = TxnHistory::from_history(&h, TxnWorkload::ListAppend);
    let convert = t.elapsed().as_secs_f64();
    let (base, _) = baseline(&compact);
    drop(compact);
    let (t, c) = (Instant::now(), cpu());
    let r = txn::check(&h, &TxnOptions::default());
    let (check, check_cpu) = (t.elapsed().as_secs_f64(), cpu() - c);
    match inject {
        Some(kind) => assert!(r.anomaly_types.contains(&kind), "{}", r.summary()),
        None => assert_eq!(r.verdict, Verdict::Valid, "{}", r.summary()),
    }
    println!(
        "{name}: {} txns from JSON: generate {generated:.2}s, convert {convert:.2}s, baseline pass {base:.3}s, check (incl. convert) {check:.2}s wall / {check_cpu:.2}s cpu ({:.0}x baseline) -> {}",
        h.ops.len(),
        check / base,
        r.summary()
    );
}

/// Drops the last element of about `share` of the committed list reads.
fn make_buggy(events: &mut [checker::Event], share: f64) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for e in events.iter_mut().filter(|e| e.kind == EventKind::Ok) {
        let Value::Array(mops) = &mut e.value else {
            continue;
        };
        for mop in mops {
            let Value::Array(parts) = mop else { continue };
            if parts.first().and_then(Value::as_str) != Some("r") {
                continue;
            }
            let Some(Value::Array(list)) = parts.get_mut(2) else {
                continue;
            };
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (x % 10_000) as f64 / 10_000.0 < share {
                list.pop();
            }
        }
    }
}

fn buggy() {
    let mut events = generator(TxnWorkload::ListAppend, 100_000, None).events();
    make_buggy(&mut events, 0.05);
    let h = History::from_events(events).expect("pairs");
    let (t, c) = (Instant::now(), cpu());
    let r = txn::check(&h, &TxnOptions::default());
    let (check, check_cpu) = (t.elapsed().as_secs_f64(), cpu() - c);
    assert_eq!(r.verdict, Verdict::Invalid);
    println!(
        "buggy: {} txns: check {check:.2}s wall / {check_cpu:.2}s cpu, {} cyclic components (largest {}) -> {}",
        h.ops.len(),
        r.graph.cyclic_components,
        r.graph.largest_component,
        r.summary()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |s: &str| {
        if args.is_empty() {
            ["big", "g2"].contains(&s)
        } else {
            args.iter().any(|a| a == s)
        }
    };
    if want("big") {
        compact("big", TxnWorkload::ListAppend, 1_000_000);
    }
    if want("register") {
        compact("register", TxnWorkload::RwRegister, 1_000_000);
    }
    if want("g2") {
        from_json("g2", 100_000, Some(AnomalyType::G2Item));
    }
    if want("json") {
        from_json("json", 100_000, None);
    }
    if want("buggy") {
        buggy();
    }
}
