//! Raft RPC endpoints: the receiving side of `network.rs`.
//!
//! Responses are `Result<T, RaftError>` serialized as JSON, so a remote
//! Raft error reaches the sender's openraft as a typed `RemoteError`.

use std::sync::Arc;

use axum::{Json, extract::State};
use openraft::{
    error::{InstallSnapshotError, RaftError},
    raft::{
        AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest,
        InstallSnapshotResponse, VoteRequest, VoteResponse,
    },
};

use crate::{
    node::Node,
    types::{NodeId, TypeConfig},
};

pub async fn append(
    State(node): State<Arc<Node>>,
    Json(rpc): Json<AppendEntriesRequest<TypeConfig>>,
) -> Json<Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>> {
    Json(node.raft.append_entries(rpc).await)
}

pub async fn vote(
    State(node): State<Arc<Node>>,
    Json(rpc): Json<VoteRequest<NodeId>>,
) -> Json<Result<VoteResponse<NodeId>, RaftError<NodeId>>> {
    Json(node.raft.vote(rpc).await)
}

pub async fn snapshot(
    State(node): State<Arc<Node>>,
    Json(rpc): Json<InstallSnapshotRequest<TypeConfig>>,
) -> Json<Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>> {
    Json(node.raft.install_snapshot(rpc).await)
}
