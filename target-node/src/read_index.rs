//! Read barriers for linearizable reads: coalesced leadership
//! confirmations, the catch-up of a leader restarted in its own term, and
//! the (deliberately unsafe) lease of `--read-mode lease`.
//!
//! A linearizable read needs the leader to confirm, after the read
//! arrived, that it still leads (a heartbeat round to a quorum) and that
//! its state machine has applied everything committed before that
//! (openraft's `ensure_linearizable`). One confirmation serves every read
//! that arrived before it started, so concurrent reads share one round
//! instead of sending one each.
//!
//! # Correctness
//! - A waiter is only answered by a barrier that *started after the waiter
//!   registered*: the runner takes the waiting batch and only then calls
//!   `ensure_linearizable`, and a read that arrives meanwhile waits for the
//!   next round. That is exactly the read-index rule.
//! - The read index must cover every acknowledged write. openraft 0.9
//!   takes `max(committed, the leader's first entry of its term)`, which
//!   is right for a newly elected leader (its first entry commits
//!   everything before it) but not for a node that restarts as leader *in
//!   the term it led before the crash*, which openraft does when its vote
//!   is committed for itself: its first entry of the term is long
//!   committed, and its committed index is whatever was last saved, which
//!   may be older than the last acknowledged write. So such a node
//!   ([`RestartFloor`]) answers reads only once it has applied its whole
//!   log as found at startup. Every acknowledged write is in that log:
//!   acknowledged means committed, a leader's entries are synced before
//!   any follower can read them, and an earlier term's committed entries
//!   are in any later leader's log. After a new election the floor is
//!   dropped: the new term's first entry does the job.
//! - `--read-mode lease` serves reads without a barrier while, by the
//!   node's own clock, less than the lease (the election timeout's lower
//!   bound) has passed since the start of its last successful barrier in
//!   its current term. With true clocks that is safe (followers refuse
//!   other candidates for longer than that after the barrier's
//!   heartbeats); a clock that runs slow or jumps back makes it serve
//!   stale reads. It exists for the harness's clock faults to catch.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use openraft::{
    error::{CheckIsLeaderError, Fatal, RaftError},
    metrics::WaitError,
    storage::RaftLogStorage,
};
use tokio::sync::oneshot;

use crate::{
    store::LogStore,
    types::{NodeId, Raft, StorageError},
};

/// Why a read barrier did not confirm.
#[derive(Clone, Debug, thiserror::Error)]
pub enum BarrierError {
    /// openraft could not confirm leadership (not the leader, no quorum,
    /// stopped).
    #[error(transparent)]
    Raft(#[from] RaftError<NodeId, CheckIsLeaderError<NodeId, openraft::BasicNode>>),
    /// A leader restarted in its own term has not yet applied the log it
    /// found at startup.
    #[error(
        "catching up after a restart: applied {applied:?} of the {floor} entries found at startup"
    )]
    CatchingUp { applied: Option<u64>, floor: u64 },
}

/// A node that restarted as leader of the term it led: the last index of
/// the log it found, which reads must wait for while it leads that term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartFloor {
    pub term: u64,
    pub index: u64,
}

impl RestartFloor {
    /// The floor of node `id` from its stored vote and log, if openraft
    /// will restart it as leader (its vote is committed and its own).
    pub async fn found(log: &mut LogStore, id: NodeId) -> Result<Option<Self>, StorageError> {
        let Some(vote) = log.read_vote().await? else {
            return Ok(None);
        };
        if !vote.committed || vote.leader_id.voted_for() != Some(id) {
            return Ok(None);
        }
        let last = log.get_log_state().await?.last_log_id;
        Ok(last.map(|last| RestartFloor {
            term: vote.leader_id.get_term(),
            index: last.index,
        }))
    }
}

/// When the last successful barrier started, and in which term.
#[derive(Clone, Copy, Debug)]
struct Lease {
    term: u64,
    since: Instant,
}

#[derive(Default)]
struct Waiting {
    /// A runner task is active.
    running: bool,
    waiters: Vec<oneshot::Sender<Result<(), BarrierError>>>,
}

/// What a [`ReadBarrier`] needs besides the Raft handle.
#[derive(Clone, Copy, Debug)]
pub struct BarrierSettings {
    /// How long a lease lasts after its barrier started (`--read-mode
    /// lease` only).
    pub lease: Duration,
    /// How long one barrier waits for the restart floor before it gives up.
    pub catch_up_timeout: Duration,
    /// Set when the node restarted as leader in its own term.
    pub restart_floor: Option<RestartFloor>,
}

