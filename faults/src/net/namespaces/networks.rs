//! [`NodeNetworks`]: the bridge, and one namespace, veth pair and address
//! per node.
//!
//! Invariants:
//! - Every `ip` command runs in a namespace that passed
//!   [`NetNamespace::ensure_private`], from a thread that passed
//!   [`crate::netns::ensure_isolated`]; commands for the bridge run in the
//!   namespace that was current when the networks were created, whichever
//!   thread later runs them.
//! - A node namespace is held by its descriptor (and by the processes in
//!   it); nothing is bind-mounted, so nothing outlives the controller.
//! - Creation that fails half-way deletes what it made (through `Drop`).

use std::{collections::BTreeMap, fmt::Write as _, net::Ipv4Addr, path::PathBuf, time::Duration};

use crate::{
    FaultError, NodeName, NodeSpec,
    net::iptables::{Invocation, Iptables, IptablesConfig, Tool},
    netns::NetNamespace,
};

/// The prefix length of the node block.
const PREFIX: u8 = 24;
/// Node `i` gets host number `HOST_BASE + i`.
const HOST_BASE: u32 = 10;
/// The interface name of a node's end of its veth pair, inside its namespace.
pub const NODE_INTERFACE: &str = "eth0";

/// Names and addresses of the per-node networks.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The /24 block the nodes live in; only its first three octets count.
    /// It exists only inside the run's private namespace, so it cannot
    /// clash with the host's networks.
    pub subnet: Ipv4Addr,
    /// The bridge's name (at most 15 bytes).
    pub bridge: String,
    /// The prefix of the veths' host ends: node `i` is `<prefix><i>`.
    pub veth_prefix: String,
    /// The `ip` binary (iproute2).
    pub ip: PathBuf,
    /// Bound on each `ip` command.
    pub timeout: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            subnet: Ipv4Addr::new(10, 77, 0, 0),
            bridge: "harness0".into(),
            veth_prefix: "hv".into(),
            ip: "ip".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl NetworkConfig {
    /// The bridge's address, `x.y.z.1`: where clients connect from.
    pub fn gateway(&self) -> Ipv4Addr {
        self.host(1).expect("host 1 exists")
    }

    /// The address of node number `i` (1-based): `x.y.z.(10+i)`, or `None`
    /// past `.254`.
    pub fn node_addr(&self, i: u32) -> Option<Ipv4Addr> {
        self.host(HOST_BASE.checked_add(i)?)
    }

    fn host(&self, n: u32) -> Option<Ipv4Addr> {
        let n = u8::try_from(n).ok().filter(|&n| (1..255).contains(&n))?;
        let [a, b, c, _] = self.subnet.octets();
        Some(Ipv4Addr::new(a, b, c, n))
    }
}

/// One node's network.
#[derive(Clone, Debug)]
pub struct NodeNetwork {
    /// The node.
    pub name: NodeName,
    /// Its number, 1-based, in the order the nodes were given.
    pub index: u32,
    /// Its address, on [`NODE_INTERFACE`] inside its namespace.
    pub addr: Ipv4Addr,
    /// The host end of its veth pair, on the bridge.
    pub veth: String,
    /// Its namespace.
    pub namespace: NetNamespace,
}

/// The per-node networks of one run. See the module docs of
/// [`crate::net::namespaces`].
#[derive(Debug)]
pub struct NodeNetworks {
    config: NetworkConfig,
    /// The namespace holding the bridge: the controller's.
    controller: NetNamespace,
    nodes: BTreeMap<NodeName, NodeNetwork>,
    /// Whether the bridge was created (and so must be deleted).
    bridge_made: bool,
}

impl NodeNetworks {
    /// Create the networks of `nodes` with the default [`NetworkConfig`]
    /// (bridge `harness0` at `10.77.0.1`, node `i` at `10.77.0.(10+i)`).
    ///
    /// Must be called inside the run's private namespace (after
    /// [`crate::netns::enter_private_namespace`]); refuses otherwise.
    pub async fn create(nodes: &[NodeName]) -> Result<Self, FaultError> {
        Self::create_with(NetworkConfig::default(), nodes).await
    }

