//! Client workers: `concurrency` logical processes issuing the workload's
//! operations at the plan's total rate, each bound to one node.
//!
//! Invariants (Jepsen's process model):
//! - A process has at most one operation in flight.
//! - After an `info` completion the operation may still be in flight, so
//!   the worker continues under a fresh process id; ids are never reused.
//! - A worker stops issuing when told to, and finishes the operation it
//!   has in flight first (bounded by the operation timeout).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use systems::{Client, Completion};
use tokio::{sync::watch, time::Instant};
use workloads::Generator;

use crate::recorder::Recorder;

/// What every worker shares.
pub struct Shared {
    pub workload: Mutex<Box<dyn Generator>>,
    pub recorder: Arc<Recorder>,
    /// The next fresh process id.
    pub next_process: AtomicU64,
}

impl Shared {
    pub fn new(
        workload: Box<dyn Generator>,
        recorder: Arc<Recorder>,
        concurrency: usize,
    ) -> Shared {
        Shared {
            workload: Mutex::new(workload),
            recorder,
            next_process: AtomicU64::new(concurrency as u64),
        }
    }

    pub fn fresh_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }
}

/// One worker's settings.
pub struct WorkerConfig {
    pub id: usize,
    pub node: String,
    pub client: Arc<dyn Client>,
    /// Mean time between this worker's operations.
    pub interval: Duration,
    pub seed: u64,
}

/// Runs one worker until `stop` turns true.
pub async fn run_worker(
    shared: Arc<Shared>,
    config: WorkerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(
        config.seed ^ (config.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let mut process = config.id as u64;
    // Spread the workers' first operations over one interval.
    let mut next = Instant::now() + config.interval.mul_f64(rng.random_range(0.0..1.0));
    loop {
        // A timer costs a trip through tokio's timer wheel even when it is
        // already due; at full speed, only check for the stop signal.
        if next > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
        }
        if *stop.borrow() {
            break;
        }
        let op = shared
            .workload
            .lock()
            .expect("workload lock is never poisoned")
            .next_op();
        shared.recorder.invoke(process, &op, &config.node, false);
        let completion = config.client.invoke(&op).await;
        shared
            .recorder
            .complete(process, &op, &config.node, &completion, false);
        if matches!(completion, Completion::Info(_)) {
            process = shared.fresh_process();
        }
        // Jitter keeps workers from marching in lockstep.
        next += config.interval.mul_f64(rng.random_range(0.5..1.5));
        let now = Instant::now();
        if next < now {
            next = now;
        }
    }
}
