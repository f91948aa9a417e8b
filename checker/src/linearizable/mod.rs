//! Linearizability, per key, with two engines.
//!
//! The history is split per key (P-compositionality: a history is
//! linearizable iff each key's sub-history is) and keys are checked in
//! parallel. Before any engine, ops that cannot matter are dropped
//! ([`prepare`], [`relevance`]). Then:
//!
//! - [`version_order`]: for a register key whose observed values each name
//!   one writer (our workloads write unique values), the version order
//!   follows from reads-from and cas chains, and linearizability is
//!   decided in `O(n log n)` ([`versions`], [`zones`]); a `valid` answer
//!   is backed by a linearization checked by [`witness`];
//! - [`wgl::search`]: Wing & Gong / Lowe's search (porcupine-style) for
//!   every other key, bounded by time and memory ([`budget`]).
//!
//! [`stateright_model`] runs the search as a stateright `Model`, as a
//! cross-check. [`progress`] carries events to an optional sink.
//!
//! Verdicts per key: `valid` (a linearization exists), `invalid` (none
//! does; with a [`Counterexample`]), `unknown` (no successful op, an op
//! the model does not know, or a budget spent; the reason says how far the
//! search got).

pub mod bitset;
pub mod budget;
mod cache;
pub mod check;
mod checker;
mod explain;
pub mod limits;
pub mod options;
pub mod prepare;
pub mod progress;
pub mod relevance;
pub mod report;
pub mod stateright_model;
pub mod version_order;
pub mod versions;
pub mod violation;
pub mod wgl;
pub mod witness;
pub mod zones;

pub use budget::{MemoryBudget, default_memory_budget};
pub use check::{KeyLimits, check, check_key};
pub use checker::{Linearizable, NAME};
pub use options::{LinOptions, Model};
pub use progress::{CheckEvent, Engine, ProgressSink};
pub use report::{Counterexample, DecidedThrough, KeyResult, LinearizabilityReport, OpRef};
pub use violation::Violation;
pub use wgl::{Limits, SearchOp, SearchResult, search, search_with};
