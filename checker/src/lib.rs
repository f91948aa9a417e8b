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
//! - [`availability`]: whether anything was acknowledged, and a floor;
//! - [`integrity`]: what a run found about itself (crashes, holes);
//! - [`stats`]: counts, latency percentiles, availability, fault windows and
//!   recovery times;
//! - [`checker`]: the seam: the [`Checker`] and [`Report`] traits, and
//!   [`Checked`], the typed results of a check;
//! - [`results`]: verdicts that compose and `results.json`;
//! - [`generate`]: deterministic generators of concurrent histories for tests and
//!   benchmarks;
//! - [`txn`]: the Elle-class transactional checker (list-append and
//!   rw-register, anomalies G0 to G2-item, consistency models).
//!
//! The format is documented in `docs/history-format.md`.

pub mod availability;
pub mod checker;
pub mod generate;
pub mod history;
pub mod integrity;
pub mod linearizable;
pub mod results;
pub mod set;
pub mod spec;
pub mod stats;
pub mod txn;

pub use availability::{Availability, AvailabilityReport};
pub use checker::{CheckSettings, Checked, Checker, Report};
pub use history::{
    EdnOptions, Event, EventKind, History, HistoryError, Independent, Location, NilReads, Op,
    Outcome, Problem, Process, Warning, read_edn, read_edn_from, read_edn_with, read_jsonl,
    read_jsonl_from,
};
pub use integrity::{Crash, RunIntegrity};
pub use linearizable::{
    Counterexample, KeyResult, LinOptions, LinearizabilityReport, Linearizable, Model,
};
pub use results::{CheckerResult, Results, Verdict};
pub use set::{SetChecker, SetReport};
pub use stats::{Stats, StatsChecker};
pub use txn::{ConsistencyModel, TxnChecker, TxnOptions, TxnReport, TxnWorkload};
