//! The fault schedule: turns the plan's `faults` section into calls on the
//! nemesis, beside the clients, and records every start and stop.
//!
//! - Random schedule: wait `every`, pick a fault by weight, let it run its
//!   course (`for` / `restart-after`), end it, repeat. One fault at a time.
//! - Timeline: each entry starts at its `at` and ends after its duration;
//!   entries may overlap. Network faults share one firewall but keep
//!   separate rule sets: the end of a partition heals the partition, not a
//!   slow network or loss in force (and the reverse).
//!
//! When the run is told to stop, a fault in force is ended at once.

use std::{sync::Arc, time::Duration};

use plan::{FaultSpec, FaultsSpec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;

use super::{NemesisContext, find, targets_leader};

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
    spec: &FaultSpec,
    rng: &mut ChaCha8Rng,
    stop: &mut watch::Receiver<bool>,
) {
    let kind = find(&spec.fault.value).expect("validated plans name known faults");
    let leader = if targets_leader(spec) {
        ctx.cluster.leader().await
    } else {
        None
    };
    let started = match kind.start(ctx, spec, leader.as_ref(), rng).await {
        Ok(Some(started)) => started,
        Ok(None) => return,
        Err(e) => return ctx.problem(format!("{} skipped: {e}", kind.name())),
    };
    tracing::info!(fault = started.label, "fault started");
    ctx.active
        .lock()
        .expect("active lock")
        .insert(started.label.clone());
    wait(tokio::time::Instant::now() + kind.holds(spec), stop).await;
    let ended = kind.stop(ctx, &started).await;
    ctx.active
        .lock()
        .expect("active lock")
        .remove(&started.label);
    match ended {
        Ok(report) => {
            for event in &report.events {
                ctx.recorder.nemesis(event);
            }
            tracing::info!(fault = started.label, "fault ended");
        }
        Err(e) => ctx.problem(format!("{} failed to end: {e}", started.label)),
    }
}
