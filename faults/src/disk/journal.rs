//! Directory entries changed since the last directory `fsync`: the names a
//! power loss takes back.
//!
//! Owns [`NameJournal`]: every create, mkdir, unlink, rmdir and rename,
//! performed on the backing tree *and* recorded in one ordered journal,
//! with what is needed to undo it. Removed entries are not deleted but
//! moved into a hidden graveyard directory inside the backing tree, so
//! that their content can come back.
//!
//! The durability rule (documented in `docs/faults.md`): the journal is
//! ordered, like a journaling file system's metadata log. An `fsync` of a
//! directory commits the journal up to the last operation that touched
//! that directory, together with every operation before it; a power loss
//! undoes the uncommitted tail, newest first. An `fsync` of a *file* does
//! not commit its name.
//!
//! Invariants:
//! - Paths in the journal are relative to the backing root and name the
//!   entry as it was right after the operation; undoing newest first
//!   restores exactly that tree before each undo, so the paths are valid.
//! - A graveyard entry exists exactly as long as the uncommitted operation
//!   that put it there; committing deletes it for good, a power loss puts
//!   it back.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// The graveyard's name in the backing root; the mount hides it.
pub const GRAVEYARD: &str = ".durablefs-graveyard";

/// One namespace operation, with what undoes it.
#[derive(Debug)]
enum NameOp {
    /// `path` was created (a file or an empty directory).
    Created { dir: u64, path: PathBuf },
    /// `path` was removed and now sits in the graveyard at `grave`.
    Removed {
        dir: u64,
        path: PathBuf,
        grave: PathBuf,
    },
    /// `from` was renamed to `to`; what `to` named before is at `displaced`.
    Renamed {
        dirs: [u64; 2],
        from: PathBuf,
        to: PathBuf,
        displaced: Option<PathBuf>,
    },
}

impl NameOp {
    fn touches(&self, dir_ino: u64) -> bool {
        match self {
            NameOp::Created { dir, .. } | NameOp::Removed { dir, .. } => *dir == dir_ino,
            NameOp::Renamed { dirs, .. } => dirs.contains(&dir_ino),
        }
    }

    /// The graveyard entry this operation keeps, if any.
    fn grave(&self) -> Option<&Path> {
        match self {
            NameOp::Removed { grave, .. } => Some(grave),
            NameOp::Renamed { displaced, .. } => displaced.as_deref(),
            NameOp::Created { .. } => None,
        }
    }
}

/// The uncommitted namespace operations of one backing tree, oldest first.
#[derive(Debug)]
pub struct NameJournal {
    root: PathBuf,
    ops: Vec<NameOp>,
    next_grave: u64,
}

/// A change of a name in the backing tree, for the inode table to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub from: PathBuf,
    pub to: PathBuf,
}

impl NameJournal {
    /// A journal for the tree at `root`, with an empty graveyard (whatever
    /// an earlier, crashed mount left there is deleted: at mount time the
    /// backing tree *is* the durable state).
    pub fn new(root: &Path) -> io::Result<Self> {
        let graveyard = root.join(GRAVEYARD);
        match fs::remove_dir_all(&graveyard) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        fs::create_dir(&graveyard)?;
        Ok(Self {
            root: root.to_owned(),
            ops: Vec::new(),
            next_grave: 0,
        })
    }

    /// Number of uncommitted operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Record that `path` (in the directory with inode `dir`) was created.
    pub fn created(&mut self, dir: u64, path: &Path) {
        self.ops.push(NameOp::Created {
            dir,
            path: path.to_owned(),
        });
    }

    /// Remove `path` (in directory `dir`) by moving it to the graveyard;
    /// returns where it went. A directory must be empty (checked by the
    /// caller, as `rmdir` does).
    pub fn remove(&mut self, dir: u64, path: &Path) -> io::Result<Moved> {
        let grave = self.bury(path)?;
        self.ops.push(NameOp::Removed {
            dir,
            path: path.to_owned(),
            grave: grave.clone(),
        });
        Ok(Moved {
            from: path.to_owned(),
            to: grave,
        })
    }

