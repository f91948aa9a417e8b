//! [`Delayer`]: the thread that holds a namespace's queued packets for
//! their delay, then lets them go on.
//!
//! Owns one thread per network namespace that has slow rules. The thread
//! joins the namespace (`setns`) before opening its queue socket, so it
//! serves exactly that namespace's queue. Each packet it receives gets a
//! release time (`now + delay ± jitter`, never before the previous
//! packet's unless reordering is allowed); when that time comes, the
//! packet's verdict is `NF_REPEAT` with [`super::SLOW_MARK`] set: it
//! traverses `INPUT` again from the first rule, so a partition installed
//! meanwhile still drops it, and the slow rule (which skips marked
//! packets) does not queue it twice.
//!
//! Invariants:
//! - A delayer starts only in a namespace that passes
//!   [`NetNamespace::ensure_private`].
//! - Stopping releases every held packet at once before unbinding: a heal
//!   never drops what was in flight.
//! - The thread wakes at least every [`TICK`], so a stop takes effect
//!   within it; `Drop` stops and joins.

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::{
    QUEUE_NUM, SLOW_MARK, SlowParams,
    netlink::{NF_REPEAT, QueueSocket, QueuedPacket},
};
use crate::{FaultError, netns::NetNamespace};

/// The longest the thread sleeps without checking for a stop.
pub const TICK: Duration = Duration::from_millis(10);
/// How long starting a delayer may take.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// What a delayer did, for logs and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DelayStats {
    /// Packets held and released.
    pub delayed: u64,
    /// Packets released early because the delayer stopped.
    pub released_at_stop: u64,
    /// The most packets held at once.
    pub max_held: usize,
    /// Failed receives or verdicts (each may have cost packets).
    pub errors: u64,
}

struct Shared {
    params: Mutex<SlowParams>,
    stop: AtomicBool,
    stats: Mutex<DelayStats>,
}

/// A running delay thread for one namespace's queue.
pub struct Delayer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Delayer {
    /// Start delaying the packets of queue [`QUEUE_NUM`] in `namespace` (holding at
    /// most `max_held`; the kernel drops the rest) with `params`. Returns
    /// once the queue is bound, or with the reason it could not be.
    pub fn start(
        namespace: &NetNamespace,
        max_held: u32,
        params: SlowParams,
    ) -> Result<Self, FaultError> {
        let queue = QUEUE_NUM;
        namespace.ensure_private()?;
        let shared = Arc::new(Shared {
            params: Mutex::new(params),
            stop: AtomicBool::new(false),
            stats: Mutex::new(DelayStats::default()),
        });
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = {
            let shared = shared.clone();
            let namespace = namespace.clone();
            std::thread::Builder::new()
                .name("faults-delayer".into())
                .spawn(move || {
                    let socket = join(&namespace).and_then(|()| QueueSocket::bind(queue, max_held));
                    match socket {
                        Ok(socket) => {
                            let _ = ready_tx.send(Ok(()));
                            run(socket, &shared);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                })
                .map_err(|e| FaultError::io("starting a delayer thread", e))?
        };
        let ready = ready_rx.recv_timeout(START_TIMEOUT);
        let mut delayer = Self {
            shared,
            thread: Some(thread),
        };
        match ready {
            Ok(Ok(())) => Ok(delayer),
            Ok(Err(e)) => {
                delayer.stop();
                Err(FaultError::PacketQueue {
                    detail: format!("cannot bind queue {queue} in {}: {e}", namespace.id()),
                })
            }
            Err(_) => {
                delayer.shared.stop.store(true, Ordering::SeqCst);
                Err(FaultError::PacketQueue {
                    detail: format!(
                        "binding queue {queue} in {} took longer than {START_TIMEOUT:?}",
                        namespace.id()
                    ),
                })
            }
        }
    }

    /// Use `params` for packets received from now on.
    pub fn set_params(&self, params: SlowParams) {
        *self.shared.params.lock().unwrap_or_else(|p| p.into_inner()) = params;
    }

    /// What it has done so far.
    pub fn stats(&self) -> DelayStats {
        *self.shared.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Release everything held, unbind and join the thread.
    pub fn stop(&mut self) -> DelayStats {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("a delayer thread panicked");
        }
        self.stats()
    }
}

impl Drop for Delayer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Move the calling thread (only) into `namespace`.
fn join(namespace: &NetNamespace) -> std::io::Result<()> {
    // SAFETY: setns takes a descriptor that `namespace` keeps open for the
    // call, and changes only the calling thread's namespace.
    if unsafe { libc::setns(namespace.raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A held packet, ordered by release time, then arrival.
type Held = Reverse<(Instant, u64, u32, u32)>;

/// The thread's loop: receive, hold, release; at stop, release all.
fn run(mut socket: QueueSocket, shared: &Shared) {
    let seed = shared.params.lock().map_or(0, |p| p.seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut held: BinaryHeap<Held> = BinaryHeap::new();
    let mut arrivals = Vec::new();
    let mut last_release = Instant::now();
    let mut sequence = 0u64;
    let count_error = |what: &str, e: std::io::Error| {
        tracing::warn!(error = %e, "delayer {what} failed");
        if let Ok(mut s) = shared.stats.lock() {
            s.errors += 1;
        }
    };
    loop {
        let stopping = shared.stop.load(Ordering::SeqCst);
        if let Err(e) = socket.receive(&mut arrivals) {
            count_error("receive", e);
        }
        if !arrivals.is_empty() {
            let params = *shared.params.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            for packet in arrivals.drain(..) {
                let mut release = now + params.sample(&mut rng);
                if !params.reorder {
                    release = release.max(last_release);
                }
                last_release = last_release.max(release);
                sequence += 1;
                held.push(Reverse((release, sequence, packet.id, packet.mark)));
            }
            if let Ok(mut s) = shared.stats.lock() {
                s.max_held = s.max_held.max(held.len());
            }
        }
        let now = Instant::now();
        let mut due = Vec::new();
        while let Some(Reverse((at, _, id, mark))) = held.peek().copied() {
            if at > now && !stopping {
                break;
            }
            held.pop();
            due.push(QueuedPacket { id, mark });
        }
        if !due.is_empty() {
            let released = due.len() as u64;
            if let Err(e) = socket.verdicts(due, NF_REPEAT, SLOW_MARK) {
                count_error("verdict", e);
            }
            if let Ok(mut s) = shared.stats.lock() {
                s.delayed += released;
                if stopping {
                    s.released_at_stop += released;
                }
            }
        }
        if stopping {
            if let Err(e) = socket.unbind() {
                count_error("unbind", e);
            }
            return;
        }
        let wait = held
            .peek()
            .map_or(TICK, |Reverse((at, ..))| at.saturating_duration_since(now))
            .min(TICK);
        poll_readable(socket.raw_fd(), wait);
    }
}

/// Wait up to `wait` for `fd` to become readable.
fn poll_readable(fd: std::os::fd::RawFd, wait: Duration) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // Round up: a zero timeout for a sub-millisecond wait would spin.
    let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `pfd` is one valid pollfd for the duration of the call.
    unsafe {
        libc::poll(&raw mut pfd, 1, ms);
    }
}

impl SlowParams {
    /// One packet's delay: `delay` plus a uniform draw in `±jitter`, never
    /// negative.
    pub(crate) fn sample(&self, rng: &mut StdRng) -> Duration {
        if self.jitter.is_zero() {
            return self.delay;
        }
        let jitter = self.jitter.as_nanos() as i128;
        let offset = rng.random_range(-jitter..=jitter);
        let nanos = (self.delay.as_nanos() as i128 + offset).max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}
