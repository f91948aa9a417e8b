//! The plan file's shape: every field a person may write, with defaults.
//!
//! Unknown fields are errors everywhere (`deny_unknown_fields`). Fields
//! that semantic validation must point at are `Spanned`, so an error like
//! "a fault at 90s in a 60s plan" names the line of that `at:`.

use std::{collections::BTreeMap, path::PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};

use super::duration::{HumanDuration, SignedDuration};

/// A chaos test: the cluster, the workload, the faults and the final phase.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Plan {
    /// Names the run directory: `runs/<name>/<timestamp>/`.
    pub name: String,
    /// Seed of every random decision (op mix, fault picks, targets). Random
    /// when absent; the stored plan always records the seed that was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The system under test.
    #[serde(default)]
    pub cluster: ClusterSpec,
    /// What the clients do.
    pub workload: WorkloadSpec,
    /// How long clients run and faults are injected, e.g. `30s`.
    #[schemars(with = "HumanDuration")]
    pub duration: Spanned<HumanDuration>,
    /// The fault schedule: random (`every` + `pick`) or a `timeline`.
    #[serde(default)]
    pub faults: FaultsSpec,
    /// What happens after `duration`: heal, settle, final reads.
    #[serde(default, rename = "final")]
    pub final_phase: FinalSpec,
    /// Checker settings.
    #[serde(default)]
    pub check: CheckSpec,
}

/// Which system runs on the nodes, and how many nodes.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterSpec {
    /// The system under test: `raft-kv` (our target-node, the default),
    /// `etcd` (Debian's etcd-server 3.4), `zookeeper` (Debian's ZooKeeper
    /// 3.8) or `command` (any binary that speaks docs/node-protocol.md).
    /// `harness validate` lists them.
    #[serde(default = "default_system")]
    #[schemars(with = "String")]
    pub system: Spanned<String>,
    /// How long the nodes may take to become ready (a majority healthy
    /// and, for systems that name leaders, agreeing on one) before the run
    /// gives up, quoting what each node said.
    #[serde(default = "default_start_timeout")]
    pub start_timeout: HumanDuration,
    /// Number of nodes, 1 to 50.
    #[serde(default = "default_nodes")]
    #[schemars(with = "usize")]
    pub nodes: Spanned<usize>,
    /// How nodes are told apart on the network: `loopback` (each node on
    /// its own 127.0.0.x; needs a binary that binds its outgoing
    /// connections to that address, as target-node does) or `namespaces`
    /// (each node in its own network namespace on a private bridge; works
    /// for any binary). Default: the system's (`loopback` for raft-kv,
    /// `namespaces` for the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<NetworkMode>")]
    pub network: Option<Spanned<NetworkMode>>,
    /// Extra arguments for every node, e.g. `["--read-mode", "local"]`
    /// (for `zookeeper`: extra `zoo.cfg` lines, `key=value`).
    #[serde(default)]
    pub args: Vec<String>,
    /// Path of the node binary. Default: `target-node` next to `harness`
    /// (raft-kv), `/usr/bin/etcd` (etcd), `/usr/bin/java` (zookeeper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<PathBuf>")]
    pub binary: Option<Spanned<PathBuf>>,
    /// etcd only: serve reads with etcd's serializable (local, possibly
    /// stale) reads instead of linearizable ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<bool>")]
    pub serializable_reads: Option<Spanned<bool>>,
    /// zookeeper only: precede every read with a `sync`, so that the
    /// server the client talks to has caught up with the leader first.
    /// Without it, ZooKeeper's reads are sequentially consistent, not
    /// linearizable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<bool>")]
    pub sync_reads: Option<Spanned<bool>>,
    /// command only: the command that starts node `{name}`, with
    /// placeholders `{id}`, `{name}`, `{ip}`, `{port}`, `{data_dir}`,
    /// `{peers}`, `{peer_urls}`, `{peers:FORMAT}` and `{peer_args:FORMAT}`
    /// (see docs/bring-your-own.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub start: Option<Spanned<String>>,
    /// command only: the port each node serves the protocol on (`{port}`).
    /// Default: 7000 with `namespaces`, a free port with `loopback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<u16>")]
    pub port: Option<Spanned<u16>>,
    /// command only: extra environment variables of every node; values
    /// may use the `start` placeholders (e.g. `{secret}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub env: Option<Spanned<BTreeMap<String, String>>>,
    /// command only: how the harness learns which node leads: `status`
    /// (the `role` and `leader` fields of `/status`, the default) or `none`
    /// (a leaderless or primary-backup system: the run starts once a
    /// majority answers `/health`, and `target: leader` / `isolate-leader`
    /// are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<LeaderDiscovery>")]
    pub leader: Option<Spanned<LeaderDiscovery>>,
}

