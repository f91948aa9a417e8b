//! [`Nemesis`]: the guard that owns a cluster's processes and firewall.
//!
//! Owns every node process and the firewall of one run, the ids of the
//! faults in force, and the pairing of each fault's start with its stop.
//! The disk verbs (power loss, fsync errors, crashes at a sync) are in
//! `guard/disk.rs`; they act on the nodes' mounts ([`crate::disk::Disks`]),
//! which the caller owns.
//!
//! Invariants:
//! - Cleanup cannot be forgotten: dropping a `Nemesis` (normal return,
//!   `?`, panic unwinding) synchronously resumes every process group it
//!   started, SIGKILLs them, reaps them and flushes the harness's chains.
//!   [`Nemesis::shutdown`] does the same, asynchronously, and reports
//!   errors.
//! - What `Drop` cannot cover (SIGKILL of the controller, `abort`,
//!   `std::process::exit`) the kernel does: each node has
//!   `PR_SET_PDEATHSIG = SIGKILL`, and the rules live in the run's private
//!   network namespace, which vanishes with its last process.
//! - Ids increase in the order faults start; a stop carries its start's id.
//!   A node killed or paused twice keeps the id of its first fault. Ids
//!   come from a [`FaultIds`] that other fault handles of the run (the
//!   clocks) share ([`Nemesis::with_ids`]), so they are unique in a run.
//! - A process fault acts on every named node even if one fails: a node's
//!   error becomes its [`Outcome::Indeterminate`], so no event is lost.

mod disk;

use std::collections::BTreeMap;

use super::record::{ActiveNet, dedup, indeterminate_on_error, process_event, report, start, stop};
use crate::{
    FaultDetail, FaultError, FaultEvent, FaultId, FaultIds, FaultKind, FaultReport, FaultValue,
    Grudge, NodeName, NodeOutcome, Outcome, PartitionShape, Phase, SlowDetail,
    net::{
        Firewall, LoopbackIptables, RuleBackend,
        slow::{SlowParams, SlowScope},
    },
    process::{NodeProcess, NodeSpec, UnexpectedExit},
};

/// One of the firewall's independent rule sets.
#[derive(Clone, Copy)]
enum NetSet {
    Partition,
    Loss,
    Slow,
}
/// Per-node restart outcomes, grouped by the fault that took the node down.
type Groups = BTreeMap<Option<(FaultKind, FaultId)>, BTreeMap<NodeName, NodeOutcome>>;

/// Owns a cluster's node processes and firewall; injects and ends faults.
pub struct Nemesis<B: RuleBackend = LoopbackIptables> {
    nodes: BTreeMap<NodeName, NodeProcess>,
    firewall: Option<Firewall<B>>,
    ids: FaultIds,
    partition: Option<ActiveNet>,
    loss: Option<ActiveNet>,
    slow: Option<ActiveNet>,
    /// Nodes down because of a fault (kill, power loss, crash at a
    /// sync), with the fault their restart ends.
    killed: BTreeMap<NodeName, (FaultKind, FaultId)>,
    paused: BTreeMap<NodeName, FaultId>,
    /// The `fsync-error` window in force ([`disk`]).
    fsync_error: Option<disk::FsyncErrors>,
}

impl<B: RuleBackend> Nemesis<B> {
    /// A nemesis with no nodes yet. Without a firewall, network faults are
    /// skipped (the plan asked for none, or the run has no namespace).
    pub fn new(firewall: Option<Firewall<B>>) -> Self {
        Self::with_ids(firewall, FaultIds::new())
    }

    /// [`Nemesis::new`], drawing fault ids from `ids` (shared with the
    /// run's other fault handles, such as a `clock::ClockControl`).
    pub fn with_ids(firewall: Option<Firewall<B>>, ids: FaultIds) -> Self {
        Self {
            nodes: BTreeMap::new(),
            firewall,
            ids,
            partition: None,
            loss: None,
            slow: None,
            killed: BTreeMap::new(),
            paused: BTreeMap::new(),
            fsync_error: None,
        }
    }

    /// Start a node and take ownership of its process. Returns its pid.
    pub async fn start_node(&mut self, spec: NodeSpec) -> Result<u32, FaultError> {
        if self.nodes.contains_key(&spec.name) {
            return Err(FaultError::DuplicateNode { node: spec.name });
        }
        let node = NodeProcess::spawn(spec).await?;
        let pid = node.pid().expect("a freshly spawned node runs");
        self.nodes.insert(node.name().clone(), node);
        Ok(pid)
    }

