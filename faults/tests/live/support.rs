//! Shared machinery of the live tests: roles, children (and controllers
//! to SIGKILL), host snapshots, the listener node and its client, and a
//! minimal HTTP/1.1 exchange for the tests that talk to real servers.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream},
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, Command, ExitCode, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use faults::{NodeName, netns, node::loopback_addr, process::NodeSpec};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::Scenario;

/// The environment variable that selects what a re-executed copy does.
pub const ROLE: &str = "FAULTS_LIVE_ROLE";
const LISTEN_ADDR: &str = "FAULTS_LIVE_ADDR";
const LISTEN_NAME: &str = "FAULTS_LIVE_NAME";
/// Set to 1 (as `.ci/run` does) to fail instead of skipping.
pub const REQUIRE: &str = "HARNESS_REQUIRE_PRIVILEGES";
/// The port every listener node uses on its own address.
pub const PORT: u16 = 7000;

/// A test's result.
pub enum Verdict {
    Pass,
    Skip(String),
    Fail(String),
}

/// What this copy of the binary is.
pub enum Role {
    Listener,
    Scenario(String),
}

pub fn role() -> Option<Role> {
    let role = std::env::var(ROLE).ok()?;
    Some(match role.strip_prefix("scenario:") {
        Some(name) => Role::Scenario(name.to_owned()),
        None if role == "listener" => Role::Listener,
        None => panic!("unknown {ROLE}={role}"),
    })
}

/// Skip with `reason`, or fail under `HARNESS_REQUIRE_PRIVILEGES=1`.
pub fn skip_or_fail(reason: impl Into<String>) -> Verdict {
    let reason = reason.into();
    if std::env::var(REQUIRE).as_deref() == Ok("1") {
        Verdict::Fail(format!("{reason}, and {REQUIRE}=1 forbids skipping"))
    } else {
        Verdict::Skip(reason)
    }
}

/// `Err(verdict)` unless we are root and iptables is installed.
pub fn require_privileges() -> Result<(), Verdict> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(skip_or_fail("needs root"));
    }
    require_iptables()
}

/// `Err(verdict)` unless iptables is installed; without root, the scenario
/// must then get a user namespace (see [`run_namespaced_scenario`]).
pub fn require_iptables() -> Result<(), Verdict> {
    for program in ["iptables", "iptables-restore"] {
        if which(program).is_none() {
            return Err(skip_or_fail(format!(
                "`{program}` is not installed (apt-get install -y iptables)"
            )));
        }
    }
    Ok(())
}

/// Run a scenario that enters a private namespace, as root or (failing
/// that) through an unprivileged user namespace; skip when neither works.
pub fn run_namespaced_scenario(name: &str, timeout: Duration) -> Verdict {
    match run_with_timeout(scenario_command(name), timeout) {
        Ok(out) if out.status.success() => Verdict::Pass,
        Ok(out)
            if String::from_utf8_lossy(&out.stderr)
                .contains("cannot enter a private network namespace") =>
        {
            skip_or_fail("neither root nor unprivileged user namespaces are available")
        }
        Ok(out) => Verdict::Fail(describe(name, &out)),
        Err(e) => Verdict::Fail(e),
    }
}

pub fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A command re-executing this binary as scenario `name`, in its own
/// process group so that a timeout can kill all of it.
pub fn scenario_command(name: &str) -> Command {
    scenario_command_at(&std::env::current_exe().expect("own path"), name)
}

