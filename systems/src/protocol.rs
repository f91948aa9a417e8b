//! The node protocol (docs/node-protocol.md), spoken by target-node and by
//! any `system: command` binary: the client of `/kv` and `/txn`, and the
//! probe of `/health` and `/status`.

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use workloads::{OpKind, OpRequest};

use crate::{
    BoxFuture, Leadership, NodePlace, Probe,
    client::{Client, Completion, classify_transport},
};

/// How long a health or status request may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// A client of the node protocol for one node.
#[derive(Clone)]
pub struct NodeClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

impl NodeClient {
    /// `http` is shared by all clients, so connections are pooled and
    /// reused per node.
    pub fn new(http: reqwest::Client, addr: &str, timeout: Duration) -> Self {
        Self {
            http,
            base: format!("http://{addr}"),
            timeout,
        }
    }

    /// A client of `node` with the plan's operation timeout.
    pub fn shared(http: &reqwest::Client, node: &NodePlace, timeout: Duration) -> Arc<dyn Client> {
        Arc::new(Self::new(http.clone(), &node.addr().to_string(), timeout))
    }

    async fn run(&self, op: &OpRequest) -> Completion {
        let key = percent_encode(&op.key);
        let request = match op.f {
            OpKind::Read => self.http.get(format!("{}/kv/{key}", self.base)),
            OpKind::Write => self
                .http
                .put(format!("{}/kv/{key}", self.base))
                .json(&json!({ "value": op.value })),
            OpKind::Cas => self
                .http
                .post(format!("{}/kv/{key}/cas", self.base))
                .json(&json!({ "from": op.value[0], "to": op.value[1] })),
            OpKind::Append => self
                .http
                .post(format!("{}/kv/{key}/append", self.base))
                .json(&json!({ "value": op.value })),
            OpKind::Txn => self
                .http
                .post(format!("{}/txn", self.base))
                .json(&json!({ "txn": op.value })),
        };
        let is_read = takes_no_effect(op);
        let response = match request.timeout(self.timeout).send().await {
            Ok(response) => response,
            Err(e) => return classify_transport(&e, is_read),
        };
        let status = response.status().as_u16();
        let body: Option<Value> = match response.bytes().await {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(e) => return classify_transport(&e, is_read),
        };
        if status == 200 {
            return match (op.f, body) {
                (OpKind::Read, Some(body)) => {
                    Completion::Ok(body.get("value").cloned().unwrap_or(Value::Null))
                }
                (OpKind::Read, None) => Completion::Fail("unparsable read response".into()),
                (OpKind::Txn, body) => txn_completion(op, body, is_read),
                _ => Completion::Ok(op.value.clone()),
            };
        }
        classify_error(status, body.as_ref(), is_read)
    }
}

/// Whether `op` cannot change anything: a read, or a transaction of reads
/// only. Such an op is `fail` on any error, since nothing of it can have
/// happened that another op could observe.
pub fn takes_no_effect(op: &OpRequest) -> bool {
    match op.f {
        OpKind::Read => true,
        OpKind::Txn => op
            .value
            .as_array()
            .is_some_and(|mops| mops.iter().all(|m| m.get(0) == Some(&json!("r")))),
        OpKind::Write | OpKind::Cas | OpKind::Append => false,
    }
}

/// A `200` answer to `POST /txn`: `{"txn": [...]}`, the micro-ops with what
/// each read saw. An answer without them is `info` (the transaction
/// committed, or not; its reads are unknown), or `fail` if it only read.
fn txn_completion(op: &OpRequest, body: Option<Value>, read_only: bool) -> Completion {
    let completed = body.and_then(|mut b| b.get_mut("txn").map(Value::take));
    match completed {
        Some(Value::Array(mops)) if Some(mops.len()) == op.value.as_array().map(Vec::len) => {
            Completion::Ok(Value::Array(mops))
        }
        _ if read_only => Completion::Fail("unparsable txn response".into()),
        _ => Completion::Info("unparsable txn response".into()),
    }
}

impl Client for NodeClient {
    fn invoke<'a>(&'a self, op: &'a OpRequest) -> BoxFuture<'a, Completion> {
        Box::pin(self.run(op))
    }
}

