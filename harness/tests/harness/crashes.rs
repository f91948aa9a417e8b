//! A node that dies outside the plan is a finding: noticed when it
//! happens, recorded as a `crash` event with its exit status and log tail,
//! restarted, shown in the report, and the run fails unless the plan says
//! crashes are expected.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{run_plan, skipped_for_privileges, text};

/// The primary-backup stand-in, whose node 3 exits with status 1 three
/// seconds after its first start.
fn plan(dir: &Path, name: &str, check: &str) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/primary_backup.py");
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\n\
         cluster:\n  system: command\n  leader: none\n  start: \"python3 {} --id {{id}} --listen {{ip}}:{{port}} --data-dir {{data_dir}} --peers {{peers}} --crash-node 3 --crash-after 3\"\n\
         workload: {{ kind: register, keys: 2, concurrency: 3, rate: 60, timeout: 1500ms }}\n\
         duration: 8s\n\
         final: {{ settle: 500ms }}\n{check}",
        fixture.display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn a_node_that_crashes_fails_the_run_and_comes_back() {
    let test = "a_node_that_crashes_fails_the_run_and_comes_back";
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let output = run_plan(&plan(dir.path(), "crashing", ""), &runs, &[]);
    if skipped_for_privileges(&output, test) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("n3 crashed (exit code 1): a finding"),
        "{stderr}"
    );
    assert!(
        stdout.contains("run            invalid  n3 crashed at"),
        "the verdict names the crash:\n{stdout}"
    );
    assert!(
        stdout.contains("crashing on purpose"),
        "with its log:\n{stdout}"
    );
    let history = std::fs::read_to_string(runs.join("latest/history.jsonl")).unwrap();
    let crash: Value = history
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["f"] == "crash")
        .expect("a crash event in the history");
    assert_eq!(crash["value"]["nodes"][0], "n3");
    assert_eq!(crash["value"]["detail"]["status"], "exit code 1");
    assert!(
        history.contains("\"stop-kill\""),
        "the crashed node was restarted:\n{history}"
    );
    let report = std::fs::read_to_string(runs.join("latest/report.html")).unwrap();
    assert!(report.contains("crash n3"), "the report shows the crash");
}

#[test]
fn crashes_the_plan_expects_do_not_fail_the_run() {
    let test = "crashes_the_plan_expects_do_not_fail_the_run";
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), "crash-ok", "check: { expect-crashes: true }\n");
    let output = run_plan(&plan, &dir.path().join("runs"), &[]);
    if skipped_for_privileges(&output, test) {
        return;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("as the plan allows"), "{stdout}");
}
