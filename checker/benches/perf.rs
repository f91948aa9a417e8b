//! The performance scenarios, run once each with wall-clock times
//! (a bench binary rather than criterion: the 1M-op case takes seconds).
//!
//! `cargo bench -p checker --bench perf [-- SCENARIO...]` where SCENARIO is
//! `big` (1,000,000 ops, 1,000 keys, 20 processes, 5% info), `key`
//! (one key, 5,000 ops, 10 processes, 2% info), `stale` (the same with one
//! injected stale read), `jsonl` (write + read the big history as JSONL),
//! `stateright` (the stateright-Model engine on smaller single keys, for
//! the engine comparison), `scale` (one key, 5k to 40k ops), `big-engines`
//! (the `big` history through the version order and the search, alternating). No argument runs `big key stale`.
//!
//! Hot keys (issue 15): `hotkey` (the measured run's shape: one key,
//! 24,387 ops, 30 processes, ~540 info in fault bursts), `hotkey-stale`
//! (the same with an injected stale read), `hotkey-wgl` (the search alone on
//! it, 30 s budget), `million` (one key, 1,000,000 ops, 50 processes, 2%
//! info), `million-stale`, `crafted` (1,000 concurrent info writes and
//! 1,000 concurrent reads on one key, then on 4 keys) and `crafted-wgl`
//! (the search alone on those, 10 s budget), `crafted-budget` (the same
//! with a 60 s time budget and a 64 MiB memory budget).
//! Peak memory: run the built binary under `/usr/bin/time -v`, one
//! scenario at a time.

use std::{
    io::{BufWriter, Write},
    time::{Duration, Instant},
};

use checker::{
    History, LinOptions, LinearizabilityReport, Model, Verdict,
    generate::{RegisterWorkload, concurrent_info_writes, register_with_stale_read},
    linearizable::{
        self,
        prepare::{KeyInput, ops_by_key, prepare_key},
        stateright_model::check_with_stateright,
        wgl::search,
    },
    read_jsonl,
};

fn options() -> LinOptions {
    LinOptions {
        time_budget: Duration::from_secs(60),
        threads: 0,
        total_budget: None,
        ..LinOptions::default()
    }
}

/// CPU time (user + system, all threads) this process has used, from
/// `/proc/self/stat`; less sensitive to other load than wall time.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of those, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

fn big() -> RegisterWorkload {
    RegisterWorkload {
        seed: 1,
        ops: 1_000_000,
        keys: 1_000,
        processes: 20,
        info_rate: 0.05,
        ..Default::default()
    }
}

fn one_key(ops: usize) -> RegisterWorkload {
    RegisterWorkload {
        seed: 2,
        ops,
        keys: 1,
        processes: 10,
        info_rate: 0.02,
        ..Default::default()
    }
}

fn million() -> RegisterWorkload {
    RegisterWorkload {
        seed: 4,
        ops: 1_000_000,
        keys: 1,
        processes: 50,
        info_rate: 0.02,
        ..Default::default()
    }
}

/// Checks `h`, prints one line, returns the report.
fn run(name: &str, h: &History, options: &LinOptions) -> LinearizabilityReport {
    let t = Instant::now();
    let r = linearizable::check(h, Model::register(), options);
    let elapsed = t.elapsed();
    let info = h
        .ops
        .iter()
        .filter(|o| o.outcome == checker::Outcome::Info)
        .count();
    let engines: std::collections::BTreeMap<String, usize> =
        r.keys.values().fold(Default::default(), |mut m, k| {
            *m.entry(k.engine.to_string()).or_default() += 1;
            m
        });
    let explored: u64 = r.keys.values().map(|k| k.explored).sum();
    let reason = r
        .keys
        .values()
        .find_map(|k| k.reason.clone())
        .unwrap_or_default();
    println!(
        "{name}: {} ops ({info} info), {} key(s): check {elapsed:.2?} -> {} (engines {engines:?}, explored {explored}) {reason}",
        h.ops.len(),
        r.keys.len(),
        r.verdict,
    );
    r
}

fn wgl_only(budget: Duration) -> LinOptions {
    LinOptions {
        time_budget: budget,
        version_order: false,
        ..options()
    }
}

