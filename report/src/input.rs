//! What a report is rendered from: the run's history and results, the
//! metadata the controller stored in `results.json` (`extra.run`), and the
//! tails of the node logs.
//!
//! Invariants: [`ReportInput`] only borrows or holds plain data, so the
//! renderers are pure functions of it; a run directory that lacks
//! metadata (a history checked with `harness check FILE`, an older run)
//! still renders, with `-` where something is unknown.

use std::path::Path;

use checker::{History, Results};
use serde_json::Value;

use super::faults::natural_cmp;

/// How many lines of each node log the report shows.
pub const LOG_TAIL_LINES: usize = 60;
/// Longer log lines are cut to this many characters.
const LOG_LINE_CHARS: usize = 400;

/// Everything the HTML report and the JUnit file are made from.
#[derive(Clone, Debug)]
pub struct ReportInput<'a> {
    pub history: &'a History,
    pub results: &'a Results,
    pub meta: RunMeta,
    /// The run directory as shown in the replay command.
    pub run_dir: String,
    /// The run directory's own name (its UTC timestamp).
    pub run_name: String,
    pub logs: Vec<NodeLog>,
}

/// What the controller recorded about a run (`results.json` `extra.run`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMeta {
    pub plan: String,
    pub seed: Option<u64>,
    pub nodes: Option<u64>,
    pub system: Option<String>,
    pub args: Vec<String>,
    pub workload: Option<String>,
    /// The planned duration, as written in the plan (`30s`).
    pub duration: Option<String>,
    pub interrupted: bool,
    pub notes: Vec<String>,
}

impl RunMeta {
    /// Reads `extra.run`; `fallback_plan` names the plan when it is absent.
    pub fn from_results(results: &Results, fallback_plan: &str) -> RunMeta {
        let run = results.extra.get("run").cloned().unwrap_or(Value::Null);
        let text = |name: &str| run.get(name).and_then(Value::as_str).map(str::to_owned);
        let list = |name: &str| -> Vec<String> {
            run.get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        RunMeta {
            plan: text("plan").unwrap_or_else(|| fallback_plan.to_owned()),
            seed: run.get("seed").and_then(Value::as_u64),
            nodes: run.get("nodes").and_then(Value::as_u64),
            system: text("system"),
            args: list("args"),
            workload: text("workload"),
            duration: text("duration"),
            interrupted: run
                .get("interrupted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            notes: list("notes"),
        }
    }

    /// How the nodes serve reads: `--read-mode X` (or `--read-mode=X`) in
    /// the node arguments; target-node's default is `linearizable`.
    pub fn read_mode(&self) -> String {
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
        match self.system.as_deref() {
            Some("raft-kv") | None => "linearizable (default)".to_owned(),
            Some(_) => "-".to_owned(),
        }
    }
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

/// Reads the tails of `dir/nodes/*.log`, in natural order of node names.
pub fn read_node_logs(dir: &Path) -> Vec<NodeLog> {
    let Ok(entries) = std::fs::read_dir(dir.join("nodes")) else {
        return Vec::new();
    };
    let mut logs: Vec<NodeLog> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            let name = file.strip_suffix(".log")?.to_owned();
            if !entry.file_type().ok()?.is_file() {
                return None;
            }
            let bytes = std::fs::read(entry.path()).ok()?;
            Some(log_tail(&name, &format!("nodes/{file}"), &bytes))
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
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_comes_from_extra_run() {
        let mut results = Results::new();
        results.extra.insert(
            "run".into(),
            json!({"plan": "dirty-read", "seed": 18446744073709551615u64, "nodes": 3,
                   "system": "raft-kv", "args": ["--read-mode", "local"], "workload": "register",
                   "duration": "30s", "interrupted": false, "notes": ["n2 exited"]}),
        );
        let meta = RunMeta::from_results(&results, "x");
        assert_eq!(meta.plan, "dirty-read");
        assert_eq!(meta.seed, Some(u64::MAX));
        assert_eq!(meta.read_mode(), "local");
        assert_eq!(meta.notes, ["n2 exited"]);
        let bare = RunMeta::from_results(&Results::new(), "fallback");
        assert_eq!(bare.plan, "fallback");
        assert_eq!(bare.read_mode(), "linearizable (default)");
        let eq = RunMeta {
            args: vec!["--read-mode=leader-local".into()],
            ..RunMeta::default()
        };
        assert_eq!(eq.read_mode(), "leader-local");
    }

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
