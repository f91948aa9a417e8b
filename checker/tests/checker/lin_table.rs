//! Hand-written histories for every tricky case, as a table:
//! (name, model, events, expected verdict, for invalid ones the op that
//! cannot be linearized).

use std::time::Duration;

use checker::{
    LinOptions, Model, Verdict,
    generate::RegisterWorkload,
    linearizable::{self, Engine},
};
use serde_json::{Value, json};

use crate::common::history;

type Row = (u64, &'static str, &'static str, Value);

fn opts() -> LinOptions {
    LinOptions {
        time_budget: Duration::from_secs(10),
        threads: 1,
        total_budget: None,
        ..LinOptions::default()
    }
}

#[rustfmt::skip]
fn cases() -> Vec<(&'static str, Vec<Row>, Verdict, Option<usize>)> {
    use Verdict::*;
    vec![
        ("empty history", vec![], Valid, None),
        ("read of the initial null", vec![
            (0, "invoke", "read", json!(null)), (0, "ok", "read", json!(null)),
        ], Valid, None),
        ("sequential write then read", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(1)),
        ], Valid, None),
        ("read of a value nobody wrote", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(9)),
        ], Invalid, Some(1)),
        ("real-time violation across processes: read after a finished write sees the old value", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(null)),
        ], Invalid, Some(1)),
        ("stale read after an overwrite", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "write", json!(2)), (1, "ok", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
        ], Invalid, Some(2)),
        ("a read concurrent with a write may see either value (old)", vec![
            (0, "invoke", "write", json!(1)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(null)),
            (0, "ok", "write", json!(1)),
        ], Valid, None),
        ("a read concurrent with a write may see either value (new)", vec![
            (0, "invoke", "write", json!(1)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(1)),
            (0, "ok", "write", json!(1)),
        ], Valid, None),
        ("concurrent writes, reads agree on order 1 then 2", vec![
            (0, "invoke", "write", json!(1)), (1, "invoke", "write", json!(2)),
            (0, "ok", "write", json!(1)), (1, "ok", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(2)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(2)),
        ], Valid, None),
        ("concurrent writes, reads agree on order 2 then 1", vec![
            (0, "invoke", "write", json!(1)), (1, "invoke", "write", json!(2)),
            (0, "ok", "write", json!(1)), (1, "ok", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
        ], Valid, None),
        ("concurrent writes, later reads disagree on the order", vec![
            (0, "invoke", "write", json!(1)), (1, "invoke", "write", json!(2)),
            (0, "ok", "write", json!(1)), (1, "ok", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(2)),
        ], Invalid, Some(3)),
        ("info write that later becomes visible", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "write", json!(2)), (1, "info", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(2)),
            (4, "invoke", "read", json!(null)), (4, "ok", "read", json!(2)),
        ], Valid, None),
        ("info write never visible", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "write", json!(2)), (1, "info", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(1)),
        ], Valid, None),
        ("info write visible, then its old value again: not possible", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "write", json!(2)), (1, "info", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(2)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(1)),
        ], Invalid, Some(3)),
        ("unfinished write counts as info and may become visible", vec![
            (1, "invoke", "write", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(null)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(2)),
        ], Valid, None),
        ("failed write never takes effect", vec![
            (0, "invoke", "write", json!(5)), (0, "fail", "write", json!(5)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(5)),
        ], Invalid, Some(1)),
        ("failed write, reads see the old value", vec![
            (0, "invoke", "write", json!(5)), (0, "fail", "write", json!(5)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(null)),
        ], Valid, None),
        ("info read constrains nothing", vec![
            (0, "invoke", "read", json!(null)), (0, "info", "read", json!(null)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(null)),
        ], Valid, None),
        ("cas from the current value", vec![
            (0, "invoke", "write", json!(0)), (0, "ok", "write", json!(0)),
            (1, "invoke", "cas", json!([0, 1])), (1, "ok", "cas", json!([0, 1])),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
        ], Valid, None),
        ("cas that succeeded twice from the same value", vec![
            (0, "invoke", "write", json!(0)), (0, "ok", "write", json!(0)),
            (1, "invoke", "cas", json!([0, 1])), (2, "invoke", "cas", json!([0, 2])),
            (1, "ok", "cas", json!([0, 1])), (2, "ok", "cas", json!([0, 2])),
        ], Invalid, Some(2)),
        ("cas from a value the register never had", vec![
            (1, "invoke", "cas", json!([7, 1])), (1, "ok", "cas", json!([7, 1])),
        ], Invalid, Some(0)),
        ("info cas that took effect", vec![
            (0, "invoke", "write", json!(0)), (0, "ok", "write", json!(0)),
            (1, "invoke", "cas", json!([0, 1])), (1, "info", "cas", json!([0, 1])),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
        ], Valid, None),
        ("info cas chain: two info cas ops needed in a row", vec![
            (0, "invoke", "write", json!(0)), (0, "ok", "write", json!(0)),
            (1, "invoke", "cas", json!([0, 1])), (1, "info", "cas", json!([0, 1])),
            (2, "invoke", "cas", json!([1, 2])), (2, "info", "cas", json!([1, 2])),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(2)),
        ], Valid, None),
        ("failed cas is dropped (definite: did not happen)", vec![
            (0, "invoke", "write", json!(0)), (0, "ok", "write", json!(0)),
            (1, "invoke", "cas", json!([3, 1])), (1, "fail", "cas", json!([3, 1])),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(0)),
        ], Valid, None),
        // Issue 16: a key on which nothing succeeded constrains nothing; a
        // `valid` verdict for it would be vacuous.
        ("every operation failed: vacuous, so unknown", vec![
            (0, "invoke", "write", json!(1)), (0, "fail", "write", json!(1)),
            (1, "invoke", "cas", json!([0, 1])), (1, "fail", "cas", json!([0, 1])),
        ], Unknown, None),
        ("only indeterminate operations: vacuous, so unknown", vec![
            (0, "invoke", "write", json!(1)), (0, "info", "write", json!(1)),
            (1, "invoke", "read", json!(null)), (1, "info", "read", json!(null)),
            (2, "invoke", "read", json!(null)),
        ], Unknown, None),
        ("a read of a value written twice: only the search can tell which", vec![
            (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
            (1, "invoke", "write", json!(2)), (1, "ok", "write", json!(2)),
            (2, "invoke", "write", json!(1)), (2, "ok", "write", json!(1)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(1)),
        ], Valid, None),
        ("an info cas chain out of order: the second needs the first's value first", vec![
            (0, "invoke", "cas", json!([1, 2])), (0, "info", "cas", json!([1, 2])),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!(2)),
            (2, "invoke", "write", json!(1)), (2, "ok", "write", json!(1)),
        ], Invalid, Some(1)),
        ("reads of the initial value after a write was acknowledged", vec![
            (0, "invoke", "read", json!(null)),
            (1, "invoke", "write", json!(1)), (1, "ok", "write", json!(1)),
            (0, "ok", "read", json!(null)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(null)),
        ], Invalid, Some(2)),
    ]
}

