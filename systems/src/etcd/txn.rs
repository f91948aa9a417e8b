//! List-append transactions on etcd: one etcd `Txn` commits each of our
//! transactions.
//!
//! # How a transaction runs
//!
//! 1. **Snapshot.** One read-only `Txn` of `range` requests reads every key
//!    the transaction touches. etcd answers a read-only txn at a single
//!    revision (linearizably, unless the client serves reads serializably),
//!    so the lists and their `mod_revision`s are one consistent snapshot.
//! 2. **Execute** the micro-ops locally on that snapshot, in order: a read
//!    sees the list as it was plus the transaction's own earlier appends;
//!    an append extends the list.
//! 3. **Commit** with one `Txn`: compare `MOD == <revision read>` for every
//!    key touched (`0` for an absent key, which is what etcd compares an
//!    absent key's revision as), and on success put the new list of every
//!    key appended to. A transaction that only reads needs no commit: its
//!    snapshot is its serialization point.
//!
//! # Why this is atomic (and strictly serializable)
//!
//! etcd applies a `Txn` atomically at one revision. When the compares hold,
//! no key the transaction touched has changed since the snapshot, so the
//! state at the commit revision agrees with the snapshot on every key the
//! transaction read or appended to: its reads are what those keys held
//! immediately before the commit, and its appends extend exactly those
//! lists. The whole transaction therefore takes effect at the commit
//! revision, which lies between its invocation and its completion. When a
//! compare fails, the commit is a no-op (nothing was written), and the
//! transaction starts over with a fresh snapshot, up to
//! [`TXN_ATTEMPTS`] times.
//!
//! # Outcomes
//!
//! - `ok`: the commit succeeded (or the snapshot was enough);
//! - `fail`: nothing was written: malformed micro-ops, an append to a
//!   value that is not a list, an error while taking a snapshot (every
//!   earlier commit attempt was a no-op), every attempt lost its race, or
//!   a commit error etcd raises before proposing (see
//!   [`classify_grpc`](super::classify_grpc));
//! - `info`: the commit may have been applied (timeout, lost connection,
//!   `Unavailable`, ...).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::client::{EtcdClient, EtcdError, brief, classify_write_error, decode_value, encode_key};
use crate::client::Completion;

/// How many snapshots a transaction takes before it gives up on a
/// contended key.
pub const TXN_ATTEMPTS: usize = 8;

/// Most micro-ops in one transaction: bounds the requests built from it
/// (etcd allows 128 operations per `Txn` by default).
pub const MAX_MICRO_OPS: usize = 64;

/// One micro-op of a list-append transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum MicroOp {
    /// `["r", key, _]`: read the list.
    Read(String),
    /// `["append", key, element]`.
    Append(String, Value),
}

impl MicroOp {
    fn key(&self) -> &str {
        match self {
            MicroOp::Read(key) | MicroOp::Append(key, _) => key,
        }
    }
}

/// Reads `[["r", k, _], ["append", k, e], ...]`; keys are strings.
pub fn parse_micro_ops(value: &Value) -> Result<Vec<MicroOp>, String> {
    let mops = value
        .as_array()
        .ok_or("a transaction is a list of micro-ops")?;
    if mops.is_empty() || mops.len() > MAX_MICRO_OPS {
        return Err(format!(
            "a transaction has 1 to {MAX_MICRO_OPS} micro-ops, not {}",
            mops.len()
        ));
    }
    mops.iter()
        .enumerate()
        .map(|(i, mop)| match mop.as_array().map(Vec::as_slice) {
            Some([f, Value::String(key), value]) if f == "r" => Ok(MicroOp::Read(key.clone())),
            Some([f, Value::String(key), element]) if f == "append" => {
                Ok(MicroOp::Append(key.clone(), element.clone()))
            }
            _ => Err(format!(
                "micro-op {i} is not [\"r\", key, null] or [\"append\", key, element] with a string key"
            )),
        })
        .collect()
}

/// What the snapshot said about one key.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    /// The stored value (`null`: absent).
    pub value: Value,
    /// Its `mod_revision` (0: absent).
    pub revision: u64,
}

/// Runs `mops` on `snapshot`: the completed micro-ops (reads filled in; an
/// absent key reads as `[]`) and the new list of every key appended to.
/// An append to a value that is not a list is an error, and nothing is
/// written.
pub fn execute(
    mops: &[MicroOp],
    snapshot: &BTreeMap<String, Version>,
) -> Result<(Vec<Value>, BTreeMap<String, Value>), String> {
    let mut lists: BTreeMap<&str, Value> = BTreeMap::new();
    let mut written: BTreeMap<String, Value> = BTreeMap::new();
    let mut completed = Vec::with_capacity(mops.len());
    for mop in mops {
        let key = mop.key();
        let current =
            lists
                .entry(key)
                .or_insert_with(|| match snapshot.get(key).map(|v| &v.value) {
                    None | Some(Value::Null) => json!([]),
                    Some(value) => value.clone(),
                });
        match mop {
            MicroOp::Read(_) => completed.push(json!(["r", key, current.clone()])),
            MicroOp::Append(_, element) => {
                let Value::Array(items) = current else {
                    return Err("not-a-list".into());
                };
                items.push(element.clone());
                written.insert(key.to_owned(), current.clone());
                completed.push(json!(["append", key, element]));
            }
        }
    }
    Ok((completed, written))
}

