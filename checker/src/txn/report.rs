//! [`TxnReport`]: what the transactional checker found, as data for
//! `results.json`, the summary line and the drawn cycles of the HTML report.
//!
//! Invariants:
//! - `verdict` is `invalid` iff `ruled_out_by` is non-empty; otherwise
//!   `unknown` iff the input had problems or an unknown-type anomaly
//!   (`cycle-search-timeout`, `empty-transaction-graph`) was found;
//!   otherwise `valid`;
//! - `anomaly_types` is sorted, and equals the keys of `anomaly_counts`;
//! - `anomalies` holds at most `max_examples` per type, ordered by type and
//!   then by the first transaction's op index;
//! - within an [`Anomaly`], transactions are named `T1, T2, ...` in the
//!   order of `txns`, and cycle steps refer to them by position.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    history::Outcome,
    results::Verdict,
    txn::{
        anomaly::AnomalyType, graph::Rel, history::InputProblem, model::ConsistencyModel,
        options::TxnWorkload,
    },
};

/// The transactional checker's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnReport {
    /// Valid, invalid (an anomaly the model prohibits), or unknown.
    pub verdict: Verdict,
    /// How the micro-ops were read.
    pub workload: TxnWorkload,
    /// The model judged against.
    pub consistency_model: ConsistencyModel,
    /// Transactions by outcome.
    pub txns: TxnCounts,
    /// Every anomaly type found, sorted.
    pub anomaly_types: Vec<AnomalyType>,
    /// The found anomaly types that rule out `consistency_model`.
    pub ruled_out_by: Vec<AnomalyType>,
    /// The weakest models (of those we know) the anomalies rule out.
    pub not: Vec<ConsistencyModel>,
    /// Stronger models also ruled out.
    pub also_not: Vec<ConsistencyModel>,
    /// How many cases of each anomaly type were found.
    pub anomaly_counts: BTreeMap<AnomalyType, usize>,
    /// Examples, each with its explanation.
    pub anomalies: Vec<Anomaly>,
    /// Why the history could not be checked (verdict unknown), if so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<InputProblem>,
    /// Total problems (only the first few are kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub problem_count: usize,
    /// Size of the dependency graph.
    pub graph: GraphStats,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Transactions by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnCounts {
    /// Committed.
    pub ok: usize,
    /// Unknown outcome.
    pub info: usize,
    /// Certainly aborted.
    pub fail: usize,
    /// Client operations that are not `txn` (ignored).
    pub ignored: usize,
}

/// Size of the dependency graph.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphStats {
    /// Nodes (ok and info transactions).
    pub nodes: usize,
    /// Edges after merging parallel ones.
    pub edges: usize,
    /// Edges carrying each relation.
    pub ww: usize,
    /// Write-read edges.
    pub wr: usize,
    /// Anti-dependency edges.
    pub rw: usize,
    /// Process-order edges.
    pub process: usize,
    /// Real-time edges.
    pub realtime: usize,
    /// Strongly connected components with more than one transaction.
    pub cyclic_components: usize,
    /// Size of the largest of them.
    pub largest_component: usize,
}

/// One found anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: AnomalyType,
    /// For people: what happened and why it is this anomaly.
    pub explanation: String,
    /// The transactions involved (`T1` is the first).
    pub txns: Vec<TxnRef>,
    /// Type-specific data.
    pub detail: AnomalyDetail,
}

/// A transaction as shown in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnRef {
    /// `T1`, `T2`, ... within its anomaly.
    pub name: String,
    /// Index in `History::ops`.
    pub op: usize,
    /// Client process.
    pub process: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Position of its invocation in `History::events`.
    pub invoke: usize,
    /// Position of its completion, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<usize>,
    /// Its micro-ops as in the history (reads of `info`/`fail`
    /// transactions show `null`).
    pub mops: Value,
}

