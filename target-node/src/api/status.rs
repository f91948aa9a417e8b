//! `/health` and `/status`: what the harness polls to find a leader.
//!
//! `/health` answers 200 only while the Raft core is running. openraft
//! reports a core that stopped on an error in its metrics, but a core that
//! *panicked* never updates them again: the last metrics still say
//! "running". So health also asks the core itself (a round trip through
//! its command queue, bounded by [`CORE_ANSWER_TIMEOUT`]), which fails
//! with `Fatal::Panicked` once the core's task has died.
//!
//! `/status` reports a node whose core has ended, however it ended, as
//! `role: "shutdown"` with no leader, rather than its last metrics, so that
//! nobody keeps sending to a dead leader.

use std::{sync::Arc, time::Duration};

use axum::{Json, extract::State, http::StatusCode};
use openraft::ServerState;
use serde_json::{Value, json};

use crate::node::Node;

/// A running core answers within milliseconds; one that takes longer than
/// this is stuck (on storage, usually) and the node is not healthy.
const CORE_ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the Raft core is not running, if it is not.
async fn raft_down(node: &Node) -> Option<String> {
    if let Err(fatal) = &node.raft.metrics().borrow().running_state {
        return Some(format!("raft stopped: {fatal}"));
    }
    let answer = tokio::time::timeout(CORE_ANSWER_TIMEOUT, node.raft.with_raft_state(|_| ()));
    match answer.await {
        Ok(Ok(())) => None,
        Ok(Err(fatal)) => Some(format!("raft stopped: {fatal}")),
        Err(_elapsed) => Some(format!(
            "raft core did not answer within {} ms",
            CORE_ANSWER_TIMEOUT.as_millis()
        )),
    }
}

pub async fn health(State(node): State<Arc<Node>>) -> (StatusCode, Json<Value>) {
    match raft_down(&node).await {
        None => (
            StatusCode::OK,
            Json(json!({ "ok": true, "raft": "running" })),
        ),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ok": false, "error": reason, "definite": true })),
        ),
    }
}

pub async fn status(State(node): State<Arc<Node>>) -> Json<Value> {
    let metrics = node.raft.metrics();
    // The sender of the metrics is gone once the core's task has ended,
    // however it ended: its last metrics then describe a dead node.
    let core_gone = metrics.has_changed().is_err();
    let mut m = metrics.borrow().clone();
    if core_gone {
        m.state = ServerState::Shutdown;
        m.current_leader = None;
    }
    let role = match m.state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    };
    Json(json!({
        "id": m.id,
        "role": role,
        "term": m.current_term,
        "leader": m.current_leader,
        "last_applied": m.last_applied.map(|id| id.index),
        "last_log_index": m.last_log_index,
        "snapshot": m.snapshot.map(|id| id.index),
        "purged": m.purged.map(|id| id.index),
        "read_mode": node.read_mode.name(),
    }))
}
