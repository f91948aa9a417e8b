//! The client adapter: our operations as ZooKeeper requests, over the
//! `zookeeper-client` crate.
//!
//! # Mapping our operations to ZooKeeper (3.8)
//!
//! | op | requests | `ok` | definite `fail` |
//! |---|---|---|---|
//! | `read` | `getData` (`sync` first, pipelined on the same session, with `sync-reads`) | the value, `null` if absent | any error (reads never take effect) |
//! | `write` | `setData` (any version); if absent, `create`; `null`: `delete` | | see [`classify_zk`](super::errors::classify_zk); every attempt lost a race with a create or delete |
//! | `cas` | `getData`, compare, then `setData` with the version read (`from: null`: `create`; `to: null`: `delete` with the version) | | the value differs, `BadVersion`, `NodeExists` (the compare lost a race) |
//! | `append` | `getData`, then `setData` of the longer list with the version read (`create` if absent); retried on a lost race | | every attempt lost its race, or the value is not a list |
//!
//! Invariants:
//! - Sessions: each operation runs on a session of its own from a small
//!   pool of this node's sessions (never two operations on one session at
//!   once), so clients see each other only through the servers, as
//!   separate processes would. A session goes back to the pool only after
//!   an operation that ended cleanly; after a timeout or a broken
//!   connection it is dropped, with whatever it still has queued.
//! - Each client talks to its own node only (the session knows one
//!   server), so that a stale server answers stale reads instead of the
//!   client moving away from it.
//! - Time: the whole operation, opening a session included, gets the
//!   plan's `timeout`. No request is sent before a session is open, so an
//!   operation that timed out while opening one is a definite `fail`; one
//!   that timed out later is `info` (a write may still be applied, even
//!   after the session is dropped: its request may be in flight).
//! - A cas or append writes only with the version it read, so it is
//!   atomic at the leader even when its read was stale.
//! - A value is stored as canonical JSON ([`codec`](super::codec)), so
//!   comparing values compares what was written.

use std::{net::SocketAddr, sync::Mutex, time::Duration};

use serde_json::Value;
use workloads::{OpKind, OpRequest};
use zookeeper_client as zk;

use super::{
    codec::{self, CodecError, ROOT},
    errors::{breaks_session, write_failure},
};
use crate::{
    BoxFuture,
    client::{Client, Completion},
};

/// How many times a write retries when a create or delete races with it,
/// and an append when another append does.
const ATTEMPTS: usize = 8;

/// Idle sessions kept per node (more are closed).
const MAX_IDLE: usize = 64;

/// A client of one ZooKeeper server.
#[derive(Debug)]
pub struct ZkClient {
    addr: SocketAddr,
    timeout: Duration,
    session_timeout: Duration,
    sync_reads: bool,
    idle: Mutex<Vec<zk::Client>>,
}

/// How one attempt at an operation ended, before it is a [`Completion`].
enum Failure {
    /// ZooKeeper (or the client library) said no.
    Zk(zk::Error),
    /// The key or value cannot be stored, or a stored value cannot be read:
    /// decided before any write was sent.
    Codec(CodecError),
}

impl From<zk::Error> for Failure {
    fn from(error: zk::Error) -> Self {
        Failure::Zk(error)
    }
}

impl From<CodecError> for Failure {
    fn from(error: CodecError) -> Self {
        Failure::Codec(error)
    }
}

