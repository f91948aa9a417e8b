//! [`AnyBackend`]: either network mode behind one type, so that a
//! controller can hold one `Nemesis<AnyBackend>` whatever the plan chose.

use std::{collections::BTreeMap, net::Ipv4Addr};

use super::{
    Firewall, Iptables, LoopbackIptables,
    namespaces::{NamespacedIptables, NodeNetworks},
    rules::{DropRule, RuleBackend, RuleSet},
};
use crate::{FaultError, NodeName, netns::NetNamespace};

/// The loopback backend or the per-node-namespaces backend.
#[derive(Debug)]
pub enum AnyBackend {
    /// All nodes in the run's namespace, told apart by loopback addresses.
    Loopback(LoopbackIptables),
    /// Every node in its own namespace.
    Namespaces(NamespacedIptables),
}

impl From<LoopbackIptables> for AnyBackend {
    fn from(backend: LoopbackIptables) -> Self {
        Self::Loopback(backend)
    }
}

impl From<NamespacedIptables> for AnyBackend {
    fn from(backend: NamespacedIptables) -> Self {
        Self::Namespaces(backend)
    }
}

impl RuleBackend for AnyBackend {
    async fn replace(&mut self, set: RuleSet, rules: &[DropRule]) -> Result<(), FaultError> {
        match self {
            Self::Loopback(b) => b.replace(set, rules).await,
            Self::Namespaces(b) => b.replace(set, rules).await,
        }
    }

    fn clear_blocking(&mut self) -> Result<(), FaultError> {
        match self {
            Self::Loopback(b) => b.clear_blocking(),
            Self::Namespaces(b) => b.clear_blocking(),
        }
    }

    fn render(&self, set: RuleSet, rules: &[DropRule]) -> Result<Vec<String>, FaultError> {
        match self {
            Self::Loopback(b) => b.render(set, rules),
            Self::Namespaces(b) => b.render(set, rules),
        }
    }

    fn receiver_namespace(&self, node: &NodeName) -> Result<NetNamespace, FaultError> {
        match self {
            Self::Loopback(b) => b.receiver_namespace(node),
            Self::Namespaces(b) => b.receiver_namespace(node),
        }
    }
}

impl Firewall<AnyBackend> {
    /// [`Firewall::loopback`], as an [`AnyBackend`] firewall.
    pub async fn any_loopback(addrs: BTreeMap<NodeName, Ipv4Addr>) -> Result<Self, FaultError> {
        let nodes = addrs.keys().cloned().collect::<Vec<_>>();
        let backend = LoopbackIptables::install(Iptables::default(), addrs).await?;
        Ok(Self::new(backend.into(), nodes))
    }

    /// [`Firewall::namespaces`], as an [`AnyBackend`] firewall.
    pub async fn any_namespaces(networks: &NodeNetworks) -> Result<Self, FaultError> {
        let backend = NamespacedIptables::install(Iptables::default(), networks).await?;
        Ok(Self::new(backend.into(), networks.addrs().into_keys()))
    }
}

impl Firewall<NamespacedIptables> {
    /// A firewall for nodes in their own namespaces (see
    /// [`super::namespaces`]), using the `iptables` on `PATH` inside each.
    pub async fn namespaces(networks: &NodeNetworks) -> Result<Self, FaultError> {
        Self::namespaces_with(Iptables::default(), networks).await
    }

    /// [`Firewall::namespaces`] with a chosen `iptables`.
    pub async fn namespaces_with(
        iptables: Iptables,
        networks: &NodeNetworks,
    ) -> Result<Self, FaultError> {
        let backend = NamespacedIptables::install(iptables, networks).await?;
        Ok(Self::new(backend, networks.addrs().into_keys()))
    }
}
