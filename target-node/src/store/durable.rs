//! How far the stored snapshot reaches, shared with the log store so that
//! a purge never outruns it.
//!
//! Owns [`DurableSnapshot`]: the `last_log_id` of the snapshot stored in
//! `state.redb`, advanced only after the synced commit that stored it
//! returns (every snapshot write is synced), so it is always on disk.
//!
//! # Correctness
//! openraft purges the log when it installs a snapshot *without* waiting
//! for the install to finish (the purge runs on the Raft core, the install
//! on the state-machine worker). Deleting log entries the stored snapshot
//! does not cover would let a crash between the two leave a log that
//! starts after the state machine (the node could not re-apply and would
//! never start again), or purged past its snapshot (openraft refuses to
//! start). The log store deletes only up to this mark (see `log.rs`).

use std::sync::Mutex;

use crate::types::LogId;

/// The durable snapshot's last log id.
#[derive(Debug, Default)]
pub(super) struct DurableSnapshot {
    last: Mutex<Option<LogId>>,
}

impl DurableSnapshot {
    /// A mark at `stored`, the snapshot found on disk.
    pub(super) fn new(stored: Option<LogId>) -> Self {
        Self {
            last: Mutex::new(stored),
        }
    }

    /// The last log id the durable snapshot covers.
    pub(super) fn log_id(&self) -> Option<LogId> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its index.
    pub(super) fn index(&self) -> Option<u64> {
        self.log_id().map(|id| id.index)
    }

    /// A synced commit stored a snapshot covering `last`.
    pub(super) fn advance(&self, last: Option<LogId>) {
        let mut mark = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last > *mark {
            *mark = last;
        }
    }
}