impl EtcdClient {
    /// Runs one list-append transaction (see the module docs).
    pub async fn run_txn(&self, value: &Value) -> Completion {
        let mops = match parse_micro_ops(value) {
            Ok(mops) => mops,
            Err(why) => return Completion::Fail(why),
        };
        let keys: Vec<&str> = {
            let mut keys: Vec<&str> = mops.iter().map(MicroOp::key).collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        };
        for _ in 0..TXN_ATTEMPTS {
            // Every earlier attempt's commit was a no-op (a false compare),
            // so an error here still means nothing was written.
            let snapshot = match self.snapshot(&keys).await {
                Ok(snapshot) => snapshot,
                Err(e) => return Completion::Fail(brief(&e)),
            };
            let (completed, written) = match execute(&mops, &snapshot) {
                Ok(done) => done,
                Err(why) => return Completion::Fail(why),
            };
            if written.is_empty() {
                return Completion::Ok(Value::Array(completed));
            }
            match self.commit(&snapshot, &written).await {
                Ok(true) => return Completion::Ok(Value::Array(completed)),
                Ok(false) => continue,
                Err(e) => return classify_write_error(&e),
            }
        }
        Completion::Fail(format!(
            "txn lost the race {TXN_ATTEMPTS} times (nothing was written)"
        ))
    }

    /// Every key's value and revision, at one revision.
    async fn snapshot(&self, keys: &[&str]) -> Result<BTreeMap<String, Version>, EtcdError> {
        let ranges: Vec<Value> = keys
            .iter()
            .map(|key| {
                let mut range = json!({ "key": encode_key(key) });
                if self.serializes_reads() {
                    range["serializable"] = json!(true);
                }
                json!({ "request_range": range })
            })
            .collect();
        let body = self
            .call("/v3/kv/txn", json!({ "success": ranges }))
            .await?;
        let protocol = |message: String| EtcdError::Protocol {
            url: self.url("/v3/kv/txn"),
            message,
        };
        let responses = body
            .get("responses")
            .and_then(Value::as_array)
            .filter(|r| r.len() == keys.len())
            .ok_or_else(|| protocol(format!("expected {} range responses", keys.len())))?;
        let mut snapshot = BTreeMap::new();
        for (key, response) in keys.iter().zip(responses) {
            let kv = response.pointer("/response_range/kvs/0");
            let version = match kv {
                None => Version {
                    value: Value::Null,
                    revision: 0,
                },
                Some(kv) => Version {
                    value: decode_value(kv["value"].as_str().unwrap_or_default())
                        .map_err(protocol)?,
                    revision: kv["mod_revision"]
                        .as_str()
                        .and_then(|r| r.parse().ok())
                        .ok_or_else(|| protocol("a key without mod_revision".into()))?,
                },
            };
            snapshot.insert((*key).to_owned(), version);
        }
        Ok(snapshot)
    }

    /// Puts `written` if no key of `snapshot` changed; `Ok(succeeded)`.
    async fn commit(
        &self,
        snapshot: &BTreeMap<String, Version>,
        written: &BTreeMap<String, Value>,
    ) -> Result<bool, EtcdError> {
        let compare: Vec<Value> = snapshot
            .iter()
            .map(|(key, version)| {
                json!({
                    "key": encode_key(key), "target": "MOD", "result": "EQUAL",
                    "mod_revision": version.revision.to_string(),
                })
            })
            .collect();
        let success: Vec<Value> = written
            .iter()
            .map(|(key, list)| super::client::write_request(&encode_key(key), list))
            .collect();
        let body = self
            .call(
                "/v3/kv/txn",
                json!({ "compare": compare, "success": success }),
            )
            .await?;
        // proto3 JSON omits false booleans: an absent `succeeded` is false.
        Ok(body.get("succeeded").and_then(Value::as_bool) == Some(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(value: Value, revision: u64) -> Version {
        Version { value, revision }
    }

    #[test]
    fn micro_ops_are_read_strictly() {
        let ok = json!([["r", "k1", null], ["append", "k2", 3]]);
        assert_eq!(
            parse_micro_ops(&ok).unwrap(),
            [
                MicroOp::Read("k1".into()),
                MicroOp::Append("k2".into(), json!(3))
            ]
        );
        for bad in [
            json!([]),
            json!({"r": 1}),
            json!([["w", "k1", 1]]),
            json!([["r", 5, null]]),
            json!([["append", "k1"]]),
            json!(vec![json!(["r", "k", null]); MAX_MICRO_OPS + 1]),
        ] {
            assert!(parse_micro_ops(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_see_the_snapshot_and_the_transactions_own_appends() {
        let snapshot = BTreeMap::from([
            ("a".to_owned(), version(json!([1, 2]), 7)),
            ("b".to_owned(), version(Value::Null, 0)),
        ]);
        let mops = parse_micro_ops(&json!([
            ["r", "a", null],
            ["append", "a", 3],
            ["r", "a", null],
            ["r", "b", null],
            ["append", "b", 1]
        ]))
        .unwrap();
        let (completed, written) = execute(&mops, &snapshot).unwrap();
        assert_eq!(
            completed,
            [
                json!(["r", "a", [1, 2]]),
                json!(["append", "a", 3]),
                json!(["r", "a", [1, 2, 3]]),
                json!(["r", "b", []]),
                json!(["append", "b", 1]),
            ]
        );
        assert_eq!(
            written,
            BTreeMap::from([
                ("a".to_owned(), json!([1, 2, 3])),
                ("b".to_owned(), json!([1]))
            ])
        );
    }

    #[test]
    fn an_append_to_a_value_that_is_not_a_list_writes_nothing() {
        let snapshot = BTreeMap::from([("a".to_owned(), version(json!(5), 2))]);
        let mops = parse_micro_ops(&json!([["r", "a", null], ["append", "a", 1]])).unwrap();
        assert_eq!(execute(&mops, &snapshot), Err("not-a-list".into()));
    }
}
