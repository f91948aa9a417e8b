//! Targets of process faults: which nodes a kill or pause hits.
//!
//! A [`Target`] is what a plan says (`one`, `leader`, `minority`,
//! `majority`, `all`, or `named: [n1, n3]`); [`Target::resolve`] turns it
//! into concrete nodes with the run's seeded rng.
//!
//! Invariants: resolution depends only on the *set* of nodes, the leader and
//! the rng's state, and returns sorted, distinct, non-empty node lists. A
//! target that cannot be met (a minority of one node, an unknown leader, a
//! name not in the cluster) is a typed error, never a silent substitute.

use std::collections::BTreeSet;

use rand::{Rng, seq::SliceRandom};
use serde::{Deserialize, Serialize};

use crate::{NodeName, shapes::majority};

/// Which nodes a process fault hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// One random node.
    One,
    /// The current leader.
    Leader,
    /// A random strict minority: `⌈n/2⌉ - 1` nodes (1 of 3, 2 of 5, 1 of 4).
    Minority,
    /// A random majority: `⌊n/2⌋ + 1` nodes.
    Majority,
    /// Every node.
    All,
    /// These nodes.
    Named(Vec<NodeName>),
}

/// Why a target cannot be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// There are no nodes at all.
    #[error("target {target} cannot be resolved in a cluster without nodes")]
    NoNodes { target: &'static str },
    /// A strict minority of this cluster is empty.
    #[error(
        "target minority is impossible in a cluster of {nodes} node(s): a strict minority would be empty"
    )]
    NoMinority { nodes: usize },
    /// `leader` while no leader is known.
    #[error("target leader needs a known leader, and none is known")]
    NoLeader,
    /// The leader, or a named node, is not in the cluster.
    #[error("target names node {node}, which is not in the cluster ({known})")]
    UnknownNode { node: NodeName, known: String },
    /// `named: []`.
    #[error("target named lists no nodes")]
    EmptyNamed,
}

