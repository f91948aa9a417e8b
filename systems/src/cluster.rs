//! The cluster of a run: which nodes exist, where they listen, how each is
//! started, how clients reach them, and when the cluster is ready.
//!
//! | network | node `nI` listens on | fault rules |
//! |---|---|---|
//! | `loopback` | 127.0.0.(10+I), free ports | one chain in the run's namespace, matching node addresses |
//! | `namespaces` | 10.77.0.(10+I) in its own namespace, the system's ports | per-node rules in each node's namespace |
//!
//! Every node keeps its data in `nodes/nI/` and its output in
//! `nodes/nI.log` under the run directory. The per-node namespaces live as
//! long as the `Cluster`, which outlives the nemesis.
//!
//! Readiness is the same for every system: a majority of nodes answer
//! their health check and, for systems that name leaders, a majority
//! follow one node that says it leads. A cluster that does not get there
//! in time is an error that quotes what each node last said.

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use faults::{
    FaultError, NodeName,
    net::{AnyBackend, Firewall, NodeNetworks},
    process::NodeSpec,
};
use plan::{NetworkMode, Plan};
use rundir::RunDir;

use crate::{Client, Probe, System, network_mode, node_number, socket};

/// How often readiness is asked while waiting.
const POLL: Duration = Duration::from_millis(100);

/// Where one node lives: its name, address, ports, data and log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePlace {
    pub name: NodeName,
    pub ip: Ipv4Addr,
    /// Where clients connect.
    pub port: u16,
    /// A second port of its own (peer traffic, for systems that want one).
    pub peer_port: u16,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

impl NodePlace {
    /// `ip:port`, where clients connect.
    pub fn addr(&self) -> SocketAddr {
        socket(self.ip, self.port)
    }

    /// The node's number: 3 for `n3`.
    pub fn number(&self) -> u32 {
        node_number(self.name.as_str())
    }
}

/// What a node's command line may need to know about the whole run.
pub struct Layout<'a> {
    pub plan: &'a Plan,
    /// The node program.
    pub program: &'a Path,
    /// Every node, in order, this one included.
    pub nodes: &'a [NodePlace],
    /// A random secret of this run, the same for every node (for peer
    /// authentication).
    pub secret: &'a str,
}

/// One node of the cluster, ready to be started by the nemesis.
#[derive(Clone, Debug)]
pub struct ClusterNode {
    pub place: NodePlace,
    pub spec: NodeSpec,
}

impl ClusterNode {
    pub fn name(&self) -> &NodeName {
        &self.place.name
    }
}

/// The nodes of a run, and how to ask them about themselves.
pub struct Cluster {
    pub nodes: Vec<ClusterNode>,
    system: &'static dyn System,
    plan: Plan,
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
    #[error(
        "the cluster was not ready within {waited:?}: {wanted}\nwhat each node said last:\n{said}\n{logs}"
    )]
    NotReady {
        waited: Duration,
        /// What readiness needed.
        wanted: String,
        said: String,
        logs: String,
    },
}

impl Cluster {
    /// Lays out the plan's nodes in `dir` (creating per-node namespaces in
    /// `namespaces` mode). `program` is the node program.
    pub async fn create(
        plan: &Plan,
        dir: &RunDir,
        program: &Path,
        secret: &str,
    ) -> Result<Cluster, ClusterError> {
        let system = crate::of(plan);
        let names = NodeName::cluster(plan.cluster.nodes.value as u32);
        let networks = match network_mode(plan) {
            NetworkMode::Loopback => None,
            NetworkMode::Namespaces => Some(NodeNetworks::create(&names).await?),
        };
        let places = places(plan, system, dir, &names, networks.as_ref())?;
        let layout = Layout {
            plan,
            program,
            nodes: &places,
            secret,
        };
        let mut nodes = Vec::new();
        for place in &places {
            let spec = system.node_spec(&layout, place);
            let spec = match &networks {
                Some(networks) => networks.place(spec)?,
                None => spec,
            };
            nodes.push(ClusterNode {
                place: place.clone(),
                spec,
            });
        }
        let http = reqwest::Client::builder()
            .build()
            .expect("a plain HTTP client builds");
        Ok(Cluster {
            nodes,
            system,
            plan: plan.clone(),
            networks,
            http,
        })
    }

