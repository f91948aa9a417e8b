//! Errors and warnings of reading and pairing a history.
//!
//! Invariants: every error names where the problem is, as
//! `NAME:LINE: what is wrong` for files and `event N: what is wrong` for
//! in-memory event lists; messages are lowercase.

use std::fmt;

/// Where an event came from: a line of a file, or a position in an event
/// list handed to [`History::from_events`](crate::History::from_events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of the input file.
    Line(u64),
    /// 0-based position in the event list.
    Event(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(l) => write!(f, "line {l}"),
            Location::Event(e) => write!(f, "event {e}"),
        }
    }
}

/// A history could not be read or paired.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The input could not be read at all.
    #[error("{name}: cannot read: {source}")]
    Io {
        /// Display name of the input (usually its path).
        name: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of the input is wrong.
    #[error("{name}:{line}: {problem}")]
    Line {
        /// Display name of the input (usually its path).
        name: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        problem: Box<Problem>,
    },
    /// An event of an in-memory event list is wrong.
    #[error("event {position}: {problem}")]
    Event {
        /// 0-based position in the event list.
        position: usize,
        /// What is wrong.
        problem: Box<Problem>,
    },
}

impl HistoryError {
    /// What is wrong, unless the input could not be read at all.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            HistoryError::Io { .. } => None,
            HistoryError::Line { problem, .. } | HistoryError::Event { problem, .. } => {
                Some(problem)
            }
        }
    }
}

/// What is wrong with one line or event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The line is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The line is not JSON.
    #[error("invalid JSON: {message} (column {column})")]
    Json {
        /// serde_json's description, without its position.
        message: String,
        /// 1-based column.
        column: usize,
    },
    /// The line is JSON but not an event.
    #[error("invalid event: {message} (column {column})")]
    Field {
        /// serde_json's description, without its position.
        message: String,
        /// 1-based column.
        column: usize,
    },
    /// The EDN text is malformed.
    #[error("invalid EDN: {0}")]
    Edn(#[from] crate::history::edn::EdnProblem),
    /// An EDN value is not an event.
    #[error("invalid event: {0}")]
    EdnEvent(String),
    /// A process invoked while it already had an open invocation.
    #[error("process {process} invokes `{f}` while its `{open_f}` invoked at {open} is still open")]
    DoubleInvoke {
        /// The process.
        process: u64,
        /// The new invocation's function.
        f: String,
        /// The open invocation's function.
        open_f: String,
        /// Where the open invocation is.
        open: Location,
    },
    /// A completion without an open invocation.
    #[error("process {process} completes `{f}` ({kind}) but has no open invocation")]
    NoInvocation {
        /// The process.
        process: u64,
        /// The completion's function.
        f: String,
        /// `ok`, `fail` or `info`.
        kind: crate::EventKind,
    },
    /// A completion whose function or key differs from its invocation's.
    #[error(
        "process {process} completes `{f}` on key {key:?} but its invocation at {open} is `{open_f}` on key {open_key:?}"
    )]
    Mismatch {
        /// The process.
        process: u64,
        /// The completion's function.
        f: String,
        /// The completion's key.
        key: Option<String>,
        /// The invocation's function.
        open_f: String,
        /// The invocation's key.
        open_key: Option<String>,
        /// Where the invocation is.
        open: Location,
    },
}

/// Something odd that did not stop the history from being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The last line was malformed and had no newline: the writer was cut
    /// short. The line was ignored.
    TruncatedLastLine {
        /// Display name of the input.
        name: String,
        /// 1-based line number.
        line: u64,
    },
    /// Invocations that never completed; they count as `info`.
    Unfinished {
        /// How many.
        count: usize,
        /// Where the first one is.
        first: Location,
    },
    /// EDN `:ok` `:read`s of `nil`, read as "value unknown" (knossos).
    NilReads {
        /// How many.
        count: usize,
        /// Where the first one is.
        first: Location,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::TruncatedLastLine { name, line } => write!(
                f,
                "{name}:{line}: last line is incomplete (writer cut short?) and was ignored"
            ),
            Warning::Unfinished { count, first } => write!(
                f,
                "{count} invocation(s) never completed (first at {first}); they count as info"
            ),
            Warning::NilReads { count, first } => write!(
                f,
                "{count} :ok :read(s) of nil (first at {first}) read as value unknown, as knossos does; \
                 `--nil-reads absent` reads them as the key being absent"
            ),
        }
    }
}