/// An HTTP error answer: `fail` only if the node says it is definite.
pub fn classify_error(status: u16, body: Option<&Value>, is_read: bool) -> Completion {
    let message = body
        .and_then(|b| b.get("error"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("http {status}"), str::to_owned);
    let definite = body
        .and_then(|b| b.get("definite"))
        .and_then(Value::as_bool)
        == Some(true);
    if definite || is_read {
        Completion::Fail(message)
    } else {
        Completion::Info(message)
    }
}

/// Everything but the URL-safe unreserved characters.
const KEY_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn percent_encode(key: &str) -> String {
    percent_encoding::utf8_percent_encode(key, KEY_ESCAPES).to_string()
}

/// Longest answer quoted from a node in an error message.
const QUOTE_CHARS: usize = 300;

/// Asks a node-protocol node: `GET /health`, and `GET /status` when
/// `leaders` (the system names leaders).
pub fn probe<'a>(
    http: &'a reqwest::Client,
    node: &'a NodePlace,
    leaders: bool,
) -> BoxFuture<'a, Probe> {
    Box::pin(async move {
        let base = format!("http://{}", node.addr());
        let (healthy, health_said) = match get(http, &format!("{base}/health")).await {
            Ok((200, _)) => (true, "/health 200".to_owned()),
            Ok((status, body)) => (false, format!("/health {status} {}", quote(&body))),
            Err(e) => (false, format!("/health: {e}")),
        };
        if !leaders {
            return Probe {
                healthy,
                leadership: None,
                said: health_said,
            };
        }
        let (leadership, status_said) = match get(http, &format!("{base}/status")).await {
            Ok((200, body)) => (leadership(&body), format!("/status {}", quote(&body))),
            Ok((status, body)) => (None, format!("/status {status} {}", quote(&body))),
            Err(e) => (None, format!("/status: {e}")),
        };
        Probe {
            healthy,
            leadership,
            said: format!("{health_said}; {status_said}"),
        }
    })
}

async fn get(http: &reqwest::Client, url: &str) -> Result<(u16, String), String> {
    let response = http
        .get(url)
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .map_err(|e| crate::client::root_cause(&e))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Ok((status, body))
}

fn quote(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{} …", &body[..cut]),
        None => body.to_owned(),
    }
}

/// Leadership from a `/status` body: `{"id", "role", "leader", "term"}`.
pub fn leadership(body: &str) -> Option<Leadership> {
    let status: Value = serde_json::from_str(body).ok()?;
    Some(Leadership {
        id: status["id"].as_u64()?,
        leads: status["role"] == "leader",
        follows: status["leader"].as_u64(),
        term: status["term"].as_u64().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_definite_errors_are_failures() {
        let definite = json!({"error": "cas-mismatch", "definite": true});
        let maybe = json!({"error": "timeout", "definite": false});
        assert_eq!(
            classify_error(409, Some(&definite), false),
            Completion::Fail("cas-mismatch".into())
        );
        assert_eq!(
            classify_error(504, Some(&maybe), false),
            Completion::Info("timeout".into())
        );
        assert_eq!(
            classify_error(500, None, false),
            Completion::Info("http 500".into())
        );
        assert_eq!(
            classify_error(500, None, true),
            Completion::Fail("http 500".into()),
            "reads never take effect"
        );
    }

    #[test]
    fn transactions_of_reads_only_take_no_effect() {
        let txn = |value: Value| OpRequest {
            f: OpKind::Txn,
            key: String::new(),
            value,
        };
        let reads = txn(json!([["r", "k1", null], ["r", "k2", null]]));
        let mixed = txn(json!([["r", "k1", null], ["append", "k1", 3]]));
        assert!(takes_no_effect(&reads));
        assert!(!takes_no_effect(&mixed));
        let answer = json!({"txn": [["r", "k1", [1]], ["append", "k1", 3]]});
        assert_eq!(
            txn_completion(&mixed, Some(answer.clone()), false),
            Completion::Ok(answer["txn"].clone())
        );
        let short = json!({"txn": [["r", "k1", [1]]]});
        assert!(matches!(
            txn_completion(&mixed, Some(short), false),
            Completion::Info(_)
        ));
        assert!(matches!(
            txn_completion(&reads, None, true),
            Completion::Fail(_)
        ));
    }

    #[test]
    fn status_bodies_give_leadership() {
        let follower = r#"{"id": 2, "role": "follower", "leader": 1, "term": 4}"#;
        assert_eq!(
            leadership(follower),
            Some(Leadership {
                id: 2,
                leads: false,
                follows: Some(1),
                term: 4
            })
        );
        let leader = leadership(r#"{"id": 1, "role": "leader", "leader": 1}"#).unwrap();
        assert!(leader.leads);
        assert_eq!(leader.term, 0);
        assert_eq!(leadership(r#"{"role": "leader"}"#), None, "no id");
        assert_eq!(leadership("not json"), None);
    }
}
