//! Abstract drop rules, and the backend trait that makes them real.
//!
//! A partition or a packet loss is first turned into [`DropRule`]s (pairs
//! of nodes, with an optional probability), independent of how they are
//! enforced; a [`RuleBackend`] then renders and installs them. Today the
//! only backend is [`super::LoopbackIptables`] (all nodes share one private
//! namespace and are told apart by their loopback addresses); per-node
//! namespaces (issue 7) are a second backend that installs the same rules
//! in each destination node's own namespace.
//!
//! Evaluation, in this order: a packet from node `from` to node `to` is
//! dropped if a partition rule matches the pair; otherwise it is delayed
//! if a slow rule matches (and evaluated again, from the top, when its
//! delay is over); then it is dropped if a loss rule matches and its coin
//! says so; otherwise it is accepted. Rules never match traffic from or to
//! addresses outside the cluster (clients, the controller).

use std::{collections::BTreeSet, future::Future};

use serde::{Deserialize, Serialize};

use crate::{FaultError, Grudge, NodeName, netns::NetNamespace};

/// Packets from `from` arriving at `to` are dropped (always, or with
/// `probability`).
#[derive(Clone, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct DropRule {
    /// The receiving node, whose packets-in are filtered.
    pub to: NodeName,
    /// The sending node.
    pub from: NodeName,
    /// `None` drops every packet; `Some(p)` drops each with probability p.
    pub probability: Option<f64>,
}

/// Independent sets of rules, each replaced as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleSet {
    /// The current partition's rules.
    Partition,
    /// The current packet loss's rules.
    Loss,
    /// The current slow network's rules: a rule *delays* packets from
    /// `from` arriving at `to` (see [`super::slow`]) instead of dropping
    /// them.
    Slow,
}

impl RuleSet {
    /// Every set.
    pub const ALL: [Self; 3] = [Self::Partition, Self::Loss, Self::Slow];
}

/// The rules of a partition: `to` drops packets from every node it holds a
/// grudge against.
pub fn partition_rules(grudge: &Grudge) -> Vec<DropRule> {
    grudge
        .pairs()
        .map(|(to, from)| DropRule {
            to: to.clone(),
            from: from.clone(),
            probability: None,
        })
        .collect()
}

/// The rules of packet loss on `affected` nodes within `cluster`: every
/// packet between two cluster nodes, at least one of them affected, is
/// dropped with `probability`.
pub fn loss_rules(
    cluster: &BTreeSet<NodeName>,
    affected: &BTreeSet<NodeName>,
    probability: f64,
) -> Vec<DropRule> {
    let mut rules = Vec::new();
    for to in cluster {
        for from in cluster {
            if to != from && (affected.contains(to) || affected.contains(from)) {
                rules.push(DropRule {
                    to: to.clone(),
                    from: from.clone(),
                    probability: Some(probability),
                });
            }
        }
    }
    rules
}

/// Enforces drop rules somewhere.
pub trait RuleBackend: Send {
    /// Replace all rules of `set` with `rules`.
    ///
    /// # Correctness
    /// - Must change rules only inside a network namespace the run created
    ///   (never the host's), and only in chains the backend owns.
    /// - Should be atomic: on `Err`, the previous rules of `set` must still
    ///   be in force, unless the error is [`FaultError::IptablesTimeout`]
    ///   or [`FaultError::RulesIndeterminate`] (then the state is unknown,
    ///   and the firewall reports the change as indeterminate).
    fn replace(
        &mut self,
        set: RuleSet,
        rules: &[DropRule],
    ) -> impl Future<Output = Result<(), FaultError>> + Send;

    /// Remove every rule of every set, synchronously. Called from `Drop`,
    /// so it must not need an async runtime.
    fn clear_blocking(&mut self) -> Result<(), FaultError>;

    /// The rules as the backend writes them (for logs, docs and tests).
    fn render(&self, set: RuleSet, rules: &[DropRule]) -> Result<Vec<String>, FaultError>;

    /// The network namespace in which `node`'s incoming packets are
    /// filtered: where a delayer for the node's slow rules must run.
    /// Backends that cannot delay packets keep the default, an error.
    fn receiver_namespace(&self, node: &NodeName) -> Result<NetNamespace, FaultError> {
        Err(FaultError::PacketQueue {
            detail: format!("this rule backend cannot delay packets to {node}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_rules_cover_pairs_touching_an_affected_node() {
        let cluster: BTreeSet<NodeName> = NodeName::cluster(3).into_iter().collect();
        let affected = BTreeSet::from([NodeName::from("n1")]);
        let pairs: Vec<(String, String)> = loss_rules(&cluster, &affected, 0.5)
            .into_iter()
            .map(|r| (r.from.to_string(), r.to.to_string()))
            .collect();
        let expected = [("n2", "n1"), ("n3", "n1"), ("n1", "n2"), ("n1", "n3")];
        assert_eq!(pairs.len(), expected.len());
        for (from, to) in expected {
            assert!(
                pairs.contains(&(from.into(), to.into())),
                "{from}->{to} in {pairs:?}"
            );
        }
    }
}
