//! Ctrl-C stops a run cleanly: it heals, stops the nodes, checks what was
//! recorded and says so.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::support::{harness, skipped_for_privileges, target_node, text};

/// Pids of live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(needle)
        {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn ctrl_c_heals_stops_nodes_and_checks_what_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let plan = dir.path().join("long.yaml");
    std::fs::write(
        &plan,
        "name: interrupted\nworkload: { kind: register, rate: 100 }\nduration: 2m\n\
         faults: { every: 1s, pick: [ { fault: pause, target: one, for: 30s }, { fault: partition, shape: halves, for: 30s } ] }\n",
    )
    .unwrap();
    let mut child = Command::new(harness())
        .arg("run")
        .arg(&plan)
        .arg("--runs-dir")
        .arg(&runs)
        .arg("--node-binary")
        .arg(target_node())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if skipped_for_privileges(
        &output,
        "ctrl_c_heals_stops_nodes_and_checks_what_was_recorded",
    ) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        stderr.contains("interrupted"),
        "says it was interrupted:\n{stderr}"
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
