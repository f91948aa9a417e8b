//! A restart of every node right after acknowledged writes: the first
//! linearizable read afterwards must see the last of them.
//!
//! openraft 0.9 restarts a node whose vote is committed for itself as
//! leader *in the same term*, and its read index is `max(committed, first
//! entry of its term)` with `committed` as found on disk, which may be
//! older than the last acknowledged write. `read_index.rs` makes a leader
//! restarted that way wait until it has applied its whole log as found at
//! startup; without that (and without a synced committed index) the first
//! reads after the restart missed acknowledged writes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Cluster, no_extra};

/// Restarts per test: each is a fresh chance for the race.
const ROUNDS: u64 = 12;

#[test]
fn reads_after_a_restart_of_every_node_see_every_acknowledged_write() {
    let mut c = Cluster::start(3, no_extra);
    let ids = c.ids();
    let mut stale = Vec::new();
    for round in 0..ROUNDS {
        let leader = c.wait_leader(&ids);
        let mut last = None;
        for i in 0..30 {
            let value = round * 1000 + i;
            if c.put(leader, "k", json!(value))
                .is_ok_and(|(s, _)| s == 200)
            {
                last = Some(value);
            }
        }
        let last = last.expect("a healthy cluster acknowledges writes");
        // Kill every node right after the last acknowledgement, leader
        // last, so that the followers' logs hold every entry it committed.
        for id in ids.iter().filter(|id| **id != leader) {
            c.kill(*id);
        }
        c.kill(leader);
        c.restart(leader, &[]);
        for id in ids.iter().filter(|id| **id != leader) {
            c.restart(*id, &[]);
        }
        // The first read the old leader answers (it leads again at once,
        // or forwards to whoever leads).
        let read: Value = c.wait_for(
            "a read after the restart",
            Duration::from_secs(20),
            || match c.get(leader, "k") {
                Ok((200, body)) => Some(body["value"].clone()),
                _ => None,
            },
        );
        if read != json!(last) {
            stale.push(format!(
                "round {round}: read {read}, last acknowledged {last}"
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "stale reads after restarting every node:\n{}",
        stale.join("\n")
    );
}
