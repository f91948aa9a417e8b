//! The state one mount shares between its FUSE request thread and the
//! controller's handle.
//!
//! Owns [`Shared`]: the file system state ([`State`]: inodes, open files,
//! pending data, the name journal) behind one lock, and the sync faults
//! behind another, so that a crash action can run with neither held.
//!
//! Invariants:
//! - Every change to the backing tree made on behalf of the mount happens
//!   with the state lock held, after the undo information is recorded.
//! - A power loss swaps the whole state for a fresh one (root only, no
//!   open files): handles from before it answer `EBADF`.

use std::{
    collections::HashMap,
    ffi::OsStr,
    fs::{File, Metadata},
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, UNIX_EPOCH},
};

use fuser::{Errno, FileAttr, FileType, INodeNo};

use super::{
    DataRollback,
    inodes::Inodes,
    journal::{GRAVEYARD, Moved, NameJournal},
    pending::PendingData,
    sync_faults::SyncFaults,
};

/// How long the kernel may cache entries and attributes: not at all, so
/// that after a power loss nothing stale is served without asking us.
pub const TTL: Duration = Duration::ZERO;

/// An open file of the mount.
#[derive(Debug)]
pub struct OpenFile {
    pub file: Arc<File>,
    /// Path relative to the root when opened (for fault triggers).
    pub path: PathBuf,
    /// The backing inode number (the pending-data key).
    pub backing: u64,
    /// Opened with `O_SYNC` or `O_DSYNC`: every write is also a sync.
    pub sync_writes: bool,
}

/// One entry of a directory listing, taken at `opendir`.
#[derive(Clone, Debug)]
pub struct Listed {
    pub name: std::ffi::OsString,
    pub kind: FileType,
    pub backing: u64,
}

/// The file system state.
#[derive(Debug)]
pub struct State {
    /// The backing root, absolute.
    pub root: PathBuf,
    pub inodes: Inodes,
    pub data: PendingData,
    pub names: NameJournal,
    pub files: HashMap<u64, OpenFile>,
    pub dirs: HashMap<u64, Vec<Listed>>,
    next_handle: u64,
}

impl State {
    /// The state of a fresh mount of `root`: everything there is durable.
    pub fn new(root: &Path) -> io::Result<Self> {
        let names = NameJournal::new(root)?;
        let root_ino = std::fs::metadata(root)?.ino();
        Ok(Self {
            root: root.to_owned(),
            inodes: Inodes::new(root_ino),
            data: PendingData::default(),
            names,
            files: HashMap::new(),
            dirs: HashMap::new(),
            next_handle: 1,
        })
    }

    /// A fresh handle number (never reused within a mount).
    pub fn handle(&mut self) -> u64 {
        let fh = self.next_handle;
        self.next_handle += 1;
        fh
    }

    /// The absolute backing path of `rel`.
    pub fn abs(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// The relative path and backing inode of `ino`.
    pub fn inode(&self, ino: INodeNo) -> Result<(PathBuf, u64), Errno> {
        self.inodes
            .get(ino)
            .map(|i| (i.path.clone(), i.backing))
            .ok_or(Errno::ESTALE)
    }

    /// The relative path of `name` in directory `parent`, and the
    /// directory's backing inode. The graveyard does not exist.
    pub fn child(&self, parent: INodeNo, name: &OsStr) -> Result<(PathBuf, u64), Errno> {
        let (dir, backing) = self.inode(parent)?;
        if dir.as_os_str().is_empty() && name == GRAVEYARD {
            return Err(Errno::ENOENT);
        }
        if name.is_empty() || name == "." || name == ".." || name.len() > 255 {
            return Err(Errno::EINVAL);
        }
        Ok((dir.join(name), backing))
    }

    /// Stat `rel` and give it a FUSE inode.
    pub fn entry(&mut self, rel: &Path) -> Result<FileAttr, Errno> {
        let meta = std::fs::symlink_metadata(self.abs(rel)).map_err(Errno::from)?;
        let ino = self.inodes.remember(rel, meta.ino());
        attr(ino, &meta)
    }

    /// Follow the moves of a name change in the inode table.
    pub fn follow(&mut self, moves: &[Moved]) {
        for m in moves {
            self.inodes.moved(&m.from, &m.to);
        }
    }

    /// Graveyard entries deleted for good: forget their inodes.
    pub fn buried(&mut self, graves: &[PathBuf]) {
        for grave in graves {
            self.inodes.deleted(grave);
        }
    }

    /// The open file `fh`.
    pub fn file(&self, fh: u64) -> Result<&OpenFile, Errno> {
        self.files.get(&fh).ok_or(Errno::EBADF)
    }
}

/// What a power loss did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PowerLossReport {
    /// Files whose unsynced writes were rolled back.
    pub files_rolled_back: usize,
    /// Bytes written to those files since their last sync, now lost.
    pub bytes_lost: u64,
    /// Directory operations (create, unlink, rename, ...) undone.
    pub names_undone: usize,
}

impl From<(DataRollback, usize)> for PowerLossReport {
    fn from((data, names): (DataRollback, usize)) -> Self {
        Self {
            files_rolled_back: data.files,
            bytes_lost: data.bytes,
            names_undone: names,
        }
    }
}

/// State and faults of one mount.
pub struct Shared {
    state: Mutex<State>,
    faults: Mutex<SyncFaults>,
}

impl Shared {
    pub fn new(state: State) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(state),
            faults: Mutex::new(SyncFaults::default()),
        })
    }

    /// The state, even if a panic poisoned the lock (the state is still
    /// the best record of what is pending).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, SyncFaults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// FUSE attributes of a backing entry, under our inode number.
pub fn attr(ino: INodeNo, meta: &Metadata) -> Result<FileAttr, Errno> {
    let time = |secs: i64, nanos: i64| {
        let nanos = u32::try_from(nanos).unwrap_or(0);
        match u64::try_from(secs) {
            Ok(s) => UNIX_EPOCH + Duration::new(s, nanos),
            Err(_) => UNIX_EPOCH,
        }
    };
    Ok(FileAttr {
        ino,
        size: meta.size(),
        blocks: meta.blocks(),
        atime: time(meta.atime(), meta.atime_nsec()),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        ctime: time(meta.ctime(), meta.ctime_nsec()),
        crtime: UNIX_EPOCH,
        kind: FileType::from_std(meta.file_type()).ok_or(Errno::EIO)?,
        perm: (meta.mode() & 0o7777) as u16,
        nlink: u32::try_from(meta.nlink()).unwrap_or(u32::MAX),
        uid: meta.uid(),
        gid: meta.gid(),
        rdev: u32::try_from(meta.rdev()).unwrap_or(0),
        blksize: u32::try_from(meta.blksize()).unwrap_or(4096),
        flags: 0,
    })
}
