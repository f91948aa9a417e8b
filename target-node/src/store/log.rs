//! The Raft log, vote and committed index, in `log.redb`.
//!
//! Invariants:
//! - The `entries` table holds a contiguous range of indexes (no holes):
//!   appends extend it at the end, `truncate` removes a suffix and `purge`
//!   a prefix.
//! - `last_purged` is written in the same transaction that removes the
//!   purged entries, so the log state is consistent after any crash.
//! - Every mutation commits with fsync before openraft is told it happened.

use std::{fmt::Debug, ops::RangeBounds, path::Path, sync::Arc};

use openraft::{
    ErrorSubject, ErrorVerb, LogState, RaftLogReader, storage::LogFlushed, storage::RaftLogStorage,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{
    Sync,
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
}

impl LogStore {
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let db = Database::create(path).map_err(io_err(ErrorSubject::Store, ErrorVerb::Read))?;
        let store = Self { db: Arc::new(db) };
        // Create the tables up front so that readers never see them missing.
        store.write(ErrorSubject::Store, |txn| {
            txn.open_table(ENTRIES)?;
            txn.open_table(META)?;
            Ok(())
        })?;
        Ok(store)
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

    fn last_entry(&self) -> Result<Option<Entry>, StorageError> {
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(ENTRIES)?;
            Ok(table.last()?.map(|(_, v)| v.value().to_vec()))
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
        let read = || -> Result<Vec<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(ENTRIES)?;
            let mut out = Vec::new();
            for item in table.range(range)? {
                let (_, v) = item?;
                out.push(v.value().to_vec());
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
        let last_purged_log_id: Option<LogId> = self.read_meta(LAST_PURGED, ErrorSubject::Store)?;
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

    /// Not synced: the committed index only tells a restarted node how far
    /// it may re-apply the log before it hears from the leader. An older
    /// value after a crash re-applies less, and the next synced commit (an
    /// append or a vote) makes it durable anyway.
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
        let result = self.write(ErrorSubject::Logs, |txn| {
            let mut table = txn.open_table(ENTRIES)?;
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

    /// Removes every entry with index `<= log_id.index` and records `log_id`
    /// as the last purged one, atomically.
    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let bytes = encode(&log_id);
        self.write(ErrorSubject::Logs, |txn| {
            txn.open_table(ENTRIES)?
                .retain_in(..=log_id.index, |_, _| false)?;
            txn.open_table(META)?
                .insert(LAST_PURGED, bytes.as_slice())?;
            Ok(())
        })
    }
}
