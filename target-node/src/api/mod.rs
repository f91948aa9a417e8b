//! The HTTP surface of a node: the client protocol (`/kv`, `/txn`,
//! `/health`, `/status`) and the Raft RPCs (`/raft/*`), all on one address.
//!
//! Every route reads its body through `body.rs` (bounded in size and time)
//! and answers errors in the protocol's JSON shape; `/raft/*` additionally
//! requires the cluster secret (`raft.rs`).

mod body;
mod error;
mod kv;
mod raft;
mod status;
mod txn;

pub use error::ApiError;

use std::sync::Arc;

use axum::{
    Router, middleware,
    routing::{get, post},
};

use crate::node::Node;

pub fn router(node: Arc<Node>) -> Router {
    let raft_routes = Router::new()
        .route("/raft/append", post(raft::append))
        .route("/raft/vote", post(raft::vote))
        .route("/raft/snapshot", post(raft::snapshot))
        .route_layer(middleware::from_fn_with_state(
            node.clone(),
            raft::authenticate,
        ));
    Router::new()
        .route("/kv/{key}", get(kv::read).put(kv::put))
        .route("/kv/{key}/cas", post(kv::cas))
        .route("/kv/{key}/append", post(kv::append))
        .route("/txn", post(txn::txn))
        .route("/health", get(status::health))
        .route("/status", get(status::status))
        .merge(raft_routes)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn(body::limit_uri))
        .with_state(node)
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("no such route")
}

async fn wrong_method() -> ApiError {
    ApiError::method_not_allowed("method not allowed on this route")
}
