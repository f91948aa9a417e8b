//! Network faults: partitions, packet loss and slow links, inside the
//! run's private network namespace.
//!
//! - [`Firewall`]: the verbs (`partition`, `loss`, `slow`, `heal`) over a
//!   backend.
//! - [`RuleBackend`] and [`DropRule`]: the seam between *what* to drop and
//!   *how*. Two backends, one per network mode:
//!   - [`LoopbackIptables`] (mode `loopback`): one namespace, nodes told
//!     apart by `127.0.0.10+i`, which they must bind their outgoing
//!     connections to;
//!   - [`NamespacedIptables`] (mode `namespaces`, see [`namespaces`]): every
//!     node in its own namespace on a bridge, rules in the receiver's
//!     namespace; works for any binary.
//!
//!   [`AnyBackend`] is either, for a controller that picks at run time.
//! - [`slow`]: delaying packets through NFQUEUE, with a [`slow::Delayer`]
//!   thread per receiving namespace.
//! - [`Iptables`]: the only way the crate runs `iptables` (and `ip`), and it
//!   refuses to run outside a private namespace.

mod any;
mod firewall;
mod iptables;
mod loopback;
pub mod namespaces;
mod rules;
pub mod slow;

pub use any::AnyBackend;
pub use firewall::Firewall;
pub use iptables::{Iptables, IptablesConfig};
pub use loopback::{CHAIN, LOSS_CHAIN, LoopbackIptables, PARTITION_CHAIN, SLOW_CHAIN, chain_of};
pub use namespaces::{NamespacedIptables, NetworkConfig, NodeNetwork, NodeNetworks};
pub use rules::{DropRule, RuleBackend, RuleSet, loss_rules, partition_rules};
