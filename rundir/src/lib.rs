//! The run directory: `runs/<plan name>/<UTC timestamp>/`, the
//! `runs/latest` link to the newest run, every file name in it, and the
//! run's metadata in `results.json`.
//!
//! ```text
//! plan.yaml      the plan as run, seed filled in
//! history.jsonl  written as the run goes
//! nodes/nI.log   each node's stdout+stderr (nodes/nI/ holds its data)
//! nodes/nI.backing  with disk faults: the node's files (nodes/nI/ is a
//!                durable mount of it during the run, empty after)
//! results.json   the verdicts, and the run's metadata (`extra.run`)
//! report.html    the report for people
//! junit.xml      the report for CI
//! ```
//!
//! Invariants: no other crate spells a file name of a run directory; the
//! metadata is written and read only through [`RunMeta`]; `results.json`
//! is replaced atomically (written to a temporary name, then renamed), so
//! a reader never sees half of it.

pub mod meta;

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

pub use meta::{RunMeta, read_results, write_results};

/// `plan.yaml`.
pub const PLAN: &str = "plan.yaml";
/// `history.jsonl`.
pub const HISTORY: &str = "history.jsonl";
/// `results.json`.
pub const RESULTS: &str = "results.json";
/// `report.html`.
pub const REPORT: &str = "report.html";
/// `junit.xml`.
pub const JUNIT: &str = "junit.xml";
/// `nodes/`.
pub const NODES: &str = "nodes";

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

    /// Opens an existing run directory (`runs/p/ts/` and `runs/p/ts` are
    /// the same run: the path is kept without a trailing slash).
    pub fn open(path: &Path) -> RunDir {
        RunDir {
            path: path.components().collect(),
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
        self.path.join(PLAN)
    }

    pub fn history(&self) -> PathBuf {
        self.path.join(HISTORY)
    }

    pub fn results(&self) -> PathBuf {
        self.path.join(RESULTS)
    }

    pub fn report(&self) -> PathBuf {
        self.path.join(REPORT)
    }

    pub fn junit(&self) -> PathBuf {
        self.path.join(JUNIT)
    }

    pub fn nodes(&self) -> PathBuf {
        self.path.join(NODES)
    }

    /// Where node `name` keeps its data (`nodes/n1/`).
    pub fn node_data(&self, name: &str) -> PathBuf {
        self.nodes().join(name)
    }

    /// Where node `name`'s files really are when its data directory is a
    /// durable mount (disk faults): `nodes/n1.backing/`.
    pub fn node_backing(&self, name: &str) -> PathBuf {
        self.nodes().join(format!("{name}.backing"))
    }

    /// Node `name`'s log (`nodes/n1.log`).
    pub fn node_log(&self, name: &str) -> PathBuf {
        self.nodes().join(format!("{name}.log"))
    }

    /// The node logs present, as `(node name, path)`.
    pub fn node_logs(&self) -> Vec<(String, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(self.nodes()) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                Some((file.strip_suffix(".log")?.to_owned(), e.path()))
            })
            .collect()
    }

    /// Whether `path` looks like a run directory (it has a plan or a
    /// history).
    pub fn is_run(path: &Path) -> bool {
        path.join(HISTORY).is_file() || path.join(PLAN).is_file()
    }

    /// The run directory's own name (its UTC timestamp).
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// The plan's name as the directory layout says (`runs/<plan>/<ts>`).
    pub fn plan_name(&self) -> String {
        self.path
            .parent()
            .and_then(Path::file_name)
            .map_or_else(|| "run".to_owned(), |n| n.to_string_lossy().into_owned())
    }
}

/// Writes `path` through a temporary file and a rename, so that a reader
/// never sees half a file.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
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
    fn a_trailing_slash_names_the_same_run() {
        let dir = RunDir::open(Path::new("runs/p/20261206T000000Z/"));
        assert_eq!(dir.plan(), Path::new("runs/p/20261206T000000Z/plan.yaml"));
        assert_eq!(dir.path.display().to_string(), "runs/p/20261206T000000Z");
        assert_eq!(dir.name(), "20261206T000000Z");
    }

    #[test]
    fn timestamps_sort_and_have_no_colons() {
        let t = timestamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000));
        assert_eq!(t, "20270115T080000Z");
    }
}
