//! Fault windows from nemesis events.
//!
//! A window opens at a nemesis event `"f":"start-KIND"` and closes at the
//! `"f":"stop-KIND"` with the same `value.id` (without ids: the oldest open
//! window of that kind). A window never closed extends to the end of the
//! history. A stop without a start (a node restarted after it died on its
//! own) is a window of zero length marked `orphan`; a nemesis event with
//! neither prefix (Jepsen's, or a `crash` the harness noticed) is a window
//! of zero length too.
//!
//! This is the only pairing of nemesis events: the stats, the report's
//! bands and its fault table all read these windows.
//!
//! Invariant: windows are in order of their start events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::History;

/// One fault, from its start to its stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// `value.id` of the start event, if any.
    pub id: Option<u64>,
    /// `value.fault`, else the `f` after `start-` (partition, loss, kill,
    /// pause, ...).
    pub fault: String,
    /// `value.nodes`, if any.
    pub nodes: Vec<String>,
    /// Start time (ns).
    pub start: u64,
    /// Stop time (ns), if the stop event exists.
    pub stop: Option<u64>,
    /// `stop`, or the end of the history.
    pub end: u64,
    /// Position of the start event in `History::events`.
    pub start_event: usize,
    /// Position of the stop event, if any.
    pub stop_event: Option<usize>,
    /// Time from `stop` to the first `ok` completion after it (ns); `None`
    /// without a stop or without an ok op after it.
    pub recovery: Option<u64>,
    /// `value.detail` of the start event (the grudge, per-node outcomes,
    /// ...).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
    /// A stop without a start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orphan: bool,
}

/// The fault windows of a history, with recovery times.
pub fn fault_windows(history: &History) -> Vec<FaultWindow> {
    let end_time = history.end_time();
    let mut windows: Vec<FaultWindow> = Vec::new();
    // (kind, id) -> index of the open window
    let mut open: BTreeMap<(String, Option<u64>), Vec<usize>> = BTreeMap::new();
    for (pos, e) in history.events.iter().enumerate() {
        if e.process != crate::Process::Nemesis {
            continue;
        }
        let id = e.value.get("id").and_then(Value::as_u64);
        let (phase, kind) = match e.f.split_once('-') {
            Some(("start", kind)) => (Some(true), kind),
            Some(("stop", kind)) => (Some(false), kind),
            _ => (None, e.f.as_str()),
        };
        let window = |stop: Option<u64>, orphan| FaultWindow {
            id,
            fault: e
                .value
                .get("fault")
                .and_then(Value::as_str)
                .unwrap_or(kind)
                .to_owned(),
            nodes: e
                .value
                .get("nodes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            start: e.time,
            stop,
            end: stop.unwrap_or(end_time),
            start_event: pos,
            stop_event: stop.map(|_| pos),
            recovery: None,
            detail: e.value.get("detail").cloned().unwrap_or(Value::Null),
            orphan,
        };
        match phase {
            Some(true) => {
                open.entry((kind.to_owned(), id))
                    .or_default()
                    .push(windows.len());
                windows.push(window(None, false));
            }
            Some(false) => match open.get_mut(&(kind.to_owned(), id)) {
                Some(list) if !list.is_empty() => {
                    let w = &mut windows[list.remove(0)];
                    w.stop = Some(e.time);
                    w.end = e.time;
                    w.stop_event = Some(pos);
                }
                _ => windows.push(window(Some(e.time), true)),
            },
            None => windows.push(window(Some(e.time), false)),
        }
    }
    // Recovery: first ok completion at or after each stop.
    let mut ok_returns: Vec<u64> = history
        .ops
        .iter()
        .filter(|o| o.outcome == crate::Outcome::Ok)
        .filter_map(|o| o.return_time)
        .collect();
    ok_returns.sort_unstable();
    for w in &mut windows {
        if let Some(stop) = w.stop {
            let i = ok_returns.partition_point(|&t| t < stop);
            w.recovery = ok_returns.get(i).map(|&t| t - stop);
        }
    }
    windows
}
