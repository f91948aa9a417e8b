//! The mount's file operations: open, read, write, resize, and the sync
//! calls where the faults live.
//!
//! Owns the data half of [`PassThrough`]'s behaviour. Every write and
//! resize records the undo information before touching the backing file;
//! every `fsync`/`fdatasync`/directory `fsync` first asks the sync faults,
//! and only a real, successful sync marks anything durable.
//!
//! Invariants: a crash action runs with no lock held (it may take as long
//! as a kill takes), and the sync it stopped neither reaches the backing
//! file nor marks anything durable.

use std::{
    fs::{File, OpenOptions},
    os::{fd::AsRawFd, unix::fs::FileExt},
    path::PathBuf,
    sync::Arc,
    time::SystemTime,
};

use fuser::{Errno, FileAttr, INodeNo, TimeOrNow};
use nix::sys::{stat::UtimensatFlags, time::TimeSpec};

use super::{
    names::{backing_options, sync_writes, truncate},
    passthrough::PassThrough,
    state::{OpenFile, attr},
    sync_faults::SyncVerdict,
};

/// The largest read we serve in one request (the kernel asks for at most
/// its `max_read`, far below this; hostile sizes are capped).
const MAX_READ: u32 = 16 << 20;

/// Attribute changes of one `setattr`.
pub struct AttrChange {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeOrNow>,
    pub mtime: Option<TimeOrNow>,
    pub fh: Option<u64>,
}

/// What is being synced.
enum SyncTarget {
    File { file: Arc<File>, backing: u64 },
    Dir { backing: u64 },
}

impl PassThrough {
    pub(super) fn attributes(&self, ino: INodeNo, fh: Option<u64>) -> Result<FileAttr, Errno> {
        let st = self.shared.state();
        let meta = match fh.and_then(|fh| st.files.get(&fh)) {
            Some(open) => open.file.metadata(),
            None => std::fs::symlink_metadata(st.abs(&st.inode(ino)?.0)),
        };
        attr(ino, &meta.map_err(Errno::from)?)
    }

    pub(super) fn open_file(&self, ino: INodeNo, flags: i32) -> Result<u64, Errno> {
        let mut st = self.shared.state();
        let (rel, backing) = st.inode(ino)?;
        let file = backing_options(flags)
            .open(st.abs(&rel))
            .map_err(Errno::from)?;
        if flags & libc::O_TRUNC != 0 && flags & libc::O_ACCMODE != libc::O_RDONLY {
            truncate(&mut st.data, &file, 0)?;
        }
        let fh = st.handle();
        st.files.insert(
            fh,
            OpenFile {
                file: Arc::new(file),
                path: rel,
                backing,
                sync_writes: sync_writes(flags),
            },
        );
        Ok(fh)
    }

