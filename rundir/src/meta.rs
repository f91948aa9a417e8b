//! What a run records about itself (`results.json` `extra.run`), and
//! reading and writing `results.json`.
//!
//! Invariants: [`RunMeta`] is the only reader and writer of `extra.run`;
//! every field is optional on read (`#[serde(default)]`), so results of an
//! older run, or of `harness check FILE`, still read.

use std::path::Path;

use checker::{Checked, Results};
use serde::{Deserialize, Serialize};

use crate::RunDir;

/// The `extra` section that holds the run's metadata.
const EXTRA_KEY: &str = "run";

/// What the controller records about a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunMeta {
    /// The plan's name.
    pub plan: String,
    /// The seed every decision came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Cluster size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u64>,
    /// The system under test (`raft-kv`, `etcd`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Extra node arguments of the plan.
    pub args: Vec<String>,
    /// How the system serves reads, as the system describes it
    /// (`linearizable (default)`, `local`, `serializable`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reads: Option<String>,
    /// The workload's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// The planned duration, as written in the plan (`30s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Ctrl-C or SIGTERM ended the run early.
    pub interrupted: bool,
    /// Problems and findings of the run, for people.
    pub notes: Vec<String>,
}

impl RunMeta {
    /// Reads `extra.run` of `results`, if there is one that parses.
    pub fn from_results(results: &Results) -> Option<RunMeta> {
        serde_json::from_value(results.extra.get(EXTRA_KEY)?.clone()).ok()
    }

    /// How reads are served: what the system said, else `--read-mode X`
    /// in the node arguments, else `-`.
    pub fn read_mode(&self) -> String {
        if let Some(reads) = &self.reads {
            return reads.clone();
        }
        let mut args = self.args.iter();
        while let Some(arg) = args.next() {
            if arg == "--read-mode" {
                if let Some(mode) = args.next() {
                    return mode.clone();
                }
            } else if let Some(mode) = arg.strip_prefix("--read-mode=") {
                return mode.to_owned();
            }
        }
        "-".to_owned()
    }
}

/// Writes `results.json` of `dir`: the checked reports and, if given, the
/// run's metadata.
pub fn write_results(
    dir: &RunDir,
    checked: &Checked,
    meta: Option<&RunMeta>,
) -> std::io::Result<Results> {
    let mut results = checked.to_results();
    if let Some(meta) = meta {
        let value = serde_json::to_value(meta).map_err(std::io::Error::other)?;
        results.extra.insert(EXTRA_KEY.to_owned(), value);
    }
    let json = serde_json::to_vec_pretty(&results).map_err(std::io::Error::other)?;
    crate::replace(&dir.results(), &json)?;
    Ok(results)
}

/// Why `results.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

/// Reads `results.json` of the run in `dir`.
pub fn read_results(dir: &Path) -> Result<Results, ReadError> {
    let path = RunDir::open(dir).results();
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|source| ReadError::Io {
        path: shown.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ReadError::Parse {
        path: shown,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_results_json() {
        let runs = tempfile::tempdir().expect("tempdir");
        let dir = RunDir::create(runs.path(), "p").expect("run dir");
        let meta = RunMeta {
            plan: "dirty-read".into(),
            seed: Some(u64::MAX),
            nodes: Some(3),
            system: Some("raft-kv".into()),
            args: vec!["--read-mode".into(), "local".into()],
            notes: vec!["n2 exited".into()],
            ..RunMeta::default()
        };
        write_results(&dir, &Checked::new(), Some(&meta)).expect("writes");
        let back = read_results(&dir.path).expect("reads");
        assert_eq!(RunMeta::from_results(&back), Some(meta.clone()));
        assert_eq!(meta.read_mode(), "local");
    }

    #[test]
    fn read_mode_prefers_what_the_system_said() {
        let meta = RunMeta {
            reads: Some("linearizable (default)".into()),
            args: vec!["--read-mode=leader-local".into()],
            ..RunMeta::default()
        };
        assert_eq!(meta.read_mode(), "linearizable (default)");
        let args = RunMeta {
            args: vec!["--read-mode=leader-local".into()],
            ..RunMeta::default()
        };
        assert_eq!(args.read_mode(), "leader-local");
        assert_eq!(RunMeta::default().read_mode(), "-");
        assert_eq!(RunMeta::from_results(&Results::new()), None);
    }
}
