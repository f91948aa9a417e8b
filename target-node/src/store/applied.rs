//! How far the state machine is durable, shared with the log store so that
//! a purge never outruns it.
//!
//! Owns [`DurableApplied`]: every write to `state.redb` goes through it,
//! and a synced write records the `last_applied` it made durable, read
//! inside the same transaction (so it is exactly what that commit put on
//! disk, whatever other writers did around it).
//!
//! # Correctness
//! openraft purges the log when it installs a snapshot *without* waiting
//! for the install to finish (the purge runs on the Raft core, the install
//! on the state-machine worker). Purging past the durably applied index
//! would let a crash between the two leave a log that starts after the
//! state machine, and the node could not start again. The log store asks
//! this type how far it may delete (see `log.rs`).

use std::sync::{Arc, Mutex};

use redb::{Database, ReadableTable};

use super::{
    Sync,
    state_machine::{LAST_APPLIED, META},
};
use crate::types::LogId;

/// The state machine's database and its durable `last_applied`.
pub(super) struct DurableApplied {
    db: Arc<Database>,
    durable: Mutex<Option<LogId>>,
}

impl DurableApplied {
    /// Nothing is known durable until the first synced commit.
    pub(super) fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            durable: Mutex::new(None),
        }
    }

    /// The database, for reads.
    pub(super) fn db(&self) -> &Database {
        &self.db
    }

    /// The last applied log id known to be on disk.
    pub(super) fn log_id(&self) -> Option<LogId> {
        *self.durable.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its index.
    pub(super) fn index(&self) -> Option<u64> {
        self.log_id().map(|id| id.index)
    }

    /// Runs `f` in one write transaction of `state.redb` and commits it,
    /// synced or not; a synced commit advances the durable mark (under
    /// `--unsafe-no-fsync` it only believes it does, like the rest of the
    /// node).
    pub(super) fn commit<F>(&self, sync: Sync, f: F) -> Result<(), redb::Error>
    where
        F: FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    {
        let mut made_durable = None;
        super::commit(&self.db, sync, |txn| {
            f(txn)?;
            if sync == Sync::Now {
                made_durable = Some(read_applied(txn)?);
            }
            Ok(())
        })?;
        if let Some(applied) = made_durable {
            let mut durable = self.durable.lock().unwrap_or_else(|p| p.into_inner());
            // Commits are serialized by redb, so the newest synced commit
            // carries the newest value; keep the maximum in case two
            // callers record out of order.
            if applied > *durable {
                *durable = applied;
            }
        }
        Ok(())
    }

    /// Make every committed apply durable now (an empty synced commit).
    pub(super) fn sync_now(&self) -> Result<(), redb::Error> {
        self.commit(Sync::Now, |_| Ok(()))
    }
}

/// `last_applied` as the transaction sees it.
fn read_applied(txn: &redb::WriteTransaction) -> Result<Option<LogId>, redb::Error> {
    let table = txn.open_table(META)?;
    let Some(bytes) = table.get(LAST_APPLIED)?.map(|v| v.value().to_vec()) else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| redb::Error::Io(std::io::Error::other(format!("last_applied: {e}"))))
}
