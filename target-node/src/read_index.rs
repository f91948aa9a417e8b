//! Coalesced read barriers for linearizable reads.
//!
//! A linearizable read needs the leader to confirm, after the read
//! arrived, that it still leads (a heartbeat round to a quorum) and that
//! its state machine has applied everything committed before that
//! (openraft's `ensure_linearizable`). One confirmation serves every read
//! that arrived before it started, so concurrent reads share one round
//! instead of sending one each.
//!
//! # Correctness
//! A waiter is only answered by a barrier that *started after the waiter
//! registered*: the runner takes the waiting batch and only then calls
//! `ensure_linearizable`, and a read that arrives meanwhile waits for the
//! next round. That is exactly the read-index rule.

use std::sync::{Arc, Mutex};

use openraft::error::{CheckIsLeaderError, RaftError};
use tokio::sync::oneshot;

use crate::types::{NodeId, Raft};

pub type BarrierError = RaftError<NodeId, CheckIsLeaderError<NodeId, openraft::BasicNode>>;

#[derive(Default)]
struct Waiting {
    /// A runner task is active.
    running: bool,
    waiters: Vec<oneshot::Sender<Result<(), BarrierError>>>,
}

/// Shares leadership confirmations among concurrent reads.
pub struct ReadBarrier {
    raft: Raft,
    waiting: Mutex<Waiting>,
}

impl ReadBarrier {
    pub fn new(raft: Raft) -> Arc<ReadBarrier> {
        Arc::new(ReadBarrier {
            raft,
            waiting: Mutex::new(Waiting::default()),
        })
    }

    /// Returns once a barrier that started after this call has confirmed
    /// leadership and the state machine caught up with it.
    pub async fn confirm(self: &Arc<Self>) -> Result<(), BarrierError> {
        let (tx, rx) = oneshot::channel();
        let start_runner = {
            let mut waiting = self.waiting.lock().expect("barrier lock is never poisoned");
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
            Err(_) => Err(RaftError::Fatal(openraft::error::Fatal::Stopped)),
        }
    }

    async fn run(self: Arc<Self>) {
        loop {
            let batch = {
                let mut waiting = self.waiting.lock().expect("barrier lock is never poisoned");
                if waiting.waiters.is_empty() {
                    waiting.running = false;
                    return;
                }
                std::mem::take(&mut waiting.waiters)
            };
            // Every waiter in `batch` registered before this call starts.
            let result = self.raft.ensure_linearizable().await.map(|_| ());
            for waiter in batch {
                let _ = waiter.send(result.clone());
            }
        }
    }
}
