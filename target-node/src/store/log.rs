//! The Raft log, vote and committed index, in `log.redb`.
//!
//! Invariants:
//! - The `entries` table holds a contiguous range of indexes (no holes):
//!   appends extend it at the end, `truncate` removes a suffix and `purge`
//!   a prefix.
//! - `last_purged` is what openraft asked to purge (the *logical* start of
//!   the log: entries at or below it are never read). Entries are deleted
//!   *physically* only up to the durably stored snapshot
//!   ([`super::durable::DurableSnapshot`]); the rest of a purge is done by
//!   a later purge or append, once the snapshot has caught up. So after any
//!   crash every entry after the stored snapshot is still here.
//! - At open, a `last_purged` beyond the stored snapshot (a crash between a
//!   purge and the snapshot install it was for) is moved back to the
//!   snapshot, which un-hides the entries still needed.
//! - Every mutation commits with fsync before openraft is told it happened,
//!   except the committed index (see `save_committed`).

use std::{
    fmt::Debug,
    ops::RangeBounds,
    path::Path,
    sync::{Arc, Mutex},
};

use openraft::{
    ErrorSubject, ErrorVerb, LogState, RaftLogReader, storage::LogFlushed, storage::RaftLogStorage,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{
    SnapshotMark, Sync, SyncPolicy,
    codec::{decode, encode, io_err},
};
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// The redb-backed Raft log store. Cloning shares the database.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    /// How far the stored snapshot reaches: the physical purge limit.
    snapshot: SnapshotMark,
    /// The logical start of the log (cached `last_purged`).
    purged: Arc<Mutex<Option<LogId>>>,
}

impl LogStore {
    /// Opens the log; `snapshot` holds the stored snapshot as found on
    /// disk, for the repair described above.
    pub(super) fn open(
        path: &Path,
        policy: SyncPolicy,
        snapshot: SnapshotMark,
    ) -> Result<Self, StorageError> {
        let db =
            super::open_db(path, policy).map_err(io_err(ErrorSubject::Store, ErrorVerb::Read))?;
        let store = Self {
            db: Arc::new(db),
            snapshot,
            purged: Arc::default(),
        };
        // Create the tables up front so that readers never see them missing.
        store.write(ErrorSubject::Store, |txn| {
            txn.open_table(ENTRIES)?;
            txn.open_table(META)?;
            Ok(())
        })?;
        let mut purged: Option<LogId> = store.read_meta(LAST_PURGED, ErrorSubject::Store)?;
        let stored = store.snapshot.log_id();
        if purged.map(|id| id.index) > stored.map(|id| id.index) {
            tracing::warn!(
                last_purged = ?purged,
                snapshot = ?stored,
                "the log was purged past the stored snapshot (a crash before a snapshot \
                 install was stored); un-purging the entries still needed"
            );
            store.write(ErrorSubject::Store, |txn| {
                let mut meta = txn.open_table(META)?;
                match &stored {
                    Some(id) => meta.insert(LAST_PURGED, encode(id).as_slice())?,
                    None => meta.remove(LAST_PURGED)?,
                };
                Ok(())
            })?;
            purged = stored;
        }
        *store.purged_lock() = purged;
        Ok(store)
    }

    fn purged_lock(&self) -> std::sync::MutexGuard<'_, Option<LogId>> {
        self.purged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The logical start of the log.
    fn purged(&self) -> Option<LogId> {
        *self.purged_lock()
    }

    /// Entries at or below this index may be deleted for good: purged, and
    /// covered by the stored snapshot.
    fn deletable(&self) -> Option<u64> {
        let purged = self.purged()?.index;
        Some(purged.min(self.snapshot.index()?))
    }

    /// Every index physically stored, purged or not (for tests).
    #[cfg(test)]
    pub(super) fn stored_indexes(&self) -> Vec<u64> {
        let txn = self.db.begin_read().expect("read");
        let table = txn.open_table(ENTRIES).expect("entries");
        table
            .iter()
            .expect("iterate")
            .map(|item| item.expect("entry").0.value())
            .collect()
    }

    /// Runs `f` in one write transaction and commits it durably.
    fn write<F>(&self, subject: ErrorSubject<u64>, f: F) -> Result<(), StorageError>
    where
        F: FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    {
        super::commit(&self.db, Sync::Now, f).map_err(io_err(subject, ErrorVerb::Write))
    }

