//! Slow networks: packets between nodes held back in userspace (NFQUEUE)
//! for a delay, then let through.
//!
//! This kernel has no `netem`, so delay cannot come from `tc`. A slow rule
//! sends a packet to an NFQUEUE instead; a [`Delayer`] thread in the
//! receiver's namespace holds it and releases it after `delay ± jitter`.
//! NFQUEUE rather than per-link TCP proxies: it needs no change to the
//! nodes' peer addresses (etcd advertises its own), works for any
//! protocol, keeps connections end to end, and shares the partition
//! rules' chains, so the two compose by rule order.
//!
//! ```text
//! INPUT ─▶ HARNESS ─▶ HARNESS-PARTITION   (DROP: partitions)
//!                  ─▶ HARNESS-SLOW        (NFQUEUE, unless marked SLOW_MARK)
//!                  ─▶ HARNESS-LOSS        (DROP with probability p)
//! ```
//!
//! A slow rule reads
//! `-A HARNESS-SLOW -s <from> [-d <to>] -m mark ! --mark M/M -j NFQUEUE
//! --queue-num Q --queue-bypass`. When its delay is over, the packet's
//! verdict is `NF_REPEAT` with mark `M`: it runs through `INPUT` again, so a
//! partition installed while it was held still drops it, packet loss is
//! drawn once (after the delay), and the mark keeps it from being queued
//! twice.
//!
//! Invariants:
//! - Delayers start before their rules are installed and stop after the
//!   rules are removed; stopping releases every held packet.
//! - `--queue-bypass`: if no delayer serves the queue (it died), packets
//!   pass undelayed rather than being dropped: a dead delayer must not turn
//!   a slow link into a partition. Its death shows in
//!   [`DelayStats::errors`] and the thread's log.
//! - The queue holds at most [`MAX_HELD`] packets per
//!   namespace; beyond that the kernel drops packets (tail drop, like a
//!   full router queue), counted in `/proc/net/netfilter/nfnetlink_queue`.
//! - Rules and queues live in the run's namespaces: a SIGKILLed controller
//!   takes them along.

mod delayer;
mod netlink;

use std::{collections::BTreeSet, time::Duration};

pub use delayer::{DelayStats, Delayer, TICK};
use serde::{Deserialize, Serialize};

use super::rules::DropRule;
use crate::{FaultError, NodeName};

/// The mark a released packet carries, so that the slow rule lets it by.
pub const SLOW_MARK: u32 = 0x0051_0000;
/// The NFQUEUE number used in every namespace (queues are per namespace).
pub const QUEUE_NUM: u16 = 5105;
/// Bound on a delay, and on jitter.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// How packets are delayed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlowParams {
    /// Every affected packet is held this long...
    pub delay: Duration,
    /// ...plus or minus a uniform draw up to this (never below zero).
    pub jitter: Duration,
    /// Let jitter reorder packets; otherwise each receiver releases them in
    /// arrival order (a packet waits at least until the previous one goes).
    pub reorder: bool,
    /// Seed of the jitter draws (from the run's seed).
    pub seed: u64,
}

impl SlowParams {
    /// A fixed `delay`, no jitter.
    pub fn delay(delay: Duration) -> Self {
        Self {
            delay,
            jitter: Duration::ZERO,
            reorder: false,
            seed: 0,
        }
    }

    /// Check the bounds.
    pub fn validate(&self) -> Result<(), FaultError> {
        if self.delay > MAX_DELAY || self.jitter > MAX_DELAY {
            return Err(FaultError::Parameter {
                fault: "slow",
                detail: format!(
                    "delay {:?} and jitter {:?} must each be at most {MAX_DELAY:?}",
                    self.delay, self.jitter
                ),
            });
        }
        Ok(())
    }
}

/// Packets held at once per namespace before the kernel drops more.
pub const MAX_HELD: u32 = 4096;

