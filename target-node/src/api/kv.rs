//! The key-value protocol: reads by read mode, writes through Raft, and
//! forwarding to the leader.
//!
//! A request that reaches a node which is not the leader is forwarded to
//! the leader it knows of, at most [`MAX_HOPS`] times; with no known leader
//! it is refused with a definite `not-leader` error.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};
use openraft::error::{CheckIsLeaderError, ClientWriteError, ForwardToLeader, RaftError};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::ApiError;
use crate::{
    cli::ReadMode,
    node::Node,
    types::{Command, NodeId, Outcome},
};

/// How many times one request may be forwarded before it is refused; stops
/// loops while leadership moves.
const MAX_HOPS: u32 = 2;
const HOPS_HEADER: &str = "x-target-node-hops";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueBody {
    value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CasBody {
    from: Value,
    to: Value,
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("missing JSON body"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("bad JSON body: {e}")))?;
    // serde would also accept a struct written as an array; the protocol
    // promises objects only.
    if !value.is_object() {
        return Err(ApiError::bad_request("the JSON body must be an object"));
    }
    serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("bad JSON body: {e}")))
}

fn hops(headers: &HeaderMap) -> u32 {
    headers
        .get(HOPS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One client request, kept whole so that it can be forwarded verbatim.
struct Request {
    method: Method,
    path: String,
    body: Bytes,
    hops: u32,
    is_read: bool,
}

pub async fn read(
    State(node): State<Arc<Node>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let request = Request {
        method: Method::GET,
        path: format!("/kv/{}", urlencode(&key)),
        body: Bytes::new(),
        hops: hops(&headers),
        is_read: true,
    };
    match node.read_mode {
        ReadMode::Local => local_read(&node, &key).await,
        ReadMode::LeaderLocal => {
            let leader = node.raft.metrics().borrow().current_leader;
            if leader == Some(node.id) {
                local_read(&node, &key).await
            } else {
                forward(&node, leader_hint(&node, leader), request).await
            }
        }
        ReadMode::Linearizable => {
            let barrier = tokio::time::timeout(node.request_timeout, node.read_barrier.confirm());
            match barrier.await {
                Ok(Ok(_)) => local_read(&node, &key).await,
                Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(to)))) => {
                    forward(&node, to, request).await
                }
                Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(e)))) => {
                    ApiError::unavailable(format!("no quorum: {e}"), true).into_response()
                }
                Ok(Err(RaftError::Fatal(e))) => {
                    ApiError::unavailable(format!("raft stopped: {e}"), true).into_response()
                }
                Err(_elapsed) => ApiError::timeout(true).into_response(),
            }
        }
    }
}

async fn local_read(node: &Node, key: &str) -> Response {
    let (value, _index) = node.view.get(key).await;
    Json(json!({ "value": value })).into_response()
}

pub async fn put(
    State(node): State<Arc<Node>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let command = parse::<ValueBody>(&body).map(|b| Command::Put {
        key: key.clone(),
        value: b.value,
    });
    write_route(
        &node,
        command,
        Method::PUT,
        format!("/kv/{}", urlencode(&key)),
        body,
        &headers,
    )
    .await
}

pub async fn cas(
    State(node): State<Arc<Node>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let command = parse::<CasBody>(&body).map(|b| Command::Cas {
        key: key.clone(),
        from: b.from,
        to: b.to,
    });
    let path = format!("/kv/{}/cas", urlencode(&key));
    write_route(&node, command, Method::POST, path, body, &headers).await
}

pub async fn append(
    State(node): State<Arc<Node>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let command = parse::<ValueBody>(&body).map(|b| Command::Append {
        key: key.clone(),
        value: b.value,
    });
    let path = format!("/kv/{}/append", urlencode(&key));
    write_route(&node, command, Method::POST, path, body, &headers).await
}

/// The shared tail of every write route: refuse bad input, else propose
/// (or forward) the command, keeping the original request for forwarding.
async fn write_route(
    node: &Node,
    command: Result<Command, ApiError>,
    method: Method,
    path: String,
    body: Bytes,
    headers: &HeaderMap,
) -> Response {
    match command {
        Ok(command) => {
            let request = Request {
                method,
                path,
                body,
                hops: hops(headers),
                is_read: false,
            };
            write(node, command, request).await
        }
        Err(e) => e.into_response(),
    }
}

/// Proposes `command`; a follower forwards the original request instead.
async fn write(node: &Node, command: Command, request: Request) -> Response {
    let proposal = tokio::time::timeout(node.request_timeout, node.raft.client_write(command));
    match proposal.await {
        Ok(Ok(response)) => outcome_response(response.data),
        // Not proposed here: the node is not the leader (or the entry was
        // truncated by a newer leader, so it can never commit).
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to)))) => {
            forward(node, to, request).await
        }
        Ok(Err(RaftError::APIError(e))) => {
            ApiError::unavailable(format!("write refused: {e}"), false).into_response()
        }
        Ok(Err(RaftError::Fatal(e))) => {
            ApiError::unavailable(format!("raft stopped: {e}"), false).into_response()
        }
        // Proposed but not known to be committed: indefinite.
        Err(_elapsed) => ApiError::timeout(false).into_response(),
    }
}

fn outcome_response(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Done | Outcome::None => (StatusCode::OK, Json(json!({}))).into_response(),
        Outcome::CasMismatch { current } => {
            ApiError::conflict("cas-mismatch", current).into_response()
        }
        Outcome::NotAList { current } => ApiError::conflict("not-a-list", current).into_response(),
    }
}

/// What a follower knows of the leader, as openraft's forwarding hint.
fn leader_hint(
    node: &Node,
    leader: Option<NodeId>,
) -> ForwardToLeader<NodeId, openraft::BasicNode> {
    let metrics = node.raft.metrics().borrow().clone();
    let leader_node = leader.and_then(|id| {
        metrics
            .membership_config
            .membership()
            .get_node(&id)
            .cloned()
    });
    ForwardToLeader {
        leader_id: leader,
        leader_node,
    }
}

/// Sends `request` to the leader named by `to` and relays its answer.
async fn forward(
    node: &Node,
    to: ForwardToLeader<NodeId, openraft::BasicNode>,
    request: Request,
) -> Response {
    let (Some(leader), Some(leader_node)) = (to.leader_id, to.leader_node) else {
        return ApiError::not_leader(None).into_response();
    };
    if leader == node.id || request.hops >= MAX_HOPS {
        return ApiError::not_leader(Some(leader)).into_response();
    }
    let url = format!("http://{}{}", leader_node.addr, request.path);
    let sent = node
        .forward_client
        .request(request.method, url)
        .header(HOPS_HEADER, (request.hops + 1).to_string())
        .header("content-type", "application/json")
        .timeout(node.request_timeout)
        .body(request.body)
        .send()
        .await;
    let relayed = match sent {
        Ok(response) => {
            let status = response.status();
            response.bytes().await.map(|body| (status, body))
        }
        Err(e) => Err(e),
    };
    match relayed {
        Ok((status, body)) => {
            let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, [("content-type", "application/json")], body).into_response()
        }
        // The request never left this node: nothing was proposed.
        Err(e) if e.is_connect() => {
            ApiError::unavailable(format!("leader {leader} unreachable"), true).into_response()
        }
        // The leader may have received (and proposed) the write.
        Err(e) if e.is_timeout() => ApiError::timeout(request.is_read).into_response(),
        Err(e) => ApiError::unavailable(
            format!("forwarding to leader {leader} failed: {e}"),
            request.is_read,
        )
        .into_response(),
    }
}

/// Percent-encodes a key for the path of a forwarded request.
fn urlencode(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
