//! The key-value protocol: reads by read mode (a read barrier, a lease,
//! or deliberately none), writes through Raft, and forwarding to the
//! leader.
//!
//! A request that reaches a node which is not the leader is forwarded to
//! the leader it knows of, at most [`MAX_HOPS`] times; with no known leader
//! it is refused with a definite `not-leader` error.
//!
//! Bodies are at most [`KV_BODY_MAX_BYTES`] and the command they become at
//! most [`COMMAND_MAX_BYTES`] when encoded, so every log entry fits in one
//! append RPC (`limits.rs`).

use std::sync::Arc;

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, State, rejection::PathRejection},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};
use openraft::error::{CheckIsLeaderError, ClientWriteError, ForwardToLeader, RaftError};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::{
    ApiError,
    body::{parse_json, read_limited},
};
use crate::{
    cli::ReadMode,
    limits::{COMMAND_MAX_BYTES, KV_BODY_MAX_BYTES, RESPONSE_MAX_BYTES},
    network::{ReadError, read_bounded},
    node::Node,
    read_index::BarrierError,
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

/// Decodes a body into `T`, described to the client as `shape`.
///
/// serde's own messages may quote the input (an unknown field, a wrong
/// value), so errors are worded here: a position for broken JSON, the
/// expected shape for anything else.
fn parse<T: DeserializeOwned>(body: &Bytes, shape: &str) -> Result<T, ApiError> {
    let value = parse_json(body)?;
    // serde would also accept a struct written as an array; the protocol
    // promises objects only.
    if !value.is_object() {
        return Err(ApiError::bad_request("the JSON body must be an object"));
    }
    serde_json::from_value(value)
        .map_err(|_| ApiError::bad_request(format!("bad JSON body: expected {shape}")))
}

const VALUE_SHAPE: &str = r#"{"value": V}"#;
const CAS_SHAPE: &str = r#"{"from": A, "to": B}"#;

/// The key of a `/kv/{key}` route; only bad percent-encoding fails.
fn key(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(key)| key)
        .map_err(|_| ApiError::bad_request("the key is not valid percent-encoded UTF-8"))
}

/// Reads a write's body and turns it into a command with `build`.
async fn command<T: DeserializeOwned>(
    node: &Node,
    headers: &HeaderMap,
    body: Body,
    shape: &str,
    build: impl FnOnce(T) -> Command,
) -> Result<(Command, Bytes), ApiError> {
    let bytes = read_limited(body, headers, KV_BODY_MAX_BYTES, node.body_timeout).await?;
    let command = build(parse::<T>(&bytes, shape)?);
    // Re-encoding can grow a value (numbers are normalized); the log entry
    // must stay within what one append RPC carries.
    if serde_json::to_vec(&command).map_or(true, |encoded| encoded.len() > COMMAND_MAX_BYTES) {
        return Err(ApiError::too_large(COMMAND_MAX_BYTES));
    }
    Ok((command, bytes))
}

pub(super) fn hops(headers: &HeaderMap) -> u32 {
    headers
        .get(HOPS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One client request, kept whole so that it can be forwarded verbatim.
pub(super) struct Request {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) body: Bytes,
    pub(super) hops: u32,
    pub(super) is_read: bool,
}

pub async fn read(
    State(node): State<Arc<Node>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let key = match key(path) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
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
        // The lease is checked before any timer is armed: a clock that
        // jumped back fires new timers at once, but must not stop this.
        ReadMode::Lease if node.read_barrier.within_lease(node.id) => local_read(&node, &key).await,
        ReadMode::Linearizable | ReadMode::Lease => barrier_read(&node, &key, request).await,
    }
}

