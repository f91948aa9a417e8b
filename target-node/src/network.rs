//! Raft RPCs between nodes, over HTTP+JSON under `/raft/*`.
//!
//! Every outgoing connection is bound to this node's own IP address, so
//! that a firewall rule naming a pair of node addresses applies to exactly
//! the traffic between those two nodes. Each peer has one long-lived
//! `reqwest::Client` (its own connection pool), reused by every replication
//! stream to that peer.
//!
//! Every RPC carries the cluster secret (see `peer_auth.rs`), and no RPC
//! body exceeds what the receiver accepts (`limits.rs`): an append batch
//! whose encoding would be larger is cut short and reported to openraft as a partial
//! success, so the rest follows in the next request.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::http::{HeaderValue, StatusCode, header};
use openraft::{
    BasicNode,
    error::{
        InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
    },
    network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory},
    raft::{
        AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest,
        InstallSnapshotResponse, VoteRequest, VoteResponse,
    },
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    limits::{RAFT_APPEND_MAX_BYTES, RESPONSE_MAX_BYTES},
    peer_auth::PeerAuth,
    types::{LogId, NodeId, TypeConfig},
};

/// Builds an HTTP client whose connections originate from `local`.
///
/// Idle connections are dropped after half the server's idle timeout
/// (members share the setting), so that this side closes them before the
/// server does and a request never races the server's close.
pub fn client_bound_to(local: IpAddr, server_idle_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_millis(500))
        .pool_idle_timeout(server_idle_timeout / 2)
        .build()
        .expect("a plain HTTP client with a local address always builds")
}

/// A response body larger than its bound, or a failed read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// Reads a response body of at most `limit` bytes.
pub async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A peer answered with an error status instead of an RPC result.
#[derive(Debug, thiserror::Error)]
#[error("peer answered {status}: {message}")]
struct PeerRefused {
    status: StatusCode,
    message: String,
}

/// Warnings about a peer refusing us are logged at most this often.
const REFUSAL_WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Hands openraft one connection object per replication stream; all
/// streams to a peer share that peer's client.
#[derive(Clone)]
pub struct NetworkFactory {
    id: NodeId,
    local: IpAddr,
    idle_timeout: Duration,
    authorization: Option<HeaderValue>,
    clients: Arc<Mutex<HashMap<NodeId, reqwest::Client>>>,
    last_refusal_warning: Arc<Mutex<HashMap<NodeId, Instant>>>,
}

impl NetworkFactory {
    pub fn new(id: NodeId, local: IpAddr, idle_timeout: Duration, auth: &PeerAuth) -> Self {
        Self {
            id,
            local,
            idle_timeout,
            authorization: auth.outgoing().cloned(),
            clients: Arc::default(),
            last_refusal_warning: Arc::default(),
        }
    }

    fn client_for(&self, target: NodeId) -> reqwest::Client {
        let mut clients = self
            .clients
            .lock()
            .expect("client map lock is never poisoned");
        clients
            .entry(target)
            .or_insert_with(|| client_bound_to(self.local, self.idle_timeout))
            .clone()
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerConnection {
        PeerConnection {
            id: self.id,
            target,
            base: format!("http://{}/raft", node.addr),
            client: self.client_for(target),
            authorization: self.authorization.clone(),
            last_refusal_warning: self.last_refusal_warning.clone(),
        }
    }
}

/// RPCs to one peer.
pub struct PeerConnection {
    id: NodeId,
    target: NodeId,
    base: String,
    client: reqwest::Client,
    authorization: Option<HeaderValue>,
    last_refusal_warning: Arc<Mutex<HashMap<NodeId, Instant>>>,
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, BasicNode, E>>;

impl PeerConnection {
    async fn call<Resp, E>(
        &self,
        action: RPCTypes,
        path: &str,
        body: Vec<u8>,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let timeout = option.hard_ttl();
        let mut request = self
            .client
            .post(format!("{}/{path}", self.base))
            .timeout(timeout)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(action, timeout, &e))?;
        let status = response.status();
        let body = read_bounded(response, RESPONSE_MAX_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::Transport(e) => self.transport_error(action, timeout, &e),
                too_large => RPCError::Network(NetworkError::new(&too_large)),
            })?;
        if !status.is_success() {
            return Err(self.refused(status, &body));
        }
        let result: Result<Resp, E> =
            serde_json::from_slice(&body).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    /// A peer refused the RPC (wrong secret, implausible message, too
    /// large). A refused secret will not fix itself: report the peer as
    /// unreachable so that openraft backs off instead of retrying at once.
    fn refused<E: std::error::Error>(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> RPCError<NodeId, BasicNode, E> {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "no error message".into());
        let refusal = PeerRefused { status, message };
        self.warn_refused(&refusal);
        if status == StatusCode::UNAUTHORIZED {
            RPCError::Unreachable(Unreachable::new(&refusal))
        } else {
            RPCError::Network(NetworkError::new(&refusal))
        }
    }

    fn warn_refused(&self, refusal: &PeerRefused) {
        let mut last = self
            .last_refusal_warning
            .lock()
            .expect("warning map lock is never poisoned");
        let now = Instant::now();
        let due = last
            .get(&self.target)
            .is_none_or(|at| now.duration_since(*at) >= REFUSAL_WARN_INTERVAL);
        if due {
            last.insert(self.target, now);
            tracing::warn!(peer = self.target, error = %refusal, "peer refused a raft message");
        }
    }

