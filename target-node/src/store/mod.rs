//! Durable storage for one node: the Raft log and the state machine, both in
//! redb.
//!
//! The two live in separate database files (`log.redb`, `state.redb`) so that
//! openraft's log writes and its state-machine applies, which it issues from
//! different tasks, never wait on each other's write lock or fsync.
//!
//! Every write transaction commits with redb's default `Durability::Immediate`,
//! so a commit returns only after fsync. That is what lets this store honour
//! openraft's correctness duties (see each trait method's `# Correctness`).

mod codec;
mod log;
mod state_machine;

pub use log::LogStore;
pub use state_machine::{KvView, StateMachineStore};

use std::path::Path;

use crate::types::StorageError;

/// Opens (or creates) both stores under `data_dir`.
pub fn open(data_dir: &Path) -> Result<(LogStore, StateMachineStore), StorageError> {
    let log = LogStore::open(&data_dir.join("log.redb"))?;
    let state = StateMachineStore::open(&data_dir.join("state.redb"))?;
    Ok((log, state))
}

/// Runs `f` in one write transaction of `db` and commits it durably
/// (fsync) before returning.
fn commit<F>(db: &redb::Database, f: F) -> Result<(), redb::Error>
where
    F: FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
{
    blocking(|| {
        let txn = db.begin_write()?;
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
            let (log, state) = super::open(dir.path())?;
            Ok((dir, log, state))
        }
    }

    #[test]
    fn redb_store_passes_openraft_suite() -> Result<(), StorageError> {
        Suite::test_all(RedbBuilder)
    }
}
