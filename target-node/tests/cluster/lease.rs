//! `--read-mode lease`: the leader answers reads from its own state,
//! without a barrier, for a lease after each confirmed barrier, and only
//! then; `linearizable` never does.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::Cluster;

/// Long election timeouts, so that the lease (their lower bound) is long
/// enough to read within on a loaded machine.
const LEASE: Duration = Duration::from_millis(2000);

fn flags(mode: &'static str) -> impl Fn(u64) -> Vec<String> {
    move |_| {
        [
            "--read-mode",
            mode,
            "--heartbeat-ms",
            "100",
            "--election-timeout-min-ms",
            "2000",
            "--election-timeout-max-ms",
            "4000",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// Reads once on the leader (a barrier), pauses both followers, and
/// returns whether a read right after that, and one after the lease, were
/// answered.
fn reads_without_a_quorum(mode: &'static str) -> (bool, bool) {
    let c = Cluster::start(3, flags(mode));
    let leader = c.wait_leader(&c.ids());
    assert_eq!(c.put(leader, "x", json!(1)).unwrap().0, 200);
    assert_eq!(c.read_ok(leader, "x"), json!(1));
    let confirmed = Instant::now();
    let followers: Vec<u64> = c.ids().into_iter().filter(|id| *id != leader).collect();
    for id in &followers {
        c.pause(*id);
    }
    let early = c
        .get(leader, "x")
        .is_ok_and(|(s, b)| s == 200 && b["value"] == json!(1));
    assert!(
        confirmed.elapsed() < LEASE / 2,
        "the machine is too slow for this test: the read came {:?} after the barrier",
        confirmed.elapsed()
    );
    std::thread::sleep(
        (confirmed + LEASE + Duration::from_millis(300)).saturating_duration_since(Instant::now()),
    );
    let late = c.get(leader, "x").is_ok_and(|(s, _)| s == 200);
    for id in &followers {
        c.resume(*id);
    }
    (early, late)
}

#[test]
fn lease_reads_need_no_quorum_until_the_lease_runs_out() {
    assert_eq!(
        reads_without_a_quorum("lease"),
        (true, false),
        "(within the lease, after it)"
    );
}

#[test]
fn linearizable_reads_always_need_a_quorum() {
    assert_eq!(
        reads_without_a_quorum("linearizable"),
        (false, false),
        "(right after a barrier, later)"
    );
}
