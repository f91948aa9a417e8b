//! Three nodes: writes through any node are readable through every node.

use serde_json::json;

use crate::support::{Cluster, no_extra};

#[test]
fn writes_through_any_node_are_readable_through_every_node() {
    let c = Cluster::start(3, no_extra);
    c.wait_leader(&c.ids());
    for writer in c.ids() {
        let key = format!("from-n{writer}");
        let (status, body) = c.put(writer, &key, json!(writer * 10)).unwrap();
        assert_eq!(status, 200, "write via n{writer}: {body}");
    }
    for reader in c.ids() {
        for writer in c.ids() {
            assert_eq!(
                c.read_ok(reader, &format!("from-n{writer}")),
                json!(writer * 10)
            );
        }
    }
}

#[test]
fn lagging_follower_catches_up_through_batches_larger_than_one_rpc() {
    // 50 values of 24 KiB are more than one append RPC may carry (1 MiB),
    // so the leader must send them in parts. openraft gives an append one
    // heartbeat interval, and a debug build encodes JSON at a few MB/s:
    // hence the slow heartbeat.
    let slow = |_| {
        [
            "--heartbeat-ms",
            "1500",
            "--election-timeout-min-ms",
            "3000",
        ]
        .into_iter()
        .chain(["--election-timeout-max-ms", "4000"])
        .map(String::from)
        .collect()
    };
    let mut c = Cluster::start(3, slow);
    let leader = c.wait_leader(&c.ids());
    let lagging = c.ids().into_iter().find(|id| *id != leader).unwrap();
    c.kill(lagging);
    let value = "v".repeat(24 * 1024);
    for i in 0..50u64 {
        let (status, body) = c
            .put(leader, &format!("big{i}"), json!([i, value]))
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    c.restart(lagging, &["--read-mode", "local"]);
    c.wait_for(
        "the lagging node to catch up",
        std::time::Duration::from_secs(20),
        || {
            let target = c.status(leader)?["last_applied"].as_u64()?;
            (c.status(lagging)?["last_applied"].as_u64()? >= target).then_some(())
        },
    );
    for i in [0u64, 27, 49] {
        assert_eq!(c.read_ok(lagging, &format!("big{i}")), json!([i, value]));
    }
}
