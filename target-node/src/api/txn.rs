//! `POST /txn`: list-append transactions.
//!
//! The body is `{"txn": [["r", KEY, null] | ["append", KEY, ELEMENT], ...]}`
//! with 1 to [`MAX_MICRO_OPS`] micro-ops and string keys; the answer is
//! `{"txn": [...]}`, the same micro-ops with what each read saw (a list,
//! `[]` for an absent key, or whatever value a `PUT` stored there).
//!
//! How a transaction runs depends on `--txn-mode`:
//! - `atomic` (correct): the whole transaction is one command in the Raft
//!   log, applied at its log index by every replica (`store/txn.rs`), so it
//!   is strictly serializable: it takes effect at one point between the
//!   request and the answer. Reads go through the log too, which is what
//!   makes them linearizable without a read barrier. A follower forwards
//!   the request to the leader, as for `/kv` writes.
//! - `read-then-append` (a deliberate mistake): the leader reads from its
//!   own state machine at once, then proposes only the appends; whatever
//!   commits in between is missed by the reads, so the transaction is not
//!   atomic.
//!
//! Errors follow `/kv` writes: definite only when nothing was proposed
//! (bad input, no leader, an append to a value that is not a list, which
//! is applied as a no-op), except for transactions that only read, whose
//! errors are always definite because they change nothing.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};
use openraft::error::{ClientWriteError, RaftError};
use serde_json::{Value, json};

use super::{
    ApiError,
    body::{parse_json, read_limited},
    kv::{Request, forward, hops, leader_hint},
};
use crate::{
    cli::TxnMode,
    limits::{COMMAND_MAX_BYTES, KV_BODY_MAX_BYTES},
    node::Node,
    store::txn,
    types::{Command, MicroOp, Outcome},
};

/// Most micro-ops in one transaction: bounds the work one request asks of
/// the state machine (a list-append test uses 1 to 4).
pub const MAX_MICRO_OPS: usize = 64;

pub async fn txn(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_limited(body, &headers, KV_BODY_MAX_BYTES, node.body_timeout).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let mops = match parse_txn(&bytes) {
        Ok(mops) => mops,
        Err(e) => return e.into_response(),
    };
    // Re-encoding can grow a value; the log entry must fit one append RPC.
    let encoded = serde_json::to_vec(&Command::Txn { mops: mops.clone() });
    if encoded.map_or(true, |e| e.len() > COMMAND_MAX_BYTES) {
        return ApiError::too_large(COMMAND_MAX_BYTES).into_response();
    }
    let request = Request {
        method: Method::POST,
        path: "/txn".to_owned(),
        body: bytes,
        hops: hops(&headers),
        is_read: mops.iter().all(|m| matches!(m, MicroOp::R(_))),
    };
    match node.txn_mode {
        TxnMode::Atomic => atomic(&node, mops, request).await,
        TxnMode::ReadThenAppend => read_then_append(&node, mops, request).await,
    }
}

/// The whole transaction through the log.
async fn atomic(node: &Node, mops: Vec<MicroOp>, request: Request) -> Response {
    match propose(node, mops.clone(), request.is_read).await {
        Proposed::Applied(outcome) => answer(&mops, outcome),
        Proposed::NotLeader(to) => forward(node, to, request).await,
        Proposed::Failed(e) => e.into_response(),
    }
}

/// MISTAKE: reads from the leader's state machine now, appends later.
async fn read_then_append(node: &Node, mops: Vec<MicroOp>, request: Request) -> Response {
    let leader = node.raft.metrics().borrow().current_leader;
    if leader != Some(node.id) {
        return forward(node, leader_hint(node, leader), request).await;
    }
    let mut before = BTreeMap::new();
    for key in txn::keys(&mops) {
        before.insert(key.to_owned(), node.view.get(key).await.0);
    }
    let (read_now, _) = txn::apply(&mops, &before);
    if !matches!(read_now, Outcome::Txn { .. }) {
        return answer(&mops, read_now);
    }
    let appends: Vec<MicroOp> = mops
        .iter()
        .filter(|m| matches!(m, MicroOp::Append(..)))
        .cloned()
        .collect();
    if appends.is_empty() {
        return answer(&mops, read_now);
    }
    match propose(node, appends, false).await {
        Proposed::Applied(Outcome::Txn { .. }) => answer(&mops, read_now),
        Proposed::Applied(other) => answer(&mops, other),
        Proposed::NotLeader(to) => forward(node, to, request).await,
        Proposed::Failed(e) => e.into_response(),
    }
}

/// How a proposal ended.
enum Proposed {
    /// Committed and applied, with this outcome.
    Applied(Outcome),
    /// Not proposed here: another node leads (or may).
    NotLeader(openraft::error::ForwardToLeader<u64, openraft::BasicNode>),
    /// Refused, stopped or timed out; definite only if `read_only`.
    Failed(ApiError),
}

