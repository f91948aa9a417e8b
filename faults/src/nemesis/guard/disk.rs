//! The disk verbs of [`Nemesis`]: power loss, `fsync` errors and crashes at
//! a sync call, on the nodes' durable mounts ([`Disks`], owned by the
//! caller and passed in).
//!
//! Invariants:
//! - A power loss kills every targeted node before it rolls back any disk
//!   (the power goes out everywhere at once), and never rolls back the disk
//!   of a node that may still be running (its kill was indeterminate).
//! - A node taken down by a power loss or a crash stays down until
//!   [`Nemesis::restart`], whose stop event carries the kind and id that
//!   took it down. A node already down under another fault has that fault
//!   ended first (its stop event, "ended by power loss"), as a kill ends a
//!   pause; a node that is down still loses its unsynced writes (the page
//!   cache goes with the power).
//! - At most one `fsync-error` window is in force; a new one ends the old
//!   one first. The nemesis keeps a handle on the window's mounts, so that
//!   [`Nemesis::fsync_ok`], [`Nemesis::recover`] and cleanup can close it.

use std::collections::BTreeMap;

use super::{
    super::record::{indeterminate_on_error, report},
    Nemesis,
};
use crate::{
    FaultDetail, FaultError, FaultEvent, FaultId, FaultKind, FaultReport, FaultValue, NodeName,
    NodeOutcome, Outcome, Phase,
    disk::{CrashPoint, DiskChange, Disks, SyncSite},
    net::RuleBackend,
};

/// An `fsync-error` window in force.
pub(in crate::nemesis) struct FsyncErrors {
    id: FaultId,
    disks: Disks,
    /// Each node, with its disk's count of failed syncs when it opened.
    failed_before: BTreeMap<NodeName, u64>,
}

