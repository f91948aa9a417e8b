//! The checker's pipeline: compact history -> workload analysis (non-cycle
//! anomalies and data edges) -> process/real-time edges -> dependency
//! graph -> cycle search -> [`TxnReport`].
//!
//! Invariants: the verdict follows [`TxnReport`]'s rules; input problems
//! (malformed micro-ops, duplicate writes, a graph past its edge limit)
//! stop the check with verdict `unknown` and no anomalies, as in Elle,
//! because any inference from a partly read history could be wrong.

use std::collections::BTreeSet;

use crate::{
    history::{History, Outcome},
    results::Verdict,
    txn::{
        anomaly::AnomalyType,
        explain::{CycleFound, EdgeExplainer, Findings, cycle_anomaly},
        graph::{DepGraph, EdgeList, NONE, NodeTiming, add_order_edges},
        history::{InputProblem, TxnHistory, detect_workload},
        list_append::ListAppend,
        model::{ConsistencyModel, boundary},
        options::{TxnOptions, TxnWorkload},
        report::{Anomaly, AnomalyDetail, GraphStats, TxnCounts, TxnReport},
        rw_register::RwRegister,
        search::{Component, search},
    },
};

/// Edges allowed per node (plus a floor): about 6 data edges and the
/// concurrency in real-time edges are typical; past this the history is
/// answered `unknown` instead of exhausting memory.
const EDGES_PER_NODE: usize = 64;
const EDGE_FLOOR: usize = 1 << 22;

/// Checks a history's `txn` operations against `options.consistency_model`.
/// The workload is `options.workload`, or detected from the micro-ops
/// (list-append if nothing tells).
pub fn check(history: &History, options: &TxnOptions) -> TxnReport {
    let workload = options
        .workload
        .or_else(|| detect_workload(history))
        .unwrap_or(TxnWorkload::ListAppend);
    check_txns(&TxnHistory::from_history(history, workload), options)
}

/// Checks a history already in compact form (see [`check`]).
pub fn check_txns(h: &TxnHistory, options: &TxnOptions) -> TxnReport {
    let model = options.consistency_model;
    let mut report = empty_report(h, model);
    if h.problem_count > 0 {
        report.problems = h.problems.clone();
        report.problem_count = h.problem_count;
        report.verdict = Verdict::Unknown;
        return report;
    }
    match analyze(h, options, &mut report) {
        Ok(findings) => finish(report, findings, model),
        Err(problem) => {
            report.problems = vec![problem];
            report.problem_count = 1;
            report.verdict = Verdict::Unknown;
            report
        }
    }
}

fn empty_report(h: &TxnHistory, model: ConsistencyModel) -> TxnReport {
    let mut txns = TxnCounts {
        ignored: h.ignored_ops,
        ..TxnCounts::default()
    };
    for t in h.txns() {
        match t.outcome {
            Outcome::Ok => txns.ok += 1,
            Outcome::Info => txns.info += 1,
            Outcome::Fail => txns.fail += 1,
        }
    }
    TxnReport {
        verdict: Verdict::Valid,
        workload: h.workload,
        consistency_model: model,
        txns,
        anomaly_types: Vec::new(),
        ruled_out_by: Vec::new(),
        not: Vec::new(),
        also_not: Vec::new(),
        anomaly_counts: Default::default(),
        anomalies: Vec::new(),
        problems: Vec::new(),
        problem_count: 0,
        graph: GraphStats::default(),
    }
}

fn analyze(
    h: &TxnHistory,
    options: &TxnOptions,
    report: &mut TxnReport,
) -> Result<Findings, InputProblem> {
    let extra = options.consistency_model.extra_orders();
    let mut node_of = vec![NONE; h.txns().len()];
    let mut timings = Vec::new();
    let mut txn_of = Vec::new();
    for (t, txn) in h.txns().iter().enumerate() {
        if txn.outcome == Outcome::Fail {
            continue;
        }
        node_of[t] = timings.len() as u32;
        txn_of.push(t);
        timings.push(NodeTiming {
            process: txn.process,
            outcome: txn.outcome,
            invoke: txn.invoke,
            complete: txn.complete,
        });
    }
    let limit = timings
        .len()
        .saturating_mul(EDGES_PER_NODE)
        .saturating_add(EDGE_FLOOR);
    let mut edges = EdgeList::with_limit(limit);
    let mut findings = Findings::new(options.max_examples);
    if report.txns.ok == 0 {
        findings.add(AnomalyType::EmptyTransactionGraph, || Anomaly {
            kind: AnomalyType::EmptyTransactionGraph,
            explanation:
                "empty-transaction-graph: no transaction committed, so nothing could be checked"
                    .to_owned(),
            txns: Vec::new(),
            detail: AnomalyDetail::None,
        });
    }
    let explainer: Box<dyn EdgeExplainer + '_> = match h.workload {
        TxnWorkload::ListAppend => {
            Box::new(ListAppend::analyze(h, &node_of, &mut findings, &mut edges)?)
        }
        TxnWorkload::RwRegister => Box::new(RwRegister::analyze(
            h,
            &node_of,
            options.wfr_keys,
            &mut findings,
            &mut edges,
        )?),
    };
    let too_large = |limit: usize| InputProblem::TooLarge {
        what: format!("the dependency graph needs more than {limit} edges"),
    };
    add_order_edges(&timings, extra, &mut edges).map_err(|e| too_large(e.limit))?;
    if edges.overflowed() {
        return Err(too_large(limit));
    }
    let graph = DepGraph::from_edges(timings.len(), edges);
    let components = search(&graph, extra, options.search_budget);
    report.graph = graph_stats(&graph, &components);
    record_cycles(h, explainer.as_ref(), &txn_of, &components, &mut findings);
    Ok(findings)
}

