//! What a report is rendered from: the run's history, the typed reports
//! of its checkers, the metadata the controller stored
//! ([`rundir::RunMeta`]), and the tails of the node logs.
//!
//! Invariants: [`ReportInput`] only borrows or holds plain data, so the
//! renderers are pure functions of it; a run directory that lacks
//! metadata (a history checked with `harness check FILE`, an older run)
//! still renders, with `-` where something is unknown.

use checker::{Checked, History};
use rundir::{RunDir, RunMeta};

use super::faults::natural_cmp;

/// How many lines of each node log the report shows.
pub const LOG_TAIL_LINES: usize = 60;
/// Longer log lines are cut to this many characters.
const LOG_LINE_CHARS: usize = 400;

/// Everything the HTML report and the JUnit file are made from.
#[derive(Clone, Debug)]
pub struct ReportInput<'a> {
    pub history: &'a History,
    pub checked: &'a Checked,
    pub meta: RunMeta,
    /// The run directory as shown in the replay command.
    pub run_dir: String,
    /// The run directory's own name (its UTC timestamp).
    pub run_name: String,
    pub logs: Vec<NodeLog>,
}

/// The last lines of one node's log.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLog {
    /// `n1`.
    pub name: String,
    /// Path relative to the run directory (`nodes/n1.log`).
    pub path: String,
    /// Lines in the whole file.
    pub total_lines: usize,
    /// The last [`LOG_TAIL_LINES`] lines, without terminal escapes.
    pub tail: Vec<String>,
}

/// Reads the tails of the run's node logs, in natural order of node
/// names.
pub fn read_node_logs(dir: &RunDir) -> Vec<NodeLog> {
    let mut logs: Vec<NodeLog> = dir
        .node_logs()
        .into_iter()
        .filter_map(|(name, path)| {
            let bytes = std::fs::read(&path).ok()?;
            let shown = path.strip_prefix(&dir.path).unwrap_or(&path);
            Some(log_tail(&name, &shown.display().to_string(), &bytes))
        })
        .collect();
    logs.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    logs
}

/// The tail of a log's bytes.
pub fn log_tail(name: &str, path: &str, bytes: &[u8]) -> NodeLog {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..]
        .iter()
        .map(|l| {
            let clean = strip_ansi(l);
            match clean.char_indices().nth(LOG_LINE_CHARS) {
                Some((cut, _)) => format!("{} …", &clean[..cut]),
                None => clean,
            }
        })
        .collect();
    NodeLog {
        name: name.to_owned(),
        path: path.to_owned(),
        total_lines: lines.len(),
        tail,
    }
}

/// Removes terminal colour sequences (`ESC [ ... letter`).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tails_are_short_and_clean() {
        let mut text = String::new();
        for i in 0..100 {
            text += &format!("\u{1b}[2mline\u{1b}[0m {i}\n");
        }
        let log = log_tail("n1", "nodes/n1.log", text.as_bytes());
        assert_eq!(log.total_lines, 100);
        assert_eq!(log.tail.len(), LOG_TAIL_LINES);
        assert_eq!(log.tail.last().unwrap(), "line 99");
    }
}
