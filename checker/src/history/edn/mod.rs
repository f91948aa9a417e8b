//! Jepsen/Knossos EDN import.
//!
//! A Jepsen history is a vector or list of maps, or a sequence of top-level
//! maps (Jepsen's `history.edn`), each with `:process :type :f :value` and
//! possibly `:time :index :error`, maybe written as `#record{...}` literals.
//! [`parse`] is a small EDN reader that tracks lines and bounds nesting (it
//! never panics or overflows the stack); [`import`] turns its values into
//! [`Event`](crate::Event)s, mapping Jepsen `independent` tuples
//! (`:value [k v]`) to `key`/`value`; `txn` keeps transactional
//! histories (`:f :txn`) from being mistaken for independent ones.

mod import;
mod parse;
mod txn;

pub use import::{EdnOptions, Independent, NilReads, read_edn, read_edn_from, read_edn_with};
pub use parse::{Edn, EdnProblem, Located, MAX_DEPTH, TopForm, parse_all};
