//! Short plans against real clusters: correct systems (target-node, etcd,
//! target-node through `system: command`) give `valid`; dirty reads under
//! partitions give `invalid` with a counterexample naming the stale read.

use std::path::{Path, PathBuf};

use crate::support::{
    linearizable_keys, read_results, read_run_file, run_expecting, run_plan, skip, stale_reads,
    target_node, text,
};

const KILL_PAUSE_PARTITION: &str = "  every: 2s\n  pick:\n    - { fault: kill, target: leader, restart-after: 1s }\n    - { fault: pause, target: one, for: 2s }\n    - { fault: partition, shape: isolate-leader, for: 2s }";
const ISOLATE_ONE: &str =
    "  every: 1s\n  pick:\n    - { fault: partition, shape: isolate-one, for: 3s }";
/// Every fault kind once, at fixed times.
const FAULT_TIMELINE: &str = "  timeline:\n    - { at: 2s, fault: kill, target: leader, restart-after: 1s }\n    - { at: 4s, fault: pause, target: one, for: 2s }\n    - { at: 7s, fault: partition, shape: isolate-one, for: 2s }";
const CORRECT_MIX: &str = "{ read: 2, write: 1, cas: 1 }";
const READ_HEAVY_MIX: &str = "{ read: 3, write: 1, cas: 1 }";
const DIRTY_READS: &str = "\"--read-mode\", \"local\"";

/// A 10 s register plan; `cluster` adds cluster fields (e.g. a system).
fn write_plan(
    dir: &Path,
    name: &str,
    cluster: &str,
    args: &str,
    mix: &str,
    faults: &str,
) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\n\
         cluster: {{ nodes: 3, {cluster} args: [{args}] }}\n\
         workload: {{ kind: register, keys: 3, ops-per-key: 120, concurrency: 6, rate: 120, mix: {mix}, timeout: 1s }}\n\
         duration: 10s\n\
         faults:\n{faults}\n\
         final: {{ settle: 1s }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Runs `plan` and checks its exit code and verdict line; `None` when the
/// test skipped for lack of privileges.
fn run_checked(plan: &Path, runs: &Path, code: i32, test: &str) -> Option<(String, String)> {
    let (stdout, stderr) = run_expecting(plan, runs, code, test)?;
    let verdict = if code == 0 {
        "verdict: VALID"
    } else {
        "verdict: INVALID"
    };
    assert!(stdout.contains(verdict), "{stdout}");
    Some((stdout, stderr))
}

/// A plan whose nodes cannot start: they are given a flag they refuse.
fn write_bad_flag_plan(dir: &Path) -> PathBuf {
    let plan = dir.join("bad-flag.yaml");
    std::fs::write(
        &plan,
        "name: bad-flag\ncluster: { args: [\"--no-such-flag\"] }\nworkload: { kind: register }\nduration: 5s\n",
    )
    .unwrap();
    plan
}

#[test]
fn correct_node_under_faults_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = write_plan(
        dir.path(),
        "e2e-valid",
        "",
        "",
        CORRECT_MIX,
        KILL_PAUSE_PARTITION,
    );
    let Some((_, stderr)) = run_checked(&plan, &runs, 0, "correct_node_under_faults_is_valid")
    else {
        return;
    };
    let results = read_results(&runs.join("latest"));
    assert_eq!(results["verdict"], "valid");
    let history = read_run_file(&runs.join("latest"), "history.jsonl");
    assert!(
        history.contains("\"start-"),
        "the schedule injected faults:\n{stderr}"
    );
    assert!(history.lines().count() > 500, "clients did work");
}

#[test]
fn dirty_reads_under_partitions_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = write_plan(
        dir.path(),
        "e2e-dirty",
        "",
        DIRTY_READS,
        READ_HEAVY_MIX,
        ISOLATE_ONE,
    );
    if run_checked(&plan, &runs, 1, "dirty_reads_under_partitions_are_invalid").is_none() {
        return;
    }
    let results = read_results(&runs.join("latest"));
    let keys = linearizable_keys(&results);
    assert!(
        stale_reads(keys) > 0,
        "some counterexample names a stale read (a read whose value is not the state): {keys:?}"
    );
}

/// target-node started through `system: command` (in per-node network
/// namespaces, the default for commands) gives the verdicts it gives
/// through `raft-kv`.
#[test]
fn command_system_gives_the_same_verdicts_as_raft_kv() {
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "system: command, start: \"{} --id {{id}} --listen {{ip}}:{{port}} --data-dir {{data_dir}} {{peer_args:--peer {{id}}={{ip}}:{{port}}}}\", env: {{ TARGET_NODE_CLUSTER_SECRET: \"{{secret}}\" }},",
        target_node().display()
    );
    // The same two plans as the raft-kv tests above, through `command`.
    let correct = write_plan(
        dir.path(),
        "cmd-valid",
        &command,
        "",
        CORRECT_MIX,
        KILL_PAUSE_PARTITION,
    );
    let dirty = write_plan(
        dir.path(),
        "cmd-dirty",
        &command,
        DIRTY_READS,
        READ_HEAVY_MIX,
        ISOLATE_ONE,
    );
    for (plan, code) in [(correct, 0), (dirty, 1)] {
        let test = "command_system_gives_the_same_verdicts_as_raft_kv";
        if run_checked(&plan, &dir.path().join("runs"), code, test).is_none() {
            return;
        }
    }
}

/// etcd, which the world trusts, must come out valid under the same kind
/// of faults (a false alarm here is a bug in the harness or the checker).
#[test]
fn etcd_under_faults_is_valid() {
    let test = "etcd_under_faults_is_valid";
    if !Path::new("/usr/bin/etcd").is_file() {
        let reason = "/usr/bin/etcd is missing (apt-get install etcd-server)";
        skip(test, reason);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = write_plan(
        dir.path(),
        "e2e-etcd",
        "system: etcd,",
        "",
        CORRECT_MIX,
        FAULT_TIMELINE,
    );
    let Some((_, stderr)) = run_checked(&plan, &runs, 0, test) else {
        return;
    };
    let history = read_run_file(&runs.join("latest"), "history.jsonl");
    for fault in ["start-kill", "start-pause", "start-partition"] {
        assert!(history.contains(fault), "{fault} was injected:\n{stderr}");
    }
}

/// A node that cannot start fails the run at once, with its log.
#[test]
fn node_that_dies_at_startup_fails_the_run_fast() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_bad_flag_plan(dir.path());
    let started = std::time::Instant::now();
    let output = run_plan(&plan, &dir.path().join("runs"), &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("while the cluster was starting"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unexpected argument '--no-such-flag'"),
        "the node's log tail:\n{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "did not wait for the 30 s startup timeout"
    );
}

/// A run that fails before it starts still shows, in the `--repeat`
/// table, the seed that replays it (it used to show 0).
#[test]
fn failed_runs_show_their_seed_in_the_repeat_table() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_bad_flag_plan(dir.path());
    let output = run_plan(&plan, &dir.path().join("runs"), &["--repeat", "2"]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("1 ") || l.starts_with("2 "))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for row in rows {
        let seed: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert_ne!(seed, 0, "{row}");
        assert!(row.contains("error"), "{row}");
        assert!(
            stderr.contains(&format!("run failed (seed {seed})")),
            "the error names the seed:\n{stderr}"
        );
    }
}
