//! The check's bounds and what it reports about them: the memory budget
//! ends a search as `unknown` with the reason and how far it got, the
//! version order decides what the search cannot, progress events reach a
//! sink, and a key on which nothing succeeded is `unknown`.

use std::{sync::mpsc, time::Duration};

use checker::{
    LinOptions, Model, Verdict,
    generate::concurrent_info_writes,
    linearizable::{self, CheckEvent, DecidedThrough, Engine, ProgressSink},
};
use serde_json::json;

use crate::common::history;

/// The search alone, bounded.
fn search_only(time: Duration, memory: usize) -> LinOptions {
    LinOptions {
        time_budget: time,
        memory_budget: memory,
        version_order: false,
        threads: 1,
        ..LinOptions::default()
    }
}

#[test]
fn a_memory_budget_ends_a_search_as_unknown_with_how_far_it_got() {
    // 1,000 concurrent info writes and reads, then a read of the initial
    // null: the search must rule out every order of the reads.
    let h = concurrent_info_writes(5, 1, 1_000, 1_000, true);
    let r = linearizable::check(
        &h,
        Model::register(),
        &search_only(Duration::from_secs(30), 16 << 20),
    );
    let key = &r.keys["k0"];
    assert_eq!(key.verdict, Verdict::Unknown, "{key:?}");
    let reason = key.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("memory budget of 16.0 MiB spent"),
        "{reason}"
    );
    assert!(
        reason.contains("linearizable through op 1000 of 1001"),
        "{reason}"
    );
    // The tail read (the read invoked last) is where the search is stuck.
    let tail = h
        .ops
        .iter()
        .filter(|o| o.f == "read")
        .max_by_key(|o| o.invoke);
    let tail_index = tail.and_then(|o| o.complete).map(|c| h.events[c].index);
    assert_eq!(
        key.decided_through,
        Some(DecidedThrough {
            ops: 1_000,
            of: 1_001,
            undecided_from_index: tail_index,
        })
    );
}

#[test]
fn a_search_out_of_time_says_how_far_it_got() {
    let h = concurrent_info_writes(5, 1, 1_000, 1_000, true);
    let r = linearizable::check(
        &h,
        Model::register(),
        &search_only(Duration::from_millis(300), usize::MAX),
    );
    let key = &r.keys["k0"];
    let reason = key.reason.as_deref().unwrap_or_default();
    assert!(reason.starts_with("time budget of 300ms spent"), "{reason}");
    assert!(reason.contains("through op 1000 of 1001"), "{reason}");
    assert_eq!(key.engine, Engine::Wgl);
}

#[test]
fn the_version_order_decides_what_the_search_cannot() {
    let h = concurrent_info_writes(5, 4, 1_000, 1_000, true);
    let r = linearizable::check(&h, Model::register(), &LinOptions::default());
    assert_eq!(r.verdict, Verdict::Invalid);
    for key in r.keys.values() {
        assert_eq!(key.engine, Engine::VersionOrder);
        let cex = key.counterexample.as_ref().expect("counterexample");
        assert_eq!(cex.op.output, json!(null), "the tail read of null");
        // Before the tail read returned, every concurrent read fitted.
        let reads = cex.prefix.iter().filter(|&&i| h.ops[i].f == "read").count();
        assert_eq!(reads, 1_000);
        let why = cex.explanation.as_deref().unwrap_or_default();
        assert!(
            why.starts_with("the initial value null and value "),
            "{why}"
        );
        assert!(
            why.ends_with("the initial value comes before every write."),
            "{why}"
        );
    }
    let valid = concurrent_info_writes(5, 4, 1_000, 1_000, false);
    let r = linearizable::check(&valid, Model::register(), &LinOptions::default());
    assert_eq!(r.verdict, Verdict::Valid);
}

