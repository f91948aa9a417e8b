//! A running node: its Raft instance, the read view of its state machine,
//! and how it starts (identity check, storage, bootstrap, serving).
//!
//! Bootstrap is safe to repeat: every member of a pristine cluster calls
//! `initialize` with the same membership; openraft refuses it on a node
//! that already has a vote or log, which is how a restarted node keeps its
//! identity and history instead of re-initializing.

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Duration};

use openraft::{BasicNode, Config, SnapshotPolicy, error::InitializeError, error::RaftError};
use tokio::net::TcpListener;

use crate::{
    api,
    cli::{NodeConfig, ReadMode, TxnMode},
    limits::SNAPSHOT_CHUNK_BYTES,
    network::{NetworkFactory, client_bound_to},
    peer_auth::PeerAuth,
    read_index::{BarrierSettings, ReadBarrier, RestartFloor},
    server,
    store::{self, KvView},
    types::{NodeId, Raft},
};

/// Shared by every request handler.
pub struct Node {
    pub id: NodeId,
    pub raft: Raft,
    pub view: KvView,
    /// Shared leadership confirmations for linearizable reads.
    pub read_barrier: Arc<ReadBarrier>,
    pub read_mode: ReadMode,
    /// How transactions run (`POST /txn`).
    pub txn_mode: TxnMode,
    pub request_timeout: Duration,
    /// Client for forwarding requests to the leader, bound to our own IP.
    pub forward_client: reqwest::Client,
    /// Who may send Raft RPCs.
    pub peer_auth: PeerAuth,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use data directory {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
    #[error(
        "data directory {dir} belongs to node {found}, not node {expected}; refusing to reuse it"
    )]
    WrongIdentity {
        dir: String,
        found: String,
        expected: NodeId,
    },
    #[error("cannot open storage: {0}")]
    Storage(#[from] openraft::StorageError<NodeId>),
    #[error("invalid raft configuration: {0}")]
    Config(#[from] openraft::ConfigError),
    #[error("cannot start raft: {0}")]
    Raft(#[from] openraft::error::Fatal<NodeId>),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

const IDENTITY_FILE: &str = "node-id";

/// Creates the data directory, or checks that it belongs to node `id`.
fn claim_data_dir(dir: &Path, id: NodeId) -> Result<(), StartError> {
    let display = dir.display().to_string();
    let io = |source| StartError::DataDir {
        dir: display.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(IDENTITY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(found) if found.trim() == id.to_string() => Ok(()),
        Ok(found) => Err(StartError::WrongIdentity {
            dir: display.clone(),
            found: found.trim().to_owned(),
            expected: id,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.join("log.redb").exists() {
                return Err(StartError::WrongIdentity {
                    dir: display.clone(),
                    found: "an unknown node (no node-id file)".into(),
                    expected: id,
                });
            }
            write_synced(&path, format!("{id}\n").as_bytes()).map_err(io)
        }
        Err(e) => Err(io(e)),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn raft_config(config: &NodeConfig) -> Result<Arc<Config>, openraft::ConfigError> {
    let t = &config.timing;
    let raft = Config {
        cluster_name: "target-node".into(),
        heartbeat_interval: t.heartbeat.as_millis() as u64,
        election_timeout_min: t.election_timeout_min.as_millis() as u64,
        election_timeout_max: t.election_timeout_max.as_millis() as u64,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(t.snapshot_threshold),
        max_in_snapshot_log_to_keep: t.log_keep,
        // Chunks must encode within what `/raft/snapshot` accepts.
        snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES as u64,
        ..Default::default()
    };
    Ok(Arc::new(raft.validate()?))
}

/// Starts the node and serves until `shutdown` resolves.
pub async fn run(
    config: NodeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    claim_data_dir(&config.data_dir, config.id)?;
    let policy = if config.unsafe_no_fsync {
        store::SyncPolicy::Never
    } else {
        store::SyncPolicy::Fsync
    };
    let (mut log_store, state_machine) = store::open(&config.data_dir, policy)?;
    let restart_floor = RestartFloor::found(&mut log_store, config.id).await?;
    if let Some(floor) = restart_floor {
        tracing::info!(
            term = floor.term,
            index = floor.index,
            "restarting as leader of term {}; reads wait until the log found is applied",
            floor.term
        );
    }
    let view = state_machine.view();
    let local_ip = config.listen.ip();
    let idle_timeout = config.limits.idle_timeout;
    let network = NetworkFactory::new(config.id, local_ip, idle_timeout, &config.peer_auth);
    let raft = Raft::new(
        config.id,
        raft_config(&config)?,
        network,
        log_store,
        state_machine,
    )
    .await?;

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let node = Arc::new(Node {
        id: config.id,
        raft: raft.clone(),
        view,
        read_barrier: ReadBarrier::new(
            raft.clone(),
            BarrierSettings {
                lease: config.timing.election_timeout_min,
                catch_up_timeout: config.timing.request_timeout,
                restart_floor,
            },
        ),
        read_mode: config.read_mode,
        txn_mode: config.txn_mode,
        request_timeout: config.timing.request_timeout,
        forward_client: client_bound_to(local_ip, idle_timeout),
        peer_auth: config.peer_auth.clone(),
        body_timeout: idle_timeout,
    });
    tracing::info!(listen = %config.listen, members = ?config.members, read_mode = ?config.read_mode, txn_mode = ?config.txn_mode, "node started");
    if matches!(config.peer_auth, PeerAuth::Insecure) {
        tracing::warn!(
            "peer authentication is off (--insecure-no-peer-auth): anyone who reaches {} can \
             forge Raft messages",
            config.listen
        );
    }
    bootstrap(&raft, &config.members).await?;

    let limits = server::fit_to_open_file_limit(config.limits.clone());
    server::serve(listener, api::router(node), limits, shutdown).await;
    tracing::info!("shutting down");
    if let Err(e) = raft.shutdown().await {
        tracing::warn!(error = %e, "raft did not shut down cleanly");
    }
    Ok(())
}

/// Initializes a pristine cluster; a no-op on a node with any Raft state.
async fn bootstrap(
    raft: &Raft,
    members: &BTreeMap<NodeId, std::net::SocketAddr>,
) -> Result<(), StartError> {
    if raft.is_initialized().await? {
        tracing::info!("existing raft state found; not initializing");
        return Ok(());
    }
    let nodes: BTreeMap<NodeId, BasicNode> = members
        .iter()
        .map(|(id, addr)| (*id, BasicNode::new(addr.to_string())))
        .collect();
    match raft.initialize(nodes).await {
        Ok(()) => tracing::info!("initialized a new cluster"),
        // Another member initialized first and already reached us.
        Err(RaftError::APIError(InitializeError::NotAllowed(e))) => {
            tracing::info!(reason = %e, "cluster already initialized");
        }
        Err(RaftError::APIError(e)) => tracing::warn!(error = %e, "initialize refused"),
        Err(RaftError::Fatal(e)) => return Err(StartError::Raft(e)),
    }
    Ok(())
}
