//! Clock and slow-network faults through plans: their rules, the refusal
//! of programs whose clock libfaketime cannot reach, and short runs whose
//! histories hold the faults and show their effect.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, SystemTime},
};

use checker::{History, Outcome, read_jsonl, stats::fault_windows};
use harness::plans::load_str;
use serde_json::Value;

use crate::support::{harness, run_expecting, skip, target_node, text, write_plan};

const HEAD: &str = "name: t\nworkload: { kind: register }\nduration: 30s\n";

/// (faults section, fragment the error must contain)
const MISTAKES: &[(&str, &str)] = &[
    (
        "  timeline:\n    - { at: 1s, fault: clock, target: n1, offset: -5s, rate: 2 }\n",
        "7:24: a clock fault needs exactly one of `offset`",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, target: n1 }\n",
        "exactly one of `offset`",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, rate: 1000 }\n",
        "a clock `rate` is from 0.01 to 100 times real speed, not 1000",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, offset: soon }\n",
        "`soon` is not a signed duration",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, offset: -30d }\n",
        "`offset` is longer than the longest the harness allows",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, strobe: { offset: 1s, period: 1ms } }\n",
        "a strobe `period` is from 10ms to 1h, not 1ms",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, strobe: { offset: 1s } }\n",
        "missing field `period`",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, target: leader, offset: 5s, for: 5s }\n    - { at: 3s, fault: clock, target: n2, rate: 2 }\n",
        "8:24: this clock fault overlaps the one at line 7",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: clock, offset: 5s, delay: 1s }\n",
        "`delay` does not apply to a clock fault",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: slow, target: n1 }\n",
        "a slow fault needs a `delay`",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: slow, delay: 2m }\n",
        "holds packets at most 1m",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: slow, delay: 1s, target: n1, links: [[n1, n2]] }\n",
        "either `target` (every link of those nodes) or `links`, not both",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: slow, delay: 1s, links: [[n1, n9]] }\n",
        "there is no node `n9` in a 3-node cluster",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: slow, delay: 1s, links: [[n2, n2]] }\n",
        "a link joins two nodes, not `n2` to itself",
    ),
    (
        "  timeline:\n    - { at: 1s, fault: slow, delay: 1s, rate: 2 }\n",
        "`rate` does not apply to a slow fault",
    ),
];

#[test]
fn clock_and_slow_mistakes_are_located() {
    for (faults, fragment) in MISTAKES {
        let text = format!("{HEAD}cluster: {{ nodes: 3 }}\nfaults:\n{faults}");
        match load_str(&text, "t.yaml") {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => {
                let message = e.render();
                assert!(
                    message.contains(fragment),
                    "{text}\n--- error ---\n{message}\n--- lacks ---\n{fragment}"
                );
            }
        }
    }
    // The same faults, written right, are accepted.
    let good = "  timeline:\n    - { at: 1s, fault: clock, target: n1, offset: -5s, for: 4s }\n    - { at: 2s, fault: clock, target: [n2, n3], strobe: { offset: 200ms, period: 50ms } }\n    - { at: 9s, fault: clock, target: leader, rate: 0.5 }\n    - { at: 1s, fault: slow, links: [[n1, n2]], delay: 100ms, jitter: 10ms, reorder: true }\n    - { at: 1s, fault: slow, target: minority, delay: 1s }\n";
    let text = format!("{HEAD}cluster: {{ nodes: 3 }}\nfaults:\n{good}");
    if let Err(e) = load_str(&text, "t.yaml") {
        panic!("{}", e.render());
    }
}

/// A plan with one clock fault, for `cluster`.
fn clock_plan(dir: &Path, name: &str, cluster: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\ncluster: {{ nodes: 3, {cluster} }}\nworkload: {{ kind: register }}\n\
         duration: 5s\nfaults:\n  timeline:\n    - {{ at: 1s, fault: clock, target: one, offset: -5s }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn validate(plan: &Path) -> (Option<i32>, String) {
    let out = Command::new(harness())
        .arg("validate")
        .arg(plan)
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr))
}