/// A read behind a read barrier (read-index): confirmed leadership, then
/// the local state machine.
async fn barrier_read(node: &Node, key: &str, request: Request) -> Response {
    let barrier = tokio::time::timeout(node.request_timeout, node.read_barrier.confirm());
    match barrier.await {
        Ok(Ok(())) => local_read(node, key).await,
        Ok(Err(BarrierError::Raft(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(
            to,
        ))))) => forward(node, to, request).await,
        Ok(Err(BarrierError::Raft(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(
            e,
        ))))) => ApiError::unavailable(format!("no quorum: {e}"), true).into_response(),
        Ok(Err(BarrierError::Raft(RaftError::Fatal(e)))) => {
            ApiError::unavailable(format!("raft stopped: {e}"), true).into_response()
        }
        Ok(Err(e @ BarrierError::CatchingUp { .. })) => {
            ApiError::unavailable(e.to_string(), true).into_response()
        }
        Err(_elapsed) => ApiError::timeout(true).into_response(),
    }
}

async fn local_read(node: &Node, key: &str) -> Response {
    let (value, _index) = node.view.get(key).await;
    Json(json!({ "value": value })).into_response()
}

/// What distinguishes one write route from another.
struct WriteRoute {
    /// After `/kv/{key}`, for forwarding.
    suffix: &'static str,
    method: Method,
    /// The body's shape, for error messages.
    shape: &'static str,
}

const PUT: WriteRoute = WriteRoute {
    suffix: "",
    method: Method::PUT,
    shape: VALUE_SHAPE,
};
const CAS: WriteRoute = WriteRoute {
    suffix: "/cas",
    method: Method::POST,
    shape: CAS_SHAPE,
};
const APPEND: WriteRoute = WriteRoute {
    suffix: "/append",
    method: Method::POST,
    shape: VALUE_SHAPE,
};

pub async fn put(
    State(node): State<Arc<Node>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let build = |key, b: ValueBody| Command::Put {
        key,
        value: b.value,
    };
    write_route(&node, &PUT, path, &headers, body, build).await
}

pub async fn cas(
    State(node): State<Arc<Node>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let build = |key, b: CasBody| Command::Cas {
        key,
        from: b.from,
        to: b.to,
    };
    write_route(&node, &CAS, path, &headers, body, build).await
}

pub async fn append(
    State(node): State<Arc<Node>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let build = |key, b: ValueBody| Command::Append {
        key,
        value: b.value,
    };
    write_route(&node, &APPEND, path, &headers, body, build).await
}

/// The shared body of every write route: refuse bad input, else propose
/// (or forward) the command, keeping the original request for forwarding.
async fn write_route<T: DeserializeOwned>(
    node: &Node,
    route: &WriteRoute,
    path: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    build: impl FnOnce(String, T) -> Command,
) -> Response {
    let key = match key(path) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let path = format!("/kv/{}{}", urlencode(&key), route.suffix);
    let parsed = command(node, headers, body, route.shape, |parsed| {
        build(key, parsed)
    });
    match parsed.await {
        Ok((command, body)) => {
            let request = Request {
                method: route.method.clone(),
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
        // Only `/txn` proposes transactions (`api/txn.rs`).
        Outcome::Txn { .. } => (StatusCode::OK, Json(json!({}))).into_response(),
    }
}

/// What a follower knows of the leader, as openraft's forwarding hint.
pub(super) fn leader_hint(
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
pub(super) async fn forward(
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
            read_bounded(response, RESPONSE_MAX_BYTES)
                .await
                .map(|body| (status, body))
        }
        Err(e) => Err(ReadError::Transport(e)),
    };
    match relayed {
        Ok((status, body)) => {
            let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, [("content-type", "application/json")], body).into_response()
        }
        // The request never left this node: nothing was proposed.
        Err(ReadError::Transport(e)) if e.is_connect() => {
            ApiError::unavailable(format!("leader {leader} unreachable"), true).into_response()
        }
        // The leader may have received (and proposed) the write.
        Err(ReadError::Transport(e)) if e.is_timeout() => {
            ApiError::timeout(request.is_read).into_response()
        }
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
