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
    /// Membership changes and blank entries carry no client outcome.
    None,
}
