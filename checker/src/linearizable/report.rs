//! What the linearizability check reports: per key, a verdict and, for an
//! invalid key, a [`Counterexample`] a person (or the HTML report) can read.
//!
//! Invariants: the report's verdict is the max of its keys' verdicts;
//! maps are `BTreeMap`s so output is deterministic; everything is
//! `Serialize + Deserialize` (it round-trips through `results.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::progress::Engine;
use crate::{
    history::{History, Outcome},
    results::Verdict,
};

/// How many ops of the linearizable prefix are shown in full.
pub const PREFIX_TAIL: usize = 10;

/// The result of [`check`](super::check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearizabilityReport {
    /// `register` or `list`.
    pub model: String,
    /// Max of the keys' verdicts (`valid` for a history without ops).
    pub verdict: Verdict,
    /// Result per key (`""` for ops without a key).
    pub keys: BTreeMap<String, KeyResult>,
}

impl LinearizabilityReport {
    /// "3 of 1000 keys invalid, 1 unknown" style summary.
    pub fn summary(&self) -> String {
        let count = |v| self.keys.values().filter(|k| k.verdict == v).count();
        let (invalid, unknown) = (count(Verdict::Invalid), count(Verdict::Unknown));
        let mut s = format!("{} key(s) checked", self.keys.len());
        if invalid > 0 {
            s += &format!(", {invalid} not linearizable");
        }
        if unknown > 0 {
            s += &format!(", {unknown} unknown");
        }
        s
    }
}

/// The result for one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyResult {
    /// The key's verdict.
    pub verdict: Verdict,
    /// Ops the engine considered (fail ops, info reads and info ops no
    /// needed op can observe are dropped).
    pub ops: usize,
    /// Search configurations explored (0 for the version-order engine).
    pub explored: u64,
    /// The engine that decided the key.
    #[serde(default)]
    pub engine: Engine,
    /// Why the verdict is `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For an `unknown` key the search gave up on: how far it got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_through: Option<DecidedThrough>,
    /// Why the verdict is `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
}

/// How far an unfinished search got: one configuration linearized the
/// first `ops` of the key's `of` completed ops (in return order); whether
/// the rest can follow is undecided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedThrough {
    /// Completed ops linearized, in return order.
    pub ops: usize,
    /// Completed ops of the key.
    pub of: usize,
    /// `index` of the completion of the first op not covered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undecided_from_index: Option<u64>,
}

/// Why a key is not linearizable, porcupine-style: the longest prefix the
/// search could linearize and the op that could not follow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The op that cannot be linearized after the prefix (the unlinearized
    /// op that returned first).
    pub op: OpRef,
    /// The longest linearizable prefix, in linearization order, as indices
    /// into [`History::ops`].
    pub prefix: Vec<usize>,
    /// The last [`PREFIX_TAIL`] ops of the prefix in full.
    pub prefix_tail: Vec<OpRef>,
    /// The spec state after the prefix, i.e. before `op` (the register's
    /// value, or the list).
    pub state: Value,
    /// Ops whose interval overlaps `op`'s, by call time (info ops overlap
    /// everything after their call).
    pub concurrent: Vec<OpRef>,
    /// The version-order engine's reason, in words: the few ops that
    /// break a necessary condition of linearizability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// A self-contained description of one op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpRef {
    /// Index into [`History::ops`].
    pub op: usize,
    /// `index` of the invocation event.
    pub index: u64,
    /// The client process.
    pub process: u64,
    /// The op's function.
    pub f: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The invocation's value.
    pub input: Value,
    /// The completion's value.
    pub output: Value,
    /// Invocation time (ns).
    pub call_time: u64,
    /// Completion time (ns), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_time: Option<u64>,
}

impl OpRef {
    /// Describes `history.ops[op]`.
    pub fn new(history: &History, op: usize) -> Self {
        let o = &history.ops[op];
        OpRef {
            op,
            index: history.events[o.invoke].index,
            process: o.process,
            f: o.f.clone(),
            outcome: o.outcome,
            input: o.input.clone(),
            output: o.output.clone(),
            call_time: o.call_time,
            return_time: o.return_time,
        }
    }
}
