//! The fault seam of the controller: each fault kind a plan can name is a
//! [`Fault`], one file each ([`kill`], [`pause`], [`partition`],
//! [`loss`], [`clock`], [`slow`], [`power_loss`], [`fsync_error`],
//! [`crash_at_fsync`]; the disk kinds share the mounts of [`disk`]),
//! registered in [`ALL`]. A kind says which plan fields it
//! takes, how to check them, and how to start and stop itself with the
//! verbs of `faults::Nemesis`; [`schedule`] runs any of them on the plan's
//! schedule and records every start and stop in the history.
//!
//! Adding a fault kind: its verb in the `faults` crate (the mechanism and
//! its cleanup), a file here implementing [`Fault`] plus a line in
//! [`ALL`], any new plan field in `plan::model::FaultSpec`, and its
//! section in docs/faults.md.

mod clock;
mod crash_at_fsync;
mod disk;
mod fsync_error;
mod kill;
mod loss;
mod partition;
mod pause;
mod power_loss;
pub mod schedule;
mod slow;

use std::{
    any::Any,
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use faults::{FaultError, FaultIds, FaultReport, Nemesis, NodeName, net::AnyBackend};
use plan::{FaultSpec, Plan, Problem, ShapeSpec, TargetKind, TargetSpec};
use rand_chacha::ChaCha8Rng;
use rundir::RunDir;
use systems::{BoxFuture, Cluster, cluster::ClusterNode};

use crate::recorder::Recorder;

/// Every fault kind, by the name plans use (`fault:`).
pub const ALL: &[&dyn Fault] = &[
    &kill::Kill,
    &pause::Pause,
    &partition::Partition,
    &loss::Loss,
    &clock::Clock,
    &slow::Slow,
    &power_loss::PowerLoss,
    &fsync_error::FsyncError,
    &crash_at_fsync::CrashAtFsync,
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
    /// What fault kinds set up before the nodes started ([`Fault::setup`]).
    pub rigs: tokio::sync::Mutex<Rigs>,
    /// Faults in force, for the progress line.
    pub active: Arc<Mutex<BTreeSet<String>>>,
    /// Problems injecting faults (shown in the summary).
    pub problems: Arc<Mutex<Vec<String>>>,
}

/// State that fault kinds keep for the whole run (a clock control, the
/// durable mounts of the nodes' data), by a name of the kinds' choosing:
/// kinds that work the same mechanism share one rig. Dropped after the
/// nodes are stopped, so a rig's `Drop` may undo what it set up.
///
/// Also the run's one sequence of fault ids ([`Rigs::ids`]): the nemesis
/// and every rig that makes history events draw from it, so ids are
/// unique in a run.
#[derive(Default)]
pub struct Rigs {
    kept: BTreeMap<&'static str, Box<dyn Any + Send + Sync>>,
    ids: FaultIds,
}

impl Rigs {
    /// Keeps `rig` under `name`, replacing any.
    pub fn insert<T: Any + Send + Sync>(&mut self, name: &'static str, rig: T) {
        self.kept.insert(name, Box::new(rig));
    }

    /// The rig under `name`, if it is a `T`.
    pub fn get<T: Any>(&self, name: &str) -> Option<&T> {
        self.kept.get(name)?.downcast_ref()
    }

    /// The rig under `name`, if it is a `T`, to change it.
    pub fn get_mut<T: Any>(&mut self, name: &str) -> Option<&mut T> {
        self.kept.get_mut(name)?.downcast_mut()
    }

    /// Whether a rig is kept under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.kept.contains_key(name)
    }

    /// The run's fault ids (clones share the counter).
    pub fn ids(&self) -> FaultIds {
        self.ids.clone()
    }
}

