//! Command-line flags, and their validation into a [`NodeConfig`].
//!
//! Validation rejects configurations that would make a cluster ambiguous
//! (duplicate ids or addresses, a `--listen` that contradicts the node's own
//! `--peer` entry) or open to outsiders (peers without a cluster secret,
//! unless the operator insists) before anything touches the data directory.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, ValueEnum};

use crate::{
    peer_auth::{ClusterSecret, PeerAuth, SECRET_ENV},
    server::ServerLimits,
    types::NodeId,
};

/// A durable Raft key-value server: the default system under test of the
/// chaos harness, and a correct Raft KV store to learn from.
///
/// Speaks the node protocol (docs/node-protocol.md): GET/PUT /kv/{key},
/// POST /kv/{key}/cas, POST /kv/{key}/append, POST /txn, GET /health,
/// GET /status.
/// Raft RPCs travel under /raft/* on the same address and are accepted only
/// from peers presenting the cluster secret (--cluster-secret-file, or the
/// environment variable TARGET_NODE_CLUSTER_SECRET).
#[derive(Debug, Parser)]
#[command(name = "target-node", version)]
pub struct Args {
    /// This node's id: a positive integer, unique in the cluster.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub id: NodeId,

    /// Address to serve clients and peers on, e.g. 127.0.0.11:7000. Outgoing
    /// connections to peers are bound to the same IP.
    #[arg(long, value_name = "IP:PORT")]
    pub listen: SocketAddr,

    /// A cluster member as ID=IP:PORT. Repeat for every member; this node's
    /// own entry may be included and must then equal --listen. With no
    /// peers the node forms a single-node cluster.
    #[arg(long = "peer", value_name = "ID=IP:PORT", value_parser = parse_peer)]
    pub peers: Vec<(NodeId, SocketAddr)>,

    /// Directory for the Raft log, vote and state machine (created if
    /// missing). A directory written by another node id is refused.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,

    /// How reads are served. Only `linearizable` is correct; the others are
    /// deliberate mistakes for the harness to catch.
    #[arg(long, value_enum, default_value_t = ReadMode::Linearizable)]
    pub read_mode: ReadMode,

    /// How `POST /txn` runs a transaction. Only `atomic` is correct;
    /// `read-then-append` is a deliberate mistake for the harness to catch.
    #[arg(long, value_enum, default_value_t = TxnMode::Atomic)]
    pub txn_mode: TxnMode,

    /// Leader heartbeat interval, in milliseconds.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub heartbeat_ms: u64,

    /// Lower bound of the randomized election timeout, in milliseconds.
    /// openraft 0.9 also honours a leader lease equal to the upper bound,
    /// so a follower that lost its leader campaigns after lease + timeout
    /// (0.9 to 1.2 s with the defaults).
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub election_timeout_min_ms: u64,

    /// Upper bound of the randomized election timeout, in milliseconds
    /// (also the leader lease; see above).
    #[arg(long, default_value_t = 600, value_name = "MS")]
    pub election_timeout_max_ms: u64,

    /// Build a snapshot (and purge the log) after this many applied entries.
    #[arg(long, default_value_t = 10_000, value_name = "ENTRIES")]
    pub snapshot_threshold: u64,

    /// How many entries before the snapshot to keep in the log, so that
    /// slightly lagging followers catch up without a snapshot.
    #[arg(long, default_value_t = 1_000, value_name = "ENTRIES")]
    pub log_keep: u64,

    /// DELIBERATELY UNSAFE: never fsync (redb `Durability::None` for the
    /// log, the vote and the state machine), so writes are acknowledged
    /// before they are durable. A power loss then loses acknowledged
    /// writes; this exists for the harness to prove it catches that.
    #[arg(long)]
    pub unsafe_no_fsync: bool,

    /// How long a client request may wait for replication or a read barrier
    /// before it is answered with a timeout error, in milliseconds.
    #[arg(long, default_value_t = 2_000, value_name = "MS")]
    pub request_timeout_ms: u64,

    /// File holding the cluster secret that every member shares (trailing
    /// whitespace ignored; at least 16 visible ASCII characters, e.g.
    /// `head -c 32 /dev/urandom | base64 > FILE`). Peers send it with every
    /// Raft RPC; RPCs without it are refused. Instead of this flag the
    /// secret may be given in the environment variable
    /// TARGET_NODE_CLUSTER_SECRET. Required when the cluster has more than
    /// one member.
    #[arg(long, value_name = "PATH")]
    pub cluster_secret_file: Option<PathBuf>,

