//! [`History`]: the events of a run plus the client operations paired
//! from them.
//!
//! Pairing rules (per client process, in event order):
//! - an `invoke` opens an operation; a second `invoke` while one is open is
//!   an error naming both;
//! - the next `ok`/`fail`/`info` of that process closes it, and must name
//!   the same `f` and `key`;
//! - a completion without an open invocation is an error;
//! - invocations still open at the end count as `info` (a warning says how
//!   many);
//! - nemesis events are never paired.
//!
//! Invariant: `ops` is sorted by invocation position.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{
    error::{HistoryError, Location, Problem, Warning},
    event::{Event, EventKind, Process},
    op::{Op, Outcome},
};

/// A run's events and the client operations paired from them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Every event, in the order it happened.
    pub events: Vec<Event>,
    /// Client operations, sorted by invocation position.
    pub ops: Vec<Op>,
}

impl History {
    /// Pairs `events` into operations. Errors name the event's position in
    /// `events`.
    pub fn from_events(events: Vec<Event>) -> Result<History, HistoryError> {
        History::from_events_with_warnings(events).map(|(h, _)| h)
    }

    /// Like [`History::from_events`], also returning warnings (unfinished
    /// invocations).
    pub fn from_events_with_warnings(
        events: Vec<Event>,
    ) -> Result<(History, Vec<Warning>), HistoryError> {
        pair(events, Location::Event)
            .map_err(|(position, problem)| HistoryError::Event { position, problem })
    }

    /// The nemesis events, in order.
    pub fn nemesis_events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(|e| e.process == Process::Nemesis)
    }

    /// Time of the last event, or 0 for an empty history.
    pub fn end_time(&self) -> u64 {
        self.events.iter().map(|e| e.time).max().unwrap_or(0)
    }
}

/// Pairs events into a [`History`]; on error returns the position of the
/// offending event. `loc` turns positions into locations for messages.
pub(crate) fn pair(
    events: Vec<Event>,
    loc: impl Fn(usize) -> Location,
) -> Result<(History, Vec<Warning>), (usize, Box<Problem>)> {
    // process -> index into `ops` of its open op
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops: Vec<Op> = Vec::with_capacity(events.len() / 2);
    for (pos, e) in events.iter().enumerate() {
        let Process::Client(process) = e.process else {
            continue;
        };
        match e.kind {
            EventKind::Invoke => {
                if let Some(&o) = open.get(&process) {
                    let prev = &ops[o];
                    return Err((
                        pos,
                        Box::new(Problem::DoubleInvoke {
                            process,
                            f: e.f.clone(),
                            open_f: prev.f.clone(),
                            open: loc(prev.invoke),
                        }),
                    ));
                }
                open.insert(process, ops.len());
                ops.push(Op {
                    process,
                    f: e.f.clone(),
                    key: e.key.clone(),
                    invoke: pos,
                    complete: None,
                    outcome: Outcome::Info,
                    call_time: e.time,
                    return_time: None,
                    input: e.value.clone(),
                    output: Value::Null,
                    node: e.node.clone(),
                });
            }
            EventKind::Ok | EventKind::Fail | EventKind::Info => {
                let Some(o) = open.remove(&process) else {
                    return Err((
                        pos,
                        Box::new(Problem::NoInvocation {
                            process,
                            f: e.f.clone(),
                            kind: e.kind,
                        }),
                    ));
                };
                let op = &mut ops[o];
                if op.f != e.f || (e.key.is_some() && op.key != e.key) {
                    return Err((
                        pos,
                        Box::new(Problem::Mismatch {
                            process,
                            f: e.f.clone(),
                            key: e.key.clone(),
                            open_f: op.f.clone(),
                            open_key: op.key.clone(),
                            open: loc(op.invoke),
                        }),
                    ));
                }
                op.complete = Some(pos);
                op.outcome = match e.kind {
                    EventKind::Ok => Outcome::Ok,
                    EventKind::Fail => Outcome::Fail,
                    _ => Outcome::Info,
                };
                op.return_time = Some(e.time);
                op.output = e.value.clone();
                if op.node.is_none() {
                    op.node = e.node.clone();
                }
            }
        }
    }
    let mut warnings = Vec::new();
    if let Some(first) = open.values().map(|&o| ops[o].invoke).min() {
        warnings.push(Warning::Unfinished {
            count: open.len(),
            first: loc(first),
        });
    }
    Ok((History { events, ops }, warnings))
}
