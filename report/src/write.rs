//! Writing a run's `report.html` and `junit.xml`.
//!
//! [`write_for`] is what the check path calls at the end of a run (with
//! the history and typed reports it already has); [`write_all`] re-reads
//! a stored run directory (`harness report RUN_DIR`). Files are written to
//! a temporary name and renamed, so a reader (or `harness serve`) never
//! sees half a report.

use std::path::PathBuf;

use checker::{Checked, History};
use rundir::{RunDir, RunMeta};

use super::{
    html::render_html,
    input::{ReportInput, read_node_logs},
    junit::render_junit,
};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Results(#[from] rundir::meta::ReadError),
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
pub fn write_all(dir: &RunDir) -> Result<Written, ReportError> {
    let (history, _warnings) = checker::read_jsonl(dir.history())?;
    let results = rundir::read_results(&dir.path)?;
    let checked = Checked::from_results(&results);
    let meta = RunMeta::from_results(&results);
    write_for(dir, &history, &checked, meta)
}

/// The renderers' input for the run in `dir`. Without metadata, the plan
/// is named after the directory layout.
pub fn input_for<'a>(
    dir: &RunDir,
    history: &'a History,
    checked: &'a Checked,
    meta: Option<RunMeta>,
) -> ReportInput<'a> {
    let meta = meta.unwrap_or_else(|| RunMeta {
        plan: dir.plan_name(),
        ..RunMeta::default()
    });
    ReportInput {
        history,
        checked,
        meta,
        run_dir: dir.path.display().to_string(),
        run_name: dir.name(),
        logs: read_node_logs(dir),
    }
}

/// Renders and writes both files for a run whose history and reports are
/// already in memory.
pub fn write_for(
    dir: &RunDir,
    history: &History,
    checked: &Checked,
    meta: Option<RunMeta>,
) -> Result<Written, ReportError> {
    let input = input_for(dir, history, checked, meta);
    let html = render_html(&input);
    let junit = render_junit(&input)?;
    let written = Written {
        html: dir.report(),
        junit: dir.junit(),
    };
    for (path, bytes) in [
        (&written.html, html.as_bytes()),
        (&written.junit, junit.as_bytes()),
    ] {
        rundir::replace(path, bytes).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(written)
}
