//! Transactions end to end: list-append runs against target-node (valid
//! when `/txn` is atomic, invalid with a named, explained anomaly under
//! `--txn-mode read-then-append`), and `harness check` on transactional
//! histories it recognises by itself, with `--model` and
//! `--consistency-model`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use checker::txn::{AnomalyType, generate::TxnGen};
use serde_json::Value;

use crate::support::{harness, run_plan, skipped_for_privileges, text};

/// A 10 s list-append plan with kills, pauses and partitions.
fn list_append_plan(dir: &Path, name: &str, args: &str, keys: usize) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let yaml = format!(
        "name: {name}\n\
         cluster: {{ nodes: 3, args: [{args}] }}\n\
         workload: {{ kind: list-append, keys: {keys}, ops-per-key: 60, concurrency: 6, rate: 120, timeout: 1s }}\n\
         duration: 10s\n\
         faults:\n  every: 2s\n  pick:\n    - {{ fault: kill, target: leader, restart-after: 1s }}\n    - {{ fault: pause, target: one, for: 2s }}\n    - {{ fault: partition, shape: isolate-leader, for: 2s }}\n\
         final: {{ settle: 1s }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn results(runs: &Path) -> Value {
    let text = std::fs::read_to_string(runs.join("latest/results.json")).expect("results.json");
    serde_json::from_str(&text).expect("results.json parses")
}

#[test]
fn list_append_is_valid_on_target_node_and_invalid_when_transactions_are_not_atomic() {
    let test = "list_append_is_valid_on_target_node_and_invalid_when_transactions_are_not_atomic";
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");

    let atomic = list_append_plan(dir.path(), "txn-atomic", "", 6);
    let output = run_plan(&atomic, &runs, &[]);
    if skipped_for_privileges(&output, test) {
        return;
    }
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let txn = &results(&runs)["checkers"]["txn"];
    assert_eq!(txn["details"]["consistency_model"], "strict-serializable");
    assert!(
        txn["details"]["txns"]["ok"].as_u64().unwrap_or(0) > 300,
        "transactions committed: {txn}"
    );
    let history = std::fs::read_to_string(runs.join("latest/history.jsonl")).unwrap();
    assert!(
        history.contains(r#""final":true"#) && history.contains(r#""f":"txn""#),
        "final reads are transactions"
    );

    let torn = list_append_plan(
        dir.path(),
        "txn-torn",
        "\"--txn-mode\", \"read-then-append\"",
        3,
    );
    let output = run_plan(&torn, &runs, &[]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("e.g. "),
        "an anomaly is explained: {stdout}"
    );
    let details = &results(&runs)["checkers"]["txn"]["details"];
    let ruled_out = details["ruled_out_by"].as_array().expect("a list");
    assert!(!ruled_out.is_empty(), "{details}");
    let anomaly = &details["anomalies"][0];
    assert!(
        anomaly["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("T1")),
        "{anomaly}"
    );
    let report = std::fs::read_to_string(runs.join("latest/report.html")).unwrap();
    assert!(
        report.contains(r#"<svg class="txn-cycle""#),
        "a cycle is drawn"
    );
}

/// A generated list-append history with `inject` (a stale read is
/// serializable but not strictly so), as JSONL and as Jepsen EDN.
fn histories(dir: &Path, inject: AnomalyType) -> (PathBuf, PathBuf) {
    let events = TxnGen {
        seed: 11,
        txns: 300,
        inject: Some(inject),
        ..TxnGen::default()
    }
    .events();
    let jsonl = dir.join("txn.jsonl");
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    let edn = dir.join("txn.edn");
    let forms: Vec<String> = events
        .iter()
        .map(|e| {
            let json = serde_json::to_value(e).unwrap();
            format!(
                "{{:index {} :time {} :process {} :type :{} :f :{} :value {}}}",
                json["index"],
                json["time"],
                json["process"],
                json["type"].as_str().unwrap(),
                json["f"].as_str().unwrap(),
                edn_of(&json["value"])
            )
        })
        .collect();
    std::fs::write(&edn, forms.join("\n") + "\n").unwrap();
    (jsonl, edn)
}

/// JSON as EDN: micro-op names become keywords, as Elle writes them.
fn edn_of(value: &Value) -> String {
    match value {
        Value::Null => "nil".to_owned(),
        Value::String(s) if s == "append" || s == "r" || s == "w" => format!(":{s}"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(edn_of).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

fn check(path: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(harness())
        .arg("check")
        .arg(path)
        .args(extra)
        .output()
        .expect("harness starts");
    let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
    (output.status.code(), said)
}

#[test]
fn check_recognises_transactional_histories_and_judges_the_chosen_model() {
    let dir = tempfile::tempdir().unwrap();
    let (jsonl, edn) = histories(dir.path(), AnomalyType::GSingleRealtime);

    let (code, said) = check(&jsonl, &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("txn ") && said.contains("strict-serializable: invalid"),
        "detected as transactional, judged strict-serializable: {said}"
    );
    assert!(said.contains("G-single-realtime"), "{said}");
    let (code, said) = check(&jsonl, &["--consistency-model", "serializable"]);
    assert_eq!(code, Some(0), "a stale read is serializable: {said}");

    let (code, said) = check(&edn, &[]);
    assert_eq!(code, Some(0), "imports are judged serializable: {said}");
    assert!(said.contains("serializable: valid"), "{said}");
    let (code, said) = check(&edn, &["--consistency-model", "strict-serializable"]);
    assert_eq!(code, Some(1), "{said}");

    let (code, said) = check(&jsonl, &["--model", "list-append"]);
    assert_eq!(code, Some(1), "{said}");
    let (code, said) = check(&jsonl, &["--model", "rw-register"]);
    assert_eq!(
        code,
        Some(2),
        "appends read as registers: unknown, with the problem named: {said}"
    );
    let (code, said) = check(&jsonl, &["--model", "queue"]);
    assert_eq!(code, Some(3), "{said}");
    assert!(said.contains("rw-register"), "{said}");
    let (code, said) = check(&jsonl, &["--consistency-model", "sequential"]);
    assert_eq!(code, Some(2), "clap refuses an unknown model: {said}");
}
