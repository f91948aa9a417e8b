//! The canonical text of a JSON value, which systems that compare stored
//! bytes (etcd's txn compares, ZooKeeper's versioned `setData` after a
//! read) need so that equal values are stored as equal texts.

use serde_json::Value;

/// Compact JSON with object keys sorted at every level, so that equal
/// values have equal texts (the workspace enables serde_json's
/// `preserve_order`, under which `{"a":1,"b":2}` and `{"b":2,"a":1}` would
/// print differently and a cas comparing them would wrongly mismatch).
pub(crate) fn canonical_text(value: &Value) -> String {
    sorted(value).to_string()
}

/// `value` with the entries of every object in it sorted by key.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
