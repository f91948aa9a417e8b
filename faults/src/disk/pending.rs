//! File data written since the last `fsync`: what a power loss takes away.
//!
//! Owns [`PendingData`], one undo record per file (keyed by the backing
//! inode number) that has changed since its last `fsync`/`fdatasync`:
//! the file's length at that sync and the original bytes of every page
//! changed since, saved before the first change reached the backing file.
//!
//! Invariants:
//! - Every change to a file's bytes or length goes through
//!   [`PendingData::before_write`] or [`PendingData::before_resize`]
//!   *before* it reaches the backing file, so the saved pages are always
//!   the synced content.
//! - Only pages below the synced length are saved: anything past it did
//!   not exist at the sync and is removed by truncating back.
//! - A record keeps its own descriptor of the file, so a rollback reaches
//!   the inode whatever name it has now (renamed, in the graveyard, or
//!   unlinked for good).

use std::{
    collections::BTreeMap,
    fs::File,
    io,
    os::unix::fs::{FileExt, MetadataExt},
};

/// The unit in which original bytes are saved.
pub const PAGE: u64 = 4096;

/// The undo record of one file.
#[derive(Debug)]
struct Pending {
    /// A descriptor of the file, opened for reading and writing.
    file: File,
    /// The file's length at its last sync.
    synced_len: u64,
    /// Original content of each changed page below `synced_len`, by page
    /// index (the last page may be short).
    saved: BTreeMap<u64, Vec<u8>>,
    /// Bytes written since the sync (for reports).
    written: u64,
}

/// What a rollback of file data did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataRollback {
    /// Files put back to their synced content.
    pub files: usize,
    /// Bytes written since those files' syncs, now gone.
    pub bytes: u64,
}

/// Undo records of every file changed since its last sync.
#[derive(Debug, Default)]
pub struct PendingData {
    files: BTreeMap<u64, Pending>,
}

impl PendingData {
    /// Call before writing `len` bytes at `offset` through `file`.
    pub fn before_write(&mut self, file: &File, offset: u64, len: u64) -> io::Result<()> {
        let pending = self.record(file)?;
        pending.written = pending.written.saturating_add(len);
        pending.preserve(offset, offset.saturating_add(len))
    }

    /// Call before changing the length of `file` to `new_len`.
    pub fn before_resize(&mut self, file: &File, new_len: u64) -> io::Result<()> {
        let current = file.metadata()?.len();
        let pending = self.record(file)?;
        if new_len < current {
            pending.preserve(new_len, current)?;
        }
        Ok(())
    }

    /// The file with backing inode `ino` was synced: its content is durable.
    pub fn synced(&mut self, ino: u64) {
        self.files.remove(&ino);
    }

    /// Number of files with unsynced changes.
    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// Bytes written since the last sync, over all files.
    pub fn bytes(&self) -> u64 {
        self.files.values().map(|p| p.written).sum()
    }

    /// Forget every record: all content is durable (a clean unmount).
    pub fn clear(&mut self) {
        self.files.clear();
    }

    /// Put every changed file back to its synced content, and forget the
    /// records. Stops at the first failure, keeping the records not yet
    /// rolled back.
    pub fn roll_back(&mut self) -> io::Result<DataRollback> {
        let mut done = DataRollback::default();
        while let Some((ino, pending)) = self.files.pop_first() {
            if let Err(e) = pending.restore() {
                self.files.insert(ino, pending);
                return Err(e);
            }
            done.files += 1;
            done.bytes += pending.written;
        }
        Ok(done)
    }

    /// The record of `file`, created at its first change since the sync.
    fn record(&mut self, file: &File) -> io::Result<&mut Pending> {
        let meta = file.metadata()?;
        match self.files.entry(meta.ino()) {
            std::collections::btree_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::btree_map::Entry::Vacant(e) => Ok(e.insert(Pending {
                file: file.try_clone()?,
                synced_len: meta.len(),
                saved: BTreeMap::new(),
                written: 0,
            })),
        }
    }
}

impl Pending {
    /// Save the original content of every page in `start..end` that lies
    /// below the synced length and is not saved yet.
    fn preserve(&mut self, start: u64, end: u64) -> io::Result<()> {
        let end = end.min(self.synced_len);
        if start >= end {
            return Ok(());
        }
        for page in start / PAGE..end.div_ceil(PAGE) {
            if self.saved.contains_key(&page) {
                continue;
            }
            let from = page * PAGE;
            let len = PAGE.min(self.synced_len - from) as usize;
            let mut original = vec![0; len];
            read_fully(&self.file, &mut original, from)?;
            self.saved.insert(page, original);
        }
        Ok(())
    }

    /// Write the saved pages back and cut the file to its synced length.
    fn restore(&self) -> io::Result<()> {
        self.file.set_len(self.synced_len)?;
        for (page, original) in &self.saved {
            self.file.write_all_at(original, page * PAGE)?;
        }
        Ok(())
    }
}

/// Read `buf.len()` bytes at `offset`; bytes past the end of the file read
/// as zeros (a file shortened since the sync was preserved before, so this
/// only happens for holes).
fn read_fully(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf[done..].fill(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;

    use super::*;

    fn open(path: &std::path::Path) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap()
    }

    /// Write through the tracker, as the file system does.
    fn write(pending: &mut PendingData, file: &File, offset: u64, data: &[u8]) {
        pending
            .before_write(file, offset, data.len() as u64)
            .unwrap();
        file.write_all_at(data, offset).unwrap();
    }

    #[test]
    fn unsynced_writes_vanish_and_synced_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = open(&path);
        let mut pending = PendingData::default();
        write(&mut pending, &file, 0, b"durable");
        pending.synced(file.metadata().unwrap().ino());
        write(&mut pending, &file, 0, b"VOLATILE and longer");
        assert_eq!(pending.files(), 1);
        let done = pending.roll_back().unwrap();
        assert_eq!(
            done,
            DataRollback {
                files: 1,
                bytes: 19
            }
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"durable");
        assert_eq!(pending.files(), 0);
    }

    #[test]
    fn pages_across_the_file_and_truncation_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let original: Vec<u8> = (0..3 * PAGE + 100).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &original).unwrap();
        let file = open(&path);
        let mut pending = PendingData::default();
        // A write straddling pages 0 and 1, one in the last short page,
        // then a shrink and a regrow past the old end.
        write(&mut pending, &file, PAGE - 3, &[0xAA; 10]);
        write(&mut pending, &file, 3 * PAGE + 50, &[0xBB; 100]);
        pending.before_resize(&file, PAGE + 7).unwrap();
        file.set_len(PAGE + 7).unwrap();
        pending.before_resize(&file, 5 * PAGE).unwrap();
        file.set_len(5 * PAGE).unwrap();
        write(&mut pending, &file, 4 * PAGE, &[0xCC; 10]);
        pending.roll_back().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), original);
    }

    #[test]
    fn a_new_file_rolls_back_to_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = open(&path);
        let mut pending = PendingData::default();
        write(&mut pending, &file, 0, b"never synced");
        pending.roll_back().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }
}
