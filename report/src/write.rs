//! Writing a run's `report.html` and `junit.xml`.
//!
//! [`write_for`] is what the controller calls at the end of a run (with the
//! history it already read); [`write_all`] re-reads a stored run directory
//! (`harness report RUN_DIR`). Files are written to a temporary name and
//! renamed, so a reader (or `harness serve`) never sees half a report.

use std::path::{Path, PathBuf};

use checker::{History, Results};

use super::{
    html::render_html,
    input::{ReportInput, RunMeta, read_node_logs},
    junit::render_junit,
};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Results {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    History(#[from] checker::HistoryError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot render junit.xml: {0}")]
    Junit(#[from] quick_junit::SerializeError),
}

/// The files a report run wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub html: PathBuf,
    pub junit: PathBuf,
}

/// Renders `report.html` and `junit.xml` of the stored run in `dir` (it
/// needs `history.jsonl` and `results.json`).
pub fn write_all(dir: &Path) -> Result<Written, ReportError> {
    let (history, _warnings) = checker::read_jsonl(dir.join("history.jsonl"))?;
    let results = read_results(dir)?;
    write_for(dir, &history, &results)
}

/// Reads `dir/results.json`.
pub fn read_results(dir: &Path) -> Result<Results, ReportError> {
    let path = dir.join("results.json");
    let bytes = std::fs::read(&path).map_err(|source| ReportError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ReportError::Results { path, source })
}

/// The renderers' input for the run in `dir`.
pub fn input_for<'a>(dir: &Path, history: &'a History, results: &'a Results) -> ReportInput<'a> {
    let run_name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let fallback_plan = dir
        .parent()
        .and_then(Path::file_name)
        .map_or_else(|| "run".to_owned(), |n| n.to_string_lossy().into_owned());
    ReportInput {
        history,
        results,
        meta: RunMeta::from_results(results, &fallback_plan),
        run_dir: dir.display().to_string(),
        run_name,
        logs: read_node_logs(dir),
    }
}

/// Renders and writes both files for a run whose history and results are
/// already in memory.
pub fn write_for(dir: &Path, history: &History, results: &Results) -> Result<Written, ReportError> {
    let input = input_for(dir, history, results);
    let html = render_html(&input);
    let junit = render_junit(&input)?;
    let written = Written {
        html: dir.join("report.html"),
        junit: dir.join("junit.xml"),
    };
    replace(&written.html, html.as_bytes())?;
    replace(&written.junit, junit.as_bytes())?;
    Ok(written)
}

/// Writes `path` through a temporary file and a rename.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let err = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::write(&temp, bytes).map_err(err)?;
    std::fs::rename(&temp, path).map_err(err)
}
