//! Ctrl-C and SIGTERM (what `timeout`, CI runners and systemd send) stop a
//! run cleanly: it heals, stops the nodes, checks what was recorded, writes
//! results.json and says so.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use crate::support::{processes_mentioning, skipped_for_privileges, spawn_run, text};

#[test]
fn ctrl_c_heals_stops_nodes_and_checks_what_was_recorded() {
    interrupt_a_run(
        "INT",
        "interrupted: stopping clients",
        "ctrl_c_heals_stops_nodes_and_checks_what_was_recorded",
    );
}

#[test]
fn sigterm_heals_stops_nodes_and_checks_what_was_recorded() {
    interrupt_a_run(
        "TERM",
        "SIGTERM: stopping clients",
        "sigterm_heals_stops_nodes_and_checks_what_was_recorded",
    );
}

/// Starts a long run, sends `signal` once faults are in force, and checks
/// the run ends as a clean, checked, interrupted run.
fn interrupt_a_run(signal: &str, said: &str, test: &str) {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = dir.path().join("long.yaml");
    std::fs::write(
        &plan,
        "name: interrupted\nworkload: { kind: register, rate: 100 }\nduration: 2m\n\
         faults: { every: 1s, pick: [ { fault: pause, target: one, for: 30s }, { fault: partition, shape: halves, for: 30s } ] }\n",
    )
    .unwrap();
    let mut child = spawn_run(&plan, &runs);
    // Interrupt once clients are working and a fault is in force.
    let history = runs.join("latest/history.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let recorded = std::fs::read_to_string(&history).unwrap_or_default();
        if recorded.contains("\"start-") && recorded.lines().count() > 50 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let run_dir = std::fs::canonicalize(runs.join("latest")).unwrap_or_default();
    Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if skipped_for_privileges(&output, test) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(stderr.contains(said), "says why it stops:\n{stderr}");
    assert!(
        stdout.contains("(interrupted: the verdict covers only what was recorded)"),
        "says the verdict covers what was recorded:\n{stdout}"
    );
    assert!(
        stdout.contains("verdict:"),
        "checks what was recorded:\n{stdout}\n{stderr}"
    );
    assert!(
        matches!(output.status.code(), Some(0..=2)),
        "a verdict, not a harness failure:\n{stderr}"
    );
    assert!(run_dir.join("results.json").is_file());
    let recorded = std::fs::read_to_string(run_dir.join("history.jsonl")).unwrap();
    assert!(
        recorded.contains("\"stop-"),
        "faults were ended and recorded"
    );
    let survivors = processes_mentioning(&run_dir.display().to_string());
    assert!(
        survivors.is_empty(),
        "node processes survived the run: {survivors:?}"
    );
}
