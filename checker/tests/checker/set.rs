//! The set checker, table-style.

use checker::{History, Verdict, set};
use serde_json::{Value, json};

use crate::common::events;

type Row = (u64, &'static str, &'static str, Value);

/// Builds a history; rows whose f is `final-read` become final reads.
fn history(rows: &[Row]) -> History {
    let rows: Vec<Row> = rows.to_vec();
    let mut evs = events(
        &rows
            .iter()
            .map(|(p, k, f, v)| {
                (
                    *p,
                    *k,
                    if *f == "final-read" { "read" } else { *f },
                    v.clone(),
                )
            })
            .collect::<Vec<_>>(),
    );
    for (e, row) in evs.iter_mut().zip(&rows) {
        e.is_final = row.2 == "final-read";
    }
    History::from_events(evs).expect("pairs")
}

#[test]
fn verdicts_and_findings() {
    // (name, rows, verdict, lost, unexpected, recovered, stale reads)
    type Case = (
        &'static str,
        Vec<Row>,
        Verdict,
        Vec<Value>,
        Vec<Value>,
        Vec<Value>,
        usize,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("all acknowledged appends present", vec![
            (0, "invoke", "append", json!(1)), (0, "ok", "append", json!(1)),
            (1, "invoke", "append", json!(2)), (1, "ok", "append", json!(2)),
            (2, "invoke", "final-read", json!(null)), (2, "ok", "final-read", json!([2, 1])),
        ], Verdict::Valid, vec![], vec![], vec![], 0),
        ("lost acknowledged append", vec![
            (0, "invoke", "append", json!(1)), (0, "ok", "append", json!(1)),
            (1, "invoke", "append", json!(2)), (1, "ok", "append", json!(2)),
            (2, "invoke", "final-read", json!(null)), (2, "ok", "final-read", json!([1])),
        ], Verdict::Invalid, vec![json!(2)], vec![], vec![], 0),
        ("unexpected element", vec![
            (0, "invoke", "append", json!(1)), (0, "ok", "append", json!(1)),
            (2, "invoke", "final-read", json!(null)), (2, "ok", "final-read", json!([1, 9])),
        ], Verdict::Invalid, vec![], vec![json!(9)], vec![], 0),
        ("element of a failed append is unexpected", vec![
            (0, "invoke", "append", json!(1)), (0, "fail", "append", json!(1)),
            (2, "invoke", "final-read", json!(null)), (2, "ok", "final-read", json!([1])),
        ], Verdict::Invalid, vec![], vec![json!(1)], vec![], 0),
        ("info append recovered, another info append absent", vec![
            (0, "invoke", "append", json!(1)), (0, "info", "append", json!(1)),
            (1, "invoke", "append", json!(2)), (1, "info", "append", json!(2)),
            (2, "invoke", "final-read", json!(null)), (2, "ok", "final-read", json!([1])),
        ], Verdict::Valid, vec![], vec![], vec![json!(1)], 0),
        ("info append seen by a read, then missing from the final read", vec![
            (0, "invoke", "append", json!(1)), (0, "info", "append", json!(1)),
            (1, "invoke", "read", json!(null)), (1, "ok", "read", json!([1])),
            (2, "invoke", "final-read", json!(null)), (2, "ok", "final-read", json!([])),
        ], Verdict::Invalid, vec![json!(1)], vec![], vec![], 0),
        ("stale final read on one node", vec![
            (0, "invoke", "append", json!(1)), (0, "ok", "append", json!(1)),
            (2, "invoke", "final-read", json!(null)), (2, "ok", "final-read", json!([1])),
            (3, "invoke", "final-read", json!(null)), (3, "ok", "final-read", json!([])),
        ], Verdict::Invalid, vec![], vec![], vec![], 1),
        ("no final read", vec![
            (0, "invoke", "append", json!(1)), (0, "ok", "append", json!(1)),
            (2, "invoke", "read", json!(null)), (2, "ok", "read", json!([1])),
        ], Verdict::Unknown, vec![], vec![], vec![], 0),
    ];
    for (name, rows, verdict, lost, unexpected, recovered, stale) in cases {
        let r = set::check(&history(&rows));
        assert_eq!(r.verdict, verdict, "{name}: {r:#?}");
        let els =
            |v: &[checker::set::Element]| v.iter().map(|e| e.element.clone()).collect::<Vec<_>>();
        assert_eq!(els(&r.lost), lost, "{name}");
        assert_eq!(els(&r.unexpected), unexpected, "{name}");
        assert_eq!(els(&r.recovered), recovered, "{name}");
        assert_eq!(r.stale_final_reads.len(), stale, "{name}");
    }
}

#[test]
fn duplicates_and_counts() {
    let r = set::check(&history(&[
        (0, "invoke", "append", json!("a")),
        (0, "ok", "append", json!("a")),
        (1, "invoke", "append", json!("b")),
        (1, "info", "append", json!("b")),
        (2, "invoke", "final-read", json!(null)),
        (2, "ok", "final-read", json!(["a", "a"])),
    ]));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(r.duplicated.len(), 1);
    assert_eq!((r.duplicated[0].count, r.duplicated[0].op), (2, 2));
    assert_eq!((r.attempted, r.acknowledged, r.final_reads), (2, 1, 1));
    let json = serde_json::to_value(&r).expect("serializes");
    assert_eq!(json["duplicated"][0]["element"], json!("a"));
}
