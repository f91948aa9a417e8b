//! Stats: counts, latency percentiles, availability and fault windows.

use checker::{Event, EventKind, History, Process, stats};
use serde_json::json;

fn ev(time: u64, process: Process, kind: EventKind, f: &str) -> Event {
    Event::new(0, time, process, kind, f)
}

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

/// Client ops every 100 ms for 5 s, each taking `lat` ms; ops during
/// [2 s, 3 s) time out (info). A partition from 1.9 s to 3.0 s and a kill
/// that is never stopped.
fn run() -> History {
    let mut evs = Vec::new();
    let mut p = 0;
    for i in 0..50u64 {
        let t = i * 100 * MS;
        let lat = 1 + i % 10; // 1..10 ms
        let failing = (2 * S..3 * S).contains(&t);
        let f = if i % 2 == 0 { "read" } else { "write" };
        let mut inv = ev(t, Process::Client(p), EventKind::Invoke, f);
        inv.key = Some("k".into());
        evs.push(inv);
        let kind = if failing {
            EventKind::Info
        } else {
            EventKind::Ok
        };
        evs.push(ev(t + lat * MS, Process::Client(p), kind, f));
        if failing {
            p += 1;
        }
        if i == 19 {
            let mut start = ev(
                t + 50 * MS,
                Process::Nemesis,
                EventKind::Info,
                "start-partition",
            );
            start.value = json!({"id": 1, "fault": "partition", "nodes": ["n1"], "detail": {}});
            evs.push(start);
        }
        if i == 30 {
            let mut stop = ev(t - MS, Process::Nemesis, EventKind::Info, "stop-partition");
            stop.value = json!({"id": 1, "fault": "partition", "nodes": ["n1"]});
            evs.push(stop);
            let mut kill = ev(t - MS / 2, Process::Nemesis, EventKind::Info, "start-kill");
            kill.value = json!({"id": 2, "fault": "kill", "nodes": ["n2"]});
            evs.push(kill);
        }
    }
    for (i, e) in evs.iter_mut().enumerate() {
        e.index = i as u64;
    }
    History::from_events(evs).expect("pairs")
}

#[test]
fn counts_and_latency() {
    let s = stats::compute(&run());
    assert_eq!(s.ops, 50);
    assert_eq!(s.counts["read"]["ok"] + s.counts["read"]["info"], 25);
    assert_eq!(s.counts["read"]["info"] + s.counts["write"]["info"], 10);
    let l = &s.latency["read"];
    // reads are the even i: latencies 1,3,5,7,9 ms, evenly.
    assert_eq!(l.count, 20);
    assert!((5 * MS..=5 * MS + 5 * MS / 1000).contains(&l.p50), "{l:?}");
    assert!((9 * MS..=9 * MS + 9 * MS / 1000).contains(&l.max), "{l:?}");
    assert!(l.p90 <= l.p99 && l.p99 <= l.max);
}

#[test]
fn availability_per_second() {
    let s = stats::compute(&run());
    let shares: Vec<(u64, f64)> = s
        .availability
        .iter()
        .map(|a| (a.second, a.ok_share))
        .collect();
    assert_eq!(
        shares,
        vec![(0, 1.0), (1, 1.0), (2, 0.0), (3, 1.0), (4, 1.0)]
    );
    assert_eq!(s.availability[2].completed, 10);
}

#[test]
fn fault_windows_and_recovery() {
    let s = stats::compute(&run());
    assert_eq!(s.faults.len(), 2);
    let part = &s.faults[0];
    assert_eq!((part.fault.as_str(), part.id), ("partition", Some(1)));
    assert_eq!(part.nodes, vec!["n1".to_owned()]);
    assert_eq!(part.start, 1_950 * MS);
    assert_eq!(part.stop, Some(2_999 * MS));
    // First ok after the stop: op 30 invoked at 3.0 s taking 1 ms.
    assert_eq!(part.recovery, Some(2 * MS));
    let kill = &s.faults[1];
    assert_eq!((kill.stop, kill.recovery), (None, None));
    assert_eq!(kill.end, s.duration, "open windows extend to the end");
}