    /// DANGEROUS: run a multi-node cluster without a cluster secret. Anyone
    /// who can reach this node's port can then send it Raft messages: a
    /// forged vote or append can make it crash for good or silently
    /// replace stored values. Only for throwaway clusters on a machine
    /// nobody else can reach.
    #[arg(long)]
    pub insecure_no_peer_auth: bool,

    /// Close a connection that has not sent a complete request head (or a
    /// whole request body) within this time, in milliseconds; this also
    /// ends idle keep-alive connections.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub idle_timeout_ms: u64,

    /// Most connections served at once; more are closed as soon as they
    /// are accepted. Keep it well below the open-file limit (`ulimit -n`).
    #[arg(long, default_value_t = 4096, value_name = "N")]
    pub max_connections: usize,

    /// Most connections served at once from one client IP address, so that
    /// one source cannot take every connection (peers and clients each
    /// connect from their own address).
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub max_connections_per_ip: usize,
}

/// How `GET /kv/{key}` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReadMode {
    /// Read-index: the leader confirms its leadership with a quorum and
    /// waits until its state machine has applied the commit index.
    Linearizable,
    /// MISTAKE: the node that believes it is leader answers from its state
    /// machine without confirming leadership (no barrier). A deposed leader
    /// serves stale values.
    LeaderLocal,
    /// MISTAKE: every node answers from its own state machine (dirty read).
    Local,
    /// MISTAKE (under clock faults): the leader answers from its state
    /// machine without a barrier while, by its own clock, less than the
    /// lower election timeout has passed since its last confirmed read
    /// barrier, as lease-read optimisations do. A leader whose clock runs
    /// slow or jumps back serves stale reads after it was deposed.
    Lease,
}

impl ReadMode {
    /// The flag value naming this mode.
    pub fn name(self) -> &'static str {
        match self {
            ReadMode::Linearizable => "linearizable",
            ReadMode::LeaderLocal => "leader-local",
            ReadMode::Local => "local",
            ReadMode::Lease => "lease",
        }
    }
}

/// How `POST /txn` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TxnMode {
    /// The whole transaction is one Raft log entry, applied atomically by
    /// every replica at its log index.
    Atomic,
    /// MISTAKE: the leader serves the transaction's reads from its own
    /// state machine at once, then proposes only its appends; other
    /// transactions commit in between, so a transaction is not atomic
    /// (lost updates, read skew).
    ReadThenAppend,
}

/// Timing knobs, validated.
#[derive(Clone, Debug)]
pub struct Timing {
    pub heartbeat: Duration,
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    pub request_timeout: Duration,
    pub snapshot_threshold: u64,
    pub log_keep: u64,
}

/// A validated node configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: NodeId,
    pub listen: SocketAddr,
    /// Every member, this node included.
    pub members: BTreeMap<NodeId, SocketAddr>,
    pub data_dir: PathBuf,
    pub read_mode: ReadMode,
    pub txn_mode: TxnMode,
    pub timing: Timing,
    pub peer_auth: PeerAuth,
    pub limits: ServerLimits,
    /// `--unsafe-no-fsync`: commits never wait for the disk.
    pub unsafe_no_fsync: bool,
}

fn parse_peer(text: &str) -> Result<(NodeId, SocketAddr), String> {
    let (id, addr) = text
        .split_once('=')
        .ok_or_else(|| format!("expected ID=IP:PORT, got `{text}`"))?;
    let id: NodeId = id
        .trim()
        .parse()
        .map_err(|_| format!("peer id `{id}` is not a positive integer"))?;
    if id == 0 {
        return Err("peer id must be positive".into());
    }
    let addr: SocketAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("peer address `{addr}` is not IP:PORT"))?;
    Ok((id, addr))
}

