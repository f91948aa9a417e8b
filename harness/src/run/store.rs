//! The run directory: `runs/<plan name>/<UTC timestamp>/`, and the
//! `runs/latest` link to the newest run.
//!
//! ```text
//! plan.yaml      the plan as run, seed filled in
//! history.jsonl  written as the run goes
//! nodes/nI.log   each node's stdout+stderr (nodes/nI/ holds its data)
//! results.json   the verdicts
//! ```

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

/// A run's directory and the files in it.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates a fresh directory for a run of `plan_name` under `runs`,
    /// and points `runs/latest` at it.
    pub fn create(runs: &Path, plan_name: &str) -> std::io::Result<RunDir> {
        let stamp = timestamp(SystemTime::now());
        let parent = runs.join(plan_name);
        std::fs::create_dir_all(&parent)?;
        // Two runs in one second (--repeat) get a suffix.
        let mut path = parent.join(&stamp);
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = parent.join(format!("{stamp}-{n}"));
        }
        std::fs::create_dir_all(path.join("nodes"))?;
        let dir = RunDir { path };
        dir.link_latest(runs)?;
        Ok(dir)
    }

    /// Opens an existing run directory.
    pub fn open(path: &Path) -> RunDir {
        RunDir {
            path: path.to_owned(),
        }
    }

    fn link_latest(&self, runs: &Path) -> std::io::Result<()> {
        let latest = runs.join("latest");
        let target = self.path.strip_prefix(runs).unwrap_or(&self.path);
        let temp = runs.join(".latest.tmp");
        let _ = std::fs::remove_file(&temp);
        std::os::unix::fs::symlink(target, &temp)?;
        // rename replaces the old link atomically.
        std::fs::rename(&temp, &latest)
    }

    pub fn plan(&self) -> PathBuf {
        self.path.join("plan.yaml")
    }

    pub fn history(&self) -> PathBuf {
        self.path.join("history.jsonl")
    }

    pub fn results(&self) -> PathBuf {
        self.path.join("results.json")
    }

    pub fn nodes(&self) -> PathBuf {
        self.path.join("nodes")
    }
}

/// `20261126T103500Z`: sortable, and safe in file names.
pub fn timestamp(time: SystemTime) -> String {
    let rfc = humantime::format_rfc3339_seconds(time).to_string();
    rfc.replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_get_their_own_directories_and_latest_follows() {
        let runs = tempfile::tempdir().unwrap();
        let first = RunDir::create(runs.path(), "p").unwrap();
        let second = RunDir::create(runs.path(), "p").unwrap();
        assert_ne!(first.path, second.path);
        let latest = std::fs::canonicalize(runs.path().join("latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&second.path).unwrap());
        assert!(second.nodes().is_dir());
    }

    #[test]
    fn timestamps_sort_and_have_no_colons() {
        let t = timestamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000));
        assert_eq!(t, "20270115T080000Z");
    }
}
