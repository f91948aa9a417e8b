//! Faults for a Jepsen-style harness: kill, pause, partition, slow down and
//! skew the clocks of real processes on this machine, safely, with
//! guaranteed cleanup.
//!
//! # The faults
//!
//! | verb | what it does | stopped by |
//! |---|---|---|
//! | [`Nemesis::kill`] | `SIGKILL` to each node's process group, then reap | [`Nemesis::restart`]: same command, same data dir, same (appended) log |
//! | [`Nemesis::pause`] | `SIGSTOP` to each node's process group | [`Nemesis::resume`]: `SIGCONT` |
//! | [`Nemesis::partition`] | node `a` drops packets from every node in `grudge[a]` | [`Nemesis::heal`] |
//! | [`Nemesis::loss`] | each packet between two nodes, one of them affected, dropped with probability `p` | [`Nemesis::heal`] |
//! | [`Nemesis::slow`] | packets between nodes (or on links) held for `delay ± jitter` by an NFQUEUE delayer ([`net::slow`]) | [`Nemesis::heal`] |
//! | [`clock::ClockControl`] `offset` / `rate` / `strobe` | a node's clock, through libfaketime ([`clock`]) | [`clock::ClockControl::reset`] |
//!
//! Disk faults (`power-loss`, `fsync-error`, `crash-at-fsync`) act on a
//! node's data directory mounted through [`disk::DurableFs`], a FUSE
//! pass-through file system that remembers what has not been synced; the
//! caller kills and restarts the nodes around a power loss.
//!
//! Targets ([`Target`]: `one`, `leader`, `minority`, `majority`, `all`,
//! `named`) and partition shapes ([`PartitionShape`]: `isolate-one`,
//! `isolate-leader`, `halves`, `majorities-ring`, `bridge`) are pure
//! functions of the nodes, the leader if known, and the run's seeded rng.
//!
//! # On the wire
//!
//! Every node listens on, and binds its outgoing connections to, its own
//! loopback address (`n1` = `127.0.0.11`, see [`node::loopback_addr`]).
//! All nodes share the run's private network namespace. The harness owns
//! three chains in its `filter` table: `INPUT -j HARNESS`, and `HARNESS`
//! jumps to `HARNESS-PARTITION` and `HARNESS-LOSS`. "`n1` drops packets
//! from `n2`" is exactly
//!
//! ```text
//! -A HARNESS-PARTITION -s 127.0.0.12/32 -d 127.0.0.11/32 -j DROP
//! ```
//!
//! and loss adds `-m statistic --mode random --probability P` (in
//! `HARNESS-LOSS`). Each set is replaced atomically with `iptables-restore
//! -w --noflush`, declaring only its own chain; `heal` flushes our two
//! chains and nothing else. Clients connect from `127.0.0.1`, which no rule
//! names. See `docs/faults.md` for the full story.
//!
//! That is network mode `loopback`. For binaries that cannot bind their
//! outgoing connections (etcd), mode `namespaces` ([`net::namespaces`])
//! gives every node its own network namespace on a bridge
//! ([`net::NodeNetworks`]: node `i` at `10.77.0.(10+i)`, clients from
//! `10.77.0.1`), starts nodes inside them ([`net::NodeNetworks::place`]) and
//! writes each partition as per-node rules in the receivers' namespaces
//! ([`Firewall::namespaces`]); the verbs are the same.
//!
//! # Cleanup, in layers
//!
//! 1. [`Nemesis::shutdown`] (async): resume, kill and reap every node,
//!    flush the chains; reports errors.
//! 2. `Drop` of [`Nemesis`], [`NodeProcess`] and [`Firewall`]: the same,
//!    synchronously, so `?`, early returns and panics clean up.
//! 3. The kernel, for what no destructor sees (SIGKILL of the controller,
//!    `abort`, `std::process::exit`): every node runs with
//!    `PR_SET_PDEATHSIG = SIGKILL`, and every rule lives in the run's
//!    private network namespace, which vanishes with its last process.
//!
//! # Using it from a controller
//!
//! ```no_run
//! use std::collections::BTreeMap;
//!
//! use faults::{
//!     Firewall, Nemesis, NodeName, NodeSpec, PartitionShape, Target, netns,
//!     node::loopback_addr,
//! };
//! use rand::SeedableRng;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // First thing, while the process has one thread.
//!     let _mode = netns::enter_private_namespace()?;
//!     // Only then the runtime: its threads inherit the namespace.
//!     let runtime = tokio::runtime::Runtime::new()?;
//!     runtime.block_on(async {
//!         let nodes = NodeName::cluster(3);
//!         let addrs: BTreeMap<_, _> = (1..=3)
//!             .map(|i| (NodeName::numbered(i), loopback_addr(i).unwrap()))
//!             .collect();
//!         let mut nemesis = Nemesis::new(Some(Firewall::loopback(addrs).await?));
//!         for (i, name) in (1..).zip(&nodes) {
//!             let ip = loopback_addr(i).unwrap();
//!             let spec = NodeSpec::new(name.clone(), "target-node", format!("nodes/{name}.log"))
//!                 .args(["--listen", &format!("{ip}:8000")]);
//!             nemesis.start_node(spec).await?;
//!         }
//!         let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
//!         let shape = PartitionShape::Halves;
//!         let report = nemesis.partition(shape.grudge(&nodes, None, &mut rng)?, Some(shape)).await?;
//!         for event in &report.events {
//!             println!("{}", event.to_history_json()); // into history.jsonl
//!         }
//!         let victims = Target::Minority.resolve(&nodes, None, &mut rng)?;
//!         nemesis.kill(&victims).await?;
//!         nemesis.recover().await?; // heal, resume, restart
//!         nemesis.shutdown().await
//!     })?;
//!     Ok(())
//! }
//! ```

pub mod clock;
pub mod disk;
pub mod error;
pub mod event;
pub mod grudge;
pub mod nemesis;
pub mod net;
pub mod netns;
pub mod node;
pub mod process;
pub mod shapes;
pub mod targets;

pub use error::FaultError;
pub use event::{
    ClockChange, EventName, FaultDetail, FaultEvent, FaultId, FaultIds, FaultKind, FaultReport,
    FaultValue, NodeOutcome, Outcome, Phase, SlowDetail,
};
pub use grudge::Grudge;
pub use nemesis::Nemesis;
pub use net::Firewall;
pub use node::NodeName;
pub use process::{NodeProcess, NodeSpec};
pub use shapes::{PartitionShape, ShapeError};
pub use targets::{Target, TargetError};
