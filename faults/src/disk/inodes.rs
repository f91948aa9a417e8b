//! The mount's inode numbers and the backing paths they stand for.
//!
//! Owns [`Inodes`]: FUSE inode numbers are ours, allocated from a counter
//! and never reused, so the kernel can never mistake a new file for an old
//! one; each maps to a path relative to the backing root (empty for the
//! root, inode 1) and to the backing inode number, which is how a name
//! looked up twice gets the same FUSE inode.
//!
//! Invariants:
//! - A path here is where the inode's backing entry is now: renames and
//!   moves into the graveyard update it (with every path below a moved
//!   directory), and an entry deleted for good is forgotten.
//! - After a power loss the table is reset to the root: names may have
//!   changed under every other entry, and the kernel, which caches nothing
//!   (zero TTLs), looks them up again.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use fuser::INodeNo;

/// One inode the kernel knows.
#[derive(Clone, Debug)]
pub struct Inode {
    /// Relative to the backing root.
    pub path: PathBuf,
    /// The backing inode number.
    pub backing: u64,
}

/// The table.
#[derive(Debug)]
pub struct Inodes {
    by_ino: HashMap<u64, Inode>,
    by_backing: HashMap<u64, u64>,
    next: u64,
}

impl Inodes {
    /// A table holding only the root, whose backing inode is `root_backing`.
    pub fn new(root_backing: u64) -> Self {
        let mut table = Self {
            by_ino: HashMap::new(),
            by_backing: HashMap::new(),
            next: INodeNo::ROOT.0 + 1,
        };
        table.insert_root(root_backing);
        table
    }

    fn insert_root(&mut self, root_backing: u64) {
        self.by_ino.insert(
            INodeNo::ROOT.0,
            Inode {
                path: PathBuf::new(),
                backing: root_backing,
            },
        );
        self.by_backing.insert(root_backing, INodeNo::ROOT.0);
    }

    /// The inode `ino`, if known.
    pub fn get(&self, ino: INodeNo) -> Option<&Inode> {
        self.by_ino.get(&ino.0)
    }

    /// The FUSE inode for the entry at `path` with backing inode
    /// `backing`: the known one (now at `path`), or a new one.
    pub fn remember(&mut self, path: &Path, backing: u64) -> INodeNo {
        if let Some(&ino) = self.by_backing.get(&backing)
            && let Some(inode) = self.by_ino.get_mut(&ino)
        {
            if ino != INodeNo::ROOT.0 {
                inode.path = path.to_owned();
            }
            return INodeNo(ino);
        }
        let ino = self.next;
        self.next += 1;
        self.by_ino.insert(
            ino,
            Inode {
                path: path.to_owned(),
                backing,
            },
        );
        self.by_backing.insert(backing, ino);
        INodeNo(ino)
    }

    /// The entry at `from` (and everything below it) is now at `to`.
    pub fn moved(&mut self, from: &Path, to: &Path) {
        for inode in self.by_ino.values_mut() {
            if let Ok(rest) = inode.path.strip_prefix(from)
                && !inode.path.as_os_str().is_empty()
            {
                inode.path = if rest.as_os_str().is_empty() {
                    to.to_owned()
                } else {
                    to.join(rest)
                };
            }
        }
    }

    /// The entry at `path` (and everything below it) is gone for good.
    pub fn deleted(&mut self, path: &Path) {
        let gone: Vec<u64> = self
            .by_ino
            .iter()
            .filter(|&(&ino, inode)| ino != INodeNo::ROOT.0 && inode.path.starts_with(path))
            .map(|(&ino, _)| ino)
            .collect();
        for ino in gone {
            if let Some(inode) = self.by_ino.remove(&ino) {
                self.by_backing.remove(&inode.backing);
            }
        }
    }

    /// Forget everything but the root.
    pub fn reset(&mut self) {
        let root = self.by_ino[&INodeNo::ROOT.0].backing;
        self.by_ino.clear();
        self.by_backing.clear();
        self.insert_root(root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_renames_and_numbers_are_never_reused() {
        let mut t = Inodes::new(100);
        let d = t.remember(Path::new("d"), 200);
        let f = t.remember(Path::new("d/f"), 300);
        assert_eq!(t.remember(Path::new("d/f"), 300), f);
        t.moved(Path::new("d"), Path::new("e"));
        assert_eq!(t.get(f).unwrap().path, Path::new("e/f"));
        assert_eq!(t.get(d).unwrap().path, Path::new("e"));
        assert_eq!(t.get(INodeNo::ROOT).unwrap().path, Path::new(""));
        t.deleted(Path::new("e/f"));
        assert!(t.get(f).is_none());
        // The backing inode number comes back for a new file: a new number.
        let g = t.remember(Path::new("e/g"), 300);
        assert_ne!(g, f);
        t.reset();
        assert!(t.get(d).is_none() && t.get(INodeNo::ROOT).is_some());
    }
}