/// Shares leadership confirmations among concurrent reads.
pub struct ReadBarrier {
    raft: Raft,
    settings: BarrierSettings,
    waiting: Mutex<Waiting>,
    floor: Mutex<Option<RestartFloor>>,
    lease: Mutex<Option<Lease>>,
}

/// Locks `m`; these locks guard plain data, so a panic while one was
/// held left nothing half-done.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ReadBarrier {
    pub fn new(raft: Raft, settings: BarrierSettings) -> Arc<ReadBarrier> {
        Arc::new(ReadBarrier {
            raft,
            settings,
            waiting: Mutex::new(Waiting::default()),
            floor: Mutex::new(settings.restart_floor),
            lease: Mutex::new(None),
        })
    }

    /// Returns once a barrier that started after this call has confirmed
    /// leadership and the state machine caught up with it.
    pub async fn confirm(self: &Arc<Self>) -> Result<(), BarrierError> {
        let (tx, rx) = oneshot::channel();
        let start_runner = {
            let mut waiting = lock(&self.waiting);
            waiting.waiters.push(tx);
            !std::mem::replace(&mut waiting.running, true)
        };
        if start_runner {
            tokio::spawn(self.clone().run());
        }
        match rx.await {
            Ok(result) => result,
            // The runner never drops a sender unanswered; if the task was
            // cancelled (runtime shutting down), say the node is stopping.
            Err(_) => Err(RaftError::Fatal(Fatal::Stopped).into()),
        }
    }

    /// Whether node `me` may answer a read from its own state without a
    /// barrier: it leads, and by its own clock its lease in this term has
    /// not run out. DELIBERATELY UNSAFE under clock faults (module docs).
    pub fn within_lease(&self, me: NodeId) -> bool {
        let (leader, term) = {
            let metrics = self.raft.metrics();
            let m = metrics.borrow();
            (m.current_leader, m.current_term)
        };
        let Some(lease) = *lock(&self.lease) else {
            return false;
        };
        // `elapsed` saturates: a clock that jumped back reads zero.
        leader == Some(me) && lease.term == term && lease.since.elapsed() < self.settings.lease
    }

    async fn run(self: Arc<Self>) {
        loop {
            let batch = {
                let mut waiting = lock(&self.waiting);
                if waiting.waiters.is_empty() {
                    waiting.running = false;
                    return;
                }
                std::mem::take(&mut waiting.waiters)
            };
            // Every waiter in `batch` registered before this round starts.
            let since = Instant::now();
            let term_before = self.raft.metrics().borrow().current_term;
            let result = self.round().await;
            // A lease only for a term the round began and ended in.
            if let Ok(term) = result
                && term == term_before
            {
                *lock(&self.lease) = Some(Lease { term, since });
            }
            let result = result.map(|_| ());
            for waiter in batch {
                let _ = waiter.send(result.clone());
            }
        }
    }

    /// One confirmation: leadership, the state machine caught up with the
    /// read index, and with the restart floor if one applies. Returns the
    /// term it confirmed.
    async fn round(&self) -> Result<u64, BarrierError> {
        self.raft.ensure_linearizable().await?;
        let term = self.raft.metrics().borrow().current_term;
        let floor = *lock(&self.floor);
        match floor {
            Some(floor) if floor.term == term => self.reach(floor).await?,
            // Elected again since the restart: the new term's first entry
            // covers everything before it.
            Some(_) => *lock(&self.floor) = None,
            None => {}
        }
        Ok(term)
    }

    /// Waits until the state machine has applied `floor`, then drops it.
    async fn reach(&self, floor: RestartFloor) -> Result<(), BarrierError> {
        let wait = self.raft.wait(Some(self.settings.catch_up_timeout));
        match wait
            .applied_index_at_least(Some(floor.index), "restart floor")
            .await
        {
            Ok(_) => {
                tracing::info!(
                    index = floor.index,
                    "applied the log found at restart; serving reads"
                );
                *lock(&self.floor) = None;
                Ok(())
            }
            Err(WaitError::Timeout(..)) => Err(BarrierError::CatchingUp {
                applied: self.raft.metrics().borrow().last_applied.map(|l| l.index),
                floor: floor.index,
            }),
            Err(WaitError::ShuttingDown) => Err(RaftError::Fatal(Fatal::Stopped).into()),
        }
    }
}
