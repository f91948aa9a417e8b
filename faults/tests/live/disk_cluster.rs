//! Three real `target-node` processes on durable mounts lose power
//! together. With the default (fsyncing) node every acknowledged write is
//! still there after the restart; with `--unsafe-no-fsync` acknowledged
//! writes are lost, which shows the fault is real.
//!
//! Needs the `target-node` binary next to this test's directory (built by
//! `cargo test --workspace`, or `cargo build -p target-node`), or at
//! `$TARGET_NODE_BIN`; skips (or fails under
//! `HARNESS_REQUIRE_PRIVILEGES=1`) without it.

use std::{
    net::SocketAddrV4,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use faults::{
    Nemesis, NodeName, NodeSpec, disk::DurableFs, net::LoopbackIptables, node::loopback_addr,
};
use serde_json::Value;

use crate::{
    disk::{DiskScenario, run},
    support::{Verdict, http_exchange, skip_or_fail},
};

pub const SAFE: DiskScenario = DiskScenario {
    name: "disk-cluster-safe",
    body: || cluster_body(false),
};
pub const UNSAFE: DiskScenario = DiskScenario {
    name: "disk-cluster-unsafe",
    body: || cluster_body(true),
};

pub(crate) const BIN_ENV: &str = "TARGET_NODE_BIN";
const PORT: u16 = 8000;
/// Writes attempted before the power loss.
const WRITES: u32 = 40;

/// The target-node binary: `$TARGET_NODE_BIN`, or `target/<profile>/target-node`.
pub(crate) fn target_node() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(BIN_ENV) {
        return Some(PathBuf::from(path));
    }
    // This test runs as target/<profile>/deps/live-<hash>.
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("target-node");
    path.is_file().then_some(path)
}

pub(crate) fn run_cluster(name: &str) -> Verdict {
    let Some(bin) = target_node() else {
        return skip_or_fail(
            "the target-node binary is not built (cargo build -p target-node, or set TARGET_NODE_BIN)",
        );
    };
    // SAFETY: set before any thread of this (parent) process reads it;
    // the child inherits it.
    unsafe { std::env::set_var(BIN_ENV, bin) };
    run(name, Duration::from_secs(120))
}

pub fn safe_survives() -> Verdict {
    run_cluster(SAFE.name)
}

pub fn unsafe_loses() -> Verdict {
    run_cluster(UNSAFE.name)
}

pub(crate) fn addr(i: u32) -> SocketAddrV4 {
    SocketAddrV4::new(loopback_addr(i).expect("small node number"), PORT)
}

