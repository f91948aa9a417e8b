//! Short plans against real clusters: the correct node gives `valid`;
//! dirty reads under partitions give `invalid` with a counterexample.

use std::path::Path;

use serde_json::Value;

use crate::support::{run_plan, skipped_for_privileges, text};

fn write_plan(dir: &Path, name: &str, args: &str, mix: &str, faults: &str) -> std::path::PathBuf {
    write_plan_for(dir, name, "", args, mix, faults)
}

/// A 10 s register plan; `system` adds cluster fields (e.g. a command).
fn write_plan_for(
    dir: &Path,
    name: &str,
    system: &str,
    args: &str,
    mix: &str,
    faults: &str,
) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\n\
         cluster: {{ nodes: 3, {system} args: [{args}] }}\n\
         workload: {{ kind: register, keys: 3, ops-per-key: 120, concurrency: 6, rate: 120, mix: {mix}, timeout: 1s }}\n\
         duration: 10s\n\
         faults:\n{faults}\n\
         final: {{ settle: 1s }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn results_of(runs: &Path, name: &str) -> Value {
    let latest = runs.join("latest").join("results.json");
    let bytes = std::fs::read(&latest).unwrap_or_else(|e| panic!("{name}: no results.json: {e}"));
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn correct_node_under_faults_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let faults = "  every: 2s\n  pick:\n    - { fault: kill, target: leader, restart-after: 1s }\n    - { fault: pause, target: one, for: 2s }\n    - { fault: partition, shape: isolate-leader, for: 2s }";
    let plan = write_plan(
        dir.path(),
        "e2e-valid",
        "",
        "{ read: 2, write: 1, cas: 1 }",
        faults,
    );
    let output = run_plan(&plan, &dir.path().join("runs"), &[]);
    if skipped_for_privileges(&output, "correct_node_under_faults_is_valid") {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("verdict: VALID"), "{stdout}");
    let results = results_of(&dir.path().join("runs"), "e2e-valid");
    assert_eq!(results["verdict"], "valid");
    let history = std::fs::read_to_string(dir.path().join("runs/latest/history.jsonl")).unwrap();
    assert!(
        history.contains("\"start-"),
        "the schedule injected faults:\n{stderr}"
    );
    assert!(history.lines().count() > 500, "clients did work");
}

#[test]
fn dirty_reads_under_partitions_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let faults = "  every: 1s\n  pick:\n    - { fault: partition, shape: isolate-one, for: 3s }";
    let plan = write_plan(
        dir.path(),
        "e2e-dirty",
        "\"--read-mode\", \"local\"",
        "{ read: 3, write: 1, cas: 1 }",
        faults,
    );
    let output = run_plan(&plan, &dir.path().join("runs"), &[]);
    if skipped_for_privileges(&output, "dirty_reads_under_partitions_are_invalid") {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("verdict: INVALID"), "{stdout}");
    let results = results_of(&dir.path().join("runs"), "e2e-dirty");
    let keys = results["checkers"]["linearizable"]["details"]["keys"]
        .as_object()
        .unwrap();
    let stale_reads: Vec<&String> = keys
        .iter()
        .filter(|(_, k)| k["verdict"] == "invalid")
        .filter(|(_, k)| {
            let c = &k["counterexample"];
            c["op"]["f"] == "read" && c["op"]["output"] != c["state"]
        })
        .map(|(key, _)| key)
        .collect();
    assert!(
        !stale_reads.is_empty(),
        "some counterexample names a stale read (a read whose value is not the state): {keys:?}"
    );
}

/// target-node started through `system: command` (in per-node network
/// namespaces, the default for commands) behaves as through `raft-kv`.
fn command_system() -> String {
    let bin = crate::support::target_node();
    format!(
        "system: command, start: \"{} --id {{id}} --listen {{ip}}:{{port}} --data-dir {{data_dir}} {{peer_args:--peer {{id}}={{ip}}:{{port}}}}\",",
        bin.display()
    )
}

#[test]
fn command_system_gives_the_same_verdicts_as_raft_kv() {
    let dir = tempfile::tempdir().unwrap();
    let faults = "  every: 1s\n  pick:\n    - { fault: partition, shape: isolate-one, for: 3s }\n    - { fault: kill, target: leader, restart-after: 1s }";
    let correct = write_plan_for(
        dir.path(),
        "cmd-valid",
        &command_system(),
        "",
        "{ read: 2, write: 1, cas: 1 }",
        faults,
    );
    let dirty = write_plan_for(
        dir.path(),
        "cmd-dirty",
        &command_system(),
        "\"--read-mode\", \"local\"",
        "{ read: 3, write: 1, cas: 1 }",
        faults,
    );
    for (plan, expected, verdict) in [(correct, 0, "VALID"), (dirty, 1, "INVALID")] {
        let runs = dir.path().join("runs");
        let output = run_plan(&plan, &runs, &[]);
        if skipped_for_privileges(&output, "command_system_gives_the_same_verdicts_as_raft_kv") {
            return;
        }
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{}:\n{stdout}\n{stderr}",
            plan.display()
        );
        assert!(stdout.contains(&format!("verdict: {verdict}")), "{stdout}");
    }
}

/// etcd, which the world trusts, must come out valid under the same kind
/// of faults (a false alarm here is a bug in the harness or the checker).
#[test]
fn etcd_under_faults_is_valid() {
    if !Path::new("/usr/bin/etcd").is_file() {
        if std::env::var("HARNESS_REQUIRE_PRIVILEGES").as_deref() == Ok("1") {
            panic!(
                "etcd_under_faults_is_valid: /usr/bin/etcd is missing (apt-get install etcd-server)"
            );
        }
        eprintln!(
            "SKIPPED etcd_under_faults_is_valid: /usr/bin/etcd is missing (apt-get install etcd-server)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let faults = "  every: 2s\n  pick:\n    - { fault: kill, target: leader, restart-after: 1s }\n    - { fault: pause, target: one, for: 2s }\n    - { fault: partition, shape: isolate-leader, for: 2s }";
    let plan = write_plan_for(
        dir.path(),
        "e2e-etcd",
        "system: etcd,",
        "",
        "{ read: 2, write: 1, cas: 1 }",
        faults,
    );
    let output = run_plan(&plan, &dir.path().join("runs"), &[]);
    if skipped_for_privileges(&output, "etcd_under_faults_is_valid") {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let history = std::fs::read_to_string(dir.path().join("runs/latest/history.jsonl")).unwrap();
    assert!(
        history.contains("\"start-kill\""),
        "the schedule injected faults:\n{stderr}"
    );
}
