//! The mount's directory operations: look up, create, remove, rename and
//! list entries, each recorded in the name journal before it is answered.
//!
//! Owns the namespace half of [`PassThrough`]'s behaviour; the FUSE trait
//! impl (`passthrough.rs`) only turns these results into replies.
//!
//! Invariants: only regular files and directories can be created through
//! the mount (symlinks, hard links, devices answer `EPERM`), so every name
//! the journal tracks can be undone by a rename or a delete; a rename over
//! an existing entry checks the same conditions `rename(2)` does before it
//! moves the old entry to the graveyard.

use std::{
    ffi::OsStr,
    fs::{self, DirBuilder, File, OpenOptions},
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt},
    path::Path,
    sync::Arc,
};

use fuser::{Errno, FileAttr, FileType, INodeNo, RenameFlags};

use super::{
    journal::GRAVEYARD,
    passthrough::PassThrough,
    state::{Listed, OpenFile},
};

/// Flags we never pass to the backing `open`: creation is ours to do and
/// record, `O_TRUNC` must go through the undo log, the kernel already
/// turned `O_APPEND` into offsets, `O_DIRECT` would impose alignment, and
/// `O_SYNC` is emulated (so that sync faults apply to it).
const STRIPPED: i32 = libc::O_CREAT
    | libc::O_EXCL
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NOCTTY
    | libc::O_DIRECT
    | libc::O_SYNC
    | libc::O_DSYNC;

/// Open options for the backing file of a mount-level `open(flags)`.
pub fn backing_options(flags: i32) -> OpenOptions {
    let mut options = OpenOptions::new();
    let access = flags & libc::O_ACCMODE;
    // Writable files are opened for reading too: the undo log reads the
    // original pages through the same descriptor.
    options
        .read(true)
        .write(access != libc::O_RDONLY)
        .custom_flags(flags & !STRIPPED & !libc::O_ACCMODE);
    options
}

/// Whether `flags` ask for every write to be synced.
pub fn sync_writes(flags: i32) -> bool {
    flags & (libc::O_SYNC | libc::O_DSYNC) != 0
}

impl PassThrough {
    pub(super) fn lookup_entry(&self, parent: INodeNo, name: &OsStr) -> Result<FileAttr, Errno> {
        let mut st = self.shared.state();
        let (rel, _) = st.child(parent, name)?;
        st.entry(&rel)
    }

    pub(super) fn make_dir(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
    ) -> Result<FileAttr, Errno> {
        let mut st = self.shared.state();
        let (rel, dir) = st.child(parent, name)?;
        DirBuilder::new()
            .mode(mode & !umask & 0o7777)
            .create(st.abs(&rel))
            .map_err(Errno::from)?;
        st.names.created(dir, &rel);
        st.entry(&rel)
    }

    /// `create`: make (or, without `O_EXCL`, open) a regular file.
    pub(super) fn create_file(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
    ) -> Result<(FileAttr, u64), Errno> {
        let mut st = self.shared.state();
        let (rel, dir) = st.child(parent, name)?;
        let abs = st.abs(&rel);
        let mut options = backing_options(flags);
        options.write(true);
        let created = options
            .clone()
            .create_new(true)
            .mode(mode & !umask & 0o7777)
            .open(&abs);
        let file = match created {
            Ok(file) => {
                st.names.created(dir, &rel);
                file
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if flags & libc::O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                let file = options.open(&abs).map_err(Errno::from)?;
                if flags & libc::O_TRUNC != 0 {
                    truncate(&mut st.data, &file, 0)?;
                }
                file
            }
            Err(e) => return Err(e.into()),
        };
        let attr = st.entry(&rel)?;
        let backing = file.metadata().map_err(Errno::from)?.ino();
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
        Ok((attr, fh))
    }

