//! `system: etcd`: etcd 3.4 (Debian's `etcd-server`), through its v3 JSON
//! gateway.
//!
//! - [`client`]: operations as gateway requests, and which errors are
//!   definite;
//! - [`member`]: each member's command line (a static `--initial-cluster`);
//! - [`leader`]: leadership from `/v3/maintenance/status`;
//! - [`txn`]: list-append transactions, one etcd `Txn` each.
//!
//! etcd cannot bind its outgoing peer connections to one address, so it
//! runs in per-node namespaces (`network: namespaces`, its default) for
//! partitions to tell its members apart.

pub mod client;
pub mod leader;
pub mod member;
#[cfg(test)]
mod tests;
pub mod txn;

use std::{path::PathBuf, sync::Arc};

pub use client::{EtcdClient, EtcdError, EtcdStatus, classify_grpc, classify_write_error};
use faults::NodeSpec;
pub use leader::{find_leader, statuses};
pub use member::{EtcdMember, EtcdSettings, initial_cluster, member_args, member_spec};
use plan::{NetworkMode, Plan};

use crate::{
    BoxFuture, Client, Layout, NodePlace, Probe, ProgramError, Programs, System, existing,
    plan_binary, protocol::PROBE_TIMEOUT,
};

/// etcd's client and peer ports inside a per-node namespace.
const PORTS: (u16, u16) = (2379, 2380);

/// etcd.
pub struct Etcd;

impl Etcd {
    fn serializable(plan: &Plan) -> bool {
        plan.cluster
            .serializable_reads
            .as_ref()
            .is_some_and(|s| s.value)
    }
}

impl System for Etcd {
    fn name(&self) -> &'static str {
        "etcd"
    }

    fn default_network(&self) -> NetworkMode {
        NetworkMode::Namespaces
    }

    fn binds_outgoing(&self) -> bool {
        false
    }

    fn fields(&self) -> &'static [&'static str] {
        &["binary", "serializable-reads"]
    }

    fn program(&self, plan: &Plan, _programs: &Programs) -> Result<PathBuf, ProgramError> {
        let path = plan_binary(plan).map_or_else(|| PathBuf::from("/usr/bin/etcd"), Into::into);
        existing(
            path,
            "install etcd (`apt-get install etcd-server`) or set cluster.binary",
        )
    }

    fn namespace_ports(&self, _plan: &Plan) -> (u16, u16) {
        PORTS
    }

    fn node_spec(&self, layout: &Layout<'_>, node: &NodePlace) -> NodeSpec {
        let member = |p: &NodePlace| EtcdMember {
            name: p.name.clone(),
            ip: p.ip.into(),
            client_port: p.port,
            peer_port: p.peer_port,
            data_dir: p.data_dir.clone(),
        };
        let members: Vec<EtcdMember> = layout.nodes.iter().map(member).collect();
        let plan = layout.plan;
        let settings = EtcdSettings {
            token: format!("harness-{}-{}", plan.name, plan.seed.unwrap_or_default()),
            extra_args: plan.cluster.args.clone(),
            ..EtcdSettings::default()
        };
        member_spec(
            layout.program,
            &members,
            &member(node),
            &settings,
            &node.log,
        )
    }

    fn client(&self, plan: &Plan, node: &NodePlace, http: &reqwest::Client) -> Arc<dyn Client> {
        let timeout = plan.workload.timeout.value.get();
        Arc::new(
            EtcdClient::new(http.clone(), &node.addr().to_string(), timeout)
                .serializable_reads(Self::serializable(plan)),
        )
    }

    fn probe<'a>(
        &'a self,
        _plan: &'a Plan,
        http: &'a reqwest::Client,
        node: &'a NodePlace,
    ) -> BoxFuture<'a, Probe> {
        Box::pin(async move {
            let client = EtcdClient::new(http.clone(), &node.addr().to_string(), PROBE_TIMEOUT);
            leader::probe(&client).await
        })
    }

    fn reads(&self, plan: &Plan) -> String {
        if Self::serializable(plan) {
            "serializable (local, possibly stale)".to_owned()
        } else {
            "linearizable (default)".to_owned()
        }
    }
}
