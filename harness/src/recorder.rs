//! The history recorder: every operation and fault event, streamed to
//! `history.jsonl` as the run goes.
//!
//! Invariants:
//! - Lines are written in the order events happen; `index` counts lines
//!   and `time` is nanoseconds since the run started (monotonic).
//! - The buffer is flushed at least every [`FLUSH_EVERY`] (by the run's
//!   flusher task) and at the end, so a run that dies leaves a checkable
//!   history behind (at worst its last line is cut short).

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use checker::{Event, EventKind, Process};
use faults::FaultEvent;
use serde_json::Value;
use workloads::OpRequest;

use systems::Completion;

pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Counts shown by the progress line.
#[derive(Default)]
pub struct Counters {
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
}

pub struct Recorder {
    start: Instant,
    inner: Mutex<Inner>,
    pub counters: Counters,
}

struct Inner {
    writer: BufWriter<File>,
    next_index: u64,
    /// The first write error. It stays: every later event is lost, and the
    /// run's verdict must say its history has a hole.
    error: Option<String>,
}

impl Recorder {
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let file = File::create(path)?;
        Ok(Recorder {
            start: Instant::now(),
            inner: Mutex::new(Inner {
                writer: BufWriter::with_capacity(1 << 16, file),
                next_index: 0,
                error: None,
            }),
            counters: Counters::default(),
        })
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records that `process` invokes `op` against `node`.
    pub fn invoke(&self, process: u64, op: &OpRequest, node: &str, is_final: bool) {
        self.write(|index, time| {
            let mut event = Event::new(
                index,
                time,
                Process::Client(process),
                EventKind::Invoke,
                op.f.as_str(),
            );
            event.key = op.history_key().map(str::to_owned);
            event.value = op.value.clone();
            event.node = Some(node.to_owned());
            event.is_final = is_final;
            event
        });
    }

    /// Records how `process`'s operation `op` ended.
    pub fn complete(
        &self,
        process: u64,
        op: &OpRequest,
        node: &str,
        completion: &Completion,
        is_final: bool,
    ) {
        let (kind, value, error) = match completion {
            Completion::Ok(value) => (EventKind::Ok, value.clone(), None),
            Completion::Fail(e) => (EventKind::Fail, op.value.clone(), Some(e.clone())),
            Completion::Info(e) => (EventKind::Info, op.value.clone(), Some(e.clone())),
        };
        let counter = match kind {
            EventKind::Ok => &self.counters.ok,
            EventKind::Fail => &self.counters.fail,
            _ => &self.counters.info,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.write(|index, time| {
            let mut event = Event::new(index, time, Process::Client(process), kind, op.f.as_str());
            event.key = op.history_key().map(str::to_owned);
            event.value = value;
            event.error = error;
            event.node = Some(node.to_owned());
            event.is_final = is_final;
            event
        });
    }

    /// Records a fault's start or stop.
    pub fn nemesis(&self, fault: &FaultEvent) {
        let value = serde_json::to_value(&fault.value).unwrap_or(Value::Null);
        self.write(|index, time| {
            let mut event = Event::new(
                index,
                time,
                Process::Nemesis,
                EventKind::Info,
                fault.f.as_str(),
            );
            event.value = value;
            event
        });
    }

    fn write(&self, build: impl FnOnce(u64, u64) -> Event) {
        let mut inner = self.inner.lock().expect("recorder lock is never poisoned");
        if inner.error.is_some() {
            return;
        }
        // Time is taken under the lock so that it never decreases along
        // the file.
        let time = self.start.elapsed().as_nanos() as u64;
        let event = build(inner.next_index, time);
        inner.next_index += 1;
        let line = serde_json::to_vec(&event).expect("events serialize");
        let result = inner
            .writer
            .write_all(&line)
            .and_then(|()| inner.writer.write_all(b"\n"));
        if let Err(e) = result {
            inner.error = Some(format!("event {}: {e}", inner.next_index - 1));
        }
    }

    /// Pushes buffered lines to the file. After the first failure, every
    /// call fails with it: no later line is written, and nothing pretends
    /// the history is whole.
    pub fn flush(&self) -> std::io::Result<()> {
        let mut inner = self.inner.lock().expect("recorder lock is never poisoned");
        if let Some(e) = &inner.error {
            return Err(std::io::Error::other(e.clone()));
        }
        if let Err(e) = inner.writer.flush() {
            inner.error = Some(format!("flush: {e}"));
            return Err(e);
        }
        Ok(())
    }

    /// Why the history is incomplete, if it is.
    pub fn failure(&self) -> Option<String> {
        self.inner
            .lock()
            .expect("recorder lock is never poisoned")
            .error
            .clone()
    }

    /// Records that `node` died outside the plan: a nemesis event `crash`
    /// (a moment, not a window), with how it ended and its log's end.
    pub fn crash(&self, crash: &checker::Crash) {
        let value = serde_json::json!({
            "fault": "crash",
            "nodes": [crash.node],
            "detail": { "status": crash.status, "log_tail": crash.log_tail },
        });
        self.write(|index, time| {
            let mut event = Event::new(index, time, Process::Nemesis, EventKind::Info, "crash");
            event.value = value;
            event
        });
    }

    /// Lines written so far.
    pub fn events(&self) -> u64 {
        self.inner
            .lock()
            .expect("recorder lock is never poisoned")
            .next_index
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use workloads::{OpKind, OpRequest};

    use super::*;

    #[test]
    fn a_write_failure_stays_and_is_reported() {
        // /dev/full fails every write with ENOSPC.
        let recorder = Recorder::create(Path::new("/dev/full")).expect("opens");
        let op = OpRequest {
            f: OpKind::Write,
            key: "k".into(),
            value: serde_json::json!("x".repeat(1000)),
        };
        // More than the buffer holds, so a write fails inside `write`.
        for p in 0..100 {
            recorder.invoke(p, &op, "n1", false);
        }
        assert!(recorder.flush().is_err());
        let failure = recorder.failure().expect("the failure is kept");
        assert!(failure.contains("No space left"), "{failure}");
        let before = recorder.events();
        recorder.invoke(200, &op, "n1", false);
        assert!(recorder.flush().is_err(), "a later flush fails too");
        assert_eq!(
            recorder.failure(),
            Some(failure),
            "the first failure is kept"
        );
        assert_eq!(
            recorder.events(),
            before,
            "nothing is recorded after a hole"
        );
    }
}
