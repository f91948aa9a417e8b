//! Malformed plans: each gets an error with its place and what was
//! expected, and none panics.

use harness::plans::load_str;

const GOOD_HEAD: &str = "name: t\nworkload: { kind: register }\nduration: 30s\n";

/// (plan text, fragment the error must contain)
const CASES: &[(&str, &str)] = &[
    // Syntax.
    (
        "name: t\n  workload: 3\n",
        "t.yaml:2:11: mapping values are not allowed",
    ),
    ("name: [t\n", "t.yaml:1:"),
    (
        "name: t\nworkload: { kind: register\nduration: 30s\n",
        "t.yaml:",
    ),
    ("\t name: t\n", "t.yaml:1:"),
    // Shape: missing, unknown and mistyped fields.
    (
        "workload: { kind: register }\nduration: 30s\n",
        "missing field `name`",
    ),
    ("name: t\nduration: 30s\n", "missing field `workload`"),
    (
        "name: t\nworkload: { kind: register }\n",
        "missing field `duration`",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\ncolour: blue\n",
        "t.yaml:4:1: unknown field `colour`",
    ),
    (
        "name: t\nworkload: { kind: register, speed: 3 }\nduration: 30s\n",
        "unknown field `speed`",
    ),
    (
        "name: t\nworkload: { kind: queue }\nduration: 30s\n",
        "2:19: unknown workload `queue`; expected one of register, set, list-append",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: soon\n",
        "t.yaml:3:11: `soon` is not a duration",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 10 parsecs\n",
        "unknown time unit",
    ),
    (
        "name: t\nworkload: { kind: register, concurrency: many }\nduration: 30s\n",
        "invalid",
    ),
    (
        "name: t\ncluster: { nodes: -1 }\nworkload: { kind: register }\nduration: 30s\n",
        "t.yaml:2:",
    ),
    (
        "name: t\ncluster: { system: cassandra }\nworkload: { kind: register }\nduration: 30s\n",
        "2:20: unknown system `cassandra`; expected one of raft-kv, etcd, zookeeper, command",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: explode } ] }\n",
        "4:39: unknown fault `explode`; expected one of kill, pause, partition, loss",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: kill, target: president } ] }\n",
        "unknown target `president`",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: partition, shape: triangle } ] }\n",
        "unknown variant `triangle`",
    ),
    // Semantics.
    (
        "name: t\nworkload: { kind: register }\nduration: 60s\nfaults:\n  timeline:\n    - { at: 90s, fault: pause, target: one }\n",
        "t.yaml:6:13: a fault at 1m 30s is after the end of the 1m plan",
    ),
    (
        "name: t\ncluster: { nodes: 1 }\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: pause, target: minority } ] }\n",
        "no minority to target",
    ),
    (
        "name: t\ncluster: { nodes: 1 }\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: partition, shape: halves } ] }\n",
        "a partition needs at least 2 nodes",
    ),
    (
        "name: t\nworkload: { kind: register, mix: { read: 0, write: 0 } }\nduration: 30s\n",
        "the op mix sums to zero",
    ),
    (
        "name: t\nworkload: { kind: register, mix: { append: 1 } }\nduration: 30s\n",
        "has no `append` operation",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s }\n",
        "`every` needs a `pick` list",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { pick: [ { fault: pause } ] }\n",
        "`pick` needs an `every` interval",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { timeline: [ { fault: pause } ] }\n",
        "a timeline entry needs `at`",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: kill, for: 2s } ] }\n",
        "`for` does not apply to a kill fault",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: partition, target: one, shape: halves } ] }\n",
        "`target` does not apply to a partition fault",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: loss, probability: 1.5 } ] }\n",
        "`probability` must be in (0, 1]",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: pause, target: n7 } ] }\n",
        "there is no node `n7` in a 3-node cluster",
    ),
    (
        "name: t\ncluster: { nodes: 0 }\nworkload: { kind: register }\nduration: 30s\n",
        "a cluster has 1 to 50 nodes, not 0",
    ),
    (
        "name: t\nworkload: { kind: register, rate: 0 }\nduration: 30s\n",
        "`rate` must be from 0.01 to 10000000 operations per second, not 0.0",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 0s\n",
        "the duration must be positive",
    ),
    (
        "name: ../escape\nworkload: { kind: register }\nduration: 30s\n",
        "must be a non-empty file name",
    ),
    // Every number a plan sets is bounded, with the place of the error:
    // these were accepted, then panicked or ate the machine at run time.
    (
        "name: t\nworkload: { kind: register, rate: 1e-300 }\nduration: 30s\n",
        "2:35: workload `rate` must be from 0.01 to 10000000 operations per second, not 1e-300",
    ),
    (
        "name: t\nworkload: { kind: register, concurrency: 100000000 }\nduration: 30s\n",
        "2:42: workload `concurrency` must be from 1 to 1024, not 100000000",
    ),
    (
        "name: t\nworkload: { kind: register, keys: 100000000 }\nduration: 30s\n",
        "2:35: workload `keys` must be from 1 to 100000, not 100000000",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 1000000h\n",
        "3:11: `duration` is longer than the longest the harness allows (7days)",
    ),
    (
        "name: t\nworkload: { kind: register, timeout: 1000000h }\nduration: 30s\n",
        "`timeout` is longer than the longest the harness allows",
    ),
    (
        "name: t\nworkload: { kind: register }\nduration: 30s\ncheck: { min-ok-share: 1.5 }\n",
        "4:24: `min-ok-share` is a share from 0 to 1, not 1.5",
    ),
    (
        "name: t\ncluster: { start: \"x\" }\nworkload: { kind: register }\nduration: 30s\n",
        "2:19: `start` belongs to `system: command`",
    ),
    (
        "name: t\ncluster: { system: etcd, sync-reads: true }\nworkload: { kind: register }\nduration: 30s\n",
        "2:38: `sync-reads` belongs to `system: zookeeper`",
    ),
    (
        "name: t\ncluster: { system: zookeeper, args: [\"--tick\"] }\nworkload: { kind: register }\nduration: 30s\n",
        "2:20: zookeeper `args` are zoo.cfg lines `key=value`; `--tick` is not",
    ),
    (
        "name: t\ncluster: { system: zookeeper, args: [\"clientPort=1\"] }\nworkload: { kind: register }\nduration: 30s\n",
        "2:20: `clientPort` in `args` is set by the harness from the cluster's layout",
    ),
    (
        "name: t\ncluster: { system: command, start: \"srv\", leader: none }\nworkload: { kind: register }\nduration: 30s\nfaults: { every: 2s, pick: [ { fault: partition, shape: isolate-leader } ] }\n",
        "this partition fault targets the leader, but the nodes of this `system: command` plan name no leader",
    ),
];

#[test]
fn malformed_plans_are_explained_with_their_place() {
    assert!(CASES.len() >= 20);
    let mut failures = Vec::new();
    for (text, fragment) in CASES {
        let outcome = std::panic::catch_unwind(|| load_str(text, "t.yaml"));
        match outcome {
            Err(_) => failures.push(format!("PANIC on:\n{text}")),
            Ok(Ok(_)) => failures.push(format!("accepted, expected `{fragment}`:\n{text}")),
            Ok(Err(e)) => {
                let message = e.to_string();
                if !message.contains(fragment) {
                    failures.push(format!("`{message}` lacks `{fragment}` for:\n{text}"));
                }
                if !message.starts_with("t.yaml") {
                    failures.push(format!("`{message}` does not start with the file name"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_shipped_plans_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plans");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            harness::plans::load(&path).unwrap_or_else(|e| panic!("{}", e.render()));
            seen += 1;
        }
    }
    assert!(seen >= 4, "plans/ holds the documented examples");
    assert!(load_str(harness::plans::DEFAULT_PLAN, "default").is_ok());
    assert!(
        load_str(GOOD_HEAD, "t.yaml").is_ok(),
        "a minimal plan is enough"
    );
}
