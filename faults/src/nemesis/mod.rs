//! The nemesis: fault verbs over a cluster, with guaranteed cleanup.
//!
//! - [`Nemesis`] (`guard.rs`): owns the node processes and the firewall;
//!   `partition`, `loss`, `slow`, `heal` (or `heal_partition`, `heal_loss`,
//!   `heal_slow`, one rule set each), `kill`, `restart`, `pause`, `resume`,
//!   `recover`, `shutdown`; cleans up on drop. Its fault ids come from a
//!   `FaultIds` it may share with other handles (`Nemesis::with_ids`).
//! - `record.rs`: how verbs become history events.

mod guard;
mod record;
#[cfg(test)]
mod tests;

pub use guard::Nemesis;