impl Target {
    /// The kebab-case name of the variant.
    pub fn name(&self) -> &'static str {
        match self {
            Self::One => "one",
            Self::Leader => "leader",
            Self::Minority => "minority",
            Self::Majority => "majority",
            Self::All => "all",
            Self::Named(_) => "named",
        }
    }

    /// The nodes this target hits, sorted and distinct.
    pub fn resolve<R: Rng + ?Sized>(
        &self,
        nodes: &[NodeName],
        leader: Option<&NodeName>,
        rng: &mut R,
    ) -> Result<Vec<NodeName>, TargetError> {
        let all: BTreeSet<NodeName> = nodes.iter().cloned().collect();
        if all.is_empty() {
            return Err(TargetError::NoNodes {
                target: self.name(),
            });
        }
        let known = |node: &NodeName| {
            if all.contains(node) {
                Ok(node.clone())
            } else {
                Err(TargetError::UnknownNode {
                    node: node.clone(),
                    known: all
                        .iter()
                        .map(NodeName::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        };
        let chosen: BTreeSet<NodeName> = match self {
            Self::One => random_subset(&all, 1, rng),
            Self::Leader => BTreeSet::from([known(leader.ok_or(TargetError::NoLeader)?)?]),
            Self::Minority => {
                let size = all.len().div_ceil(2) - 1;
                if size == 0 {
                    return Err(TargetError::NoMinority { nodes: all.len() });
                }
                random_subset(&all, size, rng)
            }
            Self::Majority => random_subset(&all, majority(all.len()), rng),
            Self::All => all.clone(),
            Self::Named(names) => names.iter().map(known).collect::<Result<_, _>>()?,
        };
        if chosen.is_empty() {
            return Err(TargetError::EmptyNamed);
        }
        Ok(chosen.into_iter().collect())
    }
}

/// `size` distinct random nodes of `all`.
fn random_subset<R: Rng + ?Sized>(
    all: &BTreeSet<NodeName>,
    size: usize,
    rng: &mut R,
) -> BTreeSet<NodeName> {
    let mut pool: Vec<NodeName> = all.iter().cloned().collect();
    pool.shuffle(rng);
    pool.into_iter().take(size).collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[test]
    fn sizes_by_cluster_size() {
        // (target, cluster size, expected count)
        let table = [
            (Target::One, 1, 1),
            (Target::One, 5, 1),
            (Target::Minority, 2, 0),
            (Target::Minority, 3, 1),
            (Target::Minority, 4, 1),
            (Target::Minority, 5, 2),
            (Target::Minority, 7, 3),
            (Target::Majority, 1, 1),
            (Target::Majority, 3, 2),
            (Target::Majority, 4, 3),
            (Target::Majority, 5, 3),
            (Target::Majority, 7, 4),
            (Target::All, 5, 5),
        ];
        for (target, n, expected) in table {
            let nodes = NodeName::cluster(n);
            for seed in 0..20 {
                let got = target.resolve(&nodes, None, &mut rng(seed));
                if expected == 0 {
                    assert!(got.is_err(), "{target:?} of {n}");
                    continue;
                }
                let got = got.unwrap();
                assert_eq!(got.len(), expected, "{target:?} of {n}: {got:?}");
                assert!(got.is_sorted());
                assert!(got.iter().all(|g| nodes.contains(g)));
            }
        }
    }

    #[test]
    fn minority_of_one_node_is_impossible() {
        let err = Target::Minority
            .resolve(&NodeName::cluster(1), None, &mut rng(0))
            .unwrap_err();
        assert_eq!(err, TargetError::NoMinority { nodes: 1 });
        assert_eq!(
            err.to_string(),
            "target minority is impossible in a cluster of 1 node(s): a strict minority would be empty"
        );
    }

    #[test]
    fn leader_and_names_must_be_known() {
        let nodes = NodeName::cluster(3);
        let n2 = NodeName::from("n2");
        assert_eq!(
            Target::Leader.resolve(&nodes, Some(&n2), &mut rng(0)),
            Ok(vec![n2.clone()])
        );
        assert_eq!(
            Target::Leader.resolve(&nodes, None, &mut rng(0)),
            Err(TargetError::NoLeader)
        );
        let named = Target::Named(vec!["n3".into(), "n1".into(), "n3".into()]);
        assert_eq!(
            named.resolve(&nodes, None, &mut rng(0)),
            Ok(vec!["n1".into(), "n3".into()])
        );
        let err = Target::Named(vec!["n9".into()])
            .resolve(&nodes, None, &mut rng(0))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "target names node n9, which is not in the cluster (n1, n2, n3)"
        );
        assert_eq!(
            Target::Named(vec![]).resolve(&nodes, None, &mut rng(0)),
            Err(TargetError::EmptyNamed)
        );
        assert!(matches!(
            Target::All.resolve(&[], None, &mut rng(0)),
            Err(TargetError::NoNodes { target: "all" })
        ));
    }

    #[test]
    fn resolution_is_deterministic_and_varied() {
        let nodes = NodeName::cluster(5);
        let a = Target::Minority.resolve(&nodes, None, &mut rng(9)).unwrap();
        let b = Target::Minority.resolve(&nodes, None, &mut rng(9)).unwrap();
        assert_eq!(a, b);
        let mut r = rng(1);
        let seen: BTreeSet<Vec<NodeName>> = (0..50)
            .map(|_| Target::One.resolve(&nodes, None, &mut r).unwrap())
            .collect();
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn serde_names_are_kebab_case() {
        let json = serde_json::to_string(&[
            Target::One,
            Target::Minority,
            Target::Named(vec!["n1".into()]),
        ])
        .unwrap();
        assert_eq!(json, r#"["one","minority",{"named":["n1"]}]"#);
        let back: Vec<Target> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[2], Target::Named(vec!["n1".into()]));
    }
}