impl<B: RuleBackend> Nemesis<B> {
    /// Power loss on `nodes`: SIGKILL them all, then roll each one's disk
    /// back to what it had synced ([`crate::disk::DurableFs::power_loss`]).
    /// Ended by [`Nemesis::restart`] (`stop-power-loss`). Every node must
    /// have a mount in `disks`.
    pub async fn power_loss(
        &mut self,
        nodes: &[NodeName],
        disks: &Disks,
    ) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        mounted("power-loss", &nodes, disks)?;
        let mut events = self.end_pauses(&nodes, "ended by power loss");
        events.extend(self.end_downs(&nodes, "ended by power loss"));
        let mut per_node = BTreeMap::new();
        for name in &nodes {
            let node = self.nodes.get_mut(name).expect("known node");
            let pid = node.pid();
            let outcome = indeterminate_on_error(name, node.kill().await);
            per_node.insert(name.clone(), NodeOutcome { outcome, pid });
        }
        let mut changes = BTreeMap::new();
        for (name, outcome) in &mut per_node {
            if let Some(change) = roll_back(name, outcome, disks) {
                changes.insert(name.clone(), change);
            }
        }
        let id = self.fresh_id();
        Ok(self.went_down(FaultKind::PowerLoss, id, per_node, changes, events))
    }

    /// `node` was caught in the sync call `point` by a crash trigger
    /// ([`crate::disk::DurableFs::crash_at_fsync`]) and waits there: SIGKILL
    /// it, call `killed` (which lets the sync return, so that the node
    /// dies of the signal before it learns anything), reap it as killed by
    /// the harness, and roll its disk back, as a machine that crashed in
    /// that call would come back. Ended by [`Nemesis::restart`]
    /// (`stop-crash-at-fsync`). If the signal cannot be sent, `killed` is
    /// dropped uncalled: the trigger's action must then kill the node
    /// itself (see [`CrashPoint::kill_caller`]).
    pub async fn crashed_at_fsync(
        &mut self,
        node: &NodeName,
        point: &CrashPoint,
        disks: &Disks,
        killed: impl FnOnce(),
    ) -> Result<FaultReport, FaultError> {
        let nodes = self.known(std::slice::from_ref(node))?;
        mounted("crash-at-fsync", &nodes, disks)?;
        let process = self.nodes.get_mut(node).expect("known node");
        let pid = process.pid();
        let outcome = match process.start_kill() {
            Ok(Outcome::Installed) => {
                killed();
                match process.kill().await {
                    Ok(Outcome::Indeterminate(why)) => Outcome::Indeterminate(why),
                    Err(e) => Outcome::Indeterminate(e.to_string()),
                    // Reaped here, or already by `kill`'s own check.
                    Ok(_) => Outcome::Installed,
                }
            }
            Ok(not_running) => not_running,
            Err(e) => {
                drop(killed);
                let _ = process.kill().await;
                Outcome::Indeterminate(e.to_string())
            }
        };
        if matches!(outcome, Outcome::Skipped(_)) {
            return Ok(FaultReport::skipped(format!(
                "{node} was already down when its crash point was reached"
            )));
        }
        let mut per_node = BTreeMap::from([(node.clone(), NodeOutcome { outcome, pid })]);
        let mut changes = BTreeMap::new();
        let outcome = per_node.get_mut(node).expect("inserted above");
        if let Some(mut change) = roll_back(node, outcome, disks) {
            change.crashed_at = Some(SyncSite::from(point));
            changes.insert(node.clone(), change);
        }
        let id = self.fresh_id();
        Ok(self.went_down(FaultKind::CrashAtFsync, id, per_node, changes, Vec::new()))
    }

    /// Open an `fsync-error` window on `nodes`' disks: every sync call
    /// fails with `EIO` ([`crate::disk::DurableFs::set_fsync_error`]) until
    /// [`Nemesis::fsync_ok`]. Replaces the window in force.
    pub fn fsync_error(
        &mut self,
        nodes: &[NodeName],
        disks: &Disks,
    ) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        mounted("fsync-error", &nodes, disks)?;
        if nodes.is_empty() {
            return Ok(FaultReport::skipped("no nodes"));
        }
        let mut events = self.fsync_ok().events;
        let mut failed_before = BTreeMap::new();
        let mut per_node = BTreeMap::new();
        for name in &nodes {
            let disk = disks.get(name).expect("checked: mounted");
            disk.set_fsync_error(true);
            failed_before.insert(name.clone(), disk.stats().failed_syncs);
            let pid = self.nodes.get(name).and_then(|n| n.pid());
            let outcome = Outcome::Installed;
            per_node.insert(name.clone(), NodeOutcome { outcome, pid });
        }
        let id = self.fresh_id();
        events.push(disk_event(
            Phase::Start,
            FaultKind::FsyncError,
            id,
            per_node,
            BTreeMap::new(),
        ));
        self.fsync_error = Some(FsyncErrors {
            id,
            disks: disks.clone(),
            failed_before,
        });
        Ok(FaultReport {
            outcome: Outcome::Installed,
            events,
        })
    }

    /// Close the `fsync-error` window in force: syncs succeed again. Its
    /// stop event says how many syncs each disk failed.
    pub fn fsync_ok(&mut self) -> FaultReport {
        let Some(window) = self.fsync_error.take() else {
            return FaultReport::skipped("no fsync-error window in force");
        };
        let mut per_node = BTreeMap::new();
        let mut changes = BTreeMap::new();
        for (name, before) in window.failed_before {
            let Some(disk) = window.disks.get(&name) else {
                continue;
            };
            disk.set_fsync_error(false);
            let failed = disk.stats().failed_syncs.saturating_sub(before);
            let pid = self.nodes.get(&name).and_then(|n| n.pid());
            let outcome = Outcome::Installed;
            per_node.insert(name.clone(), NodeOutcome { outcome, pid });
            let change = DiskChange {
                failed_syncs: Some(failed),
                ..DiskChange::default()
            };
            changes.insert(name, change);
        }
        FaultReport {
            outcome: Outcome::Installed,
            events: vec![disk_event(
                Phase::Stop,
                FaultKind::FsyncError,
                window.id,
                per_node,
                changes,
            )],
        }
    }

    /// Marks the nodes a disk fault took down, and its start event.
    fn went_down(
        &mut self,
        kind: FaultKind,
        id: FaultId,
        per_node: BTreeMap<NodeName, NodeOutcome>,
        changes: BTreeMap<NodeName, DiskChange>,
        mut events: Vec<FaultEvent>,
    ) -> FaultReport {
        let down: Vec<&NodeName> = per_node
            .iter()
            .filter(|(_, o)| !matches!(o.outcome, Outcome::Skipped(_)))
            .map(|(n, _)| n)
            .collect();
        for name in &down {
            self.killed.insert((*name).clone(), (kind, id));
        }
        if !down.is_empty() {
            events.push(disk_event(
                Phase::Start,
                kind,
                id,
                per_node.clone(),
                changes,
            ));
        }
        report(per_node, events)
    }

    /// Stop events for the faults that keep `nodes` down (they are taken
    /// over by a new one).
    fn end_downs(&mut self, nodes: &[NodeName], why: &str) -> Vec<FaultEvent> {
        let mut groups: BTreeMap<(FaultKind, FaultId), BTreeMap<NodeName, NodeOutcome>> =
            BTreeMap::new();
        for name in nodes {
            if let Some(down) = self.killed.remove(name) {
                let outcome = Outcome::skipped(why);
                groups
                    .entry(down)
                    .or_default()
                    .insert(name.clone(), NodeOutcome { outcome, pid: None });
            }
        }
        groups
            .into_iter()
            .map(|((fault, id), per_node)| {
                FaultEvent::new(
                    Phase::Stop,
                    FaultValue {
                        id,
                        fault,
                        nodes: per_node.keys().cloned().collect(),
                        detail: FaultDetail::Process { per_node },
                    },
                )
            })
            .collect()
    }
}

