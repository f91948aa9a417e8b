//! The nemesis's disk verbs on a real node process: `fsync_error` and
//! `fsync_ok`, `power_loss`, `crashed_at_fsync` and the restarts that end
//! them, with the events each records and how they pair.
//!
//! The node is this binary in the `disk-node` role: it appends a line and
//! `fsync`s it every 20 ms, forever, printing whether each sync worked.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    path::PathBuf,
    process::ExitCode,
    sync::mpsc,
    time::{Duration, Instant},
};

use crate::{
    disk::{DiskScenario, run},
    support::{ROLE, Verdict},
};
use faults::{
    EventName, FaultDetail, FaultReport, Nemesis, NodeName, NodeSpec,
    disk::{CrashPoint, Disks, DurableFs, FsyncTrigger},
    net::LoopbackIptables,
};

pub const SCENARIO: DiskScenario = DiskScenario {
    name: "disk-nemesis-verbs",
    body,
};

/// The role of the node process.
pub const NODE: &str = "disk-node";
const NODE_FILE: &str = "FAULTS_LIVE_NODE_FILE";

pub fn verbs_record_paired_events() -> Verdict {
    run(SCENARIO.name, Duration::from_secs(60))
}

/// The node: append and `fsync` a line every 20 ms until killed.
pub fn node_main() -> ExitCode {
    let path = PathBuf::from(std::env::var_os(NODE_FILE).expect("file"));
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open the log");
    let _ = File::open(path.parent().expect("a parent")).and_then(|d| d.sync_all());
    for i in 1.. {
        let _ = file.write_all(format!("line {i}\n").as_bytes());
        match file.sync_all() {
            Ok(()) => println!("synced {i}"),
            Err(e) => println!("failed {i}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ExitCode::SUCCESS
}

/// `(event name, id)` of each event.
fn fs(report: &FaultReport) -> Vec<(EventName, u64)> {
    report.events.iter().map(|e| (e.f, e.value.id.0)).collect()
}

fn expect(what: &str, report: &FaultReport, want: &[(EventName, u64)]) -> Result<(), String> {
    if fs(report) == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: events {:?}, wanted {want:?}",
            report.events
        ))
    }
}

/// The `disk` map of the report's last event.
fn disk_of(report: &FaultReport) -> Result<serde_json::Value, String> {
    match report.events.last().map(|e| &e.value.detail) {
        Some(FaultDetail::Disk { disk, .. }) => {
            serde_json::to_value(disk).map_err(|e| e.to_string())
        }
        other => Err(format!("not a disk detail: {other:?}")),
    }
}

fn body() -> Result<(), String> {
    let dir = tempfile::Builder::new()
        .prefix("faults-nemesis-disk-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let n1 = NodeName::numbered(1);
    let fs = DurableFs::mount(dir.path().join("n1.backing"), dir.path().join("n1"))
        .map_err(|e| e.to_string())?;
    let file = fs.mountpoint().join("log");
    let disks = Disks::new([(n1.clone(), fs)].into());
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let spec = NodeSpec::new(n1.clone(), exe, dir.path().join("n1.log"))
        .env(ROLE, NODE)
        .env(NODE_FILE, &file);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let mut nemesis = Nemesis::<LoopbackIptables>::new(None);
    runtime
        .block_on(nemesis.start_node(spec))
        .map_err(|e| e.to_string())?;
    let outcome = runtime.block_on(verbs(&mut nemesis, &disks, &n1));
    runtime
        .block_on(nemesis.shutdown())
        .map_err(|e| e.to_string())?;
    drop(disks);
    outcome
}

async fn verbs(
    nemesis: &mut Nemesis<LoopbackIptables>,
    disks: &Disks,
    n1: &NodeName,
) -> Result<(), String> {
    let nodes = std::slice::from_ref(n1);
    let disk = disks.get(n1).expect("mounted");
    let err = |e: faults::FaultError| e.to_string();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // An fsync-error window counts the syncs it failed.
    let r = nemesis.fsync_error(nodes, disks).map_err(err)?;
    expect("fsync_error", &r, &[(EventName::StartFsyncError, 1)])?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = nemesis.fsync_ok();
    expect("fsync_ok", &r, &[(EventName::StopFsyncError, 1)])?;
    let failed = disk_of(&r)?["n1"]["failed_syncs"].as_u64().unwrap_or(0);
    if failed == 0 {
        return Err(format!("no sync failed in the window: {:?}", r.events));
    }
    expect("fsync_ok again", &nemesis.fsync_ok(), &[])?;

    // A power loss takes the node down until its restart.
    let r = nemesis.power_loss(nodes, disks).await.map_err(err)?;
    expect("power_loss", &r, &[(EventName::StartPowerLoss, 2)])?;
    if disk_of(&r)?["n1"]["lost"].is_null() {
        return Err(format!("no rollback recorded: {:?}", r.events));
    }
    if nemesis.node_mut(n1).is_some_and(|n| n.is_running()) {
        return Err("the node survived its power loss".into());
    }
    let r = nemesis.restart(nodes).await.map_err(err)?;
    expect("restart", &r, &[(EventName::StopPowerLoss, 2)])?;

    // A crash at the node's third sync from now: killed inside it, and
    // not a finding.
    let (tx, rx) = mpsc::channel::<CrashPoint>();
    // The action hands the crash point over and waits (as the harness's
    // does) until the nemesis has sent the node SIGKILL.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    disk.crash_at_fsync(FsyncTrigger::nth(3).of_path("log"), move |point| {
        let _ = tx.send(point.clone());
        if go_rx.recv_timeout(Duration::from_secs(5)).is_err() {
            let _ = point.kill_caller();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let point = loop {
        if let Ok(point) = rx.try_recv() {
            break point;
        }
        if Instant::now() > deadline {
            return Err("the crash point was not reached".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let r = nemesis
        .crashed_at_fsync(n1, &point, disks, move || {
            let _ = go_tx.send(());
        })
        .await
        .map_err(err)?;
    expect("crashed_at_fsync", &r, &[(EventName::StartCrashAtFsync, 3)])?;
    let site = &disk_of(&r)?["n1"]["crashed_at"];
    if site["path"] != "log" || site["nth"] != 3 {
        return Err(format!("crash site recorded as {site}"));
    }
    let exits = nemesis.unexpected_exits();
    if !exits.is_empty() {
        return Err(format!("the crash counted as a finding: {exits:?}"));
    }
    let r = nemesis.restart(nodes).await.map_err(err)?;
    expect("restart", &r, &[(EventName::StopCrashAtFsync, 3)])?;

    // A power loss of a killed node ends the kill and takes it over;
    // recovery ends the power loss.
    nemesis.kill(nodes).await.map_err(err)?;
    let r = nemesis.power_loss(nodes, disks).await.map_err(err)?;
    expect(
        "power_loss of a killed node",
        &r,
        &[(EventName::StopKill, 4), (EventName::StartPowerLoss, 5)],
    )?;
    let stops: Vec<(EventName, u64)> = nemesis
        .recover()
        .await
        .map_err(err)?
        .iter()
        .flat_map(fs)
        .collect();
    if stops != [(EventName::StopPowerLoss, 5)] {
        return Err(format!("recover recorded {stops:?}"));
    }
    Ok(())
}
