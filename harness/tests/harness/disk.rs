//! Disk faults through the harness binary: a power-loss plan runs and
//! records its events; target-node keeps every acknowledged append while
//! `--unsafe-no-fsync` loses them; `crash-at-fsync` and `fsync-error` act
//! through a plan; SIGKILL of the controller leaves no mount on the host;
//! and the plan rules of the disk kinds.
//!
//! The runs need root and `/dev/fuse`; they skip, saying why, without them
//! (and fail under `HARNESS_REQUIRE_PRIVILEGES=1`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Output,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::support::{
    processes_mentioning, read_results, run_plan, skipped_for_privileges, spawn_run, text,
};

/// A plan of `duration` with `args` for target-node and `faults`.
fn write_plan(dir: &Path, name: &str, args: &str, duration: &str, faults: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\n\
         cluster: {{ nodes: 3, args: [{args}] }}\n\
         workload: {{ kind: set, keys: 3, ops-per-key: 400, concurrency: 6, rate: 150, mix: {{ append: 10, read: 1 }}, timeout: 1s }}\n\
         duration: {duration}\n\
         faults:\n{faults}\n\
         final: {{ settle: 1s }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

const POWER_LOSS_ALL: &str =
    "  every: 2s\n  pick:\n    - { fault: power-loss, target: all, restart-after: 1s }";

/// True when this machine cannot mount durable file systems (or isolate
/// the run): the test then skips, saying why, unless
/// `HARNESS_REQUIRE_PRIVILEGES=1`.
fn skipped_for_disks(output: &Output, test: &str) -> bool {
    if skipped_for_privileges(output, test) {
        return true;
    }
    let stderr = text(&output.stderr);
    // Only what the machine refuses: a mount namespace, or FUSE. A mount
    // refused for want of isolation is a bug, not a reason to skip.
    let refused = stderr.contains("disk faults, which need a private mount namespace")
        || stderr.contains("cannot mount a durable file system");
    if output.status.code() == Some(3) && refused {
        if std::env::var("HARNESS_REQUIRE_PRIVILEGES").as_deref() == Ok("1") {
            panic!("{test}: needs durable mounts (HARNESS_REQUIRE_PRIVILEGES=1):\n{stderr}");
        }
        eprintln!("SKIPPED {test}: durable mounts are not possible here: {stderr}");
        return true;
    }
    false
}

/// The nemesis events of a run's history, in order.
fn nemesis_events(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("history.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["process"] == "nemesis")
        .collect()
}

/// Every `start-<kind>` has a `stop-<kind>` with its id, and vice versa.
fn assert_paired(events: &[Value], kind: &str) -> usize {
    let ids = |f: String| -> Vec<u64> {
        events
            .iter()
            .filter(|e| e["f"] == f.as_str())
            .map(|e| e["value"]["id"].as_u64().unwrap())
            .collect()
    };
    let (starts, stops) = (ids(format!("start-{kind}")), ids(format!("stop-{kind}")));
    assert_eq!(starts, stops, "{kind} windows pair up: {events:#?}");
    starts.len()
}

fn results(runs: &Path) -> Value {
    read_results(&runs.join("latest"))
}

/// Durable mounts in `mountinfo` (`/proc/<pid>/mountinfo`).
fn durable_mounts(mountinfo: &Path) -> Vec<String> {
    std::fs::read_to_string(mountinfo)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("durablefs"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn power_loss_plan_records_its_events_and_keeps_acknowledged_writes() {
    let test = "power_loss_plan_records_its_events_and_keeps_acknowledged_writes";
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = write_plan(dir.path(), "power-loss-safe", "", "9s", POWER_LOSS_ALL);
    let output = run_plan(&plan, &runs, &[]);
    if skipped_for_disks(&output, test) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let run = std::fs::canonicalize(runs.join("latest")).unwrap();
    let events = nemesis_events(&run);
    let windows = assert_paired(&events, "power-loss");
    assert!(windows >= 2, "power was lost repeatedly: {events:#?}");
    for start in events.iter().filter(|e| e["f"] == "start-power-loss") {
        assert_eq!(
            start["value"]["nodes"],
            serde_json::json!(["n1", "n2", "n3"])
        );
        for node in ["n1", "n2", "n3"] {
            assert!(
                start["value"]["detail"]["disk"][node]["lost"].is_object(),
                "each disk rolled back: {start}"
            );
        }
    }
    let results = results(&runs);
    assert_eq!(results["checkers"]["set"]["verdict"], "valid");
    assert_eq!(
        results["checkers"]["set"]["details"]["lost"],
        serde_json::json!([]),
        "no acknowledged append is lost"
    );
    let acknowledged = results["checkers"]["set"]["details"]["acknowledged"]
        .as_u64()
        .unwrap();
    assert!(acknowledged > 100, "clients did work: {acknowledged}");
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        report.contains("power loss n1 n2 n3"),
        "the report shades it"
    );
    // The data survived the run in the backing directories; the mount
    // points are plain, empty directories again.
    assert!(run.join("nodes/n1.backing/log.redb").is_file());
    assert_eq!(std::fs::read_dir(run.join("nodes/n1")).unwrap().count(), 0);
}

#[test]
fn unsafe_no_fsync_under_power_loss_is_invalid_with_lost_writes() {
    let test = "unsafe_no_fsync_under_power_loss_is_invalid_with_lost_writes";
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = write_plan(
        dir.path(),
        "power-loss-unsafe",
        "\"--unsafe-no-fsync\"",
        "9s",
        POWER_LOSS_ALL,
    );
    let output = run_plan(&plan, &runs, &[]);
    if skipped_for_disks(&output, test) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("verdict: INVALID"), "{stdout}");
    let set = &results(&runs)["checkers"]["set"];
    assert_eq!(set["verdict"], "invalid");
    let lost = set["details"]["lost"].as_array().unwrap();
    assert!(!lost.is_empty(), "acknowledged appends were lost: {set}");
    assert!(
        stdout.contains("was acknowledged and is missing from every final read"),
        "{stdout}"
    );
}

#[test]
fn crash_at_fsync_and_fsync_error_act_through_a_plan() {
    let test = "crash_at_fsync_and_fsync_error_act_through_a_plan";
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let timeline = "  timeline:\n    \
        - { at: 2s, fault: crash-at-fsync, target: n2, sync: 5, file: log.redb, for: 4s, restart-after: 1s }\n    \
        - { at: 6s, fault: fsync-error, target: n3, for: 1s }";
    let plan = write_plan(dir.path(), "disk-timeline", "", "9s", timeline);
    let output = run_plan(&plan, &runs, &[]);
    if skipped_for_disks(&output, test) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        matches!(output.status.code(), Some(0..=2)),
        "a verdict, not a harness failure:\n{stdout}\n{stderr}"
    );
    // The crash was the harness's doing: not a finding.
    let results = results(&runs);
    assert_eq!(results["checkers"]["run"]["verdict"], "valid", "{results}");
    assert_eq!(
        results["checkers"]["set"]["details"]["lost"],
        serde_json::json!([])
    );
    let run = std::fs::canonicalize(runs.join("latest")).unwrap();
    let events = nemesis_events(&run);
    assert_eq!(assert_paired(&events, "crash-at-fsync"), 1, "{events:#?}");
    let crash = events
        .iter()
        .find(|e| e["f"] == "start-crash-at-fsync")
        .unwrap();
    assert_eq!(crash["value"]["nodes"], serde_json::json!(["n2"]));
    let site = &crash["value"]["detail"]["disk"]["n2"]["crashed_at"];
    assert_eq!(site["path"], "log.redb", "{crash}");
    assert_eq!(site["nth"], 5, "{crash}");
    assert_eq!(assert_paired(&events, "fsync-error"), 1, "{events:#?}");
    let stop = events
        .iter()
        .find(|e| e["f"] == "stop-fsync-error")
        .unwrap();
    let failed = stop["value"]["detail"]["disk"]["n3"]["failed_syncs"]
        .as_u64()
        .unwrap();
    assert!(failed >= 1, "syncs failed in the window: {stop}");
}

#[test]
fn controller_sigkill_leaves_no_mount_on_the_host() {
    let test = "controller_sigkill_leaves_no_mount_on_the_host";
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let faults =
        "  every: 1s\n  pick:\n    - { fault: power-loss, target: all, restart-after: 1s }";
    let plan = write_plan(dir.path(), "disk-sigkill", "", "2m", faults);
    let mut child = spawn_run(&plan, &runs);
    let pid = child.id();
    let mounts_of_controller = PathBuf::from(format!("/proc/{pid}/mountinfo"));
    // Wait until power was lost and restored, with the nodes running on
    // their mounts.
    let history = runs.join("latest/history.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_inside = Vec::new();
    let mut nodes_before = Vec::new();
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        seen_inside = durable_mounts(&mounts_of_controller);
        let recorded = std::fs::read_to_string(&history).unwrap_or_default();
        let run_dir = std::fs::canonicalize(runs.join("latest")).unwrap_or_default();
        nodes_before = processes_mentioning(&format!("{}/nodes", run_dir.display()));
        if recorded.contains("stop-power-loss") && seen_inside.len() == 3 && nodes_before.len() == 3
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let host_during = durable_mounts(Path::new("/proc/self/mountinfo"));
    let run_dir = std::fs::canonicalize(runs.join("latest")).unwrap_or_default();
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    if seen_inside.is_empty() && skipped_for_disks(&output, test) {
        return;
    }
    assert_eq!(
        seen_inside.len(),
        3,
        "the controller mounted every node's data directory:\n{}",
        text(&output.stderr)
    );
    assert_eq!(
        nodes_before.len(),
        3,
        "the nodes ran when the controller died"
    );
    assert!(
        host_during.is_empty(),
        "the host saw durable mounts: {host_during:?}"
    );
    // The nodes die with the controller; the mounts with its namespace.
    let deadline = Instant::now() + Duration::from_secs(10);
    let survivors = loop {
        let survivors = processes_mentioning(&run_dir.display().to_string());
        if survivors.is_empty() || Instant::now() > deadline {
            break survivors;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(survivors.is_empty(), "processes survived: {survivors:?}");
    assert!(durable_mounts(Path::new("/proc/self/mountinfo")).is_empty());
    // On the host the data directories were never mount points: plain,
    // empty, readable directories.
    for node in ["n1", "n2", "n3"] {
        let data = run_dir.join("nodes").join(node);
        assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0, "{node}");
    }
}

#[test]
fn disk_fault_entries_are_checked() {
    let head = "name: t\nworkload: { kind: register }\nduration: 30s\nfaults:\n  timeline:\n";
    let cases: BTreeMap<&str, &str> = [
        (
            "    - { at: 1s, fault: crash-at-fsync }\n",
            "t.yaml:6:24: a crash-at-fsync fault needs `sync`",
        ),
        (
            "    - { at: 1s, fault: crash-at-fsync, sync: 0 }\n",
            "t.yaml:6:46: `sync` must be in 1..=10000000, not 0",
        ),
        (
            "    - { at: 1s, fault: crash-at-fsync, sync: 3, file: ../n2/log.redb }\n",
            "names a path inside the node's data directory",
        ),
        (
            "    - { at: 1s, fault: power-loss, sync: 3 }\n",
            "`sync` does not apply to a power-loss fault",
        ),
        (
            "    - { at: 1s, fault: fsync-error, restart-after: 1s }\n",
            "`restart-after` does not apply to a fsync-error fault",
        ),
        (
            "    - { at: 1s, fault: power-loss, for: 1s }\n",
            "`for` does not apply to a power-loss fault",
        ),
    ]
    .into();
    for (entry, want) in cases {
        let err = harness::plans::load_str(&format!("{head}{entry}"), "t.yaml")
            .err()
            .unwrap_or_else(|| panic!("accepted: {entry}"));
        let rendered = err.render();
        assert!(rendered.contains(want), "{entry}: {rendered}");
    }
    let good = "    - { at: 1s, fault: crash-at-fsync, target: leader, sync: 40, file: log.redb, for: 5s, restart-after: 2s }\n    - { at: 2s, fault: power-loss, target: all, restart-after: 1s }\n    - { at: 3s, fault: fsync-error, target: [n1, n2], for: 1s }\n";
    if let Err(e) = harness::plans::load_str(&format!("{head}{good}"), "t.yaml") {
        panic!("{}", e.render());
    }
}
