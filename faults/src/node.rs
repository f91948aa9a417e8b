//! Node names and the loopback addressing scheme.
//!
//! Owns [`NodeName`], the identity every fault speaks in, and the mapping
//! from a node's number to its own loopback address (`n1` is
//! `127.0.0.11`, `n2` is `127.0.0.12`, ...).
//!
//! Invariants:
//! - Names order *naturally*: `n2 < n10`, so that every map keyed by node
//!   iterates in the order a person expects, and deterministically.
//! - The order is total and agrees with equality (ties on the numeric
//!   suffix fall back to the full string).

use std::{cmp::Ordering, fmt, net::Ipv4Addr, str::FromStr};

use serde::{Deserialize, Serialize};

/// The first octet offset of node addresses: node `i` is `127.0.0.(10+i)`.
pub const LOOPBACK_BASE: u8 = 10;

/// The name of a node, such as `n1`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeName(String);

impl NodeName {
    /// `nodes` sorted, each once: the canonical form of a node set.
    pub fn sorted_set(nodes: &[NodeName]) -> Vec<NodeName> {
        nodes
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// A node name from any string. Names are not validated: a plan may use
    /// any name it likes, as long as it uses the same name everywhere.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The conventional name of node number `i` (1-based): `n{i}`.
    pub fn numbered(i: u32) -> Self {
        Self(format!("n{i}"))
    }

    /// The names `n1..=nN`.
    pub fn cluster(n: u32) -> Vec<Self> {
        (1..=n).map(Self::numbered).collect()
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name split into its non-numeric prefix and numeric suffix, the
    /// key of the natural order.
    fn natural_key(&self) -> (&str, Option<u64>) {
        let digits = self.0.len() - self.0.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, suffix) = self.0.split_at(self.0.len() - digits);
        (prefix, suffix.parse().ok())
    }
}

impl Ord for NodeName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.natural_key()
            .cmp(&other.natural_key())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for NodeName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl From<&str> for NodeName {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for NodeName {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl FromStr for NodeName {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// The loopback address of node number `i` (1-based): `127.0.0.(10+i)`.
///
/// Every address in `127.0.0.0/8` is local on Linux, so nodes can bind
/// these without configuring anything. Returns `None` past `127.0.0.254`.
pub fn loopback_addr(i: u32) -> Option<Ipv4Addr> {
    let last = u32::from(LOOPBACK_BASE).checked_add(i)?;
    let last = u8::try_from(last).ok().filter(|&b| b < 255)?;
    Some(Ipv4Addr::new(127, 0, 0, last))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_order_naturally() {
        let set: BTreeSet<NodeName> = ["n10", "n2", "n1", "a", "n02"]
            .into_iter()
            .map(NodeName::from)
            .collect();
        let order: Vec<&str> = set.iter().map(NodeName::as_str).collect();
        assert_eq!(order, ["a", "n1", "n02", "n2", "n10"]);
    }

    #[test]
    fn addresses_follow_the_node_number() {
        assert_eq!(loopback_addr(1), Some(Ipv4Addr::new(127, 0, 0, 11)));
        assert_eq!(loopback_addr(244), Some(Ipv4Addr::new(127, 0, 0, 254)));
        assert_eq!(loopback_addr(245), None);
    }

    #[test]
    fn names_serialize_as_plain_strings() {
        let json = serde_json::to_string(&NodeName::numbered(3)).unwrap();
        assert_eq!(json, r#""n3""#);
    }
}
