//! The loopback backend: every node in the run's one private namespace,
//! told apart by its own loopback address.
//!
//! Owns the harness's chains in the `filter` table of that namespace:
//!
//! ```text
//! INPUT ──-j HARNESS──▶ HARNESS ──-j HARNESS-PARTITION──▶ (partition rules)
//!                               └─-j HARNESS-LOSS───────▶ (loss rules)
//! ```
//!
//! A rule that makes node `to` drop packets from node `from` reads
//! `-A HARNESS-PARTITION -s <from's address>/32 -d <to's address>/32 -j DROP`
//! (loss rules add `-m statistic --mode random --probability P`). Every
//! packet between two local addresses crosses `INPUT` on `lo`, so `INPUT`
//! alone sees all node-to-node traffic, established connections included.
//! Clients connect from `127.0.0.1`, which no rule names, so clients always
//! reach every node, as in Jepsen.
//!
//! Invariants: each rule set is replaced in one `iptables-restore
//! --noflush` transaction that declares (and so flushes) only its own
//! chain; nothing outside the `HARNESS*` chains is touched except the one
//! `-j HARNESS` jump at the top of `INPUT`, inserted once.

use std::{collections::BTreeMap, fmt::Write as _, net::Ipv4Addr};

use super::{
    iptables::Iptables,
    rules::{DropRule, RuleBackend, RuleSet},
};
use crate::{FaultError, NodeName, netns::NetNamespace};

/// The chain jumped to from `INPUT`.
pub const CHAIN: &str = "HARNESS";
/// The chain holding the partition's rules.
pub const PARTITION_CHAIN: &str = "HARNESS-PARTITION";
/// The chain holding packet-loss rules.
pub const LOSS_CHAIN: &str = "HARNESS-LOSS";
/// The chain holding slow-network (NFQUEUE) rules.
pub const SLOW_CHAIN: &str = "HARNESS-SLOW";

/// The chain of a rule set.
pub fn chain_of(set: RuleSet) -> &'static str {
    match set {
        RuleSet::Partition => PARTITION_CHAIN,
        RuleSet::Loss => LOSS_CHAIN,
        RuleSet::Slow => SLOW_CHAIN,
    }
}

/// `iptables-restore` input creating (and flushing) our chains. The order
/// of the jumps is the evaluation order of [`super::rules`]: partition,
/// slow, loss.
pub(crate) fn skeleton() -> String {
    format!(
        "*filter\n:{CHAIN} - [0:0]\n:{PARTITION_CHAIN} - [0:0]\n:{SLOW_CHAIN} - [0:0]\n\
         :{LOSS_CHAIN} - [0:0]\n-A {CHAIN} -j {PARTITION_CHAIN}\n-A {CHAIN} -j {SLOW_CHAIN}\n\
         -A {CHAIN} -j {LOSS_CHAIN}\nCOMMIT\n"
    )
}

/// `iptables-restore` input flushing the partition, slow and loss chains.
pub(crate) fn flush_all_input() -> String {
    format!(
        "*filter\n:{PARTITION_CHAIN} - [0:0]\n:{SLOW_CHAIN} - [0:0]\n:{LOSS_CHAIN} - [0:0]\n\
         COMMIT\n"
    )
}

/// The match and target of a rule of `set` (after its addresses).
pub(crate) fn action(set: RuleSet, rule: &DropRule) -> String {
    match (set, rule.probability) {
        (RuleSet::Slow, _) => format!(" {}", super::slow::queue_target()),
        (_, Some(p)) => format!(" -m statistic --mode random --probability {p} -j DROP"),
        (_, None) => " -j DROP".to_owned(),
    }
}

/// `iptables-restore --noflush` input replacing the chain of `set` with
/// `lines` (each an `-A ...` rule), in one transaction.
pub(crate) fn replace_chain_input(set: RuleSet, lines: &[String]) -> String {
    let mut input = format!("*filter\n:{} - [0:0]\n", chain_of(set));
    for line in lines {
        let _ = writeln!(input, "{line}");
    }
    input.push_str("COMMIT\n");
    input
}

/// Check that `iptables` exists, create our chains and jump to them from
/// `INPUT` (once), with `iptables` (which may be bound to a namespace).
pub(crate) async fn install_chains(iptables: &Iptables) -> Result<(), FaultError> {
    iptables.restore(&skeleton()).await?;
    if iptables
        .iptables(&["-C", "INPUT", "-j", CHAIN])
        .await
        .is_err()
    {
        iptables
            .iptables(&["-I", "INPUT", "1", "-j", CHAIN])
            .await?;
    }
    Ok(())
}

/// Nodes share one namespace; rules match their loopback addresses.
#[derive(Debug)]
pub struct LoopbackIptables {
    iptables: Iptables,
    addrs: BTreeMap<NodeName, Ipv4Addr>,
    /// The namespace the chains live in (the run's), where delayers run.
    namespace: Option<NetNamespace>,
}

