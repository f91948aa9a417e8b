//! Partition shapes: pure functions from (nodes, leader, rng) to a grudge.
//!
//! Each shape is named by [`PartitionShape`] (kebab-case in plans and
//! histories) and defined by one property, checked by the tests below for
//! 3, 5 and 7 nodes:
//!
//! | shape | property |
//! |---|---|
//! | `isolate-one` | one random node is cut off from all others; the rest is whole |
//! | `isolate-leader` | as `isolate-one`, for the known leader |
//! | `halves` | a random minority (`⌊n/2⌋` nodes) and majority, fully cut from each other |
//! | `majorities-ring` | every node sees a majority (itself included), and no two nodes see the same one |
//! | `bridge` | two halves that cannot reach each other, and one node that reaches both |
//!
//! Invariants: the result depends only on the *set* of nodes, the leader and
//! the rng's state (input order and duplicates are ignored), so a seeded
//! run makes the same cuts again.

use std::collections::BTreeSet;

use rand::{Rng, seq::SliceRandom};
use serde::{Deserialize, Serialize};

use crate::{Grudge, NodeName};

/// The partition shapes a plan can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionShape {
    /// One random node is cut off from all others.
    IsolateOne,
    /// The current leader is cut off from all others.
    IsolateLeader,
    /// A random split into a minority and a majority.
    Halves,
    /// Every node sees a different majority.
    MajoritiesRing,
    /// Two halves joined by one node that sees both.
    Bridge,
}

impl PartitionShape {
    /// Every shape, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::IsolateOne,
        Self::IsolateLeader,
        Self::Halves,
        Self::MajoritiesRing,
        Self::Bridge,
    ];

    /// The kebab-case name, as in plans and histories.
    pub fn name(self) -> &'static str {
        match self {
            Self::IsolateOne => "isolate-one",
            Self::IsolateLeader => "isolate-leader",
            Self::Halves => "halves",
            Self::MajoritiesRing => "majorities-ring",
            Self::Bridge => "bridge",
        }
    }

    /// The grudge of this shape over `nodes`.
    pub fn grudge<R: Rng + ?Sized>(
        self,
        nodes: &[NodeName],
        leader: Option<&NodeName>,
        rng: &mut R,
    ) -> Result<Grudge, ShapeError> {
        match self {
            Self::IsolateOne => isolate_one(nodes, rng),
            Self::IsolateLeader => isolate_leader(nodes, leader),
            Self::Halves => halves(nodes, rng),
            Self::MajoritiesRing => majorities_ring(nodes, rng),
            Self::Bridge => bridge(nodes, rng),
        }
    }
}

/// Why a shape cannot be cut from the given nodes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// The shape needs more nodes than the cluster has.
    #[error("partition shape {shape} needs at least {needed} nodes, the cluster has {have}")]
    TooFewNodes {
        shape: &'static str,
        needed: usize,
        have: usize,
    },
    /// `isolate-leader` without a known leader.
    #[error("partition shape isolate-leader needs a known leader, and none is known")]
    NoLeader,
    /// A node named by the caller is not in the cluster.
    #[error("node {node} is not in the cluster")]
    UnknownNode { node: NodeName },
}

/// The size of a majority of `n` nodes: `⌊n/2⌋ + 1`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// Sorted, de-duplicated nodes: the canonical input of every shape.
fn canonical(nodes: &[NodeName]) -> Vec<NodeName> {
    NodeName::sorted_set(nodes)
}

fn need(shape: PartitionShape, needed: usize, have: usize) -> Result<(), ShapeError> {
    if have < needed {
        return Err(ShapeError::TooFewNodes {
            shape: shape.name(),
            needed,
            have,
        });
    }
    Ok(())
}

/// Cut `node` off from every other node of `nodes`, in both directions.
pub fn isolate(node: &NodeName, nodes: &[NodeName]) -> Result<Grudge, ShapeError> {
    let nodes = canonical(nodes);
    if !nodes.contains(node) {
        return Err(ShapeError::UnknownNode { node: node.clone() });
    }
    let rest: BTreeSet<NodeName> = nodes.into_iter().filter(|n| n != node).collect();
    Ok(Grudge::complete(&[BTreeSet::from([node.clone()]), rest]))
}

/// `isolate-one`: a random node is cut off from all others.
pub fn isolate_one<R: Rng + ?Sized>(nodes: &[NodeName], rng: &mut R) -> Result<Grudge, ShapeError> {
    let nodes = canonical(nodes);
    need(PartitionShape::IsolateOne, 2, nodes.len())?;
    let victim = &nodes[rng.random_range(0..nodes.len())];
    isolate(victim, &nodes)
}

/// `isolate-leader`: the leader is cut off from all others.
pub fn isolate_leader(nodes: &[NodeName], leader: Option<&NodeName>) -> Result<Grudge, ShapeError> {
    need(PartitionShape::IsolateLeader, 2, canonical(nodes).len())?;
    isolate(leader.ok_or(ShapeError::NoLeader)?, nodes)
}

/// `halves`: a random minority of `⌊n/2⌋` nodes and the majority of the
/// rest, fully cut from each other.
pub fn halves<R: Rng + ?Sized>(nodes: &[NodeName], rng: &mut R) -> Result<Grudge, ShapeError> {
    let mut nodes = canonical(nodes);
    need(PartitionShape::Halves, 2, nodes.len())?;
    nodes.shuffle(rng);
    let (minority, majority) = nodes.split_at(nodes.len() / 2);
    Ok(Grudge::complete(&[
        minority.iter().cloned().collect(),
        majority.iter().cloned().collect(),
    ]))
}

/// `majorities-ring`: nodes stand in a random ring, and each sees the
/// majority-sized window of the ring centred on itself (for an even window,
/// one more node behind than ahead). Windows at different positions differ,
/// so no two nodes see the same majority. The grudge is symmetric when the
/// window is odd (`n` = 4, 5, 8, 9, ...); otherwise (`n` = 3, 6, 7, ...)
/// the pairs at a window's edge are cut in one direction only, as in
/// Jepsen.
pub fn majorities_ring<R: Rng + ?Sized>(
    nodes: &[NodeName],
    rng: &mut R,
) -> Result<Grudge, ShapeError> {
    let mut ring = canonical(nodes);
    let n = ring.len();
    need(PartitionShape::MajoritiesRing, 3, n)?;
    ring.shuffle(rng);
    let m = majority(n);
    let behind = m / 2;
    let mut grudge = Grudge::new();
    for (i, node) in ring.iter().enumerate() {
        let visible: BTreeSet<usize> = (0..m).map(|k| (i + n - behind + k) % n).collect();
        for (j, other) in ring.iter().enumerate() {
            if !visible.contains(&j) {
                grudge.drop_packets(node.clone(), other.clone());
            }
        }
    }
    Ok(grudge)
}

/// `bridge`: a random split into two halves of `⌊(n-1)/2⌋` and `⌈(n-1)/2⌉`
/// nodes that cannot reach each other, plus one bridge node that reaches
/// (and is reached by) both.
pub fn bridge<R: Rng + ?Sized>(nodes: &[NodeName], rng: &mut R) -> Result<Grudge, ShapeError> {
    let mut nodes = canonical(nodes);
    need(PartitionShape::Bridge, 3, nodes.len())?;
    nodes.shuffle(rng);
    let (_bridge, rest) = nodes.split_first().expect("at least three nodes");
    let (a, b) = rest.split_at(rest.len() / 2);
    Ok(Grudge::complete(&[
        a.iter().cloned().collect(),
        b.iter().cloned().collect(),
    ]))
}

#[cfg(test)]
mod tests;