    pub(super) fn read_at(&self, fh: u64, offset: u64, size: u32) -> Result<Vec<u8>, Errno> {
        let file = self.shared.state().file(fh)?.file.clone();
        let mut buf = vec![0; size.min(MAX_READ) as usize];
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset.saturating_add(done as u64)) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        buf.truncate(done);
        Ok(buf)
    }

    pub(super) fn write_at(
        &self,
        fh: u64,
        offset: u64,
        data: &[u8],
        pid: u32,
    ) -> Result<u32, Errno> {
        let (file, path, backing, sync) = {
            let mut st = self.shared.state();
            let open = st.file(fh)?;
            let (file, path, backing, sync) = (
                open.file.clone(),
                open.path.clone(),
                open.backing,
                open.sync_writes,
            );
            st.data
                .before_write(&file, offset, data.len() as u64)
                .map_err(Errno::from)?;
            file.write_all_at(data, offset).map_err(Errno::from)?;
            (file, path, backing, sync)
        };
        if sync {
            self.sync(path, SyncTarget::File { file, backing }, true, pid)?;
        }
        u32::try_from(data.len()).map_err(|_| Errno::EINVAL)
    }

    pub(super) fn set_attributes(
        &self,
        ino: INodeNo,
        change: AttrChange,
    ) -> Result<FileAttr, Errno> {
        {
            let mut st = self.shared.state();
            let (rel, _) = st.inode(ino)?;
            let abs = st.abs(&rel);
            if let Some(size) = change.size {
                let file = match change.fh.and_then(|fh| st.files.get(&fh)) {
                    Some(open) => open.file.clone(),
                    None => Arc::new(
                        OpenOptions::new()
                            .read(true)
                            .write(true)
                            .open(&abs)
                            .map_err(Errno::from)?,
                    ),
                };
                truncate(&mut st.data, &file, size)?;
            }
            if let Some(mode) = change.mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&abs, std::fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(Errno::from)?;
            }
            if change.uid.is_some() || change.gid.is_some() {
                std::os::unix::fs::lchown(&abs, change.uid, change.gid).map_err(Errno::from)?;
            }
            if change.atime.is_some() || change.mtime.is_some() {
                nix::sys::stat::utimensat(
                    nix::fcntl::AT_FDCWD,
                    &abs,
                    &timespec(change.atime),
                    &timespec(change.mtime),
                    UtimensatFlags::NoFollowSymlink,
                )
                .map_err(|e| Errno::from_i32(e as i32))?;
            }
        }
        self.attributes(ino, change.fh)
    }

    /// `fallocate`: plain allocation (which may grow the file) and
    /// `FALLOC_FL_KEEP_SIZE`; anything that changes bytes is refused.
    pub(super) fn allocate(
        &self,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
    ) -> Result<(), Errno> {
        if mode & !libc::FALLOC_FL_KEEP_SIZE != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.shared.state();
        let file = st.file(fh)?.file.clone();
        let end = offset.checked_add(length).ok_or(Errno::EFBIG)?;
        if mode == 0 {
            // Growth must be undoable: make sure the file has a record of
            // its synced length.
            let len = file.metadata().map_err(Errno::from)?.len();
            st.data
                .before_resize(&file, len.max(end))
                .map_err(Errno::from)?;
        }
        let (Ok(offset), Ok(length)) = (i64::try_from(offset), i64::try_from(length)) else {
            return Err(Errno::EFBIG);
        };
        // SAFETY: fallocate on a descriptor we own, with plain integers.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), mode, offset, length) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(())
    }

    pub(super) fn release_file(&self, fh: u64) {
        self.shared.state().files.remove(&fh);
    }

    pub(super) fn release_dir(&self, fh: u64) {
        self.shared.state().dirs.remove(&fh);
    }

    pub(super) fn sync_file(&self, fh: u64, datasync: bool, pid: u32) -> Result<(), Errno> {
        let (file, path, backing) = {
            let st = self.shared.state();
            let open = st.file(fh)?;
            (open.file.clone(), open.path.clone(), open.backing)
        };
        self.sync(path, SyncTarget::File { file, backing }, datasync, pid)
    }

    pub(super) fn sync_dir(&self, ino: INodeNo, datasync: bool, pid: u32) -> Result<(), Errno> {
        let (path, backing) = self.shared.state().inode(ino)?;
        self.sync(path, SyncTarget::Dir { backing }, datasync, pid)
    }

    /// A sync call: faults first, then the real sync, then durability.
    fn sync(
        &self,
        path: PathBuf,
        target: SyncTarget,
        datasync: bool,
        pid: u32,
    ) -> Result<(), Errno> {
        let verdict = self.shared.faults().on_sync(&path, pid, datasync);
        match verdict {
            SyncVerdict::Proceed => {}
            SyncVerdict::Fail => return Err(Errno::EIO),
            SyncVerdict::Crash(action, point) => {
                tracing::info!(path = %point.path.display(), pid, "crash at fsync");
                action(&point);
                return Err(Errno::EIO);
            }
        }
        match target {
            SyncTarget::File { file, backing } => {
                let synced = if datasync {
                    file.sync_data()
                } else {
                    file.sync_all()
                };
                synced.map_err(Errno::from)?;
                self.shared.state().data.synced(backing);
            }
            SyncTarget::Dir { backing } => {
                let mut st = self.shared.state();
                File::open(st.abs(&path))
                    .and_then(|dir| dir.sync_all())
                    .map_err(Errno::from)?;
                let graves = st.names.synced_dir(backing).map_err(Errno::from)?;
                st.buried(&graves);
            }
        }
        Ok(())
    }

    pub(super) fn fs_stats(&self) -> Result<nix::sys::statvfs::Statvfs, Errno> {
        let root = self.shared.state().root.clone();
        nix::sys::statvfs::statvfs(&root).map_err(|e| Errno::from_i32(e as i32))
    }

    pub(super) fn check_access(&self, ino: INodeNo, mask: i32) -> Result<(), Errno> {
        let st = self.shared.state();
        let abs = st.abs(&st.inode(ino)?.0);
        let mode = nix::unistd::AccessFlags::from_bits_truncate(mask);
        nix::unistd::access(&abs, mode).map_err(|e| Errno::from_i32(e as i32))
    }
}

/// A `TimeOrNow` as `utimensat` wants it (`None` leaves the time alone).
fn timespec(time: Option<TimeOrNow>) -> TimeSpec {
    match time {
        None => TimeSpec::UTIME_OMIT,
        Some(TimeOrNow::Now) => TimeSpec::UTIME_NOW,
        Some(TimeOrNow::SpecificTime(t)) => {
            let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            TimeSpec::from_duration(since)
        }
    }
}
