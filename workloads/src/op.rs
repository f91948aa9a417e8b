//! Operations as the workloads describe them, before any client runs them.

use serde_json::Value;

/// The kind of an operation; its name is the history's `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpKind {
    Read,
    Write,
    Cas,
    Append,
    /// A transaction: its value is a list of micro-ops (list-append:
    /// `["r", k, null]`, `["append", k, e]`), applied atomically.
    Txn,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::Cas => "cas",
            OpKind::Append => "append",
            OpKind::Txn => "txn",
        }
    }

    pub fn parse(name: &str) -> Option<OpKind> {
        Some(match name {
            "read" => OpKind::Read,
            "write" => OpKind::Write,
            "cas" => OpKind::Cas,
            "append" => OpKind::Append,
            "txn" => OpKind::Txn,
            _ => return None,
        })
    }
}

/// One operation to perform: the history's `f`, `key` and input `value`
/// (`null` for reads, the written value, `[from, to]` for cas, the
/// appended element, the micro-ops of a transaction).
///
/// A transaction names its keys in its micro-ops; its `key` is empty,
/// except in a final read, where it is the key read (so that the run can
/// say which keys no node could read).
#[derive(Clone, Debug, PartialEq)]
pub struct OpRequest {
    pub f: OpKind,
    pub key: String,
    pub value: Value,
}

impl OpRequest {
    /// The history's `key` of this op: none for a transaction, whose keys
    /// are in its micro-ops.
    pub fn history_key(&self) -> Option<&str> {
        (self.f != OpKind::Txn).then_some(self.key.as_str())
    }
}
