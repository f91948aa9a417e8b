//! Operations as the workloads describe them, before any client runs them.

use serde_json::Value;

/// The kind of an operation; its name is the history's `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpKind {
    Read,
    Write,
    Cas,
    Append,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::Cas => "cas",
            OpKind::Append => "append",
        }
    }

    pub fn parse(name: &str) -> Option<OpKind> {
        Some(match name {
            "read" => OpKind::Read,
            "write" => OpKind::Write,
            "cas" => OpKind::Cas,
            "append" => OpKind::Append,
            _ => return None,
        })
    }
}

/// One operation to perform: the history's `f`, `key` and input `value`
/// (`null` for reads, the written value, `[from, to]` for cas, the
/// appended element).
#[derive(Clone, Debug, PartialEq)]
pub struct OpRequest {
    pub f: OpKind,
    pub key: String,
    pub value: Value,
}