/// Which engine decides each table row when the version order may be
/// used: every row with unique written values and some successful op.
fn expected_engine(name: &str, verdict: Verdict) -> Engine {
    if verdict == Verdict::Unknown {
        Engine::None
    } else if name.contains("written twice") {
        Engine::Wgl
    } else {
        Engine::VersionOrder
    }
}

/// Every row through both engines: the version order (where it applies)
/// and the search alone must agree with the table, and name the same op.
#[test]
fn register_table() {
    for (name, rows, verdict, blocked) in cases() {
        let h = history(&rows);
        for version_order in [true, false] {
            let o = LinOptions {
                version_order,
                ..opts()
            };
            let r = linearizable::check(&h, Model::register(), &o);
            let label = format!("{name} (version order allowed: {version_order})");
            assert_eq!(r.verdict, verdict, "{label}: {r:#?}");
            if rows.is_empty() {
                continue;
            }
            let key = &r.keys[""];
            let engine = match (version_order, expected_engine(name, verdict)) {
                (false, Engine::VersionOrder) => Engine::Wgl,
                (_, e) => e,
            };
            assert_eq!(key.engine, engine, "{label}");
            if let Some(op) = blocked {
                let cex = key.counterexample.as_ref().expect("counterexample");
                assert_eq!(cex.op.op, op, "{label}: blocked op; {cex:#?}");
                assert!(!cex.prefix.contains(&op), "{label}");
                assert_eq!(cex.explanation.is_some(), version_order, "{label}");
            } else if verdict == Verdict::Valid {
                assert!(key.counterexample.is_none(), "{label}");
            } else {
                let reason = key.reason.as_deref().unwrap_or_default();
                assert!(
                    reason.starts_with("no operation on this key succeeded"),
                    "{label}: {reason}"
                );
            }
        }
    }
}

