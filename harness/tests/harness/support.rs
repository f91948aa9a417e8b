//! Running the `harness` binary in tests, and deciding whether a test that
//! needs privileges may skip.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

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

/// Runs `harness run PLAN` with runs under `runs`.
pub fn run_plan(plan: &Path, runs: &Path, extra: &[&str]) -> Output {
    Command::new(harness())
        .arg("run")
        .arg(plan)
        .arg("--runs-dir")
        .arg(runs)
        .arg("--node-binary")
        .arg(target_node())
        .args(extra)
        .output()
        .expect("harness starts")
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
