//! Client workloads: what operations clients issue, and which model the
//! resulting history is checked against.
//!
//! A workload is a deterministic generator: given its seed, it produces the
//! same sequence of operations. Keys are independent (Jepsen's
//! `independent`): a few keys are in use at once, each is retired after
//! `ops_per_key` operations, so every key's history stays small enough for
//! the linearizability search.

mod keys;
mod mix;
mod op;
mod register;
mod set;

pub use keys::KeySlots;
pub use mix::{Mix, MixError};
pub use op::{OpKind, OpRequest};
pub use register::RegisterWorkload;
pub use set::SetWorkload;

/// Any workload the harness can run.
pub enum Workload {
    Register(RegisterWorkload),
    Set(SetWorkload),
}

impl Workload {
    /// The next operation to issue.
    pub fn next_op(&mut self) -> OpRequest {
        match self {
            Workload::Register(w) => w.next_op(),
            Workload::Set(w) => w.next_op(),
        }
    }

    /// Every key handed out so far, in order of first use.
    pub fn keys_used(&self) -> Vec<String> {
        match self {
            Workload::Register(w) => w.keys.used(),
            Workload::Set(w) => w.keys.used(),
        }
    }

    /// The sequential model the history must be linearizable against.
    pub fn model(&self) -> checker::Model {
        match self {
            Workload::Register(_) => checker::Model::Register {
                init: serde_json::Value::Null,
            },
            Workload::Set(_) => checker::Model::List,
        }
    }
}