#[test]
fn counterexample_describes_state_and_concurrent_ops() {
    let h = history(&[
        (0, "invoke", "write", json!(1)),
        (0, "ok", "write", json!(1)),
        (1, "invoke", "write", json!(2)),
        (1, "ok", "write", json!(2)),
        (2, "invoke", "read", json!(null)),
        (3, "invoke", "write", json!(3)),
        (2, "ok", "read", json!(1)),
        (3, "ok", "write", json!(3)),
    ]);
    // The search: the deepest prefix also linearizes the concurrent write
    // of 3.
    let wgl = LinOptions {
        version_order: false,
        ..opts()
    };
    let r = linearizable::check(&h, Model::register(), &wgl);
    let cex = r.keys[""].counterexample.clone().expect("invalid");
    assert_eq!(cex.op.op, 2, "the stale read");
    assert_eq!(cex.op.output, json!(1));
    assert_eq!(cex.prefix, vec![0, 1, 3]);
    assert_eq!(cex.state, json!(3));
    let concurrent: Vec<usize> = cex.concurrent.iter().map(|o| o.op).collect();
    assert_eq!(concurrent, vec![3]);
    assert_eq!(cex.concurrent[0].call_time, 5000);
    // The version order: the history cut just before the read returned
    // (the pending write of 3 is unobserved, so left out), and why.
    let r = linearizable::check(&h, Model::register(), &opts());
    let cex = r.keys[""].counterexample.clone().expect("invalid");
    assert_eq!(r.keys[""].engine, Engine::VersionOrder);
    assert_eq!(cex.op.op, 2, "the stale read");
    assert_eq!(cex.prefix, vec![0, 1]);
    assert_eq!(cex.state, json!(2));
    let concurrent: Vec<usize> = cex.concurrent.iter().map(|o| o.op).collect();
    assert_eq!(concurrent, vec![3]);
    insta::assert_snapshot!(
        cex.explanation.as_deref().unwrap_or_default(),
        @"value 1 (written by op 0) and value 2 (written by op 1) cannot be ordered. Value 1 first: op 1 (p1 write 2) returned at event index 3 but would come after op 2 (p2 read → 1), invoked at event index 4. Value 2 first: op 0 (p0 write 1) returned at event index 1 but would come after op 1 (p1 write 2), invoked at event index 2."
    );
    // Round-trips through JSON (results.json).
    let json = serde_json::to_string(&r).expect("serializes");
    let back: checker::LinearizabilityReport = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, r);
    insta::assert_snapshot!(r.summary(), @"1 key(s) checked, 1 not linearizable");
}

#[rustfmt::skip]
#[test]
fn list_table() {
    let cases: Vec<(&str, Vec<Row>, Verdict)> = vec![
        ("appends then read in order", vec![
            (0, "invoke", "append", json!(1)), (0, "ok", "append", json!(1)),
            (1, "invoke", "append", json!(2)), (1, "ok", "append", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!([1, 2])),
        ], Verdict::Valid),
        ("read misses an acknowledged append", vec![
            (0, "invoke", "append", json!(1)), (0, "ok", "append", json!(1)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!([])),
        ], Verdict::Invalid),
        ("concurrent appends in either order", vec![
            (0, "invoke", "append", json!(1)), (1, "invoke", "append", json!(2)),
            (0, "ok", "append", json!(1)), (1, "ok", "append", json!(2)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!([2, 1])),
        ], Verdict::Valid),
        ("info append visible later", vec![
            (0, "invoke", "append", json!(1)), (0, "info", "append", json!(1)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(null)),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!([1])),
        ], Verdict::Valid),
        ("reads go back in time", vec![
            (0, "invoke", "append", json!(1)), (0, "info", "append", json!(1)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!([1])),
            (3, "invoke", "read", json!(null)), (3, "ok", "read", json!([])),
        ], Verdict::Invalid),
    ];
    for (name, rows, verdict) in cases {
        let r = linearizable::check(&history(&rows), Model::List, &opts());
        assert_eq!(r.verdict, verdict, "{name}: {r:#?}");
    }
}

