//! The controller is SIGKILLed while its nodes are paused and partitioned:
//! no node process survives, and neither does the namespace holding the
//! rules.

use std::{path::PathBuf, time::Duration};

use faults::{Firewall, Nemesis, NodeName, Outcome, PartitionShape, node::loopback_addr, shapes};

use crate::{
    Scenario,
    support::{
        Verdict, eventually, host_rules, listener_spec, node_addr, pid_alive, require_privileges,
        sigkill_controller, spawn_until_ready, tasks_in_namespace, wait_reachable,
    },
};

pub const CONTROLLER: Scenario = Scenario {
    name: "sigkill-controller",
    private_namespace: true,
    body: || Box::pin(controller_body()),
};

/// Set up 3 nodes, partition, pause two, report, then wait to be killed.
async fn controller_body() {
    let dir = std::env::temp_dir().join(format!("faults-sigkill-{}", std::process::id()));
    println!("DIR {}", dir.display());
    let addrs = (1..=3)
        .map(|i| (NodeName::numbered(i), loopback_addr(i).unwrap()))
        .collect();
    let mut nemesis = Nemesis::new(Some(Firewall::loopback(addrs).await.expect("firewall")));
    let mut pids = Vec::new();
    for i in 1..=3 {
        let spec = listener_spec(&NodeName::numbered(i), node_addr(i), &dir);
        pids.push(nemesis.start_node(spec).await.expect("start node"));
        wait_reachable(node_addr(i), Duration::from_secs(5))
            .await
            .expect("node answers");
    }
    let nodes = nemesis.node_names();
    let grudge = shapes::isolate(&nodes[0], &nodes).unwrap();
    let report = nemesis
        .partition(grudge, Some(PartitionShape::IsolateOne))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    let report = nemesis.pause(&nodes[..2]).await.unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    println!(
        "PIDS {}",
        pids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("READY");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    unreachable!("the test kills this process long before");
}

pub fn controller_killed() -> Verdict {
    if let Err(v) = require_privileges() {
        return v;
    }
    let before = host_rules();
    let (mut pids, mut netns, mut dir) = (Vec::<u32>::new(), None::<u64>, None::<PathBuf>);
    let spawned = spawn_until_ready(CONTROLLER.name, |line| {
        if let Some(rest) = line.strip_prefix("PIDS ") {
            pids = rest.split(' ').map(|p| p.parse().unwrap()).collect();
        } else if let Some(rest) = line.strip_prefix("NETNS ") {
            netns = rest.parse().ok();
        } else if let Some(rest) = line.strip_prefix("DIR ") {
            dir = Some(rest.into());
        }
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(verdict) => return verdict,
    };
    let netns = netns.expect("the controller reports its namespace");
    let verdict = (|| {
        if pids.len() != 3 || !pids.iter().all(|&p| pid_alive(p)) {
            return Verdict::Fail(format!("nodes not all running before the kill: {pids:?}"));
        }
        if tasks_in_namespace("net", netns).is_empty() {
            return Verdict::Fail(format!(
                "no task found in the controller's namespace {netns}"
            ));
        }
        if let Err(verdict) = sigkill_controller(&mut child) {
            return verdict;
        }
        if !eventually(Duration::from_secs(5), || {
            pids.iter().all(|&p| !pid_alive(p))
        }) {
            let alive: Vec<_> = pids.iter().filter(|&&p| pid_alive(p)).collect();
            return Verdict::Fail(format!("node processes survived the controller: {alive:?}"));
        }
        if !eventually(Duration::from_secs(5), || {
            tasks_in_namespace("net", netns).is_empty()
        }) {
            return Verdict::Fail(format!(
                "tasks still hold the controller's namespace (and its rules): {:?}",
                tasks_in_namespace("net", netns)
            ));
        }
        let after = host_rules();
        if before != after {
            return Verdict::Fail(format!(
                "host ruleset changed\n--- before\n{before}--- after\n{after}"
            ));
        }
        Verdict::Pass
    })();
    // On an early failure the controller still runs: end it (its nodes die
    // with it).
    let _ = child.kill();
    let _ = child.wait();
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    verdict
}
