//! Crashes and pauses: kill -9 and SIGSTOP of the leader.

use std::time::Duration;

use serde_json::json;

use crate::support::{Cluster, no_extra};

#[test]
fn killed_leader_is_replaced_and_catches_up_after_restart() {
    let mut c = Cluster::start(3, no_extra);
    let old = c.wait_leader(&c.ids());
    let mut acked = Vec::new();
    for i in 0..30u64 {
        let via = c.ids()[(i % 3) as usize];
        if c.put(via, &format!("k{i}"), json!(i))
            .is_ok_and(|(s, _)| s == 200)
        {
            acked.push(i);
        }
    }
    assert_eq!(
        acked.len(),
        30,
        "a healthy cluster acknowledges every write"
    );

    c.kill(old);
    let rest: Vec<u64> = c.ids().into_iter().filter(|id| *id != old).collect();
    let new = c.wait_leader(&rest);
    assert_ne!(new, old);
    for reader in &rest {
        for i in &acked {
            assert_eq!(
                c.read_ok(*reader, &format!("k{i}")),
                json!(i),
                "acked k{i} via n{reader}"
            );
        }
    }
    assert_eq!(c.put(new, "after", json!("crash")).unwrap().0, 200);

    c.restart(old, &[]);
    c.wait_for(
        "the restarted node to catch up",
        Duration::from_secs(15),
        || {
            let target = c.status(new)?["last_applied"].as_u64()?;
            let status = c.status(old)?;
            (status["last_applied"].as_u64()? >= target && status["leader"] == json!(new))
                .then_some(())
        },
    );
    assert_eq!(c.read_ok(old, "after"), json!("crash"));
}

#[test]
fn paused_leader_steps_down_and_serves_no_stale_read() {
    let c = Cluster::start(3, no_extra);
    let old = c.wait_leader(&c.ids());
    assert_eq!(c.put(old, "x", json!(1)).unwrap().0, 200);

    c.pause(old);
    let rest: Vec<u64> = c.ids().into_iter().filter(|id| *id != old).collect();
    let new = c.wait_leader(&rest);
    let (status, body) = c.put(new, "x", json!(2)).unwrap();
    assert_eq!(status, 200, "{body}");
    c.resume(old);

    // Right after SIGCONT the old leader still believes it leads. Every
    // read it answers must already show the new value.
    let mut successes = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        if let Ok((200, body)) = c.get(old, "x") {
            assert_eq!(
                body["value"],
                json!(2),
                "stale read from the resumed old leader"
            );
            successes += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(successes > 0, "the resumed node never answered a read");
    c.wait_for(
        "the old leader to step down",
        Duration::from_secs(10),
        || {
            let status = c.status(old)?;
            (status["role"] != "leader").then_some(())
        },
    );
}
