//! [`TxnHistory`]: the `txn` operations of a [`History`](crate::History) in compact,
//! interned form, and the input problems that stop a check.
//!
//! Which value a transaction's micro-ops are read from:
//! - `ok`: the completion's value (it carries what reads saw). A `null`
//!   read inside it is an empty list (Jepsen writes `nil` for a missing
//!   key). If the completion has no value at all, reads are unknown;
//! - `info` and `fail`: the invocation's value; their reads are unknown
//!   (an `info` transaction may or may not have committed, and nothing it
//!   read is trusted).
//!
//! Invariants:
//! - `txns` are in invocation order (the order of `History::ops`);
//! - each [`Txn`]'s micro-ops are `mops[start..end]`, in transaction order;
//! - a list read's elements are `elements[value..value + len]`; arenas are
//!   indexed by `u32`, and inputs that would overflow them are a
//!   [`InputProblem::TooLarge`], never a panic.

mod build;
mod compact;
mod parse;

pub(crate) use build::{BuildMop, TxnSpec};
pub use compact::{
    InputProblem, Mop, MopKind, TXN_F, Txn, TxnHistory, UNKNOWN_READ, detect_workload,
    is_transactional,
};
