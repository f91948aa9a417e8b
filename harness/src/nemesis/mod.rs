//! The fault seam of the controller: each fault kind a plan can name is a
//! [`Fault`], one file each ([`kill`], [`pause`], [`partition`],
//! [`loss`]), registered in [`ALL`]. A kind says which plan fields it
//! takes, how to check them, and how to start and stop itself with the
//! verbs of `faults::Nemesis`; [`schedule`] runs any of them on the plan's
//! schedule and records every start and stop in the history.
//!
//! Adding a fault kind: its verb in the `faults` crate (the mechanism and
//! its cleanup), a file here implementing [`Fault`] plus a line in
//! [`ALL`], any new plan field in `plan::model::FaultSpec`, and its
//! section in docs/faults.md.

mod kill;
mod loss;
mod partition;
mod pause;
pub mod schedule;

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use faults::{FaultError, FaultReport, Nemesis, NodeName, net::AnyBackend};
use plan::{FaultSpec, Plan, Problem, ShapeSpec, TargetKind, TargetSpec};
use rand_chacha::ChaCha8Rng;
use systems::{BoxFuture, Cluster};

use crate::recorder::Recorder;

/// Every fault kind, by the name plans use (`fault:`).
pub const ALL: &[&dyn Fault] = &[
    &kill::Kill,
    &pause::Pause,
    &partition::Partition,
    &loss::Loss,
];

/// The fault kind called `name`.
pub fn find(name: &str) -> Option<&'static dyn Fault> {
    ALL.iter().copied().find(|f| f.name() == name)
}

/// How long a fault lasts when the plan does not say.
pub const DEFAULT_FOR: Duration = Duration::from_secs(3);

/// A fault that has started: what to show, and what to stop.
pub struct Started {
    /// Shown on the progress line: `kill n2`, `partition halves`.
    pub label: String,
    /// The nodes it hit.
    pub nodes: Vec<NodeName>,
}

/// What a fault kind works with.
pub struct NemesisContext {
    pub nemesis: Arc<tokio::sync::Mutex<Nemesis<AnyBackend>>>,
    pub cluster: Arc<Cluster>,
    pub recorder: Arc<Recorder>,
    /// Faults in force, for the progress line.
    pub active: Arc<Mutex<BTreeSet<String>>>,
    /// Problems injecting faults (shown in the summary).
    pub problems: Arc<Mutex<Vec<String>>>,
}

impl NemesisContext {
    /// A problem injecting faults: logged, and shown in the run's notes.
    pub fn problem(&self, message: String) {
        tracing::warn!("{message}");
        self.problems.lock().expect("problems lock").push(message);
    }
}

/// One kind of fault.
pub trait Fault: Sync {
    /// The name plans use (`fault: kill`).
    fn name(&self) -> &'static str;

    /// The kind-specific fields of a fault entry it takes (`target`,
    /// `shape`, `for`, ...); the others are refused with a located error.
    fn fields(&self) -> &'static [&'static str];

    /// Further checks of one entry (required fields, sizes).
    fn check(&self, _plan: &Plan, _spec: &FaultSpec, _problems: &mut Vec<Problem>) {}

    /// Whether it needs the firewall (and so a private network namespace).
    fn uses_firewall(&self) -> bool {
        false
    }

    /// Starts the fault: `Ok(None)` if it changed nothing (skipped, with
    /// the nemesis's report recorded), `Err` with why it could not start.
    /// `leader` is the current leader when the entry targets it.
    fn start<'a>(
        &'a self,
        ctx: &'a NemesisContext,
        spec: &'a FaultSpec,
        leader: Option<&'a NodeName>,
        rng: &'a mut ChaCha8Rng,
    ) -> BoxFuture<'a, Result<Option<Started>, String>>;

    /// How long it holds before [`Fault::stop`].
    fn holds(&self, spec: &FaultSpec) -> Duration {
        spec.lasts.as_ref().map_or(DEFAULT_FOR, |d| d.value.get())
    }

    /// Ends what [`Fault::start`] started.
    fn stop<'a>(
        &'a self,
        nemesis: &'a mut Nemesis<AnyBackend>,
        started: &'a Started,
    ) -> BoxFuture<'a, Result<FaultReport, FaultError>>;
}

