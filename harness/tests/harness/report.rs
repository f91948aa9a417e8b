//! Reports of a stored run: `harness report` writes report.html and
//! junit.xml; the page renders in a real browser (headless Chromium) with
//! its verdict and plots; every new run directory gets both files.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use crate::support::{harness, run_plan, text};

/// The stored run: a short dirty-read run (`--read-mode local`, isolate-one
/// partitions and a pause), trimmed to its plan, history, results and the
/// last lines of each node log.
const FIXTURE: &str = "tests/fixtures/runs/report-fixture/20261126T111102Z";

/// Copies the fixture run to `<tmp>/runs/report-fixture/<stamp>/`.
pub fn fixture_run(tmp: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let dst = tmp
        .join("runs/report-fixture")
        .join(src.file_name().unwrap());
    copy_dir(&src, &dst);
    dst
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

fn render(dir: &Path) {
    let output = Command::new(harness())
        .arg("report")
        .arg(dir)
        .output()
        .expect("harness starts");
    assert_eq!(
        output.status.code(),
        Some(0),
        "harness report failed:\n{}",
        text(&output.stderr)
    );
}

#[test]
fn report_command_writes_html_and_junit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_run(tmp.path());
    render(&dir);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for needle in [
        r#"id="verdict">INVALID<"#,
        "<th>read mode</th><td><b>local</b></td>",
        "9279271534833681191",
        &format!("harness run {}/plan.yaml", dir.display()),
        r#"<svg id="throughput-plot""#,
        r#"<svg id="latency-plot""#,
        "partition isolate-one",
        r#"class="cex-plot""#,
        "Stale read: ",
        r##"href="#log-n3""##,
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    let invalid_keys = results["checkers"]["linearizable"]["details"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .filter(|k| k["verdict"] == "invalid")
        .count();
    assert!(invalid_keys > 0);
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), 1, "{junit}");
    assert_eq!(
        junit.matches("<testcase ").count(),
        results["checkers"].as_object().unwrap().len() + invalid_keys,
        "one case per checker and per invalid key:\n{junit}"
    );
    assert_eq!(junit.matches("<failure ").count(), 1 + invalid_keys);
    assert!(junit.contains(r#"<testcase name="linearizable/"#));
    assert!(junit.contains("message=\"Stale read: "));
}

#[test]
fn report_of_a_missing_run_fails_with_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let output = Command::new(harness())
        .arg("report")
        .arg(tmp.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("nope/history.jsonl"));
}

/// Runs `command`, killing it after `limit`; stdout is read as it comes.
fn output_within(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Debian's chromium, or the browser named by `HARNESS_CHROMIUM` (e.g.
/// Google Chrome on GitHub's runners).
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HARNESS_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Headless Chromium, as root, offline, with a fresh profile.
fn browser(binary: &Path, profile: &Path) -> Command {
    let mut command = Command::new(binary);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(binary) = chromium() else {
        if std::env::var("HARNESS_REQUIRE_PRIVILEGES").as_deref() == Ok("1") {
            panic!("chromium is not installed (HARNESS_REQUIRE_PRIVILEGES=1; .ci/run installs it)");
        }
        eprintln!("SKIPPED report_renders_in_headless_chromium: chromium is not installed");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_run(tmp.path());
    render(&dir);
    let url = format!("file://{}", dir.join("report.html").display());

    let mut dump = browser(&binary, &tmp.path().join("profile-dom"));
    dump.arg("--dump-dom").arg(&url);
    let output = output_within(dump, Duration::from_secs(90));
    let dom = text(&output.stdout);
    assert!(
        output.status.success() && dom.contains("</html>"),
        "chromium --dump-dom failed: {}\n{}",
        output.status,
        text(&output.stderr)
    );
    for needle in [
        r#"id="verdict">INVALID</div>"#,
        r#"<svg id="throughput-plot""#,
        r#"<svg id="latency-plot""#,
        r#"class="cex-plot""#,
        r#"class="timeline""#,
        "Stale read: ",
    ] {
        assert!(dom.contains(needle), "the rendered page lacks {needle}");
    }

    let png = tmp.path().join("report.png");
    let mut shot = browser(&binary, &tmp.path().join("profile-shot"));
    shot.arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1400,2400")
        .arg(&url);
    let output = output_within(shot, Duration::from_secs(90));
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}); chromium said: {}",
            text(&output.stderr)
        )
    });
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(bytes.len() > 50_000, "a page with plots, not a blank one");
    eprintln!("screenshot: {}", png.display());
    // To look at it: HARNESS_REPORT_SCREENSHOT=/some/path.png cargo test ...
    if let Ok(keep) = std::env::var("HARNESS_REPORT_SCREENSHOT") {
        std::fs::copy(&png, &keep).unwrap();
        eprintln!("screenshot copied to {keep}");
    }
}

#[test]
fn every_run_directory_gets_a_report_and_junit() {
    // Pauses only: no network faults, so no private namespace is needed.
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("short.yaml");
    std::fs::write(
        &plan,
        "name: report-e2e\n\
         workload: { kind: register, keys: 2, concurrency: 3, rate: 60, timeout: 1s }\n\
         duration: 3s\n\
         faults: { timeline: [ { at: 1s, fault: pause, target: one, for: 1s } ] }\n\
         final: { settle: 500ms }\n",
    )
    .unwrap();
    let runs = tmp.path().join("runs");
    let output = run_plan(&plan, &runs, &[]);
    assert!(
        matches!(output.status.code(), Some(0..=2)),
        "the run finished with a verdict:\n{}",
        text(&output.stderr)
    );
    let latest = runs.join("latest");
    let html = std::fs::read_to_string(latest.join("report.html")).expect("report.html");
    assert!(html.contains(r#"<svg id="throughput-plot""#));
    assert!(html.contains(">pause n"), "the pause window is labelled");
    let junit = std::fs::read_to_string(latest.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains(r#"<testsuite name="report-e2e/"#), "{junit}");
}
