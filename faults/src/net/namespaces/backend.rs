//! [`NamespacedIptables`]: drop rules written in each receiving node's own
//! namespace.
//!
//! Each node's namespace holds the same chains as the loopback mode
//! (`INPUT -j HARNESS`, `HARNESS -j HARNESS-PARTITION`, `HARNESS -j
//! HARNESS-LOSS`); "`to` drops packets from `from`" is, in `to`'s namespace,
//!
//! ```text
//! -A HARNESS-PARTITION -s <from's address>/32 -j DROP
//! ```
//!
//! which is what Jepsen installs on real hosts. Loss rules add `-m
//! statistic --mode random --probability P` in `HARNESS-LOSS`. Only node
//! addresses are ever named, so clients (from the bridge's address) reach
//! every node.
//!
//! Invariants:
//! - Each node's chain is replaced in one `iptables-restore --noflush`
//!   transaction; nodes whose rules do not change are not touched.
//! - A replacement spans several namespaces, so it is not atomic as a
//!   whole. When a node's transaction fails, the nodes already changed are
//!   rolled back to their previous rules and the error is returned (the
//!   previous rules are in force, as [`RuleBackend::replace`] requires);
//!   when a transaction times out or a rollback fails, the error is
//!   [`FaultError::RulesIndeterminate`] and the nodes concerned are
//!   rewritten by the next change whatever it is.

use std::{collections::BTreeMap, fmt::Write as _, net::Ipv4Addr};

use tokio::task::JoinSet;

use super::NodeNetworks;
use crate::{
    FaultError, NodeName,
    net::{
        Iptables,
        loopback::{action, chain_of, flush_all_input, install_chains, replace_chain_input},
        rules::{DropRule, RuleBackend, RuleSet},
    },
    netns::NetNamespace,
};

/// One node: its address, and `iptables` bound to its namespace.
#[derive(Clone, Debug)]
struct Member {
    addr: Ipv4Addr,
    iptables: Iptables,
    namespace: NetNamespace,
}

/// Per-node rules in per-node namespaces. See the module docs.
#[derive(Debug)]
pub struct NamespacedIptables {
    members: BTreeMap<NodeName, Member>,
    /// The rule lines in force per (set, node); `None` when unknown (after
    /// a timeout), which forces a rewrite.
    installed: BTreeMap<(RuleSet, NodeName), Option<Vec<String>>>,
}

impl NamespacedIptables {
    /// Check that `iptables` exists, and create the harness's chains in
    /// every node's namespace. `iptables` is the configuration to use; it is
    /// bound to each node's namespace in turn.
    pub async fn install(iptables: Iptables, networks: &NodeNetworks) -> Result<Self, FaultError> {
        let mut members = BTreeMap::new();
        for (i, node) in networks.nodes().enumerate() {
            let bound = iptables.in_namespace(node.namespace.clone());
            if i == 0 {
                let version = bound.version().await?;
                tracing::info!(version = version.trim(), "iptables found");
            }
            install_chains(&bound).await?;
            members.insert(
                node.name.clone(),
                Member {
                    addr: node.addr,
                    iptables: bound,
                    namespace: node.namespace.clone(),
                },
            );
        }
        let installed = RuleSet::ALL
            .into_iter()
            .flat_map(|set| {
                members
                    .keys()
                    .map(move |n| ((set, n.clone()), Some(Vec::new())))
            })
            .collect();
        Ok(Self { members, installed })
    }

    /// The runner bound to `node`'s namespace, for inspection (`iptables
    /// -S`) in tests and logs.
    pub fn iptables(&self, node: &NodeName) -> Option<&Iptables> {
        self.members.get(node).map(|m| &m.iptables)
    }

    /// The node addresses rules are written with.
    pub fn addrs(&self) -> BTreeMap<NodeName, Ipv4Addr> {
        self.members
            .iter()
            .map(|(n, m)| (n.clone(), m.addr))
            .collect()
    }