/// One HTTP/1.1 exchange; `(status, JSON body)`.
pub(crate) fn http(
    to: SocketAddrV4,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, Value), String> {
    let body = body.unwrap_or("");
    let (head, body) = http_exchange(to, method, path, body, Duration::from_secs(3))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// Read `key` linearizably from any node, retrying through elections.
pub(crate) fn read(key: &str, deadline: Instant) -> Result<Value, String> {
    let mut last = String::new();
    while Instant::now() < deadline {
        for i in 1..=3 {
            match http(addr(i), "GET", &format!("/kv/{key}"), None) {
                Ok((200, body)) => return Ok(body["value"].clone()),
                Ok((status, body)) => last = format!("{status} {body}"),
                Err(e) => last = e,
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("no node answered a read of {key}: {last}"))
}

pub(crate) fn spec(
    bin: &PathBuf,
    dir: &std::path::Path,
    i: u32,
    data: &std::path::Path,
    unsafe_: bool,
) -> NodeSpec {
    let mut spec = NodeSpec::new(NodeName::numbered(i), bin, dir.join(format!("n{i}.log")))
        .args(["--id", &i.to_string(), "--listen", &addr(i).to_string()])
        .arg("--data-dir")
        .arg(data);
    for j in 1..=3 {
        spec = spec.args(["--peer", &format!("{j}={}", addr(j))]);
    }
    if unsafe_ {
        spec = spec.arg("--unsafe-no-fsync");
    }
    // The nodes authenticate each other with a shared secret.
    spec.env("TARGET_NODE_CLUSTER_SECRET", "disk-tests-cluster-secret")
}

fn cluster_body(unsafe_no_fsync: bool) -> Result<(), String> {
    let bin = PathBuf::from(std::env::var_os(BIN_ENV).ok_or("TARGET_NODE_BIN is not set")?);
    let dir = tempfile::Builder::new()
        .prefix("faults-cluster-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mounts = mount_nodes(&dir.path().join("nodes"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let mut nemesis = Nemesis::<LoopbackIptables>::new(None);
    for (i, fs) in (1..).zip(&mounts) {
        let spec = spec(&bin, dir.path(), i, fs.mountpoint(), unsafe_no_fsync);
        runtime
            .block_on(nemesis.start_node(spec))
            .map_err(|e| e.to_string())?;
    }
    let outcome = exercise(&runtime, &mut nemesis, &mounts, unsafe_no_fsync);
    if outcome.is_err() {
        print_node_logs(dir.path());
    }
    shut_down(&runtime, nemesis, mounts)?;
    outcome
}

/// A durable mount for each of the three nodes: `nodes/n<i>`, backed by
/// `nodes/n<i>.backing`.
pub fn mount_nodes(nodes: &Path) -> Result<Vec<DurableFs>, String> {
    (1..=3)
        .map(|i| {
            DurableFs::mount(
                nodes.join(format!("n{i}.backing")),
                nodes.join(format!("n{i}")),
            )
            .map_err(|e| e.to_string())
        })
        .collect()
}

/// Every node's log (`n1.log` to `n3.log` in `dir`), on stderr.
pub fn print_node_logs(dir: &Path) {
    for i in 1..=3 {
        let log = std::fs::read_to_string(dir.join(format!("n{i}.log")));
        eprintln!("--- n{i}.log\n{}", log.unwrap_or_default());
    }
}

/// Stops every node, then unmounts their file systems.
pub fn shut_down(
    runtime: &tokio::runtime::Runtime,
    nemesis: Nemesis<LoopbackIptables>,
    mounts: Vec<DurableFs>,
) -> Result<(), String> {
    runtime
        .block_on(nemesis.shutdown())
        .map_err(|e| e.to_string())?;
    for fs in mounts {
        fs.unmount().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Write, kill every node, restart, read back: nothing may be lost. Then
/// write more, kill every node *and lose power*, restart, read back.
fn exercise(
    runtime: &tokio::runtime::Runtime,
    nemesis: &mut Nemesis<LoopbackIptables>,
    mounts: &[DurableFs],
    unsafe_no_fsync: bool,
) -> Result<(), String> {
    read("probe", Instant::now() + Duration::from_secs(30))?;
    let mut acked = write_keys(0..WRITES / 2)?;
    crash_all(runtime, nemesis, &[])?;
    let lost = lost_writes(&acked)?;
    if !lost.is_empty() {
        return Err(format!(
            "a kill (no power loss) lost acknowledged writes: {lost:?}"
        ));
    }
    acked.extend(write_keys(WRITES / 2..WRITES)?);
    crash_all(runtime, nemesis, mounts)?;
    let lost = lost_writes(&acked)?;
    println!(
        "LOST {} of {} acknowledged writes: {lost:?}",
        lost.len(),
        acked.len()
    );
    match (unsafe_no_fsync, lost.is_empty()) {
        (false, false) => Err(format!("acknowledged writes lost: {lost:?}")),
        (true, true) => Err("--unsafe-no-fsync lost nothing: the power loss did not bite".into()),
        _ => Ok(()),
    }
}

/// `PUT k<i> = i` for each `i`, round-robin over the nodes, each retried
/// for a few seconds (through an election); the acknowledged ones.
pub(crate) fn write_keys(keys: std::ops::Range<u32>) -> Result<Vec<u32>, String> {
    let tried = keys.len();
    let mut acked = Vec::new();
    for k in keys {
        let deadline = Instant::now() + Duration::from_secs(5);
        let body = format!("{{\"value\": {k}}}");
        for to in (1..=3).cycle().skip(k as usize % 3) {
            if let Ok((200, _)) = http(addr(to), "PUT", &format!("/kv/k{k}"), Some(&body)) {
                acked.push(k);
                break;
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if acked.len() < tried / 2 {
        return Err(format!(
            "only {} of {tried} writes were acknowledged",
            acked.len()
        ));
    }
    Ok(acked)
}

/// SIGKILL every node, lose power on `mounts`, restart every node.
fn crash_all(
    runtime: &tokio::runtime::Runtime,
    nemesis: &mut Nemesis<LoopbackIptables>,
    mounts: &[DurableFs],
) -> Result<(), String> {
    let all = nemesis.node_names();
    runtime
        .block_on(nemesis.kill(&all))
        .map_err(|e| e.to_string())?;
    for fs in mounts {
        let report = fs.power_loss().map_err(|e| e.to_string())?;
        println!("POWER LOSS {}: {report:?}", fs.mountpoint().display());
    }
    runtime
        .block_on(nemesis.restart(&all))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The acknowledged keys whose value is not what was written.
pub(crate) fn lost_writes(acked: &[u32]) -> Result<Vec<(u32, Value)>, String> {
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut lost = Vec::new();
    // Newest first: the last writes are the ones a restarted node is most
    // likely to have forgotten (or to not yet know committed).
    for &k in acked.iter().rev() {
        let value = read(&format!("k{k}"), deadline)?;
        if value != k {
            lost.push((k, value));
        }
    }
    Ok(lost)
}
