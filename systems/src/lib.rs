//! Systems under test: how to start, reach and ask each kind of cluster.
//!
//! The seam is [`System`]: one module per system ([`raft_kv`], [`etcd`],
//! [`zookeeper`], [`command`]) owns everything the harness needs to know
//! about it: which program runs, its default network mode, which plan
//! fields it takes, the command line of each node, its client, and how to
//! ask a node whether it is up and whom it follows. [`ALL`] registers them. The rest of the
//! harness knows systems only through this trait and [`Cluster`], which
//! lays out nodes, starts nothing itself (the nemesis does), and waits for
//! readiness the same way for every system.
//!
//! Adding a system: a module implementing [`System`], one line in [`ALL`],
//! and its page in the docs.

mod canonical_json;
pub mod client;
pub mod cluster;
pub mod command;
pub mod etcd;
pub mod protocol;
pub mod raft_kv;
pub mod zookeeper;

use std::{
    future::Future,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
};

pub use client::{Client, Completion};
pub use cluster::{Cluster, ClusterError, Layout, NodePlace};
use faults::NodeSpec;
use plan::{NetworkMode, Plan, Problem};
use workloads::OpKind;

/// Every system, by the name plans use (`cluster.system`).
pub const ALL: &[&dyn System] = &[
    &raft_kv::RaftKv,
    &etcd::Etcd,
    &zookeeper::ZooKeeper,
    &command::Command,
];

/// The system called `name` in plans.
pub fn find(name: &str) -> Option<&'static dyn System> {
    ALL.iter().copied().find(|s| s.name() == name)
}

/// The system of `plan`. Plans are validated before they run, so an
/// unknown name here is a bug in the caller.
pub fn of(plan: &Plan) -> &'static dyn System {
    find(&plan.cluster.system.value).expect("validated plans name a known system")
}

/// The names of all systems, for error messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|s| s.name()).collect()
}

/// A boxed future, so that [`System`] and [`Client`] stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where to look for programs that a plan does not name.
#[derive(Clone, Debug, Default)]
pub struct Programs {
    /// `--node-binary` of the command line (raft-kv plans).
    pub node_binary: Option<PathBuf>,
    /// The directory of the running harness binary (target-node is built
    /// next to it).
    pub harness_dir: Option<PathBuf>,
}

/// A system's program could not be found.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProgramError(pub String);

/// What one node said about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// It answered its health check.
    pub healthy: bool,
    /// Leadership as the node sees it, for systems that name leaders.
    pub leadership: Option<Leadership>,
    /// What it said, or why it said nothing: quoted when the cluster does
    /// not become ready.
    pub said: String,
}

/// One node's view of leadership, in the system's own ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leadership {
    /// The node's own id.
    pub id: u64,
    /// It says it leads.
    pub leads: bool,
    /// The leader it follows, if any.
    pub follows: Option<u64>,
    /// Its term (or epoch), to prefer the newest of two claimants.
    pub term: u64,
}

/// One kind of system under test.
pub trait System: Sync {
    /// The name plans use (`cluster.system`).
    fn name(&self) -> &'static str;

    /// The network mode when the plan gives none.
    fn default_network(&self) -> NetworkMode;

    /// Whether partitions work in `loopback` mode: the nodes bind their
    /// outgoing connections to their own address, so that rules can tell
    /// them apart.
    fn binds_outgoing(&self) -> bool;

    /// The system-specific `cluster` fields it takes (`start`, `port`,
    /// `binary`, ...); the others are refused with a located error.
    fn fields(&self) -> &'static [&'static str];

    /// Further checks of the plan's cluster section.
    fn check_plan(&self, _plan: &Plan, _problems: &mut Vec<Problem>) {}

    /// Whether its nodes say which of them leads (for `target: leader`,
    /// `isolate-leader`, and waiting for a leader before the run).
    fn names_leader(&self, _plan: &Plan) -> bool {
        true
    }

    /// The node program.
    fn program(&self, plan: &Plan, programs: &Programs) -> Result<PathBuf, ProgramError>;

    /// The node's port and peer port inside a per-node namespace, where
    /// every node has the whole port space to itself.
    fn namespace_ports(&self, plan: &Plan) -> (u16, u16) {
        (plan.cluster.port.as_ref().map_or(7000, |p| p.value), 7001)
    }

    /// How `node` starts (before it is placed in its namespace, if any).
    fn node_spec(&self, layout: &Layout<'_>, node: &NodePlace) -> NodeSpec;

    /// A client of `node`, sharing `http`'s connection pools.
    fn client(&self, plan: &Plan, node: &NodePlace, http: &reqwest::Client) -> Arc<dyn Client>;

    /// Asks `node` whether it is up and whom it follows.
    fn probe<'a>(
        &'a self,
        plan: &'a Plan,
        http: &'a reqwest::Client,
        node: &'a NodePlace,
    ) -> BoxFuture<'a, Probe>;

    /// How it serves reads, in words, for reports.
    fn reads(&self, plan: &Plan) -> String;

    /// Whether its client can run operations of kind `f` (a plan whose
    /// workload issues one it cannot is refused). Systems that cannot run
    /// transactions, say, return `false` for [`OpKind::Txn`].
    fn supports(&self, _f: OpKind) -> bool {
        true
    }
}

/// The network mode of `plan`: its own, else its system's default.
pub fn network_mode(plan: &Plan) -> NetworkMode {
    plan.cluster
        .network
        .as_ref()
        .map_or_else(|| of(plan).default_network(), |n| n.value)
}

/// The plan rules of systems: the system exists, and the cluster fields
/// are the ones it takes.
pub fn check_plan(plan: &Plan, problems: &mut Vec<Problem>) {
    let cluster = &plan.cluster;
    let Some(system) = find(&cluster.system.value) else {
        problems.push(Problem::at(
            &cluster.system.referenced,
            format!(
                "unknown system `{}`; expected one of {}",
                cluster.system.value,
                names().join(", ")
            ),
        ));
        return;
    };
    for (field, location) in cluster.fields() {
        if system.fields().contains(&field) {
            continue;
        }
        let owners: Vec<String> = ALL
            .iter()
            .filter(|s| s.fields().contains(&field))
            .map(|s| format!("`system: {}`", s.name()))
            .collect();
        problems.push(Problem::at(
            location,
            format!("`{field}` belongs to {}", owners.join(" or ")),
        ));
    }
    system.check_plan(plan, problems);
}

/// `program` if it is a file, else an error saying how to get one.
pub fn existing(program: PathBuf, hint: &str) -> Result<PathBuf, ProgramError> {
    if program.is_file() {
        Ok(program)
    } else {
        Err(ProgramError(format!(
            "{} does not exist; {hint}",
            program.display()
        )))
    }
}

/// `ip:port`.
pub fn socket(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

/// `n3` -> 3: the number of a harness node name.
pub fn node_number(name: &str) -> u32 {
    name.strip_prefix('n')
        .and_then(|n| n.parse().ok())
        .expect("nodes are named n1, n2, ...")
}

/// The path `plan` names for its program, if any.
pub fn plan_binary(plan: &Plan) -> Option<&Path> {
    plan.cluster.binary.as_ref().map(|b| b.value.as_path())
}