    /// The rule lines of `set` for every node (empty for nodes without
    /// rules), as written in that node's namespace.
    fn lines(
        &self,
        set: RuleSet,
        rules: &[DropRule],
    ) -> Result<BTreeMap<NodeName, Vec<String>>, FaultError> {
        let mut lines: BTreeMap<NodeName, Vec<String>> = self
            .members
            .keys()
            .map(|n| (n.clone(), Vec::new()))
            .collect();
        for rule in rules {
            let from = self.member(&rule.from)?.addr;
            lines
                .get_mut(&rule.to)
                .ok_or_else(|| FaultError::UnknownNode {
                    node: rule.to.clone(),
                })?
                .push(format!(
                    "-A {} -s {from}/32{}",
                    chain_of(set),
                    action(set, rule)
                ));
        }
        Ok(lines)
    }

    fn member(&self, node: &NodeName) -> Result<&Member, FaultError> {
        self.members
            .get(node)
            .ok_or_else(|| FaultError::UnknownNode { node: node.clone() })
    }

    /// Write `wanted` (per node) into the chain of `set`, concurrently, on
    /// the nodes whose rules differ from what is installed. Returns the
    /// nodes changed and the failures, each with whether the failure left
    /// the node's state unknown.
    async fn write(
        &mut self,
        set: RuleSet,
        wanted: &BTreeMap<NodeName, Vec<String>>,
    ) -> (Vec<NodeName>, Vec<(NodeName, FaultError)>) {
        let mut jobs = JoinSet::new();
        for (node, lines) in wanted {
            if self.installed.get(&(set, node.clone())) == Some(&Some(lines.clone())) {
                continue;
            }
            let iptables = self.members[node].iptables.clone();
            let input = replace_chain_input(set, lines);
            let node = node.clone();
            jobs.spawn(async move { (node, iptables.restore(&input).await) });
        }
        let (mut changed, mut failed) = (Vec::new(), Vec::new());
        while let Some(joined) = jobs.join_next().await {
            let (node, result) = match joined {
                Ok(done) => done,
                Err(e) => {
                    // A panicked or cancelled job: its node is unknown, but
                    // we no longer know which one; rewrite all next time.
                    for state in self.installed.values_mut() {
                        *state = None;
                    }
                    failed.push((
                        NodeName::from("?"),
                        FaultError::RulesIndeterminate {
                            detail: format!("an iptables job failed: {e}"),
                        },
                    ));
                    continue;
                }
            };
            match result {
                Ok(()) => {
                    self.installed
                        .insert((set, node.clone()), Some(wanted[&node].clone()));
                    changed.push(node);
                }
                Err(e) => {
                    if matches!(e, FaultError::IptablesTimeout { .. }) {
                        self.installed.insert((set, node.clone()), None);
                    }
                    failed.push((node, e));
                }
            }
        }
        (changed, failed)
    }
}

impl RuleBackend for NamespacedIptables {
    async fn replace(&mut self, set: RuleSet, rules: &[DropRule]) -> Result<(), FaultError> {
        let wanted = self.lines(set, rules)?;
        let before: BTreeMap<NodeName, Option<Vec<String>>> = self
            .members
            .keys()
            .map(|n| {
                (
                    n.clone(),
                    self.installed.get(&(set, n.clone())).cloned().flatten(),
                )
            })
            .collect();
        let (changed, failed) = self.write(set, &wanted).await;
        let Some((first_node, first_error)) = failed.into_iter().next() else {
            return Ok(());
        };
        let mut unknown: Vec<String> = self
            .installed
            .iter()
            .filter(|((s, _), state)| *s == set && state.is_none())
            .map(|((_, n), _)| n.to_string())
            .collect();
        // Roll the changed nodes back to their previous rules.
        let previous: BTreeMap<NodeName, Vec<String>> = changed
            .iter()
            .filter_map(|n| before[n].clone().map(|lines| (n.clone(), lines)))
            .collect();
        unknown.extend(
            changed
                .iter()
                .filter(|n| before[*n].is_none())
                .map(|n| n.to_string()),
        );
        let (_, rollback_failed) = self.write(set, &previous).await;
        for (node, _) in &rollback_failed {
            self.installed.insert((set, node.clone()), None);
            unknown.push(node.to_string());
        }
        if unknown.is_empty() {
            return Err(first_error);
        }
        let mut detail = format!("changing {set:?} rules failed on {first_node}: {first_error}");
        let _ = write!(detail, "; rules unknown on {}", unknown.join(", "));
        Err(FaultError::RulesIndeterminate { detail })
    }

