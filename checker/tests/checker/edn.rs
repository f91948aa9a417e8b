//! Jepsen / Knossos EDN import.

use std::io::Cursor;

use checker::{
    EdnOptions, Independent, LinOptions, Model, Outcome, Process, Verdict, linearizable, read_edn,
    read_edn_from, read_edn_with,
};
use serde_json::json;

fn read(text: &str) -> Result<(checker::History, Vec<checker::Warning>), checker::HistoryError> {
    read_edn_from(Cursor::new(text.as_bytes()), "history.edn")
}

#[test]
fn knossos_vector_of_maps() {
    let text = r#"[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :ok, :f :read, :value 1}
 {:process 2, :type :invoke, :f :cas, :value [1 2]}
 {:process 2, :type :info, :f :cas, :value [1 2]}]"#;
    let (h, warnings) = read(text).expect("reads");
    assert!(warnings.is_empty());
    assert_eq!(h.ops.len(), 3);
    assert_eq!(h.ops[2].input, json!([1, 2]));
    assert_eq!(h.ops[2].outcome, Outcome::Info);
    assert_eq!(h.ops[0].key, None);
    assert_eq!(h.events[3].index, 3, "index defaults to position");
    let r = linearizable::check(&h, Model::register(), &LinOptions::default());
    assert_eq!(r.verdict, Verdict::Valid);
}

#[test]
fn jepsen_history_edn_with_records_nemesis_and_independent_keys() {
    let text = r#"; a Jepsen history.edn: one op per line
#jepsen.history.Op{:index 0, :time 100, :type :invoke, :process 0, :f :write, :value [3 5]}
#jepsen.history.Op{:index 1, :time 200, :type :info, :process :nemesis, :f :start, :value {:n1 #{:n2 :n3}}}
#jepsen.history.Op{:index 2, :time 300, :type :ok, :process 0, :f :write, :value [3 5]}
{:index 3, :time 400, :type :invoke, :process 1, :f :read, :value [3 nil]}
{:index 4, :time 500, :type :ok, :process 1, :f :read, :value [3 4], :error "boom" #_ :discarded}
"#;
    let (h, _) = read(text).expect("reads");
    assert_eq!(h.events.len(), 5);
    assert_eq!(h.events[1].process, Process::Nemesis);
    assert_eq!(h.events[1].value, json!({"n1": ["n2", "n3"]}));
    assert_eq!(h.ops[0].key.as_deref(), Some("3"));
    assert_eq!(h.ops[0].input, json!(5));
    assert_eq!(h.ops[1].output, json!(4));
    assert_eq!(h.events[4].time, 500);
    assert_eq!(h.events[4].error.as_deref(), Some("boom"));
    let r = linearizable::check(&h, Model::register(), &LinOptions::default());
    assert_eq!(r.verdict, Verdict::Invalid, "read 4 after write 5 finished");
    assert!(r.keys.contains_key("3"));
}

#[test]
fn independent_detection_can_be_overridden() {
    let text = "[{:process 0 :type :invoke :f :cas :value [1 2]} {:process 0 :type :ok :f :cas :value [1 2]}]";
    let (auto, _) = read(text).expect("reads");
    assert_eq!(
        auto.ops[0].key.as_deref(),
        Some("1"),
        "all 2-tuples look independent"
    );
    let opts = EdnOptions {
        independent: Independent::No,
        ..EdnOptions::default()
    };
    let (plain, _) = read_edn_with(Cursor::new(text), "h.edn", &opts).expect("reads");
    assert_eq!(plain.ops[0].key, None);
    assert_eq!(plain.ops[0].input, json!([1, 2]));
}

#[test]
fn edn_values_map_to_json() {
    let text = r#"[{:process 0 :type :invoke :f "append" :value {:s "a\"b\n" :c \x :k :kw :f 1.5 :big 18446744073709551615 :n -3N :l (1 2) :ch \newline}}]"#;
    let (h, _) = read(text).expect("reads");
    assert_eq!(h.events[0].f, "append");
    assert_eq!(
        h.events[0].value,
        json!({"s": "a\"b\n", "c": "x", "k": "kw", "f": 1.5, "big": 18446744073709551615u64, "n": -3, "l": [1, 2], "ch": "\n"})
    );
}

#[test]
fn errors_name_lines() {
    let cases: &[(&str, &str)] = &[
        (
            "{:process 0 :type :invoke :f :read}\n{:process 0 :type :ok :f :read\n",
            "history.edn:2: invalid EDN: unexpected end of input: the form opened on line 2 is not closed",
        ),
        (
            "[{:process 0 :type :invoke :f :read}\n 5]",
            "history.edn:2: invalid event: expected a map, found a number",
        ),
        (
            "{:process 0 :type :invoke}\n",
            "history.edn:1: invalid event: missing :f",
        ),
        (
            "{:process :bob :type :invoke :f :read}\n",
            "history.edn:1: invalid event: invalid :process :bob",
        ),
        (
            "{:process 0 :type :begun :f :read}\n",
            "history.edn:1: invalid event: invalid :type :begun",
        ),
        (
            "{:a}",
            "history.edn:1: invalid EDN: a map needs an even number of forms",
        ),
        ("]", "history.edn:1: invalid EDN: unexpected `]`"),
        (
            "\n\n{:process 0 :type :invoke :f :read}\n{:process 0 :type :invoke :f :read}",
            "history.edn:4: process 0 invokes `read` while its `read` invoked at line 3 is still open",
        ),
        (
            "\"\\q\"",
            "history.edn:1: invalid EDN: invalid escape `\\q`",
        ),
    ];
    for (text, want) in cases {
        let e = read(text).expect_err(text);
        assert_eq!(&e.to_string(), want, "input {text:?}");
    }
    let e = read_edn_from(Cursor::new(&b"\n\xff"[..]), "history.edn").expect_err("utf-8");
    assert_eq!(e.to_string(), "history.edn:2: invalid UTF-8");
}

#[test]
fn deep_nesting_and_long_whitespace_do_not_overflow() {
    let deep = "[".repeat(200_000);
    let e = read(&deep).expect_err("too deep");
    assert!(e.to_string().contains("nesting deeper than"), "{e}");
    let spaces = format!("[{}]", " ".repeat(1_000_000));
    let (h, _) = read(&spaces).expect("empty history");
    assert!(h.events.is_empty());
}

#[test]
fn reads_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.edn");
    std::fs::write(&path, "[{:process 0 :type :invoke :f :read}]").expect("write");
    let (h, warnings) = read_edn(&path).expect("reads");
    assert_eq!(h.ops[0].outcome, Outcome::Info);
    assert_eq!(warnings.len(), 1, "unfinished invocation");
}

