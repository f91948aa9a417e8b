//! History in, verdict out: the harness's checkers.
//!
//! - [`history`]: events, paired operations, the JSONL reader and the
//!   Jepsen EDN import;
//! - [`spec`]: sequential specifications (`stateright::semantics::SequentialSpec`)
//!   of the register and list workloads;
//! - [`linearizable`]: the per-key WGL linearizability checker with
//!   counterexamples, and a stateright `Model` cross-check;
//! - [`set`]: lost / unexpected / recovered / duplicated / stale elements of
//!   the list (set) workload;
//! - [`stats`]: counts, latency percentiles, availability, fault windows and
//!   recovery times;
//! - [`results`]: verdicts that compose and `results.json`;
//! - [`generate`]: deterministic generators of concurrent histories for tests and
//!   benchmarks;
//! - [`txn`]: the Elle-class transactional checker (list-append and
//!   rw-register, anomalies G0 to G2-item, consistency models).
//!
//! The format is documented in `docs/history-format.md`.

pub mod generate;
pub mod history;
pub mod linearizable;
pub mod results;
pub mod set;
pub mod spec;
pub mod stats;
pub mod txn;

pub use history::{
    EdnOptions, Event, EventKind, History, HistoryError, Independent, Location, Op, Outcome,
    Problem, Process, Warning, read_edn, read_edn_from, read_edn_with, read_jsonl, read_jsonl_from,
};
pub use linearizable::{Counterexample, KeyResult, LinOptions, LinearizabilityReport, Model};
pub use results::{CheckerResult, Results, Verdict};
pub use set::SetReport;
pub use stats::Stats;
pub use txn::{ConsistencyModel, TxnOptions, TxnReport, TxnWorkload};
