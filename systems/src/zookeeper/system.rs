//! `system: zookeeper` as a [`System`]: which program runs, which plan
//! fields it takes, each server's place in the ensemble, its client and
//! its probe.
//!
//! Ports: clients use the node's `port`, followers reach the leader on its
//! `peer_port`, and the election and admin ports are fixed (3888 and 8080)
//! on the node's own address: in per-node namespaces (the default) every
//! node has the whole port space; on `loopback` each node has its own
//! 127.0.0.x, so fixed ports do not collide between nodes either.

use std::{path::PathBuf, sync::Arc};

use faults::NodeSpec;
use plan::{NetworkMode, Plan, Problem};

use super::{
    admin,
    client::ZkClient,
    ensemble::{self, ZkPorts, ZkServer, ZkSettings},
};
use crate::{
    BoxFuture, Client, Layout, NodePlace, Probe, ProgramError, Programs, System, existing,
    plan_binary, protocol::PROBE_TIMEOUT,
};

/// Apache ZooKeeper.
pub struct ZooKeeper;

impl ZooKeeper {
    fn sync_reads(plan: &Plan) -> bool {
        plan.cluster.sync_reads.as_ref().is_some_and(|s| s.value)
    }

    fn settings(plan: &Plan) -> ZkSettings {
        ZkSettings {
            extra_lines: plan.cluster.args.clone(),
            ..ZkSettings::default()
        }
    }

    /// `node` as a server of the ensemble.
    fn server(node: &NodePlace) -> ZkServer {
        ZkServer {
            name: node.name.clone(),
            id: node.number(),
            ip: node.ip.into(),
            ports: ZkPorts {
                client: node.port,
                quorum: node.peer_port,
                ..ZkPorts::STANDARD
            },
            // ZooKeeper warns of relative paths; java runs in our directory,
            // so the absolute path names the same place.
            data_dir: std::path::absolute(&node.data_dir).unwrap_or_else(|_| node.data_dir.clone()),
        }
    }
}

impl System for ZooKeeper {
    fn name(&self) -> &'static str {
        "zookeeper"
    }

    fn default_network(&self) -> NetworkMode {
        NetworkMode::Namespaces
    }

    fn binds_outgoing(&self) -> bool {
        // ZooKeeper's quorum and election connections leave from whatever
        // address the kernel picks.
        false
    }

    fn supports(&self, f: workloads::OpKind) -> bool {
        // One znode per key: no multi-key transactions through this
        // adapter (ZooKeeper's `multi` would need a version per key read).
        f != workloads::OpKind::Txn
    }

    fn fields(&self) -> &'static [&'static str] {
        &["binary", "sync-reads"]
    }

    fn check_plan(&self, plan: &Plan, problems: &mut Vec<Problem>) {
        let at = &plan.cluster.system.referenced;
        for line in &plan.cluster.args {
            let key = line.split_once('=').map(|(key, _)| key.trim());
            match key {
                None | Some("") => problems.push(Problem::at(
                    at,
                    format!("zookeeper `args` are zoo.cfg lines `key=value`; `{line}` is not"),
                )),
                Some(_) if line.contains(['\n', '\r']) => problems.push(Problem::at(
                    at,
                    format!("a zoo.cfg line in `args` has a line break: {line:?}"),
                )),
                Some(key) if ensemble::owned_key(key) => problems.push(Problem::at(
                    at,
                    format!("`{key}` in `args` is set by the harness from the cluster's layout"),
                )),
                Some(_) => {}
            }
        }
    }

    fn program(&self, plan: &Plan, _programs: &Programs) -> Result<PathBuf, ProgramError> {
        let hint = "install ZooKeeper and a JRE (`apt-get install libzookeeper-java default-jre-headless`)";
        let settings = Self::settings(plan);
        for jar in ensemble::JARS {
            existing(settings.jars.join(jar), hint)?;
        }
        let java = plan_binary(plan).map_or_else(|| PathBuf::from("/usr/bin/java"), Into::into);
        existing(java, &format!("{hint} or set cluster.binary to java"))
    }

    fn namespace_ports(&self, _plan: &Plan) -> (u16, u16) {
        (ZkPorts::STANDARD.client, ZkPorts::STANDARD.quorum)
    }

    fn node_spec(&self, layout: &Layout<'_>, node: &NodePlace) -> NodeSpec {
        let servers: Vec<ZkServer> = layout.nodes.iter().map(Self::server).collect();
        ensemble::server_spec(
            layout.program,
            &servers,
            &Self::server(node),
            &Self::settings(layout.plan),
            &node.log,
        )
    }

    fn client(&self, plan: &Plan, node: &NodePlace, _http: &reqwest::Client) -> Arc<dyn Client> {
        let timeout = plan.workload.timeout.value.get();
        let session_timeout = Self::settings(plan).max_session_timeout();
        Arc::new(
            ZkClient::new(node.addr(), timeout, session_timeout).sync_reads(Self::sync_reads(plan)),
        )
    }

    fn probe<'a>(
        &'a self,
        _plan: &'a Plan,
        http: &'a reqwest::Client,
        node: &'a NodePlace,
    ) -> BoxFuture<'a, Probe> {
        Box::pin(async move {
            let admin = Self::server(node).admin_addr();
            admin::probe(http, admin, node.number().into(), PROBE_TIMEOUT).await
        })
    }

    fn reads(&self, plan: &Plan) -> String {
        if Self::sync_reads(plan) {
            "sync, then getData (the server catches up with the leader first)".to_owned()
        } else {
            "getData from the client's server (sequentially consistent, possibly stale)".to_owned()
        }
    }
}