/// Which traffic a slow fault delays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlowScope {
    /// Every packet between two nodes, at least one of them in the set
    /// (both directions: a round trip pays the delay twice).
    Nodes(Vec<NodeName>),
    /// Packets on these links, both directions.
    Links(Vec<(NodeName, NodeName)>),
}

impl SlowScope {
    /// The nodes named.
    pub fn nodes(&self) -> BTreeSet<NodeName> {
        match self {
            Self::Nodes(nodes) => nodes.iter().cloned().collect(),
            Self::Links(links) => links
                .iter()
                .flat_map(|(a, b)| [a.clone(), b.clone()])
                .collect(),
        }
    }

    /// The (receiver, sender) pairs delayed, within `cluster`, sorted.
    pub fn pairs(&self, cluster: &BTreeSet<NodeName>) -> Vec<(NodeName, NodeName)> {
        let mut pairs = BTreeSet::new();
        match self {
            Self::Nodes(nodes) => {
                let affected: BTreeSet<&NodeName> = nodes.iter().collect();
                for to in cluster {
                    for from in cluster {
                        if to != from && (affected.contains(to) || affected.contains(from)) {
                            pairs.insert((to.clone(), from.clone()));
                        }
                    }
                }
            }
            Self::Links(links) => {
                for (a, b) in links.iter().filter(|(a, b)| a != b) {
                    pairs.insert((a.clone(), b.clone()));
                    pairs.insert((b.clone(), a.clone()));
                }
            }
        }
        pairs.into_iter().collect()
    }

    /// The rules of the slow set: `to` queues packets from `from`.
    pub fn rules(&self, cluster: &BTreeSet<NodeName>) -> Vec<DropRule> {
        self.pairs(cluster)
            .into_iter()
            .map(|(to, from)| DropRule {
                to,
                from,
                probability: None,
            })
            .collect()
    }
}

/// The `iptables` match and target of a slow rule (after the addresses).
pub fn queue_target() -> String {
    format!(
        "-m mark ! --mark {SLOW_MARK:#x}/{SLOW_MARK:#x} -j NFQUEUE --queue-num {QUEUE_NUM} \
         --queue-bypass"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_become_pairs_in_both_directions() {
        let cluster: BTreeSet<NodeName> = NodeName::cluster(3).into_iter().collect();
        let pair = |a: &str, b: &str| (NodeName::from(a), NodeName::from(b));
        // (scope, expected (receiver, sender) pairs)
        let table = [
            (
                SlowScope::Nodes(vec!["n1".into()]),
                vec![
                    pair("n1", "n2"),
                    pair("n1", "n3"),
                    pair("n2", "n1"),
                    pair("n3", "n1"),
                ],
            ),
            (
                SlowScope::Links(vec![pair("n2", "n3"), pair("n3", "n2"), pair("n1", "n1")]),
                vec![pair("n2", "n3"), pair("n3", "n2")],
            ),
            (SlowScope::Nodes(vec![]), vec![]),
        ];
        for (scope, expected) in table {
            assert_eq!(scope.pairs(&cluster), expected, "{scope:?}");
        }
    }

    #[test]
    fn bounds_are_checked() {
        assert!(
            SlowParams::delay(Duration::from_millis(100))
                .validate()
                .is_ok()
        );
        assert!(
            SlowParams::delay(Duration::from_secs(61))
                .validate()
                .is_err()
        );
        let mut p = SlowParams::delay(Duration::ZERO);
        p.jitter = Duration::from_secs(3600);
        assert!(p.validate().is_err());
    }

    #[test]
    fn jitter_stays_within_bounds_and_never_goes_negative() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let p = SlowParams {
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(30),
            reorder: true,
            seed: 1,
        };
        let draws: Vec<Duration> = (0..2000).map(|_| p.sample(&mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_millis(40)));
        assert!(draws.iter().any(|d| d.is_zero()), "clamped at zero");
        assert!(draws.iter().any(|d| *d > Duration::from_millis(35)));
    }
}
