//! Raft RPC endpoints: the receiving side of `network.rs`.
//!
//! An RPC reaches openraft only if it passed three gates, in this order:
//! the cluster secret (checked on the headers, before any body is read;
//! 401 otherwise), the body limit of its kind (`limits.rs`; 413), and the
//! plausibility of its terms and indexes (`rpc_bounds.rs`; 400).
//!
//! Responses are `Result<T, RaftError>` serialized as JSON, so a remote
//! Raft error reaches the sender's openraft as a typed `RemoteError`.

use std::sync::Arc;

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use super::{ApiError, body::read_limited};
use crate::{
    limits::{RAFT_APPEND_MAX_BYTES, RAFT_SNAPSHOT_MAX_BYTES, RAFT_VOTE_MAX_BYTES},
    node::Node,
    rpc_bounds,
};

/// Middleware: lets only authenticated peers through.
pub async fn authenticate(State(node): State<Arc<Node>>, request: Request, next: Next) -> Response {
    match node.peer_auth.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => ApiError::unauthorized(refusal.to_string()).into_response(),
    }
}

/// Reads and decodes an RPC body of at most `limit` bytes.
async fn decode<T: DeserializeOwned>(
    node: &Node,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = read_limited(body, headers, limit, node.body_timeout).await?;
    // serde's message may quote the input; say where it broke instead.
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "malformed raft message (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

fn current_term(node: &Node) -> u64 {
    node.raft.metrics().borrow().current_term
}

fn implausible(e: rpc_bounds::Implausible) -> Response {
    tracing::warn!(error = %e, "refused an implausible raft message");
    ApiError::bad_request(e.to_string()).into_response()
}

pub async fn append(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let rpc = match decode(&node, &headers, body, RAFT_APPEND_MAX_BYTES).await {
        Ok(rpc) => rpc,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = rpc_bounds::check_append(&rpc, current_term(&node)) {
        return implausible(e);
    }
    Json(node.raft.append_entries(rpc).await).into_response()
}

pub async fn vote(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let rpc = match decode(&node, &headers, body, RAFT_VOTE_MAX_BYTES).await {
        Ok(rpc) => rpc,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = rpc_bounds::check_vote(&rpc, current_term(&node)) {
        return implausible(e);
    }
    Json(node.raft.vote(rpc).await).into_response()
}

pub async fn snapshot(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let rpc = match decode(&node, &headers, body, RAFT_SNAPSHOT_MAX_BYTES).await {
        Ok(rpc) => rpc,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = rpc_bounds::check_snapshot(&rpc, current_term(&node)) {
        return implausible(e);
    }
    Json(node.raft.install_snapshot(rpc).await).into_response()
}