/// How a `command` system's leader is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LeaderDiscovery {
    /// From `/status`: `role: leader` and `leader: <id>`.
    Status,
    /// The system names no leader.
    None,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        Self {
            system: default_system(),
            start_timeout: default_start_timeout(),
            nodes: default_nodes(),
            network: None,
            args: Vec::new(),
            binary: None,
            serializable_reads: None,
            sync_reads: None,
            start: None,
            port: None,
            env: None,
            leader: None,
        }
    }
}

impl ClusterSpec {
    /// The system-specific fields the plan sets, by their name in plans,
    /// with where each is. Systems say which of these they take.
    pub fn fields(&self) -> Vec<(&'static str, &Location)> {
        fn at<T>(field: &Option<Spanned<T>>) -> Option<&Location> {
            field.as_ref().map(|f| &f.referenced)
        }
        [
            ("binary", at(&self.binary)),
            ("serializable-reads", at(&self.serializable_reads)),
            ("sync-reads", at(&self.sync_reads)),
            ("start", at(&self.start)),
            ("port", at(&self.port)),
            ("env", at(&self.env)),
            ("leader", at(&self.leader)),
        ]
        .into_iter()
        .filter_map(|(name, location)| Some((name, location?)))
        .collect()
    }
}

/// The system when a plan names none.
pub const DEFAULT_SYSTEM: &str = "raft-kv";

fn default_system() -> Spanned<String> {
    unplaced(DEFAULT_SYSTEM.to_owned())
}

fn default_start_timeout() -> HumanDuration {
    HumanDuration::from_millis(30_000)
}

fn default_nodes() -> Spanned<usize> {
    unplaced(3)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    /// Nodes on 127.0.0.(10+i) in the run's namespace.
    Loopback,
    /// Each node in its own network namespace at 10.77.0.(10+i).
    Namespaces,
}

/// The client workload.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WorkloadSpec {
    /// `register` (read/write/cas, checked for linearizability), `set`
    /// (unique appends, checked for lost writes) or `list-append`
    /// (transactions, checked for Elle's anomalies). `harness validate`
    /// lists them.
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// Keys in use at once; each key is retired after `ops-per-key`
    /// operations and a fresh key takes its place.
    #[serde(default = "default_keys")]
    #[schemars(with = "usize")]
    pub keys: Spanned<usize>,
    /// Operations per key before it is retired; keeps each key's history
    /// small enough to check, as Jepsen's independent keys do.
    #[serde(default = "default_ops_per_key")]
    #[schemars(with = "usize")]
    pub ops_per_key: Spanned<usize>,
    /// Concurrent clients; client `i` talks to node `i mod nodes`.
    #[serde(default = "default_concurrency")]
    #[schemars(with = "usize")]
    pub concurrency: Spanned<usize>,
    /// Total operations per second across all clients.
    #[serde(default = "default_rate")]
    #[schemars(with = "f64")]
    pub rate: Spanned<f64>,
    /// Relative weights of the operations, e.g. `{read: 2, write: 1, cas: 1}`
    /// (register) or `{append: 9, read: 1}` (set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, u32>>")]
    pub mix: Option<Spanned<BTreeMap<String, u32>>>,
    /// How long a client waits for one operation before recording it as
    /// indeterminate (`info`).
    #[serde(default = "default_op_timeout")]
    #[schemars(with = "HumanDuration")]
    pub timeout: Spanned<HumanDuration>,
}

/// A default value, at no place in the file.
fn unplaced<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Location::UNKNOWN, Location::UNKNOWN)
}

fn default_keys() -> Spanned<usize> {
    unplaced(4)
}
fn default_ops_per_key() -> Spanned<usize> {
    unplaced(200)
}
fn default_concurrency() -> Spanned<usize> {
    unplaced(6)
}
fn default_rate() -> Spanned<f64> {
    unplaced(200.0)
}
fn default_op_timeout() -> Spanned<HumanDuration> {
    unplaced(HumanDuration::from_millis(1000))
}

