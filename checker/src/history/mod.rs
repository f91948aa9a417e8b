//! Histories: the events a run records and the operations paired from them.
//!
//! - [`event`]: one line of `history.jsonl` ([`Event`], [`Process`],
//!   [`EventKind`]);
//! - [`op`]: a paired client operation ([`Op`], [`Outcome`]);
//! - [`paired`]: [`History`] and the pairing rules;
//! - [`jsonl`]: the JSONL reader; [`edn`]: the Jepsen EDN import;
//! - [`error`]: [`HistoryError`], [`Problem`], [`Warning`].

pub mod edn;
pub mod error;
pub mod event;
pub mod jsonl;
pub mod op;
pub mod paired;

pub use edn::{EdnOptions, Independent, NilReads, read_edn, read_edn_from, read_edn_with};
pub use error::{HistoryError, Location, Problem, Warning};
pub use event::{Event, EventKind, Process};
pub use jsonl::{read_jsonl, read_jsonl_from};
pub use op::{Op, Outcome};
pub use paired::History;