    /// The nodes, in order.
    pub fn node_names(&self) -> Vec<NodeName> {
        self.nodes.keys().cloned().collect()
    }

    /// One node's process.
    pub fn node(&self, name: &NodeName) -> Option<&NodeProcess> {
        self.nodes.get(name)
    }

    /// One node's process, mutably (to check its state).
    pub fn node_mut(&mut self, name: &NodeName) -> Option<&mut NodeProcess> {
        self.nodes.get_mut(name)
    }

    /// The firewall, if network faults are enabled.
    pub fn firewall(&self) -> Option<&Firewall<B>> {
        self.firewall.as_ref()
    }

    /// Exits the harness did not cause, since the last call: findings.
    pub fn unexpected_exits(&mut self) -> Vec<UnexpectedExit> {
        self.nodes
            .values_mut()
            .filter_map(NodeProcess::take_unexpected_exit)
            .collect()
    }

    /// Install `grudge` (cut as `shape`, if it was), replacing any
    /// partition in force: the old one's stop event comes first.
    pub async fn partition(
        &mut self,
        grudge: Grudge,
        shape: Option<PartitionShape>,
    ) -> Result<FaultReport, FaultError> {
        let Some(firewall) = self.firewall.as_mut() else {
            return Ok(FaultReport::skipped("network faults are disabled"));
        };
        if grudge.is_empty() {
            return Ok(FaultReport::skipped("the grudge drops nothing"));
        }
        let outcome = firewall.partition(&grudge).await?;
        let mut events: Vec<FaultEvent> = self.partition.take().map(stop).into_iter().collect();
        let active = ActiveNet {
            id: self.fresh_id(),
            nodes: grudge.nodes().into_iter().collect(),
            detail: FaultDetail::Partition { grudge, shape },
        };
        events.push(start(FaultKind::Partition, &active));
        self.partition = Some(active);
        Ok(FaultReport { outcome, events })
    }

    /// Drop packets to and from `nodes` with `probability`, replacing any
    /// loss in force.
    pub async fn loss(
        &mut self,
        nodes: &[NodeName],
        probability: f64,
    ) -> Result<FaultReport, FaultError> {
        let Some(firewall) = self.firewall.as_mut() else {
            return Ok(FaultReport::skipped("network faults are disabled"));
        };
        let nodes = dedup(nodes);
        if nodes.is_empty() {
            return Ok(FaultReport::skipped("no nodes"));
        }
        let outcome = firewall.loss(&nodes, probability).await?;
        let mut events: Vec<FaultEvent> = self.loss.take().map(stop).into_iter().collect();
        let active = ActiveNet {
            id: self.fresh_id(),
            nodes,
            detail: FaultDetail::Loss { probability },
        };
        events.push(start(FaultKind::Loss, &active));
        self.loss = Some(active);
        Ok(FaultReport { outcome, events })
    }

    /// Delay the packets `scope` names by `params`, replacing any slow
    /// network in force (see [`crate::net::slow`]).
    pub async fn slow(
        &mut self,
        scope: SlowScope,
        params: SlowParams,
    ) -> Result<FaultReport, FaultError> {
        let Some(firewall) = self.firewall.as_mut() else {
            return Ok(FaultReport::skipped("network faults are disabled"));
        };
        let links = match &scope {
            SlowScope::Nodes(_) => Vec::new(),
            SlowScope::Links(_) => scope.pairs(firewall.nodes()),
        };
        let nodes: Vec<NodeName> = scope.nodes().into_iter().collect();
        if nodes.is_empty() {
            return Ok(FaultReport::skipped("no nodes"));
        }
        let outcome = firewall.slow(&scope, params).await?;
        let mut events: Vec<FaultEvent> = self.slow.take().map(stop).into_iter().collect();
        let active = ActiveNet {
            id: self.fresh_id(),
            nodes,
            detail: FaultDetail::Slow(SlowDetail {
                delay_ms: params.delay.as_secs_f64() * 1e3,
                jitter_ms: params.jitter.as_secs_f64() * 1e3,
                reorder: params.reorder,
                links,
            }),
        };
        events.push(start(FaultKind::Slow, &active));
        self.slow = Some(active);
        Ok(FaultReport { outcome, events })
    }

    /// Remove every partition, loss and slow rule.
    pub async fn heal(&mut self) -> Result<FaultReport, FaultError> {
        let Some(firewall) = self.firewall.as_mut() else {
            return Ok(FaultReport::skipped("network faults are disabled"));
        };
        // Flush even when nothing is known to be in force: it is cheap and
        // makes heal a reliable reset.
        let outcome = firewall.heal().await?;
        let events: Vec<FaultEvent> = [self.partition.take(), self.loss.take(), self.slow.take()]
            .into_iter()
            .flatten()
            .map(stop)
            .collect();
        if events.is_empty() && outcome.is_installed() {
            return Ok(FaultReport::skipped("no network fault in force"));
        }
        Ok(FaultReport { outcome, events })
    }

