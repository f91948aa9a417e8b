//! `/health` tells whether the Raft core runs, not just whether HTTP does.

use std::time::Duration;

use openraft::Vote;
use redb::{Database, TableDefinition};
use serde_json::{Value, json};

use crate::support::{Cluster, no_extra};

/// The log store's metadata table (target-node/src/store/log.rs), where the
/// vote is kept as JSON under the key `vote`.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Writes the vote a forged huge-term RPC left behind before the fix.
fn poison_vote(log_db: &std::path::Path, id: u64) {
    let db = Database::open(log_db).expect("open the stopped node's log");
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META).unwrap();
        let vote = serde_json::to_vec(&Vote::new(u64::MAX, id)).unwrap();
        meta.insert("vote", vote.as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

fn health(c: &Cluster, id: u64) -> Option<(u16, Value)> {
    let response = c
        .http
        .get(c.url(id, "/health"))
        .timeout(Duration::from_secs(3))
        .send()
        .ok()?;
    Some((response.status().as_u16(), response.json().ok()?))
}

#[test]
fn health_turns_503_when_the_raft_core_has_panicked() {
    let mut c = Cluster::start(1, no_extra);
    c.wait_leader(&[1]);
    assert_eq!(c.put(1, "k", json!(1)).unwrap().0, 200);
    assert_eq!(
        health(&c, 1),
        Some((200, json!({"ok": true, "raft": "running"})))
    );

    // The vote is persisted, so the node restarts with it, campaigns at
    // term + 1, overflows, and openraft's core task panics. The HTTP
    // server keeps running: exactly the state the issue found.
    c.kill(1);
    poison_vote(&c.data_dir(1).join("log.redb"), 1);
    c.restart(1, &[]);
    let (status, body) = c.wait_for(
        "/health to report the dead core",
        Duration::from_secs(10),
        || health(&c, 1).filter(|(status, _)| *status != 200),
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["definite"], true, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("raft stopped")),
        "{body}"
    );
    assert!(
        c.node_log(1).contains("panicked"),
        "the core panicked:\n{}",
        crate::support::tail(&c.node_log(1), 20)
    );
    let status = c.status(1).expect("/status still answers");
    assert_eq!(status["role"], "shutdown", "{status}");
    assert_eq!(status["leader"], Value::Null, "{status}");
}
