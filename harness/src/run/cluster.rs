//! The cluster of a run: which nodes exist, where they listen, how each is
//! started, how clients reach them, and what they say about leadership.
//!
//! | network | node `nI` listens on | fault rules |
//! |---|---|---|
//! | `loopback` | 127.0.0.(10+I), free port | one chain in the run's namespace, matching node addresses |
//! | `namespaces` | 10.77.0.(10+I) in its own namespace, fixed port | per-node rules in each node's namespace |
//!
//! Every node keeps its data in `nodes/nI/` and its output in
//! `nodes/nI.log` under the run directory. The per-node namespaces live as
//! long as the `Cluster`, which outlives the nemesis.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use faults::{
    FaultError, NodeName,
    net::{AnyBackend, Firewall, NodeNetworks},
    process::NodeSpec,
};
use serde_json::Value;

use super::{
    client::{KvClient, NodeClient},
    command::{NodeVars, Template},
    etcd::{self, EtcdClient, EtcdMember, EtcdSettings},
};
use crate::plan::{NetworkMode, Plan, System};

/// The port of the node protocol (and etcd's client port) inside per-node
/// namespaces, where every node has the whole port space to itself.
const NAMESPACE_PORT: u16 = 7000;
const ETCD_CLIENT_PORT: u16 = 2379;
const ETCD_PEER_PORT: u16 = 2380;
/// How long a status request may take when looking for the leader.
const STATUS_TIMEOUT: Duration = Duration::from_millis(500);

/// One node of the cluster.
#[derive(Clone, Debug)]
pub struct ClusterNode {
    pub name: NodeName,
    /// Where clients connect.
    pub addr: SocketAddr,
    pub log: PathBuf,
    pub spec: NodeSpec,
}

/// The nodes of a run, and how to ask them about leadership.
pub struct Cluster {
    pub nodes: Vec<ClusterNode>,
    pub system: System,
    /// Per-node namespaces (`namespaces` mode); dropped after the nodes.
    networks: Option<NodeNetworks>,
    http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no free port on {ip}: {source}")]
    Port {
        ip: Ipv4Addr,
        source: std::io::Error,
    },
    #[error("cannot set up the nodes' network: {0}")]
    Network(#[from] FaultError),
    #[error("the cluster never agreed on a leader within {waited:?}\n{logs}")]
    NoLeader { waited: Duration, logs: String },
}

/// Where one node listens, before any command line is built.
struct Place {
    name: NodeName,
    ip: Ipv4Addr,
    port: u16,
    /// etcd's peer port.
    peer_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
}

impl Cluster {
    /// Lays out the plan's nodes under `run_dir` (creating per-node
    /// namespaces in `namespaces` mode). `binary` is the node program.
    pub async fn create(
        plan: &Plan,
        run_dir: &Path,
        binary: &Path,
    ) -> Result<Cluster, ClusterError> {
        let names = NodeName::cluster(plan.cluster.nodes.value as u32);
        let networks = match plan.cluster.network_mode() {
            NetworkMode::Loopback => None,
            NetworkMode::Namespaces => Some(NodeNetworks::create(&names).await?),
        };
        let places = places(plan, run_dir, &names, networks.as_ref())?;
        let mut nodes = Vec::new();
        for place in &places {
            let spec = node_spec(plan, binary, place, &places);
            let spec = match &networks {
                Some(networks) => networks.place(spec)?,
                None => spec,
            };
            nodes.push(ClusterNode {
                name: place.name.clone(),
                addr: SocketAddr::from((place.ip, place.port)),
                log: place.log.clone(),
                spec,
            });
        }
        let http = reqwest::Client::builder()
            .timeout(STATUS_TIMEOUT)
            .build()
            .expect("a plain HTTP client builds");
        Ok(Cluster {
            nodes,
            system: plan.cluster.system,
            networks,
            http,
        })
    }

    /// The firewall for network faults, matching the network mode.
    pub async fn firewall(&self) -> Result<Firewall<AnyBackend>, FaultError> {
        match &self.networks {
            Some(networks) => Firewall::any_namespaces(networks).await,
            None => {
                let addrs = self
                    .nodes
                    .iter()
                    .filter_map(|n| match n.addr.ip() {
                        IpAddr::V4(ip) => Some((n.name.clone(), ip)),
                        IpAddr::V6(_) => None,
                    })
                    .collect::<BTreeMap<_, _>>();
                Firewall::any_loopback(addrs).await
            }
        }
    }