fn graph_stats(graph: &DepGraph, components: &[Component]) -> GraphStats {
    let [ww, wr, rw, process, realtime] = graph.rel_counts();
    GraphStats {
        nodes: graph.nodes(),
        edges: graph.edge_count(),
        ww,
        wr,
        rw,
        process,
        realtime,
        cyclic_components: components.len(),
        largest_component: components.iter().map(|c| c.nodes.len()).max().unwrap_or(0),
    }
}

/// Named cycles, timeouts, then the "cycle exists" cases no named anomaly
/// already explains (Elle drops those as redundant).
fn record_cycles(
    h: &TxnHistory,
    explainer: &dyn EdgeExplainer,
    txn_of: &[usize],
    components: &[Component],
    findings: &mut Findings,
) {
    for comp in components {
        for cycle in &comp.cycles {
            let found = CycleFound {
                kind: cycle.kind,
                steps: cycle
                    .steps
                    .iter()
                    .map(|&(v, r)| (txn_of[v as usize], r))
                    .collect(),
                shortest: cycle.shortest,
            };
            findings.add(cycle.kind, || cycle_anomaly(h, explainer, &found));
        }
        if let Some(searched) = &comp.timed_out {
            findings.add(AnomalyType::CycleSearchTimeout, || {
                component_anomaly(
                    h,
                    txn_of,
                    comp,
                    AnomalyType::CycleSearchTimeout,
                    None,
                    searched.clone(),
                )
            });
        }
    }
    let named: BTreeSet<AnomalyType> = findings
        .counts
        .keys()
        .copied()
        .filter(|a| exists_model(*a).is_none())
        .collect();
    for comp in components {
        for &kind in &comp.exists {
            let Some(model) = exists_model(kind) else {
                continue;
            };
            let prohibited = model.prohibited();
            if named.iter().any(|a| prohibited.contains(a)) {
                continue;
            }
            findings.add(kind, || {
                component_anomaly(h, txn_of, comp, kind, Some(model), Vec::new())
            });
        }
    }
}

/// The model a "cycle exists" anomaly type rules out.
fn exists_model(kind: AnomalyType) -> Option<ConsistencyModel> {
    use AnomalyType::*;
    use ConsistencyModel::*;
    match kind {
        Pl1CycleExists => Some(ReadUncommitted),
        Pl2CycleExists => Some(ReadCommitted),
        PlSiCycleExists => Some(SnapshotIsolation),
        Pl3CycleExists => Some(RepeatableRead),
        StrongSessionSiCycleExists => Some(StrongSessionSnapshotIsolation),
        StrongSessionSerializableCycleExists => Some(StrongSessionSerializable),
        PlSsCycleExists => Some(StrictSerializable),
        _ => None,
    }
}

/// Transactions of a component shown in its anomaly.
const COMPONENT_TXNS_SHOWN: usize = 32;

fn component_anomaly(
    h: &TxnHistory,
    txn_of: &[usize],
    comp: &Component,
    kind: AnomalyType,
    model: Option<ConsistencyModel>,
    searched: Vec<AnomalyType>,
) -> Anomaly {
    let txns: Vec<usize> = comp
        .nodes
        .iter()
        .take(COMPONENT_TXNS_SHOWN)
        .map(|&v| txn_of[v as usize])
        .collect();
    let what = match model {
        Some(m) => format!("{}, so the history is not {m}", kind.description()),
        None => format!(
            "{}; searched for {}",
            kind.description(),
            searched
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Anomaly {
        kind,
        explanation: format!(
            "{kind}: among {} transactions (a strongly connected component; the first {} shown), {what}",
            comp.nodes.len(),
            txns.len()
        ),
        txns: crate::txn::explain::txn_refs(h, &txns),
        detail: AnomalyDetail::Component {
            size: comp.nodes.len(),
            model,
            searched,
        },
    }
}

fn finish(mut report: TxnReport, findings: Findings, model: ConsistencyModel) -> TxnReport {
    let found: BTreeSet<AnomalyType> = findings.counts.keys().copied().collect();
    let prohibited = model.prohibited();
    report.anomaly_types = found.iter().copied().collect();
    report.ruled_out_by = found
        .iter()
        .copied()
        .filter(|a| prohibited.contains(a))
        .collect();
    let (not, also_not) = boundary(&found);
    report.not = not;
    report.also_not = also_not;
    report.verdict = if !report.ruled_out_by.is_empty() {
        Verdict::Invalid
    } else if found.iter().any(|a| a.is_unknown()) {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let mut examples = findings.examples;
    examples.sort_by_key(|a| (a.kind, a.txns.first().map_or(0, |t| t.op)));
    report.anomalies = examples;
    report.anomaly_counts = findings.counts;
    report
}