/// Statically linked and Go programs ignore libfaketime: a plan with clock
/// faults against one is refused, by `validate` when it can find the
/// program, and by `run` before any node starts otherwise.
#[test]
fn clock_faults_are_refused_for_programs_libfaketime_cannot_reach() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = Path::new("/sbin/ldconfig");
    assert!(
        fixed.is_file(),
        "Debian's statically linked /sbin/ldconfig is missing"
    );
    // `cluster.binary` of raft-kv, and the first word of a command's
    // start template.
    let start = "system: command, start: \"/sbin/ldconfig --id {id}\"";
    for (name, cluster) in [
        ("static-raft-kv", "binary: /sbin/ldconfig"),
        ("static-command", start),
    ] {
        let (code, stderr) = validate(&clock_plan(dir.path(), name, cluster));
        assert_eq!(code, Some(3), "{name}: {stderr}");
        assert!(
            stderr.contains("7:24: clock faults cannot run against this")
                && stderr.contains("`/sbin/ldconfig`: it is statically linked (no ELF interpreter), so LD_PRELOAD is ignored"),
            "{name}: {stderr}"
        );
    }
    if Path::new("/usr/bin/etcd").is_file() {
        let (code, stderr) = validate(&clock_plan(dir.path(), "etcd", "system: etcd"));
        assert_eq!(code, Some(3), "{stderr}");
        assert!(
            stderr.contains("clock faults cannot run against this `system: etcd`")
                && stderr.contains("it is a Go program"),
            "{stderr}"
        );
    } else {
        eprintln!("SKIPPED the etcd part: /usr/bin/etcd is not installed");
    }

    // target-node (beside the harness) is dynamically linked Rust: fine.
    target_node();
    let (code, stderr) = validate(&clock_plan(dir.path(), "ok", "system: raft-kv"));
    assert_eq!(code, Some(0), "{stderr}");

    // `validate` cannot know --node-binary; `run` refuses before any node
    // starts.
    let plan = clock_plan(dir.path(), "static-at-run", "system: raft-kv");
    let out = Command::new(harness())
        .arg("run")
        .arg(&plan)
        .arg("--runs-dir")
        .arg(dir.path().join("runs"))
        .arg("--node-binary")
        .arg(fixed)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot set up clock faults: cannot fake the clock of `/sbin/ldconfig`: it is statically linked"),
        "{stderr}"
    );
    assert!(!stderr.contains("cluster of 3 up"), "{stderr}");
}

/// libfaketime is needed for live clock faults; without it the test
/// skips, unless HARNESS_REQUIRE_PRIVILEGES=1.
fn skipped_without_libfaketime(test: &str) -> bool {
    let Err(e) = faults::clock::locate_libfaketime() else {
        return false;
    };
    skip(test, &e.to_string());
    true
}

/// Runs `plan`, expecting a valid verdict; the run's directory, or `None`
/// if the test skipped for lack of a namespace.
fn run_valid(plan: &Path, runs: &Path, test: &str) -> Option<PathBuf> {
    run_expecting(plan, runs, 0, test)?;
    Some(std::fs::canonicalize(runs.join("latest")).unwrap())
}

fn history(run: &Path) -> History {
    read_jsonl(run.join("history.jsonl")).unwrap().0
}

/// The seconds since the epoch of a node log line (`n1 2026-...Z  INFO`).
fn log_time(line: &str) -> Option<SystemTime> {
    let stamp = line.split_whitespace().nth(1)?;
    humantime::parse_rfc3339_weak(stamp.trim_end_matches('Z')).ok()
}

/// Each clock change of a plan happens and ends, as history events with
/// ids unique in the run; the node whose clock jumped an hour back logs
/// with its clock an hour behind; and target-node stays valid.
#[test]
fn clock_faults_happen_through_a_plan() {
    let test = "clock_faults_happen_through_a_plan";
    if skipped_without_libfaketime(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "clock-e2e",
        "cluster: { nodes: 3 }\n\
         workload: { kind: register, keys: 3, ops-per-key: 200, concurrency: 6, rate: 100, mix: { read: 2, write: 1 }, timeout: 1s }\n\
         duration: 9s\n\
         faults:\n  timeline:\n\
         \x20   - { at: 1s, fault: clock, target: leader, offset: -1h, for: 2s }\n\
         \x20   - { at: 3s 500ms, fault: clock, target: n2, rate: 2, for: 2s }\n\
         \x20   - { at: 6s, fault: clock, target: n3, strobe: { offset: 300ms, period: 50ms }, for: 2s }\n\
         final: { settle: 1s }\n",
    );
    let started = SystemTime::now();
    let Some(run) = run_valid(&plan, &dir.path().join("runs"), test) else {
        return;
    };
    let history = history(&run);
    let clocks: Vec<_> = fault_windows(&history)
        .into_iter()
        .filter(|w| w.fault == "clock")
        .collect();
    let changes: Vec<String> = clocks
        .iter()
        .map(|w| {
            let change = w.detail["change"].as_object().expect("a clock change");
            change.keys().next().cloned().unwrap_or_default()
        })
        .collect();
    assert_eq!(changes, ["offset", "rate", "strobe"], "{clocks:#?}");
    for w in &clocks {
        assert!(w.stop.is_some(), "every clock fault ends: {w:?}");
        assert_eq!(w.nodes.len(), 1, "{w:?}");
    }
    assert_eq!(clocks[1].nodes, ["n2"]);
    assert_eq!(clocks[2].detail["change"]["strobe"]["period_ms"], 50);
    // One id sequence for the run: no two faults share an id.
    let starts: Vec<u64> = history
        .nemesis_events()
        .filter(|e| e.f.starts_with("start-"))
        .map(|e| e.value["id"].as_u64().expect("an id"))
        .collect();
    let distinct: BTreeSet<u64> = starts.iter().copied().collect();
    assert_eq!(distinct.len(), starts.len(), "ids repeat: {starts:?}");

    // The effect: the leader's clock ran an hour behind, and it says so in
    // its own log lines (timestamped by its clock).
    let jumped = &clocks[0].nodes[0];
    let log = std::fs::read_to_string(run.join("nodes").join(format!("{jumped}.log"))).unwrap();
    let hour_ago = started - Duration::from_secs(50 * 60);
    let behind = log
        .lines()
        .filter(|l| log_time(l).is_some_and(|t| t < hour_ago))
        .count();
    assert!(
        behind > 0,
        "{jumped} logged nothing with its clock an hour behind:\n{log}"
    );
}

