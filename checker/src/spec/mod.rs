//! Sequential specifications of the workloads, as
//! [`stateright::semantics::SequentialSpec`]s.
//!
//! Specs are generic over the value type: the checker runs them on interned
//! `u32` value ids (cheap to clone, hash and compare for the search cache);
//! people and tests can run them on `serde_json::Value`. States derive
//! `Hash + Eq`, which is how the search cache compares them.

pub mod list;
pub mod register;
pub mod replay;

pub use list::{AppendList, ListOp, ListRet};
pub use register::{CasRegister, RegisterOp, RegisterRet};
pub use replay::{Refusal, initial, replay};
