//! Turning findings into [`Anomaly`] records people can follow: the
//! transactions involved with their micro-ops, and for cycles, each edge
//! with the reason it exists.
//!
//! Workload analyses justify their own data edges ([`EdgeExplainer`]);
//! process and real-time edges are justified here. [`Findings`] counts
//! every case and keeps only the first examples per type, building an
//! example only when it will be kept (most cases are never rendered).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::txn::{
    anomaly::AnomalyType,
    graph::{Rel, rel},
    history::TxnHistory,
    intern::Val,
    report::{Anomaly, AnomalyDetail, CycleStep, TxnRef},
};

/// Every case counted, the first few per type kept.
#[derive(Debug)]
pub struct Findings {
    max: usize,
    /// Cases per type.
    pub counts: BTreeMap<AnomalyType, usize>,
    /// Kept examples, in the order found.
    pub examples: Vec<Anomaly>,
}

impl Findings {
    /// Keeps up to `max` examples per type.
    pub fn new(max: usize) -> Findings {
        Findings {
            max,
            counts: BTreeMap::new(),
            examples: Vec::new(),
        }
    }

    /// Counts a case of `kind`; calls `make` only if the example is kept.
    pub fn add(&mut self, kind: AnomalyType, make: impl FnOnce() -> Anomaly) {
        let count = self.counts.entry(kind).or_insert(0);
        *count += 1;
        if *count <= self.max {
            self.examples.push(make());
        }
    }

    /// Whether any case of `kind` was found.
    pub fn has(&self, kind: AnomalyType) -> bool {
        self.counts.contains_key(&kind)
    }
}

/// Why one data edge exists.
#[derive(Debug, Clone, Default)]
pub struct Justification {
    /// The key.
    pub key: Option<Value>,
    /// Micro-op index in the source transaction.
    pub from_mop: Option<usize>,
    /// Micro-op index in the target transaction.
    pub to_mop: Option<usize>,
    /// The sentence, without the trailing "so A rel-> B".
    pub text: String,
}

/// Justifies data edges between transactions (indices into
/// `TxnHistory::txns`).
pub trait EdgeExplainer {
    /// Why `a` has a `rel` edge to `b`; `names` are their names in the
    /// anomaly. `None` if the analysis knows no reason (never for an edge it
    /// added).
    fn explain(&self, a: usize, b: usize, rel: u8, names: (&str, &str)) -> Option<Justification>;
}

/// References to `txns` (indices into `TxnHistory::txns`) named `T1, T2...`.
pub fn txn_refs(h: &TxnHistory, txns: &[usize]) -> Vec<TxnRef> {
    txns.iter()
        .enumerate()
        .map(|(i, &t)| {
            let txn = &h.txns()[t];
            TxnRef {
                name: format!("T{}", i + 1),
                op: txn.op,
                process: txn.process,
                outcome: txn.outcome,
                invoke: txn.invoke,
                complete: txn.complete,
                mops: h.txn_json(txn),
            }
        })
        .collect()
}

/// `T1 (op 12)`-style label.
pub fn label(h: &TxnHistory, name: &str, t: usize) -> String {
    format!("{name} (op {})", h.txns()[t].op)
}

/// A list for sentences: `[1 2 3]`, long ones cut in the middle.
pub fn list_text(h: &TxnHistory, elements: &[Val]) -> String {
    let show = |e: &Val| atom_text(&h.interner().value_json(*e));
    if elements.len() <= 8 {
        let parts: Vec<String> = elements.iter().map(show).collect();
        format!("[{}]", parts.join(" "))
    } else {
        let head: Vec<String> = elements[..3].iter().map(show).collect();
        let tail: Vec<String> = elements[elements.len() - 3..].iter().map(show).collect();
        format!(
            "[{} ...{} more... {}]",
            head.join(" "),
            elements.len() - 6,
            tail.join(" ")
        )
    }
}

