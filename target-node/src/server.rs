//! The HTTP server: accepts connections within limits and serves each with
//! hyper's HTTP/1.1 connection, bounded in time.
//!
//! axum's own `serve` has no header-read or idle timeout and no connection
//! limit, so this module runs the accept loop itself, with hyper and
//! hyper-util (the crates axum's `serve` is built on). Invariants:
//! - at most `max_connections` connections are served at once, and at most
//!   `max_connections_per_ip` from one source address; a connection over
//!   either limit is closed as soon as it is accepted, so that it neither
//!   waits in the kernel's backlog nor costs more than a socket;
//! - a connection that does not deliver a complete request head within
//!   `idle_timeout` (at its start or between keep-alive requests) is
//!   closed; request bodies are bounded by the handlers (`api/body.rs`);
//! - a request head is at most [`MAX_HEAD_BYTES`]; a larger one is
//!   answered by hyper itself (431, without a body) and the connection
//!   closed.
//!
//! On shutdown the loop stops accepting, asks every connection to finish
//! its current request, and waits at most [`SHUTDOWN_GRACE`] for them.

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

/// Connection limits and timeouts (see the flags of the same names).
#[derive(Clone, Debug)]
pub struct ServerLimits {
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
}

/// Largest request head (request line and headers). hyper's minimum is
/// 8 KiB; [`crate::limits::URI_MAX_BYTES`] plus ordinary headers fit well.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long connections may take to finish their requests at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// File descriptors kept for the node's own use (storage files, outgoing
/// connections to peers and leaders) when deriving the connection limit
/// from the open-file limit.
const RESERVED_FDS: u64 = 256;
/// How long to pause accepting after the process ran out of descriptors.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// Refused connections are logged at most this often.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Counts open connections, in total and per source address.
struct Occupancy {
    limits: ServerLimits,
    open: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
struct Slot {
    occupancy: Arc<Occupancy>,
    ip: IpAddr,
}

impl Occupancy {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().expect("occupancy lock is never poisoned");
        let from_ip = open.per_ip.get(&ip).copied().unwrap_or(0);
        if open.total >= self.limits.max_connections
            || from_ip >= self.limits.max_connections_per_ip
        {
            return None;
        }
        open.total += 1;
        open.per_ip.insert(ip, from_ip + 1);
        Some(Slot {
            occupancy: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .occupancy
            .open
            .lock()
            .expect("occupancy lock is never poisoned");
        open.total -= 1;
        if let Some(count) = open.per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
    }
}

/// The soft open-file limit of this process, if it can be read.
fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which outlives it.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (status == 0).then_some(limit.rlim_cur)
}

/// Lowers `limits.max_connections` below the open-file limit, so that the
/// limit is reached before the process runs out of descriptors.
pub fn fit_to_open_file_limit(mut limits: ServerLimits) -> ServerLimits {
    let Some(fds) = open_file_limit() else {
        return limits;
    };
    let usable = usize::try_from(fds.saturating_sub(RESERVED_FDS))
        .unwrap_or(usize::MAX)
        .max(1);
    if limits.max_connections > usable {
        tracing::warn!(
            max_connections = limits.max_connections,
            open_file_limit = fds,
            using = usable,
            "--max-connections exceeds what the open-file limit allows; lowering it"
        );
        limits.max_connections = usable;
        limits.max_connections_per_ip = limits.max_connections_per_ip.min(usable);
    }
    limits
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let occupancy = Arc::new(Occupancy {
        limits: limits.clone(),
        open: Mutex::default(),
    });
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut last_refusal_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (or a connection reset while queued):
                // pause briefly rather than spin, then go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Some(slot) = occupancy.admit(peer.ip()) else {
            drop(stream);
            if last_refusal_log.is_none_or(|at| at.elapsed() >= REFUSAL_LOG_INTERVAL) {
                last_refusal_log = Some(Instant::now());
                tracing::warn!(%peer, "connection limit reached; closing new connections");
            }
            continue;
        };
        connections.spawn(serve_connection(
            stream,
            router.clone(),
            limits.idle_timeout,
            stopping.clone(),
            slot,
        ));
    }
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::info!(
            remaining = connections.len(),
            "closing connections that did not finish in time"
        );
        connections.shutdown().await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    idle_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
    _slot: Slot,
) {
    // Small requests and replies: send them at once.
    let _ = stream.set_nodelay(true);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(idle_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        // `is_ok()` drops the watch guard before the await below.
        _stopped = async { stopping.wait_for(|stop| *stop).await.is_ok() } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Timeouts, resets and malformed requests are the client's doing.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occupancy(total: usize, per_ip: usize) -> Arc<Occupancy> {
        Arc::new(Occupancy {
            limits: ServerLimits {
                idle_timeout: Duration::from_secs(1),
                max_connections: total,
                max_connections_per_ip: per_ip,
            },
            open: Mutex::default(),
        })
    }

    #[test]
    fn slots_are_limited_per_address_and_in_total_and_freed_on_drop() {
        let occupancy = occupancy(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let c: IpAddr = "127.0.0.3".parse().unwrap();
        let a1 = occupancy.admit(a).expect("first from a");
        let _a2 = occupancy.admit(a).expect("second from a");
        assert!(
            occupancy.admit(a).is_none(),
            "a third from a is over its share"
        );
        let _b1 = occupancy.admit(b).expect("first from b");
        assert!(occupancy.admit(c).is_none(), "over the total");
        drop(a1);
        assert!(occupancy.admit(c).is_some(), "a freed place is reused");
        assert!(
            !occupancy.open.lock().unwrap().per_ip.contains_key(&c),
            "a dropped slot forgets its address"
        );
    }
}