fn hot_keys(want: &dyn Fn(&str) -> bool) {
    if want("hotkey") {
        let r = run(
            "hotkey",
            &RegisterWorkload::hot_key(15).history(),
            &options(),
        );
        assert_eq!(r.verdict, Verdict::Valid);
    }
    if want("hotkey-stale") {
        let (h, read) = register_with_stale_read(&RegisterWorkload::hot_key(15)).expect("pairs");
        let r = run("hotkey-stale", &h, &options());
        let cex = r.keys["k0"]
            .counterexample
            .as_ref()
            .map(|c| (c.op.op, c.prefix.len()));
        println!("  stale read = op {read}; blocked op and prefix {cex:?}");
        assert_eq!(r.verdict, Verdict::Invalid);
    }
    if want("hotkey-wgl") {
        run(
            "hotkey-wgl",
            &RegisterWorkload::hot_key(15).history(),
            &wgl_only(Duration::from_secs(30)),
        );
    }
    if want("million") {
        let t = Instant::now();
        let h = million().history();
        println!("million: generated in {:.2?}", t.elapsed());
        let r = run("million", &h, &options());
        assert_eq!(r.verdict, Verdict::Valid);
    }
    if want("million-stale") {
        let (h, read) = register_with_stale_read(&million()).expect("pairs");
        let r = run("million-stale", &h, &options());
        let cex = r.keys["k0"]
            .counterexample
            .as_ref()
            .map(|c| (c.op.op, c.prefix.len()));
        println!("  stale read = op {read}; blocked op and prefix {cex:?}");
        assert_eq!(r.verdict, Verdict::Invalid);
    }
    for (scenario, options) in [
        ("crafted", options()),
        ("crafted-wgl", wgl_only(Duration::from_secs(10))),
        (
            "crafted-budget",
            LinOptions {
                memory_budget: 64 << 20,
                ..wgl_only(Duration::from_secs(60))
            },
        ),
    ] {
        if want(scenario) {
            for (keys, stale_tail) in [(1, false), (1, true), (4, true)] {
                let h = concurrent_info_writes(5, keys, 1_000, 1_000, stale_tail);
                run(
                    &format!("{scenario} ({keys} keys, stale tail {stale_tail})"),
                    &h,
                    &options,
                );
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = args.is_empty();
    let want = |s: &str| all && ["big", "key", "stale"].contains(&s) || args.iter().any(|a| a == s);
    hot_keys(&want);

    if want("big") {
        let t = Instant::now();
        let h = big().history();
        let generated = t.elapsed();
        let (t, cpu) = (Instant::now(), cpu_time());
        let r = linearizable::check(&h, Model::register(), &options());
        let (check, cpu) = (t.elapsed(), cpu_time() - cpu);
        let explored: u64 = r.keys.values().map(|k| k.explored).sum();
        println!(
            "big: {} ops, {} keys: generate {generated:.2?}, check {check:.2?} (cpu {cpu:.2?}) -> {} (explored {explored})",
            h.ops.len(),
            r.keys.len(),
            r.verdict
        );
        assert_eq!(r.verdict, Verdict::Valid);
    }
    if want("big-engines") {
        // The same 1M-op, 1,000-key history through each engine in turn,
        // alternating, so both see the same machine load.
        let h = big().history();
        for round in 1..=4 {
            for (name, version_order) in [("version order", true), ("search", false)] {
                let o = LinOptions {
                    version_order,
                    ..options()
                };
                let t = Instant::now();
                let r = linearizable::check(&h, Model::register(), &o);
                println!(
                    "big-engines round {round}: {name}: check {:.2?} -> {}",
                    t.elapsed(),
                    r.verdict
                );
            }
        }
    }
    if want("key") {
        let h = one_key(5_000).history();
        let t = Instant::now();
        let r = linearizable::check(&h, Model::register(), &options());
        println!(
            "key: 5000 ops, 10 processes, 2% info: check {:.2?} -> {} (explored {})",
            t.elapsed(),
            r.verdict,
            r.keys["k0"].explored
        );
        assert_eq!(r.verdict, Verdict::Valid);
    }
    if want("stale") {
        let (h, read) = register_with_stale_read(&one_key(5_000)).expect("pairs");
        let t = Instant::now();
        let r = linearizable::check(&h, Model::register(), &options());
        let k = &r.keys["k0"];
        let cex = k.counterexample.as_ref().map(|c| (c.op.op, c.prefix.len()));
        println!(
            "stale: 5000 ops, stale read = op {read}: check {:.2?} -> {} (explored {}, blocked op and prefix {cex:?})",
            t.elapsed(),
            r.verdict,
            k.explored
        );
        assert_eq!(r.verdict, Verdict::Invalid);
    }
    if want("jsonl") {
        let h = big().history();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.jsonl");
        let t = Instant::now();
        let mut w = BufWriter::new(std::fs::File::create(&path).expect("create"));
        for e in &h.events {
            serde_json::to_writer(&mut w, e).expect("write");
            w.write_all(b"\n").expect("write");
        }
        w.flush().expect("flush");
        let write = t.elapsed();
        drop(h);
        let t = Instant::now();
        let (h, _) = read_jsonl(&path).expect("reads");
        let read = t.elapsed();
        let t = Instant::now();
        let r = linearizable::check(&h, Model::register(), &options());
        println!(
            "jsonl: {} events: write {write:.2?}, read+pair {read:.2?}, check {:.2?} -> {}",
            h.events.len(),
            t.elapsed(),
            r.verdict
        );
    }
    if want("scale") {
        for ops in [5_000, 10_000, 20_000, 40_000] {
            let h = one_key(ops).history();
            let t = Instant::now();
            let r = linearizable::check(&h, Model::register(), &options());
            println!(
                "scale: one key {ops} ops: check {:.2?} -> {} (explored {})",
                t.elapsed(),
                r.verdict,
                r.keys["k0"].explored
            );
        }
    }
    if want("stateright") {
        for (ops, stale) in [
            (100, false),
            (800, false),
            (5_000, false),
            (1_000, true),
            (5_000, true),
        ] {
            let h = if stale {
                register_with_stale_read(&one_key(ops)).expect("pairs").0
            } else {
                one_key(ops).history()
            };
            let ids = &ops_by_key(&h)["k0"];
            let KeyInput::Register {
                init, ops: key_ops, ..
            } = prepare_key(&h, &Model::register(), ids)
            else {
                unreachable!("register")
            };
            let t = Instant::now();
            let ours = search(&init, &key_ops, None);
            let wgl = t.elapsed();
            let t = Instant::now();
            let theirs = check_with_stateright(init, key_ops, 50_000_000);
            println!(
                "engines, one key, {ops} ops, stale read {stale}: wgl {wgl:.2?} (linearizable: {}), stateright dfs {:.2?} ({theirs:?})",
                matches!(ours, linearizable::SearchResult::Linearizable { .. }),
                t.elapsed()
            );
        }
    }
}