/// Whether the entry needs to know the leader.
pub fn targets_leader(spec: &FaultSpec) -> bool {
    matches!(
        spec.target.as_ref().map(|t| &t.value),
        Some(TargetSpec::Kind(TargetKind::Leader))
    ) || matches!(
        spec.shape.as_ref().map(|s| s.value),
        Some(ShapeSpec::IsolateLeader)
    )
}

/// Every fault entry of the plan, random and timeline.
pub fn entries(plan: &Plan) -> impl Iterator<Item = &FaultSpec> {
    plan.faults.pick.iter().chain(&plan.faults.timeline)
}

/// Does the plan use the firewall?
pub fn needs_firewall(plan: &Plan) -> bool {
    entries(plan).any(|f| find(&f.fault.value).is_some_and(|k| k.uses_firewall()))
}

/// The plan rules of fault kinds: each entry names a kind, sets only the
/// fields that kind takes, and passes the kind's own checks; leader
/// targets need a system that names leaders; partitions in `loopback`
/// mode need a system that binds its outgoing connections.
pub fn check_plan(plan: &Plan, problems: &mut Vec<Problem>) {
    let system = systems::find(&plan.cluster.system.value);
    for spec in entries(plan) {
        let here = &spec.fault.referenced;
        let Some(kind) = find(&spec.fault.value) else {
            problems.push(Problem::at(
                here,
                format!(
                    "unknown fault `{}`; expected one of {}",
                    spec.fault.value,
                    ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
                ),
            ));
            continue;
        };
        for (field, location) in spec.fields() {
            if !kind.fields().contains(&field) {
                let hint = if field == "for" && kind.name() == "kill" {
                    " (a killed node comes back after `restart-after`)"
                } else {
                    ""
                };
                problems.push(Problem::at(
                    location,
                    format!("`{field}` does not apply to a {} fault{hint}", kind.name()),
                ));
            }
        }
        kind.check(plan, spec, problems);
        let Some(system) = system else { continue };
        if targets_leader(spec) && !system.names_leader(plan) {
            problems.push(Problem::at(
                here,
                format!(
                    "this {} fault targets the leader, but the nodes of this `system: {}` plan name no leader",
                    kind.name(),
                    system.name()
                ),
            ));
        }
        if kind.uses_firewall()
            && !system.binds_outgoing()
            && systems::network_mode(plan) == plan::NetworkMode::Loopback
        {
            problems.push(Problem::at(
                here,
                format!(
                    "{} cannot bind its outgoing connections to its node's address, so loopback rules cannot tell \
                     its nodes apart; use `network: namespaces` (the default for {})",
                    system.name(),
                    system.name()
                ),
            ));
        }
    }
}

/// `n1,n3`.
pub fn join(nodes: &[NodeName]) -> String {
    nodes
        .iter()
        .map(NodeName::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// The nodes a `target` names, resolved with the run's rng.
pub fn resolve(
    spec: &FaultSpec,
    nodes: &[NodeName],
    leader: Option<&NodeName>,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<NodeName>, String> {
    let target = match spec.target.as_ref().map(|t| &t.value) {
        None | Some(TargetSpec::Kind(TargetKind::One)) => faults::Target::One,
        Some(TargetSpec::Kind(TargetKind::Leader)) => faults::Target::Leader,
        Some(TargetSpec::Kind(TargetKind::Minority)) => faults::Target::Minority,
        Some(TargetSpec::Kind(TargetKind::Majority)) => faults::Target::Majority,
        Some(TargetSpec::Kind(TargetKind::All)) => faults::Target::All,
        Some(TargetSpec::Named(names)) => {
            faults::Target::Named(names.iter().map(NodeName::new).collect())
        }
    };
    target
        .resolve(nodes, leader, rng)
        .map_err(|e| e.to_string())
}

/// Records a fault report's events; `Ok(None)` if it changed nothing.
pub fn started(
    ctx: &NemesisContext,
    report: Result<FaultReport, FaultError>,
    started: Started,
) -> Result<Option<Started>, String> {
    let report = report.map_err(|e| e.to_string())?;
    for event in &report.events {
        ctx.recorder.nemesis(event);
    }
    if report.events.is_empty() {
        tracing::info!(fault = started.label, outcome = ?report.outcome, "fault skipped");
        return Ok(None);
    }
    Ok(Some(started))
}
