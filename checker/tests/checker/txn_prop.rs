//! Property tests of the transactional checker on generated executions:
//! strictly serializable ones (with concurrency, `info` and `fail`
//! outcomes) are valid with no anomaly at all; one injected anomaly of each
//! class is found and classified as itself.

use checker::{
    Verdict,
    txn::{
        self, AnomalyDetail, AnomalyType, ConsistencyModel, TxnOptions, TxnWorkload,
        generate::{TxnGen, detect_options, injectable},
    },
};
use proptest::prelude::*;

fn workload() -> impl Strategy<Value = TxnWorkload> {
    prop_oneof![Just(TxnWorkload::ListAppend), Just(TxnWorkload::RwRegister)]
}

fn generator() -> impl Strategy<Value = TxnGen> {
    (
        any::<u64>(),
        workload(),
        1usize..12,
        1usize..8,
        1usize..6,
        2usize..40,
        0.0f64..0.2,
        0.0f64..0.2,
    )
        .prop_map(
            |(seed, workload, processes, active_keys, max_mops, max_writes, info, fail)| TxnGen {
                seed,
                workload,
                txns: 300,
                processes,
                active_keys,
                min_mops: 1,
                max_mops,
                max_writes_per_key: max_writes,
                info_rate: info,
                fail_rate: fail,
                ..TxnGen::default()
            },
        )
}

