//! How keys and values live in ZooKeeper: one persistent znode per key
//! under [`ROOT`], holding the value's canonical JSON text.
//!
//! Invariants:
//! - [`znode`] is injective and its names are valid znode names: every
//!   byte other than ASCII letters, digits, `-` and `_` is percent-encoded
//!   (so no `/`, no `.` or `..`, no control or non-ASCII characters, which
//!   ZooKeeper refuses), and the empty key, which encoding cannot produce
//!   otherwise, is a lone `%`.
//! - A value's text is a function of the value (compact JSON, object keys
//!   sorted at every level), so equal values have equal texts.
//! - Sizes are bounded before anything is sent: ZooKeeper drops the
//!   connection of a request larger than its `jute.maxbuffer` (1 MiB), which
//!   would turn a refusal we can foresee into an indefinite outcome.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::canonical_json::canonical_text;

/// The parent of every key's znode.
pub const ROOT: &str = "/harness";

/// The longest znode path we send (ZooKeeper has no limit of its own below
/// its 1 MiB request size).
pub const MAX_PATH: usize = 4096;

/// The largest value we store: below ZooKeeper's default `jute.maxbuffer`
/// (1 MiB) with room for the request's other fields.
pub const MAX_DATA: usize = 1_000_000;

/// What is left as it is in a znode name; everything else is escaped.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// Why a key or value cannot be stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("key too long for a znode path ({0} bytes, at most {MAX_PATH})")]
    KeyTooLong(usize),
    #[error("value too large for a znode ({0} bytes, at most {MAX_DATA})")]
    ValueTooLarge(usize),
    #[error("stored value is not JSON ({reason}): {text:?}")]
    NotJson { reason: String, text: String },
}

/// The znode path of `key`.
pub fn znode(key: &str) -> Result<String, CodecError> {
    let name = if key.is_empty() {
        "%".to_owned()
    } else {
        utf8_percent_encode(key, ESCAPED).to_string()
    };
    let path = format!("{ROOT}/{name}");
    if path.len() > MAX_PATH {
        return Err(CodecError::KeyTooLong(path.len()));
    }
    Ok(path)
}

/// `value` as stored.
pub fn encode(value: &Value) -> Result<Vec<u8>, CodecError> {
    let data = canonical_text(value).into_bytes();
    if data.len() > MAX_DATA {
        return Err(CodecError::ValueTooLarge(data.len()));
    }
    Ok(data)
}

/// A stored value.
pub fn decode(data: &[u8]) -> Result<Value, CodecError> {
    serde_json::from_slice(data).map_err(|e| CodecError::NotJson {
        reason: e.to_string(),
        // Enough of it to recognise, never all of a large value.
        text: String::from_utf8_lossy(&data[..data.len().min(200)]).into_owned(),
    })
}