    /// Rename `from` (in directory `dirs[0]`) to `to` (in `dirs[1]`),
    /// replacing what `to` names, which goes to the graveyard. The caller
    /// has checked that the replacement is allowed (kinds match, an
    /// existing directory is empty). Returns the moves, in order.
    pub fn rename(&mut self, dirs: [u64; 2], from: &Path, to: &Path) -> io::Result<Vec<Moved>> {
        let mut moves = Vec::new();
        let displaced = match fs::symlink_metadata(self.root.join(to)) {
            Ok(_) => {
                let grave = self.bury(to)?;
                moves.push(Moved {
                    from: to.to_owned(),
                    to: grave.clone(),
                });
                Some(grave)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if let Err(e) = fs::rename(self.root.join(from), self.root.join(to)) {
            if let Some(grave) = &displaced {
                // Put the target back: the rename never happened.
                fs::rename(self.root.join(grave), self.root.join(to))?;
            }
            return Err(e);
        }
        moves.push(Moved {
            from: from.to_owned(),
            to: to.to_owned(),
        });
        self.ops.push(NameOp::Renamed {
            dirs,
            from: from.to_owned(),
            to: to.to_owned(),
            displaced,
        });
        Ok(moves)
    }

    /// The directory with inode `dir` was synced: commit the journal up to
    /// the last operation that touched it. Returns the graveyard paths now
    /// deleted for good.
    pub fn synced_dir(&mut self, dir: u64) -> io::Result<Vec<PathBuf>> {
        match self.ops.iter().rposition(|op| op.touches(dir)) {
            Some(last) => self.commit(last + 1),
            None => Ok(Vec::new()),
        }
    }

    /// Commit everything (a clean unmount).
    pub fn commit_all(&mut self) -> io::Result<Vec<PathBuf>> {
        self.commit(self.ops.len())
    }

    /// Undo every uncommitted operation, newest first. Returns how many
    /// were undone. On failure the operations not yet undone stay.
    pub fn roll_back(&mut self) -> io::Result<usize> {
        let mut undone = 0;
        while let Some(op) = self.ops.pop() {
            if let Err(e) = self.undo(&op) {
                self.ops.push(op);
                return Err(e);
            }
            undone += 1;
        }
        Ok(undone)
    }

    /// Commit the first `count` operations: delete their graves.
    fn commit(&mut self, count: usize) -> io::Result<Vec<PathBuf>> {
        let mut deleted = Vec::new();
        for op in self.ops.drain(..count) {
            if let Some(grave) = op.grave() {
                remove_any(&self.root.join(grave))?;
                deleted.push(grave.to_owned());
            }
        }
        Ok(deleted)
    }

    fn undo(&self, op: &NameOp) -> io::Result<()> {
        let at = |p: &Path| self.root.join(p);
        match op {
            NameOp::Created { path, .. } => remove_any(&at(path)),
            NameOp::Removed { path, grave, .. } => fs::rename(at(grave), at(path)),
            NameOp::Renamed {
                from,
                to,
                displaced,
                ..
            } => {
                fs::rename(at(to), at(from))?;
                match displaced {
                    Some(grave) => fs::rename(at(grave), at(to)),
                    None => Ok(()),
                }
            }
        }
    }

    /// Move `path` into the graveyard under a fresh name.
    fn bury(&mut self, path: &Path) -> io::Result<PathBuf> {
        let grave = Path::new(GRAVEYARD).join(self.next_grave.to_string());
        self.next_grave += 1;
        fs::rename(self.root.join(path), self.root.join(&grave))?;
        Ok(grave)
    }
}

/// Delete a file or a directory tree.
fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    struct Tree {
        dir: tempfile::TempDir,
        journal: NameJournal,
    }

    impl Tree {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let journal = NameJournal::new(dir.path()).unwrap();
            Self { dir, journal }
        }
        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }
        fn ino(&self, rel: &str) -> u64 {
            fs::metadata(self.path(rel)).unwrap().ino()
        }
        fn root(&self) -> u64 {
            self.ino("")
        }
        fn create(&mut self, rel: &str, content: &str) {
            fs::write(self.path(rel), content).unwrap();
            let dir = self.ino(Path::new(rel).parent().unwrap().to_str().unwrap());
            self.journal.created(dir, Path::new(rel));
        }
        fn read(&self, rel: &str) -> Option<String> {
            fs::read_to_string(self.path(rel)).ok()
        }
        /// Visible names at the root, graveyard hidden.
        fn names(&self) -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(self.dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n != GRAVEYARD)
                .collect();
            names.sort();
            names
        }
        fn graves(&self) -> usize {
            fs::read_dir(self.path(GRAVEYARD)).unwrap().count()
        }
    }

    #[test]
    fn a_created_file_needs_its_directory_synced() {
        let mut t = Tree::new();
        t.create("a", "1");
        assert_eq!(t.journal.roll_back().unwrap(), 1);
        assert_eq!(t.names(), Vec::<String>::new());

        t.create("a", "1");
        let root = t.root();
        t.journal.synced_dir(root).unwrap();
        assert_eq!(t.journal.roll_back().unwrap(), 0);
        assert_eq!(t.names(), vec!["a"]);
    }

    #[test]
    fn unlink_without_directory_sync_comes_back_with_its_content() {
        let mut t = Tree::new();
        fs::write(t.path("a"), "old").unwrap();
        let root = t.root();
        t.journal.remove(root, Path::new("a")).unwrap();
        assert_eq!(t.names(), Vec::<String>::new());
        assert_eq!(t.graves(), 1);
        t.journal.roll_back().unwrap();
        assert_eq!(t.read("a").as_deref(), Some("old"));
        assert_eq!(t.graves(), 0);

        t.journal.remove(root, Path::new("a")).unwrap();
        assert_eq!(t.journal.synced_dir(root).unwrap().len(), 1);
        assert_eq!(t.graves(), 0, "a committed unlink deletes for good");
        t.journal.roll_back().unwrap();
        assert_eq!(t.names(), Vec::<String>::new());
    }

    #[test]
    fn rename_over_a_file_is_undone_until_the_directory_is_synced() {
        let mut t = Tree::new();
        fs::write(t.path("target"), "old").unwrap();
        t.create("tmp", "new");
        let root = t.root();
        t.journal
            .rename([root, root], Path::new("tmp"), Path::new("target"))
            .unwrap();
        assert_eq!(t.read("target").as_deref(), Some("new"));
        assert_eq!(t.journal.roll_back().unwrap(), 2);
        assert_eq!(t.read("target").as_deref(), Some("old"));
        assert_eq!(t.names(), vec!["target"]);

        t.create("tmp", "new");
        t.journal
            .rename([root, root], Path::new("tmp"), Path::new("target"))
            .unwrap();
        t.journal.synced_dir(root).unwrap();
        t.journal.roll_back().unwrap();
        assert_eq!(t.read("target").as_deref(), Some("new"));
        assert_eq!(t.names(), vec!["target"]);
        assert_eq!(t.graves(), 0);
    }

    #[test]
    fn syncing_one_directory_commits_the_journal_up_to_its_last_operation() {
        let mut t = Tree::new();
        fs::create_dir(t.path("d")).unwrap();
        let (root, d) = (t.root(), t.ino("d"));
        t.journal.created(root, Path::new("d"));
        t.create("d/x", "x");
        t.create("y", "y");
        // d's last operation is the second: the first commits with it, the
        // third (in the root, later) does not.
        t.journal.synced_dir(d).unwrap();
        assert_eq!(t.journal.len(), 1);
        t.journal.roll_back().unwrap();
        assert_eq!(t.names(), vec!["d"]);
        assert_eq!(t.read("d/x").as_deref(), Some("x"));
    }

    #[test]
    fn renames_across_directories_undo_in_order() {
        let mut t = Tree::new();
        fs::create_dir(t.path("a")).unwrap();
        fs::create_dir(t.path("b")).unwrap();
        fs::write(t.path("a/f"), "f").unwrap();
        let (a, b) = (t.ino("a"), t.ino("b"));
        t.journal
            .rename([a, b], Path::new("a/f"), Path::new("b/f"))
            .unwrap();
        t.journal
            .rename([b, a], Path::new("b/f"), Path::new("a/g"))
            .unwrap();
        t.journal.roll_back().unwrap();
        assert_eq!(t.read("a/f").as_deref(), Some("f"));
        assert!(t.read("a/g").is_none() && t.read("b/f").is_none());
    }
}