/// Anomalies an injected `kind` necessarily brings along (see the gadgets).
fn companions(workload: TxnWorkload, kind: AnomalyType) -> Vec<AnomalyType> {
    use AnomalyType::*;
    match (workload, kind) {
        (TxnWorkload::ListAppend, G1b) => vec![GSingle],
        (_, LostUpdate) => vec![G2Item],
        (_, DirtyUpdate) => vec![G1a],
        (_, CyclicVersions) => vec![G1c],
        _ => vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_serializable_executions_are_valid(g in generator()) {
        for model in [ConsistencyModel::StrictSerializable, ConsistencyModel::StrongSessionSerializable] {
            let options = TxnOptions { consistency_model: model, wfr_keys: true, ..TxnOptions::default() };
            let h = g.history().expect("pairs");
            let r = txn::check(&h, &options);
            prop_assert_eq!(r.verdict, Verdict::Valid, "{}: {:#?}", r.summary(), r.anomalies);
            prop_assert!(r.anomaly_types.is_empty());
            prop_assert_eq!(r.txns.ok + r.txns.info + r.txns.fail, 300);
        }
    }

    #[test]
    fn compact_and_json_paths_agree(g in generator()) {
        let options = TxnOptions { workload: Some(g.workload), ..TxnOptions::default() };
        let from_json = txn::check(&g.history().expect("pairs"), &options);
        let compact = txn::check_txns(&g.txn_history(), &options);
        prop_assert_eq!(from_json, compact);
    }

    #[test]
    fn each_injected_anomaly_is_found_and_classified(g in generator(), pick in any::<prop::sample::Index>()) {
        let kinds = injectable(g.workload);
        let kind = kinds[pick.index(kinds.len())];
        assert_injected_found(&g, kind).map_err(TestCaseError::fail)?;
    }
}

/// Injects `kind` into `g`'s execution and checks it is found, classified
/// as itself (plus its necessary companions only), explained, and rules the
/// detecting model out.
fn assert_injected_found(g: &TxnGen, kind: AnomalyType) -> Result<(), String> {
    let g = TxnGen {
        inject: Some(kind),
        ..g.clone()
    };
    let options = detect_options(g.workload, kind);
    let r = txn::check(&g.history().expect("pairs"), &options);
    let mut allowed = companions(g.workload, kind);
    allowed.push(kind);
    if !r.anomaly_types.contains(&kind) {
        return Err(format!("{kind} not found: {}", r.summary()));
    }
    if let Some(other) = r.anomaly_types.iter().find(|f| !allowed.contains(f)) {
        return Err(format!(
            "{kind} injected, {other} found: {:#?}",
            r.anomalies
        ));
    }
    if r.verdict != Verdict::Invalid {
        return Err(format!("{kind}: verdict {}", r.summary()));
    }
    let a = r
        .anomalies
        .iter()
        .find(|a| a.kind == kind)
        .ok_or("no example")?;
    if !a.explanation.starts_with(kind.name()) {
        return Err(format!("explanation: {}", a.explanation));
    }
    if kind.is_cycle() {
        let AnomalyDetail::Cycle { steps, shortest } = &a.detail else {
            return Err(format!("{kind} without a cycle"));
        };
        if !*shortest
            || steps.len() != a.txns.len()
            || steps.iter().any(|s| !s.explanation.contains("->"))
        {
            return Err(format!("{kind}: bad cycle {steps:#?}"));
        }
    }
    Ok(())
}

#[test]
fn every_injectable_anomaly_is_found_in_several_executions() {
    for workload in [TxnWorkload::ListAppend, TxnWorkload::RwRegister] {
        for kind in injectable(workload) {
            for seed in 0..6 {
                let g = TxnGen {
                    seed,
                    workload,
                    txns: 400,
                    processes: 8,
                    info_rate: 0.05,
                    fail_rate: 0.05,
                    ..TxnGen::default()
                };
                if let Err(e) = assert_injected_found(&g, kind) {
                    panic!("{workload}, seed {seed}: {e}");
                }
            }
        }
    }
}

#[test]
fn every_anomaly_class_can_be_injected() {
    use AnomalyType::*;
    let list = injectable(TxnWorkload::ListAppend);
    for kind in [
        G0,
        G1a,
        G1b,
        G1c,
        GSingle,
        GNonadjacent,
        G2Item,
        G0Process,
        G1cProcess,
        GSingleProcess,
        GNonadjacentProcess,
        G2ItemProcess,
        G0Realtime,
        G1cRealtime,
        GSingleRealtime,
        GNonadjacentRealtime,
        G2ItemRealtime,
        DirtyUpdate,
        GarbageRead,
        Internal,
        FutureRead,
        DuplicateElements,
        IncompatibleOrder,
        LostUpdate,
    ] {
        assert!(list.contains(&kind), "list-append cannot inject {kind}");
    }
    let register = injectable(TxnWorkload::RwRegister);
    for kind in [
        G0,
        G1a,
        G1b,
        G1c,
        GSingle,
        GNonadjacent,
        G2Item,
        GSingleRealtime,
        LostUpdate,
        Internal,
        CyclicVersions,
    ] {
        assert!(register.contains(&kind), "rw-register cannot inject {kind}");
    }
}

/// A realistic, larger run: many processes, info and fail outcomes, info
/// transactions applied late; no false alarm under the strongest model.
#[test]
fn realistic_generated_history_has_no_false_alarm() {
    for workload in [TxnWorkload::ListAppend, TxnWorkload::RwRegister] {
        let g = TxnGen {
            seed: 7,
            workload,
            txns: 20_000,
            processes: 20,
            active_keys: 20,
            info_rate: 0.05,
            fail_rate: 0.05,
            ..TxnGen::default()
        };
        let r = txn::check(&g.history().expect("pairs"), &TxnOptions::default());
        assert_eq!(r.verdict, Verdict::Valid, "{workload}: {}", r.summary());
        assert!(
            r.graph.realtime > 0 && r.graph.rw > 0 && r.graph.wr > 0,
            "{:?}",
            r.graph
        );
    }
}

/// A micro-op: mostly well-formed over a few keys and values (so reads and
/// writes collide), sometimes any small JSON.
fn micro_op() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let atom = prop_oneof![
        (0i64..4).prop_map(Value::from),
        Just(json!("k")),
        Just(Value::Null),
        Just(json!(-1)),
        Just(json!(1.5)),
    ];
    let list = prop::collection::vec(0i64..4, 0..5).prop_map(|v| json!(v));
    prop_oneof![
        8 => (0i64..3, 0i64..4).prop_map(|(k, v)| json!(["append", k, v])),
        8 => (0i64..3, list.clone()).prop_map(|(k, l)| json!(["r", k, l])),
        4 => (0i64..3, 0i64..4).prop_map(|(k, v)| json!(["w", k, v])),
        4 => (0i64..3, atom.clone()).prop_map(|(k, v)| json!(["r", k, v])),
        1 => (atom.clone(), atom.clone(), atom).prop_map(|(a, b, c)| json!([a, b, c])),
        1 => list,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Hostile or merely odd transactions never panic the checker, whatever
    /// the model; problems give `unknown`.
    #[test]
    fn arbitrary_transactions_never_panic(
        ops in prop::collection::vec(
            (0u64..4, prop::collection::vec(micro_op(), 0..5), 0u8..3),
            0..24,
        ),
        model in 0usize..ConsistencyModel::ALL.len(),
    ) {
        let mut rows = Vec::new();
        // Writes get unique values (mostly: reads then name one writer),
        // small enough that reads of 0..4 see some of them.
        let mut next = 0i64;
        for (process, mops, end) in &ops {
            let mut mops = mops.clone();
            for m in &mut mops {
                if let Some(parts) = m.as_array_mut()
                    && parts.len() == 3
                    && matches!(parts[0].as_str(), Some("append" | "w"))
                    && parts[2].is_i64()
                {
                    parts[2] = serde_json::Value::from(next / 2);
                    next += 1;
                }
            }
            let value = serde_json::Value::Array(mops);
            let kind = ["ok", "info", "fail"][*end as usize];
            // Each process runs its op to completion before the next.
            rows.push((*process + 10 * rows.len() as u64, "invoke", value.clone()));
            rows.push((*process + 10 * (rows.len() as u64 - 1), kind, value));
        }
        let h = crate::txn_table::txn_history(&rows);
        let options = TxnOptions {
            consistency_model: ConsistencyModel::ALL[model],
            wfr_keys: model % 2 == 0,
            ..TxnOptions::default()
        };
        let r = txn::check(&h, &options);
        if r.problem_count > 0 {
            prop_assert_eq!(r.verdict, Verdict::Unknown);
        }
        let _ = r.summary();
    }
}
