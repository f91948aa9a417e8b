//! Transactions as the state machine applies them: a list of micro-ops,
//! applied in order to the values their keys held before, all or nothing.
//!
//! Invariants:
//! - a transaction is one log entry, applied within one apply batch, so no
//!   other command is applied between its micro-ops, and every replica
//!   applies it at the same log index with the same result;
//! - a read sees the key's value before the transaction plus the
//!   transaction's own earlier appends; an absent key reads as `[]`;
//! - an append to a value that is not a list aborts the whole transaction:
//!   nothing changes, and the outcome is `not-a-list`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::types::{MicroOp, Outcome};

/// Every key `mops` touches, once each.
pub fn keys(mops: &[MicroOp]) -> Vec<&str> {
    let mut keys: Vec<&str> = mops.iter().map(MicroOp::key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Applies `mops` to `before` (each touched key's value, `None` if
/// absent): the outcome, and the new value of every key appended to.
pub fn apply(
    mops: &[MicroOp],
    before: &BTreeMap<String, Option<Value>>,
) -> (Outcome, Vec<(String, Value)>) {
    let mut values: BTreeMap<&str, Value> = BTreeMap::new();
    let mut appended: Vec<&str> = Vec::new();
    let mut results = Vec::with_capacity(mops.len());
    for mop in mops {
        let key = mop.key();
        let value =
            values
                .entry(key)
                .or_insert_with(|| match before.get(key).and_then(Option::as_ref) {
                    None | Some(Value::Null) => json!([]),
                    Some(value) => value.clone(),
                });
        match mop {
            MicroOp::R(_) => results.push(value.clone()),
            MicroOp::Append(_, element) => {
                let Value::Array(items) = value else {
                    let current = value.clone();
                    return (Outcome::NotAList { current }, Vec::new());
                };
                items.push(element.clone());
                appended.push(key);
                results.push(element.clone());
            }
        }
    }
    appended.sort_unstable();
    appended.dedup();
    let writes = appended
        .into_iter()
        .map(|key| (key.to_owned(), values[key].clone()))
        .collect();
    (Outcome::Txn { results }, writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn before(pairs: &[(&str, Value)]) -> BTreeMap<String, Option<Value>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some(v.clone())))
            .collect()
    }

    #[test]
    fn reads_see_earlier_appends_of_the_same_transaction() {
        let mops = vec![
            MicroOp::R("a".into()),
            MicroOp::Append("a".into(), json!(3)),
            MicroOp::R("a".into()),
            MicroOp::R("b".into()),
            MicroOp::Append("b".into(), json!(1)),
            MicroOp::Append("b".into(), json!(2)),
        ];
        let (outcome, writes) = apply(&mops, &before(&[("a", json!([1, 2]))]));
        assert_eq!(
            outcome,
            Outcome::Txn {
                results: vec![
                    json!([1, 2]),
                    json!(3),
                    json!([1, 2, 3]),
                    json!([]),
                    json!(1),
                    json!(2)
                ]
            }
        );
        assert_eq!(
            writes,
            [("a".into(), json!([1, 2, 3])), ("b".into(), json!([1, 2]))]
        );
    }

    #[test]
    fn reads_alone_write_nothing() {
        let mops = vec![MicroOp::R("a".into()), MicroOp::R("z".into())];
        let (outcome, writes) = apply(&mops, &before(&[("a", json!(7))]));
        assert_eq!(
            outcome,
            Outcome::Txn {
                results: vec![json!(7), json!([])]
            }
        );
        assert!(writes.is_empty());
    }

    #[test]
    fn an_append_to_a_non_list_aborts_the_whole_transaction() {
        let mops = vec![
            MicroOp::Append("a".into(), json!(1)),
            MicroOp::Append("b".into(), json!(1)),
        ];
        let (outcome, writes) = apply(&mops, &before(&[("b", json!("text"))]));
        assert_eq!(
            outcome,
            Outcome::NotAList {
                current: json!("text")
            }
        );
        assert!(writes.is_empty(), "the append to `a` is not applied either");
        assert_eq!(keys(&mops), ["a", "b"]);
    }
}
