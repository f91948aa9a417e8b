//! Durable storage for one node: the Raft log and the state machine, both in
//! redb.
//!
//! The two live in separate database files (`log.redb`, `state.redb`) so that
//! openraft's log writes and its state-machine applies, which it issues from
//! different tasks, never wait on each other's write lock or fsync.
//!
//! The log's writes (entries, vote, truncation, purge) commit with fsync
//! (redb's `Durability::Immediate`) before openraft is told they happened;
//! that is what openraft's correctness duties require (see each trait
//! method's `# Correctness`). State-machine applies commit atomically but
//! are synced only every few batches and with every snapshot: they can be
//! re-derived from the synced log (see `state_machine::SYNC_EVERY`), and the
//! log never deletes entries past what the stored snapshot covers (see
//! `durable.rs`).
//!
//! With [`SyncPolicy::Never`] (`--unsafe-no-fsync`) nothing is ever
//! fsynced: a deliberate mistake, for the harness to catch under power
//! loss.

mod codec;
mod durable;
mod log;
mod no_sync;
mod state_machine;
#[cfg(test)]
mod tests;
pub mod txn;

pub use log::LogStore;
pub use state_machine::{KvView, StateMachineStore};

use std::{path::Path, sync::Arc};

use openraft::{ErrorSubject, ErrorVerb};

use crate::types::StorageError;

/// Whether commits that must be durable are fsynced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// As each trait method's `# Correctness` requires.
    #[default]
    Fsync,
    /// MISTAKE (`--unsafe-no-fsync`): commits write their pages to the
    /// files as usual but never fsync them (see `no_sync.rs`), so writes
    /// are acknowledged while they are only in the page cache. A killed
    /// node loses nothing; a power loss loses acknowledged writes.
    Never,
}

/// Opens (or creates) the redb database at `path` under `policy`.
fn open_db(path: &Path, policy: SyncPolicy) -> Result<redb::Database, redb::DatabaseError> {
    match policy {
        SyncPolicy::Fsync => redb::Database::create(path),
        SyncPolicy::Never => {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?;
            redb::Database::builder().create_with_backend(no_sync::NoSyncBackend::new(file)?)
        }
    }
}

/// Opens (or creates) both stores under `data_dir`, then fsyncs the
/// directory so that the database files' names are durable too (a file
/// whose directory entry was never synced can vanish in a power loss, and
/// with it the vote and the log).
pub fn open(
    data_dir: &Path,
    policy: SyncPolicy,
) -> Result<(LogStore, StateMachineStore), StorageError> {
    let state = StateMachineStore::open(&data_dir.join("state.redb"), policy)?;
    let log = LogStore::open(&data_dir.join("log.redb"), policy, state.durable_snapshot())?;
    if policy == SyncPolicy::Fsync {
        std::fs::File::open(data_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(codec::io_err(ErrorSubject::Store, ErrorVerb::Write))?;
    }
    Ok((log, state))
}

/// The shared durable-snapshot mark, as the log store holds it.
type SnapshotMark = Arc<durable::DurableSnapshot>;

/// Whether a commit must reach the disk before it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sync {
    /// fsync before returning (redb's `Durability::Immediate`).
    Now,
    /// Atomic, but on disk only once a later `Now` commit of the same
    /// database returns; a crash before that rolls the database back to
    /// the last synced commit, whole.
    Later,
}

/// Runs `f` in one write transaction of `db` and commits it.
fn commit<F>(db: &redb::Database, sync: Sync, f: F) -> Result<(), redb::Error>
where
    F: FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
{
    blocking(|| {
        let mut txn = db.begin_write()?;
        if sync == Sync::Later {
            txn.set_durability(redb::Durability::None)
                .map_err(|e| redb::Error::Io(std::io::Error::other(e.to_string())))?;
        }
        f(&txn)?;
        txn.commit()?;
        Ok(())
    })
}

/// Runs a blocking storage operation (a redb commit waits for fsync).
///
/// On a multi-threaded runtime it tells tokio, so that other tasks move to
/// the remaining workers meanwhile; elsewhere (unit tests on a
/// current-thread runtime) it simply runs `f`.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod suite {
    //! openraft's own storage test suite, run against the redb stores.

    use openraft::testing::{StoreBuilder, Suite};
    use tempfile::TempDir;

    use super::{LogStore, StateMachineStore};
    use crate::types::{StorageError, TypeConfig};

    struct RedbBuilder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for RedbBuilder {
        async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), StorageError> {
            let dir = TempDir::new().expect("temp dir");
            let (log, state) = super::open(dir.path(), super::SyncPolicy::Fsync)?;
            Ok((dir, log, state))
        }
    }

    #[test]
    fn redb_store_passes_openraft_suite() -> Result<(), StorageError> {
        Suite::test_all(RedbBuilder)
    }
}