impl ZkClient {
    /// A client of the server whose client port is `addr`; every operation
    /// gets `timeout`. Sessions ask for `session_timeout` (the servers
    /// grant 2 to 20 ticks).
    pub fn new(addr: SocketAddr, timeout: Duration, session_timeout: Duration) -> Self {
        Self {
            addr,
            timeout,
            session_timeout,
            sync_reads: false,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The server it talks to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Precede every read with a `sync` (see the module docs).
    pub fn sync_reads(mut self, sync: bool) -> Self {
        self.sync_reads = sync;
        self
    }

    /// Runs one operation and says how it ended.
    pub async fn run(&self, op: &OpRequest) -> Completion {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let session = match tokio::time::timeout_at(deadline, self.session()).await {
            Ok(Ok(session)) => session,
            // No session, so no request was sent: even a write did not
            // happen.
            Ok(Err(e)) => return Completion::Fail(format!("cannot open a session: {e}")),
            Err(_) => return Completion::Fail("timeout opening a session".into()),
        };
        let Ok((completion, reusable)) =
            tokio::time::timeout_at(deadline, self.perform(&session, op)).await
        else {
            // The session may still carry the request: never reuse it.
            return if op.f == OpKind::Read {
                Completion::Fail("timeout".into())
            } else {
                Completion::Info("timeout".into())
            };
        };
        if reusable {
            self.put_back(session);
        }
        completion
    }

    /// An idle connected session, or a new one.
    async fn session(&self) -> Result<zk::Client, zk::Error> {
        if let Some(session) = self.take_idle() {
            return Ok(session);
        }
        zk::Client::connector()
            .with_session_timeout(self.session_timeout)
            // One server: say so at once when it refuses, instead of
            // retrying it until the session timeout.
            .with_fail_eagerly()
            .connect(&self.addr.to_string())
            .await
    }

    fn take_idle(&self) -> Option<zk::Client> {
        let mut idle = self.idle.lock().expect("the pool lock is never poisoned");
        // Sessions that lost their connection since are dropped here.
        while let Some(session) = idle.pop() {
            if session.state() == zk::SessionState::SyncConnected {
                return Some(session);
            }
        }
        None
    }

    fn put_back(&self, session: zk::Client) {
        let mut idle = self.idle.lock().expect("the pool lock is never poisoned");
        if idle.len() < MAX_IDLE {
            idle.push(session);
        }
    }

    /// Runs `op` on `session`: its completion, and whether the session may
    /// serve another operation.
    async fn perform(&self, session: &zk::Client, op: &OpRequest) -> (Completion, bool) {
        let is_read = op.f == OpKind::Read;
        // Not a `match`: an operation added to `OpKind` later is answered
        // with a definite fail (nothing was sent) until it is mapped here.
        let result = if is_read {
            self.read(session, &op.key).await.map(Completion::Ok)
        } else if op.f == OpKind::Write {
            write(session, &op.key, &op.value).await
        } else if op.f == OpKind::Cas {
            cas(session, &op.key, &op.value).await
        } else if op.f == OpKind::Append {
            append(session, &op.key, &op.value).await
        } else {
            Ok(Completion::Fail(format!(
                "{} is unsupported by zookeeper",
                op.f.as_str()
            )))
        };
        match result {
            Ok(completion) => (completion, true),
            Err(Failure::Codec(e)) => (Completion::Fail(e.to_string()), true),
            Err(Failure::Zk(e)) => {
                let completion = if is_read {
                    Completion::Fail(e.to_string())
                } else {
                    write_failure(&e)
                };
                (completion, !breaks_session(&e))
            }
        }
    }

    /// The value of `key` (`null` if absent).
    async fn read(&self, session: &zk::Client, key: &str) -> Result<Value, Failure> {
        let path = codec::znode(key)?;
        if self.sync_reads {
            // Requests are sent when their futures are made and a session's
            // requests are served in order, so the read waits for the sync
            // without a round trip of its own.
            let sync = session.sync(&path);
            let get = session.get_data(&path);
            let (synced, got) = futures::join!(sync, get);
            synced?;
            return value_of(got);
        }
        value_of(session.get_data(&path).await)
    }
}

impl Client for ZkClient {
    fn invoke<'a>(&'a self, op: &'a OpRequest) -> BoxFuture<'a, Completion> {
        Box::pin(self.run(op))
    }
}

/// The value a `getData` found (`null` when the znode is absent).
fn value_of(got: Result<(Vec<u8>, zk::Stat), zk::Error>) -> Result<Value, Failure> {
    Ok(current(got)?.0)
}

/// The value a `getData` found and the version to write it back with
/// (`None`: absent, create it).
fn current(got: Result<(Vec<u8>, zk::Stat), zk::Error>) -> Result<(Value, Option<i32>), Failure> {
    match got {
        Ok((data, stat)) => Ok((codec::decode(&data)?, Some(stat.version))),
        Err(zk::Error::NoNode) => Ok((Value::Null, None)),
        Err(e) => Err(e.into()),
    }
}

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// Creates `path` holding `data`, creating [`ROOT`] first if it is
/// missing. Creating the root changes no key, so an error there still
/// means the key's create was not sent.
async fn create(session: &zk::Client, path: &str, data: &[u8]) -> Result<(), zk::Error> {
    match session.create(path, data, &persistent()).await {
        Err(zk::Error::NoNode) => {
            match session.create(ROOT, b"", &persistent()).await {
                Ok(_) | Err(zk::Error::NodeExists) => {}
                Err(e) => return Err(e),
            }
            session.create(path, data, &persistent()).await.map(|_| ())
        }
        other => other.map(|_| ()),
    }
}

/// `key` := `value` whatever it held.
async fn write(session: &zk::Client, key: &str, value: &Value) -> Result<Completion, Failure> {
    let path = codec::znode(key)?;
    if value.is_null() {
        return match session.delete(&path, None).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(Completion::Ok(Value::Null)),
            Err(e) => Err(e.into()),
        };
    }
    let data = codec::encode(value)?;
    // Each failed attempt is a definite no-op (the node was absent for
    // setData, present for create), so running out is a definite fail.
    for _ in 0..ATTEMPTS {
        match session.set_data(&path, &data, None).await {
            Ok(_) => return Ok(Completion::Ok(value.clone())),
            Err(zk::Error::NoNode) => {}
            Err(e) => return Err(e.into()),
        }
        match create(session, &path, &data).await {
            Ok(()) => return Ok(Completion::Ok(value.clone())),
            Err(zk::Error::NodeExists) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Completion::Fail(format!(
        "write raced with creates and deletes {ATTEMPTS} times (nothing was written)"
    )))
}

/// `key` := `to` if it holds `from` (`[from, to]` in `swap`).
async fn cas(session: &zk::Client, key: &str, swap: &Value) -> Result<Completion, Failure> {
    let (Some(from), Some(to)) = (swap.get(0), swap.get(1)) else {
        return Ok(Completion::Fail("cas needs [from, to]".into()));
    };
    let path = codec::znode(key)?;
    let (value, version) = current(session.get_data(&path).await)?;
    if value != *from {
        return Ok(Completion::Fail("cas-mismatch".into()));
    }
    let written = match (version, to.is_null()) {
        (Some(version), false) => session
            .set_data(&path, &codec::encode(to)?, Some(version))
            .await
            .map(|_| ()),
        (Some(version), true) => session.delete(&path, Some(version)).await,
        (None, false) => create(session, &path, &codec::encode(to)?).await,
        (None, true) => return still_absent(session, &path).await,
    };
    match written {
        Ok(()) => Ok(Completion::Ok(swap.clone())),
        // The version moved, or someone created it: the compare lost.
        Err(zk::Error::BadVersion | zk::Error::NodeExists | zk::Error::NoNode) => {
            Ok(Completion::Fail("cas-mismatch".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// cas `null` -> `null` on a key the (possibly stale) read found absent:
/// it succeeds only if the key is absent at the leader, which a `multi`
/// holding one existence check tells without changing anything.
async fn still_absent(session: &zk::Client, path: &str) -> Result<Completion, Failure> {
    let mut check = session.new_multi_writer();
    check.add_check_version(path, -1)?;
    match check.commit().await {
        Ok(_) => Ok(Completion::Fail("cas-mismatch".into())),
        Err(zk::MultiWriteError::OperationFailed {
            source: zk::Error::NoNode,
            ..
        }) => Ok(Completion::Ok(Value::Array(vec![Value::Null, Value::Null]))),
        Err(e) => Err(zk::Error::from(e).into()),
    }
}

/// Appends `element` to the list at `key`.
async fn append(session: &zk::Client, key: &str, element: &Value) -> Result<Completion, Failure> {
    let path = codec::znode(key)?;
    for _ in 0..ATTEMPTS {
        // Every earlier attempt lost its race (a definite no-op), so an
        // error here still means nothing was appended.
        let (value, version) = current(session.get_data(&path).await)?;
        let list = match value {
            Value::Null => vec![element.clone()],
            Value::Array(mut items) => {
                items.push(element.clone());
                items
            }
            _ => return Ok(Completion::Fail("not-a-list".into())),
        };
        let data = codec::encode(&Value::Array(list))?;
        let written = match version {
            Some(version) => session
                .set_data(&path, &data, Some(version))
                .await
                .map(|_| ()),
            None => create(session, &path, &data).await,
        };
        match written {
            Ok(()) => return Ok(Completion::Ok(element.clone())),
            Err(zk::Error::BadVersion | zk::Error::NodeExists | zk::Error::NoNode) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Completion::Fail(format!(
        "append lost the race {ATTEMPTS} times (nothing was appended)"
    )))
}
