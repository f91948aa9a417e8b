//! `crash-at-fsync` at the snapshot install of a lagging follower.
//!
//! Three `target-node`s snapshot every 10 entries and keep no log behind
//! a snapshot. A follower is killed, the others move on (and purge), and
//! the follower restarts: it can only catch up by installing the leader's
//! snapshot, while openraft purges its log without waiting for the
//! install. For each of its first `state.redb` syncs in turn, the follower
//! is killed *at* that sync (before it returns), loses power, and
//! restarts: it must start and catch up every time. Before the purge was held back to the durable
//! state machine, the crash at the install's sync left a log starting
//! after the state machine, and the follower could never start again.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use crate::{
    disk::{DiskScenario, run},
    disk_cluster::{
        BIN_ENV, addr, http, lost_writes, mount_nodes, print_node_logs, shut_down, spec,
        target_node, write_keys,
    },
    support::{Verdict, skip_or_fail},
};
use faults::{
    Nemesis, NodeName,
    disk::{DurableFs, FsyncTrigger},
    net::LoopbackIptables,
};
use nix::{
    sys::signal::{Signal, killpg},
    unistd::{Pid, getpgid},
};

pub const SCENARIO: DiskScenario = DiskScenario {
    name: "disk-snapshot-install-crash",
    body,
};

/// At most this many of the follower's first `state.redb` syncs after a
/// restart are tried (the sweep ends at the first one not reached: the
/// node opens its stores with five, and installs the snapshot with the
/// seventh).
const SYNCS_TRIED: u64 = 12;

pub fn follower_survives_crashes_at_install() -> Verdict {
    let Some(bin) = target_node() else {
        return skip_or_fail(
            "the target-node binary is not built (cargo build -p target-node, or set TARGET_NODE_BIN)",
        );
    };
    // SAFETY: set before any thread of this (parent) process reads it.
    unsafe { std::env::set_var(BIN_ENV, bin) };
    run(SCENARIO.name, Duration::from_secs(240))
}

/// A node's `/status` field as an index.
fn status(i: u32, field: &str) -> Option<u64> {
    match http(addr(i), "GET", "/status", None) {
        Ok((200, body)) => body[field].as_u64(),
        _ => None,
    }
}

/// Wait until node `v` has applied as far as the furthest other node.
fn caught_up(v: u32, deadline: Instant) -> Result<(), String> {
    loop {
        let target = (1..=3)
            .filter(|&i| i != v)
            .filter_map(|i| status(i, "last_applied"))
            .max();
        let own = status(v, "last_applied");
        if target.is_some() && own >= target {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "n{v} did not catch up: applied {own:?} of {target:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A node that is not the leader, as the nodes see it.
fn a_follower(deadline: Instant) -> Result<u32, String> {
    loop {
        if let Some(leader) = (1..=3).find_map(|i| status(i, "leader")) {
            return Ok(if leader == 3 { 2 } else { 3 });
        }
        if Instant::now() > deadline {
            return Err("no leader known".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn body() -> Result<(), String> {
    let bin = PathBuf::from(std::env::var_os(BIN_ENV).ok_or("TARGET_NODE_BIN is not set")?);
    let dir = tempfile::Builder::new()
        .prefix("faults-install-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mounts = mount_nodes(&dir.path().join("nodes"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let mut nemesis = Nemesis::<LoopbackIptables>::new(None);
    for (i, fs) in (1..).zip(&mounts) {
        let spec = spec(&bin, dir.path(), i, fs.mountpoint(), false).args([
            "--snapshot-threshold",
            "10",
            "--log-keep",
            "0",
        ]);
        runtime
            .block_on(nemesis.start_node(spec))
            .map_err(|e| e.to_string())?;
    }
    let outcome = crash_points(&runtime, &mut nemesis, &mounts);
    // FAULTS_LIVE_DUMP_LOGS=1 shows the node logs of a passing run too.
    if outcome.is_err() || std::env::var_os("FAULTS_LIVE_DUMP_LOGS").is_some() {
        print_node_logs(dir.path());
    }
    shut_down(&runtime, nemesis, mounts)?;
    outcome
}

fn crash_points(
    runtime: &tokio::runtime::Runtime,
    nemesis: &mut Nemesis<LoopbackIptables>,
    mounts: &[DurableFs],
) -> Result<(), String> {
    crate::disk_cluster::read("probe", Instant::now() + Duration::from_secs(30))?;
    let v = a_follower(Instant::now() + Duration::from_secs(10))?;
    let (victim, disk) = ([NodeName::numbered(v)], &mounts[v as usize - 1]);
    let mut acked = Vec::new();
    let mut fired = 0;
    for nth in 1..=SYNCS_TRIED {
        runtime
            .block_on(nemesis.kill(&victim))
            .map_err(|e| e.to_string())?;
        // Enough writes for two snapshots: the leader purges past the
        // follower's log.
        let first = (nth as u32 - 1) * 25;
        acked.extend(write_keys(first..first + 25)?);
        std::thread::sleep(Duration::from_millis(500));
        disk.crash_at_fsync(FsyncTrigger::nth(nth).of_path("state.redb"), |point| {
            if let Ok(group) = getpgid(Some(Pid::from_raw(point.pid as i32))) {
                let _ = killpg(group, Signal::SIGKILL);
            }
            println!("crash point: {point:?}");
        });
        runtime
            .block_on(nemesis.restart(&victim))
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while disk.stats().crash_armed && caught_up(v, Instant::now()).is_err() {
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let reached = !disk.disarm_crash();
        if !reached {
            println!(
                "sync {nth}: not reached (n{v} caught up first); syncs so far {:?}",
                disk.stats().syncs_by_path
            );
        } else {
            fired += 1;
            // The action killed the follower inside its sync: reap it, lose power,
            // start it again.
            runtime
                .block_on(nemesis.kill(&victim))
                .map_err(|e| e.to_string())?;
            let _ = nemesis.unexpected_exits();
            let report = disk.power_loss().map_err(|e| e.to_string())?;
            println!("sync {nth}: crashed there, power loss {report:?}");
            runtime
                .block_on(nemesis.restart(&victim))
                .map_err(|e| e.to_string())?;
        }
        caught_up(v, Instant::now() + Duration::from_secs(30))?;
        let exits = nemesis.unexpected_exits();
        if !exits.is_empty() {
            return Err(format!("n{v} died after crash point {nth}: {exits:?}"));
        }
        if !reached {
            // Later syncs would not be reached either.
            break;
        }
    }
    if fired == 0 {
        return Err("no crash point was reached: the test exercised nothing".into());
    }
    let lost = lost_writes(&acked)?;
    if !lost.is_empty() {
        return Err(format!("acknowledged writes lost: {lost:?}"));
    }
    let purged = status(v, "purged");
    println!("n{v} purged up to {purged:?}; {fired} crash points hit");
    Ok(())
}
