//! [`ClockControl`] without processes: what each verb writes into the
//! clock files, and the events it returns.

use std::{path::Path, time::Duration};

use super::{ClockControl, ClockSetup};
use crate::{
    ClockChange, EventName, FaultDetail, FaultIds, FaultReport, NodeName, NodeSpec, Outcome,
};

fn control(dir: &Path, n: u32) -> (ClockControl, Vec<super::ClockFile>) {
    let setup = ClockSetup {
        library: "/opt/libfaketime.so.1".into(),
        dir: dir.into(),
        fake_monotonic: true,
    };
    let mut control = ClockControl::new(FaultIds::new());
    let mut files = Vec::new();
    for name in NodeName::cluster(n) {
        let spec = NodeSpec::new(name, std::env::current_exe().unwrap(), dir.join("x.log"));
        let (_, file) = setup.prepare(spec).unwrap();
        control.add(file.clone()).unwrap();
        files.push(file);
    }
    (control, files)
}

fn fs(report: &FaultReport) -> Vec<(EventName, u64)> {
    report.events.iter().map(|e| (e.f, e.value.id.0)).collect()
}

#[tokio::test]
async fn offsets_rates_and_resets_write_the_expected_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (mut clocks, files) = control(dir.path(), 3);
    let n1 = NodeName::from("n1");

    let report = clocks
        .offset(std::slice::from_ref(&n1), -5_000)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Installed);
    assert_eq!(fs(&report), [(EventName::StartClock, 1)]);
    assert_eq!(files[0].read().unwrap(), "-5.000000000 x1");
    assert_eq!(files[1].read().unwrap(), "+0.000000000 x1", "n2 untouched");

    // A second jump adds up, and replaces the first fault.
    let report = clocks
        .offset(std::slice::from_ref(&n1), 2_500)
        .await
        .unwrap();
    assert_eq!(
        fs(&report),
        [(EventName::StopClock, 1), (EventName::StartClock, 2)]
    );
    assert_eq!(files[0].read().unwrap(), "-2.500000000 x1");

    // A rate starts from where the clock is: 2.5 s behind real time.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let report = clocks.rate(std::slice::from_ref(&n1), 2.0).await.unwrap();
    assert_eq!(
        fs(&report),
        [(EventName::StopClock, 2), (EventName::StartClock, 3)]
    );
    let line = files[0].read().unwrap();
    let (at, rate) = line
        .strip_prefix('@')
        .and_then(|l| l.split_once(" x"))
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(rate, "2");
    let at: f64 = at.parse().unwrap();
    assert!((at - (before - 2.5)).abs() < 1.0, "{line} vs {before}");
    let (reading, rate) = clocks.reading(&n1).unwrap();
    assert_eq!(rate, 2.0);
    let reading = reading
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((reading - (before - 2.5)).abs() < 1.0);

    let report = clocks.reset(&NodeName::cluster(3)).await.unwrap();
    assert_eq!(fs(&report), [(EventName::StopClock, 3)]);
    assert_eq!(report.events[0].value.nodes, std::slice::from_ref(&n1));
    assert!(matches!(
        &report.events[0].value.detail,
        FaultDetail::Clock { change: ClockChange::Rate { factor }, .. } if *factor == 2.0
    ));
    assert_eq!(files[0].read().unwrap(), "+0.000000000 x1");

    // Nothing left to reset: skipped, no event.
    let report = clocks.reset_all().await.unwrap();
    assert!(report.events.is_empty());
    assert!(matches!(report.outcome, Outcome::Skipped(_)));
}

#[tokio::test]
async fn strobe_toggles_then_ends_on_course() {
    let dir = tempfile::tempdir().unwrap();
    let (mut clocks, files) = control(dir.path(), 2);
    let nodes = NodeName::cluster(2);
    let report = clocks
        .strobe(
            &nodes,
            60_000,
            Duration::from_millis(20),
            Duration::from_millis(200),
        )
        .await
        .unwrap();
    assert_eq!(fs(&report), [(EventName::StartClock, 1)]);
    assert_eq!(report.events[0].value.nodes, nodes);
    // Sample the file while the strobe runs: it must show both positions.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        seen.insert(files[1].read().unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen.contains("+60.000000000 x1"), "{seen:?}");
    assert!(seen.contains("+0.000000000 x1"), "{seen:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(files[0].read().unwrap(), "+0.000000000 x1");
    let report = clocks.finished_strobes();
    assert_eq!(fs(&report), [(EventName::StopClock, 1)]);
    assert!(clocks.finished_strobes().events.is_empty());
}

#[tokio::test]
async fn reset_stops_a_running_strobe() {
    let dir = tempfile::tempdir().unwrap();
    let (mut clocks, files) = control(dir.path(), 1);
    let n1 = NodeName::cluster(1);
    clocks
        .strobe(
            &n1,
            -1_000,
            Duration::from_millis(10),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let report = clocks.reset(&n1).await.unwrap();
    assert_eq!(fs(&report), [(EventName::StopClock, 1)]);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(15)).await;
        assert_eq!(files[0].read().unwrap(), "+0.000000000 x1");
    }
}

#[tokio::test]
async fn parameters_and_nodes_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (mut clocks, _files) = control(dir.path(), 1);
    let n1 = NodeName::cluster(1);
    for bad in [0.0, -1.0, f64::NAN, 1000.0] {
        assert!(clocks.rate(&n1, bad).await.is_err(), "{bad}");
    }
    assert!(clocks.offset(&n1, i64::MAX).await.is_err());
    assert!(
        clocks
            .strobe(&n1, 1, Duration::from_millis(1), Duration::from_secs(1))
            .await
            .is_err()
    );
    let err = clocks.offset(&[NodeName::from("n9")], 1).await.unwrap_err();
    assert!(err.to_string().contains("n9"), "{err}");
}

#[tokio::test]
async fn dropping_the_handle_resets_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let (mut clocks, files) = control(dir.path(), 1);
    clocks.offset(&NodeName::cluster(1), 3_000).await.unwrap();
    assert_eq!(files[0].read().unwrap(), "+3.000000000 x1");
    drop(clocks);
    assert_eq!(files[0].read().unwrap(), "+0.000000000 x1");
}
