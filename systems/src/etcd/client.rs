//! The client adapter over etcd's v3 JSON gateway.
//!
//! # Mapping our operations to etcd (3.4)
//!
//! | op | request | `ok` | definite `fail` |
//! |---|---|---|---|
//! | `read` | `POST /v3/kv/range` (linearizable; `serializable: true` when asked) | the value, `null` if absent | any error (reads never take effect) |
//! | `write` | `POST /v3/kv/put` (`null`: `/v3/kv/deleterange`) | | see [`classify_grpc`] |
//! | `cas` | `POST /v3/kv/txn`: compare `VALUE == from` (`from: null`: `CREATE == 0`, the key is absent), then put `to` | `succeeded: true` | `succeeded` false or absent: the compare failed |
//! | `append` | range, then txn `MOD == <revision read>` putting the extended list; retried on a lost race | | every attempt lost its race, or the value is not a list |
//! | `txn` (list-append) | one read-only txn of ranges (a snapshot), then one txn comparing `MOD` of every key touched and putting the appended lists; retried on a lost race ([`super::txn`]) | the micro-ops with what each read saw | every attempt lost its race, a value is not a list, bad micro-ops |
//!
//! Invariants:
//! - Values are stored as their canonical JSON text (compact, object keys
//!   sorted), keys and values travel base64-encoded, and int64 fields
//!   arrive as strings. A value's text is a function of the value, so
//!   etcd comparing texts compares values.
//! - `null` is never stored: writing `null` deletes the key, so "absent"
//!   and "null" are one state, exactly as in the node protocol.
//! - An operation is `fail` only when etcd certainly did not apply it: a
//!   compare that was false, a connection that was never made, or an error
//!   etcd raises before proposing the request to Raft (or that makes its
//!   application a no-op). Everything else is `info`. See [`classify_grpc`].

use std::time::Duration;

use serde_json::{Value, json};
use workloads::{OpKind, OpRequest};

use crate::{
    BoxFuture,
    canonical_json::canonical_text,
    client::{Client, Completion, root_cause},
};

/// How many times an append retries after losing a race.
const APPEND_ATTEMPTS: usize = 8;

/// A client of one etcd member's JSON gateway.
#[derive(Clone, Debug)]
pub struct EtcdClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    serializable: bool,
}

/// What `/v3/maintenance/status` says about a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdStatus {
    /// The member's own id.
    pub member_id: u64,
    /// The id of the leader it follows (0: none).
    pub leader: u64,
    /// Its Raft term.
    pub raft_term: u64,
    /// Its Raft index.
    pub raft_index: u64,
    /// The server version, e.g. `3.4.23`.
    pub version: String,
}

/// Why a request to etcd did not give an answer we can use.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No connection could be made: the request was never sent.
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// No answer in time.
    #[error("no answer from {url} within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    /// The connection broke after the request may have been sent.
    #[error("transport error with {url}: {message}")]
    Transport { url: String, message: String },
    /// The gateway answered with an error (`code` is the gRPC code).
    #[error("{url} answered http {status}: {message}")]
    Server {
        url: String,
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// The answer was not what the v3 API promises.
    #[error("unexpected answer from {url}: {message}")]
    Protocol { url: String, message: String },
}

