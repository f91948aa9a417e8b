//! Systems that name no leader: a primary-backup stand-in
//! (`tests/fixtures/primary_backup.py`, whose `/status` never says
//! `leader`) runs through `system: command` with `leader: none`, under
//! kills and partitions, to a verdict; leader targets are refused for it at
//! `validate`; and a cluster that never becomes ready fails with what each
//! node said.

use std::path::{Path, PathBuf};

use crate::support::{harness, run_plan, skipped_for_privileges, text};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/primary_backup.py")
}

fn plan(dir: &Path, name: &str, cluster: &str, faults: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\n\
         cluster:\n  system: command\n  nodes: 3\n  start: \"python3 {} --id {{id}} --listen {{ip}}:{{port}} --data-dir {{data_dir}} --peers {{peers}}\"\n{cluster}\
         workload: {{ kind: register, keys: 3, ops-per-key: 100, concurrency: 6, rate: 100, timeout: 1500ms }}\n\
         duration: 10s\n\
         faults:\n{faults}\n\
         final: {{ settle: 1s }}\n",
        fixture().display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

const KILL_AND_PARTITION: &str = "  timeline:\n    - { at: 2s, fault: kill, target: n1, restart-after: 1s }\n    - { at: 4s, fault: kill, target: n3, restart-after: 1s }\n    - { at: 6s, fault: partition, shape: isolate-one, for: 2s }";

#[test]
fn a_system_without_a_leader_runs_under_kills_and_partitions() {
    let test = "a_system_without_a_leader_runs_under_kills_and_partitions";
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = plan(
        dir.path(),
        "primary-backup",
        "  leader: none\n",
        KILL_AND_PARTITION,
    );
    let output = run_plan(&plan, &runs, &[]);
    if skipped_for_privileges(&output, test) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("verdict: VALID"), "{stdout}");
    assert!(
        stderr.contains("cluster of 3 up\n"),
        "ready without a leader:\n{stderr}"
    );
    let history = std::fs::read_to_string(runs.join("latest/history.jsonl")).unwrap();
    for fault in [
        "start-kill",
        "stop-kill",
        "start-partition",
        "stop-partition",
    ] {
        assert!(history.contains(fault), "{fault} in the history:\n{stderr}");
    }
    let ok = history
        .lines()
        .filter(|l| l.contains("\"type\":\"ok\""))
        .count();
    assert!(ok > 100, "{ok} ok operations: the clients did work");
}

#[test]
fn leader_targets_are_refused_for_a_system_without_a_leader() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        dir.path(),
        "pb-leader",
        "  leader: none\n",
        "  every: 2s\n  pick:\n    - { fault: kill, target: leader }\n    - { fault: partition, shape: isolate-leader }",
    );
    let output = std::process::Command::new(harness())
        .arg("validate")
        .arg(&plan)
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    for (line, kind) in [(12, "kill"), (13, "partition")] {
        let needle = format!(
            ":{line}:16: this {kind} fault targets the leader, but the nodes of this `system: command` plan name no leader"
        );
        assert!(stderr.contains(&needle), "missing {needle} in\n{stderr}");
    }
}

#[test]
fn a_cluster_that_never_names_a_leader_fails_quoting_each_status() {
    let test = "a_cluster_that_never_names_a_leader_fails_quoting_each_status";
    let dir = tempfile::tempdir().unwrap();
    // The default leader discovery (`status`) waits for a leader this
    // system never names.
    let plan = plan(
        dir.path(),
        "pb-no-leader",
        "  start-timeout: 8s\n",
        "  timeline: []",
    );
    let output = run_plan(&plan, &dir.path().join("runs"), &[]);
    if skipped_for_privileges(&output, test) {
        return;
    }
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the cluster was not ready within 8s"),
        "{stderr}"
    );
    for node in 1..=3 {
        let role = if node == 1 { "primary" } else { "backup" };
        let said = format!(
            "n{node}: /health 200; /status {{\"id\": {node}, \"role\": \"{role}\", \"leader\": null}}"
        );
        assert!(stderr.contains(&said), "missing {said} in\n{stderr}");
    }
}
