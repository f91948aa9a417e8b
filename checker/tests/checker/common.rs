//! Helpers shared by the test modules.

use checker::{Event, EventKind, History, Process};
use serde_json::Value;

/// A terse event builder: `(process, kind, f, value)` in history order.
pub fn events(rows: &[(u64, &str, &str, Value)]) -> Vec<Event> {
    rows.iter()
        .enumerate()
        .map(|(i, (p, kind, f, v))| {
            let kind = match *kind {
                "invoke" => EventKind::Invoke,
                "ok" => EventKind::Ok,
                "fail" => EventKind::Fail,
                "info" => EventKind::Info,
                other => panic!("bad kind {other}"),
            };
            let mut e = Event::new(i as u64, i as u64 * 1000, Process::Client(*p), kind, f);
            e.value = v.clone();
            e
        })
        .collect()
}

/// A history from [`events`].
pub fn history(rows: &[(u64, &str, &str, Value)]) -> History {
    History::from_events(events(rows)).expect("test history pairs")
}
