//! Running the `harness` binary in tests, deciding whether a test that
//! needs privileges or software may skip, and reading what a run left in
//! its run directory.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use serde_json::{Map, Value};

/// The harness binary under test.
pub fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_harness"))
}

/// target-node, built beside the harness by `cargo test --workspace`.
pub fn target_node() -> PathBuf {
    let path = harness().with_file_name("target-node");
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` so that it is built",
        path.display()
    );
    path
}

/// `harness run PLAN` with runs under `runs`, on target-node.
fn run_command(plan: &Path, runs: &Path) -> Command {
    let mut command = Command::new(harness());
    command
        .arg("run")
        .arg(plan)
        .arg("--runs-dir")
        .arg(runs)
        .arg("--node-binary")
        .arg(target_node());
    command
}

/// Runs `harness run PLAN` with runs under `runs`.
pub fn run_plan(plan: &Path, runs: &Path, extra: &[&str]) -> Output {
    run_command(plan, runs)
        .args(extra)
        .output()
        .expect("harness starts")
}

/// Starts `harness run PLAN` with runs under `runs`, its stdout and
/// stderr piped, and returns without waiting.
pub fn spawn_run(plan: &Path, runs: &Path) -> Child {
    run_command(plan, runs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// True when the run could not get a private network namespace: the test
/// then skips, saying why, unless HARNESS_REQUIRE_PRIVILEGES=1.
pub fn skipped_for_privileges(output: &Output, test: &str) -> bool {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) && stderr.contains("private network namespace") {
        if std::env::var("HARNESS_REQUIRE_PRIVILEGES").as_deref() == Ok("1") {
            panic!(
                "{test}: needs a private network namespace (HARNESS_REQUIRE_PRIVILEGES=1):\n{stderr}"
            );
        }
        eprintln!("SKIPPED {test}: no private network namespace here (run as root): {stderr}");
        return true;
    }
    false
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Says why `test` skips, or panics when `HARNESS_REQUIRE_PRIVILEGES=1`
/// forbids skipping.
pub fn skip(test: &str, reason: &str) {
    if std::env::var("HARNESS_REQUIRE_PRIVILEGES").as_deref() == Ok("1") {
        panic!("{test}: {reason}, and HARNESS_REQUIRE_PRIVILEGES=1 forbids skipping");
    }
    eprintln!("SKIPPED {test}: {reason}");
}

/// Writes the plan `dir/<name>.yaml`: `name: <name>` then `body`.
pub fn write_plan(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, format!("name: {name}\n{body}")).unwrap();
    path
}

/// Runs `plan`, expecting exit `code`; its stdout and stderr, or `None`
/// when the test skipped for lack of privileges.
pub fn run_expecting(plan: &Path, runs: &Path, code: i32, test: &str) -> Option<(String, String)> {
    let output = run_plan(plan, runs, &[]);
    if skipped_for_privileges(&output, test) {
        return None;
    }
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}:\nstdout:\n{stdout}\nstderr:\n{stderr}",
        plan.display()
    );
    Some((stdout, stderr))
}

/// Like [`run_expecting`]; the run directory it made.
pub fn run_dir_expecting(plan: &Path, runs: &Path, code: i32, test: &str) -> Option<PathBuf> {
    run_expecting(plan, runs, code, test).map(|_| runs.join("latest"))
}

/// `file` in the run directory `run`.
pub fn read_run_file(run: &Path, file: &str) -> String {
    std::fs::read_to_string(run.join(file)).unwrap_or_else(|e| panic!("no {file}: {e}"))
}

/// The run's results.json.
pub fn read_results(run: &Path) -> Value {
    serde_json::from_str(&read_run_file(run, "results.json")).unwrap()
}

/// The linearizable checker's verdicts by key, from results.json.
pub fn linearizable_keys(results: &Value) -> &Map<String, Value> {
    results["checkers"]["linearizable"]["details"]["keys"]
        .as_object()
        .unwrap()
}

/// How many of the invalid `keys` have a stale read as counterexample: a
/// read whose value is not the state.
pub fn stale_reads(keys: &Map<String, Value>) -> usize {
    keys.values()
        .filter(|k| k["verdict"] == "invalid")
        .filter(|k| {
            let c = &k["counterexample"];
            c["op"]["f"] == "read" && c["op"]["output"] != c["state"]
        })
        .count()
}

/// Pids of live processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
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