/// [`scenario_command`], running a copy of this binary at `exe`.
pub fn scenario_command_at(exe: &Path, name: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env(ROLE, format!("scenario:{name}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}

/// Run scenario `name` to completion (at most `timeout`) and judge it by
/// its exit status.
pub fn run_scenario(name: &str, timeout: Duration) -> Verdict {
    match run_with_timeout(scenario_command(name), timeout) {
        Ok(out) if out.status.success() => Verdict::Pass,
        Ok(out) => Verdict::Fail(describe(name, &out)),
        Err(e) => Verdict::Fail(e),
    }
}

pub fn describe(name: &str, out: &Output) -> String {
    format!(
        "scenario {name} ended with {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run `cmd`, killing its process group after `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot spawn {cmd:?}: {e}"))?;
    let out = drain(&mut child);
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let (stdout, stderr) = out.join().expect("drain thread");
                return Ok(Output {
                    status,
                    stdout,
                    stderr,
                });
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
                let status = child.wait().map_err(|e| e.to_string())?;
                let (stdout, stderr) = out.join().expect("drain thread");
                let out = Output {
                    status,
                    stdout,
                    stderr,
                };
                return Err(format!(
                    "timed out after {timeout:?}\n{}",
                    describe("", &out)
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Read a child's stdout and stderr to the end, on a thread.
fn drain(child: &mut Child) -> std::thread::JoinHandle<(Vec<u8>, Vec<u8>)> {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        let err = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        (buf, err.join().unwrap_or_default())
    })
}

/// The host's rulesets, as read by the read-only `*-save` commands that are
/// installed, with comments and counters removed.
pub fn host_rules() -> String {
    let mut snapshot = String::new();
    for (program, args) in [
        ("iptables-save", &[][..]),
        ("iptables-legacy-save", &[][..]),
        ("ip6tables-save", &[][..]),
        ("nft", &["list", "ruleset"][..]),
    ] {
        let Some(path) = which(program) else { continue };
        let out = Command::new(path)
            .args(args)
            .output()
            .expect("a -save command runs");
        snapshot.push_str(&format!("## {program} ({})\n", out.status));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if !line.starts_with('#') {
                snapshot.push_str(&normalize_counters(line));
                snapshot.push('\n');
            }
        }
    }
    snapshot
}

/// `[12:3400]` -> `[0:0]`; `packets 12 bytes 3400` -> `packets 0 bytes 0`.
fn normalize_counters(line: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for word in line.split(' ') {
        let counted = matches!(words.last().map(String::as_str), Some("packets" | "bytes"));
        let bracketed = word.starts_with('[') && word.ends_with(']') && word.contains(':');
        words.push(if bracketed {
            "[0:0]".into()
        } else if counted && word.parse::<u64>().is_ok() {
            "0".into()
        } else {
            word.into()
        });
    }
    words.join(" ")
}

/// Is `pid` a live (non-zombie) process?
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Wait up to `timeout` for `pred`.
pub fn eventually(timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pred() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- inside children -------------------------------------------------

/// Enter the namespace if asked, then run the scenario on a runtime.
pub fn scenario_main(scenario: &Scenario) -> ExitCode {
    if scenario.private_namespace {
        let mode = netns::enter_private_namespace().expect("enter a private network namespace");
        println!("MODE {mode:?}");
        println!(
            "NETNS {}",
            netns::current_namespace().expect("own namespace").ino
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on((scenario.body)());
    ExitCode::SUCCESS
}

/// A node process: this binary as a listener on `addr`, logging in `dir`.
pub fn listener_spec(name: &NodeName, addr: SocketAddrV4, dir: &Path) -> NodeSpec {
    NodeSpec::new(
        name.clone(),
        std::env::current_exe().expect("own path"),
        dir.join(format!("{name}.log")),
    )
    .env(ROLE, "listener")
    .env(LISTEN_ADDR, addr.to_string())
    .env(LISTEN_NAME, name.as_str())
}

/// Node `i`'s listening address: `127.0.0.(10+i):7000`.
pub fn node_addr(i: u32) -> SocketAddrV4 {
    SocketAddrV4::new(loopback_addr(i).expect("small node number"), PORT)
}

/// A listener node: answers each line with `pong <name>`, a thread per
/// connection, until killed.
pub fn listener_main() -> ExitCode {
    let addr = std::env::var(LISTEN_ADDR).expect("listen address");
    let name = std::env::var(LISTEN_NAME).expect("node name");
    let listener = TcpListener::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    eprintln!("{name} listening on {addr}");
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let name = name.clone();
        std::thread::spawn(move || {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut line = String::new();
            let mut reader = BufReader::new(conn.try_clone().expect("clone socket"));
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if conn.write_all(format!("pong {name}\n").as_bytes()).is_err() {
                    break;
                }
                line.clear();
            }
        });
    }
    ExitCode::SUCCESS
}

/// One request/response with a node: connect to `to` (from `from`'s
/// address, like a peer node, or from 127.0.0.1 like a client), send a
/// line, read the answer, all within `timeout`.
pub async fn request(
    from: Option<Ipv4Addr>,
    to: SocketAddrV4,
    timeout: Duration,
) -> Result<String, String> {
    let exchange = async {
        let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
        if let Some(ip) = from {
            socket
                .bind((ip, 0).into())
                .map_err(|e| format!("bind {ip}: {e}"))?;
        }
        let mut stream = socket
            .connect(to.into())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(b"ping\n")
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        tokio::io::BufReader::new(&mut stream)
            .read_line(&mut line)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if line.is_empty() {
            return Err("closed without answering".to_owned());
        }
        Ok(line.trim().to_owned())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {timeout:?}")))
}

/// Wait up to `timeout` for `to` to answer a client.
pub async fn wait_reachable(to: SocketAddrV4, timeout: Duration) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = request(None, to, Duration::from_millis(500)).await;
        if last.is_ok() || tokio::time::Instant::now() >= deadline {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every task in the system whose namespace of `kind` (`net`, `mnt`, ...)
/// has inode `ino`: what survives of a run, if anything.
pub fn tasks_in_namespace(kind: &str, ino: u64) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for proc in procs.flatten() {
        let Ok(tasks) = std::fs::read_dir(proc.path().join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let ns = task.path().join("ns").join(kind);
            if std::fs::metadata(ns).is_ok_and(|m| m.ino() == ino) {
                found.push(task.path().display().to_string());
            }
        }
    }
    found
}

/// Spawns the scenario `name`, a controller, and hands each line it prints
/// to `report` until it prints `READY`. A controller not ready within 30 s
/// is killed, and the verdict gives its exit status and stderr.
pub fn spawn_until_ready(name: &str, mut report: impl FnMut(&str)) -> Result<Child, Verdict> {
    let mut child = scenario_command(name)
        .spawn()
        .expect("spawn the controller");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line == "READY" => return Ok(child),
            Ok(line) => report(&line),
            Err(_) => {
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                let out = child.wait_with_output().expect("reap");
                return Err(Verdict::Fail(format!(
                    "the controller never became ready ({})\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
        }
    }
}

/// SIGKILLs the controller `child` and reaps it; a verdict when it did not
/// die of a signal.
pub fn sigkill_controller(child: &mut Child) -> Result<(), Verdict> {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("SIGKILL the controller");
    let status = child.wait().expect("reap the controller");
    if status.code().is_some() {
        return Err(Verdict::Fail(format!(
            "the controller was not killed by a signal: {status}"
        )));
    }
    Ok(())
}

/// One HTTP/1.1 exchange with `to` (`Connection: close`), connecting and
/// reading each within `timeout`; the response's head and body.
pub fn http_exchange(
    to: SocketAddrV4,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> Result<(String, String), String> {
    let mut stream = TcpStream::connect_timeout(&to.into(), timeout)
        .map_err(|e| format!("connect {to}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no HTTP body")?;
    Ok((head.to_owned(), body.to_owned()))
}
