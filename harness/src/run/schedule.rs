//! The fault schedule: turns the plan's `faults` section into calls on the
//! nemesis, beside the clients, and records every start and stop.
//!
//! - Random schedule: wait `every`, pick a fault by weight, let it run its
//!   course (`for` / `restart-after`), end it, repeat. One fault at a time.
//! - Timeline: each entry starts at its `at` and ends after its duration;
//!   entries may overlap. Network faults share one firewall, so the end of
//!   any network fault heals the whole network.
//!
//! When the run is told to stop, a fault in force is ended at once.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use faults::{FaultReport, Nemesis, NodeName, PartitionShape, Target, net::AnyBackend};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;

use super::{cluster::Cluster, recorder::Recorder};
use crate::plan::{FaultKind, FaultSpec, FaultsSpec, ShapeSpec, TargetKind, TargetSpec};

/// How long a pause, partition or loss lasts when the plan does not say.
pub const DEFAULT_FOR: Duration = Duration::from_secs(3);
/// How long a killed node stays down when the plan does not say.
pub const DEFAULT_RESTART_AFTER: Duration = Duration::from_secs(2);

/// What the scheduler works with.
pub struct NemesisContext {
    pub nemesis: Arc<tokio::sync::Mutex<Nemesis<AnyBackend>>>,
    pub cluster: Arc<Cluster>,
    pub recorder: Arc<Recorder>,
    /// Faults in force, for the progress line.
    pub active: Arc<Mutex<BTreeSet<String>>>,
    /// Problems injecting faults (shown in the summary).
    pub problems: Arc<Mutex<Vec<String>>>,
}

