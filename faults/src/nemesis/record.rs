//! Building the events and reports of the nemesis's verbs.
//!
//! Owns the shape of every event the nemesis emits: which nodes an event
//! names (those the fault may have affected, never the skipped ones), and
//! how per-node outcomes combine into a verb's outcome.

use std::collections::BTreeMap;

use crate::{
    FaultDetail, FaultError, FaultEvent, FaultId, FaultKind, FaultReport, FaultValue, NodeName,
    NodeOutcome, Outcome, Phase,
};

/// The partition, loss or slow network in force.
pub(super) struct ActiveNet {
    pub(super) id: FaultId,
    pub(super) nodes: Vec<NodeName>,
    pub(super) detail: FaultDetail,
}

/// A per-node failure becomes an indeterminate outcome, so that one node's
/// failure never loses the other nodes' events.
pub(super) fn indeterminate_on_error(
    node: &NodeName,
    result: Result<Outcome, FaultError>,
) -> Outcome {
    result.unwrap_or_else(|e| {
        tracing::error!(%node, error = %e, "process fault failed");
        Outcome::Indeterminate(e.to_string())
    })
}

pub(super) fn dedup(nodes: &[NodeName]) -> Vec<NodeName> {
    NodeName::sorted_set(nodes)
}

pub(super) fn start(fault: FaultKind, active: &ActiveNet) -> FaultEvent {
    FaultEvent::new(
        Phase::Start,
        FaultValue {
            id: active.id,
            fault,
            nodes: active.nodes.clone(),
            detail: active.detail.clone(),
        },
    )
}

pub(super) fn stop(active: ActiveNet) -> FaultEvent {
    let fault = match active.detail {
        FaultDetail::Loss { .. } => FaultKind::Loss,
        FaultDetail::Slow(_) => FaultKind::Slow,
        _ => FaultKind::Partition,
    };
    FaultEvent::new(
        Phase::Stop,
        FaultValue {
            id: active.id,
            fault,
            nodes: active.nodes,
            detail: active.detail,
        },
    )
}

/// The event of a process fault, naming the nodes it affected; `None` if it
/// affected none.
pub(super) fn process_event(
    phase: Phase,
    fault: FaultKind,
    id: FaultId,
    per_node: BTreeMap<NodeName, NodeOutcome>,
) -> Option<FaultEvent> {
    let nodes: Vec<NodeName> = per_node
        .iter()
        .filter(|(_, o)| !matches!(o.outcome, Outcome::Skipped(_)))
        .map(|(n, _)| n.clone())
        .collect();
    if nodes.is_empty() {
        return None;
    }
    Some(FaultEvent::new(
        phase,
        FaultValue {
            id,
            fault,
            nodes,
            detail: FaultDetail::Process { per_node },
        },
    ))
}

pub(super) fn report(
    per_node: BTreeMap<NodeName, NodeOutcome>,
    events: Vec<FaultEvent>,
) -> FaultReport {
    FaultReport {
        outcome: Outcome::combine(per_node.values().map(|o| &o.outcome)),
        events,
    }
}
