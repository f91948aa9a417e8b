//! `/health` and `/status`: what the harness polls to find a leader.

use std::sync::Arc;

use axum::{Json, extract::State, http::StatusCode};
use openraft::ServerState;
use serde_json::{Value, json};

use crate::node::Node;

pub async fn health(State(node): State<Arc<Node>>) -> (StatusCode, Json<Value>) {
    let metrics = node.raft.metrics().borrow().clone();
    match metrics.running_state {
        Ok(()) => (StatusCode::OK, Json(json!({ "ok": true }))),
        Err(fatal) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": fatal.to_string(), "definite": true })),
        ),
    }
}

pub async fn status(State(node): State<Arc<Node>>) -> Json<Value> {
    let m = node.raft.metrics().borrow().clone();
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
