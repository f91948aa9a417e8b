//! Generated transactional histories for tests and benchmarks: valid
//! (strictly serializable) executions with concurrency, `info` and `fail`
//! outcomes, optionally with one injected anomaly.
//!
//! [`TxnGen`] simulates clients against a real in-memory database that
//! applies each transaction atomically at one moment between its
//! invocation and completion, so the history is strictly serializable by
//! construction. Keys come from a pool of `active_keys`; a key retires
//! after `max_writes_per_key` writes and a fresh one takes its place
//! (Elle's generator does the same, which keeps reads short). Values
//! written are unique per key. Outcomes: `fail` transactions never apply;
//! `info` ones apply before their completion, never, or only later (after
//! the `info` event). After an `info` the client continues under a fresh
//! process id.
//!
//! [`TxnGen::inject`] adds, halfway through, a small *gadget*: a few
//! transactions on fresh keys and fresh processes, scheduled so that they
//! exhibit exactly one anomaly type ([`injectable`] lists them per
//! workload, [`detect_options`] says which options reveal each).
//!
//! Invariants: the same generator (seed included) gives the same history;
//! [`TxnGen::history`] and [`TxnGen::txn_history`] describe the same
//! execution (the second without JSON, for million-transaction benches).

mod gadget;
mod sink;
mod workload;

pub use gadget::{detect_options, injectable};
pub use workload::TxnGen;