/// Every node has a mount in `disks`.
fn mounted(fault: &'static str, nodes: &[NodeName], disks: &Disks) -> Result<(), FaultError> {
    match nodes.iter().find(|n| disks.get(n).is_none()) {
        Some(node) => Err(FaultError::Parameter {
            fault,
            detail: format!("node {node} has no durable mount"),
        }),
        None => Ok(()),
    }
}

/// Roll back `node`'s disk unless it may still be running; the node's
/// outcome becomes what happened to its disk.
fn roll_back(node: &NodeName, outcome: &mut NodeOutcome, disks: &Disks) -> Option<DiskChange> {
    if matches!(outcome.outcome, Outcome::Indeterminate(_)) {
        return None;
    }
    let disk = disks.get(node).expect("checked: mounted");
    match disk.power_loss() {
        Ok(lost) => {
            outcome.outcome = Outcome::Installed;
            Some(DiskChange {
                lost: Some(lost),
                ..DiskChange::default()
            })
        }
        Err(e) => {
            tracing::error!(%node, error = %e, "power loss failed");
            outcome.outcome = Outcome::Indeterminate(e.to_string());
            None
        }
    }
}

/// The event of a disk fault; names every node in `per_node` that it may
/// have affected.
fn disk_event(
    phase: Phase,
    fault: FaultKind,
    id: FaultId,
    per_node: BTreeMap<NodeName, NodeOutcome>,
    disk: BTreeMap<NodeName, DiskChange>,
) -> FaultEvent {
    let nodes = per_node
        .iter()
        .filter(|(_, o)| !matches!(o.outcome, Outcome::Skipped(_)))
        .map(|(n, _)| n.clone())
        .collect();
    FaultEvent::new(
        phase,
        FaultValue {
            id,
            fault,
            nodes,
            detail: FaultDetail::Disk { per_node, disk },
        },
    )
}