/// Where the cluster secret comes from: at most one of the file and the
/// environment; without either, a node with peers refuses to start unless
/// the operator insisted on `--insecure-no-peer-auth`.
fn peer_auth(
    args: &Args,
    members: &BTreeMap<NodeId, SocketAddr>,
    env_secret: Option<String>,
) -> Result<PeerAuth, String> {
    let secret = match (&args.cluster_secret_file, env_secret) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "the cluster secret is given twice (--cluster-secret-file and {SECRET_ENV}); \
                 give one"
            ));
        }
        (Some(path), None) => Some(ClusterSecret::from_file(path).map_err(|e| e.to_string())?),
        (None, Some(text)) => {
            Some(ClusterSecret::parse(&text, SECRET_ENV).map_err(|e| e.to_string())?)
        }
        (None, None) => None,
    };
    match (secret, args.insecure_no_peer_auth) {
        (Some(_), true) => {
            Err("--insecure-no-peer-auth contradicts the cluster secret that is also given".into())
        }
        (Some(secret), false) => Ok(PeerAuth::Secret(secret)),
        (None, true) => Ok(PeerAuth::Insecure),
        (None, false) if members.len() > 1 => Err(format!(
            "a cluster with peers needs a cluster secret: give every member the same \
             --cluster-secret-file (or {SECRET_ENV}); --insecure-no-peer-auth runs without \
             one, letting anyone who reaches the port forge Raft messages"
        )),
        (None, false) => Ok(PeerAuth::NoPeers),
    }
}