    /// [`NodeNetworks::create`] with a chosen configuration.
    pub async fn create_with(
        config: NetworkConfig,
        nodes: &[NodeName],
    ) -> Result<Self, FaultError> {
        crate::netns::ensure_isolated()?;
        let mut networks = Self {
            controller: NetNamespace::current()?,
            config,
            nodes: BTreeMap::new(),
            bridge_made: false,
        };
        let mut plan = Vec::new();
        for (i, name) in (1..).zip(nodes) {
            if networks.nodes.contains_key(name) || plan.iter().any(|(n, _)| n == name) {
                return Err(FaultError::DuplicateNode { node: name.clone() });
            }
            let addr = networks.config.node_addr(i).ok_or_else(|| {
                FaultError::io(
                    format!("addressing node {name}"),
                    std::io::Error::other(format!("node number {i} is past the /24 block")),
                )
            })?;
            plan.push((name.clone(), (i, addr)));
        }
        let (bridge, gateway) = (networks.config.bridge.clone(), networks.config.gateway());
        networks
            .ip_in(
                &networks.controller,
                &format!(
                    "link add {bridge} type bridge\n\
                     addr add {gateway}/{PREFIX} dev {bridge}\n\
                     link set {bridge} up\n"
                ),
            )
            .await?;
        networks.bridge_made = true;
        for (name, (index, addr)) in plan {
            let namespace = NetNamespace::create()?;
            let veth = format!("{}{index}", networks.config.veth_prefix);
            // Recorded first, so that a failure below still deletes it.
            networks.nodes.insert(
                name.clone(),
                NodeNetwork {
                    name: name.clone(),
                    index,
                    addr,
                    veth: veth.clone(),
                    namespace: namespace.clone(),
                },
            );
            networks
                .ip_in(
                    &networks.controller,
                    &format!(
                        "link add {veth} type veth peer name {NODE_INTERFACE} netns {}\n\
                         link set {veth} master {bridge}\n\
                         link set {veth} up\n",
                        namespace.proc_path().display()
                    ),
                )
                .await?;
            networks
                .ip_in(
                    &namespace,
                    &format!(
                        "addr add {addr}/{PREFIX} dev {NODE_INTERFACE}\n\
                         link set {NODE_INTERFACE} up\n"
                    ),
                )
                .await?;
            tracing::info!(node = %name, %addr, namespace = %namespace.id(), "node network up");
        }
        Ok(networks)
    }

    /// The configuration in use.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// The bridge's address in the controller's namespace: the source of
    /// every client connection, named by no rule.
    pub fn gateway(&self) -> Ipv4Addr {
        self.config.gateway()
    }

    /// The namespace holding the bridge (the controller's).
    pub fn controller_namespace(&self) -> &NetNamespace {
        &self.controller
    }

    /// The nodes' networks, in node order.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeNetwork> {
        self.nodes.values()
    }

    /// One node's network.
    pub fn node(&self, name: &NodeName) -> Option<&NodeNetwork> {
        self.nodes.get(name)
    }

    /// One node's address.
    pub fn addr(&self, name: &NodeName) -> Option<Ipv4Addr> {
        self.nodes.get(name).map(|n| n.addr)
    }

    /// Every node's address.
    pub fn addrs(&self) -> BTreeMap<NodeName, Ipv4Addr> {
        self.nodes
            .iter()
            .map(|(n, net)| (n.clone(), net.addr))
            .collect()
    }

    /// `spec`, set to run inside the namespace of the node it names
    /// (`spec.name`). Every start and restart of the node joins it.
    pub fn place(&self, spec: NodeSpec) -> Result<NodeSpec, FaultError> {
        let network = self
            .nodes
            .get(&spec.name)
            .ok_or_else(|| FaultError::UnknownNode {
                node: spec.name.clone(),
            })?;
        let namespace = network.namespace.clone();
        Ok(spec.in_namespace(namespace))
    }

    /// Delete the veths and the bridge now (the node namespaces go when the
    /// last descriptor and process holding them do). Best effort; what it
    /// cannot delete, the run's namespace takes along when it goes.
    pub fn teardown_blocking(&mut self) -> Result<(), FaultError> {
        let mut batch = String::new();
        // Keep the namespaces open until the links are deleted: closing a
        // node's namespace destroys its veth pair, and deleting a link
        // that is already gone fails.
        let nodes = std::mem::take(&mut self.nodes);
        for node in nodes.values() {
            let _ = writeln!(batch, "link del {}", node.veth);
        }
        if std::mem::take(&mut self.bridge_made) {
            let _ = writeln!(batch, "link del {}", self.config.bridge);
        }
        if batch.is_empty() {
            return Ok(());
        }
        let inv = self.invocation(&batch, true);
        let deleted = self.runner(&self.controller).run_blocking(inv).map(drop);
        drop(nodes);
        deleted
    }

    /// Run `batch` (`ip -batch` lines) inside `namespace`.
    async fn ip_in(&self, namespace: &NetNamespace, batch: &str) -> Result<(), FaultError> {
        let inv = self.invocation(batch, false);
        self.runner(namespace).run(inv).await.map(drop)
    }

    fn invocation(&self, batch: &str, force: bool) -> Invocation {
        let mut args = Vec::new();
        if force {
            args.push("-force".to_owned());
        }
        args.extend(["-batch".to_owned(), "-".to_owned()]);
        Invocation {
            tool: Tool::Ip,
            program: self.config.ip.clone(),
            args,
            stdin: Some(batch.to_owned()),
        }
    }

    /// The command runner (shared with `iptables`: isolation checks,
    /// `setns`, timeout) bound to `namespace`.
    fn runner(&self, namespace: &NetNamespace) -> Iptables {
        Iptables::new(IptablesConfig {
            timeout: self.config.timeout,
            ..IptablesConfig::default()
        })
        .in_namespace(namespace.clone())
    }
}

impl Drop for NodeNetworks {
    fn drop(&mut self) {
        if let Err(e) = self.teardown_blocking() {
            tracing::warn!(error = %e, "cannot delete the per-node networks on drop");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_node_number() {
        let config = NetworkConfig::default();
        assert_eq!(config.gateway(), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(config.node_addr(1), Some(Ipv4Addr::new(10, 77, 0, 11)));
        assert_eq!(config.node_addr(244), Some(Ipv4Addr::new(10, 77, 0, 254)));
        assert_eq!(config.node_addr(245), None);
    }
}
