//! What a disk fault did to one node's disk, as the history records it
//! (the `disk` map of a disk fault's `detail`), and [`Disks`]: the durable
//! mounts of a cluster, by node.
//!
//! Invariants:
//! - Every field of a [`DiskChange`] is optional and absent when it does
//!   not apply, so one type serves the three disk faults.
//! - Paths are recorded relative to the node's data directory, lossily
//!   decoded: a history line is always valid JSON.

use std::{collections::BTreeMap, sync::Arc};

use serde::{Deserialize, Serialize};

use super::{CrashPoint, DurableFs, PowerLossReport};
use crate::NodeName;

/// What a disk fault did to one node's disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskChange {
    /// A power loss: what the disk lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<PowerLossReport>,
    /// `crash-at-fsync`: the sync call the node was killed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashed_at: Option<SyncSite>,
    /// The end of an `fsync-error` window: how many sync calls it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_syncs: Option<u64>,
}

/// A sync call, as `crash-at-fsync` records the one it fired at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSite {
    /// The synced file or directory, relative to the data directory
    /// (empty: the directory itself).
    pub path: String,
    /// `fdatasync` rather than `fsync`.
    pub datasync: bool,
    /// Which matching sync it was (the trigger's `nth`).
    pub nth: u64,
    /// Syncs the disk had received since it was mounted, before this one.
    pub syncs_before: u64,
}

impl From<&CrashPoint> for SyncSite {
    fn from(point: &CrashPoint) -> Self {
        Self {
            path: point.path.to_string_lossy().into_owned(),
            datasync: point.datasync,
            nth: point.nth,
            syncs_before: point.syncs_before,
        }
    }
}

/// The durable mounts of a cluster's nodes, by node name: a cheap handle
/// that the controller's fault kinds and the [`crate::Nemesis`] share.
/// Dropping the last handle unmounts every mount (a clean shutdown, which
/// keeps everything): drop it after the nodes are dead.
#[derive(Clone, Default)]
pub struct Disks(Arc<BTreeMap<NodeName, DurableFs>>);

impl Disks {
    /// The mounts, by node.
    pub fn new(mounts: BTreeMap<NodeName, DurableFs>) -> Self {
        Self(Arc::new(mounts))
    }

    /// The mount of `node`'s data directory.
    pub fn get(&self, node: &NodeName) -> Option<&DurableFs> {
        self.0.get(node)
    }

    /// Every node and its mount, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&NodeName, &DurableFs)> {
        self.0.iter()
    }
}

impl std::fmt::Debug for Disks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.values().map(DurableFs::mountpoint))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn only_what_applies_is_recorded() {
        let lost = DiskChange {
            lost: Some(PowerLossReport {
                files_rolled_back: 2,
                bytes_lost: 8192,
                names_undone: 1,
            }),
            crashed_at: Some(SyncSite::from(&CrashPoint {
                path: PathBuf::from("log.redb"),
                pid: 7,
                datasync: true,
                nth: 3,
                syncs_before: 40,
            })),
            failed_syncs: None,
        };
        assert_eq!(
            serde_json::to_value(&lost).unwrap(),
            serde_json::json!({
                "lost": {"files_rolled_back": 2, "bytes_lost": 8192, "names_undone": 1},
                "crashed_at": {"path": "log.redb", "datasync": true, "nth": 3, "syncs_before": 40},
            })
        );
        let failed = DiskChange {
            failed_syncs: Some(12),
            ..DiskChange::default()
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"failed_syncs": 12})
        );
        for change in [lost, failed] {
            let back: DiskChange =
                serde_json::from_value(serde_json::to_value(&change).unwrap()).unwrap();
            assert_eq!(back, change);
        }
    }
}