impl Args {
    /// Checks the flags against each other; `env_secret` is the value of
    /// [`SECRET_ENV`], if set.
    pub fn validate(self, env_secret: Option<String>) -> Result<NodeConfig, String> {
        let mut members = BTreeMap::new();
        let mut seen_addrs = BTreeMap::new();
        for (id, addr) in &self.peers {
            if members.insert(*id, *addr).is_some() {
                return Err(format!("peer id {id} is given more than once"));
            }
            if let Some(other) = seen_addrs.insert(*addr, *id) {
                return Err(format!("peers {other} and {id} share the address {addr}"));
            }
        }
        match members.get(&self.id) {
            Some(addr) if *addr != self.listen => {
                return Err(format!(
                    "--listen {} differs from this node's own --peer entry {}={addr}",
                    self.listen, self.id
                ));
            }
            Some(_) => {}
            None => {
                if let Some(other) = seen_addrs.get(&self.listen) {
                    return Err(format!(
                        "--listen {} is the address of peer {other}",
                        self.listen
                    ));
                }
                members.insert(self.id, self.listen);
            }
        }
        if self.listen.ip().is_unspecified() {
            return Err("--listen needs a concrete IP (peers bind to it), not 0.0.0.0".into());
        }
        if self.heartbeat_ms == 0 || self.election_timeout_min_ms <= self.heartbeat_ms {
            return Err("the election timeout must exceed the heartbeat interval (> 0)".into());
        }
        if self.election_timeout_max_ms <= self.election_timeout_min_ms {
            return Err("--election-timeout-max-ms must exceed --election-timeout-min-ms".into());
        }
        if self.idle_timeout_ms == 0
            || self.max_connections == 0
            || self.max_connections_per_ip == 0
        {
            return Err(
                "--idle-timeout-ms, --max-connections and --max-connections-per-ip must be positive"
                    .into(),
            );
        }
        let peer_auth = peer_auth(&self, &members, env_secret)?;
        Ok(NodeConfig {
            id: self.id,
            listen: self.listen,
            members,
            data_dir: self.data_dir,
            read_mode: self.read_mode,
            txn_mode: self.txn_mode,
            timing: Timing {
                heartbeat: Duration::from_millis(self.heartbeat_ms),
                election_timeout_min: Duration::from_millis(self.election_timeout_min_ms),
                election_timeout_max: Duration::from_millis(self.election_timeout_max_ms),
                request_timeout: Duration::from_millis(self.request_timeout_ms.max(1)),
                snapshot_threshold: self.snapshot_threshold.max(1),
                log_keep: self.log_keep,
            },
            peer_auth,
            limits: ServerLimits {
                idle_timeout: Duration::from_millis(self.idle_timeout_ms),
                max_connections: self.max_connections,
                max_connections_per_ip: self.max_connections_per_ip.min(self.max_connections),
            },
            unsafe_no_fsync: self.unsafe_no_fsync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123";

    fn args_env(extra: &[&str], env_secret: Option<&str>) -> Result<NodeConfig, String> {
        let mut argv = vec!["target-node", "--id", "1", "--listen", "127.0.0.11:7000"];
        argv.extend_from_slice(&["--data-dir", "/tmp/x"]);
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .validate(env_secret.map(str::to_owned))
    }

    /// Flags, with a valid secret in the environment.
    fn args(extra: &[&str]) -> Result<NodeConfig, String> {
        args_env(extra, Some(SECRET))
    }

    #[test]
    fn single_node_without_peers_is_a_cluster_of_one() {
        let config = args(&[]).unwrap();
        assert_eq!(config.members.len(), 1);
        assert_eq!(config.members[&1], "127.0.0.11:7000".parse().unwrap());
    }

    #[test]
    fn own_peer_entry_is_optional_and_added() {
        let config = args(&["--peer", "2=127.0.0.12:7000"]).unwrap();
        assert_eq!(
            config.members.keys().copied().collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn peers_need_a_secret_unless_insecurity_is_explicit() {
        let peer = ["--peer", "2=127.0.0.12:7000"];
        let err = args_env(&peer, None).unwrap_err();
        assert!(err.contains("needs a cluster secret"), "{err}");
        assert!(err.contains("--insecure-no-peer-auth"), "{err}");

        let secured = args_env(&peer, Some(SECRET)).unwrap();
        assert!(matches!(secured.peer_auth, PeerAuth::Secret(_)));

        let insecure = [&peer[..], &["--insecure-no-peer-auth"]].concat();
        let config = args_env(&insecure, None).unwrap();
        assert!(matches!(config.peer_auth, PeerAuth::Insecure));
        let err = args_env(&insecure, Some(SECRET)).unwrap_err();
        assert!(err.contains("contradicts"), "{err}");

        let alone = args_env(&[], None).unwrap();
        assert!(matches!(alone.peer_auth, PeerAuth::NoPeers));
    }

    #[test]
    fn the_secret_comes_from_one_place() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, format!("{SECRET}\n")).unwrap();
        let file = file.display().to_string();
        let from_file = [
            "--peer",
            "2=127.0.0.12:7000",
            "--cluster-secret-file",
            file.as_str(),
        ];
        let config = args_env(&from_file, None).unwrap();
        let PeerAuth::Secret(secret) = config.peer_auth else {
            panic!("the file's secret is used");
        };
        assert_eq!(
            secret.authorization().to_str().unwrap(),
            format!("Bearer {SECRET}")
        );
        let err = args_env(&from_file, Some(SECRET)).unwrap_err();
        assert!(err.contains("given twice"), "{err}");
        let err = args_env(&["--peer", "2=127.0.0.12:7000"], Some("short")).unwrap_err();
        assert!(
            err.contains(SECRET_ENV) && err.contains("at least 16"),
            "{err}"
        );
    }

    #[test]
    fn read_modes_are_named_as_on_the_command_line() {
        for mode in [
            ReadMode::Linearizable,
            ReadMode::LeaderLocal,
            ReadMode::Local,
            ReadMode::Lease,
        ] {
            let config = args(&["--read-mode", mode.name()]).unwrap();
            assert_eq!(config.read_mode, mode);
        }
        assert_eq!(args(&[]).unwrap().read_mode, ReadMode::Linearizable);
    }

    #[test]
    fn fsync_is_on_unless_deliberately_off() {
        assert!(!args(&[]).unwrap().unsafe_no_fsync);
        assert!(args(&["--unsafe-no-fsync"]).unwrap().unsafe_no_fsync);
    }

    #[test]
    fn bad_flags_are_explained() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--peer", "2=127.0.0.12:7000", "--peer", "2=127.0.0.13:7000"],
                "more than once",
            ),
            (
                &["--peer", "2=127.0.0.12:7000", "--peer", "3=127.0.0.12:7000"],
                "share the address",
            ),
            (
                &["--peer", "1=127.0.0.19:7000"],
                "differs from this node's own",
            ),
            (&["--peer", "2=127.0.0.11:7000"], "is the address of peer 2"),
            (&["--peer", "2:127.0.0.12:7000"], "expected ID=IP:PORT"),
            (&["--peer", "x=127.0.0.12:7000"], "not a positive integer"),
            (&["--peer", "2=localhost"], "not IP:PORT"),
            (&["--heartbeat-ms", "900"], "election timeout must exceed"),
            (&["--idle-timeout-ms", "0"], "must be positive"),
            (&["--max-connections", "0"], "must be positive"),
        ];
        for (extra, fragment) in cases {
            let err = args(extra).expect_err(fragment);
            assert!(
                err.contains(fragment),
                "{extra:?}: `{err}` lacks `{fragment}`"
            );
        }
    }
}
