//! Event pairing and outcomes of the network verbs, over a recording
//! backend (no privileges, no processes).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use super::Nemesis;
use crate::{
    EventName, FaultDetail, FaultError, FaultId, FaultIds, FaultReport, Grudge, NodeName, Outcome,
    PartitionShape,
    net::{DropRule, Firewall, RuleBackend, RuleSet},
    shapes,
};

/// Remembers the rules of each set; optionally "times out".
#[derive(Clone, Default)]
struct Recorder {
    rules: Arc<Mutex<BTreeMap<RuleSet, Vec<DropRule>>>>,
    time_out: Arc<Mutex<bool>>,
}

impl RuleBackend for Recorder {
    async fn replace(&mut self, set: RuleSet, rules: &[DropRule]) -> Result<(), FaultError> {
        self.rules.lock().unwrap().insert(set, rules.to_vec());
        if *self.time_out.lock().unwrap() {
            return Err(FaultError::IptablesTimeout {
                command: "iptables-restore".into(),
                millis: 1,
            });
        }
        Ok(())
    }

    fn clear_blocking(&mut self) -> Result<(), FaultError> {
        self.rules.lock().unwrap().clear();
        Ok(())
    }

    fn render(&self, _: RuleSet, rules: &[DropRule]) -> Result<Vec<String>, FaultError> {
        Ok(rules.iter().map(|r| format!("{r:?}")).collect())
    }
}

impl Recorder {
    fn count(&self, set: RuleSet) -> usize {
        self.rules.lock().unwrap().get(&set).map_or(0, Vec::len)
    }
}

fn nemesis() -> (Nemesis<Recorder>, Recorder, Vec<NodeName>) {
    let nodes = NodeName::cluster(3);
    let recorder = Recorder::default();
    let firewall = Firewall::new(recorder.clone(), nodes.clone());
    (Nemesis::new(Some(firewall)), recorder, nodes)
}

fn fs(report: &FaultReport) -> Vec<(EventName, u64)> {
    report.events.iter().map(|e| (e.f, e.value.id.0)).collect()
}

#[tokio::test]
async fn a_new_partition_stops_the_old_one_and_heal_stops_the_last() {
    let (mut nemesis, recorder, nodes) = nemesis();
    let first = shapes::isolate(&nodes[0], &nodes).unwrap();
    let r = nemesis
        .partition(first, Some(PartitionShape::IsolateOne))
        .await
        .unwrap();
    assert_eq!(
        (r.outcome.clone(), fs(&r)),
        (Outcome::Installed, vec![(EventName::StartPartition, 1)])
    );
    assert_eq!(recorder.count(RuleSet::Partition), 4);

    let second = shapes::isolate(&nodes[1], &nodes).unwrap();
    let r = nemesis.partition(second.clone(), None).await.unwrap();
    assert_eq!(
        fs(&r),
        [
            (EventName::StopPartition, 1),
            (EventName::StartPartition, 2)
        ]
    );
    assert_eq!(
        r.events[1].value.detail,
        FaultDetail::Partition {
            grudge: second,
            shape: None
        }
    );
    assert_eq!(r.events[1].value.nodes, nodes);

    let r = nemesis.heal().await.unwrap();
    assert_eq!(fs(&r), [(EventName::StopPartition, 2)]);
    assert_eq!(recorder.count(RuleSet::Partition), 0);
    let r = nemesis.heal().await.unwrap();
    assert!(matches!(r.outcome, Outcome::Skipped(_)) && r.events.is_empty());
}

#[tokio::test]
async fn heal_ends_partition_and_loss_together() {
    let (mut nemesis, recorder, nodes) = nemesis();
    let r = nemesis.loss(&nodes[..1], 0.2).await.unwrap();
    assert_eq!(fs(&r), [(EventName::StartLoss, 1)]);
    assert_eq!(recorder.count(RuleSet::Loss), 4);
    let grudge = Grudge::complete(&[[nodes[0].clone()].into(), [nodes[1].clone()].into()]);
    nemesis.partition(grudge, None).await.unwrap();
    let r = nemesis.heal().await.unwrap();
    assert_eq!(
        fs(&r),
        [(EventName::StopPartition, 2), (EventName::StopLoss, 1)]
    );
    assert_eq!(recorder.count(RuleSet::Loss), 0);
}