/// The fault schedule. Empty means no faults.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaultsSpec {
    /// Random schedule: wait this long, inject a fault picked from `pick`,
    /// let it run its course, repeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<HumanDuration>")]
    pub every: Option<Spanned<HumanDuration>>,
    /// Faults the random schedule picks from, by `weight`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pick: Vec<FaultSpec>,
    /// Explicit schedule: each entry starts at its `at`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<FaultSpec>,
}

/// One fault. Which fields apply depends on `fault`:
///
/// | fault | fields |
/// |---|---|
/// | `kill` | `target`, `restart-after` |
/// | `pause` | `target`, `for` |
/// | `partition` | `shape`, `for` |
/// | `loss` | `target`, `probability`, `for` |
/// | `clock` | `target`, one of `offset`, `rate`, `strobe`; `for` |
/// | `slow` | `target` or `links`, `delay`, `jitter`, `reorder`, `for` |
/// | `power-loss` | `target`, `restart-after` |
/// | `fsync-error` | `target`, `for` |
/// | `crash-at-fsync` | `target`, `sync`, `file`, `for`, `restart-after` |
///
/// `at` belongs to timeline entries, `weight` to `pick` entries.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaultSpec {
    /// The fault kind: `kill`, `pause`, `partition`, `loss`, ... (see
    /// docs/faults.md).
    #[schemars(with = "String")]
    pub fault: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<TargetSpec>")]
    pub target: Option<Spanned<TargetSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ShapeSpec>")]
    pub shape: Option<Spanned<ShapeSpec>>,
    /// How long the fault lasts (pause, partition, loss).
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<HumanDuration>")]
    pub lasts: Option<Spanned<HumanDuration>>,
    /// How long a killed node stays down before it restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<HumanDuration>")]
    pub restart_after: Option<Spanned<HumanDuration>>,
    /// Which sync call crashes the node (crash-at-fsync), counted from the
    /// fault's start: 1 is the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<u64>")]
    pub sync: Option<Spanned<u64>>,
    /// Count only syncs of paths in the data directory ending with this
    /// (crash-at-fsync), e.g. `log.redb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub file: Option<Spanned<String>>,
    /// Share of packets dropped (loss), in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<f64>")]
    pub probability: Option<Spanned<f64>>,
    /// Relative chance of being picked (random schedule), default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<u32>")]
    pub weight: Option<Spanned<u32>>,
    /// When the fault starts, from the beginning of the run (timeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<HumanDuration>")]
    pub at: Option<Spanned<HumanDuration>>,
    /// clock: jump the clock by this much (`-5s` back, `+1h` forward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<SignedDuration>")]
    pub offset: Option<Spanned<SignedDuration>>,
    /// clock: run the clock at this many times real speed (`0.5`, `2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<f64>")]
    pub rate: Option<Spanned<f64>>,
    /// clock: jump by `offset` and back every `period`, for `for`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<StrobeSpec>")]
    pub strobe: Option<Spanned<StrobeSpec>>,
    /// slow: how long each packet is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<HumanDuration>")]
    pub delay: Option<Spanned<HumanDuration>>,
    /// slow: each packet's delay varies by up to this much either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<HumanDuration>")]
    pub jitter: Option<Spanned<HumanDuration>>,
    /// slow: let jitter reorder packets (default: arrival order is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<bool>")]
    pub reorder: Option<Spanned<bool>>,
    /// slow: the links to slow, as pairs of nodes (`[[n1, n2]]`), instead
    /// of every link of the `target` nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<[String; 2]>>")]
    pub links: Option<Spanned<Vec<[String; 2]>>>,
}

/// How a clock strobes: `{ offset: 200ms, period: 50ms }` jumps 200 ms
/// ahead, back, ahead... every 50 ms.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrobeSpec {
    /// How far each jump goes (and comes back).
    pub offset: SignedDuration,
    /// How often the clock jumps.
    pub period: HumanDuration,
}

impl FaultSpec {
    /// The kind-specific fields the entry sets, by their name in plans,
    /// with where each is. Fault kinds say which of these they take.
    pub fn fields(&self) -> Vec<(&'static str, &Location)> {
        fn at<T>(field: &Option<Spanned<T>>) -> Option<&Location> {
            field.as_ref().map(|f| &f.referenced)
        }
        [
            ("target", at(&self.target)),
            ("shape", at(&self.shape)),
            ("for", at(&self.lasts)),
            ("restart-after", at(&self.restart_after)),
            ("sync", at(&self.sync)),
            ("file", at(&self.file)),
            ("probability", at(&self.probability)),
            ("offset", at(&self.offset)),
            ("rate", at(&self.rate)),
            ("strobe", at(&self.strobe)),
            ("delay", at(&self.delay)),
            ("jitter", at(&self.jitter)),
            ("reorder", at(&self.reorder)),
            ("links", at(&self.links)),
        ]
        .into_iter()
        .filter_map(|(name, location)| Some((name, location?)))
        .collect()
    }
}

