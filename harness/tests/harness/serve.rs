//! `harness serve` over real HTTP: the index lists runs newest first by
//! verdict, files and on-the-fly reports are served, and no request path
//! (`..`, encoded `..%2f`, backslashes, absolute paths, symlinks pointing
//! out) reaches a file outside the runs directory.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use clap::Parser;

use crate::{report::fixture_run, support::harness};

const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-RUNS-DIR";

/// A `harness serve` child, stopped on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = Command::new(harness())
        .args(["serve", "--addr", "127.0.0.1:0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("harness starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "serving DIR at http://127.0.0.1:PORT/"
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .and_then(|a| a.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    Server { child, addr }
}

/// A raw HTTP/1.1 GET, so that no client library normalizes the path.
fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn write_run(runs: &Path, plan: &str, name: &str, verdict: &str) {
    let dir = runs.join(plan).join(name);
    std::fs::create_dir_all(dir.join("nodes")).unwrap();
    std::fs::write(
        dir.join("history.jsonl"),
        "{\"index\":0,\"time\":1000,\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"k\",\"value\":null}\n\
         {\"index\":1,\"time\":2000,\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"k\",\"value\":null}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("results.json"),
        format!(
            r#"{{"version":1,"verdict":"{verdict}","checkers":{{"linearizable":{{"verdict":"{verdict}","summary":"1 key(s) checked"}}}}}}"#
        ),
    )
    .unwrap();
    std::fs::write(dir.join("nodes/n1.log"), "n1 hello\n").unwrap();
}

/// runs/ with an invalid run (the fixture), a valid and an unknown one,
/// `latest`, and traps: a secret beside runs/, a log symlinked to it, a
/// directory symlinked outside.
fn runs_with_traps(tmp: &Path) -> std::path::PathBuf {
    let fixture = fixture_run(tmp);
    let runs = tmp.join("runs");
    write_run(&runs, "default", "20261127T000000Z", "valid");
    write_run(&runs, "default", "20261125T000000Z", "unknown");
    std::os::unix::fs::symlink(fixture.strip_prefix(&runs).unwrap(), runs.join("latest")).unwrap();
    std::fs::write(tmp.join("secret.txt"), SECRET).unwrap();
    std::os::unix::fs::symlink(
        tmp.join("secret.txt"),
        runs.join("default/20261127T000000Z/nodes/evil.log"),
    )
    .unwrap();
    std::os::unix::fs::symlink(tmp, runs.join("default/escape")).unwrap();
    runs
}

#[test]
fn index_lists_runs_newest_first_coloured_by_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_traps(tmp.path());
    let server = serve(&runs);
    let (status, head, body) = get(server.addr, "/");
    assert_eq!(status, 200, "{head}");
    let valid = body.find("20261127T000000Z").expect("valid run listed");
    let invalid = body.find("20261126T111102Z").expect("fixture listed");
    let unknown = body.find("20261125T000000Z").expect("unknown run listed");
    assert!(valid < invalid && invalid < unknown, "newest first");
    assert!(body.contains(r#"<tr class="valid">"#));
    assert!(body.contains(r#"<tr class="invalid">"#));
    assert!(body.contains(r#"<tr class="unknown">"#));
    assert_eq!(
        body.matches("<tr class=").count(),
        3,
        "latest is not listed twice"
    );
    assert!(body.contains(r#"href="/runs/report-fixture/20261126T111102Z/report.html""#));
    assert!(body.contains(r#"href="/runs/default/20261127T000000Z/nodes/n1.log""#));
}

#[test]
fn reports_histories_and_logs_are_served() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_traps(tmp.path());
    let server = serve(&runs);
    // No report.html yet: rendered on the fly.
    let (status, head, body) = get(
        server.addr,
        "/runs/report-fixture/20261126T111102Z/report.html",
    );
    assert_eq!(status, 200, "{head}");
    assert!(head.to_lowercase().contains("content-type: text/html"));
    assert!(
        head.to_lowercase()
            .contains("content-security-policy: default-src 'none'")
    );
    assert!(body.contains(r#"id="verdict">INVALID<"#));
    let (status, _, body) = get(server.addr, "/runs/latest/history.jsonl");
    assert_eq!(status, 200, "latest points inside the runs directory");
    assert!(body.starts_with("{\"index\":0"));
    let (status, _, body) = get(server.addr, "/runs/default/20261127T000000Z/nodes/n1.log");
    assert_eq!((status, body.as_str()), (200, "n1 hello\n"));
    let (status, _, body) = get(server.addr, "/runs/default/20261127T000000Z/");
    assert_eq!(status, 200);
    assert!(body.contains(r#"href="results.json""#));
    let (status, _, _) = get(server.addr, "/runs/default/nothing-here");
    assert_eq!(status, 404);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "DELETE /runs/default/20261127T000000Z/results.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
}

#[test]
fn path_traversal_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs_with_traps(tmp.path());
    let server = serve(&runs);
    for path in [
        "/runs/../secret.txt",
        "/runs/..%2fsecret.txt",
        "/runs/..%2Fsecret.txt",
        "/runs/%2e%2e/secret.txt",
        "/runs/%2e%2e%2fsecret.txt",
        "/runs/default/..%2f..%2fsecret.txt",
        "/runs/default/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/runs/..%5csecret.txt",
        "/runs/%2f..%2fsecret.txt",
        "/runs//../secret.txt",
        "/runs/.%2f..%2fsecret.txt",
        "/runs/default/escape/secret.txt",
        "/runs/default/20261127T000000Z/nodes/evil.log",
        "/runs/default/escape/",
        "/../secret.txt",
        "/runs/%252e%252e/secret.txt",
    ] {
        let (status, head, body) = get(server.addr, path);
        assert!(
            status == 403 || status == 404 || status == 400,
            "{path}: {head}\n{body}"
        );
        assert!(!body.contains(SECRET), "{path} leaked the secret");
    }
    for path in [
        "/runs/..%2fsecret.txt",
        "/runs/default/escape/secret.txt",
        "/runs/default/20261127T000000Z/nodes/evil.log",
    ] {
        assert_eq!(
            get(server.addr, path).0,
            403,
            "{path} is refused, not missing"
        );
    }
}

#[test]
fn serve_binds_loopback_by_default() {
    let cli = harness::cli::Cli::try_parse_from(["harness", "serve"]).unwrap();
    let harness::cli::Command::Serve(args) = cli.command else {
        panic!("parsed as serve");
    };
    assert_eq!(args.addr, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(args.dir, Path::new("runs"));
}

/// Files are streamed, not read whole per request: six concurrent slow
/// downloads of a 96 MiB history keep the server far below 6 x 96 MiB.
#[test]
fn large_files_are_streamed() {
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("big/20261206T000000Z");
    std::fs::create_dir_all(&dir).unwrap();
    let line = format!("{}\n", "x".repeat(1023));
    let mut file = std::fs::File::create(dir.join("history.jsonl")).unwrap();
    for _ in 0..96 * 1024 {
        file.write_all(line.as_bytes()).unwrap();
    }
    drop(file);
    let server = serve(runs.path());
    let addr = server.addr;
    let downloads: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                write!(
                    stream,
                    "GET /runs/big/20261206T000000Z/history.jsonl HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                // Read slowly at first, so that all six are in flight at
                // once, then drain.
                let mut buf = vec![0; 64 * 1024];
                let mut total = 0;
                for _ in 0..20 {
                    total += stream.read(&mut buf).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                }
                loop {
                    match stream.read(&mut buf).unwrap() {
                        0 => break total,
                        n => total += n,
                    }
                }
            })
        })
        .collect();
    for download in downloads {
        let got = download.join().unwrap();
        assert!(
            got > 96 * 1024 * 1024,
            "the whole file arrived ({got} bytes)"
        );
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmHWM");
    assert!(
        peak_kb < 150 * 1024,
        "serving 6 x 96 MiB took {} MiB at peak",
        peak_kb / 1024
    );
}