#[tokio::test]
async fn each_network_fault_heals_alone() {
    let (mut nemesis, recorder, nodes) = nemesis();
    nemesis.loss(&nodes[..1], 0.2).await.unwrap();
    let grudge = shapes::isolate(&nodes[1], &nodes).unwrap();
    nemesis.partition(grudge, None).await.unwrap();

    let r = nemesis.heal_partition().await.unwrap();
    assert_eq!(fs(&r), [(EventName::StopPartition, 2)]);
    assert_eq!(recorder.count(RuleSet::Partition), 0);
    assert_eq!(recorder.count(RuleSet::Loss), 4, "the loss stays in force");
    let r = nemesis.heal_partition().await.unwrap();
    assert!(matches!(r.outcome, Outcome::Skipped(_)) && r.events.is_empty());

    let r = nemesis.heal_loss().await.unwrap();
    assert_eq!(fs(&r), [(EventName::StopLoss, 1)]);
    assert_eq!(recorder.count(RuleSet::Loss), 0);
    let r = nemesis.heal_slow().await.unwrap();
    assert!(r.events.is_empty(), "no slow network was in force");
}

#[tokio::test]
async fn ids_are_shared_with_other_fault_handles() {
    let nodes = NodeName::cluster(3);
    let ids = FaultIds::new();
    let firewall = Firewall::new(Recorder::default(), nodes.clone());
    let mut nemesis = Nemesis::with_ids(Some(firewall), ids.clone());
    let r = nemesis.loss(&nodes[..1], 0.2).await.unwrap();
    assert_eq!(fs(&r), [(EventName::StartLoss, 1)]);
    // Another handle (a clock control) draws the next id...
    assert_eq!(ids.next(), FaultId(2));
    assert_eq!(nemesis.ids().next(), FaultId(3));
    // ...so the nemesis's next fault is the fourth.
    let r = nemesis.partition(shapes::isolate(&nodes[0], &nodes).unwrap(), None);
    assert_eq!(fs(&r.await.unwrap()), [(EventName::StartPartition, 4)]);
}

#[tokio::test]
async fn a_timed_out_change_is_indeterminate_but_recorded() {
    let (mut nemesis, recorder, nodes) = nemesis();
    *recorder.time_out.lock().unwrap() = true;
    let grudge = shapes::isolate(&nodes[2], &nodes).unwrap();
    let r = nemesis.partition(grudge, None).await.unwrap();
    assert!(matches!(r.outcome, Outcome::Indeterminate(_)), "{r:?}");
    assert_eq!(fs(&r), [(EventName::StartPartition, 1)]);
    // Dropping the guard still clears the rules.
    drop(nemesis);
    assert_eq!(recorder.count(RuleSet::Partition), 0);
}

#[tokio::test]
async fn bad_requests_are_errors_or_skips() {
    let (mut nemesis, _, nodes) = nemesis();
    let mut stranger = Grudge::new();
    stranger.drop_packets(nodes[0].clone(), "n9".into());
    assert!(matches!(
        nemesis.partition(stranger, None).await,
        Err(FaultError::UnknownNode { .. })
    ));
    assert!(matches!(
        nemesis.loss(&nodes, 1.5).await,
        Err(FaultError::Probability { .. })
    ));
    assert!(matches!(
        nemesis.kill(&nodes[..1]).await,
        Err(FaultError::UnknownNode { .. })
    ));
    let r = nemesis.partition(Grudge::new(), None).await.unwrap();
    assert!(r.events.is_empty());

    let mut without: Nemesis<Recorder> = Nemesis::new(None);
    let r = without
        .partition(shapes::isolate(&nodes[0], &nodes).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(r, FaultReport::skipped("network faults are disabled"));
}

/// The controller will run the nemesis in a spawned task: its verbs'
/// futures must be `Send`.
#[test]
fn verbs_are_send() {
    fn send<T: Send>(_: &T) {}
    let mut nemesis: Nemesis = Nemesis::new(None);
    let nodes = NodeName::cluster(1);
    {
        let f = nemesis.partition(Grudge::new(), None);
        send(&f);
    }
    {
        let f = nemesis.heal();
        send(&f);
    }
    {
        let f = nemesis.kill(&nodes);
        send(&f);
    }
    {
        let f = nemesis.restart(&nodes);
        send(&f);
    }
    {
        let f = nemesis.recover();
        send(&f);
    }
    send(&nemesis.shutdown());
}
