//! `system: command`: any binary that speaks the node protocol
//! (docs/node-protocol.md), started from the plan's `start:` template (see
//! `plan::template` for the placeholders).
//!
//! Its leader, if it has one, comes from `/status`; a plan with `leader:
//! none` runs a leaderless or primary-backup system, ready once a majority
//! answers `/health`.

use std::{path::PathBuf, sync::Arc};

use faults::NodeSpec;
use plan::{LeaderDiscovery, NetworkMode, NodeVars, Plan, Problem, Template};

use crate::{
    BoxFuture, Client, Layout, NodePlace, Probe, ProgramError, Programs, System, protocol,
    raft_kv::read_mode_arg,
};

/// Any binary of the node protocol.
pub struct Command;

impl System for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn default_network(&self) -> NetworkMode {
        NetworkMode::Namespaces
    }

    fn binds_outgoing(&self) -> bool {
        // Unknown: the user's binary may or may not bind its outgoing
        // connections; the docs say to use `namespaces` unless it does.
        true
    }

    fn fields(&self) -> &'static [&'static str] {
        &["start", "port", "env", "leader"]
    }

    fn check_plan(&self, plan: &Plan, problems: &mut Vec<Problem>) {
        let cluster = &plan.cluster;
        match &cluster.start {
            None => problems.push(Problem::at(
                &cluster.system.referenced,
                "`system: command` needs a `start` command template (see docs/bring-your-own.md)",
            )),
            Some(start) => {
                if let Err(e) = Template::parse(&start.value) {
                    // Exact for single-line plain scalars, the usual form.
                    let mut at = Problem::at(&start.referenced, format!("in `start`: {e}"));
                    at.column += e.column.saturating_sub(1) as u64;
                    problems.push(at);
                }
            }
        }
        if let Some(env) = &cluster.env {
            for (name, value) in &env.value {
                if let Err(e) = Template::parse(&format!("x {value}")) {
                    problems.push(Problem::at(
                        &env.referenced,
                        format!("in `env` {name}: {}", e.kind),
                    ));
                }
            }
        }
    }

    fn names_leader(&self, plan: &Plan) -> bool {
        plan.cluster
            .leader
            .as_ref()
            .is_none_or(|l| l.value == LeaderDiscovery::Status)
    }

    /// The first word of the start template (as node 1 would run it),
    /// unresolved: a bare name is looked up in `PATH` when the node starts.
    fn program(&self, plan: &Plan, _programs: &Programs) -> Result<PathBuf, ProgramError> {
        let template = plan
            .cluster
            .start
            .as_ref()
            .and_then(|s| Template::parse(&s.value).ok())
            .ok_or_else(|| ProgramError("a command plan needs a valid `start` template".into()))?;
        let first = NodeVars {
            id: 1,
            name: "n1".into(),
            ip: std::net::Ipv4Addr::new(127, 0, 0, 11).into(),
            port: 7000,
            peer_port: 7001,
            data_dir: PathBuf::from("n1"),
            secret: String::new(),
        };
        let argv = template.expand(&first, std::slice::from_ref(&first));
        Ok(argv.into_iter().next().unwrap_or_default().into())
    }

    fn node_spec(&self, layout: &Layout<'_>, node: &NodePlace) -> NodeSpec {
        let cluster = &layout.plan.cluster;
        let vars = |p: &NodePlace| NodeVars {
            id: p.number(),
            name: p.name.to_string(),
            ip: p.ip.into(),
            port: p.port,
            peer_port: p.peer_port,
            data_dir: p.data_dir.clone(),
            secret: layout.secret.to_owned(),
        };
        let peers: Vec<NodeVars> = layout.nodes.iter().map(vars).collect();
        let me = vars(node);
        let template = cluster
            .start
            .as_ref()
            .and_then(|s| Template::parse(&s.value).ok())
            .expect("validated command plans have a start template");
        let mut argv = template.expand(&me, &peers).into_iter();
        let program = argv.next().expect("a parsed template has a program");
        let mut spec = NodeSpec::new(node.name.clone(), program, &node.log)
            .args(argv)
            .args(&cluster.args)
            .env("RUST_LOG", "info,openraft=warn");
        for (name, value) in cluster.env.iter().flat_map(|e| &e.value) {
            let filled = Template::parse(&format!("x {value}"))
                .map(|t| t.expand(&me, &peers).split_off(1).join(" "))
                .unwrap_or_else(|_| value.clone());
            spec = spec.env(name, filled);
        }
        spec
    }

    fn client(&self, plan: &Plan, node: &NodePlace, http: &reqwest::Client) -> Arc<dyn Client> {
        protocol::NodeClient::shared(http, node, plan.workload.timeout.value.get())
    }

    fn probe<'a>(
        &'a self,
        plan: &'a Plan,
        http: &'a reqwest::Client,
        node: &'a NodePlace,
    ) -> BoxFuture<'a, Probe> {
        protocol::probe(http, node, self.names_leader(plan))
    }

    fn reads(&self, plan: &Plan) -> String {
        let template: Vec<String> = plan
            .cluster
            .start
            .iter()
            .flat_map(|s| s.value.split_whitespace().map(str::to_owned))
            .chain(plan.cluster.args.iter().cloned())
            .collect();
        read_mode_arg(&template).unwrap_or_else(|| "-".to_owned())
    }
}
