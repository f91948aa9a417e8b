//! `fault: crash-at-fsync`: each target node crashes at its `sync`th sync
//! call from the fault's start (counting only paths ending in `file`, if
//! given): it is SIGKILLed inside the call, before it returns, and its
//! disk loses what it had not synced, as a machine that crashed there
//! would come back. It restarts after `restart-after`. A node that makes
//! no such call within `for` is left alone (and the run notes it).
//!
//! How the kill stays the harness's own: the trigger's action runs on the
//! mount's FUSE thread while the node waits in its sync. It hands the
//! crash point to [`Fault::start`] here and waits (at most [`GO_AHEAD`]).
//! The nemesis sends the node SIGKILL, marked as its own, and only then
//! lets the action return, so the sync returns to a process that is
//! already dying; the nemesis reaps it as killed by the harness, and the
//! crash watch never sees an exit to report as a finding. Should the
//! controller not answer in time, the action kills the node itself.

use std::{
    collections::BTreeSet,
    path::{Component, Path},
    sync::mpsc as std_mpsc,
    time::Duration,
};

use faults::{
    FaultError, FaultReport, NodeName,
    disk::{CrashPoint, Disks, FsyncTrigger},
};
use plan::{FaultSpec, Plan, Problem};
use rand_chacha::ChaCha8Rng;
use systems::BoxFuture;
use tokio::sync::mpsc;

use super::{
    DEFAULT_FOR, Fault, NemesisContext, Setup, Started, disk, join, kill::DEFAULT_RESTART_AFTER,
    resolve, started,
};

/// How long a caught node waits for the controller to take the nemesis
/// before it is killed anyway; shorter than a kill's reaping deadline, so
/// that a kill of the same node in progress never waits on it.
pub const GO_AHEAD: Duration = Duration::from_secs(2);
/// The largest `sync` a plan may name.
pub const MAX_SYNC: u64 = 10_000_000;
/// The longest `file` a plan may name, in bytes.
pub const MAX_FILE: usize = 255;

pub struct CrashAtFsync;

/// A node caught at its crash point, waiting in its sync call.
struct Caught {
    node: NodeName,
    point: CrashPoint,
    /// Sent once the node has been sent SIGKILL; dropped unsent, it tells
    /// the action to kill the node itself.
    go_ahead: std_mpsc::SyncSender<()>,
}

impl Fault for CrashAtFsync {
    fn name(&self) -> &'static str {
        "crash-at-fsync"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["target", "sync", "file", "for", "restart-after"]
    }

    fn check(&self, _plan: &Plan, spec: &FaultSpec, problems: &mut Vec<Problem>) {
        match &spec.sync {
            None => problems.push(Problem::at(
                &spec.fault.referenced,
                "a crash-at-fsync fault needs `sync`: which sync call crashes the node (1 is the next)",
            )),
            Some(sync) if !(1..=MAX_SYNC).contains(&sync.value) => problems.push(Problem::at(
                &sync.referenced,
                format!("`sync` must be in 1..={MAX_SYNC}, not {}", sync.value),
            )),
            Some(_) => {}
        }
        if let Some(file) = &spec.file
            && let Err(why) = check_file(&file.value)
        {
            problems.push(Problem::at(&file.referenced, why));
        }
    }

    fn uses_mounts(&self) -> bool {
        true
    }

    fn setup(&self, setup: &mut Setup<'_>) -> Result<(), String> {
        disk::mount_all(setup)
    }

    fn recover<'a>(&'a self, ctx: &'a NemesisContext) -> BoxFuture<'a, Vec<FaultReport>> {
        Box::pin(async move {
            if let Ok(disks) = disk::disks(ctx).await {
                for (_, fs) in disks.iter() {
                    fs.disarm_crash();
                }
            }
            Vec::new()
        })
    }

    fn start<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        spec: &'a FaultSpec,
        leader: Option<&'a NodeName>,
        rng: &'a mut ChaCha8Rng,
    ) -> BoxFuture<'a, Result<Option<Started>, String>> {
        Box::pin(async move {
            let nodes = resolve(spec, &ctx.cluster.names(), leader, rng)?;
            let disks = disk::disks(ctx).await?;
            let window = spec.lasts.as_ref().map_or(DEFAULT_FOR, |d| d.value.get());
            let crashed = crash(ctx, spec, &nodes, &disks, window).await;
            if crashed.is_empty() {
                ctx.problem(format!(
                    "crash-at-fsync {}: sync {} was not reached within {}",
                    join(&nodes),
                    spec.sync.as_ref().map_or(1, |s| s.value),
                    humantime::format_duration(window)
                ));
                return Ok(None);
            }
            let label = format!("crash-at-fsync {}", join(&crashed));
            Ok(Some(Started {
                label,
                nodes: crashed,
            }))
        })
    }

    fn holds(&self, spec: &FaultSpec) -> Duration {
        spec.restart_after
            .as_ref()
            .map_or(DEFAULT_RESTART_AFTER, |d| d.value.get())
    }

    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>> {
        Box::pin(async move { ctx.nemesis.lock().await.restart(&started.nodes).await })
    }
}