    pub fn names(&self) -> Vec<NodeName> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// One client per node, sharing `http`'s connection pools.
    pub fn clients(&self, plan: &Plan, http: &reqwest::Client, timeout: Duration) -> Vec<KvClient> {
        let serializable = plan
            .cluster
            .serializable_reads
            .as_ref()
            .is_some_and(|s| s.value);
        self.nodes
            .iter()
            .map(|n| match self.system {
                System::Etcd => KvClient::Etcd(
                    EtcdClient::new(http.clone(), &n.addr.to_string(), timeout)
                        .serializable_reads(serializable),
                ),
                System::RaftKv | System::Command => {
                    KvClient::Node(NodeClient::new(http.clone(), &n.addr.to_string(), timeout))
                }
            })
            .collect()
    }

    /// The node that leads now, if the nodes say so.
    pub async fn leader(&self) -> Option<NodeName> {
        match self.system {
            System::Etcd => etcd::find_leader(&self.etcd_status_clients()).await,
            System::RaftKv | System::Command => self.protocol_leader().await,
        }
    }

    /// Waits until a majority of nodes follow the same leader.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<NodeName, ClusterError> {
        let started = Instant::now();
        loop {
            let agreed = match self.system {
                System::Etcd => etcd::find_leader(&self.etcd_status_clients()).await,
                System::RaftKv | System::Command => self.agreed_protocol_leader().await,
            };
            if let Some(leader) = agreed {
                return Ok(leader);
            }
            if started.elapsed() > timeout {
                return Err(ClusterError::NoLeader {
                    waited: timeout,
                    logs: self.log_tails(20),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn etcd_status_clients(&self) -> Vec<(NodeName, EtcdClient)> {
        self.nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    EtcdClient::new(self.http.clone(), &n.addr.to_string(), STATUS_TIMEOUT),
                )
            })
            .collect()
    }

    /// Every node's `/status` (node protocol), asked all at once.
    async fn statuses(&self) -> Vec<(NodeName, Option<Value>)> {
        let asks: Vec<_> = self
            .nodes
            .iter()
            .map(|node| {
                let (http, url) = (self.http.clone(), format!("http://{}/status", node.addr));
                tokio::spawn(async move {
                    match http.get(url).send().await {
                        Ok(r) => r.json::<Value>().await.ok(),
                        Err(_) => None,
                    }
                })
            })
            .collect();
        let mut out = Vec::with_capacity(asks.len());
        for (node, ask) in self.nodes.iter().zip(asks) {
            out.push((node.name.clone(), ask.await.ok().flatten()));
        }
        out
    }

    /// The node that claims leadership in the highest term.
    async fn protocol_leader(&self) -> Option<NodeName> {
        self.statuses()
            .await
            .into_iter()
            .filter_map(|(name, status)| {
                let status = status?;
                (status["role"] == "leader").then(|| (status["term"].as_u64().unwrap_or(0), name))
            })
            .max_by_key(|(term, _)| *term)
            .map(|(_, name)| name)
    }

    /// A leader named by a majority that also says it leads.
    async fn agreed_protocol_leader(&self) -> Option<NodeName> {
        let statuses = self.statuses().await;
        let mut votes: BTreeMap<u64, usize> = BTreeMap::new();
        let mut leaders = BTreeMap::new();
        for (name, status) in &statuses {
            let Some(status) = status else { continue };
            if let Some(leader) = status["leader"].as_u64() {
                *votes.entry(leader).or_default() += 1;
            }
            if status["role"] == "leader" {
                leaders.insert(status["id"].as_u64()?, name.clone());
            }
        }
        let majority = self.nodes.len() / 2 + 1;
        votes
            .into_iter()
            .find(|(_, count)| *count >= majority)
            .and_then(|(id, _)| leaders.get(&id).cloned())
    }

    /// The last `lines` lines of every node's log, for error messages.
    pub fn log_tails(&self, lines: usize) -> String {
        self.nodes
            .iter()
            .map(|node| {
                let text = std::fs::read_to_string(&node.log).unwrap_or_default();
                let all: Vec<&str> = text.lines().collect();
                let tail = all[all.len().saturating_sub(lines)..].join("\n");
                format!("--- {} ({}) ---\n{tail}", node.name, node.log.display())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn places(
    plan: &Plan,
    run_dir: &Path,
    names: &[NodeName],
    networks: Option<&NodeNetworks>,
) -> Result<Vec<Place>, ClusterError> {
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (ip, port, peer_port) = match networks {
            Some(networks) => {
                let ip = networks.addr(name).expect("every node has a namespace");
                let port = match plan.cluster.system {
                    System::Etcd => ETCD_CLIENT_PORT,
                    _ => plan.cluster.port.unwrap_or(NAMESPACE_PORT),
                };
                (ip, port, ETCD_PEER_PORT)
            }
            None => {
                let ip =
                    faults::node::loopback_addr(i as u32 + 1).expect("plans have at most 50 nodes");
                let port = match plan.cluster.port {
                    Some(port) => port,
                    None => free_port(ip)?,
                };
                (ip, port, free_port(ip)?)
            }
        };
        let nodes_dir = run_dir.join("nodes");
        out.push(Place {
            name: name.clone(),
            ip,
            port,
            peer_port,
            data_dir: nodes_dir.join(name.as_str()),
            log: nodes_dir.join(format!("{name}.log")),
        });
    }
    Ok(out)
}

/// How to start the node at `place`, by system.
fn node_spec(plan: &Plan, binary: &Path, place: &Place, all: &[Place]) -> NodeSpec {
    let spec = match plan.cluster.system {
        System::RaftKv => raft_kv_spec(binary, place, all),
        System::Etcd => {
            let member = |p: &Place| EtcdMember {
                name: p.name.clone(),
                ip: IpAddr::V4(p.ip),
                client_port: p.port,
                peer_port: p.peer_port,
                data_dir: p.data_dir.clone(),
            };
            let members: Vec<EtcdMember> = all.iter().map(member).collect();
            let settings = EtcdSettings {
                token: format!("harness-{}-{}", plan.name, plan.seed.unwrap_or_default()),
                ..EtcdSettings::default()
            };
            etcd::member_spec(binary, &members, &member(place), &settings, &place.log)
        }
        System::Command => {
            let vars = |p: &Place| NodeVars {
                id: node_index(&p.name),
                name: p.name.to_string(),
                ip: IpAddr::V4(p.ip),
                port: p.port,
                data_dir: p.data_dir.clone(),
            };
            let peers: Vec<NodeVars> = all.iter().map(vars).collect();
            let template = plan
                .cluster
                .start
                .as_ref()
                .and_then(|s| Template::parse(&s.value).ok())
                .expect("validated command plans have a start template");
            template.node_spec(place.name.clone(), &vars(place), &peers, &place.log)
        }
    };
    spec.args(&plan.cluster.args)
        .env("RUST_LOG", "info,openraft=warn")
}

fn raft_kv_spec(binary: &Path, place: &Place, all: &[Place]) -> NodeSpec {
    let mut spec = NodeSpec::new(place.name.clone(), binary, &place.log)
        .arg("--id")
        .arg(node_index(&place.name).to_string())
        .arg("--listen")
        .arg(format!("{}:{}", place.ip, place.port))
        .arg("--data-dir")
        .arg(&place.data_dir);
    for peer in all {
        spec = spec.arg("--peer").arg(format!(
            "{}={}:{}",
            node_index(&peer.name),
            peer.ip,
            peer.port
        ));
    }
    spec
}

/// `n3` -> 3.
fn node_index(name: &NodeName) -> u32 {
    name.as_str()[1..]
        .parse()
        .expect("nodes are named n1, n2, ...")
}

fn free_port(ip: Ipv4Addr) -> Result<u16, ClusterError> {
    let listener =
        TcpListener::bind((ip, 0)).map_err(|source| ClusterError::Port { ip, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| ClusterError::Port { ip, source })?
        .port();
    Ok(port)
}
