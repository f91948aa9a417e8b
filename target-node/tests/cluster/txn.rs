//! `POST /txn`: transactions apply atomically through any node, abort as a
//! whole, and `--txn-mode read-then-append` breaks atomicity visibly.

use serde_json::{Value, json};

use crate::support::{Cluster, no_extra};

fn txn(c: &Cluster, id: u64, mops: Value) -> (u16, Value) {
    c.post(id, "/txn", json!({ "txn": mops }))
        .expect("the node answers")
}

#[test]
fn transactions_apply_atomically_through_any_node() {
    let c = Cluster::start(3, no_extra);
    let leader = c.wait_leader(&c.ids());
    let follower = c.ids().into_iter().find(|id| *id != leader).unwrap();

    let (status, body) = txn(
        &c,
        follower,
        json!([["append", "a", 1], ["r", "a", null], ["r", "b", null]]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["txn"],
        json!([["append", "a", 1], ["r", "a", [1]], ["r", "b", []]]),
        "a read sees the transaction's own earlier append; an absent key reads []"
    );
    for id in c.ids() {
        let (status, body) = txn(&c, id, json!([["r", "a", null]]));
        assert_eq!((status, &body["txn"]), (200, &json!([["r", "a", [1]]])));
    }
    assert_eq!(
        c.read_ok(leader, "a"),
        json!([1]),
        "/kv sees what /txn wrote"
    );

    // An append to a value that is not a list aborts the whole transaction.
    assert_eq!(c.put(leader, "s", json!(5)).unwrap().0, 200);
    let (status, body) = txn(
        &c,
        follower,
        json!([["append", "t", 1], ["append", "s", 2]]),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        (&body["error"], &body["definite"]),
        (&json!("not-a-list"), &json!(true))
    );
    let (_, body) = txn(&c, leader, json!([["r", "t", null], ["r", "s", null]]));
    assert_eq!(
        body["txn"],
        json!([["r", "t", []], ["r", "s", 5]]),
        "nothing of the aborted transaction was applied"
    );

    let (status, body) = txn(&c, leader, json!([["w", "a", 1]]));
    assert_eq!((status, &body["definite"]), (400, &json!(true)), "{body}");
}

/// Runs `clients` threads, each doing `per_client` transactions
/// `[["r", "x", null], ["append", "x", unique]]` through `node`; returns
/// each acknowledged transaction's (read, element) and the final list.
fn contend(
    c: &Cluster,
    node: u64,
    clients: u64,
    per_client: u64,
) -> (Vec<(Vec<Value>, Value)>, Vec<Value>) {
    let acknowledged: Vec<(Vec<Value>, Value)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|client| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    for i in 0..per_client {
                        let element = json!(client * 1000 + i);
                        let (status, body) =
                            txn(c, node, json!([["r", "x", null], ["append", "x", element]]));
                        if status == 200 {
                            let read = body["txn"][0][2].as_array().cloned().unwrap_or_default();
                            done.push((read, element));
                        }
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let (_, body) = txn(c, node, json!([["r", "x", null]]));
    let list = body["txn"][0][2].as_array().cloned().unwrap_or_default();
    (acknowledged, list)
}

/// Transactions whose read is not exactly what the list held right before
/// their own element: each is a non-atomic read-modify-append.
fn torn(acknowledged: &[(Vec<Value>, Value)], list: &[Value]) -> usize {
    acknowledged
        .iter()
        .filter(|(read, element)| {
            let at = list.iter().position(|e| e == element);
            at.is_none_or(|at| list[..at] != read[..])
        })
        .count()
}

#[test]
fn concurrent_transactions_are_atomic_unless_the_txn_mode_is_unsafe() {
    let (clients, per_client) = (8, 25);
    let safe = Cluster::start(3, no_extra);
    let leader = safe.wait_leader(&safe.ids());
    let (acknowledged, list) = contend(&safe, leader, clients, per_client);
    assert!(
        acknowledged.len() as u64 > clients * per_client / 2,
        "most commit"
    );
    assert_eq!(
        list.len(),
        acknowledged.len(),
        "every acknowledged append is there, once"
    );
    assert_eq!(
        torn(&acknowledged, &list),
        0,
        "atomic: each read is the list just before its append"
    );
    drop(safe);

    let unsafe_mode = |_| vec!["--txn-mode".to_owned(), "read-then-append".to_owned()];
    let broken = Cluster::start(3, unsafe_mode);
    let leader = broken.wait_leader(&broken.ids());
    let (acknowledged, list) = contend(&broken, leader, clients, per_client);
    let torn = torn(&acknowledged, &list);
    assert!(
        torn > 0,
        "read-then-append: some of {} concurrent transactions read a list that other \
         appends changed before their own (final list of {})",
        acknowledged.len(),
        list.len()
    );
}
