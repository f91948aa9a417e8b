//! Linearizability, porcupine-style.
//!
//! The history is split per key (P-compositionality: a history is
//! linearizable iff each key's sub-history is). Each key is searched for a
//! linearization by [`wgl::search`] (the engine), in parallel across keys.
//! [`stateright_model`] runs the same search as a stateright `Model`
//! explored by stateright's DFS checker; it is slower and serves as a
//! cross-check (numbers in `docs/history-format.md`).
//!
//! Verdicts per key: `valid` (a linearization exists), `invalid` (none
//! does; with a [`Counterexample`]), `unknown` (budget spent or an op the
//! model does not know).

pub mod bitset;
mod cache;
pub mod check;
mod checker;
pub mod options;
pub mod prepare;
pub mod report;
pub mod stateright_model;
pub mod wgl;

pub use check::{check, check_key};
pub use checker::{Linearizable, NAME};
pub use options::{LinOptions, Model};
pub use report::{Counterexample, KeyResult, LinearizabilityReport, OpRef};
pub use wgl::{SearchOp, SearchResult, search};