/// knossos' cas-register model reads an `:ok :read` of `nil` as "value
/// unknown"; the import does the same by default, so Jepsen's verdicts are
/// reproduced, and reads them literally (the key is absent) on request.
#[test]
fn nil_reads_follow_knossos_unless_asked_to_read_them_literally() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edn");
    let check = |file: &str, nil_reads: checker::NilReads| {
        let text = std::fs::read_to_string(fixtures.join(file)).expect("fixture");
        let options = EdnOptions {
            nil_reads,
            ..EdnOptions::default()
        };
        let (h, warnings) = read_edn_with(Cursor::new(text.as_bytes()), file, &options).unwrap();
        let report = linearizable::check(&h, Model::register(), &LinOptions::default());
        (report.verdict, warnings)
    };
    use checker::NilReads::{Absent, Unknown};
    let (verdict, warnings) = check("cas-register-nil-reads.edn", Unknown);
    assert_eq!(verdict, Verdict::Valid, "knossos judges it valid");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].to_string();
    assert!(
        warning.starts_with("3 :ok :read(s) of nil (first at line 7)"),
        "{warning}"
    );
    assert_eq!(
        check("cas-register-nil-reads.edn", Absent).0,
        Verdict::Invalid,
        "read literally, the register was not absent"
    );
    assert_eq!(
        check("cas-register-nil-reads-stale.edn", Unknown).0,
        Verdict::Invalid,
        "a real stale read is still found"
    );
    let (default_read, _) = read_edn(fixtures.join("cas-register-nil-reads.edn")).unwrap();
    let default = linearizable::check(&default_read, Model::register(), &LinOptions::default());
    assert_eq!(default.verdict, Verdict::Valid, "the default is knossos'");
}