    /// The system the nodes run.
    pub fn system(&self) -> &'static dyn System {
        self.system
    }

    /// The firewall for network faults, matching the network mode.
    pub async fn firewall(&self) -> Result<Firewall<AnyBackend>, FaultError> {
        match &self.networks {
            Some(networks) => Firewall::any_namespaces(networks).await,
            None => {
                let addrs = self
                    .nodes
                    .iter()
                    .map(|n| (n.place.name.clone(), n.place.ip))
                    .collect::<BTreeMap<_, _>>();
                Firewall::any_loopback(addrs).await
            }
        }
    }

    pub fn names(&self) -> Vec<NodeName> {
        self.nodes.iter().map(|n| n.place.name.clone()).collect()
    }

    /// One client per node, sharing `http`'s connection pools.
    pub fn clients(&self, http: &reqwest::Client) -> Vec<Arc<dyn Client>> {
        self.nodes
            .iter()
            .map(|n| self.system.client(&self.plan, &n.place, http))
            .collect()
    }

    /// What every node says about itself now.
    pub async fn probes(&self) -> Vec<(NodeName, Probe)> {
        let asks = self
            .nodes
            .iter()
            .map(|n| self.system.probe(&self.plan, &self.http, &n.place));
        let answers = futures::future::join_all(asks).await;
        self.names().into_iter().zip(answers).collect()
    }

    /// The node that claims leadership in the highest term, if the system
    /// names leaders and one claims it.
    pub async fn leader(&self) -> Option<NodeName> {
        if !self.system.names_leader(&self.plan) {
            return None;
        }
        claimed_leader(&self.probes().await)
    }

    /// Waits until the cluster is ready (see the module docs); the agreed
    /// leader, for systems that name one.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Option<NodeName>, ClusterError> {
        let leaders = self.system.names_leader(&self.plan);
        let started = Instant::now();
        loop {
            let probes = self.probes().await;
            if let Some(ready) = ready(&probes, leaders) {
                return Ok(ready);
            }
            if started.elapsed() > timeout {
                return Err(ClusterError::NotReady {
                    waited: timeout,
                    wanted: if leaders {
                        "a majority answering /health and following one leader that says it leads"
                    } else {
                        "a majority answering their health check"
                    }
                    .to_owned(),
                    said: probes
                        .iter()
                        .map(|(name, p)| format!("  {name}: {}", p.said))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    logs: self.log_tails(20),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The last `lines` lines of every node's log, for error messages.
    pub fn log_tails(&self, lines: usize) -> String {
        self.nodes
            .iter()
            .map(|node| {
                let log = &node.place.log;
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let all: Vec<&str> = text.lines().collect();
                let tail = all[all.len().saturating_sub(lines)..].join("\n");
                format!("--- {} ({}) ---\n{tail}", node.place.name, log.display())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `Some(leader)` (or `Some(None)` for systems without leaders) once the
/// probes show a ready cluster.
pub fn ready(probes: &[(NodeName, Probe)], leaders: bool) -> Option<Option<NodeName>> {
    let majority = probes.len() / 2 + 1;
    let healthy = probes.iter().filter(|(_, p)| p.healthy).count();
    if healthy < majority {
        return None;
    }
    if !leaders {
        return Some(None);
    }
    agreed_leader(probes).map(Some)
}

/// The leader a majority follow, if that node says it leads.
pub fn agreed_leader(probes: &[(NodeName, Probe)]) -> Option<NodeName> {
    let majority = probes.len() / 2 + 1;
    let mut votes: BTreeMap<u64, usize> = BTreeMap::new();
    for leadership in probes.iter().filter_map(|(_, p)| p.leadership) {
        if let Some(leader) = leadership.follows {
            *votes.entry(leader).or_default() += 1;
        }
    }
    let (leader, _) = votes.into_iter().find(|(_, n)| *n >= majority)?;
    probes.iter().find_map(|(name, p)| {
        p.leadership
            .filter(|l| l.id == leader && l.leads)
            .map(|_| name.clone())
    })
}

/// The node that claims leadership in the highest term.
pub fn claimed_leader(probes: &[(NodeName, Probe)]) -> Option<NodeName> {
    probes
        .iter()
        .filter_map(|(name, p)| p.leadership.filter(|l| l.leads).map(|l| (l.term, name)))
        .max_by_key(|(term, _)| *term)
        .map(|(_, name)| name.clone())
}

fn places(
    plan: &Plan,
    system: &dyn System,
    dir: &RunDir,
    names: &[NodeName],
    networks: Option<&NodeNetworks>,
) -> Result<Vec<NodePlace>, ClusterError> {
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (ip, port, peer_port) = match networks {
            Some(networks) => {
                let ip = networks.addr(name).expect("every node has a namespace");
                let (port, peer_port) = system.namespace_ports(plan);
                (ip, port, peer_port)
            }
            None => {
                let ip =
                    faults::node::loopback_addr(i as u32 + 1).expect("plans have at most 50 nodes");
                let port = match &plan.cluster.port {
                    Some(port) => port.value,
                    None => free_port(ip)?,
                };
                (ip, port, free_port(ip)?)
            }
        };
        out.push(NodePlace {
            name: name.clone(),
            ip,
            port,
            peer_port,
            data_dir: dir.node_data(name.as_str()),
            log: dir.node_log(name.as_str()),
        });
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Leadership;

    fn probe(id: u64, leads: bool, follows: Option<u64>, term: u64) -> Probe {
        Probe {
            healthy: true,
            leadership: Some(Leadership {
                id,
                leads,
                follows,
                term,
            }),
            said: String::new(),
        }
    }

    fn named(probes: Vec<Probe>) -> Vec<(NodeName, Probe)> {
        (1..).map(NodeName::numbered).zip(probes).collect()
    }

    #[test]
    fn the_leader_needs_a_majority_and_its_own_word() {
        let agreed = named(vec![
            probe(1, true, Some(1), 3),
            probe(2, false, Some(1), 3),
            probe(3, false, None, 3),
        ]);
        assert_eq!(agreed_leader(&agreed), Some(NodeName::numbered(1)));
        let minority = named(vec![
            probe(1, true, Some(1), 3),
            probe(2, false, Some(3), 3),
            probe(3, false, None, 3),
        ]);
        assert_eq!(agreed_leader(&minority), None);
        let deposed = named(vec![
            probe(1, false, Some(1), 3),
            probe(2, false, Some(1), 3),
            probe(3, false, Some(1), 3),
        ]);
        assert_eq!(agreed_leader(&deposed), None, "n1 no longer says it leads");
    }

    #[test]
    fn the_newest_claimant_leads() {
        let two = named(vec![
            probe(1, true, Some(1), 3),
            probe(2, true, Some(2), 5),
            probe(3, false, Some(2), 5),
        ]);
        assert_eq!(claimed_leader(&two), Some(NodeName::numbered(2)));
    }

    #[test]
    fn a_leaderless_cluster_is_ready_with_a_healthy_majority() {
        let mut probes = named(vec![Probe::default(), Probe::default(), Probe::default()]);
        assert_eq!(ready(&probes, false), None);
        probes[0].1.healthy = true;
        assert_eq!(ready(&probes, false), None);
        probes[2].1.healthy = true;
        assert_eq!(ready(&probes, false), Some(None));
        assert_eq!(ready(&probes, true), None, "no leadership was reported");
    }
}