    fn read_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        subject: ErrorSubject<u64>,
    ) -> Result<Option<T>, StorageError> {
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(META)?;
            Ok(table.get(key)?.map(|v| v.value().to_vec()))
        };
        match read().map_err(io_err(subject.clone(), ErrorVerb::Read))? {
            Some(bytes) => Ok(Some(decode(&bytes, subject)?)),
            None => Ok(None),
        }
    }

    fn put_meta<T: serde::Serialize>(
        &self,
        key: &str,
        value: &T,
        subject: ErrorSubject<u64>,
        sync: Sync,
    ) -> Result<(), StorageError> {
        let bytes = encode(value);
        super::commit(&self.db, sync, |txn| {
            txn.open_table(META)?.insert(key, bytes.as_slice())?;
            Ok(())
        })
        .map_err(io_err(subject, ErrorVerb::Write))
    }

    /// The last entry after the logical start, if any.
    fn last_entry(&self) -> Result<Option<Entry>, StorageError> {
        let first = self.purged().map_or(0, |id| id.index + 1);
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(ENTRIES)?;
            Ok(table
                .last()?
                .filter(|(k, _)| k.value() >= first)
                .map(|(_, v)| v.value().to_vec()))
        };
        match read().map_err(io_err(ErrorSubject::Logs, ErrorVerb::Read))? {
            Some(bytes) => Ok(Some(decode(&bytes, ErrorSubject::Logs)?)),
            None => Ok(None),
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let first = self.purged().map_or(0, |id| id.index + 1);
        let read = || -> Result<Vec<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(ENTRIES)?;
            let mut out = Vec::new();
            for item in table.range(range)? {
                let (k, v) = item?;
                if k.value() >= first {
                    out.push(v.value().to_vec());
                }
            }
            Ok(out)
        };
        let raw = read().map_err(io_err(ErrorSubject::Logs, ErrorVerb::Read))?;
        raw.iter()
            .map(|bytes| decode(bytes, ErrorSubject::Logs))
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id = self.purged();
        let last_log_id = match self.last_entry()? {
            Some(entry) => Some(entry.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    /// # Correctness
    /// The vote is fsynced before this returns: a node that forgets its vote
    /// after a crash could vote twice in one term.
    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put_meta(VOTE, vote, ErrorSubject::Vote, Sync::Now)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.read_meta(VOTE, ErrorSubject::Vote)
    }

    /// Not synced: it becomes durable with the next synced commit of this
    /// database (an append, a vote). After a crash it may be older than
    /// the last acknowledged write, which costs a restarted node some
    /// re-applying, and nothing else: openraft restarts a node whose vote
    /// is committed for itself as leader *in the same term* and would serve
    /// reads up to this stale index, so such a leader waits until it has
    /// applied its whole log before it reads (`read_index::RestartFloor`).
    /// Syncing it instead cost about a sixth of the write throughput.
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.put_meta(COMMITTED, &committed, ErrorSubject::Store, Sync::Later)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self
            .read_meta::<Option<LogId>>(COMMITTED, ErrorSubject::Store)?
            .flatten())
    }

    /// # Correctness
    /// The entries are committed (fsynced) in one transaction before the
    /// callback reports them persisted, and are readable when this returns.
    /// The same transaction finishes any purge the state machine has since
    /// caught up with.
    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let encoded: Vec<(u64, Vec<u8>)> = entries
            .into_iter()
            .map(|entry| (entry.log_id.index, encode(&entry)))
            .collect();
        let deletable = self.deletable();
        let result = self.write(ErrorSubject::Logs, |txn| {
            let mut table = txn.open_table(ENTRIES)?;
            if let Some(upto) = deletable {
                table.retain_in(..=upto, |_, _| false)?;
            }
            for (index, bytes) in &encoded {
                table.insert(*index, bytes.as_slice())?;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(err) => {
                callback.log_io_completed(Err(std::io::Error::other(err.to_string())));
                Err(err)
            }
        }
    }

    /// Removes every entry with index `>= log_id.index`.
    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write(ErrorSubject::Logs, |txn| {
            txn.open_table(ENTRIES)?
                .retain_in(log_id.index.., |_, _| false)?;
            Ok(())
        })
    }

    /// Records `log_id` as the last purged entry: nothing at or below it
    /// is read again. Deletes the entries up to it that the stored
    /// snapshot covers; a later purge or append deletes the rest.
    ///
    /// # Correctness
    /// openraft calls this right after handing a snapshot install to the
    /// state-machine worker, without waiting for it. Deleting entries the
    /// stored snapshot does not cover would let a crash before the install
    /// is stored leave a log that starts after the state machine: the node
    /// could not re-apply, and would never start again.
    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let bytes = encode(&log_id);
        let deletable = self.snapshot.index().map(|i| i.min(log_id.index));
        self.write(ErrorSubject::Logs, |txn| {
            if let Some(upto) = deletable {
                txn.open_table(ENTRIES)?.retain_in(..=upto, |_, _| false)?;
            }
            txn.open_table(META)?
                .insert(LAST_PURGED, bytes.as_slice())?;
            Ok(())
        })?;
        *self.purged_lock() = Some(log_id);
        Ok(())
    }
}
