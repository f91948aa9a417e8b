//! The cluster of a run: which nodes exist, how each one is started, and
//! what the nodes say about leadership.
//!
//! Node `nI` listens on 127.0.0.(10+I) (its own loopback address, so that
//! firewall rules can name it), keeps its data in `nodes/nI/` and its
//! output in `nodes/nI.log` under the run directory.

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use faults::{NodeName, process::NodeSpec};
use serde_json::Value;

use crate::plan::Plan;

/// One node of the cluster.
#[derive(Clone, Debug)]
pub struct ClusterNode {
    pub name: NodeName,
    pub addr: SocketAddr,
    pub log: PathBuf,
    pub spec: NodeSpec,
}

/// The nodes of a run, and a client to ask them about leadership.
pub struct Cluster {
    pub nodes: Vec<ClusterNode>,
    http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no free port on {ip}: {source}")]
    Port {
        ip: Ipv4Addr,
        source: std::io::Error,
    },
    #[error("the cluster never agreed on a leader within {waited:?}\n{logs}")]
    NoLeader { waited: Duration, logs: String },
}

impl Cluster {
    /// Lays out the plan's nodes under `run_dir`, to run `binary`.
    pub fn new(plan: &Plan, run_dir: &Path, binary: &Path) -> Result<Cluster, ClusterError> {
        let count = plan.cluster.nodes.value as u32;
        let mut addrs = BTreeMap::new();
        for i in 1..=count {
            let ip = faults::node::loopback_addr(i).expect("plans have at most 50 nodes");
            addrs.insert(i, SocketAddr::from((ip, free_port(ip)?)));
        }
        let nodes = addrs
            .iter()
            .map(|(&i, &addr)| {
                let name = NodeName::numbered(i);
                let log = run_dir.join("nodes").join(format!("{name}.log"));
                let mut spec = NodeSpec::new(name.clone(), binary, &log)
                    .arg("--id")
                    .arg(i.to_string())
                    .arg("--listen")
                    .arg(addr.to_string())
                    .arg("--data-dir")
                    .arg(run_dir.join("nodes").join(name.as_str()));
                for (peer, peer_addr) in &addrs {
                    spec = spec.arg("--peer").arg(format!("{peer}={peer_addr}"));
                }
                spec = spec
                    .args(&plan.cluster.args)
                    .env("RUST_LOG", "info,openraft=warn");
                ClusterNode {
                    name,
                    addr,
                    log,
                    spec,
                }
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .expect("a plain HTTP client builds");
        Ok(Cluster { nodes, http })
    }

    pub fn names(&self) -> Vec<NodeName> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    pub fn addr_of(&self, name: &NodeName) -> Option<SocketAddr> {
        self.nodes.iter().find(|n| &n.name == name).map(|n| n.addr)
    }

    /// Every node's `/status`, or `None` where it did not answer. All
    /// nodes are asked at once.
    pub async fn statuses(&self) -> Vec<(NodeName, Option<Value>)> {
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

    /// The node that claims leadership in the highest term, if any.
    pub async fn leader(&self) -> Option<NodeName> {
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

    /// Waits until a majority of nodes name the same leader and that node
    /// says it leads.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<NodeName, ClusterError> {
        let started = Instant::now();
        loop {
            if let Some(leader) = self.agreed_leader().await {
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

    async fn agreed_leader(&self) -> Option<NodeName> {
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

fn free_port(ip: Ipv4Addr) -> Result<u16, ClusterError> {
    let listener =
        TcpListener::bind((ip, 0)).map_err(|source| ClusterError::Port { ip, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| ClusterError::Port { ip, source })?
        .port();
    Ok(port)
}
