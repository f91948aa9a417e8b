//! The Raft type configuration and the commands replicated through the log.
//!
//! A [`Command`] is what a client write becomes once it is proposed; its
//! [`Outcome`] is what applying it to the state machine produced. Both are
//! stored in the Raft log as JSON, so they must stay backwards compatible
//! with data directories written by earlier versions.

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use serde_json::Value;

openraft::declare_raft_types!(
    /// openraft's type configuration for the key-value server.
    pub TypeConfig:
        D = Command,
        R = Outcome,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// Node ids are small positive integers chosen by the operator (`--id`).
pub type NodeId = u64;
pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, openraft::BasicNode>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;

/// A state-machine mutation, replicated through the Raft log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Command {
    /// Set `key` to `value`.
    Put { key: String, value: Value },
    /// Set `key` to `to` if its current value equals `from` (absent is `null`).
    Cas { key: String, from: Value, to: Value },
    /// Append `value` to the list stored at `key` (absent means empty).
    Append { key: String, value: Value },
    /// Apply the micro-ops in order, atomically: all of them or none
    /// (`store/txn.rs`).
    Txn { mops: Vec<MicroOp> },
}

/// One micro-op of a transaction (`POST /txn`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MicroOp {
    /// Read the value at the key.
    R(String),
    /// Append the element to the list at the key (absent means empty).
    Append(String, Value),
}

impl MicroOp {
    /// The key it reads or appends to.
    pub fn key(&self) -> &str {
        match self {
            MicroOp::R(key) | MicroOp::Append(key, _) => key,
        }
    }
}

/// What applying a [`Command`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// The command took effect.
    Done,
    /// A `cas` whose expected value did not match; nothing changed.
    CasMismatch { current: Value },
    /// An `append` to a key whose value is not a list; nothing changed.
    NotAList { current: Value },
    /// A transaction took effect; `results[i]` is what micro-op `i` read
    /// (`[]` for an absent key) or appended.
    Txn { results: Vec<Value> },
    /// Membership changes and blank entries carry no client outcome.
    None,
}
