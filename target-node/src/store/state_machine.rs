//! The key-value state machine and its snapshots, in `state.redb`, with an
//! in-memory copy that serves reads.
//!
//! Invariants:
//! - The stored key-value pairs, `last_applied` and the membership change in
//!   one transaction per `apply` batch, so after any crash the state machine
//!   is exactly the result of applying the log up to `last_applied`.
//! - The in-memory [`KvView`] is updated only after that transaction
//!   commits. A crash may roll back unsynced applies, but only to a state
//!   the node re-applies from its synced log before serving a linearizable
//!   read, so a read never observes a state the log does not produce.
//! - The current snapshot (meta and data) is stored in the same database,
//!   so `get_current_snapshot` survives restarts and the log can be purged.

use std::{
    collections::BTreeMap,
    io::Cursor,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, SnapshotMeta as RaftSnapshotMeta,
    storage::RaftStateMachine,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::RwLock;

use super::{
    Sync, SyncPolicy,
    codec::{decode, encode, io_err},
    durable::DurableSnapshot,
};
use crate::types::{
    Command, Entry, LogId, Outcome, Snapshot, SnapshotMeta, StorageError, StoredMembership,
    TypeConfig,
};

const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const LAST_APPLIED: &str = "last_applied";

/// Every this many apply batches, one is synced, which bounds how much a
/// restarted node re-applies and lets redb reuse the pages of older
/// versions.
///
/// # Correctness
/// Unsynced applies are safe because the log store never deletes entries
/// past the durably stored snapshot ([`DurableSnapshot`]), and storing a
/// snapshot is a synced commit of this same database, which makes every
/// earlier apply durable with it: a crash rolls the state machine back to
/// a synced commit, and the log still holds every entry after it, to be
/// re-applied. (openraft's own version of this argument, that it only
/// purges what a snapshot covers, fails when a follower installs one: the
/// purge does not wait for the install to be stored.)
const SYNC_EVERY: u32 = 64;
const MEMBERSHIP: &str = "membership";
const SNAPSHOT_META: &str = "snapshot_meta";
const SNAPSHOT_DATA: &str = "snapshot_data";

/// The applied state: what reads are served from.
#[derive(Clone, Debug, Default)]
pub struct AppliedState {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub kv: BTreeMap<String, Value>,
}

/// A shared, read-only handle on the applied state for request handlers.
#[derive(Clone, Default)]
pub struct KvView(Arc<RwLock<AppliedState>>);

impl KvView {
    /// The value of `key` (`None` when absent) and the index it was read at.
    pub async fn get(&self, key: &str) -> (Option<Value>, Option<u64>) {
        let state = self.0.read().await;
        (
            state.kv.get(key).cloned(),
            state.last_applied.map(|id| id.index),
        )
    }
}

/// A stored record, still encoded.
type Encoded = Vec<u8>;

/// The applied state as stored: encoded values and metadata.
struct EncodedState {
    pairs: Vec<(String, Encoded)>,
    applied: Option<Encoded>,
    membership: Option<Encoded>,
}

/// The body of a snapshot: the whole key-value map.
#[derive(Serialize, Deserialize)]
struct SnapshotBody {
    kv: BTreeMap<String, Value>,
}

/// The redb-backed state machine. Cloning shares the database and the view.
#[derive(Clone)]
pub struct StateMachineStore {
    db: Arc<Database>,
    view: KvView,
    /// Apply batches since the last synced commit.
    unsynced: Arc<AtomicU32>,
    /// How far the stored snapshot reaches (shared with the log store).
    snapshot: Arc<DurableSnapshot>,
}

impl StateMachineStore {
    pub fn open(path: &Path, policy: SyncPolicy) -> Result<Self, StorageError> {
        let db = super::open_db(path, policy)
            .map_err(io_err(ErrorSubject::StateMachine, ErrorVerb::Read))?;
        let mut store = Self {
            db: Arc::new(db),
            view: KvView::default(),
            unsynced: Arc::default(),
            snapshot: Arc::default(),
        };
        store.write(|txn| {
            txn.open_table(KV)?;
            txn.open_table(META)?;
            Ok(())
        })?;
        let state = store.load()?;
        let stored = store
            .stored_snapshot()?
            .and_then(|(meta, _)| meta.last_log_id);
        store.snapshot = Arc::new(DurableSnapshot::new(stored));
        store
            .view
            .0
            .try_write()
            .expect("no reader exists yet")
            .clone_from(&state);
        Ok(store)
    }

    pub fn view(&self) -> KvView {
        self.view.clone()
    }

    /// The durable-snapshot mark, for the log store.
    pub(super) fn durable_snapshot(&self) -> Arc<DurableSnapshot> {
        self.snapshot.clone()
    }

    /// Commits durably (fsync).
    fn write<F>(&self, f: F) -> Result<(), StorageError>
    where
        F: FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    {
        self.write_synced(Sync::Now, f)
    }

    fn write_synced<F>(&self, sync: Sync, f: F) -> Result<(), StorageError>
    where
        F: FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    {
        if sync == Sync::Now {
            self.unsynced.store(0, Ordering::Relaxed);
        }
        super::commit(&self.db, sync, f)
            .map_err(io_err(ErrorSubject::StateMachine, ErrorVerb::Write))
    }

    /// Reads the applied state from disk (at startup).
    fn load(&self) -> Result<AppliedState, StorageError> {
        let read = || -> Result<EncodedState, redb::Error> {
            let txn = self.db.begin_read()?;
            let kv = txn.open_table(KV)?;
            let mut pairs = Vec::new();
            for item in kv.iter()? {
                let (k, v) = item?;
                pairs.push((k.value().to_owned(), v.value().to_vec()));
            }
            let meta = txn.open_table(META)?;
            Ok(EncodedState {
                pairs,
                applied: meta.get(LAST_APPLIED)?.map(|v| v.value().to_vec()),
                membership: meta.get(MEMBERSHIP)?.map(|v| v.value().to_vec()),
            })
        };
        let subject = ErrorSubject::StateMachine;
        let EncodedState {
            pairs,
            applied,
            membership,
        } = read().map_err(io_err(subject.clone(), ErrorVerb::Read))?;
        let mut state = AppliedState::default();
        for (key, bytes) in pairs {
            state.kv.insert(key, decode(&bytes, subject.clone())?);
        }
        if let Some(bytes) = applied {
            state.last_applied = decode(&bytes, subject.clone())?;
        }
        if let Some(bytes) = membership {
            state.membership = decode(&bytes, subject)?;
        }
        Ok(state)
    }

    fn stored_snapshot(&self) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StorageError> {
        let read = || -> Result<Option<(Encoded, Encoded)>, redb::Error> {
            let txn = self.db.begin_read()?;
            let meta = txn.open_table(META)?;
            let m = meta.get(SNAPSHOT_META)?.map(|v| v.value().to_vec());
            let d = meta.get(SNAPSHOT_DATA)?.map(|v| v.value().to_vec());
            Ok(m.zip(d))
        };
        let subject = ErrorSubject::Snapshot(None);
        match read().map_err(io_err(subject.clone(), ErrorVerb::Read))? {
            Some((meta, data)) => Ok(Some((decode(&meta, subject)?, data))),
            None => Ok(None),
        }
    }
}

/// Applies one command to `current` (the key's value, `None` if absent) and
/// returns the outcome and the key's new value, if it changed.
fn apply_command(command: &Command, current: Option<&Value>) -> (Outcome, Option<Value>) {
    match command {
        Command::Put { value, .. } => (Outcome::Done, Some(value.clone())),
        Command::Cas { from, to, .. } => {
            let current = current.cloned().unwrap_or(Value::Null);
            if current == *from {
                (Outcome::Done, Some(to.clone()))
            } else {
                (Outcome::CasMismatch { current }, None)
            }
        }
        Command::Append { value, .. } => match current {
            None | Some(Value::Null) => (Outcome::Done, Some(Value::Array(vec![value.clone()]))),
            Some(Value::Array(items)) => {
                let mut items = items.clone();
                items.push(value.clone());
                (Outcome::Done, Some(Value::Array(items)))
            }
            Some(other) => (
                Outcome::NotAList {
                    current: other.clone(),
                },
                None,
            ),
        },
        // Touches several keys: applied by `apply` through `store::txn`.
        Command::Txn { .. } => (Outcome::None, None),
    }
}

fn command_key(command: &Command) -> &str {
    match command {
        Command::Put { key, .. } | Command::Cas { key, .. } | Command::Append { key, .. } => key,
        Command::Txn { .. } => "",
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let state = self.view.0.read().await;
        Ok((state.last_applied, state.membership.clone()))
    }

    /// # Correctness
    /// The batch's effects, `last_applied` and membership commit in one
    /// fsynced transaction before the view (and so any read) sees them.
    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Outcome>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let (mut last_applied, mut membership) = {
            let state = self.view.0.read().await;
            (state.last_applied, state.membership.clone())
        };
        // Changes of this batch, overlaid on the current map.
        let mut changed: BTreeMap<String, Value> = BTreeMap::new();
        let mut outcomes = Vec::new();
        for entry in entries {
            last_applied = Some(entry.log_id);
            let outcome = match entry.payload {
                EntryPayload::Blank => Outcome::None,
                EntryPayload::Membership(m) => {
                    membership = StoredMembership::new(Some(entry.log_id), m);
                    Outcome::None
                }
                EntryPayload::Normal(Command::Txn { mops }) => {
                    let mut before = BTreeMap::new();
                    for key in super::txn::keys(&mops) {
                        let value = match changed.get(key) {
                            Some(v) => Some(v.clone()),
                            None => self.view.0.read().await.kv.get(key).cloned(),
                        };
                        before.insert(key.to_owned(), value);
                    }
                    let (outcome, writes) = super::txn::apply(&mops, &before);
                    changed.extend(writes);
                    outcome
                }
                EntryPayload::Normal(command) => {
                    let key = command_key(&command);
                    let current = match changed.get(key) {
                        Some(v) => Some(v.clone()),
                        None => self.view.0.read().await.kv.get(key).cloned(),
                    };
                    let (outcome, new_value) = apply_command(&command, current.as_ref());
                    if let Some(value) = new_value {
                        changed.insert(key.to_owned(), value);
                    }
                    outcome
                }
            };
            outcomes.push(outcome);
        }
        let encoded: Vec<(&String, Vec<u8>)> =
            changed.iter().map(|(k, v)| (k, encode(v))).collect();
        let applied_bytes = encode(&last_applied);
        let membership_bytes = encode(&membership);
        // Applies need not wait for the disk: the log they come from is
        // synced, and a restarted node re-applies it from the last synced
        // `last_applied` (see SYNC_EVERY for why that log is still there).
        let sync = if self.unsynced.fetch_add(1, Ordering::Relaxed) + 1 >= SYNC_EVERY {
            Sync::Now
        } else {
            Sync::Later
        };
        self.write_synced(sync, |txn| {
            let mut kv = txn.open_table(KV)?;
            for (key, bytes) in &encoded {
                kv.insert(key.as_str(), bytes.as_slice())?;
            }
            let mut meta = txn.open_table(META)?;
            meta.insert(LAST_APPLIED, applied_bytes.as_slice())?;
            meta.insert(MEMBERSHIP, membership_bytes.as_slice())?;
            Ok(())
        })?;
        let mut state = self.view.0.write().await;
        state.kv.extend(changed);
        state.last_applied = last_applied;
        state.membership = membership;
        Ok(outcomes)
    }

    /// Captures the applied state now: openraft builds the snapshot in a
    /// separate task while later entries keep being applied.
    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            store: self.clone(),
            state: self.view.0.read().await.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    /// # Correctness
    /// Replaces the whole state (map, `last_applied`, membership) and stores
    /// the snapshot in one fsynced transaction.
    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let subject = ErrorSubject::Snapshot(Some(meta.signature()));
        let data = snapshot.into_inner();
        let body: SnapshotBody = decode(&data, subject)?;
        persist_snapshot(self, meta, &data, Some(&body))?;
        tracing::info!(last_log_id = ?meta.last_log_id, keys = body.kv.len(), "installed snapshot");
        let mut state = self.view.0.write().await;
        state.kv = body.kv;
        state.last_applied = meta.last_log_id;
        state.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.stored_snapshot()?.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

/// Stores a snapshot; with `install`, also replaces the state with it.
///
/// The stored snapshot only ever moves forward: a snapshot older than the
/// stored one (a slow build that started before a newer snapshot was
/// installed) is not stored, so the log purged for the newer one stays
/// covered. The check and the write are one transaction. Returns whether
/// the snapshot was stored.
fn persist_snapshot(
    store: &StateMachineStore,
    meta: &SnapshotMeta,
    data: &[u8],
    install: Option<&SnapshotBody>,
) -> Result<bool, StorageError> {
    let meta_bytes = encode(meta);
    let install = install.map(|body| EncodedState {
        pairs: body
            .kv
            .iter()
            .map(|(k, v)| (k.clone(), encode(v)))
            .collect(),
        applied: Some(encode(&meta.last_log_id)),
        membership: Some(encode(&meta.last_membership)),
    });
    let mut stored = false;
    store.write(|txn| {
        let mut meta_table = txn.open_table(META)?;
        if !older_than_stored(&meta_table, meta)? {
            meta_table.insert(SNAPSHOT_META, meta_bytes.as_slice())?;
            meta_table.insert(SNAPSHOT_DATA, data)?;
            stored = true;
        }
        if let Some(state) = &install {
            if let Some(applied) = &state.applied {
                meta_table.insert(LAST_APPLIED, applied.as_slice())?;
            }
            if let Some(membership) = &state.membership {
                meta_table.insert(MEMBERSHIP, membership.as_slice())?;
            }
            let mut kv = txn.open_table(KV)?;
            kv.retain(|_, _| false)?;
            for (key, bytes) in &state.pairs {
                kv.insert(key.as_str(), bytes.as_slice())?;
            }
        }
        Ok(())
    })?;
    if stored {
        store.snapshot.advance(meta.last_log_id);
    }
    Ok(stored)
}

/// Whether the stored snapshot covers more of the log than `meta`.
fn older_than_stored(
    table: &redb::Table<&str, &[u8]>,
    meta: &SnapshotMeta,
) -> Result<bool, redb::Error> {
    let Some(bytes) = table.get(SNAPSHOT_META)?.map(|v| v.value().to_vec()) else {
        return Ok(false);
    };
    let stored: SnapshotMeta = serde_json::from_slice(&bytes)
        .map_err(|e| redb::Error::Io(std::io::Error::other(format!("snapshot meta: {e}"))))?;
    Ok(stored.last_log_id > meta.last_log_id)
}

/// Builds a snapshot from the state captured by `get_snapshot_builder`.
pub struct SnapshotBuilder {
    store: StateMachineStore,
    state: AppliedState,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let state = std::mem::take(&mut self.state);
        let data = encode(&SnapshotBody { kv: state.kv });
        let snapshot_id = match state.last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, unique_suffix()),
            None => format!("empty-{}", unique_suffix()),
        };
        let meta = RaftSnapshotMeta {
            last_log_id: state.last_applied,
            last_membership: state.membership,
            snapshot_id,
        };
        if !persist_snapshot(&self.store, &meta, &data, None)? {
            // openraft ignores a built snapshot older than the one it
            // knows; the stored (newer) one stays current.
            tracing::info!(last_log_id = ?meta.last_log_id, "a newer snapshot is stored; not replacing it");
        }
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

