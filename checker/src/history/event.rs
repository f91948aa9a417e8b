//! One line of `history.jsonl`: an [`Event`], its [`Process`] and its
//! [`EventKind`].
//!
//! Invariants:
//! - `Event` serializes to exactly the JSONL form of `docs/history-format.md`:
//!   fields in the order `index, time, process, type, f, key, value, error,
//!   node, final`; `None` fields and `final: false` are left out; `value` is
//!   always written (`null` when there is none).
//! - Deserializing ignores unknown fields, so newer writers stay readable.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

/// Who performed an event: a client's logical process or the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Process {
    /// A client's logical process id. After an `info` the client continues
    /// under a fresh id.
    Client(u64),
    /// The fault injector; its events are `info` and are never paired.
    Nemesis,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Process;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or \"nemesis\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Process, E> {
                Ok(Process::Client(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Process, E> {
                u64::try_from(v)
                    .map(Process::Client)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Process, E> {
                if v == "nemesis" {
                    Ok(Process::Nemesis)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// What an event says about its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The client sent the operation.
    Invoke,
    /// The operation took effect; `value` is its result.
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// Unknown whether it took effect (or a nemesis event).
    Info,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventKind::Invoke => "invoke",
            EventKind::Ok => "ok",
            EventKind::Fail => "fail",
            EventKind::Info => "info",
        })
    }
}

/// One event of a history, as written to one line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position of the event in the history as written (0, 1, 2, ...).
    pub index: u64,
    /// Nanoseconds since the run started (monotonic clock).
    pub time: u64,
    /// Who performed the event.
    pub process: Process,
    /// `invoke`, `ok`, `fail` or `info`.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The operation's function: `read`, `write`, `cas`, `append`, or a
    /// nemesis function such as `start-partition`.
    pub f: String,
    /// The key the operation addresses; `None` for single-object workloads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_key"
    )]
    pub key: Option<String>,
    /// Argument (invoke) or result (ok) of the operation.
    #[serde(default)]
    pub value: Value,
    /// Why the operation failed or is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which node a client operation was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Marks the set workload's final reads.
    #[serde(rename = "final", default, skip_serializing_if = "is_false")]
    pub is_final: bool,
}

impl Event {
    /// An event with no key, value, error or node; set the rest with the
    /// struct fields.
    pub fn new(index: u64, time: u64, process: Process, kind: EventKind, f: &str) -> Self {
        Event {
            index,
            time,
            process,
            kind,
            f: f.to_owned(),
            key: None,
            value: Value::Null,
            error: None,
            node: None,
            is_final: false,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Keys are strings; integer keys (as Jepsen writes them) are read as their
/// decimal form.
fn de_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(other) => Err(de::Error::invalid_type(
            de::Unexpected::Other(json_kind(&other)),
            &"a string or integer key",
        )),
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
