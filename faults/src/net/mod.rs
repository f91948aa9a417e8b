//! Network faults: partitions and packet loss, inside the run's private
//! network namespace.
//!
//! - [`Firewall`]: the verbs (`partition`, `loss`, `heal`) over a backend.
//! - [`RuleBackend`] and [`DropRule`]: the seam between *what* to drop and
//!   *how*; [`LoopbackIptables`] is today's backend (one namespace, nodes
//!   told apart by `127.0.0.10+i`), and per-node namespaces (issue 7) plug
//!   in as another.
//! - [`Iptables`]: the only way the crate runs `iptables`, and it refuses
//!   to run outside a private namespace.

mod firewall;
mod iptables;
mod loopback;
mod rules;

pub use firewall::Firewall;
pub use iptables::{Iptables, IptablesConfig};
pub use loopback::{CHAIN, LOSS_CHAIN, LoopbackIptables, PARTITION_CHAIN, chain_of};
pub use rules::{DropRule, RuleBackend, RuleSet, loss_rules, partition_rules};
