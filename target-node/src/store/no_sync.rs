//! `--unsafe-no-fsync`: a redb storage backend that never fsyncs.
//!
//! Owns [`NoSyncBackend`], redb's own file backend with `sync_data` turned
//! into a no-op. Every commit still *writes* its pages to the file, as a
//! durable commit does, so a killed process loses nothing (the kernel's
//! page cache keeps it); only a power loss does. That is exactly the
//! mistake the disk faults exist to catch: acknowledging a write that is
//! in the page cache but not on the disk.

use std::{fs::File, io, ops::Bound};

use redb::{BackendError, StorageBackend, backends::FileBackend};

/// redb's file backend, minus the fsync.
#[derive(Debug)]
pub struct NoSyncBackend(FileBackend);

impl NoSyncBackend {
    pub fn new(file: File) -> Result<Self, redb::DatabaseError> {
        Ok(Self(FileBackend::new(file)?))
    }
}

impl StorageBackend for NoSyncBackend {
    fn len(&self) -> Result<u64, io::Error> {
        self.0.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.0.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.0.set_len(len)
    }

    /// The deliberate mistake: report the data synced without syncing.
    fn sync_data(&self) -> Result<(), io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.0.write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        self.0.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.0.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.0.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.0.query_lock_range(start, end)
    }
}
