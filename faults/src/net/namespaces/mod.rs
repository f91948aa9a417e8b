//! Network mode `namespaces`: every node in its own network namespace,
//! joined to a bridge, with its own address.
//!
//! Some systems (etcd, anything written without the harness in mind) cannot
//! bind their outgoing connections to a chosen source address, so the
//! shared-loopback mode cannot tell their nodes apart. Here every node gets
//! a namespace of its own, and partitions become per-node rules, as Jepsen
//! writes them on real hosts.
//!
//! ```text
//!  run's private namespace (the controller, its clients)
//!  ┌───────────────────────────────────────────────────────────────┐
//!  │ bridge harness0, 10.77.0.1/24      (clients connect from here) │
//!  │   ├── hv1 ══ veth ══ eth0 10.77.0.11/24   [namespace of n1]   │
//!  │   ├── hv2 ══ veth ══ eth0 10.77.0.12/24   [namespace of n2]   │
//!  │   └── hv3 ══ veth ══ eth0 10.77.0.13/24   [namespace of n3]   │
//!  └───────────────────────────────────────────────────────────────┘
//! ```
//!
//! - [`NodeNetworks`] creates the bridge and, per node, a namespace (held by
//!   a file descriptor: nothing is mounted under `/run/netns`, which the
//!   host shares), a veth pair and the node's address. Node `i` (1-based,
//!   in the order given) is `10.77.0.(10+i)`; the bridge is `10.77.0.1`.
//!   The block exists only inside the run's private namespace.
//! - [`NodeNetworks::place`] makes a [`crate::NodeSpec`] run inside its
//!   node's namespace: the child `setns`es between fork and exec.
//! - [`NamespacedIptables`] is the [`crate::net::RuleBackend`]: a rule
//!   "`to` drops packets from `from`" is written in `to`'s own namespace as
//!   `-A HARNESS-PARTITION -s <from's address>/32 -j DROP` (loss adds the
//!   `statistic` match), so [`crate::Firewall`] and [`crate::Nemesis`] work
//!   unchanged. [`crate::Firewall::namespaces`] builds one.
//!
//! Invariants:
//! - Nothing is created outside the run's private namespace: creating the
//!   networks, every `ip` and every `iptables` command first checks that the
//!   calling thread and the target namespace are private.
//! - Everything disappears with the run: the node namespaces are held only
//!   by descriptors of the controller and by the node processes (which die
//!   with it, `PR_SET_PDEATHSIG`); the bridge and the host ends of the veths
//!   live in the run's namespace. `Drop` of [`NodeNetworks`] deletes the
//!   links early, best effort.
//! - Clients reach every node: rules only ever name node addresses, never
//!   the bridge's.

mod backend;
mod networks;

pub use backend::NamespacedIptables;
pub use networks::{NODE_INTERFACE, NetworkConfig, NodeNetwork, NodeNetworks};