/// An atom for sentences: numbers bare, strings quoted, null as `nil`.
pub fn atom_text(v: &Value) -> String {
    match v {
        Value::Null => "nil".to_owned(),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// A found cycle: `steps[i] = (txn, rel bit)` is an edge from `txn` to the
/// next step's txn (the last wraps around).
#[derive(Debug, Clone)]
pub struct CycleFound {
    /// Its type.
    pub kind: AnomalyType,
    /// Edges as (source txn index, relation bit).
    pub steps: Vec<(usize, u8)>,
    /// Whether it is provably a shortest cycle of its type in its component.
    pub shortest: bool,
}

/// Renders a cycle as an [`Anomaly`].
pub fn cycle_anomaly(h: &TxnHistory, explainer: &dyn EdgeExplainer, cycle: &CycleFound) -> Anomaly {
    let txns: Vec<usize> = cycle.steps.iter().map(|&(t, _)| t).collect();
    let refs = txn_refs(h, &txns);
    let n = txns.len();
    let mut steps = Vec::with_capacity(n);
    for (i, &(a, bit)) in cycle.steps.iter().enumerate() {
        let j = (i + 1) % n;
        let b = txns[j];
        let names = (refs[i].name.as_str(), refs[j].name.as_str());
        let r = Rel::of_bit(bit).unwrap_or(Rel::Ww);
        let just = match bit {
            rel::REALTIME => Some(realtime_text(h, a, b, names)),
            rel::PROCESS => Some(process_text(h, a, b, names)),
            _ => explainer.explain(a, b, bit, names),
        }
        .unwrap_or_else(|| Justification {
            text: format!("{} precedes {}", names.0, names.1),
            ..Justification::default()
        });
        steps.push(CycleStep {
            from: i,
            to: j,
            rel: r,
            key: just.key,
            from_mop: just.from_mop,
            to_mop: just.to_mop,
            explanation: format!("{}, so {} {}-> {}", just.text, names.0, r.name(), names.1),
        });
    }
    let lets: Vec<String> = refs
        .iter()
        .zip(&txns)
        .map(|(r, &t)| format!("{} = op {} {}", r.name, h.txns()[t].op, r.mops))
        .collect();
    let path: Vec<&str> = refs
        .iter()
        .map(|r| r.name.as_str())
        .chain(refs.first().map(|r| r.name.as_str()))
        .collect();
    let because: Vec<&str> = steps.iter().map(|s| s.explanation.as_str()).collect();
    let explanation = format!(
        "{}: {}. Let {}. Then {}. The cycle {} is {}.",
        cycle.kind,
        cycle.kind.description(),
        lets.join("; "),
        because.join("; "),
        path.join(" -> "),
        cycle_shape(cycle)
    );
    Anomaly {
        kind: cycle.kind,
        explanation,
        txns: refs,
        detail: AnomalyDetail::Cycle {
            steps,
            shortest: cycle.shortest,
        },
    }
}

/// "one rw edge and 2 other edges"-style shape of a cycle.
fn cycle_shape(cycle: &CycleFound) -> String {
    let mut counts: BTreeMap<Rel, usize> = BTreeMap::new();
    for &(_, bit) in &cycle.steps {
        if let Some(r) = Rel::of_bit(bit) {
            *counts.entry(r).or_insert(0) += 1;
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(r, n)| format!("{n} {}", r.name()))
        .collect();
    format!("made of {} edge(s)", parts.join(", "))
}

fn realtime_text(h: &TxnHistory, a: usize, b: usize, names: (&str, &str)) -> Justification {
    let (ta, tb) = (&h.txns()[a], &h.txns()[b]);
    let done = ta
        .complete
        .map_or_else(|| "?".to_owned(), |c| c.to_string());
    Justification {
        text: format!(
            "{} completed (event {done}) before {} was invoked (event {})",
            names.0, names.1, tb.invoke
        ),
        ..Justification::default()
    }
}

fn process_text(h: &TxnHistory, a: usize, b: usize, names: (&str, &str)) -> Justification {
    let _ = b;
    Justification {
        text: format!(
            "{} and then {} ran on process {}",
            names.0,
            names.1,
            h.txns()[a].process
        ),
        ..Justification::default()
    }
}
