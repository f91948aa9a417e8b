//! Store tests beyond openraft's suite: a crash between a purge and the
//! snapshot install it was for, and a slow snapshot build racing a newer
//! install.

use std::io::Cursor;

use openraft::{
    CommittedLeaderId, EntryPayload, RaftLogReader, RaftSnapshotBuilder,
    storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine, StorageHelper},
};
use serde_json::json;
use tempfile::TempDir;

use super::{LogStore, StateMachineStore, SyncPolicy};
use crate::types::{Command, Entry, LogId, SnapshotMeta};

fn id(index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(1, 1), index)
}

/// `put k<i> = i` at index `i`.
fn put(index: u64) -> Entry {
    Entry {
        log_id: id(index),
        payload: EntryPayload::Normal(Command::Put {
            key: format!("k{index}"),
            value: json!(index),
        }),
    }
}

fn open(dir: &TempDir) -> (LogStore, StateMachineStore) {
    super::open(dir.path(), SyncPolicy::Fsync).expect("open the stores")
}

fn indexes(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.log_id.index).collect()
}

/// A follower knows commit 7 and has a snapshot at 5 when a snapshot at 9
/// arrives. openraft purges up to 9 at once and hands the
/// install to the state machine; the node crashes before the install.
/// It must start again, re-applying 6..=7 from its log.
#[tokio::test]
async fn a_crash_between_purge_and_snapshot_install_leaves_a_startable_node() {
    let dir = TempDir::new().unwrap();
    {
        let (mut log, mut sm) = open(&dir);
        log.blocking_append((1..=10).map(put)).await.unwrap();
        sm.apply((1..=5).map(put)).await.unwrap();
        sm.get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        log.save_committed(Some(id(7))).await.unwrap();

        log.purge(id(9)).await.unwrap();

        // openraft's view: the log starts after 9.
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(id(9)));
        assert_eq!(state.last_log_id, Some(id(10)));
        let visible = log.try_get_log_entries(0..).await.unwrap();
        assert_eq!(indexes(&visible), vec![10]);
        // ...but the entries the state machine lacks are still on disk.
        assert_eq!(log.stored_indexes(), (6..=10).collect::<Vec<_>>());
        // The crash: the stores go away, the install never happens.
    }
    let (mut log, mut sm) = open(&dir);
    StorageHelper::new(&mut log, &mut sm)
        .get_initial_state()
        .await
        .expect("the node starts again");
    let (applied, _) = sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(id(7)), "6..=7 re-applied");
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(id(5)));
    // openraft refuses to start with a log purged past its snapshot.
    let snapshot = sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("a snapshot");
    assert!(state.last_purged_log_id <= snapshot.meta.last_log_id);
    let (value, _) = sm.view().get("k7").await;
    assert_eq!(value, Some(json!(7)));
}

/// Once the install is stored, the rest of the purge happens.
#[tokio::test]
async fn a_deferred_purge_completes_once_the_snapshot_is_stored() {
    let dir = TempDir::new().unwrap();
    let (mut log, mut sm) = open(&dir);
    log.blocking_append((1..=10).map(put)).await.unwrap();
    log.purge(id(9)).await.unwrap();
    assert_eq!(log.stored_indexes(), (1..=10).collect::<Vec<_>>());
    let meta = snapshot_meta(9, "leader-9");
    sm.install_snapshot(&meta, snapshot_data(&[("k9", 9)]))
        .await
        .unwrap();
    log.blocking_append([put(11)]).await.unwrap();
    assert_eq!(log.stored_indexes(), vec![10, 11]);
}

fn snapshot_meta(index: u64, snapshot_id: &str) -> SnapshotMeta {
    SnapshotMeta {
        last_log_id: Some(id(index)),
        last_membership: Default::default(),
        snapshot_id: snapshot_id.into(),
    }
}

fn snapshot_data(pairs: &[(&str, u64)]) -> Box<Cursor<Vec<u8>>> {
    let kv: serde_json::Map<String, serde_json::Value> =
        pairs.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
    Box::new(Cursor::new(
        serde_json::to_vec(&json!({ "kv": kv })).unwrap(),
    ))
}

/// A snapshot build captured at 3 finishes after a snapshot at 9 was
/// installed: the stored snapshot stays the newer one, while a later,
/// newer build does replace it.
#[tokio::test]
async fn a_slow_snapshot_build_never_replaces_a_newer_installed_snapshot() {
    let dir = TempDir::new().unwrap();
    let (_log, mut sm) = open(&dir);
    sm.apply((1..=3).map(put)).await.unwrap();
    let mut slow = sm.get_snapshot_builder().await;
    sm.install_snapshot(&snapshot_meta(9, "leader-9"), snapshot_data(&[("k9", 9)]))
        .await
        .unwrap();
    let built = slow.build_snapshot().await.unwrap();
    assert_eq!(built.meta.last_log_id, Some(id(3)));
    let current = sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("a snapshot");
    assert_eq!(current.meta.last_log_id, Some(id(9)));
    assert_eq!(current.meta.snapshot_id, "leader-9");

    sm.apply((10..=12).map(put)).await.unwrap();
    let built = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let current = sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("a snapshot");
    assert_eq!(current.meta.last_log_id, Some(id(12)));
    assert_eq!(current.meta.snapshot_id, built.meta.snapshot_id);
}
