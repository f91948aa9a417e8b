//! Real traffic between real listener processes in a private namespace:
//! partitions cut exactly the grudged pairs, heal restores them, loss
//! drops, a paused node does no work until resumed, and a killed node is
//! reachable again after restart.

use std::{collections::BTreeMap, time::Duration};

use faults::{
    EventName, FaultReport, Firewall, Nemesis, NodeName, Outcome, PartitionShape,
    node::loopback_addr, shapes,
};
use tokio::task::JoinSet;

use crate::{
    Scenario,
    support::{
        Verdict, listener_spec, node_addr, request, require_iptables, run_namespaced_scenario,
        wait_reachable,
    },
};

pub const SCENARIO: Scenario = Scenario {
    name: "traffic",
    private_namespace: true,
    body: || Box::pin(body()),
};

pub fn partition_heal_pause_kill() -> Verdict {
    if let Err(v) = require_iptables() {
        return v;
    }
    run_namespaced_scenario(SCENARIO.name, Duration::from_secs(120))
}

const N: u32 = 3;
/// How long a request that should fail is given.
const PATIENCE: Duration = Duration::from_secs(1);
/// How long a request that should succeed is given (generous, for loaded
/// CI machines).
const GENEROUS: Duration = Duration::from_secs(5);

/// Check every ordered pair of nodes at once: `expect(a, b)` says whether a
/// request from node a's address to node b should be answered.
async fn check_pairs(when: &str, expect: impl Fn(u32, u32) -> bool) {
    let mut checks = JoinSet::new();
    for a in 1..=N {
        for b in (1..=N).filter(|&b| b != a) {
            let patience = if expect(a, b) { GENEROUS } else { PATIENCE };
            checks.spawn(async move {
                let got = request(Some(loopback_addr(a).unwrap()), node_addr(b), patience).await;
                (a, b, got)
            });
        }
    }
    let mut wrong = BTreeMap::new();
    while let Some(result) = checks.join_next().await {
        let (a, b, got) = result.expect("pair check task");
        if got.is_ok() != expect(a, b) {
            wrong.insert((a, b), got);
        }
    }
    assert!(
        wrong.is_empty(),
        "{when}: unexpected results for (from, to): {wrong:#?}"
    );
}

/// The single event of `report`, which must be `f`.
fn only_event(report: &FaultReport, f: EventName) -> u64 {
    assert_eq!(report.events.len(), 1, "{report:#?}");
    assert_eq!(report.events[0].f, f, "{report:#?}");
    report.events[0].value.id.0
}

async fn body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let addrs = (1..=N)
        .map(|i| (NodeName::numbered(i), loopback_addr(i).unwrap()))
        .collect();
    let mut nemesis = Nemesis::new(Some(Firewall::loopback(addrs).await.expect("firewall")));
    for i in 1..=N {
        nemesis
            .start_node(listener_spec(
                &NodeName::numbered(i),
                node_addr(i),
                dir.path(),
            ))
            .await
            .expect("start node");
        wait_reachable(node_addr(i), Duration::from_secs(5))
            .await
            .expect("node answers");
    }
    let nodes = nemesis.node_names();
    let (n1, n2, n3) = (nodes[0].clone(), nodes[1].clone(), nodes[2].clone());
    check_pairs("before any fault", |_, _| true).await;

    // isolate-one on n1: 1<->2 and 1<->3 time out, 2<->3 still work.
    let grudge = shapes::isolate(&n1, &nodes).unwrap();
    let report = nemesis
        .partition(grudge, Some(PartitionShape::IsolateOne))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    let id = only_event(&report, EventName::StartPartition);
    check_pairs("n1 isolated", |a, b| a != 1 && b != 1).await;
    // Clients (from 127.0.0.1) still reach the isolated node, as in Jepsen.
    assert_eq!(
        request(None, node_addr(1), GENEROUS).await.unwrap(),
        "pong n1"
    );

    let report = nemesis.heal().await.unwrap();
    assert_eq!(only_event(&report, EventName::StopPartition), id);
    check_pairs("healed", |_, _| true).await;

    // Certain loss on n2's links: everything touching n2 is dropped.
    let report = nemesis.loss(std::slice::from_ref(&n2), 1.0).await.unwrap();
    let id = only_event(&report, EventName::StartLoss);
    check_pairs("n2 losing every packet", |a, b| a != 2 && b != 2).await;
    let report = nemesis.heal().await.unwrap();
    assert_eq!(only_event(&report, EventName::StopLoss), id);
    check_pairs("loss healed", |_, _| true).await;

    // A paused node accepts no new work (the kernel may still complete the
    // handshake) until resumed.
    let report = nemesis.pause(std::slice::from_ref(&n2)).await.unwrap();
    let id = only_event(&report, EventName::StartPause);
    let paused = request(None, node_addr(2), PATIENCE).await;
    assert!(paused.is_err(), "a paused node answered: {paused:?}");
    assert!(
        request(Some(loopback_addr(1).unwrap()), node_addr(3), GENEROUS)
            .await
            .is_ok()
    );
    let report = nemesis.resume(std::slice::from_ref(&n2)).await.unwrap();
    assert_eq!(only_event(&report, EventName::StopPause), id);
    assert_eq!(
        request(None, node_addr(2), GENEROUS).await.unwrap(),
        "pong n2"
    );

    // A killed node refuses connections; restarted, it answers again.
    let old = nemesis.node(&n3).and_then(|n| n.pid()).unwrap();
    let report = nemesis.kill(std::slice::from_ref(&n3)).await.unwrap();
    let id = only_event(&report, EventName::StartKill);
    let refused = request(None, node_addr(3), PATIENCE).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("refused")),
        "{refused:?}"
    );
    let report = nemesis.restart(std::slice::from_ref(&n3)).await.unwrap();
    assert_eq!(only_event(&report, EventName::StopKill), id);
    assert_ne!(nemesis.node(&n3).and_then(|n| n.pid()), Some(old));
    wait_reachable(node_addr(3), Duration::from_secs(5))
        .await
        .expect("restarted node answers");
    check_pairs("after restart", |_, _| true).await;

    // Nothing is left to recover, and no node died on its own.
    for report in nemesis.recover().await.unwrap() {
        assert!(report.events.is_empty(), "{report:#?}");
    }
    assert!(nemesis.unexpected_exits().is_empty());
    nemesis.shutdown().await.expect("shutdown");
}
