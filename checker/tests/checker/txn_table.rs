//! Hand-written transactional histories, one per anomaly (list-append and
//! rw-register), including `info` and `fail` transactions: the anomalies
//! found and the verdict under a model.

use checker::{
    History, Verdict,
    txn::{
        self, AnomalyDetail, AnomalyType, ConsistencyModel, Rel, TxnOptions, TxnReport, TxnWorkload,
    },
};
use serde_json::{Value, json};

use crate::common;

/// Events `(process, type, value)` of `txn` ops, in history order.
pub fn txn_history(rows: &[(u64, &str, Value)]) -> History {
    let rows: Vec<(u64, &str, &str, Value)> = rows
        .iter()
        .map(|(p, k, v)| (*p, *k, "txn", v.clone()))
        .collect();
    common::history(&rows)
}

fn check(h: &History, workload: TxnWorkload, model: ConsistencyModel) -> TxnReport {
    let options = TxnOptions {
        workload: Some(workload),
        consistency_model: model,
        ..TxnOptions::default()
    };
    txn::check(h, &options)
}

/// A case: rows, model, anomaly types expected (exactly), verdict.
type Case = (
    &'static str,
    Vec<(u64, &'static str, Value)>,
    ConsistencyModel,
    Vec<AnomalyType>,
    Verdict,
);

/// Two concurrent transactions: invoke both, then complete both.
fn pair(
    a: Value,
    a_done: (&'static str, Value),
    b: Value,
    b_done: (&'static str, Value),
) -> Vec<(u64, &'static str, Value)> {
    vec![
        (1, "invoke", a),
        (2, "invoke", b),
        (1, a_done.0, a_done.1),
        (2, b_done.0, b_done.1),
    ]
}

fn run(cases: Vec<Case>, workload: TxnWorkload) {
    for (name, rows, model, want, verdict) in cases {
        let h = txn_history(&rows);
        let r = check(&h, workload, model);
        assert_eq!(r.anomaly_types, want, "{name}: {:#?}", r.anomalies);
        assert_eq!(r.verdict, verdict, "{name}: {}", r.summary());
        for a in &r.anomalies {
            assert!(!a.explanation.is_empty(), "{name}: {a:?}");
        }
    }
}

#[test]
fn list_append_anomaly_table() {
    use AnomalyType::*;
    use ConsistencyModel::*;
    use Verdict::*;
    let n = Value::Null;
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("serial", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", [1]]])),
        ], StrictSerializable, vec![], Valid),
        ("G0: x says T1 then T2, y says T2 then T1", vec![
            (1, "invoke", json!([["append", "x", 1], ["append", "y", 1]])),
            (2, "invoke", json!([["append", "x", 2], ["append", "y", 2]])),
            (1, "ok", json!([["append", "x", 1], ["append", "y", 1]])),
            (2, "ok", json!([["append", "x", 2], ["append", "y", 2]])),
            (3, "invoke", json!([["r", "x", n], ["r", "y", n]])),
            (3, "ok", json!([["r", "x", [1, 2]], ["r", "y", [2, 1]]])),
        ], ReadUncommitted, vec![G0], Invalid),
        ("G1a: a failed append is read", pair(
            json!([["append", "x", 1]]), ("fail", json!([["append", "x", 1]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", [1]]])),
        ), ReadCommitted, vec![G1a], Invalid),
        ("a failed append that nobody reads is fine", pair(
            json!([["append", "x", 1]]), ("fail", json!([["append", "x", 1]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", []]])),
        ), StrictSerializable, vec![], Valid),
        ("an info append that is read committed", pair(
            json!([["append", "x", 1]]), ("info", json!([["append", "x", 1]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", [1]]])),
        ), StrictSerializable, vec![], Valid),
        ("G1b: read of an intermediate append (and so a G-single)", pair(
            json!([["append", "x", 1], ["append", "x", 2]]), ("ok", json!([["append", "x", 1], ["append", "x", 2]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", [1]]])),
        ), ReadCommitted, vec![G1b, GSingle], Invalid),
        ("G1c: each reads the other's append", pair(
            json!([["append", "x", 1], ["r", "y", n]]), ("ok", json!([["append", "x", 1], ["r", "y", [1]]])),
            json!([["append", "y", 1], ["r", "x", n]]), ("ok", json!([["append", "y", 1], ["r", "x", [1]]])),
        ), ReadCommitted, vec![G1c], Invalid),
        ("G-single: read skew", pair(
            json!([["r", "x", n], ["r", "y", n]]), ("ok", json!([["r", "x", []], ["r", "y", [1]]])),
            json!([["append", "x", 1], ["append", "y", 1]]), ("ok", json!([["append", "x", 1], ["append", "y", 1]])),
        ), SnapshotIsolation, vec![GSingle], Invalid),
        ("G-single through the version order (the append is observed later)", vec![
            (1, "invoke", json!([["r", "x", n], ["r", "y", n]])),
            (2, "invoke", json!([["append", "x", 1], ["append", "y", 1]])),
            (1, "ok", json!([["r", "x", []], ["r", "y", [1]]])),
            (2, "ok", json!([["append", "x", 1], ["append", "y", 1]])),
            (3, "invoke", json!([["r", "x", n]])), (3, "ok", json!([["r", "x", [1]]])),
        ], StrictSerializable, vec![GSingle], Invalid),
        ("G2-item through the version order (both appends observed later)", vec![
            (1, "invoke", json!([["r", "x", n], ["append", "y", 1]])),
            (2, "invoke", json!([["r", "y", n], ["append", "x", 1]])),
            (1, "ok", json!([["r", "x", []], ["append", "y", 1]])),
            (2, "ok", json!([["r", "y", []], ["append", "x", 1]])),
            (3, "invoke", json!([["r", "x", n], ["r", "y", n]])),
            (3, "ok", json!([["r", "x", [1]], ["r", "y", [1]]])),
        ], StrictSerializable, vec![G2Item], Invalid),
        ("G2-item: write skew is allowed by snapshot isolation", pair(
            json!([["r", "x", n], ["append", "y", 1]]), ("ok", json!([["r", "x", []], ["append", "y", 1]])),
            json!([["r", "y", n], ["append", "x", 1]]), ("ok", json!([["r", "y", []], ["append", "x", 1]])),
        ), SnapshotIsolation, vec![G2Item], Valid),
        ("G2-item: write skew is not serializable", pair(
            json!([["r", "x", n], ["append", "y", 1]]), ("ok", json!([["r", "x", []], ["append", "y", 1]])),
            json!([["r", "y", n], ["append", "x", 1]]), ("ok", json!([["r", "y", []], ["append", "x", 1]])),
        ), Serializable, vec![G2Item], Invalid),
        ("lost update", pair(
            json!([["r", "x", n], ["append", "x", 1]]), ("ok", json!([["r", "x", []], ["append", "x", 1]])),
            json!([["r", "x", n], ["append", "x", 2]]), ("ok", json!([["r", "x", []], ["append", "x", 2]])),
        ), SnapshotIsolation, vec![G2Item, LostUpdate], Invalid),
        ("lost update is not a G2-item when one of them failed", pair(
            json!([["r", "x", n], ["append", "x", 1]]), ("ok", json!([["r", "x", []], ["append", "x", 1]])),
            json!([["r", "x", n], ["append", "x", 2]]), ("fail", json!([["r", "x", n], ["append", "x", 2]])),
        ), StrictSerializable, vec![], Valid),
        ("internal: a read misses the transaction's own append", vec![
            (1, "invoke", json!([["append", "x", 1], ["r", "x", n]])),
            (1, "ok", json!([["append", "x", 1], ["r", "x", []]])),
        ], Serializable, vec![Internal], Invalid),
        ("internal is allowed by read committed (as in Elle)", vec![
            (1, "invoke", json!([["append", "x", 1], ["r", "x", n]])),
            (1, "ok", json!([["append", "x", 1], ["r", "x", []]])),
        ], ReadCommitted, vec![Internal], Valid),
        ("future read", vec![
            (1, "invoke", json!([["r", "x", n], ["append", "x", 1]])),
            (1, "ok", json!([["r", "x", [1]], ["append", "x", 1]])),
        ], ReadCommitted, vec![FutureRead], Invalid),
        ("duplicate elements", pair(
            json!([["append", "x", 1]]), ("ok", json!([["append", "x", 1]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", [1, 1]]])),
        ), ReadUncommitted, vec![DuplicateElements], Invalid),
        ("incompatible orders", vec![
            (1, "invoke", json!([["append", "x", 1]])), (2, "invoke", json!([["append", "x", 2]])),
            (1, "ok", json!([["append", "x", 1]])), (2, "ok", json!([["append", "x", 2]])),
            (3, "invoke", json!([["r", "x", n]])), (3, "ok", json!([["r", "x", [1, 2]]])),
            (4, "invoke", json!([["r", "x", n]])), (4, "ok", json!([["r", "x", [2, 1]]])),
        ], ReadCommitted, vec![IncompatibleOrder], Invalid),
        ("dirty update: a committed append on top of a failed one", vec![
            (1, "invoke", json!([["append", "x", 1]])), (2, "invoke", json!([["append", "x", 2]])),
            (1, "fail", json!([["append", "x", 1]])), (2, "ok", json!([["append", "x", 2]])),
            (3, "invoke", json!([["r", "x", n]])), (3, "ok", json!([["r", "x", [1, 2]]])),
        ], ReadCommitted, vec![G1a, DirtyUpdate], Invalid),
        ("garbage read", vec![
            (1, "invoke", json!([["r", "x", n]])), (1, "ok", json!([["r", "x", [7]]])),
        ], ReadCommitted, vec![GarbageRead], Invalid),
        ("stale read: G-single-realtime under strict serializability", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", []]])),
        ], StrictSerializable, vec![GSingleRealtime], Invalid),
        ("a stale read is serializable", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", []]])),
        ], Serializable, vec![], Valid),
        ("an info append is never assumed committed: the same 'stale' read is fine", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "info", json!([["append", "x", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", []]])),
        ], StrictSerializable, vec![], Valid),
        ("an info transaction whose append is observed did commit", vec![
            (1, "invoke", json!([["append", "x", 1], ["append", "y", 1]])),
            (1, "info", json!([["append", "x", 1], ["append", "y", 1]])),
            (2, "invoke", json!([["r", "x", n], ["r", "y", n]])),
            (2, "ok", json!([["r", "x", [1]], ["r", "y", []]])),
        ], Serializable, vec![GSingle], Invalid),
        ("process order: read-your-writes violated across a process", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (1, "invoke", json!([["r", "x", n]])), (1, "ok", json!([["r", "x", []]])),
        ], StrongSessionSerializable, vec![GSingleProcess], Invalid),
        ("an info transaction does not precede its process's next one", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "info", json!([["append", "x", 1]])),
            (1, "invoke", json!([["r", "x", n]])), (1, "ok", json!([["r", "x", []]])),
        ], StrongSessionSerializable, vec![], Valid),
        ("G-nonadjacent: two rw edges, never adjacent", vec![
            (1, "invoke", json!([["r", "x", n], ["r", "w", n]])),
            (2, "invoke", json!([["append", "x", 1], ["append", "y", 1]])),
            (3, "invoke", json!([["r", "y", n], ["r", "z", n]])),
            (4, "invoke", json!([["append", "z", 1], ["append", "w", 1]])),
            (1, "ok", json!([["r", "x", []], ["r", "w", [1]]])),
            (2, "ok", json!([["append", "x", 1], ["append", "y", 1]])),
            (3, "ok", json!([["r", "y", [1]], ["r", "z", []]])),
            (4, "ok", json!([["append", "z", 1], ["append", "w", 1]])),
        ], SnapshotIsolation, vec![GNonadjacent], Invalid),
        ("G0-realtime: a later append ordered first", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (2, "invoke", json!([["append", "x", 2]])), (2, "ok", json!([["append", "x", 2]])),
            (3, "invoke", json!([["r", "x", n]])), (3, "ok", json!([["r", "x", [2, 1]]])),
        ], StrictSerializable, vec![G0Realtime], Invalid),
        ("G1c-realtime: a read of an append invoked later", vec![
            (1, "invoke", json!([["r", "x", n]])), (1, "ok", json!([["r", "x", [1]]])),
            (2, "invoke", json!([["append", "x", 1]])), (2, "ok", json!([["append", "x", 1]])),
        ], StrictSerializable, vec![G1cRealtime], Invalid),
        ("G-nonadjacent-realtime", vec![
            (3, "invoke", json!([["append", "x", 1], ["append", "y", 1]])),
            (4, "invoke", json!([["r", "y", n], ["r", "w", n]])),
            (1, "invoke", json!([["append", "w", 1]])), (1, "ok", json!([["append", "w", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", []]])),
            (3, "ok", json!([["append", "x", 1], ["append", "y", 1]])),
            (4, "ok", json!([["r", "y", [1]], ["r", "w", []]])),
        ], StrictSerializable, vec![GNonadjacentRealtime], Invalid),
        ("G2-item-realtime", vec![
            (3, "invoke", json!([["r", "x", n], ["append", "y", 1]])),
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (2, "invoke", json!([["r", "y", n]])), (2, "ok", json!([["r", "y", []]])),
            (3, "ok", json!([["r", "x", []], ["append", "y", 1]])),
        ], StrictSerializable, vec![G2ItemRealtime], Invalid),
        ("G0-process", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (1, "invoke", json!([["append", "x", 2]])), (1, "ok", json!([["append", "x", 2]])),
            (3, "invoke", json!([["r", "x", n]])), (3, "ok", json!([["r", "x", [2, 1]]])),
        ], StrongSessionSerializable, vec![G0Process], Invalid),
        ("G1c-process", vec![
            (1, "invoke", json!([["r", "x", n]])), (1, "ok", json!([["r", "x", [1]]])),
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
        ], StrongSessionSnapshotIsolation, vec![G1cProcess], Invalid),
        ("G-nonadjacent-process", vec![
            (3, "invoke", json!([["append", "x", 1], ["append", "y", 1]])),
            (4, "invoke", json!([["r", "y", n], ["r", "w", n]])),
            (1, "invoke", json!([["append", "w", 1]])), (1, "ok", json!([["append", "w", 1]])),
            (1, "invoke", json!([["r", "x", n]])), (1, "ok", json!([["r", "x", []]])),
            (3, "ok", json!([["append", "x", 1], ["append", "y", 1]])),
            (4, "ok", json!([["r", "y", [1]], ["r", "w", []]])),
        ], StrongSessionSnapshotIsolation, vec![GNonadjacentProcess], Invalid),
        ("G2-item-process is allowed by strong-session snapshot isolation", vec![
            (3, "invoke", json!([["r", "x", n], ["append", "y", 1]])),
            (1, "invoke", json!([["append", "x", 1]])), (1, "ok", json!([["append", "x", 1]])),
            (1, "invoke", json!([["r", "y", n]])), (1, "ok", json!([["r", "y", []]])),
            (3, "ok", json!([["r", "x", []], ["append", "y", 1]])),
        ], StrongSessionSnapshotIsolation, vec![G2ItemProcess], Valid),
        ("no transaction committed", vec![
            (1, "invoke", json!([["append", "x", 1]])), (1, "fail", json!([["append", "x", 1]])),
        ], StrictSerializable, vec![EmptyTransactionGraph], Unknown),
    ];
    run(cases, TxnWorkload::ListAppend);
}

#[test]
fn rw_register_anomaly_table() {
    use AnomalyType::*;
    use ConsistencyModel::*;
    use Verdict::*;
    let n = Value::Null;
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("serial", vec![
            (1, "invoke", json!([["w", "x", 1]])), (1, "ok", json!([["w", "x", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", 1]])),
        ], StrictSerializable, vec![], Valid),
        ("G1a", pair(
            json!([["w", "x", 1]]), ("fail", json!([["w", "x", 1]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", 1]])),
        ), ReadCommitted, vec![G1a], Invalid),
        ("G1b", pair(
            json!([["w", "x", 1], ["w", "x", 2]]), ("ok", json!([["w", "x", 1], ["w", "x", 2]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", 1]])),
        ), ReadCommitted, vec![G1b], Invalid),
        ("G1c", pair(
            json!([["w", "x", 1], ["r", "y", n]]), ("ok", json!([["w", "x", 1], ["r", "y", 1]])),
            json!([["w", "y", 1], ["r", "x", n]]), ("ok", json!([["w", "y", 1], ["r", "x", 1]])),
        ), ReadCommitted, vec![G1c], Invalid),
        ("G-single", pair(
            json!([["r", "x", n], ["r", "y", n]]), ("ok", json!([["r", "x", n], ["r", "y", 1]])),
            json!([["w", "x", 1], ["w", "y", 1]]), ("ok", json!([["w", "x", 1], ["w", "y", 1]])),
        ), SnapshotIsolation, vec![GSingle], Invalid),
        ("G2-item", pair(
            json!([["r", "x", n], ["w", "y", 1]]), ("ok", json!([["r", "x", n], ["w", "y", 1]])),
            json!([["r", "y", n], ["w", "x", 1]]), ("ok", json!([["r", "y", n], ["w", "x", 1]])),
        ), Serializable, vec![G2Item], Invalid),
        ("lost update", pair(
            json!([["r", "x", n], ["w", "x", 1]]), ("ok", json!([["r", "x", n], ["w", "x", 1]])),
            json!([["r", "x", n], ["w", "x", 2]]), ("ok", json!([["r", "x", n], ["w", "x", 2]])),
        ), RepeatableRead, vec![G2Item, LostUpdate], Invalid),
        ("internal", vec![
            (1, "invoke", json!([["w", "x", 2]])), (1, "ok", json!([["w", "x", 2]])),
            (2, "invoke", json!([["w", "x", 1], ["r", "x", n]])), (2, "ok", json!([["w", "x", 1], ["r", "x", 2]])),
        ], Serializable, vec![Internal], Invalid),
        ("garbage read", vec![
            (1, "invoke", json!([["r", "x", n]])), (1, "ok", json!([["r", "x", 7]])),
        ], ReadCommitted, vec![GarbageRead], Invalid),
        ("stale read", vec![
            (1, "invoke", json!([["w", "x", 1]])), (1, "ok", json!([["w", "x", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", n]])),
        ], StrictSerializable, vec![GSingleRealtime], Invalid),
        ("an info write that is read committed", pair(
            json!([["w", "x", 1]]), ("info", json!([["w", "x", 1]])),
            json!([["r", "x", n]]), ("ok", json!([["r", "x", 1]])),
        ), StrictSerializable, vec![], Valid),
        ("an info write nobody read is never assumed", vec![
            (1, "invoke", json!([["w", "x", 1]])), (1, "info", json!([["w", "x", 1]])),
            (2, "invoke", json!([["r", "x", n]])), (2, "ok", json!([["r", "x", n]])),
        ], StrictSerializable, vec![], Valid),
    ];
    run(cases, TxnWorkload::RwRegister);
}

#[test]
fn rw_register_writes_follow_reads_finds_g0_and_cyclic_versions() {
    let n = Value::Null;
    let opts = |wfr| TxnOptions {
        workload: Some(TxnWorkload::RwRegister),
        wfr_keys: wfr,
        ..TxnOptions::default()
    };
    let g0 = txn_history(&pair(
        json!([["w", "x", 1], ["r", "y", n], ["w", "y", 3]]),
        ("ok", json!([["w", "x", 1], ["r", "y", 2], ["w", "y", 3]])),
        json!([["r", "x", n], ["w", "x", 2], ["w", "y", 2]]),
        ("ok", json!([["r", "x", 1], ["w", "x", 2], ["w", "y", 2]])),
    ));
    assert_eq!(
        txn::check(&g0, &opts(true)).anomaly_types,
        vec![AnomalyType::G0]
    );
    let without = txn::check(&g0, &opts(false));
    assert_eq!(
        without.anomaly_types,
        vec![AnomalyType::G1c],
        "wr edges alone"
    );
    let cyclic = txn_history(&pair(
        json!([["r", "x", n], ["w", "x", 2]]),
        ("ok", json!([["r", "x", 1], ["w", "x", 2]])),
        json!([["r", "x", n], ["w", "x", 1]]),
        ("ok", json!([["r", "x", 2], ["w", "x", 1]])),
    ));
    let r = txn::check(&cyclic, &opts(true));
    assert!(
        r.anomaly_types.contains(&AnomalyType::CyclicVersions),
        "{:?}",
        r.anomaly_types
    );
}

#[test]
fn explanations_name_transactions_edges_and_reasons() {
    let n = Value::Null;
    // op 1 appends 3 to key 5 (after op 0's [1 2]) and 1 to key 6; op 2
    // reads key 5 without the 3 but key 6 with the 1: read skew.
    let h = txn_history(&[
        (0, "invoke", json!([["append", 5, 1], ["append", 5, 2]])),
        (0, "ok", json!([["append", 5, 1], ["append", 5, 2]])),
        (1, "invoke", json!([["append", 5, 3], ["append", 6, 1]])),
        (2, "invoke", json!([["r", 5, n], ["r", 6, n]])),
        (1, "ok", json!([["append", 5, 3], ["append", 6, 1]])),
        (2, "ok", json!([["r", 5, [1, 2]], ["r", 6, [1]]])),
        (3, "invoke", json!([["r", 5, n]])),
        (3, "ok", json!([["r", 5, [1, 2, 3]]])),
    ]);
    let r = check(&h, TxnWorkload::ListAppend, ConsistencyModel::Serializable);
    assert_eq!(r.anomaly_types, vec![AnomalyType::GSingle], "{r:#?}");
    let a = &r.anomalies[0];
    let AnomalyDetail::Cycle { steps, shortest } = &a.detail else {
        panic!("not a cycle: {a:?}");
    };
    assert!(shortest);
    assert_eq!(a.txns.len(), 2);
    let ops: Vec<usize> = a.txns.iter().map(|t| t.op).collect();
    assert_eq!(
        ops,
        vec![2, 1],
        "T1 = the reader (op 2), T2 = the appender (op 1)"
    );
    assert_eq!(steps[0].rel, Rel::Rw);
    assert_eq!(steps[0].key, Some(json!(5)));
    assert_eq!((steps[0].from_mop, steps[0].to_mop), (Some(0), Some(0)));
    assert_eq!((steps[1].from_mop, steps[1].to_mop), (Some(1), Some(1)));
    insta::assert_snapshot!(steps[0].explanation, @"T1 read key 5 = [1 2] without 3, which T2 appended right after 2, so T1 rw-> T2");
    insta::assert_snapshot!(steps[1].explanation, @"T2 appended 1 to key 6 and T1 read [1], which ends with it, so T2 wr-> T1");
    assert_eq!(a.txns[0].mops, json!([["r", 5, [1, 2]], ["r", 6, [1]]]));
    let json = serde_json::to_value(&r).expect("serializes");
    assert_eq!(
        json["anomalies"][0]["detail"]["steps"][0]["rel"],
        json!("rw")
    );
    let back: TxnReport = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, r, "results.json round trip");
    insta::assert_snapshot!(r.summary(), @"serializable: invalid in 4 list-append txns (4 ok, 0 info, 0 fail): G-single x1; not repeatable-read, snapshot-isolation");
}

#[test]
fn malformed_transactions_make_the_verdict_unknown() {
    let cases: &[(Value, &str)] = &[
        (
            json!("nope"),
            "op 0: a txn value must be a list of micro-ops, found a string",
        ),
        (
            json!([["r", "x"]]),
            "op 0, micro-op 0: expected [f, key, value], found [\"r\",\"x\"]",
        ),
        (
            json!([["cas", "x", 1]]),
            "op 0, micro-op 0: unknown micro-op `cas` (expected r, append or w)",
        ),
        (
            json!([["append", [1], 1]]),
            "op 0, micro-op 0: a key must be an integer or a string, found [1]",
        ),
        (
            json!([["append", "x", 1.5]]),
            "op 0, micro-op 0: a written value must be an integer or a string, found 1.5",
        ),
        (
            json!([["r", "x", {"a": 1}]]),
            "op 0, micro-op 0: a list read must be null or a list, found {\"a\":1}",
        ),
        (
            json!([["w", "x", 1]]),
            "op 0: `w` micro-ops mix with list-append ones",
        ),
    ];
    for (value, want) in cases {
        let h = txn_history(&[(0, "invoke", value.clone()), (0, "ok", value.clone())]);
        let r = check(
            &h,
            TxnWorkload::ListAppend,
            ConsistencyModel::StrictSerializable,
        );
        assert_eq!(r.verdict, Verdict::Unknown, "{value}");
        assert_eq!(r.problems[0].to_string(), *want);
    }
    let dup = txn_history(&pair(
        json!([["append", "x", 1]]),
        ("ok", json!([["append", "x", 1]])),
        json!([["append", "x", 1]]),
        ("ok", json!([["append", "x", 1]])),
    ));
    let r = check(
        &dup,
        TxnWorkload::ListAppend,
        ConsistencyModel::StrictSerializable,
    );
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(
        r.problems[0].to_string(),
        "ops 0 and 1 both write 1 to key \"x\"; writes must be unique per key"
    );
}

#[test]
fn transactional_histories_and_workloads_are_recognised() {
    let n = Value::Null;
    let append = txn_history(&[
        (0, "invoke", json!([["append", 1, 1]])),
        (0, "ok", json!([["append", 1, 1]])),
    ]);
    let register = txn_history(&[
        (0, "invoke", json!([["r", 1, n]])),
        (0, "ok", json!([["r", 1, 3]])),
    ]);
    assert!(txn::is_transactional(&append));
    assert_eq!(txn::detect_workload(&append), Some(TxnWorkload::ListAppend));
    assert_eq!(
        txn::detect_workload(&register),
        Some(TxnWorkload::RwRegister)
    );
    let plain = common::history(&[
        (0, "invoke", "read", n.clone()),
        (0, "ok", "read", json!(1)),
    ]);
    assert!(!txn::is_transactional(&plain));
    assert!(!txn::is_transactional(&History::default()));
}

/// The anomaly table of `docs/history-format.md` says what the code does.
#[test]
fn documented_anomaly_table_matches_the_code() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/history-format.md"
    ))
    .expect("docs readable");
    let section = docs
        .split("### Anomalies")
        .nth(1)
        .expect("an Anomalies section");
    let mut rows = 0;
    for line in section.lines().skip_while(|l| !l.starts_with("| `")) {
        if !line.starts_with("| `") {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let kind = AnomalyType::from_name(name).unwrap_or_else(|| panic!("unknown {name}"));
        assert_eq!(cells[2], kind.description(), "{name}");
        let (not, _) = checker::txn::model::boundary(&[kind].into_iter().collect());
        let want: Vec<&str> = not.iter().map(|m| m.name()).collect();
        if !want.is_empty() {
            assert_eq!(cells[3], want.join(", "), "{name}");
        }
        rows += 1;
    }
    assert_eq!(rows, AnomalyType::ALL.len());
    let counts = (
        checker::txn::generate::injectable(TxnWorkload::ListAppend).len(),
        checker::txn::generate::injectable(TxnWorkload::RwRegister).len(),
    );
    assert!(
        docs.contains(&format!(
            "the {} list-append and {} rw-register types",
            counts.0, counts.1
        )),
        "injectable counts {counts:?}"
    );
}

/// With no budget for the named search, the verdict still follows from
/// which classes of cycle exist, and the timeout is reported.
#[test]
fn cycle_exists_decides_when_the_search_budget_runs_out() {
    let n = Value::Null;
    let h = txn_history(&[
        (1, "invoke", json!([["r", "x", n], ["r", "w", n]])),
        (2, "invoke", json!([["append", "x", 1], ["append", "y", 1]])),
        (3, "invoke", json!([["r", "y", n], ["r", "z", n]])),
        (4, "invoke", json!([["append", "z", 1], ["append", "w", 1]])),
        (1, "ok", json!([["r", "x", []], ["r", "w", [1]]])),
        (2, "ok", json!([["append", "x", 1], ["append", "y", 1]])),
        (3, "ok", json!([["r", "y", [1]], ["r", "z", []]])),
        (4, "ok", json!([["append", "z", 1], ["append", "w", 1]])),
    ]);
    let check = |model, budget| {
        let options = TxnOptions {
            consistency_model: model,
            search_budget: budget,
            ..TxnOptions::default()
        };
        txn::check(&h, &options)
    };
    use AnomalyType::*;
    let si = check(ConsistencyModel::SnapshotIsolation, 1);
    assert_eq!(
        si.anomaly_types,
        vec![PlSiCycleExists, Pl3CycleExists, CycleSearchTimeout]
    );
    assert_eq!(si.verdict, Verdict::Invalid);
    let rc = check(ConsistencyModel::ReadCommitted, 1);
    assert_eq!(
        rc.verdict,
        Verdict::Unknown,
        "nothing rules read-committed out, but the search did not finish"
    );
    let full = check(ConsistencyModel::ReadCommitted, u64::MAX);
    assert_eq!(full.anomaly_types, vec![GNonadjacent]);
    assert_eq!(full.verdict, Verdict::Valid);
    let AnomalyDetail::Component { size, .. } = &si.anomalies[0].detail else {
        panic!("{:?}", si.anomalies[0]);
    };
    assert_eq!(*size, 4);
}

/// `history.jsonl` carries transactions as they are (docs example).
#[test]
fn jsonl_transactions_are_checked() {
    let text = r#"{"index":0,"time":100,"process":1,"type":"invoke","f":"txn","value":[["append",5,3],["r",6,null]]}
{"index":1,"time":150,"process":2,"type":"invoke","f":"txn","value":[["append",6,1],["append",6,2]]}
{"index":2,"time":200,"process":2,"type":"ok","f":"txn","value":[["append",6,1],["append",6,2]]}
{"index":3,"time":250,"process":1,"type":"ok","f":"txn","value":[["append",5,3],["r",6,[1,2]]]}
{"index":4,"time":300,"process":3,"type":"invoke","f":"txn","value":[["r",5,null]]}
{"index":5,"time":350,"process":3,"type":"info","f":"txn","value":[["r",5,null]],"error":"timeout"}
"#;
    let (h, warnings) =
        checker::read_jsonl_from(std::io::Cursor::new(text), "history.jsonl").expect("reads");
    assert!(warnings.is_empty());
    assert!(txn::is_transactional(&h));
    let r = txn::check(&h, &TxnOptions::default());
    assert_eq!(r.verdict, Verdict::Valid, "{}", r.summary());
    assert_eq!((r.txns.ok, r.txns.info), (2, 1));
    assert_eq!(r.graph.wr, 1, "op 0 read op 1's appends");
}
