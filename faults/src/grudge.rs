//! Grudges: who drops whose packets.
//!
//! A [`Grudge`] maps a node to the set of nodes whose packets it drops, as
//! in Jepsen. It is the one description of a partition that every layer
//! shares: shapes produce it, the firewall renders it into rules, and the
//! history records it verbatim.
//!
//! Invariants:
//! - No node holds a grudge against itself.
//! - No entry maps to an empty set (an absent node drops nothing), so two
//!   grudges that drop the same packets compare and serialize equal.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::NodeName;

/// Node -> nodes whose packets it drops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<NodeName, BTreeSet<NodeName>>")]
pub struct Grudge(BTreeMap<NodeName, BTreeSet<NodeName>>);

impl Grudge {
    /// An empty grudge: every packet flows.
    pub fn new() -> Self {
        Self::default()
    }

    /// The grudge that splits the cluster into `components`: every node drops
    /// packets from every node outside its own component. Nodes in no
    /// component drop nothing and are dropped by no one.
    pub fn complete(components: &[BTreeSet<NodeName>]) -> Self {
        let mut grudge = Self::new();
        for (i, component) in components.iter().enumerate() {
            for (j, other) in components.iter().enumerate() {
                if i == j {
                    continue;
                }
                for node in component {
                    for from in other {
                        grudge.drop_packets(node.clone(), from.clone());
                    }
                }
            }
        }
        grudge
    }

    /// Make `node` drop packets from `from`. Ignored when they are the same
    /// node.
    pub fn drop_packets(&mut self, node: NodeName, from: NodeName) {
        if node != from {
            self.0.entry(node).or_default().insert(from);
        }
    }

    /// Does `node` drop packets from `from`?
    pub fn drops(&self, node: &NodeName, from: &NodeName) -> bool {
        self.0.get(node).is_some_and(|set| set.contains(from))
    }

    /// Can `a` and `b` exchange packets in both directions?
    pub fn connected(&self, a: &NodeName, b: &NodeName) -> bool {
        !self.drops(a, b) && !self.drops(b, a)
    }

    /// The nodes `node` accepts packets from, among `nodes` (itself
    /// included).
    pub fn visible_to<'a>(
        &self,
        node: &NodeName,
        nodes: impl IntoIterator<Item = &'a NodeName>,
    ) -> BTreeSet<NodeName> {
        nodes
            .into_iter()
            .filter(|from| !self.drops(node, from))
            .cloned()
            .collect()
    }

    /// Is nothing dropped?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every node mentioned, as dropper or dropped.
    pub fn nodes(&self) -> BTreeSet<NodeName> {
        self.0
            .iter()
            .flat_map(|(node, from)| std::iter::once(node).chain(from))
            .cloned()
            .collect()
    }

    /// `(node, from)` pairs: `node` drops packets from `from`, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&NodeName, &NodeName)> {
        self.0
            .iter()
            .flat_map(|(node, from)| from.iter().map(move |f| (node, f)))
    }

    /// The map itself.
    pub fn as_map(&self) -> &BTreeMap<NodeName, BTreeSet<NodeName>> {
        &self.0
    }
}

impl From<BTreeMap<NodeName, BTreeSet<NodeName>>> for Grudge {
    fn from(map: BTreeMap<NodeName, BTreeSet<NodeName>>) -> Self {
        let mut grudge = Self::new();
        for (node, from) in map {
            for f in from {
                grudge.drop_packets(node.clone(), f);
            }
        }
        grudge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<NodeName> {
        names.iter().copied().map(NodeName::from).collect()
    }

    #[test]
    fn complete_grudge_cuts_across_components_only() {
        let g = Grudge::complete(&[set(&["n1"]), set(&["n2", "n3"])]);
        let (n1, n2, n3) = ("n1".into(), "n2".into(), "n3".into());
        assert!(g.drops(&n1, &n2) && g.drops(&n2, &n1) && g.drops(&n3, &n1));
        assert!(g.connected(&n2, &n3));
        assert_eq!(g.pairs().count(), 4);
    }

    #[test]
    fn normalizes_self_grudges_and_empty_sets() {
        let mut map = BTreeMap::new();
        map.insert(NodeName::from("n1"), set(&["n1"]));
        map.insert(NodeName::from("n2"), BTreeSet::new());
        let g = Grudge::from(map);
        assert!(g.is_empty());
        assert_eq!(g, Grudge::new());
    }

    #[test]
    fn serializes_as_a_plain_map() {
        let g = Grudge::complete(&[set(&["n1"]), set(&["n2"])]);
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, r#"{"n1":["n2"],"n2":["n1"]}"#);
        let back: Grudge = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g);
    }
}
