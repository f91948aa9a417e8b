//! The HTTP surface of a node: the client protocol (`/kv`, `/health`,
//! `/status`) and the Raft RPCs (`/raft/*`), all on one address.

mod error;
mod kv;
mod raft;
mod status;

pub use error::ApiError;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{Method, Uri},
    routing::{get, post},
};

use crate::node::Node;

/// Raft messages carry log batches and snapshot chunks; allow them to be
/// large. Client bodies keep axum's default limit.
const RAFT_BODY_LIMIT: usize = 256 * 1024 * 1024;

pub fn router(node: Arc<Node>) -> Router {
    let raft_routes = Router::new()
        .route("/raft/append", post(raft::append))
        .route("/raft/vote", post(raft::vote))
        .route("/raft/snapshot", post(raft::snapshot))
        .layer(DefaultBodyLimit::max(RAFT_BODY_LIMIT));
    Router::new()
        .route("/kv/{key}", get(kv::read).put(kv::put))
        .route("/kv/{key}/cas", post(kv::cas))
        .route("/kv/{key}/append", post(kv::append))
        .route("/health", get(status::health))
        .route("/status", get(status::status))
        .merge(raft_routes)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(node)
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such route: {method} {}", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not allowed on {}", uri.path()))
}
