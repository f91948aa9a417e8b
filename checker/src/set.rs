//! The set / lost-write checker for the list workload.
//!
//! Per key, from `append` ops and `ok` reads (final reads are marked
//! `"final": true`):
//!
//! | finding | meaning | verdict |
//! |---|---|---|
//! | lost | element known to exist (its append acknowledged, or returned by a successful read) missing from every final read | invalid |
//! | unexpected | element read that no append attempted, or whose appends all failed | invalid |
//! | duplicated | element appearing more than once in one read | invalid |
//! | stale final read | final read missing an element known present before it began (acknowledged, or seen by a read that had returned) that another final read has | invalid |
//! | recovered | `info` append present in the final reads | fine |
//!
//! No final read for a key that has appends: `unknown`.
//!
//! Invariants: findings are sorted (keys in `BTreeMap` order, elements by
//! their JSON text), so reports are deterministic.

use std::{
    any::Any,
    collections::{BTreeMap, BTreeSet},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    checker::{Checker, Report, to_json},
    history::{History, Outcome},
    results::Verdict,
};

/// The checker's name in `results.json`.
pub const NAME: &str = "set";

/// Lost, unexpected, duplicated and stale elements of the set workload.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetChecker;

impl Checker for SetChecker {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, history: &History) -> Box<dyn Report> {
        Box::new(check(history))
    }
}

impl Report for SetReport {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    fn summary(&self) -> String {
        let mut s = format!(
            "{} acknowledged of {} appends",
            self.acknowledged, self.attempted
        );
        for (count, what) in [
            (self.lost.len(), "lost"),
            (self.unexpected.len(), "unexpected"),
            (self.duplicated.len(), "duplicated"),
            (self.stale_final_reads.len(), "stale final reads"),
            (self.recovered.len(), "recovered"),
        ] {
            if count > 0 {
                s += &format!(", {count} {what}");
            }
        }
        for reason in &self.reasons {
            s += &format!("; {reason}");
        }
        s
    }

    fn example(&self) -> Option<String> {
        let lost = self.lost.first()?;
        Some(format!(
            "key {}: element {} was acknowledged and is missing from every final read",
            lost.key, lost.element
        ))
    }

    fn to_json(&self) -> Value {
        to_json(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What the set checker found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SetReport {
    /// Invalid if anything was lost, unexpected, duplicated or read stale;
    /// unknown if a key with appends has no final read.
    pub verdict: Verdict,
    /// Why the verdict is unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Distinct elements whose append was attempted.
    pub attempted: usize,
    /// Distinct elements with an `ok` append.
    pub acknowledged: usize,
    /// Final reads seen.
    pub final_reads: usize,
    /// Elements known to exist (acknowledged, or returned by a read)
    /// missing from every final read.
    pub lost: Vec<Element>,
    /// Elements read that were never (successfully or indefinitely)
    /// appended.
    pub unexpected: Vec<Element>,
    /// `info` appends that are present in the final reads.
    pub recovered: Vec<Element>,
    /// Elements that appear more than once in a read.
    pub duplicated: Vec<Duplicate>,
    /// Final reads that miss elements another final read has and that were
    /// known present before they began.
    pub stale_final_reads: Vec<StaleRead>,
}

/// An element of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Element {
    /// The key (`""` without one).
    pub key: String,
    /// The element.
    pub element: Value,
}

/// An element seen more than once by one read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    /// The key.
    pub key: String,
    /// The element.
    pub element: Value,
    /// How often the read saw it.
    pub count: usize,
    /// The read (index into [`History::ops`]).
    pub op: usize,
}

/// A final read that lagged behind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaleRead {
    /// The key.
    pub key: String,
    /// The read (index into [`History::ops`]).
    pub op: usize,
    /// Elements it missed.
    pub missing: Vec<Value>,
}

#[derive(Default)]
struct KeyState {
    /// element text -> (value, ok ack position, any info, any fail-only)
    appends: BTreeMap<String, Appended>,
    /// ok reads: (op index, invoke pos, complete pos, elements, final)
    reads: Vec<(usize, usize, usize, Vec<Value>, bool)>,
}

struct Appended {
    value: Value,
    first_ack: Option<usize>,
    info: bool,
    failed_only: bool,
}

