//! Jepsen transactional histories in EDN, re-checked.

use std::io::Cursor;

use checker::{
    History, Verdict, read_edn_from,
    txn::{self, AnomalyType, ConsistencyModel, TxnOptions, TxnWorkload},
};
use serde_json::json;

fn read(text: &str) -> History {
    read_edn_from(Cursor::new(text.as_bytes()), "history.edn")
        .expect("reads")
        .0
}

fn check(h: &History, model: ConsistencyModel) -> txn::TxnReport {
    let options = TxnOptions {
        consistency_model: model,
        ..TxnOptions::default()
    };
    txn::check(h, &options)
}

/// The example of the Elle paper, as a Jepsen history.
const PAPER: &str = r#"{:index 0 :time 0 :process 0 :type :invoke :f :txn :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 1 :time 1 :process 0 :type :ok :f :txn :value [[:append 253 1] [:append 253 3] [:append 253 4] [:append 255 2] [:append 255 3] [:append 255 4] [:append 255 5] [:append 256 1] [:append 256 2]]}
{:index 2 :time 2 :process 1 :type :invoke :f :txn :value [[:append 255 8] [:r 253 nil]]}
{:index 3 :time 3 :process 1 :type :ok :f :txn :value [[:append 255 8] [:r 253 [1 3 4]]]}
{:index 4 :time 4 :process 2 :type :invoke :f :txn :value [[:append 256 4] [:r 255 nil] [:r 256 nil] [:r 253 nil]]}
{:index 5 :time 5 :process 2 :type :ok :f :txn :value [[:append 256 4] [:r 255 [2 3 4 5 8]] [:r 256 [1 2 4]] [:r 253 [1 3 4]]]}
{:index 6 :time 6 :process 3 :type :invoke :f :txn :value [[:append 250 10] [:r 253 nil] [:r 255 nil] [:append 256 3]]}
{:index 7 :time 7 :process 3 :type :ok :f :txn :value [[:append 250 10] [:r 253 [1 3 4]] [:r 255 [2 3 4 5]] [:append 256 3]]}
"#;

#[test]
fn elle_paper_example_is_read_skew() {
    let h = read(PAPER);
    assert!(txn::is_transactional(&h));
    assert_eq!(txn::detect_workload(&h), Some(TxnWorkload::ListAppend));
    assert_eq!(
        h.ops[1].output,
        json!([["append", 255, 8], ["r", 253, [1, 3, 4]]])
    );
    let r = check(&h, ConsistencyModel::Serializable);
    assert_eq!(r.anomaly_types, vec![AnomalyType::GSingle], "{r:#?}");
    assert_eq!(r.verdict, Verdict::Invalid);
    let ops: Vec<usize> = r.anomalies[0].txns.iter().map(|t| t.op).collect();
    assert_eq!(ops, vec![3, 1, 2], "op 3 missed op 1's 8, which op 2 saw");
    let strict = check(&h, ConsistencyModel::StrictSerializable);
    assert_eq!(strict.verdict, Verdict::Invalid);
    assert!(strict.anomaly_types.contains(&AnomalyType::GSingle));
}

#[test]
fn two_micro_op_transactions_are_not_independent_tuples() {
    let text = r#"[{:process 0 :type :invoke :f :txn :value [[:append :x 1] [:r :y nil]]}
{:process 0 :type :ok :f :txn :value [[:append :x 1] [:r :y []]]}
{:process 1 :type :invoke :f :txn :value [[:r :x nil] [:append :y 1]]}
{:process 1 :type :ok :f :txn :value [[:r :x [1]] [:append :y 1]]}
{:process :nemesis :type :info :f :start :value [:n1 :n2]}]"#;
    let h = read(text);
    assert_eq!(h.ops[0].key, None, "not read as an independent tuple");
    assert_eq!(
        h.ops[0].input,
        json!([["append", "x", 1], ["r", "y", null]])
    );
    let r = check(&h, ConsistencyModel::StrictSerializable);
    assert_eq!(r.verdict, Verdict::Valid, "{}", r.summary());
}

#[test]
fn jepsen_rw_register_records_with_write_skew() {
    let text = r#"#jepsen.history.Op{:index 0 :time 10 :type :invoke :process 0 :f :txn :value [[:r :x nil] [:w :y 1]]}
#jepsen.history.Op{:index 1 :time 11 :type :invoke :process 1 :f :txn :value [[:r :y nil] [:w :x 1]]}
#jepsen.history.Op{:index 2 :time 12 :type :ok :process 0 :f :txn :value [[:r :x nil] [:w :y 1]]}
#jepsen.history.Op{:index 3 :time 13 :type :ok :process 1 :f :txn :value [[:r :y nil] [:w :x 1]]}
#jepsen.history.Op{:index 4 :time 14 :type :invoke :process 2 :f :txn :value [[:r :x nil] [:w :z 5]]}
#jepsen.history.Op{:index 5 :time 15 :type :info :process 2 :f :txn :value [[:r :x nil] [:w :z 5]] :error :timeout}
"#;
    let h = read(text);
    assert_eq!(txn::detect_workload(&h), Some(TxnWorkload::RwRegister));
    let si = check(&h, ConsistencyModel::SnapshotIsolation);
    assert_eq!(si.anomaly_types, vec![AnomalyType::G2Item]);
    assert_eq!(
        si.verdict,
        Verdict::Valid,
        "snapshot isolation allows write skew"
    );
    let ser = check(&h, ConsistencyModel::Serializable);
    assert_eq!(ser.verdict, Verdict::Invalid);
    assert_eq!((ser.txns.ok, ser.txns.info), (2, 1));
}