/// One edge of a cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleStep {
    /// Position in `Anomaly::txns` of the edge's source.
    pub from: usize,
    /// Position of its target.
    pub to: usize,
    /// The relation.
    pub rel: Rel,
    /// The key behind a data edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// Index of the micro-op in the source transaction behind the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_mop: Option<usize>,
    /// Index of the micro-op in the target transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_mop: Option<usize>,
    /// Why the edge exists ("T2 read [1 2] of key 5 without 3, which T1
    /// appended after 2, so T2 rw-> T1").
    pub explanation: String,
}

/// Type-specific data of an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "kebab-case")]
pub enum AnomalyDetail {
    /// A dependency cycle: `steps[i]` goes from `txns[i]` to `txns[i+1]`
    /// (the last back to `txns[0]`).
    Cycle {
        /// The edges, in cycle order.
        steps: Vec<CycleStep>,
        /// Whether the search proved no shorter cycle of this type exists in
        /// the component (false when its budget ran out first).
        shortest: bool,
    },
    /// A read that observed what it must not: `T1` read, `writer` (if any)
    /// wrote.
    Read {
        /// The key.
        key: Value,
        /// The read micro-op's index in `T1`.
        mop: usize,
        /// What was read.
        read: Value,
        /// The offending elements or value.
        values: Vec<Value>,
        /// Position in `txns` of the writer, if one is known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        writer: Option<usize>,
    },
    /// A transaction's read disagrees with its own earlier micro-ops.
    Internal {
        /// The key.
        key: Value,
        /// The read micro-op's index in `T1`.
        mop: usize,
        /// What was read.
        read: Value,
        /// What the transaction's own earlier micro-ops imply (`"..."`
        /// stands for an unknown prefix).
        expected: Value,
    },
    /// Reads or versions of one key that admit no single order.
    Orders {
        /// The key.
        key: Value,
        /// The conflicting orders (reads, or the versions of a cycle).
        orders: Vec<Value>,
    },
    /// Transactions that read the same version of a key and all wrote it.
    SameRead {
        /// The key.
        key: Value,
        /// The version all of them read.
        read: Value,
    },
    /// A committed write applied on top of a failed one.
    DirtyUpdate {
        /// The key.
        key: Value,
        /// The versions from the failed write to the committed one.
        values: Vec<Value>,
    },
    /// A cycle exists among these transactions, but no named one was
    /// searched for (or found within budget).
    Component {
        /// Transactions in the strongly connected component.
        size: usize,
        /// The model such a cycle rules out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<ConsistencyModel>,
        /// Cycle types searched for before the budget ran out.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        searched: Vec<AnomalyType>,
    },
    /// Nothing to add.
    None,
}

impl TxnReport {
    /// One line for people: the verdict and the anomalies by count.
    pub fn summary(&self) -> String {
        summary(self)
    }
}

/// One line for people: `strict-serializable: invalid (G-single x1, G1a x2)
/// in 1000 list-append txns (990 ok, 6 info, 4 fail)`.
pub fn summary(report: &TxnReport) -> String {
    let t = &report.txns;
    let total = t.ok + t.info + t.fail;
    let head = format!(
        "{}: {} in {total} {} txns ({} ok, {} info, {} fail)",
        report.consistency_model, report.verdict, report.workload, t.ok, t.info, t.fail
    );
    if report.problem_count > 0 {
        let first = report
            .problems
            .first()
            .map(|p| format!(": {p}"))
            .unwrap_or_default();
        return format!("{head}; {} input problem(s){first}", report.problem_count);
    }
    if report.anomaly_counts.is_empty() {
        return head;
    }
    let listed: Vec<String> = report
        .anomaly_counts
        .iter()
        .map(|(a, n)| {
            let mark = if report.ruled_out_by.contains(a) {
                ""
            } else {
                " (allowed)"
            };
            format!("{a} x{n}{mark}")
        })
        .collect();
    let not = if report.not.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = report.not.iter().map(|m| m.name()).collect();
        format!("; not {}", names.join(", "))
    };
    format!("{head}: {}{not}", listed.join(", "))
}