/// What [`Fault::setup`] may change before the nodes start.
pub struct Setup<'a> {
    pub plan: &'a Plan,
    pub dir: &'a RunDir,
    /// The nodes, whose specs (command, environment) may still change.
    pub nodes: &'a mut [ClusterNode],
    pub rigs: &'a mut Rigs,
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

    /// Whether it needs the nodes' data on durable mounts (and so a
    /// private mount namespace).
    fn uses_mounts(&self) -> bool {
        false
    }

    /// Before any node starts, once per run for each kind the plan uses:
    /// change the nodes' specs (a preloaded library, a mounted data
    /// directory) and keep what the faults will need in `setup.rigs`.
    fn setup(&self, _setup: &mut Setup<'_>) -> Result<(), String> {
        Ok(())
    }

    /// In the final phase, after the nemesis has healed, resumed and
    /// restarted: undo what this kind may have left in force (clocks back
    /// to real time). The returned reports are recorded.
    fn recover<'a>(&'a self, _ctx: &'a NemesisContext) -> BoxFuture<'a, Vec<FaultReport>> {
        Box::pin(async { Vec::new() })
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

    /// Ends what [`Fault::start`] started (with the nemesis, or with the
    /// kind's rig: a clock's reset). The returned report's events are
    /// recorded.
    fn stop<'a>(
        &'a self,
        ctx: &'a NemesisContext,
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
    kinds_in(plan).iter().any(|k| k.uses_firewall())
}

/// Does the plan use durable mounts (disk faults)?
pub fn needs_mounts(plan: &Plan) -> bool {
    kinds_in(plan).iter().any(|k| k.uses_mounts())
}

/// The fault kinds the plan uses, each once, in the order of [`ALL`].
pub fn kinds_in(plan: &Plan) -> Vec<&'static dyn Fault> {
    let named: BTreeSet<&str> = entries(plan).map(|f| f.fault.value.as_str()).collect();
    ALL.iter()
        .copied()
        .filter(|k| named.contains(k.name()))
        .collect()
}

/// Runs [`Fault::setup`] of every kind the plan uses.
pub fn setup(
    plan: &Plan,
    dir: &RunDir,
    nodes: &mut [ClusterNode],
    rigs: &mut Rigs,
) -> Result<(), String> {
    for kind in kinds_in(plan) {
        let mut setup = Setup {
            plan,
            dir,
            nodes,
            rigs,
        };
        kind.setup(&mut setup)
            .map_err(|e| format!("cannot set up {} faults: {e}", kind.name()))?;
    }
    Ok(())
}

/// Runs [`Fault::recover`] of every kind the plan uses, recording what
/// each did.
pub async fn recover(plan: &Plan, ctx: &NemesisContext) {
    for kind in kinds_in(plan) {
        for report in kind.recover(ctx).await {
            report.events.iter().for_each(|e| ctx.recorder.nemesis(e));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rigs_are_found_by_name_and_type() {
        let mut rigs = Rigs::default();
        rigs.insert("clock", 7_u32);
        assert_eq!(rigs.get::<u32>("clock"), Some(&7));
        assert_eq!(rigs.get::<String>("clock"), None, "another type");
        assert!(rigs.get::<u32>("disk").is_none());
        *rigs.get_mut::<u32>("clock").expect("present") += 1;
        assert_eq!(rigs.get::<u32>("clock"), Some(&8));
        assert!(rigs.contains("clock"));
    }

    #[test]
    fn every_kind_has_a_unique_name_and_known_fields() {
        let names: BTreeSet<&str> = ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), ALL.len());
        // Every field a kind takes is one that `FaultSpec::fields` reports,
        // so that the others can be refused.
        let known = [
            "target",
            "shape",
            "for",
            "restart-after",
            "probability",
            "offset",
            "rate",
            "strobe",
            "delay",
            "jitter",
            "reorder",
            "links",
            "sync",
            "file",
        ];
        for kind in ALL {
            for field in kind.fields() {
                assert!(known.contains(field), "{}: {field}", kind.name());
            }
            assert!(find(kind.name()).is_some());
        }
    }
}
