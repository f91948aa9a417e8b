//! The JSONL reader and pairing: formats, line-numbered errors, truncated
//! last lines, unfinished invocations.

use std::io::Cursor;

use checker::{
    Event, EventKind, HistoryError, Outcome, Process, Warning, read_jsonl, read_jsonl_from,
};
use serde_json::json;

const EXAMPLE: &str = r#"{"index":0,"time":1520331,"process":3,"type":"invoke","f":"write","key":"k1","value":7}
{"index":1,"time":2730112,"process":3,"type":"ok","f":"write","key":"k1","value":7}
{"index":2,"time":2800000,"process":4,"type":"invoke","f":"cas","key":"k1","value":[7,8]}
{"index":3,"time":3900000,"process":4,"type":"info","f":"cas","key":"k1","value":[7,8],"error":"timeout"}
{"index":4,"time":4000000,"process":"nemesis","type":"info","f":"start-partition","value":{"id":3,"fault":"partition","nodes":["n1"],"detail":{}}}
{"index":5,"time":4100000,"process":5,"type":"invoke","f":"read","key":"k1","value":null,"node":"n2"}
{"index":6,"time":4200000,"process":5,"type":"ok","f":"read","key":"k1","value":8,"node":"n2","final":true}
"#;

fn read(text: &str) -> Result<(checker::History, Vec<Warning>), HistoryError> {
    read_jsonl_from(Cursor::new(text.as_bytes()), "history.jsonl")
}

fn err(text: &str) -> String {
    read(text).expect_err("should fail").to_string()
}

#[test]
fn reads_and_pairs_the_documented_example() {
    let (h, warnings) = read(EXAMPLE).expect("reads");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(h.events.len(), 7);
    assert_eq!(h.events[4].process, Process::Nemesis);
    assert_eq!(h.nemesis_events().count(), 1);
    assert_eq!(h.ops.len(), 3);
    let (w, cas, r) = (&h.ops[0], &h.ops[1], &h.ops[2]);
    assert_eq!(
        (w.process, w.f.as_str(), w.outcome),
        (3, "write", Outcome::Ok)
    );
    assert_eq!((w.invoke, w.complete), (0, Some(1)));
    assert_eq!((w.call_time, w.return_time), (1_520_331, Some(2_730_112)));
    assert_eq!(cas.outcome, Outcome::Info);
    assert_eq!(cas.input, json!([7, 8]));
    assert_eq!(r.output, json!(8));
    assert_eq!(r.node.as_deref(), Some("n2"));
    assert!(h.events[6].is_final);
    assert_eq!(h.events[3].error.as_deref(), Some("timeout"));
}

#[test]
fn events_serialize_to_exactly_the_documented_lines() {
    let (h, _) = read(EXAMPLE).expect("reads");
    for (line, event) in EXAMPLE.lines().zip(&h.events) {
        assert_eq!(serde_json::to_string(event).expect("serializes"), line);
    }
    let mut e = Event::new(9, 10, Process::Client(1), EventKind::Invoke, "read");
    e.key = Some("k".into());
    assert_eq!(
        serde_json::to_string(&e).expect("serializes"),
        r#"{"index":9,"time":10,"process":1,"type":"invoke","f":"read","key":"k","value":null}"#
    );
}

#[test]
fn unknown_fields_are_ignored_and_integer_keys_read_as_text() {
    let text = r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":12,"trace":{"span":1},"value":null}
{"index":1,"time":2,"process":0,"type":"ok","f":"read","key":12,"value":null,"extra":[1,2]}
"#;
    let (h, _) = read(text).expect("reads");
    assert_eq!(h.ops[0].key.as_deref(), Some("12"));
}

#[test]
fn malformed_lines_are_reported_with_their_line_number() {
    let cases: &[(&str, &str)] = &[
        (
            "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{not json\n",
            "history.jsonl:2: invalid JSON: key must be a string (column 2)",
        ),
        (
            "\n{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\"}\n",
            "history.jsonl:2: invalid event: missing field `f` (column 48)",
        ),
        (
            "{\"index\":0,\"time\":1,\"process\":\"bob\",\"type\":\"invoke\",\"f\":\"read\"}\n",
            "history.jsonl:1: invalid event: invalid value: string \"bob\", expected a non-negative integer or \"nemesis\" (column 35)",
        ),
        (
            "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"started\",\"f\":\"read\"}\n",
            "history.jsonl:1: invalid event: unknown variant `started`, expected one of `invoke`, `ok`, `fail`, `info` (column 48)",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&err(text), want, "input {text:?}");
    }
    let bytes: &[u8] =
        b"{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n\xff\n";
    let e = read_jsonl_from(Cursor::new(bytes), "history.jsonl").expect_err("not utf-8");
    assert_eq!(e.to_string(), "history.jsonl:2: invalid UTF-8");
}

#[test]
fn pairing_errors_name_both_lines() {
    let double = r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"read"}
{"index":1,"time":2,"process":1,"type":"invoke","f":"write","value":1}
{"index":2,"time":3,"process":0,"type":"invoke","f":"write","value":2}
"#;
    assert_eq!(
        err(double),
        "history.jsonl:3: process 0 invokes `write` while its `read` invoked at line 1 is still open"
    );
    let orphan = r#"{"index":0,"time":1,"process":0,"type":"ok","f":"read","value":3}
"#;
    assert_eq!(
        err(orphan),
        "history.jsonl:1: process 0 completes `read` (ok) but has no open invocation"
    );
    let mismatch = r#"{"index":0,"time":1,"process":0,"type":"invoke","f":"read","key":"a"}
{"index":1,"time":2,"process":0,"type":"ok","f":"write","key":"a"}
"#;
    assert_eq!(
        err(mismatch),
        "history.jsonl:2: process 0 completes `write` on key Some(\"a\") but its invocation at line 1 is `read` on key Some(\"a\")"
    );
}

#[test]
fn a_cut_last_line_is_dropped_with_a_warning() {
    let cut = &EXAMPLE[..EXAMPLE.len() - 20];
    let (h, warnings) = read(cut).expect("reads");
    assert_eq!(h.events.len(), 6);
    assert_eq!(
        warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "history.jsonl:7: last line is incomplete (writer cut short?) and was ignored",
            "1 invocation(s) never completed (first at line 6); they count as info",
        ]
    );
    // The read whose completion was cut counts as info.
    assert_eq!(h.ops[2].outcome, Outcome::Info);
    assert_eq!(h.ops[2].complete, None);
    assert_eq!(h.ops[2].return_time, None);
}

#[test]
fn a_malformed_last_line_with_its_newline_is_an_error() {
    let text = format!("{}{{\"index\":7,\n", EXAMPLE);
    assert!(err(&text).starts_with("history.jsonl:8: invalid JSON"));
}

#[test]
fn reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.jsonl");
    std::fs::write(&path, EXAMPLE).expect("write");
    let (h, _) = read_jsonl(&path).expect("reads");
    assert_eq!(h.ops.len(), 3);
    let missing = dir.path().join("nope.jsonl");
    let e = read_jsonl(&missing).expect_err("missing");
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{e}"
    );
}

#[test]
fn from_events_errors_name_event_positions() {
    let rows = [
        (0, "invoke", "read", json!(null)),
        (0, "invoke", "read", json!(null)),
    ];
    let e = checker::History::from_events(crate::common::events(&rows)).expect_err("double");
    assert_eq!(
        e.to_string(),
        "event 1: process 0 invokes `read` while its `read` invoked at event 0 is still open"
    );
}