    /// Remove the partition only; loss and slow network stay in force.
    pub async fn heal_partition(&mut self) -> Result<FaultReport, FaultError> {
        self.heal_set(NetSet::Partition).await
    }

    /// Remove packet loss only; partition and slow network stay in force.
    pub async fn heal_loss(&mut self) -> Result<FaultReport, FaultError> {
        self.heal_set(NetSet::Loss).await
    }

    /// Remove the slow network only (its delayers release what they hold);
    /// partition and loss stay in force.
    pub async fn heal_slow(&mut self) -> Result<FaultReport, FaultError> {
        self.heal_set(NetSet::Slow).await
    }

    async fn heal_set(&mut self, set: NetSet) -> Result<FaultReport, FaultError> {
        let Some(firewall) = self.firewall.as_mut() else {
            return Ok(FaultReport::skipped("network faults are disabled"));
        };
        let (outcome, active) = match set {
            NetSet::Partition => (firewall.heal_partition().await?, self.partition.take()),
            NetSet::Loss => (firewall.heal_loss().await?, self.loss.take()),
            NetSet::Slow => (firewall.heal_slow().await?, self.slow.take()),
        };
        let events: Vec<FaultEvent> = active.map(stop).into_iter().collect();
        if events.is_empty() && outcome.is_installed() {
            return Ok(FaultReport::skipped("not in force"));
        }
        Ok(FaultReport { outcome, events })
    }