/// Arms a trigger on every node, and crashes each node caught within
/// `window`; the nodes that crashed.
async fn crash(
    ctx: &NemesisContext,
    spec: &FaultSpec,
    nodes: &[NodeName],
    disks: &Disks,
    window: Duration,
) -> Vec<NodeName> {
    let mut trigger = FsyncTrigger::nth(spec.sync.as_ref().map_or(1, |s| s.value));
    if let Some(file) = &spec.file {
        trigger = trigger.of_path(&file.value);
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut armed = BTreeSet::new();
    for node in nodes {
        let Some(fs) = disks.get(node) else { continue };
        let (tx, name) = (tx.clone(), node.clone());
        fs.crash_at_fsync(trigger.clone(), move |point| catch(name, point, &tx));
        armed.insert(node.clone());
    }
    drop(tx);
    let mut crashed = Vec::new();
    let mut deadline = tokio::time::Instant::now() + window;
    let mut late = false;
    while !armed.is_empty() {
        let caught = tokio::select! {
            caught = rx.recv() => caught,
            _ = tokio::time::sleep_until(deadline) => None,
        };
        match caught {
            Some(caught) => {
                armed.remove(&caught.node);
                let node = caught.node.clone();
                if crash_one(ctx, caught, disks).await {
                    crashed.push(node);
                }
            }
            None if late => break,
            None => {
                // Out of time: disarm what has not fired. A trigger that
                // fired meanwhile has its node on the way: wait for it.
                armed.retain(|node| disks.get(node).is_some_and(|fs| !fs.disarm_crash()));
                late = true;
                deadline = tokio::time::Instant::now() + 2 * GO_AHEAD;
            }
        }
    }
    crashed
}

/// Takes the nemesis, kills the caught node and lets its sync return,
/// and records its crash; whether it crashed.
async fn crash_one(ctx: &NemesisContext, caught: Caught, disks: &Disks) -> bool {
    let Caught {
        node,
        point,
        go_ahead,
    } = caught;
    let report = ctx
        .nemesis
        .lock()
        .await
        .crashed_at_fsync(&node, &point, disks, move || {
            let _ = go_ahead.send(());
        })
        .await;
    let label = format!("crash-at-fsync {node}");
    let nodes = vec![node];
    matches!(started(ctx, report, Started { label, nodes }), Ok(Some(_)))
}

/// The trigger's action, on the FUSE thread: hand the crash point over and
/// wait until the controller has sent the node SIGKILL; if it cannot (no
/// answer within [`GO_AHEAD`], or it gave up), kill the node here, before
/// its sync returns.
fn catch(node: NodeName, point: &CrashPoint, tx: &mpsc::UnboundedSender<Caught>) {
    let (go_ahead, wait) = std_mpsc::sync_channel(1);
    let caught = Caught {
        node,
        point: point.clone(),
        go_ahead,
    };
    let killed = tx.send(caught).is_ok() && wait.recv_timeout(GO_AHEAD).is_ok();
    if !killed && let Err(e) = point.kill_caller() {
        tracing::warn!(?point, error = %e, "cannot kill the process caught at its crash point");
    }
}

/// A `file` filter is a relative path inside the data directory.
fn check_file(file: &str) -> Result<(), String> {
    let path = Path::new(file);
    if file.is_empty() || file.len() > MAX_FILE || file.contains('\0') {
        return Err(format!(
            "`file` must be a path of 1 to {MAX_FILE} bytes in the data directory"
        ));
    }
    if !path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "`file` names a path inside the node's data directory (as `log.redb`), not `{file}`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_filters_stay_inside_the_data_directory() {
        for good in ["log.redb", "member/wal", "./state.redb"] {
            assert_eq!(check_file(good), Ok(()), "{good}");
        }
        for bad in ["", "/etc/passwd", "../n2/log.redb", "a/../../b", "x\0y"] {
            assert!(check_file(bad).is_err(), "{bad:?}");
        }
        assert!(check_file(&"a".repeat(MAX_FILE + 1)).is_err());
    }
}