async fn propose(node: &Node, mops: Vec<MicroOp>, read_only: bool) -> Proposed {
    let write = node.raft.client_write(Command::Txn { mops });
    match tokio::time::timeout(node.request_timeout, write).await {
        Ok(Ok(response)) => Proposed::Applied(response.data),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to)))) => {
            Proposed::NotLeader(to)
        }
        Ok(Err(RaftError::APIError(e))) => Proposed::Failed(ApiError::unavailable(
            format!("write refused: {e}"),
            read_only,
        )),
        Ok(Err(RaftError::Fatal(e))) => Proposed::Failed(ApiError::unavailable(
            format!("raft stopped: {e}"),
            read_only,
        )),
        // Proposed but not known to be committed: indefinite.
        Err(_elapsed) => Proposed::Failed(ApiError::timeout(read_only)),
    }
}

/// The answer to a transaction whose command had `outcome`.
fn answer(mops: &[MicroOp], outcome: Outcome) -> Response {
    match outcome {
        Outcome::Txn { results } if results.len() == mops.len() => {
            let completed: Vec<Value> = mops
                .iter()
                .zip(results)
                .map(|(mop, result)| match mop {
                    MicroOp::R(key) => json!(["r", key, result]),
                    MicroOp::Append(key, _) => json!(["append", key, result]),
                })
                .collect();
            (StatusCode::OK, Json(json!({ "txn": completed }))).into_response()
        }
        Outcome::NotAList { current } => ApiError::conflict("not-a-list", current).into_response(),
        // Applied, but not as a transaction: a bug, and the outcome of the
        // appends is unknown to the client.
        _ => ApiError::unavailable("unexpected outcome of a transaction", false).into_response(),
    }
}

const TXN_SHAPE: &str =
    r#"{"txn": [["r", KEY, null] or ["append", KEY, ELEMENT], ...]} with string keys"#;

/// Decodes a `/txn` body. Errors name positions and the expected shape,
/// never the input.
fn parse_txn(body: &Bytes) -> Result<Vec<MicroOp>, ApiError> {
    let value = parse_json(body)?;
    let shape = || ApiError::bad_request(format!("bad JSON body: expected {TXN_SHAPE}"));
    let Value::Object(mut object) = value else {
        return Err(ApiError::bad_request("the JSON body must be an object"));
    };
    let Some(Value::Array(mops)) = object.remove("txn") else {
        return Err(shape());
    };
    if !object.is_empty() {
        return Err(shape());
    }
    if mops.is_empty() || mops.len() > MAX_MICRO_OPS {
        return Err(ApiError::bad_request(format!(
            "a transaction has 1 to {MAX_MICRO_OPS} micro-ops"
        )));
    }
    mops.into_iter()
        .enumerate()
        .map(|(i, mop)| {
            let Value::Array(parts) = mop else {
                return Err(micro_op_error(i));
            };
            let Ok::<[Value; 3], _>([f, Value::String(key), value]) = parts.try_into() else {
                return Err(micro_op_error(i));
            };
            match f.as_str() {
                Some("r") if value.is_null() => Ok(MicroOp::R(key)),
                Some("append") => Ok(MicroOp::Append(key, value)),
                _ => Err(micro_op_error(i)),
            }
        })
        .collect()
}

fn micro_op_error(index: usize) -> ApiError {
    ApiError::bad_request(format!(
        "bad JSON body: micro-op {index} is not [\"r\", KEY, null] or [\"append\", KEY, ELEMENT] with a string key"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Result<Vec<MicroOp>, u16> {
        parse_txn(&Bytes::from(body.to_owned())).map_err(|e| e.into_response().status().as_u16())
    }

    #[test]
    fn bodies_are_read_strictly() {
        assert_eq!(
            parsed(r#"{"txn": [["r", "a", null], ["append", "a", 3]]}"#),
            Ok(vec![
                MicroOp::R("a".into()),
                MicroOp::Append("a".into(), json!(3))
            ])
        );
        let too_many = format!(
            r#"{{"txn": [{}]}}"#,
            vec![r#"["r", "a", null]"#; MAX_MICRO_OPS + 1].join(",")
        );
        for bad in [
            "",
            "[1]",
            "{",
            r#"{"txn": []}"#,
            r#"{"txn": [["r", "a", null]], "x": 1}"#,
            r#"{"txn": [["r", "a", 1]]}"#,
            r#"{"txn": [["w", "a", 1]]}"#,
            r#"{"txn": [["r", 5, null]]}"#,
            r#"{"txn": [["append", "a"]]}"#,
            r#"{"txn": {"r": "a"}}"#,
            too_many.as_str(),
        ] {
            assert_eq!(parsed(bad), Err(400), "{bad}");
        }
    }

    #[test]
    fn an_applied_transaction_is_answered_with_what_it_read() {
        let mops = vec![
            MicroOp::R("a".into()),
            MicroOp::Append("a".into(), json!(3)),
        ];
        let ok = answer(
            &mops,
            Outcome::Txn {
                results: vec![json!([1]), json!(3)],
            },
        );
        assert_eq!(ok.status(), StatusCode::OK);
        let conflict = answer(&mops, Outcome::NotAList { current: json!(1) });
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        let odd = answer(&mops, Outcome::Done);
        assert_eq!(odd.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
