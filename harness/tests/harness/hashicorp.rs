//! Our HashiCorp raft node (`systems/hashicorp-raft-kv`, Go, Debian's raft
//! 1.1.2) under the harness through `system: command`: its linearizable
//! `barrier` reads stay valid under kills, pauses and partitions in
//! per-node namespaces, and its `fsm` reads (the dirty read) come out
//! invalid on `network: loopback`, where partitions only work because the
//! node binds its outgoing connections to its own address.
//!
//! The node is built once per test binary by its `build.sh` (offline, Go
//! caches under `target/`). Skips with a printed reason when Go or the
//! raft sources are not installed; fails instead under
//! `HARNESS_REQUIRE_PRIVILEGES=1`.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use crate::support::{
    linearizable_keys, read_results, read_run_file, run_dir_expecting, skip, stale_reads, text,
};

/// build.sh's exit code for "Go or the raft sources are not installed".
const BUILD_MISSING_TOOLS: i32 = 3;

/// The node binary, built by build.sh; `None` after printing why the test
/// skips.
fn node_binary(test: &str) -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(build_node);
    match built {
        Ok(path) => Some(path.clone()),
        Err(reason) => {
            skip(test, reason);
            None
        }
    }
}

/// Runs build.sh: `Err` only when tools are missing; a failed build panics.
fn build_node() -> Result<PathBuf, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate sits in the repository");
    let script = repo.join("systems/hashicorp-raft-kv/build.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stderr = text(&output.stderr);
    match output.status.code() {
        Some(0) => Ok(repo.join("target/hashicorp-raft-kv/hashicorp-raft-kv")),
        Some(BUILD_MISSING_TOOLS) => Err(stderr.trim().to_owned()),
        _ => panic!(
            "{} failed:\n{}\n{stderr}",
            script.display(),
            text(&output.stdout)
        ),
    }
}

/// A 10 s register plan for the node in `read_mode`; `extra` adds cluster
/// fields.
fn write_plan(dir: &Path, binary: &Path, name: &str, read_mode: &str, extra: &str) -> PathBuf {
    let (mix, faults) = match read_mode {
        "fsm" => (
            "{ read: 3, write: 1, cas: 1 }",
            "  every: 1s\n  pick:\n    - { fault: partition, shape: isolate-one, for: 3s }",
        ),
        _ => (
            "{ read: 2, write: 1, cas: 1 }",
            "  timeline:\n    - { at: 1s, fault: kill, target: leader, restart-after: 1s }\n    - { at: 4s, fault: pause, target: leader, for: 2s }\n    - { at: 7s, fault: partition, shape: isolate-leader, for: 2s }",
        ),
    };
    let start = format!(
        "{} --id {{id}} --listen {{ip}}:{{port}} --data-dir {{data_dir}} {{peer_args:--peer {{id}}={{ip}}:{{port}}}}",
        binary.display()
    );
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\n\
         cluster: {{ system: command, nodes: 3, {extra} start: \"{start}\", args: [\"--read-mode\", \"{read_mode}\"] }}\n\
         workload: {{ kind: register, keys: 3, ops-per-key: 120, concurrency: 6, rate: 120, mix: {mix}, timeout: 1s }}\n\
         duration: 10s\n\
         faults:\n{faults}\n\
         final: {{ settle: 1s }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Every node's log, one after the other.
fn node_logs(run: &Path) -> String {
    (1..=3)
        .map(|i| std::fs::read_to_string(run.join(format!("nodes/n{i}.log"))).unwrap_or_default())
        .collect()
}

#[test]
fn hashicorp_raft_barrier_reads_under_faults_are_valid() {
    let test = "hashicorp_raft_barrier_reads_under_faults_are_valid";
    let Some(binary) = node_binary(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), &binary, "hc-barrier", "barrier", "");
    let Some(run) = run_dir_expecting(&plan, &dir.path().join("runs"), 0, test) else {
        return;
    };
    let results = read_results(&run);
    assert_eq!(results["verdict"], "valid");
    let history = read_run_file(&run, "history.jsonl");
    for fault in ["start-kill", "start-pause", "start-partition"] {
        assert!(history.contains(fault), "{fault} was injected");
    }
    let oks = history
        .lines()
        .filter(|l| l.contains("\"type\":\"ok\""))
        .count();
    assert!(oks > 300, "the node served the clients: {oks} ok");
    // The killed leader came back from its data directory: no second
    // bootstrap.
    let logs = node_logs(&run);
    assert_eq!(
        logs.matches("bootstrapped a pristine data directory")
            .count(),
        3,
        "{logs}"
    );
}

#[test]
fn hashicorp_raft_fsm_reads_on_loopback_are_invalid() {
    let test = "hashicorp_raft_fsm_reads_on_loopback_are_invalid";
    let Some(binary) = node_binary(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), &binary, "hc-fsm", "fsm", "network: loopback,");
    let Some(run) = run_dir_expecting(&plan, &dir.path().join("runs"), 1, test) else {
        return;
    };
    let results = read_results(&run);
    let keys = linearizable_keys(&results);
    assert!(
        stale_reads(keys) > 0,
        "a counterexample names a stale read: {keys:?}"
    );
    // The partitions cut raft traffic on loopback: a node stopped hearing
    // the leader it had (at startup `last-leader` is empty) and campaigned.
    let logs = node_logs(&run);
    assert!(
        logs.contains("heartbeat timeout reached, starting election: last-leader=127."),
        "no node lost its leader to a partition:\n{logs}"
    );
}