    /// `mknod`: only regular files.
    pub(super) fn make_node(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
    ) -> Result<FileAttr, Errno> {
        if mode & libc::S_IFMT != libc::S_IFREG {
            return Err(Errno::EPERM);
        }
        let mut st = self.shared.state();
        let (rel, dir) = st.child(parent, name)?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & !umask & 0o7777)
            .open(st.abs(&rel))
            .map_err(Errno::from)?;
        st.names.created(dir, &rel);
        st.entry(&rel)
    }

    pub(super) fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool) -> Result<(), Errno> {
        let mut st = self.shared.state();
        let (rel, parent_backing) = st.child(parent, name)?;
        let abs = st.abs(&rel);
        let meta = fs::symlink_metadata(&abs).map_err(Errno::from)?;
        match (dir, meta.is_dir()) {
            (false, true) => return Err(Errno::EISDIR),
            (true, false) => return Err(Errno::ENOTDIR),
            (true, true) if !is_empty_dir(&abs)? => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let moved = st.names.remove(parent_backing, &rel).map_err(Errno::from)?;
        st.follow(&[moved]);
        Ok(())
    }

    pub(super) fn rename_entry(
        &self,
        parent: INodeNo,
        name: &OsStr,
        new_parent: INodeNo,
        new_name: &OsStr,
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_WHITEOUT) {
            return Err(Errno::EINVAL);
        }
        let mut st = self.shared.state();
        let (from, from_dir) = st.child(parent, name)?;
        let (to, to_dir) = st.child(new_parent, new_name)?;
        let source = fs::symlink_metadata(st.abs(&from)).map_err(Errno::from)?;
        match fs::symlink_metadata(st.abs(&to)) {
            Ok(_) if flags.contains(RenameFlags::RENAME_NOREPLACE) => return Err(Errno::EEXIST),
            Ok(target) if target.ino() == source.ino() => return Ok(()),
            Ok(target) => check_replaceable(&source, &target, &st.abs(&to))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        if source.is_dir() && to.starts_with(&from) {
            return Err(Errno::EINVAL);
        }
        let moves = st
            .names
            .rename([from_dir, to_dir], &from, &to)
            .map_err(Errno::from)?;
        st.follow(&moves);
        Ok(())
    }

    /// `opendir`: list the directory now; `readdir` pages through the list.
    pub(super) fn open_dir(&self, ino: INodeNo) -> Result<u64, Errno> {
        let mut st = self.shared.state();
        let (rel, _) = st.inode(ino)?;
        let at_root = rel.as_os_str().is_empty();
        let mut listed = Vec::new();
        for entry in fs::read_dir(st.abs(&rel)).map_err(Errno::from)? {
            let entry = entry.map_err(Errno::from)?;
            if at_root && entry.file_name() == GRAVEYARD {
                continue;
            }
            let meta = entry.metadata().map_err(Errno::from)?;
            let Some(kind) = FileType::from_std(meta.file_type()) else {
                continue;
            };
            listed.push(Listed {
                name: entry.file_name(),
                kind,
                backing: meta.ino(),
            });
        }
        let fh = st.handle();
        st.dirs.insert(fh, listed);
        Ok(fh)
    }

    /// The listing of `fh` from position `offset` on ("." and ".." first).
    pub(super) fn list(&self, ino: INodeNo, fh: u64, offset: u64) -> Result<Vec<Listed>, Errno> {
        let st = self.shared.state();
        let listed = st.dirs.get(&fh).ok_or(Errno::EBADF)?;
        let (_, own) = st.inode(ino)?;
        let dots = [".", ".."].map(|name| Listed {
            name: name.into(),
            kind: FileType::Directory,
            backing: own,
        });
        Ok(dots
            .into_iter()
            .chain(listed.iter().cloned())
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .collect())
    }
}

/// Whether `rename(2)` would let `source` replace `target`.
fn check_replaceable(source: &fs::Metadata, target: &fs::Metadata, at: &Path) -> Result<(), Errno> {
    match (source.is_dir(), target.is_dir()) {
        (true, false) => Err(Errno::ENOTDIR),
        (false, true) => Err(Errno::EISDIR),
        (true, true) if !is_empty_dir(at)? => Err(Errno::ENOTEMPTY),
        _ => Ok(()),
    }
}

fn is_empty_dir(path: &Path) -> Result<bool, Errno> {
    Ok(fs::read_dir(path).map_err(Errno::from)?.next().is_none())
}

/// Cut `file` to `len`, through the undo log.
pub fn truncate(
    data: &mut super::pending::PendingData,
    file: &File,
    len: u64,
) -> Result<(), Errno> {
    data.before_resize(file, len).map_err(Errno::from)?;
    file.set_len(len).map_err(Errno::from)
}
