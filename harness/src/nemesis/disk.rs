//! The rig the disk fault kinds share ([`power_loss`](super::power_loss),
//! [`fsync_error`](super::fsync_error),
//! [`crash_at_fsync`](super::crash_at_fsync)): every node's data directory
//! (`nodes/nI/`) is a durable mount ([`faults::disk::DurableFs`]) of
//! `nodes/nI.backing/`, mounted before the nodes start and kept in the
//! run's rigs as one [`Disks`] under [`RIG`].
//!
//! Invariants:
//! - The mounts are made once per run, whichever disk kinds the plan uses,
//!   and all or none: a mount that fails unmounts those made before it.
//! - The rigs are dropped after the nodes are dead, so a mount is never
//!   taken from under a running node; the nemesis may hold a handle a
//!   little longer (an `fsync-error` window), and the last handle unmounts.

use std::collections::BTreeMap;

use faults::disk::{Disks, DurableFs};

use super::{NemesisContext, Setup};

/// The name of the disk rig in the run's rigs.
pub const RIG: &str = "disk";

/// Mounts every node's data directory, unless an earlier disk kind did.
pub fn mount_all(setup: &mut Setup<'_>) -> Result<(), String> {
    if setup.rigs.contains(RIG) {
        return Ok(());
    }
    let mut mounts = BTreeMap::new();
    for node in setup.nodes.iter() {
        let backing = setup.dir.node_backing(node.name().as_str());
        let fs = DurableFs::mount(&backing, &node.place.data_dir).map_err(|e| e.to_string())?;
        mounts.insert(node.name().clone(), fs);
    }
    setup.rigs.insert(RIG, Disks::new(mounts));
    Ok(())
}

/// The run's mounts (a handle).
pub async fn disks(ctx: &NemesisContext) -> Result<Disks, String> {
    ctx.rigs
        .lock()
        .await
        .get::<Disks>(RIG)
        .cloned()
        .ok_or_else(|| "the nodes' data directories were not mounted".to_owned())
}