/// Distinguishes two snapshots built at the same log id.
fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn commands_apply_as_the_protocol_says() {
        let key = "k".to_owned();
        let put = Command::Put {
            key: key.clone(),
            value: json!(1),
        };
        assert_eq!(apply_command(&put, None), (Outcome::Done, Some(json!(1))));

        let cas = Command::Cas {
            key: key.clone(),
            from: json!(1),
            to: json!(2),
        };
        assert_eq!(
            apply_command(&cas, Some(&json!(1))),
            (Outcome::Done, Some(json!(2)))
        );
        assert_eq!(
            apply_command(&cas, Some(&json!(3))),
            (Outcome::CasMismatch { current: json!(3) }, None)
        );
        let cas_absent = Command::Cas {
            key: key.clone(),
            from: Value::Null,
            to: json!(5),
        };
        assert_eq!(
            apply_command(&cas_absent, None),
            (Outcome::Done, Some(json!(5)))
        );

        let append = Command::Append {
            key,
            value: json!("x"),
        };
        assert_eq!(
            apply_command(&append, None),
            (Outcome::Done, Some(json!(["x"])))
        );
        assert_eq!(
            apply_command(&append, Some(&json!(["a"]))),
            (Outcome::Done, Some(json!(["a", "x"])))
        );
        assert_eq!(
            apply_command(&append, Some(&json!(7))),
            (Outcome::NotAList { current: json!(7) }, None)
        );
    }
}
