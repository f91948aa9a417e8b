//! The GitHub workflows users copy: parsed as YAML and checked for the job
//! structure the README promises (`.ci/run` also lints them with
//! actionlint).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace's root directory.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workflow(name: &str) -> Value {
    let path = repo_root().join(".github/workflows").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

/// Every `run:` script of a job, joined.
fn scripts(job: &Value) -> String {
    job["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("a job has steps: {job}"))
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn uses(job: &Value) -> Vec<String> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["uses"].as_str().map(str::to_owned))
        .collect()
}

fn check_jobs(name: &str, w: &Value) {
    let jobs = w["jobs"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: jobs"));
    assert!(!jobs.is_empty());
    for (id, job) in jobs {
        assert!(job["runs-on"].is_string(), "{name}/{id}: runs-on");
        let steps = job["steps"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}/{id}: steps"));
        for step in steps {
            assert!(
                step["run"].is_string() ^ step["uses"].is_string(),
                "{name}/{id}: each step either runs or uses: {step}"
            );
        }
        assert!(
            uses(job).iter().any(|u| u.starts_with("actions/checkout@")),
            "{name}/{id} checks out the code"
        );
    }
}

#[test]
fn ci_runs_fmt_clippy_and_root_tests_on_every_push_and_pr() {
    let w = workflow("ci.yml");
    check_jobs("ci.yml", &w);
    let on = &w["on"];
    assert!(
        on.get("push").is_some() && on.get("pull_request").is_some(),
        "{on}"
    );
    let all: String = w["jobs"]
        .as_object()
        .unwrap()
        .values()
        .map(scripts)
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "cargo fmt --all --check",
        "cargo clippy --workspace --all-targets -- -D warnings",
        "iptables",
        "sudo -E",
        "cargo test --workspace",
    ] {
        assert!(all.contains(needle), "ci.yml lacks `{needle}`");
    }
    let test = &w["jobs"]["test"];
    assert_eq!(
        test["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["env"]["HARNESS_REQUIRE_PRIVILEGES"] == "1")
            .count(),
        1
    );
}

#[test]
fn nightly_runs_a_matrix_of_valid_plans_and_fails_on_bad_verdicts() {
    let w = workflow("nightly-chaos.yml");
    check_jobs("nightly-chaos.yml", &w);
    let on = &w["on"];
    assert!(
        on["schedule"][0]["cron"].is_string(),
        "a cron schedule: {on}"
    );
    assert!(on.get("workflow_dispatch").is_some(), "manual dispatch");
    let job = &w["jobs"]["chaos"];
    let plans = job["strategy"]["matrix"]["plan"]
        .as_array()
        .expect("a matrix over plans");
    assert!(!plans.is_empty());
    let expected = expected_verdicts();
    for plan in plans {
        let name = format!("{}.yaml", plan.as_str().unwrap());
        let path = repo_root().join("plans").join(&name);
        harness::plans::load(&path).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(
            expected.get(&name).map(String::as_str),
            Some("valid"),
            "{name}: only plans docs/plans.md expects to be valid belong in the nightly matrix"
        );
    }
    let script = scripts(job);
    for needle in [
        "cargo build --release",
        "--repeat",
        "--runs-dir runs",
        "PIPESTATUS[0]",
    ] {
        assert!(script.contains(needle), "nightly lacks `{needle}`");
    }
    let upload = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("runs are uploaded");
    assert_eq!(upload["if"], "always()", "uploaded even when runs fail");
    assert!(upload["with"]["path"].as_str().unwrap().contains("runs/"));
    let last = job["steps"].as_array().unwrap().last().unwrap();
    let verdict = last["run"]
        .as_str()
        .expect("the last step judges the verdicts");
    for code in ["0)", "1)", "2)", "exit 1"] {
        assert!(verdict.contains(code), "the last step handles `{code}`");
    }
}

/// docs/extending.md lists the exact files each kind of extension touches;
/// each file it names must exist (placeholders like `<name>` aside).
#[test]
fn extending_md_names_files_that_exist() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("docs/extending.md")).unwrap();
    let named = files_named(&text);
    assert!(named.len() > 20, "the page names files: {named:?}");
    let missing: Vec<&String> = named
        .iter()
        .filter(|file| !root.join(file).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "docs/extending.md names missing files: {missing:?}"
    );
    assert_eq!(
        files_named("`harness/src/nemesis/nope.rs` and `systems/src/<name>.rs`"),
        ["harness/src/nemesis/nope.rs"],
        "the scan finds paths and skips placeholders"
    );
}

/// Backticked paths of the workspace (`dir/.../file.ext`), without
/// placeholders.
fn files_named(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.contains(['<', '>', ' ', '*']) && !s.contains("..."))
        .filter(|s| s.contains('/'))
        .filter(|s| {
            [".rs", ".md", ".css", ".yaml"]
                .iter()
                .any(|ext| s.ends_with(ext))
        })
        .map(str::to_owned)
        .collect()
}

/// The verdict docs/plans.md's table of shipped plans expects of each plan
/// (`| `name.yaml` | expect | what |`).
fn expected_verdicts() -> std::collections::HashMap<String, String> {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("docs/plans.md")).unwrap();
    let rows = text.lines().filter_map(|line| {
        let mut cells = line.strip_prefix("| `")?.splitn(2, "` | ");
        let name = cells.next()?;
        let expect = cells.next()?.split(" |").next()?;
        name.ends_with(".yaml")
            .then(|| (name.to_owned(), expect.trim().to_owned()))
    });
    let expected: std::collections::HashMap<_, _> = rows.collect();
    assert_eq!(
        expected.get("dirty-read.yaml").map(String::as_str),
        Some("invalid"),
        "the table parses"
    );
    expected
}

/// docs/plans.md's table of shipped plans names every file in `plans/`,
/// so a new plan cannot land without saying what verdict to expect.
#[test]
fn plans_md_lists_every_shipped_plan() {
    let root = repo_root();
    let expected = expected_verdicts();
    let mut unlisted = Vec::new();
    let mut plans = 0;
    for entry in std::fs::read_dir(root.join("plans")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            plans += 1;
            if !expected.contains_key(&name) {
                unlisted.push(name);
            }
        }
    }
    assert!(plans > 10, "plans/ holds the shipped plans ({plans} found)");
    assert!(
        unlisted.is_empty(),
        "docs/plans.md does not list: {unlisted:?}"
    );
}
