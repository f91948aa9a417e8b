//! The node protocol client: runs one operation against one node and
//! classifies the result as `ok`, `fail` or `info`.
//!
//! The one rule that keeps histories honest lives in [`classify_error`]:
//! an error is `fail` only when the node promised (`"definite": true`) or
//! the transport proved (the connection was never made) that the operation
//! did not take effect. Everything else is `info`. A read never takes
//! effect, so a failed read is always `fail`.

use std::time::Duration;

use serde_json::{Value, json};
use workloads::{OpKind, OpRequest};

/// How one operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// It took effect; the value is the result (what a read saw).
    Ok(Value),
    /// It certainly did not take effect.
    Fail(String),
    /// It may or may not have taken effect.
    Info(String),
}

/// A client for one node of whichever system the plan runs.
#[derive(Clone)]
pub enum KvClient {
    /// The node protocol (target-node, `system: command`).
    Node(NodeClient),
    /// etcd's v3 JSON gateway.
    Etcd(super::etcd::EtcdClient),
}

impl KvClient {
    pub async fn invoke(&self, op: &OpRequest) -> Completion {
        match self {
            KvClient::Node(client) => client.invoke(op).await,
            KvClient::Etcd(client) => client.invoke(op).await,
        }
    }
}

/// A client of the node protocol (docs/node-protocol.md) for one node.
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

    pub async fn invoke(&self, op: &OpRequest) -> Completion {
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
        };
        let is_read = op.f == OpKind::Read;
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
                _ => Completion::Ok(op.value.clone()),
            };
        }
        classify_error(status, body.as_ref(), is_read)
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

fn classify_transport(error: &reqwest::Error, is_read: bool) -> Completion {
    let message = if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        format!("transport: {}", root_cause(error))
    };
    // A connection that was never established carried no request.
    if is_read || error.is_connect() {
        Completion::Fail(message)
    } else {
        Completion::Info(message)
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
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
}
