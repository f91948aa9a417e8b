//! The long-lived thread that forks every node process.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits,
//! not the process. A node forked from a tokio `spawn_blocking` thread would
//! be SIGKILLed as soon as that pool thread idles out (10 s by default), a
//! node forked from a scoped thread when the scope ends. So every node is
//! forked here, on one thread that lives, parked on a channel, until the
//! process exits.
//!
//! Invariants:
//! - The thread never exits while the process lives: a job that panics is
//!   caught and reported, and the channel's sender is never dropped.
//! - The thread is created from whichever thread first spawns a node, and
//!   inherits that thread's network namespace; after
//!   [`crate::netns::enter_private_namespace`] every thread is in the
//!   private namespace, so this one is too.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Mutex, OnceLock, mpsc},
    thread,
};

type Job = Box<dyn FnOnce() + Send>;

static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();

fn sender() -> mpsc::Sender<Job> {
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            thread::Builder::new()
                .name("faults-spawner".into())
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        if catch_unwind(AssertUnwindSafe(job)).is_err() {
                            tracing::error!("a job on the faults spawner thread panicked");
                        }
                    }
                })
                .expect("the faults spawner thread must start");
            Mutex::new(tx)
        })
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Run `job` on the spawner thread and await its result.
pub(crate) async fn on_spawner_thread<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    sender()
        .send(Box::new(move || {
            let _ = tx.send(job());
        }))
        .expect("the faults spawner thread lives as long as the process");
    rx.await
        .expect("the faults spawner thread answers every job it receives")
}
