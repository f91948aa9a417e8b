//! [`Firewall`]: network faults as verbs, over a [`RuleBackend`].
//!
//! Owns the current partition and packet loss, validates them against the
//! cluster's nodes, and turns them into rule-set replacements.
//!
//! Invariants:
//! - A partition replaces the previous partition; a loss replaces the
//!   previous loss; `heal` removes both. Partition and loss are
//!   independent rule sets.
//! - After an indeterminate change (a timed-out `iptables`), the firewall
//!   assumes the rules may be in force, so `heal` and `Drop` still clear
//!   them.
//! - Dropping a `Firewall` that may hold rules clears them synchronously.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::Ipv4Addr,
};

use super::{
    Iptables, LoopbackIptables,
    rules::{DropRule, RuleBackend, RuleSet, loss_rules, partition_rules},
};
use crate::{FaultError, Grudge, NodeName, Outcome};

/// Network faults for one cluster.
pub struct Firewall<B: RuleBackend = LoopbackIptables> {
    backend: B,
    nodes: BTreeSet<NodeName>,
    partition: Option<Grudge>,
    loss: Option<(BTreeSet<NodeName>, f64)>,
    /// Rules may be installed.
    dirty: bool,
}

impl Firewall<LoopbackIptables> {
    /// A firewall for nodes sharing the current (private) namespace, told
    /// apart by `addrs`, using the `iptables` on `PATH`.
    pub async fn loopback(addrs: BTreeMap<NodeName, Ipv4Addr>) -> Result<Self, FaultError> {
        Self::loopback_with(Iptables::default(), addrs).await
    }

    /// [`Firewall::loopback`] with a chosen `iptables`.
    pub async fn loopback_with(
        iptables: Iptables,
        addrs: BTreeMap<NodeName, Ipv4Addr>,
    ) -> Result<Self, FaultError> {
        let nodes = addrs.keys().cloned().collect::<Vec<_>>();
        let backend = LoopbackIptables::install(iptables, addrs).await?;
        Ok(Self::new(backend, nodes))
    }
}

impl<B: RuleBackend> Firewall<B> {
    /// A firewall for `nodes` over an installed `backend`.
    pub fn new(backend: B, nodes: impl IntoIterator<Item = NodeName>) -> Self {
        Self {
            backend,
            nodes: nodes.into_iter().collect(),
            partition: None,
            loss: None,
            dirty: false,
        }
    }

    /// The backend, for inspection.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The cluster's nodes.
    pub fn nodes(&self) -> &BTreeSet<NodeName> {
        &self.nodes
    }

    /// The partition in force (or possibly in force), if any.
    pub fn current_partition(&self) -> Option<&Grudge> {
        self.partition.as_ref()
    }

    /// The packet loss in force (or possibly in force), if any.
    pub fn current_loss(&self) -> Option<(&BTreeSet<NodeName>, f64)> {
        self.loss.as_ref().map(|(n, p)| (n, *p))
    }

    /// Make every node drop packets from the nodes it holds a grudge
    /// against, replacing any previous partition. An empty grudge heals the
    /// partition.
    pub async fn partition(&mut self, grudge: &Grudge) -> Result<Outcome, FaultError> {
        self.check_known(grudge.nodes().iter())?;
        let outcome = self
            .apply(RuleSet::Partition, &partition_rules(grudge))
            .await?;
        self.partition = (!grudge.is_empty()).then(|| grudge.clone());
        Ok(outcome)
    }

    /// Drop each packet between two nodes, at least one of them in `nodes`,
    /// with `probability`, replacing any previous loss.
    pub async fn loss(
        &mut self,
        nodes: &[NodeName],
        probability: f64,
    ) -> Result<Outcome, FaultError> {
        if !(0.0..=1.0).contains(&probability) {
            return Err(FaultError::Probability { probability });
        }
        self.check_known(nodes.iter())?;
        let affected: BTreeSet<NodeName> = nodes.iter().cloned().collect();
        let rules = loss_rules(&self.nodes, &affected, probability);
        let outcome = self.apply(RuleSet::Loss, &rules).await?;
        self.loss = (!affected.is_empty()).then_some((affected, probability));
        Ok(outcome)
    }

    /// Remove the partition, keeping any packet loss.
    pub async fn heal_partition(&mut self) -> Result<Outcome, FaultError> {
        let outcome = self.apply(RuleSet::Partition, &[]).await?;
        self.partition = None;
        Ok(outcome)
    }

    /// Remove packet loss, keeping any partition.
    pub async fn heal_loss(&mut self) -> Result<Outcome, FaultError> {
        let outcome = self.apply(RuleSet::Loss, &[]).await?;
        self.loss = None;
        Ok(outcome)
    }

    /// Remove every rule: partition and loss. Flushes only our chains.
    pub async fn heal(&mut self) -> Result<Outcome, FaultError> {
        let partition = self.heal_partition().await?;
        let loss = self.heal_loss().await?;
        let outcome = Outcome::combine([&partition, &loss]);
        if outcome.is_installed() {
            self.dirty = false;
        }
        Ok(outcome)
    }

    /// [`Firewall::heal`], synchronously (for `Drop` and signal paths).
    pub fn heal_blocking(&mut self) -> Result<(), FaultError> {
        self.backend.clear_blocking()?;
        self.partition = None;
        self.loss = None;
        self.dirty = false;
        Ok(())
    }

    fn check_known<'a>(&self, nodes: impl Iterator<Item = &'a NodeName>) -> Result<(), FaultError> {
        for node in nodes {
            if !self.nodes.contains(node) {
                return Err(FaultError::UnknownNode { node: node.clone() });
            }
        }
        Ok(())
    }

    async fn apply(&mut self, set: RuleSet, rules: &[DropRule]) -> Result<Outcome, FaultError> {
        match self.backend.replace(set, rules).await {
            Ok(()) => {
                self.dirty |= !rules.is_empty();
                Ok(Outcome::Installed)
            }
            Err(
                e @ (FaultError::IptablesTimeout { .. } | FaultError::RulesIndeterminate { .. }),
            ) => {
                self.dirty = true;
                Ok(Outcome::Indeterminate(e.to_string()))
            }
            Err(e) => Err(e),
        }
    }
}

impl<B: RuleBackend> Drop for Firewall<B> {
    fn drop(&mut self) {
        if self.dirty
            && let Err(e) = self.heal_blocking()
        {
            tracing::error!(error = %e, "cannot clear firewall rules on drop");
        }
    }
}