/// Checks the list (set) workload.
pub fn check(history: &History) -> SetReport {
    let mut keys: BTreeMap<String, KeyState> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        let key = keys.entry(op.key.clone().unwrap_or_default()).or_default();
        match op.f.as_str() {
            "append" => {
                let a = key
                    .appends
                    .entry(op.input.to_string())
                    .or_insert_with(|| Appended {
                        value: op.input.clone(),
                        first_ack: None,
                        info: false,
                        failed_only: true,
                    });
                match op.outcome {
                    Outcome::Ok => {
                        let at = op.complete.unwrap_or(op.invoke);
                        a.first_ack = Some(a.first_ack.map_or(at, |f| f.min(at)));
                        a.failed_only = false;
                    }
                    Outcome::Info => {
                        a.info = true;
                        a.failed_only = false;
                    }
                    Outcome::Fail => {}
                }
            }
            "read" if op.outcome == Outcome::Ok => {
                let elements = match &op.output {
                    Value::Array(a) => a.clone(),
                    _ => Vec::new(),
                };
                let is_final = history.events[op.invoke].is_final
                    || op.complete.is_some_and(|c| history.events[c].is_final);
                key.reads.push((
                    i,
                    op.invoke,
                    op.complete.unwrap_or(op.invoke),
                    elements,
                    is_final,
                ));
            }
            _ => {}
        }
    }
    let mut report = SetReport::default();
    for (name, key) in &keys {
        check_key(name, key, &mut report);
    }
    let invalid = !(report.lost.is_empty()
        && report.unexpected.is_empty()
        && report.duplicated.is_empty()
        && report.stale_final_reads.is_empty());
    report.verdict = if invalid {
        Verdict::Invalid
    } else if !report.reasons.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    report
}

fn check_key(name: &str, key: &KeyState, report: &mut SetReport) {
    let element = |v: &Value| Element {
        key: name.to_owned(),
        element: v.clone(),
    };
    report.attempted += key.appends.len();
    report.acknowledged += key
        .appends
        .values()
        .filter(|a| a.first_ack.is_some())
        .count();
    // Unexpected and duplicated: any read.
    let mut unexpected = BTreeSet::new();
    for (op, _, _, elements, _) in &key.reads {
        let mut counts: BTreeMap<String, (usize, &Value)> = BTreeMap::new();
        for e in elements {
            let text = e.to_string();
            match key.appends.get(&text) {
                Some(a) if !a.failed_only => {}
                _ => {
                    unexpected.insert(text.clone());
                }
            }
            counts.entry(text).or_insert((0, e)).0 += 1;
        }
        for (count, e) in counts.into_values().filter(|(c, _)| *c > 1) {
            report.duplicated.push(Duplicate {
                key: name.to_owned(),
                element: e.clone(),
                count,
                op: *op,
            });
        }
    }
    for text in unexpected {
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        report.unexpected.push(element(&value));
    }
    let finals: Vec<_> = key.reads.iter().filter(|r| r.4).collect();
    report.final_reads += finals.len();
    if finals.is_empty() {
        if !key.appends.is_empty() {
            report
                .reasons
                .push(format!("key {name:?} has appends but no final read"));
        }
        return;
    }
    let present: BTreeSet<String> = finals
        .iter()
        .flat_map(|r| r.3.iter().map(Value::to_string))
        .collect();
    // An element is known to exist once its append was acknowledged, or
    // once any successful read returned it (an `info` append that took
    // effect): missing from every final read, it was lost.
    let seen: BTreeSet<String> = key
        .reads
        .iter()
        .flat_map(|r| r.3.iter().map(Value::to_string))
        .collect();
    for (text, a) in &key.appends {
        let known = a.first_ack.is_some() || seen.contains(text);
        if known && !present.contains(text) {
            report.lost.push(element(&a.value));
        }
        if a.first_ack.is_none() && a.info && present.contains(text) {
            report.recovered.push(element(&a.value));
        }
    }
    // Stale final reads: missing an element present in another final read
    // and known present before this read began.
    for (op, invoke, _, elements, _) in &finals {
        let has: BTreeSet<String> = elements.iter().map(Value::to_string).collect();
        let mut missing = BTreeSet::new();
        for text in present.difference(&has) {
            let acked_before = key
                .appends
                .get(text)
                .and_then(|a| a.first_ack)
                .is_some_and(|at| at < *invoke);
            let seen_before = key.reads.iter().any(|(_, _, done, els, _)| {
                done < invoke && els.iter().any(|e| &e.to_string() == text)
            });
            if acked_before || seen_before {
                missing.insert(text.clone());
            }
        }
        if !missing.is_empty() {
            report.stale_final_reads.push(StaleRead {
                key: name.to_owned(),
                op: *op,
                missing: missing
                    .into_iter()
                    .map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
                    .collect(),
            });
        }
    }
}