/// Runs the plan's schedule until `stop` turns true.
pub async fn run_schedule(
    ctx: Arc<NemesisContext>,
    spec: FaultsSpec,
    seed: u64,
    stop: watch::Receiver<bool>,
) {
    if let Some(every) = &spec.every {
        random_schedule(&ctx, &spec.pick, every.value.get(), seed, stop).await;
    } else if !spec.timeline.is_empty() {
        let started = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for (i, entry) in spec.timeline.into_iter().enumerate() {
            let (ctx, mut stop) = (ctx.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let at = entry.at.as_ref().map_or(Duration::ZERO, |a| a.value.get());
                if !wait(started + at, &mut stop).await {
                    return;
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64 + 1));
                inject(&ctx, &entry, &mut rng, &mut stop).await;
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

async fn random_schedule(
    ctx: &NemesisContext,
    pick: &[FaultSpec],
    every: Duration,
    seed: u64,
    mut stop: watch::Receiver<bool>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total: u32 = pick.iter().map(weight).sum();
    loop {
        if !wait(tokio::time::Instant::now() + every, &mut stop).await {
            return;
        }
        let mut ticket = rng.random_range(0..total.max(1));
        let chosen = pick.iter().find(|f| {
            let w = weight(f);
            if ticket < w {
                true
            } else {
                ticket -= w;
                false
            }
        });
        if let Some(fault) = chosen {
            inject(ctx, fault, &mut rng, &mut stop).await;
        }
    }
}

fn weight(fault: &FaultSpec) -> u32 {
    fault.weight.as_ref().map_or(1, |w| w.value)
}

/// Sleeps until `deadline`; false if told to stop first.
async fn wait(deadline: tokio::time::Instant, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    let slept = tokio::select! {
        _ = tokio::time::sleep_until(deadline) => true,
        _ = stop.wait_for(|s| *s) => false,
    };
    slept && !*stop.borrow()
}

/// Starts one fault, waits its duration (or until stop), ends it.
async fn inject(
    ctx: &NemesisContext,
    fault: &FaultSpec,
    rng: &mut ChaCha8Rng,
    stop: &mut watch::Receiver<bool>,
) {
    let nodes = ctx.cluster.names();
    let kind = fault.fault.value;
    let lasts = fault.lasts.as_ref().map_or(DEFAULT_FOR, |d| d.value.get());
    let needs_leader = matches!(
        fault.target.as_ref().map(|t| &t.value),
        Some(TargetSpec::Kind(TargetKind::Leader))
    ) || matches!(
        fault.shape.as_ref().map(|s| s.value),
        Some(ShapeSpec::IsolateLeader)
    );
    let leader = if needs_leader {
        ctx.cluster.leader().await
    } else {
        None
    };
    let label;
    match kind {
        FaultKind::Kill | FaultKind::Pause | FaultKind::Loss => {
            let target = to_target(fault.target.as_ref().map(|t| &t.value));
            let targets = match target.resolve(&nodes, leader.as_ref(), rng) {
                Ok(t) => t,
                Err(e) => return ctx.problem(format!("{kind:?} skipped: {e}")),
            };
            label = format!("{} {}", name(kind), join(&targets));
            let started = {
                let mut nemesis = ctx.nemesis.lock().await;
                match kind {
                    FaultKind::Kill => nemesis.kill(&targets).await,
                    FaultKind::Pause => nemesis.pause(&targets).await,
                    _ => {
                        let p = fault.probability.as_ref().map_or(0.5, |p| p.value);
                        nemesis.loss(&targets, p).await
                    }
                }
            };
            if !ctx.started(&label, started) {
                return;
            }
            let hold = if kind == FaultKind::Kill {
                fault
                    .restart_after
                    .as_ref()
                    .map_or(DEFAULT_RESTART_AFTER, |d| d.value.get())
            } else {
                lasts
            };
            wait(tokio::time::Instant::now() + hold, stop).await;
            let ended = {
                let mut nemesis = ctx.nemesis.lock().await;
                match kind {
                    FaultKind::Kill => nemesis.restart(&targets).await,
                    FaultKind::Pause => nemesis.resume(&targets).await,
                    _ => nemesis.heal().await,
                }
            };
            ctx.ended(&label, ended);
        }
        FaultKind::Partition => {
            let shape = to_shape(fault.shape.as_ref().map_or(ShapeSpec::Halves, |s| s.value));
            let grudge = match shape.grudge(&nodes, leader.as_ref(), rng) {
                Ok(g) => g,
                Err(e) => return ctx.problem(format!("partition {} skipped: {e}", shape.name())),
            };
            label = format!("partition {}", shape.name());
            let started = ctx
                .nemesis
                .lock()
                .await
                .partition(grudge, Some(shape))
                .await;
            if !ctx.started(&label, started) {
                return;
            }
            wait(tokio::time::Instant::now() + lasts, stop).await;
            let ended = ctx.nemesis.lock().await.heal().await;
            ctx.ended(&label, ended);
        }
    }
}

impl NemesisContext {
    fn problem(&self, message: String) {
        tracing::warn!("{message}");
        self.problems.lock().expect("problems lock").push(message);
    }

    fn record(&self, report: &FaultReport) {
        for event in &report.events {
            self.recorder.nemesis(event);
        }
    }

    /// Records a fault's start; false if nothing was started.
    fn started(&self, label: &str, result: Result<FaultReport, faults::FaultError>) -> bool {
        match result {
            Ok(report) => {
                self.record(&report);
                if report.events.is_empty() {
                    tracing::info!(fault = label, outcome = ?report.outcome, "fault skipped");
                    return false;
                }
                tracing::info!(fault = label, "fault started");
                self.active
                    .lock()
                    .expect("active lock")
                    .insert(label.to_owned());
                true
            }
            Err(e) => {
                self.problem(format!("{label} failed to start: {e}"));
                false
            }
        }
    }

    fn ended(&self, label: &str, result: Result<FaultReport, faults::FaultError>) {
        self.active.lock().expect("active lock").remove(label);
        match result {
            Ok(report) => {
                self.record(&report);
                tracing::info!(fault = label, "fault ended");
            }
            Err(e) => self.problem(format!("{label} failed to end: {e}")),
        }
    }
}

fn to_target(spec: Option<&TargetSpec>) -> Target {
    match spec {
        None | Some(TargetSpec::Kind(TargetKind::One)) => Target::One,
        Some(TargetSpec::Kind(TargetKind::Leader)) => Target::Leader,
        Some(TargetSpec::Kind(TargetKind::Minority)) => Target::Minority,
        Some(TargetSpec::Kind(TargetKind::Majority)) => Target::Majority,
        Some(TargetSpec::Kind(TargetKind::All)) => Target::All,
        Some(TargetSpec::Named(names)) => Target::Named(names.iter().map(NodeName::new).collect()),
    }
}

fn to_shape(spec: ShapeSpec) -> PartitionShape {
    match spec {
        ShapeSpec::IsolateOne => PartitionShape::IsolateOne,
        ShapeSpec::IsolateLeader => PartitionShape::IsolateLeader,
        ShapeSpec::Halves => PartitionShape::Halves,
        ShapeSpec::MajoritiesRing => PartitionShape::MajoritiesRing,
        ShapeSpec::Bridge => PartitionShape::Bridge,
    }
}

fn name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Kill => "kill",
        FaultKind::Pause => "pause",
        FaultKind::Partition => "partition",
        FaultKind::Loss => "loss",
    }
}

fn join(nodes: &[NodeName]) -> String {
    nodes
        .iter()
        .map(NodeName::as_str)
        .collect::<Vec<_>>()
        .join(",")
}
