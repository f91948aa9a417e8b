//! [`Firewall`]: network faults as verbs, over a [`RuleBackend`].
//!
//! Owns the current partition, packet loss and slow network, validates
//! them against the cluster's nodes, turns them into rule-set
//! replacements, and owns the delayer threads of the slow network.
//!
//! Invariants:
//! - A partition replaces the previous partition; a loss replaces the
//!   previous loss; a slow network the previous one; `heal` removes all.
//!   They are independent rule sets.
//! - Delayers run in every namespace that has slow rules, from before the
//!   rules are installed until after they are removed.
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
    slow::{DelayStats, Delayer, MAX_HELD, SlowParams, SlowScope},
};
use crate::{FaultError, Grudge, NodeName, Outcome, netns::NamespaceId};

/// Network faults for one cluster.
pub struct Firewall<B: RuleBackend = LoopbackIptables> {
    backend: B,
    nodes: BTreeSet<NodeName>,
    partition: Option<Grudge>,
    loss: Option<(BTreeSet<NodeName>, f64)>,
    slow: Option<(SlowScope, SlowParams)>,
    /// One delayer per namespace with slow rules.
    delayers: BTreeMap<NamespaceId, Delayer>,
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
            slow: None,
            delayers: BTreeMap::new(),
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

    /// The slow network in force (or possibly in force), if any.
    pub fn current_slow(&self) -> Option<&(SlowScope, SlowParams)> {
        self.slow.as_ref()
    }

    /// What the delayers have done so far, per namespace.
    pub fn delay_stats(&self) -> BTreeMap<NamespaceId, DelayStats> {
        self.delayers
            .iter()
            .map(|(ns, d)| (*ns, d.stats()))
            .collect()
    }

    /// Delay the packets `scope` names by `params`, replacing any slow
    /// network in force. Starts a delayer in each receiving namespace
    /// before installing the rules.
    pub async fn slow(
        &mut self,
        scope: &SlowScope,
        params: SlowParams,
    ) -> Result<Outcome, FaultError> {
        params.validate()?;
        self.check_known(scope.nodes().iter())?;
        let rules = scope.rules(&self.nodes);
        let mut wanted = BTreeMap::new();
        for rule in &rules {
            let namespace = self.backend.receiver_namespace(&rule.to)?;
            wanted.insert(namespace.id(), namespace);
        }
        for (id, namespace) in &wanted {
            match self.delayers.get(id) {
                Some(delayer) => delayer.set_params(params),
                None => {
                    let delayer = Delayer::start(namespace, MAX_HELD, params)?;
                    self.delayers.insert(*id, delayer);
                }
            }
        }
        let outcome = self.apply(RuleSet::Slow, &rules).await?;
        self.slow = (!rules.is_empty()).then(|| (scope.clone(), params));
        if outcome.is_installed() {
            self.stop_delayers(|id| !wanted.contains_key(id));
        }
        Ok(outcome)
    }

    /// Remove the slow network (rules first, then the delayers, which
    /// release what they hold), keeping partition and loss.
    pub async fn heal_slow(&mut self) -> Result<Outcome, FaultError> {
        let outcome = self.apply(RuleSet::Slow, &[]).await?;
        if outcome.is_installed() {
            self.stop_delayers(|_| true);
        }
        self.slow = None;
        Ok(outcome)
    }

    fn stop_delayers(&mut self, stop: impl Fn(&NamespaceId) -> bool) {
        let ids: Vec<NamespaceId> = self
            .delayers
            .keys()
            .copied()
            .filter(|id| stop(id))
            .collect();
        for id in ids {
            if let Some(mut delayer) = self.delayers.remove(&id) {
                let stats = delayer.stop();
                tracing::info!(namespace = %id, ?stats, "delayer stopped");
            }
        }
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

    /// Remove every rule: partition, loss and slow. Flushes only our
    /// chains.
    pub async fn heal(&mut self) -> Result<Outcome, FaultError> {
        let partition = self.heal_partition().await?;
        let loss = self.heal_loss().await?;
        let slow = self.heal_slow().await?;
        let outcome = Outcome::combine([&partition, &loss, &slow]);
        if outcome.is_installed() {
            self.dirty = false;
        }
        Ok(outcome)
    }

    /// [`Firewall::heal`], synchronously (for `Drop` and signal paths).
    pub fn heal_blocking(&mut self) -> Result<(), FaultError> {
        self.backend.clear_blocking()?;
        self.stop_delayers(|_| true);
        self.partition = None;
        self.loss = None;
        self.slow = None;
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