impl EtcdClient {
    /// A client of the member whose client URL is `http://{addr}`. `http`
    /// is shared by all clients, so connections are pooled per member.
    pub fn new(http: reqwest::Client, addr: &str, timeout: Duration) -> Self {
        Self {
            http,
            base: format!("http://{addr}"),
            timeout,
            serializable: false,
        }
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `http://ip:port` of the member.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Serve reads from the member's local state without a quorum round
    /// (etcd's `serializable` reads): fast, and possibly stale, which is
    /// etcd's own form of the dirty-read mistake.
    pub fn serializable_reads(mut self, serializable: bool) -> Self {
        self.serializable = serializable;
        self
    }

    /// Whether reads are served serializably (see [`Self::serializable_reads`]).
    pub fn serializes_reads(&self) -> bool {
        self.serializable
    }

    /// Runs one operation and says how it ended.
    pub async fn run(&self, op: &OpRequest) -> Completion {
        let key = encode_key(&op.key);
        match op.f {
            OpKind::Read => match self.get(&key).await {
                Ok((value, _)) => Completion::Ok(value),
                Err(e) => Completion::Fail(brief(&e)),
            },
            OpKind::Write => {
                let result = if op.value.is_null() {
                    self.call("/v3/kv/deleterange", json!({ "key": key })).await
                } else {
                    let value = encode_value(&op.value);
                    self.call("/v3/kv/put", json!({ "key": key, "value": value }))
                        .await
                };
                match result {
                    Ok(_) => Completion::Ok(op.value.clone()),
                    Err(e) => classify_write_error(&e),
                }
            }
            OpKind::Cas => {
                let (Some(from), Some(to)) = (op.value.get(0), op.value.get(1)) else {
                    return Completion::Fail("cas needs [from, to]".into());
                };
                let compare = if from.is_null() {
                    json!({ "key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0" })
                } else {
                    json!({ "key": key, "target": "VALUE", "result": "EQUAL", "value": encode_value(from) })
                };
                match self.txn(compare, write_request(&key, to)).await {
                    Ok(true) => Completion::Ok(op.value.clone()),
                    Ok(false) => Completion::Fail("cas-mismatch".into()),
                    Err(e) => classify_write_error(&e),
                }
            }
            OpKind::Append => self.append(&key, &op.value).await,
            OpKind::Txn => self.run_txn(&op.value).await,
        }
    }

    /// The member's view of the cluster.
    pub async fn status(&self) -> Result<EtcdStatus, EtcdError> {
        let url = self.url("/v3/maintenance/status");
        let body = self.call("/v3/maintenance/status", json!({})).await?;
        let number = |v: &Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
        let field = |name: &str, v: Option<&Value>| {
            v.and_then(number).ok_or_else(|| EtcdError::Protocol {
                url: url.clone(),
                message: format!("no `{name}` in {body}"),
            })
        };
        Ok(EtcdStatus {
            member_id: field("header.member_id", body.pointer("/header/member_id"))?,
            // A member that follows nobody omits `leader` (zero).
            leader: body.get("leader").and_then(number).unwrap_or(0),
            raft_term: body.get("raftTerm").and_then(number).unwrap_or(0),
            raft_index: body.get("raftIndex").and_then(number).unwrap_or(0),
            version: body["version"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// The value of `key` (already base64) and its `mod_revision` (0 if
    /// absent).
    async fn get(&self, key: &str) -> Result<(Value, u64), EtcdError> {
        let mut request = json!({ "key": key });
        if self.serializable {
            request["serializable"] = json!(true);
        }
        let body = self.call("/v3/kv/range", request).await?;
        let Some(kv) = body.get("kvs").and_then(|kvs| kvs.get(0)) else {
            return Ok((Value::Null, 0));
        };
        let revision = kv
            .get("mod_revision")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let text = kv.get("value").and_then(Value::as_str).unwrap_or_default();
        let value = decode_value(text).map_err(|message| EtcdError::Protocol {
            url: self.url("/v3/kv/range"),
            message,
        })?;
        Ok((value, revision))
    }

    /// A one-compare, one-operation txn; `Ok(succeeded)`.
    async fn txn(&self, compare: Value, success: Value) -> Result<bool, EtcdError> {
        let body = self
            .call(
                "/v3/kv/txn",
                json!({ "compare": [compare], "success": [success] }),
            )
            .await?;
        // proto3 JSON omits false booleans: an absent `succeeded` is false.
        Ok(body.get("succeeded").and_then(Value::as_bool) == Some(true))
    }

    /// Append `element` to the list at `key`: read the list and its
    /// revision, then put the longer list if the revision is unchanged.
    async fn append(&self, key: &str, element: &Value) -> Completion {
        for _ in 0..APPEND_ATTEMPTS {
            // Every earlier attempt ended in a false compare (a no-op), so
            // an error here still means nothing was appended.
            let (current, revision) = match self.get(key).await {
                Ok(found) => found,
                Err(e) => return Completion::Fail(brief(&e)),
            };
            let list = match current {
                Value::Null => vec![element.clone()],
                Value::Array(mut items) => {
                    items.push(element.clone());
                    items
                }
                _ => return Completion::Fail("not-a-list".into()),
            };
            let compare = json!({
                "key": key, "target": "MOD", "result": "EQUAL",
                "mod_revision": revision.to_string(),
            });
            let put = write_request(key, &Value::Array(list));
            match self.txn(compare, put).await {
                Ok(true) => return Completion::Ok(element.clone()),
                Ok(false) => continue,
                Err(e) => return classify_write_error(&e),
            }
        }
        Completion::Fail(format!(
            "append lost the race {APPEND_ATTEMPTS} times (nothing was appended)"
        ))
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST `body` to `path`; the JSON answer of a 200, or why not.
    pub(super) async fn call(&self, path: &str, body: Value) -> Result<Value, EtcdError> {
        let url = self.url(path);
        let sent = self
            .http
            .post(&url)
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await;
        let response = sent.map_err(|e| transport_error(&url, self.timeout, &e))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(&url, self.timeout, &e))?;
        let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status == 200 {
            return answer.ok_or_else(|| EtcdError::Protocol {
                url,
                message: format!("not JSON: {}", String::from_utf8_lossy(&bytes)),
            });
        }
        let message = answer
            .as_ref()
            .and_then(|a| a.get("error").or_else(|| a.get("message")))
            .and_then(Value::as_str)
            .map_or_else(
                || String::from_utf8_lossy(&bytes).trim().to_owned(),
                str::to_owned,
            );
        Err(EtcdError::Server {
            url,
            status,
            code: answer
                .as_ref()
                .and_then(|a| a.get("code"))
                .and_then(Value::as_i64),
            message,
        })
    }
}

impl Client for EtcdClient {
    fn invoke<'a>(&'a self, op: &'a OpRequest) -> BoxFuture<'a, Completion> {
        Box::pin(self.run(op))
    }
}

/// The txn operation that makes `key` hold `value` (`null` deletes it).
pub(super) fn write_request(key: &str, value: &Value) -> Value {
    if value.is_null() {
        json!({ "request_delete_range": { "key": key } })
    } else {
        json!({ "request_put": { "key": key, "value": encode_value(value) } })
    }
}

fn transport_error(url: &str, timeout: Duration, error: &reqwest::Error) -> EtcdError {
    let url = url.to_owned();
    if error.is_connect() {
        // Includes a connect that timed out: no byte of the request left.
        EtcdError::Connect {
            url,
            message: root_cause(error),
        }
    } else if error.is_timeout() {
        EtcdError::Timeout { url, timeout }
    } else {
        EtcdError::Transport {
            url,
            message: root_cause(error),
        }
    }
}

/// The short text a history's `error` gets.
pub(super) fn brief(error: &EtcdError) -> String {
    match error {
        EtcdError::Connect { .. } => "connection refused or unreachable".into(),
        EtcdError::Timeout { .. } => "timeout".into(),
        EtcdError::Transport { message, .. } => format!("transport: {message}"),
        EtcdError::Server { message, .. } => message.clone(),
        EtcdError::Protocol { message, .. } => format!("protocol: {message}"),
    }
}

/// A failed write, cas or append: `fail` only if it certainly did not
/// take effect.
pub fn classify_write_error(error: &EtcdError) -> Completion {
    let text = brief(error);
    let definite = match error {
        // The connection was never made, so the request was never sent.
        EtcdError::Connect { .. } => true,
        EtcdError::Timeout { .. } | EtcdError::Transport { .. } => false,
        EtcdError::Server { status, code, .. } => classify_grpc(*code, *status),
        // A 200 whose body we could not read: it was applied, or not.
        EtcdError::Protocol { .. } => false,
    };
    if definite {
        Completion::Fail(text)
    } else {
        Completion::Info(text)
    }
}

/// Is a gateway error for a write *definite* (the write certainly was not
/// applied)? The gateway answers `{"error", "message", "code"}` with the
/// gRPC code of etcd's error.
///
/// Definite, because etcd rejects these before the request is proposed to
/// Raft, or because applying the entry is a deterministic no-op:
///
/// | code | examples in etcd 3.4 | why definite |
/// |---|---|---|
/// | 3 `InvalidArgument` | `key is not provided`, `too many operations in txn request`, `request is too large`, bad base64 | checked by the gRPC handler (or the gateway's decoding) before anything is proposed |
/// | 5 `NotFound`, 12 `Unimplemented` | no such path or method | nothing handled the request |
/// | 7 `PermissionDenied`, 16 `Unauthenticated` | auth failures | refused before proposal, or the applier refuses the entry deterministically |
/// | 8 `ResourceExhausted` | `too many requests`, `mvcc: database space exceeded` | refused before proposal (apply gap, quota), or the NOSPACE alarm makes the applier refuse it |
///
/// Everything else is indefinite, because the proposal may already be in
/// the Raft log and commit later: 14 `Unavailable` (`request timed out`,
/// `request timed out, possibly due to previous leader failure`, `leader
/// changed`, `server stopped`, `no leader`), 4 `DeadlineExceeded`, 1
/// `Canceled`, 2 `Unknown` (e.g. `raft proposal dropped`, which *is*
/// definite, but shares its code with errors that are not), 13 `Internal`,
/// 10 `Aborted`, 9 `FailedPrecondition`, and any body without a code.
/// `info` is always safe; a wrong `fail` makes the checker see a write that
/// "did not happen" and report a false anomaly.
pub fn classify_grpc(code: Option<i64>, http_status: u16) -> bool {
    match code {
        Some(3 | 5 | 7 | 8 | 12 | 16) => true,
        Some(_) => false,
        // No gRPC code: only a plain "no such route" is known not to have
        // reached etcd.
        None => matches!(http_status, 404 | 405),
    }
}

/// Base64 (standard alphabet, padded), as the gateway encodes `bytes`.
pub(crate) mod b64 {
    use base64::{Engine, engine::general_purpose::STANDARD};

    pub fn encode(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        STANDARD
            .decode(text)
            .map_err(|e| format!("invalid base64: {e}"))
    }
}

pub(crate) fn encode_key(key: &str) -> String {
    b64::encode(key.as_bytes())
}

/// A value as stored: its canonical JSON text, base64-encoded.
pub(crate) fn encode_value(value: &Value) -> String {
    b64::encode(canonical_text(value).as_bytes())
}

pub(crate) fn decode_value(text: &str) -> Result<Value, String> {
    let bytes = b64::decode(text)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "stored value is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })
}
