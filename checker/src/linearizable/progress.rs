//! What a linearizability check tells its caller while it runs: events
//! ([`CheckEvent`]) delivered to an optional [`ProgressSink`] in
//! [`LinOptions`](super::LinOptions). The checker only emits; rendering
//! (a progress bar, a log line) is the caller's.
//!
//! Invariants: events are emitted from the checking threads, so a sink is
//! `Send + Sync` and must be quick; per key, `KeyStarted` comes before any
//! `KeyProgress`, which come before `KeyFinished`; a key's `KeyProgress`
//! events are at least [`PROGRESS_INTERVAL`](super::budget::PROGRESS_INTERVAL)
//! apart; `Started` is first and `Finished` last.

use std::{fmt, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use crate::results::Verdict;

/// Which engine decided a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// The version order inferred from reads-from and cas chains
    /// (polynomial; register keys whose observed values are unique).
    VersionOrder,
    /// The Wing & Gong / Lowe search.
    #[default]
    Wgl,
    /// No engine ran (no successful op, an unsupported op, or no budget
    /// left).
    None,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::VersionOrder => "version-order",
            Engine::Wgl => "wgl",
            Engine::None => "none",
        })
    }
}

/// One thing that happened during a check.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckEvent {
    /// The check began.
    Started {
        /// Keys to check.
        keys: usize,
        /// Client ops over all keys.
        ops: usize,
    },
    /// A key's check began.
    KeyStarted {
        /// The key.
        key: String,
        /// Its client ops.
        ops: usize,
    },
    /// A long search is still running.
    KeyProgress {
        /// The key.
        key: String,
        /// Search configurations explored so far.
        explored: u64,
        /// Completed ops (in return order) a partial linearization has
        /// covered so far.
        linearized: usize,
        /// Completed ops of the key.
        of: usize,
        /// Bytes the search holds against the memory budget.
        memory: usize,
        /// Time since the key's check began.
        elapsed: Duration,
    },
    /// A key's check ended.
    KeyFinished {
        /// The key.
        key: String,
        /// Its verdict.
        verdict: Verdict,
        /// The engine that decided it.
        engine: Engine,
        /// Time the key took.
        elapsed: Duration,
    },
    /// The check ended.
    Finished {
        /// The overall verdict.
        verdict: Verdict,
        /// Time the check took.
        elapsed: Duration,
    },
}

type Callback = dyn Fn(&CheckEvent) + Send + Sync;

/// Where a check sends its [`CheckEvent`]s: a callback, or a channel.
#[derive(Clone)]
pub struct ProgressSink(Arc<Callback>);

impl ProgressSink {
    /// Calls `f` with each event (from the checking threads).
    pub fn new(f: impl Fn(&CheckEvent) + Send + Sync + 'static) -> Self {
        ProgressSink(Arc::new(f))
    }

    /// Sends each event on `tx`; events are dropped once the receiver is
    /// gone.
    pub fn channel(tx: std::sync::mpsc::Sender<CheckEvent>) -> Self {
        ProgressSink::new(move |e| {
            // A closed channel only means nobody is watching any more.
            let _ = tx.send(e.clone());
        })
    }

    /// Delivers one event.
    pub fn emit(&self, event: &CheckEvent) {
        (self.0)(event);
    }
}

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink(..)")
    }
}

/// Two sinks are equal when they are the same callback.
impl PartialEq for ProgressSink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProgressSink {}