    fn transport_error<E: std::error::Error>(
        &self,
        action: RPCTypes,
        timeout: Duration,
        err: &reqwest::Error,
    ) -> RPCError<NodeId, BasicNode, E> {
        if err.is_timeout() {
            RPCError::Timeout(Timeout {
                action,
                id: self.id,
                target: self.target,
                timeout,
            })
        } else if err.is_connect() {
            // Unreachable makes openraft back off instead of retrying hot.
            RPCError::Unreachable(Unreachable::new(err))
        } else {
            RPCError::Network(NetworkError::new(err))
        }
    }
}

fn encode<T: Serialize, E: std::error::Error>(rpc: &T) -> RpcResult<Vec<u8>, E> {
    serde_json::to_vec(rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))
}

/// An append request, encoded within [`RAFT_APPEND_MAX_BYTES`].
struct EncodedAppend {
    body: Vec<u8>,
    /// The last entry sent, when trailing entries had to stay behind.
    cut_after: Option<LogId>,
}

/// The fields of an append request other than its entries, which
/// [`encode_append`] writes itself.
#[derive(Serialize)]
struct AppendFrame<'a> {
    vote: &'a openraft::Vote<NodeId>,
    prev_log_id: &'a Option<LogId>,
    leader_commit: &'a Option<LogId>,
}

/// Encodes `rpc` as the JSON object of an `AppendEntriesRequest`, leaving
/// out trailing entries once the body would exceed `limit`. Each entry is
/// encoded once and none past the limit: openraft's timeout for the RPC
/// (one heartbeat interval) includes this work. One entry always fits (see
/// `limits.rs`); should one not, it is sent alone anyway and the
/// receiver's refusal shows in the log.
fn encode_append<E: std::error::Error>(
    rpc: &AppendEntriesRequest<TypeConfig>,
    limit: usize,
) -> RpcResult<EncodedAppend, E> {
    let frame = encode(&AppendFrame {
        vote: &rpc.vote,
        prev_log_id: &rpc.prev_log_id,
        leader_commit: &rpc.leader_commit,
    })?;
    // `{...frame fields...,"entries":[e1,e2]}`
    let mut body = frame;
    body.pop(); // the frame's closing brace
    body.extend_from_slice(br#","entries":["#);
    let mut sent = 0;
    for entry in &rpc.entries {
        let encoded = encode(entry)?;
        let grown = body.len() + usize::from(sent > 0) + encoded.len() + 2;
        if grown > limit && sent > 0 {
            break;
        }
        if sent > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&encoded);
        sent += 1;
    }
    body.extend_from_slice(b"]}");
    let cut_after = (sent < rpc.entries.len()).then(|| rpc.entries[sent - 1].log_id);
    Ok(EncodedAppend { body, cut_after })
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, RaftError<NodeId>> {
        let encoded = encode_append(&rpc, RAFT_APPEND_MAX_BYTES)?;
        let response = self
            .call(RPCTypes::AppendEntries, "append", encoded.body, &option)
            .await?;
        Ok(match (response, encoded.cut_after) {
            // Only a prefix was sent: tell openraft how far it got.
            (AppendEntriesResponse::Success, Some(last_sent)) => {
                AppendEntriesResponse::PartialSuccess(Some(last_sent))
            }
            (response, _) => response,
        })
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        let body = encode(&rpc)?;
        self.call(RPCTypes::InstallSnapshot, "snapshot", body, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, RaftError<NodeId>> {
        let body = encode(&rpc)?;
        self.call(RPCTypes::Vote, "vote", body, &option).await
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, Vote};

    use super::*;
    use crate::types::{Command, Entry};

    fn entry(index: u64, value_len: usize) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(Command::Put {
                key: format!("k{index}"),
                value: serde_json::Value::String("v".repeat(value_len)),
            }),
        }
    }

    fn request(sizes: &[usize]) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            leader_commit: None,
            entries: (0..).zip(sizes).map(|(i, len)| entry(i, *len)).collect(),
        }
    }

    fn encode_within(
        sizes: &[usize],
        limit: usize,
    ) -> (AppendEntriesRequest<TypeConfig>, EncodedAppend) {
        let encoded = encode_append::<RaftError<NodeId>>(&request(sizes), limit).unwrap();
        let sent: AppendEntriesRequest<TypeConfig> = serde_json::from_slice(&encoded.body).unwrap();
        (sent, encoded)
    }

    fn as_json(rpc: &AppendEntriesRequest<TypeConfig>) -> serde_json::Value {
        serde_json::to_value(rpc).unwrap()
    }

    #[test]
    fn small_batches_go_whole_and_decode_as_sent() {
        let (sent, encoded) = encode_within(&[10, 10, 10], 10_000);
        assert_eq!(as_json(&sent), as_json(&request(&[10, 10, 10])));
        assert_eq!(encoded.cut_after, None);
        let (empty, encoded) = encode_within(&[], 10_000);
        assert_eq!(as_json(&empty), as_json(&request(&[])), "a heartbeat");
        assert_eq!(encoded.cut_after, None);
    }

    #[test]
    fn large_batches_are_cut_to_fit() {
        let (sent, encoded) = encode_within(&[300, 300, 300, 300], 1_000);
        assert!(encoded.body.len() <= 1_000, "{} bytes", encoded.body.len());
        assert_eq!(sent.entries.len(), 2, "as many entries as fit");
        assert_eq!(encoded.cut_after, Some(sent.entries[1].log_id));
        let (one_more, _) = encode_within(&[300, 300, 300], 10_000);
        assert!(
            serde_json::to_vec(&request(&[300, 300, 300]))
                .unwrap()
                .len()
                > 1_000
        );
        assert_eq!(one_more.entries.len(), 3);
    }

    #[test]
    fn an_oversized_entry_still_goes_alone() {
        let (sent, encoded) = encode_within(&[5_000, 10], 1_000);
        assert_eq!(sent.entries.len(), 1);
        assert_eq!(encoded.cut_after, Some(sent.entries[0].log_id));
    }
}