/// A slow window delays every operation inside it by at least one round
/// trip over slowed links; a partition inside the window neither ends it
/// nor is ended by it; target-node stays valid. (openraft times its RPCs
/// out after one heartbeat interval, so the nodes get a heartbeat longer
/// than the slowed round trip, or they could not commit at all.)
#[test]
fn slow_faults_happen_through_a_plan() {
    let test = "slow_faults_happen_through_a_plan";
    let dir = tempfile::tempdir().unwrap();
    let delay = Duration::from_millis(100);
    let plan = write_plan(
        dir.path(),
        "slow-e2e",
        "cluster: { nodes: 3, args: [\"--heartbeat-ms\", \"300\", \"--election-timeout-min-ms\", \"1000\", \"--election-timeout-max-ms\", \"2000\"] }\n\
         workload: { kind: register, keys: 3, ops-per-key: 300, concurrency: 4, rate: 60, mix: { read: 1, write: 1 }, timeout: 3s }\n\
         duration: 10s\n\
         faults:\n  timeline:\n\
         \x20   - { at: 2s, fault: slow, target: all, delay: 100ms, for: 6s }\n\
         \x20   - { at: 4s, fault: partition, shape: isolate-one, for: 1s }\n\
         final: { settle: 1s }\n",
    );
    let Some(run) = run_valid(&plan, &dir.path().join("runs"), test) else {
        return;
    };
    let history = history(&run);
    let windows = fault_windows(&history);
    let window = |kind: &str| {
        let w = windows.iter().find(|w| w.fault == kind);
        let w = w.unwrap_or_else(|| panic!("no {kind} window: {windows:#?}"));
        (w.start, w.stop.expect("it ends"))
    };
    let (slow_start, slow_stop) = window("slow");
    let (cut_start, cut_stop) = window("partition");
    assert!(
        slow_start < cut_start && cut_stop < slow_stop,
        "the partition lies inside the slow window"
    );
    assert!(
        slow_stop - cut_stop > Duration::from_secs(2).as_nanos() as u64,
        "the end of the partition did not end the slow window"
    );
    let slow = windows.iter().find(|w| w.fault == "slow").unwrap();
    assert_eq!(slow.detail["delay_ms"], Value::from(100.0));

    // Every operation inside the window crossed slowed links twice
    // (request and answer between the leader and a follower).
    let latency = |o: &checker::Op| o.return_time.unwrap() - o.call_time;
    let ok = history
        .ops
        .iter()
        .filter(|o| o.outcome == Outcome::Ok && o.return_time.is_some());
    // The window's stop event is recorded once the links are restored,
    // and restoring them releases the packets held back: ops that end
    // just before it may have been released early, so leave them out.
    let teardown = Duration::from_millis(500).as_nanos() as u64;
    let (inside, before): (Vec<_>, Vec<_>) = ok
        .filter(|o| o.return_time.unwrap() + teardown < slow_stop)
        .filter(|o| o.call_time >= slow_start || o.return_time.unwrap() < slow_start)
        .partition(|o| o.call_time >= slow_start);
    let latencies_ms: Vec<u64> = inside.iter().map(|o| latency(o) / 1_000_000).collect();
    // Ops inside take 200-800 ms and the cut-off node fails its own, so
    // a run sees 13-25 of them: enough to show the floor.
    assert!(
        inside.len() >= 8,
        "{} ops inside: {latencies_ms:?}",
        inside.len()
    );
    let floor = (2 * delay - Duration::from_millis(5)).as_nanos() as u64;
    let fastest = inside.iter().min_by_key(|o| latency(o)).unwrap();
    assert!(
        latency(fastest) >= floor,
        "an op inside the slow window ({slow_start}..{slow_stop}, partition \
         {cut_start}..{cut_stop}) took only {} ms: {fastest:?}",
        latency(fastest) / 1_000_000
    );
    let mut quick: Vec<u64> = before.iter().map(|o| latency(o)).collect();
    quick.sort_unstable();
    assert!(!quick.is_empty(), "no op before the slow window");
    let median = quick[quick.len() / 2];
    assert!(
        median < delay.as_nanos() as u64,
        "before the slow window the median op took {} ms",
        median / 1_000_000
    );
}