#[test]
fn unsupported_ops_make_the_key_unknown() {
    let h = history(&[(0, "invoke", "incr", json!(1)), (0, "ok", "incr", json!(1))]);
    let r = linearizable::check(&h, Model::register(), &opts());
    assert_eq!(r.verdict, Verdict::Unknown);
    let reason = r.keys[""].reason.as_deref().unwrap_or_default();
    assert_eq!(
        reason,
        "the register model has no such op (op `incr` by process 0 invoked at event index 0)"
    );
    let bad_cas = history(&[(0, "invoke", "cas", json!(1)), (0, "ok", "cas", json!(1))]);
    let r = linearizable::check(&bad_cas, Model::register(), &opts());
    assert_eq!(r.verdict, Verdict::Unknown);
}

#[test]
fn a_spent_budget_gives_unknown_not_a_hang() {
    let h = RegisterWorkload {
        seed: 3,
        ops: 20_000,
        keys: 1,
        processes: 10,
        info_rate: 0.05,
        ..Default::default()
    }
    .history();
    let o = LinOptions {
        time_budget: Duration::ZERO,
        ..opts()
    };
    let r = linearizable::check(&h, Model::register(), &o);
    assert_eq!(r.verdict, Verdict::Unknown, "{:?}", r.keys["k0"]);
    assert!(
        r.keys["k0"]
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("time budget")
    );
}

#[test]
fn keys_are_checked_independently() {
    let mut h = history(&[
        (0, "invoke", "write", json!(1)),
        (0, "ok", "write", json!(1)),
        (1, "invoke", "read", json!(null)),
        (1, "ok", "read", json!(1)),
    ]);
    // Same ops on another key where the read comes first: invalid there.
    for (i, e) in h.events.iter_mut().enumerate() {
        e.key = Some(if i < 2 { "a" } else { "b" }.into());
    }
    let h = checker::History::from_events(h.events).expect("pairs");
    let r = linearizable::check(&h, Model::register(), &opts());
    assert_eq!(r.keys["a"].verdict, Verdict::Valid);
    assert_eq!(r.keys["b"].verdict, Verdict::Invalid);
    assert_eq!(r.verdict, Verdict::Invalid);
}

/// The version order's explanations name the few ops that break a
/// necessary condition, with the event indices a reader can check.
#[test]
fn explanations_name_the_ops_and_their_event_indices() {
    let explanation = |rows: &[Row]| {
        let r = linearizable::check(&history(rows), Model::register(), &opts());
        assert_eq!(r.keys[""].engine, Engine::VersionOrder);
        let cex = r.keys[""].counterexample.clone().expect("invalid");
        cex.explanation.unwrap_or_default()
    };
    // A read of 1 invoked after the cas that replaced 1 returned.
    insta::assert_snapshot!(explanation(&[
        (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
        (1, "invoke", "cas", json!([1, 2])), (1, "ok", "cas", json!([1, 2])),
        (2, "invoke", "read", json!(null)), (2, "ok", "read", json!(1)),
    ]), @"op 1 (p1 cas 1 → 2) returned at event index 3, before op 2 (p2 read → 1) was invoked at event index 4; yet the version order forced by reads and cas chains puts op 2 (p2 read → 1) first");
    // 5 is read between the cas 1 -> 2 and a read of 2: neither 1's chain
    // nor 5 can come first.
    insta::assert_snapshot!(explanation(&[
        (0, "invoke", "write", json!(1)), (0, "ok", "write", json!(1)),
        (1, "invoke", "cas", json!([1, 2])), (1, "ok", "cas", json!([1, 2])),
        (2, "invoke", "write", json!(5)),
        (3, "invoke", "read", json!(null)), (3, "ok", "read", json!(5)),
        (4, "invoke", "read", json!(null)), (4, "ok", "read", json!(2)),
        (2, "ok", "write", json!(5)),
    ]), @"value 1 (written by op 0, followed by 1 cas) and value 5 (written by op 2) cannot be ordered. Value 1 first: op 3 (p3 read → 5) returned at event index 6 but would come after op 4 (p4 read → 2), invoked at event index 7. Value 5 first: op 0 (p0 write 1) returned at event index 1 but would come after op 3 (p3 read → 5), invoked at event index 5.");
}
