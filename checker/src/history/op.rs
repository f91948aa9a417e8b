//! A client operation: an invocation paired with its completion.
//!
//! Invariants: `complete` is `None` exactly when `return_time` is `None`
//! (the invocation never completed); such an op has outcome
//! [`Outcome::Info`]. Positions (`invoke`, `complete`) index
//! [`History::events`](crate::History::events).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Took effect; `output` is its result.
    Ok,
    /// Certainly did not take effect.
    Fail,
    /// May or may not have taken effect, now or at any later time. Also the
    /// outcome of an invocation that never completed.
    Info,
}

/// A client operation of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// The client's logical process id.
    pub process: u64,
    /// The operation's function (`read`, `write`, `cas`, `append`, ...).
    pub f: String,
    /// The key, if the workload has keys.
    pub key: Option<String>,
    /// Position of the invocation in `History::events`.
    pub invoke: usize,
    /// Position of the completion in `History::events`, if any.
    pub complete: Option<usize>,
    /// How the operation ended.
    pub outcome: Outcome,
    /// Time of the invocation (ns since the run started).
    pub call_time: u64,
    /// Time of the completion, if any. For linearizability an `info` op
    /// returns at infinity whatever this says.
    pub return_time: Option<u64>,
    /// The invocation's value (the argument).
    pub input: Value,
    /// The completion's value (the result); `null` without a completion.
    pub output: Value,
    /// The node the client sent the operation to, if recorded.
    pub node: Option<String>,
}

impl Op {
    /// The op's value as the workload sees it: the completion's value for an
    /// `ok` op that has one, else the invocation's.
    pub fn value(&self) -> &Value {
        if self.outcome == Outcome::Ok && !self.output.is_null() {
            &self.output
        } else {
            &self.input
        }
    }
}
