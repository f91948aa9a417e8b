//! Raft RPCs between nodes, over HTTP+JSON under `/raft/*`.
//!
//! Every outgoing connection is bound to this node's own IP address, so
//! that a firewall rule naming a pair of node addresses applies to exactly
//! the traffic between those two nodes. Each peer has one long-lived
//! `reqwest::Client` (its own connection pool), reused by every replication
//! stream to that peer.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

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

use crate::types::{NodeId, TypeConfig};

/// Builds an HTTP client whose connections originate from `local`.
pub fn client_bound_to(local: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_millis(500))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .expect("a plain HTTP client with a local address always builds")
}

/// Hands openraft one connection object per replication stream; all
/// streams to a peer share that peer's client.
#[derive(Clone)]
pub struct NetworkFactory {
    id: NodeId,
    local: IpAddr,
    clients: Arc<Mutex<HashMap<NodeId, reqwest::Client>>>,
}

impl NetworkFactory {
    pub fn new(id: NodeId, local: IpAddr) -> Self {
        Self {
            id,
            local,
            clients: Arc::default(),
        }
    }

    fn client_for(&self, target: NodeId) -> reqwest::Client {
        let mut clients = self
            .clients
            .lock()
            .expect("client map lock is never poisoned");
        clients
            .entry(target)
            .or_insert_with(|| client_bound_to(self.local))
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
        }
    }
}

/// RPCs to one peer.
pub struct PeerConnection {
    id: NodeId,
    target: NodeId,
    base: String,
    client: reqwest::Client,
}

impl PeerConnection {
    async fn call<Req, Resp, E>(
        &self,
        action: RPCTypes,
        path: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let timeout = option.hard_ttl();
        let sent = self
            .client
            .post(format!("{}/{path}", self.base))
            .timeout(timeout)
            .json(request)
            .send()
            .await;
        let response = sent.map_err(|e| self.transport_error(action, timeout, &e))?;
        let result: Result<Resp, E> = response
            .json()
            .await
            .map_err(|e| self.transport_error(action, timeout, &e))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
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

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(RPCTypes::AppendEntries, "append", &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(RPCTypes::InstallSnapshot, "snapshot", &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(RPCTypes::Vote, "vote", &rpc, &option).await
    }
}
