//! A follower far behind catches up by snapshot once the log is purged.

use std::time::Duration;

use serde_json::json;

use crate::support::Cluster;

#[test]
fn lagging_follower_receives_a_snapshot() {
    let low_threshold = |_| {
        vec![
            "--snapshot-threshold".into(),
            "10".into(),
            "--log-keep".into(),
            "0".into(),
        ]
    };
    let mut c = Cluster::start(3, low_threshold);
    let leader = c.wait_leader(&c.ids());
    let lagging = c.ids().into_iter().find(|id| *id != leader).unwrap();
    c.kill(lagging);

    for i in 0..60u64 {
        let (status, body) = c.put(leader, &format!("s{i}"), json!(i)).unwrap();
        assert_eq!(status, 200, "{body}");
    }
    c.wait_for(
        "the leader to purge its log",
        Duration::from_secs(10),
        || (c.status(leader)?["purged"].as_u64()? >= 40).then_some(()),
    );

    // Restarted with dirty reads so that we can read its own state machine.
    c.restart(lagging, &["--read-mode", "local"]);
    c.wait_for(
        "the lagging node to catch up",
        Duration::from_secs(15),
        || {
            let target = c.status(leader)?["last_applied"].as_u64()?;
            (c.status(lagging)?["last_applied"].as_u64()? >= target).then_some(())
        },
    );
    for i in 0..60u64 {
        assert_eq!(c.read_ok(lagging, &format!("s{i}")), json!(i));
    }
    assert!(
        c.node_log(lagging).contains("installed snapshot"),
        "the follower caught up without installing a snapshot"
    );
}
