//! Where generated events go: JSON events, or the compact history.

use serde_json::{Value, json};

use crate::{
    history::{Event, EventKind, Outcome, Process},
    txn::{
        history::{BuildMop, TxnHistory, TxnSpec},
        intern::Val,
    },
};

use super::workload::{GenMop, GenTxn, Seen, Sink};

/// Builds JSON events.
#[derive(Default)]
pub(super) struct EventSink {
    pub(super) events: Vec<Event>,
    pub(super) ops: usize,
}

impl EventSink {
    fn json(txn: &GenTxn, with_reads: bool) -> Value {
        Value::Array(
            txn.mops
                .iter()
                .map(|m| match m {
                    GenMop::Append(k, v) => json!(["append", k, v]),
                    GenMop::Write(k, v) => json!(["w", k, v]),
                    GenMop::Read(k, seen) => {
                        let v = match (with_reads, seen) {
                            (true, Some(Seen::List(l))) => json!(l),
                            (true, Some(Seen::Value(v))) => json!(v),
                            _ => Value::Null,
                        };
                        json!(["r", k, v])
                    }
                })
                .collect(),
        )
    }
}

impl Sink for EventSink {
    fn invoke(&mut self, txn: &mut GenTxn, process: u64, time: u64, pos: usize) {
        txn.op = self.ops;
        txn.invoke_pos = pos;
        self.ops += 1;
        let mut e = Event::new(
            pos as u64,
            time,
            Process::Client(process),
            EventKind::Invoke,
            "txn",
        );
        e.value = EventSink::json(txn, false);
        self.events.push(e);
    }

    fn complete(&mut self, txn: &GenTxn, process: u64, outcome: Outcome, time: u64, pos: usize) {
        let kind = match outcome {
            Outcome::Ok => EventKind::Ok,
            Outcome::Fail => EventKind::Fail,
            Outcome::Info => EventKind::Info,
        };
        let mut e = Event::new(pos as u64, time, Process::Client(process), kind, "txn");
        e.value = EventSink::json(txn, outcome == Outcome::Ok);
        e.error = match outcome {
            Outcome::Ok => None,
            Outcome::Fail => Some("aborted".to_owned()),
            Outcome::Info => Some("timeout".to_owned()),
        };
        self.events.push(e);
    }
}

/// Builds the compact history directly.
pub(super) struct CompactSink {
    pub(super) h: TxnHistory,
    pub(super) invoked: usize,
    pub(super) buffers: Vec<Vec<Val>>,
}

impl Sink for CompactSink {
    fn invoke(&mut self, txn: &mut GenTxn, _process: u64, _time: u64, pos: usize) {
        txn.op = self.invoked;
        txn.invoke_pos = pos;
        self.invoked += 1;
    }

    fn complete(&mut self, txn: &GenTxn, process: u64, outcome: Outcome, _time: u64, pos: usize) {
        let mut keys = Vec::with_capacity(txn.mops.len());
        self.buffers.resize_with(txn.mops.len(), Vec::new);
        for (i, m) in txn.mops.iter().enumerate() {
            let (GenMop::Read(k, _) | GenMop::Append(k, _) | GenMop::Write(k, _)) = m;
            keys.push(self.h.intern_key(*k));
            self.buffers[i].clear();
            if let GenMop::Read(_, Some(Seen::List(l))) = m {
                for &e in l {
                    let v = self.h.intern_value(e);
                    self.buffers[i].push(v);
                }
            }
        }
        let mut mops = Vec::with_capacity(txn.mops.len());
        for (i, m) in txn.mops.iter().enumerate() {
            mops.push(match m {
                GenMop::Append(_, v) => BuildMop::Append(keys[i], self.h.intern_value(*v)),
                GenMop::Write(_, v) => BuildMop::Write(keys[i], self.h.intern_value(*v)),
                GenMop::Read(_, Some(Seen::Value(Some(v)))) => {
                    BuildMop::ReadValue(keys[i], self.h.intern_value(*v))
                }
                GenMop::Read(_, Some(Seen::Value(None))) => {
                    BuildMop::ReadValue(keys[i], crate::txn::intern::NIL)
                }
                GenMop::Read(_, _) => BuildMop::ReadList(keys[i], &self.buffers[i]),
            });
        }
        self.h.push_txn(TxnSpec {
            op: txn.op,
            process,
            outcome,
            invoke: txn.invoke_pos,
            complete: Some(pos),
            mops: &mops,
        });
    }
}
