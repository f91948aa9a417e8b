//! `system: raft-kv`: our own target-node (openraft + redb), found next to
//! the harness binary.
//!
//! Every node gets the whole membership (`--peer id=ip:port` for each),
//! its own loopback (or namespace) address for both its listener and its
//! outgoing connections, and the run's secret for peer authentication in
//! `TARGET_NODE_CLUSTER_SECRET` (an environment variable, so it is not on
//! the command line for everyone to read in `ps`).

use std::{path::PathBuf, sync::Arc};

use faults::NodeSpec;
use plan::{NetworkMode, Plan};

use crate::{
    BoxFuture, Client, Layout, NodePlace, Probe, ProgramError, Programs, System, existing,
    plan_binary, protocol,
};

/// The environment variable that carries the cluster secret.
pub const SECRET_ENV: &str = "TARGET_NODE_CLUSTER_SECRET";

/// Our target-node.
pub struct RaftKv;

impl System for RaftKv {
    fn name(&self) -> &'static str {
        "raft-kv"
    }

    fn default_network(&self) -> NetworkMode {
        NetworkMode::Loopback
    }

    fn binds_outgoing(&self) -> bool {
        true
    }

    fn fields(&self) -> &'static [&'static str] {
        &["binary"]
    }

    fn program(&self, plan: &Plan, programs: &Programs) -> Result<PathBuf, ProgramError> {
        if let Some(path) = programs.node_binary.as_deref().or(plan_binary(plan)) {
            return existing(path.to_owned(), "pass an existing target-node binary");
        }
        let beside = programs
            .harness_dir
            .as_ref()
            .map(|dir| dir.join("target-node"))
            .ok_or_else(|| ProgramError("cannot locate the harness binary".into()))?;
        existing(
            beside,
            "build it with `cargo build --release` (both binaries), or pass --node-binary PATH",
        )
    }

    fn node_spec(&self, layout: &Layout<'_>, node: &NodePlace) -> NodeSpec {
        let mut spec = NodeSpec::new(node.name.clone(), layout.program, &node.log)
            .arg("--id")
            .arg(node.number().to_string())
            .arg("--listen")
            .arg(node.addr().to_string())
            .arg("--data-dir")
            .arg(&node.data_dir);
        for peer in layout.nodes {
            spec = spec
                .arg("--peer")
                .arg(format!("{}={}", peer.number(), peer.addr()));
        }
        spec.args(&layout.plan.cluster.args)
            .env(SECRET_ENV, layout.secret)
            .env("RUST_LOG", "info,openraft=warn")
    }

    fn client(&self, plan: &Plan, node: &NodePlace, http: &reqwest::Client) -> Arc<dyn Client> {
        protocol::NodeClient::shared(http, node, plan.workload.timeout.value.get())
    }

    fn probe<'a>(
        &'a self,
        _plan: &'a Plan,
        http: &'a reqwest::Client,
        node: &'a NodePlace,
    ) -> BoxFuture<'a, Probe> {
        protocol::probe(http, node, true)
    }

    fn reads(&self, plan: &Plan) -> String {
        read_mode_arg(&plan.cluster.args).unwrap_or_else(|| "linearizable (default)".to_owned())
    }
}

/// `--read-mode X` or `--read-mode=X` among `args`.
pub fn read_mode_arg(args: &[String]) -> Option<String> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--read-mode" {
            return args.next().cloned();
        }
        if let Some(mode) = arg.strip_prefix("--read-mode=") {
            return Some(mode.to_owned());
        }
    }
    None
}