impl LoopbackIptables {
    /// Check that `iptables` exists, create the harness's chains and jump
    /// to them from `INPUT`. Idempotent.
    pub async fn install(
        iptables: Iptables,
        addrs: BTreeMap<NodeName, Ipv4Addr>,
    ) -> Result<Self, FaultError> {
        let version = iptables.version().await?;
        tracing::info!(version = version.trim(), "iptables found");
        install_chains(&iptables).await?;
        let namespace = match iptables.namespace() {
            Some(ns) => ns.clone(),
            None => NetNamespace::current()?,
        };
        Ok(Self {
            iptables,
            addrs,
            namespace: Some(namespace),
        })
    }

    /// The runner, for inspection (`iptables -S`) in tests and logs.
    pub fn iptables(&self) -> &Iptables {
        &self.iptables
    }

    /// The node addresses rules are written with.
    pub fn addrs(&self) -> &BTreeMap<NodeName, Ipv4Addr> {
        &self.addrs
    }

    fn addr(&self, node: &NodeName) -> Result<Ipv4Addr, FaultError> {
        self.addrs
            .get(node)
            .copied()
            .ok_or_else(|| FaultError::UnknownNode { node: node.clone() })
    }

    /// `iptables-restore` input replacing the rules of `set`.
    fn transaction(&self, set: RuleSet, rules: &[DropRule]) -> Result<String, FaultError> {
        Ok(replace_chain_input(set, &self.render(set, rules)?))
    }
}

impl RuleBackend for LoopbackIptables {
    async fn replace(&mut self, set: RuleSet, rules: &[DropRule]) -> Result<(), FaultError> {
        let input = self.transaction(set, rules)?;
        self.iptables.restore(&input).await
    }

    fn clear_blocking(&mut self) -> Result<(), FaultError> {
        self.iptables.restore_blocking(&flush_all_input())
    }

    fn render(&self, set: RuleSet, rules: &[DropRule]) -> Result<Vec<String>, FaultError> {
        rules
            .iter()
            .map(|rule| {
                let (from, to) = (self.addr(&rule.from)?, self.addr(&rule.to)?);
                Ok(format!(
                    "-A {} -s {from}/32 -d {to}/32{}",
                    chain_of(set),
                    action(set, rule)
                ))
            })
            .collect()
    }

    fn receiver_namespace(&self, node: &NodeName) -> Result<NetNamespace, FaultError> {
        self.addr(node)?;
        self.namespace
            .clone()
            .ok_or_else(|| FaultError::PacketQueue {
                detail: "the loopback backend has no namespace".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Grudge, net::rules::partition_rules, node::loopback_addr};

    fn backend() -> LoopbackIptables {
        let addrs = (1..=3)
            .map(|i| (NodeName::numbered(i), loopback_addr(i).unwrap()))
            .collect();
        LoopbackIptables {
            iptables: Iptables::default(),
            addrs,
            namespace: None,
        }
    }

    #[test]
    fn partition_transaction_replaces_only_the_partition_chain() {
        let grudge = Grudge::complete(&[["n1".into()].into(), ["n2".into(), "n3".into()].into()]);
        let input = backend()
            .transaction(RuleSet::Partition, &partition_rules(&grudge))
            .unwrap();
        assert_eq!(
            input,
            "*filter\n:HARNESS-PARTITION - [0:0]\n\
             -A HARNESS-PARTITION -s 127.0.0.12/32 -d 127.0.0.11/32 -j DROP\n\
             -A HARNESS-PARTITION -s 127.0.0.13/32 -d 127.0.0.11/32 -j DROP\n\
             -A HARNESS-PARTITION -s 127.0.0.11/32 -d 127.0.0.12/32 -j DROP\n\
             -A HARNESS-PARTITION -s 127.0.0.11/32 -d 127.0.0.13/32 -j DROP\n\
             COMMIT\n"
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
                "-A HARNESS-LOSS -s 127.0.0.12/32 -d 127.0.0.11/32 -m statistic --mode random --probability 0.25 -j DROP"
            ]
        );
    }

    #[test]
    fn slow_rules_queue_unmarked_packets() {
        let rule = DropRule {
            to: "n1".into(),
            from: "n2".into(),
            probability: None,
        };
        assert_eq!(
            backend().render(RuleSet::Slow, &[rule]).unwrap(),
            [
                "-A HARNESS-SLOW -s 127.0.0.12/32 -d 127.0.0.11/32 -m mark ! --mark 0x510000/0x510000 \
                 -j NFQUEUE --queue-num 5105 --queue-bypass"
            ]
        );
        // Partition first, then slow, then loss.
        let skeleton = skeleton();
        let at = |chain: &str| skeleton.find(&format!("-j {chain}\n")).unwrap();
        assert!(at(PARTITION_CHAIN) < at(SLOW_CHAIN) && at(SLOW_CHAIN) < at(LOSS_CHAIN));
    }

    #[test]
    fn unknown_nodes_are_refused() {
        let rule = DropRule {
            to: "n1".into(),
            from: "n9".into(),
            probability: None,
        };
        assert!(matches!(
            backend().render(RuleSet::Partition, &[rule]),
            Err(FaultError::UnknownNode { .. })
        ));
    }
}
