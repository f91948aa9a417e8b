//! Reading `history.jsonl`: one [`Event`] per line.
//!
//! Invariants:
//! - errors carry the 1-based line number: `history.jsonl:12: invalid event:
//!   missing field `f` (column 40)`;
//! - blank lines are skipped;
//! - a malformed *last* line without a trailing newline is a writer that was
//!   cut short: it is dropped with a [`Warning::TruncatedLastLine`]; any
//!   other malformed line is an error;
//! - never panics on any input.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    path::Path,
};

use crate::history::{
    error::{HistoryError, Location, Problem, Warning},
    event::Event,
    paired::{History, pair},
};

/// Reads and pairs a JSONL history file.
pub fn read_jsonl(path: impl AsRef<Path>) -> Result<(History, Vec<Warning>), HistoryError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| HistoryError::Io {
        name: name.clone(),
        source,
    })?;
    read_jsonl_from(BufReader::with_capacity(1 << 16, file), &name)
}

/// Reads and pairs a JSONL history from any reader; `name` is used in
/// messages.
pub fn read_jsonl_from(
    mut reader: impl BufRead,
    name: &str,
) -> Result<(History, Vec<Warning>), HistoryError> {
    let mut events: Vec<Event> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut warnings = Vec::new();
    let mut buf = Vec::with_capacity(256);
    let mut line_no: u64 = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| HistoryError::Io {
                name: name.to_owned(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let terminated = buf.last() == Some(&b'\n');
        match parse_line(&buf) {
            Ok(None) => {}
            Ok(Some(event)) => {
                events.push(event);
                lines.push(line_no);
            }
            Err(problem) if !terminated => {
                // Only the last line can lack its newline.
                let _ = problem;
                warnings.push(Warning::TruncatedLastLine {
                    name: name.to_owned(),
                    line: line_no,
                });
            }
            Err(problem) => {
                return Err(HistoryError::Line {
                    name: name.to_owned(),
                    line: line_no,
                    problem: Box::new(problem),
                });
            }
        }
    }
    let (history, more) =
        pair(events, |pos| Location::Line(lines[pos])).map_err(|(pos, problem)| {
            HistoryError::Line {
                name: name.to_owned(),
                line: lines[pos],
                problem,
            }
        })?;
    warnings.extend(more);
    Ok((history, warnings))
}

/// Parses one line; `Ok(None)` for a blank line.
fn parse_line(bytes: &[u8]) -> Result<Option<Event>, Problem> {
    let text = std::str::from_utf8(bytes).map_err(|_| Problem::InvalidUtf8)?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str::<Event>(text)
        .map(Some)
        .map_err(|e| json_problem(&e))
}

/// Turns a serde_json error into a [`Problem`] without serde_json's own
/// "at line 1 column N" suffix (each line is parsed on its own).
pub(crate) fn json_problem(e: &serde_json::Error) -> Problem {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    let column = e.column();
    match e.classify() {
        serde_json::error::Category::Data => Problem::Field { message, column },
        _ => Problem::Json { message, column },
    }
}
