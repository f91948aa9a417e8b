//! The nemesis: fault verbs over a cluster, with guaranteed cleanup.
//!
//! - [`Nemesis`] (`guard.rs`): owns the node processes and the firewall;
//!   `partition`, `heal`, `loss`, `slow`, `kill`, `restart`, `pause`, `resume`,
//!   `recover`, `shutdown`; cleans up on drop.
//! - `record.rs`: how verbs become history events.

mod guard;
mod record;
#[cfg(test)]
mod tests;

pub use guard::Nemesis;