    /// SIGKILL `nodes`. A paused node's pause ends with it.
    pub async fn kill(&mut self, nodes: &[NodeName]) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        let mut events = self.end_pauses(&nodes, "ended by kill");
        let mut per_node = BTreeMap::new();
        for name in &nodes {
            let node = self.nodes.get_mut(name).expect("known node");
            let pid = node.pid();
            let outcome = indeterminate_on_error(name, node.kill().await);
            per_node.insert(name.clone(), NodeOutcome { outcome, pid });
        }
        let id = self.fresh_id();
        for (name, o) in &per_node {
            if !matches!(o.outcome, Outcome::Skipped(_)) {
                self.killed
                    .entry(name.clone())
                    .or_insert((FaultKind::Kill, id));
            }
        }
        events.extend(process_event(
            Phase::Start,
            FaultKind::Kill,
            id,
            per_node.clone(),
        ));
        Ok(report(per_node, events))
    }

    /// Start `nodes` again if they are not running (same command, same data
    /// directory). Ends the faults that took them down (kill, power loss,
    /// crash at a sync). A node that died on its own is restarted under a
    /// fresh id: a `stop-kill` without a `start-kill`.
    pub async fn restart(&mut self, nodes: &[NodeName]) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        let mut groups: Groups = BTreeMap::new();
        for name in &nodes {
            let node = self.nodes.get_mut(name).expect("known node");
            let outcome = indeterminate_on_error(name, node.start().await);
            let pid = node.pid();
            let id = if outcome.is_installed() {
                self.killed.remove(name)
            } else {
                self.killed.get(name).copied()
            };
            groups
                .entry(id)
                .or_default()
                .insert(name.clone(), NodeOutcome { outcome, pid });
        }
        let mut events = Vec::new();
        let mut all = BTreeMap::new();
        for (down, per_node) in groups {
            let (kind, id) = match down {
                Some(down) => down,
                None => (FaultKind::Kill, self.fresh_id()),
            };
            events.extend(process_event(Phase::Stop, kind, id, per_node.clone()));
            all.extend(per_node);
        }
        Ok(report(all, events))
    }

    /// SIGSTOP `nodes`.
    pub async fn pause(&mut self, nodes: &[NodeName]) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        let mut per_node = BTreeMap::new();
        for name in &nodes {
            let node = self.nodes.get_mut(name).expect("known node");
            let outcome = indeterminate_on_error(name, node.pause());
            per_node.insert(
                name.clone(),
                NodeOutcome {
                    outcome,
                    pid: node.pid(),
                },
            );
        }
        let id = self.fresh_id();
        for (name, o) in &per_node {
            if o.outcome.is_installed() {
                self.paused.insert(name.clone(), id);
            }
        }
        let events = process_event(Phase::Start, FaultKind::Pause, id, per_node.clone())
            .into_iter()
            .collect();
        Ok(report(per_node, events))
    }

    /// SIGCONT `nodes`.
    pub async fn resume(&mut self, nodes: &[NodeName]) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        let mut groups: BTreeMap<Option<FaultId>, BTreeMap<NodeName, NodeOutcome>> =
            BTreeMap::new();
        for name in &nodes {
            let node = self.nodes.get_mut(name).expect("known node");
            let outcome = indeterminate_on_error(name, node.resume());
            let id = self.paused.remove(name);
            groups.entry(id).or_default().insert(
                name.clone(),
                NodeOutcome {
                    outcome,
                    pid: node.pid(),
                },
            );
        }
        let mut events = Vec::new();
        let mut all = BTreeMap::new();
        for (id, per_node) in groups {
            if let Some(id) = id {
                events.extend(process_event(
                    Phase::Stop,
                    FaultKind::Pause,
                    id,
                    per_node.clone(),
                ));
            }
            all.extend(per_node);
        }
        Ok(report(all, events))
    }

    /// End every fault: heal the network, let syncs succeed again, resume
    /// paused nodes, restart dead ones. The final phase of a run, before its
    /// final reads.
    pub async fn recover(&mut self) -> Result<Vec<FaultReport>, FaultError> {
        let all = self.node_names();
        Ok(vec![
            self.heal().await?,
            self.fsync_ok(),
            self.resume(&all).await?,
            self.restart(&all).await?,
        ])
    }

    /// Resume, kill and reap every node, and flush the firewall. Every step
    /// is attempted; the first error is returned.
    pub async fn shutdown(mut self) -> Result<(), FaultError> {
        let mut first_error = None;
        let mut keep = |r: Result<Outcome, FaultError>| {
            if let Err(e) = r {
                tracing::error!(error = %e, "shutdown step failed");
                first_error.get_or_insert(e);
            }
        };
        for node in self.nodes.values_mut() {
            keep(node.resume());
            keep(node.kill().await);
        }
        if let Some(firewall) = self.firewall.as_mut() {
            keep(firewall.heal().await);
        }
        // Drop finds nothing left to do, or retries what failed.
        first_error.map_or(Ok(()), Err)
    }

    /// What `Drop` does: resume, SIGKILL and reap every node, then flush
    /// the firewall, synchronously.
    pub fn cleanup_blocking(&mut self) {
        for node in self.nodes.values_mut() {
            if let Err(e) = node.kill_blocking() {
                tracing::error!(node = %node.name(), error = %e, "cannot kill node during cleanup");
            }
        }
        if let Some(firewall) = self.firewall.as_mut()
            && let Err(e) = firewall.heal_blocking()
        {
            tracing::error!(error = %e, "cannot flush firewall during cleanup");
        }
        self.partition = None;
        self.loss = None;
        self.slow = None;
        self.paused.clear();
        self.fsync_ok();
    }

    fn fresh_id(&mut self) -> FaultId {
        self.ids.next()
    }

    /// The sequence this nemesis draws fault ids from.
    pub fn ids(&self) -> FaultIds {
        self.ids.clone()
    }

    /// Sorted, distinct `nodes`, all known.
    fn known(&self, nodes: &[NodeName]) -> Result<Vec<NodeName>, FaultError> {
        let nodes = dedup(nodes);
        match nodes.iter().find(|n| !self.nodes.contains_key(*n)) {
            Some(node) => Err(FaultError::UnknownNode { node: node.clone() }),
            None => Ok(nodes),
        }
    }

    /// Stop events for the pauses of `nodes` that are in force.
    fn end_pauses(&mut self, nodes: &[NodeName], why: &str) -> Vec<FaultEvent> {
        let mut groups: BTreeMap<FaultId, BTreeMap<NodeName, NodeOutcome>> = BTreeMap::new();
        for name in nodes {
            if let Some(id) = self.paused.remove(name) {
                let pid = self.nodes.get(name).and_then(NodeProcess::pid);
                let outcome = Outcome::skipped(why);
                groups
                    .entry(id)
                    .or_default()
                    .insert(name.clone(), NodeOutcome { outcome, pid });
            }
        }
        groups
            .into_iter()
            .map(|(id, per_node)| {
                FaultEvent::new(
                    Phase::Stop,
                    FaultValue {
                        id,
                        fault: FaultKind::Pause,
                        nodes: per_node.keys().cloned().collect(),
                        detail: FaultDetail::Process { per_node },
                    },
                )
            })
            .collect()
    }
}

impl<B: RuleBackend> Drop for Nemesis<B> {
    fn drop(&mut self) {
        self.cleanup_blocking();
    }
}