    fn clear_blocking(&mut self) -> Result<(), FaultError> {
        let mut first = None;
        for (node, member) in &self.members {
            match member.iptables.restore_blocking(&flush_all_input()) {
                Ok(()) => {
                    for set in RuleSet::ALL {
                        self.installed.insert((set, node.clone()), Some(Vec::new()));
                    }
                }
                Err(e) => {
                    tracing::error!(%node, error = %e, "cannot clear a node's rules");
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Rules as `<to>: <line>`, the line written in `to`'s namespace.
    fn render(&self, set: RuleSet, rules: &[DropRule]) -> Result<Vec<String>, FaultError> {
        Ok(self
            .lines(set, rules)?
            .into_iter()
            .flat_map(|(node, lines)| lines.into_iter().map(move |l| format!("{node}: {l}")))
            .collect())
    }

    fn receiver_namespace(&self, node: &NodeName) -> Result<NetNamespace, FaultError> {
        Ok(self.member(node)?.namespace.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Grudge, net::rules::partition_rules};

    fn backend() -> NamespacedIptables {
        let members = (1..=3)
            .map(|i| {
                (
                    NodeName::numbered(i),
                    Member {
                        addr: Ipv4Addr::new(10, 77, 0, 10 + i as u8),
                        iptables: Iptables::default(),
                        namespace: NetNamespace::current().unwrap(),
                    },
                )
            })
            .collect();
        NamespacedIptables {
            members,
            installed: BTreeMap::new(),
        }
    }

    #[test]
    fn partition_rules_land_in_the_receivers_namespace() {
        let grudge = Grudge::complete(&[["n1".into()].into(), ["n2".into(), "n3".into()].into()]);
        let rendered = backend()
            .render(RuleSet::Partition, &partition_rules(&grudge))
            .unwrap();
        assert_eq!(
            rendered,
            [
                "n1: -A HARNESS-PARTITION -s 10.77.0.12/32 -j DROP",
                "n1: -A HARNESS-PARTITION -s 10.77.0.13/32 -j DROP",
                "n2: -A HARNESS-PARTITION -s 10.77.0.11/32 -j DROP",
                "n3: -A HARNESS-PARTITION -s 10.77.0.11/32 -j DROP",
            ]
        );
    }

    #[test]
    fn every_node_gets_a_chain_even_without_rules() {
        let grudge = Grudge::complete(&[["n1".into()].into(), ["n2".into()].into()]);
        let lines = backend()
            .lines(RuleSet::Partition, &partition_rules(&grudge))
            .unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[&NodeName::from("n3")].is_empty());
        assert_eq!(
            replace_chain_input(RuleSet::Partition, &lines[&NodeName::from("n3")]),
            "*filter\n:HARNESS-PARTITION - [0:0]\nCOMMIT\n",
            "n3's chain is flushed"
        );
    }

    #[test]
    fn loss_rules_use_the_statistic_match() {
        let rule = DropRule {
            to: "n1".into(),
            from: "n2".into(),
            probability: Some(0.25),
        };
        assert_eq!(
            backend().render(RuleSet::Loss, &[rule]).unwrap(),
            [
                "n1: -A HARNESS-LOSS -s 10.77.0.12/32 -m statistic --mode random --probability 0.25 -j DROP"
            ]
        );
    }

    #[test]
    fn slow_rules_queue_in_the_receivers_namespace() {
        let rule = DropRule {
            to: "n3".into(),
            from: "n1".into(),
            probability: None,
        };
        assert_eq!(
            backend().render(RuleSet::Slow, &[rule]).unwrap(),
            [
                "n3: -A HARNESS-SLOW -s 10.77.0.11/32 -m mark ! --mark 0x510000/0x510000 -j NFQUEUE \
                 --queue-num 5105 --queue-bypass"
            ]
        );
    }

    #[test]
    fn unknown_nodes_are_refused() {
        let rule = DropRule {
            to: "n9".into(),
            from: "n1".into(),
            probability: None,
        };
        assert!(matches!(
            backend().render(RuleSet::Partition, &[rule]),
            Err(FaultError::UnknownNode { .. })
        ));
    }
}