/// Which nodes a process fault hits: `one`, `leader`, `minority`,
/// `majority`, `all`, a node name (`n2`) or a list of names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TargetSpec {
    Kind(TargetKind),
    Named(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    One,
    Leader,
    Minority,
    Majority,
    All,
}

/// How a partition splits the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ShapeSpec {
    /// One random node loses contact with all others.
    IsolateOne,
    /// The current leader loses contact with all others.
    IsolateLeader,
    /// A random majority and minority.
    Halves,
    /// Every node sees a majority, no two nodes the same one.
    MajoritiesRing,
    /// Two halves joined by one node that sees both.
    Bridge,
}

/// After `duration`: stop faults, heal, settle, read.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FinalSpec {
    /// Heal the network, resume paused and restart killed nodes.
    #[serde(default = "yes")]
    pub heal: bool,
    /// Quiet time after the cluster is healthy again, before final reads.
    #[serde(default = "default_settle")]
    pub settle: HumanDuration,
    /// Read every key once more at the end (always on for `set`).
    #[serde(default = "yes")]
    pub reads: bool,
    /// How long to wait for the healed cluster to elect a leader.
    #[serde(default = "default_recover")]
    pub recover_timeout: HumanDuration,
}

impl Default for FinalSpec {
    fn default() -> Self {
        Self {
            heal: true,
            settle: default_settle(),
            reads: true,
            recover_timeout: default_recover(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_settle() -> HumanDuration {
    HumanDuration::from_millis(2000)
}
fn default_recover() -> HumanDuration {
    HumanDuration::from_millis(30_000)
}

/// Checker settings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckSpec {
    /// Time budget of the linearizability search per key; a key that
    /// exceeds it is `unknown`.
    #[serde(default = "default_budget")]
    pub time_budget: HumanDuration,
    /// An availability floor: the share of client operations that must
    /// succeed (`ok`), from 0 to 1. Below it the run is `unknown`, so a
    /// cluster that served nothing all night cannot pass. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<f64>")]
    pub min_ok_share: Option<Spanned<f64>>,
    /// Whether nodes may die on their own (outside the plan's faults)
    /// without failing the run. Default false: a node that crashes is a
    /// finding, and the run's verdict is `unknown` at best.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expect_crashes: bool,
}

impl Default for CheckSpec {
    fn default() -> Self {
        Self {
            time_budget: default_budget(),
            min_ok_share: None,
            expect_crashes: false,
        }
    }
}

fn default_budget() -> HumanDuration {
    HumanDuration::from_millis(30_000)
}

impl<'de> Deserialize<'de> for TargetSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TargetVisitor)
    }
}

struct TargetVisitor;

impl<'de> serde::de::Visitor<'de> for TargetVisitor {
    type Value = TargetSpec;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("one of one, leader, minority, majority, all, a node name like n2, or a list of node names")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<TargetSpec, E> {
        let kind = match text {
            "one" => TargetKind::One,
            "leader" => TargetKind::Leader,
            "minority" => TargetKind::Minority,
            "majority" => TargetKind::Majority,
            "all" => TargetKind::All,
            name if is_node_name(name) => return Ok(TargetSpec::Named(vec![name.to_owned()])),
            other => {
                return Err(E::custom(format!(
                    "unknown target `{other}`, expected one of one, leader, minority, majority, all, or a node name like n2"
                )));
            }
        };
        Ok(TargetSpec::Kind(kind))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<TargetSpec, A::Error> {
        let mut names = Vec::new();
        while let Some(name) = seq.next_element::<String>()? {
            if !is_node_name(&name) {
                return Err(serde::de::Error::custom(format!(
                    "`{name}` is not a node name (n1, n2, ...)"
                )));
            }
            names.push(name);
        }
        if names.is_empty() {
            return Err(serde::de::Error::custom(
                "a target list needs at least one node",
            ));
        }
        Ok(TargetSpec::Named(names))
    }
}

/// `n1`, `n2`, ...: the names the harness gives nodes.
pub fn is_node_name(text: &str) -> bool {
    text.strip_prefix('n')
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n >= 1)
}
