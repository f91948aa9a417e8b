//! Elle-class checking of transactional histories: list-append and
//! read-write register transactions, judged against a consistency model.
//!
//! A history's `txn` operations carry micro-ops (`["append", k, e]`,
//! `["r", k, [e...]]`, `["w", k, v]`, `["r", k, v]`). The checker infers
//! version orders and the dependency graph (ww, wr, rw edges, plus process
//! or real-time order when the model needs them), finds the anomalies in
//! Elle's vocabulary, and says which ones rule out the chosen model.
//!
//! - [`check()`] / [`check_txns`]: the whole check, giving a [`TxnReport`];
//!   [`checker`]: the same behind the `checker::Checker` seam ([`TxnChecker`]);
//! - [`history`]: the compact [`TxnHistory`], [`is_transactional`],
//!   [`detect_workload`], input problems;
//! - [`list_append`], [`rw_register`]: the workloads' inference rules;
//! - [`graph`]: the dependency graph and the real-time/process orders;
//!   [`keyed`]: records by (key, value), cache-friendly;
//! - [`search`]: strongly connected components and shortest named cycles;
//! - [`anomaly`], [`model`]: the vocabulary and which model prohibits what;
//! - [`explain`], [`report`]: explanations and the report;
//! - [`generate`]: generated serializable executions and injected
//!   anomalies, for tests and benchmarks.
//!
//! Semantics (Elle's): `fail` transactions never committed; `info` ones may
//! have: their writes can be observed, but no edge assumes they committed
//! unless one of their writes was observed. The format and the rules are
//! documented in `docs/history-format.md`.

pub mod anomaly;
pub mod check;
pub mod checker;
pub mod explain;
pub mod generate;
pub mod graph;
pub mod history;
pub mod intern;
pub mod keyed;
pub mod list_append;
pub mod model;
pub mod options;
pub mod report;
pub mod rw_register;
pub mod search;

pub use anomaly::AnomalyType;
pub use check::{check, check_txns};
pub use checker::{NAME, TxnChecker};
pub use graph::Rel;
pub use history::{InputProblem, TxnHistory, detect_workload, is_transactional};
pub use model::{ConsistencyModel, UnknownModel};
pub use options::{TxnOptions, TxnWorkload, UnknownWorkload};
pub use report::{
    Anomaly, AnomalyDetail, CycleStep, GraphStats, TxnCounts, TxnRef, TxnReport, summary,
};