#[test]
fn progress_events_reach_the_sink_in_order() {
    let mut h = concurrent_info_writes(5, 2, 1_000, 1_000, true);
    // A third, easy key.
    let easy = concurrent_info_writes(6, 1, 3, 3, false);
    let offset = h.events.len() as u64;
    let mut events = h.events.clone();
    events.extend(easy.events.into_iter().map(|mut e| {
        e.index += offset;
        e.key = Some("easy".into());
        e.process = match e.process {
            checker::Process::Client(p) => checker::Process::Client(p + 1_000_000),
            other => other,
        };
        e
    }));
    h = checker::History::from_events(events).expect("pairs");
    let (tx, rx) = mpsc::channel();
    let options = LinOptions {
        progress: Some(ProgressSink::channel(tx)),
        threads: 2,
        ..search_only(Duration::from_millis(1_200), usize::MAX)
    };
    let r = linearizable::check(&h, Model::register(), &options);
    drop(options);
    let got: Vec<CheckEvent> = rx.try_iter().collect();
    assert!(
        matches!(got.first(), Some(CheckEvent::Started { keys: 3, .. })),
        "{:?}",
        got.first()
    );
    assert!(matches!(
        got.last(),
        Some(CheckEvent::Finished {
            verdict: Verdict::Unknown,
            ..
        })
    ));
    for key in ["k0", "k1", "easy"] {
        let of_key: Vec<&CheckEvent> = got
            .iter()
            .filter(|e| match e {
                CheckEvent::KeyStarted { key: k, .. }
                | CheckEvent::KeyProgress { key: k, .. }
                | CheckEvent::KeyFinished { key: k, .. } => k == key,
                _ => false,
            })
            .collect();
        assert!(
            matches!(of_key.first(), Some(CheckEvent::KeyStarted { .. })),
            "{key}"
        );
        let Some(CheckEvent::KeyFinished { verdict, .. }) = of_key.last() else {
            panic!("{key}: {of_key:?}");
        };
        assert_eq!(*verdict, r.keys[key].verdict, "{key}");
        let progress: Vec<(usize, usize, Duration)> = of_key
            .iter()
            .filter_map(|e| match e {
                CheckEvent::KeyProgress {
                    linearized,
                    of,
                    elapsed,
                    ..
                } => Some((*linearized, *of, *elapsed)),
                _ => None,
            })
            .collect();
        if key == "easy" {
            assert!(progress.is_empty(), "an easy key is done at once");
        } else {
            assert!(
                !progress.is_empty(),
                "{key}: a 1.2 s search reports progress"
            );
            assert!(progress.iter().all(|&(l, of, _)| l <= of && of == 1_001));
            assert!(progress.windows(2).all(|w| w[0].2 < w[1].2), "{key}");
        }
    }
}

#[test]
fn a_key_on_which_nothing_succeeded_is_unknown_beside_checked_keys() {
    let mut h = history(&[
        (0, "invoke", "write", json!(1)),
        (0, "ok", "write", json!(1)),
        (1, "invoke", "write", json!(2)),
        (1, "fail", "write", json!(2)),
        (2, "invoke", "read", json!(null)),
        (2, "info", "read", json!(null)),
    ]);
    for (i, e) in h.events.iter_mut().enumerate() {
        e.key = Some(if i < 2 { "good" } else { "vacuous" }.into());
    }
    let h = checker::History::from_events(h.events).expect("pairs");
    let r = linearizable::check(&h, Model::register(), &LinOptions::default());
    assert_eq!(r.keys["good"].verdict, Verdict::Valid);
    assert_eq!(r.keys["vacuous"].verdict, Verdict::Unknown);
    assert_eq!(r.keys["vacuous"].engine, Engine::None);
    assert_eq!(r.verdict, Verdict::Unknown);
    insta::assert_snapshot!(
        r.keys["vacuous"].reason.as_deref().unwrap_or_default(),
        @"no operation on this key succeeded (2 attempted, all failed or indeterminate): nothing to check, so `valid` would be vacuous"
    );
}
