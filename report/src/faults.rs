//! Fault bands: the fault windows of a history (paired once, by
//! `checker::stats::fault_windows`) with labels people can read
//! ("partition isolate-one: n1 n2 | n3", "kill n2", "pause n1", "loss
//! 20%", "clock n1 -5s", "slow n2 40ms ±10ms").
//!
//! Invariants:
//! - a window never closed stays open to the end of the history (`stop:
//!   None`); a stop without a start (a node restarted after dying on its
//!   own) and a one-off event (a crash the harness noticed) are bands of
//!   zero length;
//! - bands are sorted by start time, then id, so output is deterministic.

use std::collections::BTreeSet;

use checker::{History, stats::FaultWindow};
use serde_json::Value;

/// One fault as drawn: from its start to its stop, with a label.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultBand {
    /// The fault's id (`value.id`), if the event had one.
    pub id: Option<u64>,
    /// `partition`, `loss`, `kill`, `pause`, `crash` (or whatever the
    /// event says).
    pub kind: String,
    /// Start time (ns since the run started).
    pub start: u64,
    /// Stop time; `None` when the history ends before the fault does.
    pub stop: Option<u64>,
    /// Short label drawn on the plots.
    pub label: String,
    /// The nodes the fault affects.
    pub nodes: Vec<String>,
    /// Longer description (the full grudge, per-node outcomes).
    pub detail: String,
}

impl FaultBand {
    /// The CSS class of the band's kind (only known kinds get colours).
    pub fn css_class(&self) -> &'static str {
        match self.kind.as_str() {
            "partition" => "partition",
            "loss" => "loss",
            "kill" => "kill",
            "pause" => "pause",
            "crash" => "crash",
            "clock" => "clock",
            "slow" => "slow",
            "power-loss" => "power-loss",
            "fsync-error" => "fsync-error",
            "crash-at-fsync" => "crash-at-fsync",
            _ => "other",
        }
    }

    /// Tooltip text: label, interval and detail.
    pub fn tooltip(&self) -> String {
        let start = super::units::fmt_secs(super::units::secs(self.start));
        let stop = self.stop.map_or("the end".to_owned(), |s| {
            super::units::fmt_secs(super::units::secs(s))
        });
        let mut text = format!("{} from {start} to {stop}", self.label);
        if !self.detail.is_empty() {
            text += "\n";
            text += &self.detail;
        }
        text
    }
}

/// The fault bands of `history`.
pub fn fault_bands(history: &History) -> Vec<FaultBand> {
    bands(&checker::stats::fault_windows(history))
}

/// Bands of windows already paired.
pub fn bands(windows: &[FaultWindow]) -> Vec<FaultBand> {
    let mut bands: Vec<FaultBand> = windows.iter().map(band).collect();
    bands.sort_by_key(|w| (w.start, w.id));
    bands
}

fn band(w: &FaultWindow) -> FaultBand {
    let label = if w.orphan && w.fault == "kill" {
        format!("restart {} (died on its own)", w.nodes.join(" "))
    } else {
        label(&w.fault, &w.nodes, &w.detail)
    };
    FaultBand {
        id: w.id,
        kind: w.fault.clone(),
        start: w.start,
        stop: w.stop,
        label,
        nodes: w.nodes.clone(),
        detail: describe_detail(&w.detail),
    }
}

fn label(kind: &str, nodes: &[String], detail: &Value) -> String {
    match kind {
        "partition" => {
            let shape = detail.get("shape").and_then(Value::as_str);
            let cut = detail.get("grudge").map(partition_text).unwrap_or_default();
            match (shape, cut.is_empty()) {
                (Some(shape), false) => format!("partition {shape}: {cut}"),
                (Some(shape), true) => format!("partition {shape}"),
                (None, false) => format!("partition {cut}"),
                (None, true) => "partition".to_owned(),
            }
        }
        "loss" => match detail.get("probability").and_then(Value::as_f64) {
            Some(p) => format!("loss {:.0}%", p * 100.0),
            None => "loss".to_owned(),
        },
        "clock" => with_nodes(kind, nodes, detail.get("change").and_then(clock_text)),
        "slow" => slow_label(nodes, detail),
        "power-loss" => format!("power loss {}", nodes.join(" ")),
        "fsync-error" => format!("fsync EIO {}", nodes.join(" ")),
        "crash-at-fsync" => {
            let sites: Vec<String> = nodes
                .iter()
                .filter_map(|n| {
                    let site = detail.get("disk")?.get(n)?.get("crashed_at")?;
                    let path = site.get("path")?.as_str()?;
                    let nth = site.get("nth")?.as_u64()?;
                    Some(format!(
                        "{} #{nth}",
                        if path.is_empty() { "dir" } else { path }
                    ))
                })
                .collect();
            match sites.is_empty() {
                true => format!("crash at fsync {}", nodes.join(" ")),
                false => format!("crash at fsync {}: {}", nodes.join(" "), sites.join(", ")),
            }
        }
        _ if nodes.is_empty() => kind.to_owned(),
        _ => format!("{kind} {}", nodes.join(" ")),
    }
}

/// `kind n1 n2 what`, leaving out what is missing.
fn with_nodes(kind: &str, nodes: &[String], what: Option<String>) -> String {
    let mut label = kind.to_owned();
    for part in [nodes.join(" "), what.unwrap_or_default()] {
        if !part.is_empty() {
            label += " ";
            label += &part;
        }
    }
    label
}

/// A clock change as the history records it: `-5s`, `x0.5`, `strobe
/// ±200ms/50ms`.
fn clock_text(change: &Value) -> Option<String> {
    let ms = |v: &Value| v.get("delta_ms").and_then(Value::as_i64);
    let seconds = |ms: i64| {
        if ms % 1000 == 0 {
            format!("{:+}s", ms / 1000)
        } else {
            format!("{ms:+}ms")
        }
    };
    if let Some(offset) = change.get("offset") {
        return ms(offset).map(seconds);
    }
    if let Some(rate) = change.get("rate") {
        return rate
            .get("factor")
            .and_then(Value::as_f64)
            .map(|f| format!("x{f}"));
    }
    let strobe = change.get("strobe")?;
    let period = strobe.get("period_ms").and_then(Value::as_u64)?;
    Some(format!("strobe ±{}ms/{period}ms", ms(strobe)?.abs()))
}

/// `slow n2 40ms ±10ms`, or with links `slow n1–n2 n1–n3 40ms`.
fn slow_label(nodes: &[String], detail: &Value) -> String {
    let links: Vec<String> = detail
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let (to, from) = (pair.get(0)?.as_str()?, pair.get(1)?.as_str()?);
            // Both directions are listed; name each link once.
            (natural_cmp(from, to).is_lt()).then(|| format!("{from}–{to}"))
        })
        .collect();
    let delay = detail.get("delay_ms").and_then(Value::as_f64);
    let jitter = detail
        .get("jitter_ms")
        .and_then(Value::as_f64)
        .filter(|j| *j > 0.0);
    let what = delay.map(|d| match jitter {
        Some(j) => format!("{d:.0}ms ±{j:.0}ms"),
        None => format!("{d:.0}ms"),
    });
    if links.is_empty() {
        with_nodes("slow", nodes, what)
    } else {
        with_nodes("slow", &links, what)
    }
}

/// What each node's disk did in a disk fault: `n1: lost 8192 bytes in 2
/// files, 1 name undone`, `n2: crashed in fdatasync of log.redb (sync 3)`,
/// `n1: 12 syncs failed`.
fn describe_disks(detail: &Value, parts: &mut Vec<String>) {
    let Some(disks) = detail.get("disk").and_then(Value::as_object) else {
        return;
    };
    for (node, change) in disks {
        let count = |v: &Value, field: &str| v.get(field).and_then(Value::as_u64).unwrap_or(0);
        let mut said = Vec::new();
        if let Some(site) = change.get("crashed_at") {
            let call = match site.get("datasync").and_then(Value::as_bool) {
                Some(true) => "fdatasync",
                _ => "fsync",
            };
            let path = site.get("path").and_then(Value::as_str).unwrap_or("?");
            said.push(format!(
                "crashed in {call} of {} (sync {})",
                if path.is_empty() {
                    "the data directory"
                } else {
                    path
                },
                count(site, "nth")
            ));
        }
        if let Some(lost) = change.get("lost") {
            said.push(format!(
                "lost {} bytes in {} files, {} names undone",
                count(lost, "bytes_lost"),
                count(lost, "files_rolled_back"),
                count(lost, "names_undone")
            ));
        }
        if let Some(failed) = change.get("failed_syncs").and_then(Value::as_u64) {
            said.push(format!("{failed} syncs failed"));
        }
        if !said.is_empty() {
            parts.push(format!("{node}: {}", said.join(", ")));
        }
    }
}

/// The sides of a partition, `n1 n2 | n3`, when the grudge cuts the nodes
/// into groups that talk freely inside and not at all across; otherwise
/// the one-way cuts, `n1↛n3 n2↛n3`.
pub fn partition_text(grudge: &Value) -> String {
    let Some(map) = grudge.as_object() else {
        return String::new();
    };
    let mut nodes: BTreeSet<&str> = BTreeSet::new();
    let mut drops: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (node, dropped) in map {
        nodes.insert(node);
        for from in dropped.as_array().into_iter().flatten() {
            if let Some(from) = from.as_str() {
                nodes.insert(from);
                drops.insert((node.as_str(), from));
            }
        }
    }
    let talk = |a: &str, b: &str| !drops.contains(&(a, b)) && !drops.contains(&(b, a));
    // Groups: connected components of "talk both ways".
    let mut groups: Vec<Vec<&str>> = Vec::new();
    for &n in &nodes {
        match groups.iter().position(|g| g.iter().any(|&m| talk(n, m))) {
            Some(g) => groups[g].push(n),
            None => groups.push(vec![n]),
        }
    }
    let clean = groups.iter().enumerate().all(|(i, g)| {
        g.iter().all(|&a| g.iter().all(|&b| a == b || talk(a, b)))
            && groups.iter().skip(i + 1).all(|h| {
                g.iter().all(|&a| {
                    h.iter()
                        .all(|&b| drops.contains(&(a, b)) && drops.contains(&(b, a)))
                })
            })
    });
    if clean && groups.len() > 1 {
        let mut groups: Vec<String> = groups.iter().map(|g| natural_join(g)).collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.split(' ').count()));
        groups.join(" | ")
    } else {
        drops
            .iter()
            .map(|(a, b)| format!("{b}↛{a}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn natural_join(names: &[&str]) -> String {
    let mut names = names.to_vec();
    names.sort_by(|a, b| natural_cmp(a, b));
    names.join(" ")
}

/// Orders `n2` before `n10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| {
        let digits = s.trim_start_matches(|c: char| !c.is_ascii_digit());
        let prefix = &s[..s.len() - digits.len()];
        (prefix.to_owned(), digits.parse::<u64>().ok(), s.to_owned())
    };
    split(a).cmp(&split(b))
}

fn describe_detail(detail: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(grudge) = detail.get("grudge").and_then(Value::as_object) {
        let cuts: Vec<String> = grudge
            .iter()
            .filter_map(|(node, from)| {
                let from: Vec<&str> = from.as_array()?.iter().filter_map(Value::as_str).collect();
                (!from.is_empty()).then(|| format!("{node} drops {}", from.join(",")))
            })
            .collect();
        parts.push(cuts.join("; "));
    }
    if let Some(per_node) = detail.get("per_node").and_then(Value::as_object) {
        for (node, outcome) in per_node {
            let what = outcome
                .get("outcome")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let mut text = format!("{node}: {what}");
            if let Some(reason) = outcome.get("reason").and_then(Value::as_str) {
                text += &format!(" ({reason})");
            }
            if let Some(pid) = outcome.get("pid").and_then(Value::as_u64) {
                text += &format!(" pid {pid}");
            }
            parts.push(text);
        }
    }
    describe_disks(detail, &mut parts);
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use checker::{Event, EventKind, Process};

    use super::fault_bands as fault_windows;
    use serde_json::json;

    use super::*;

    fn nemesis(index: u64, time: u64, f: &str, value: Value) -> Event {
        let mut e = Event::new(index, time, Process::Nemesis, EventKind::Info, f);
        e.value = value;
        e
    }

    #[test]
    fn pairs_starts_and_stops_by_id() {
        let halves = json!({"id": 1, "fault": "partition", "nodes": ["n1","n2","n3"],
            "detail": {"grudge": {"n1": ["n3"], "n2": ["n3"], "n3": ["n1", "n2"]}, "shape": "halves"}});
        let pause = json!({"id": 2, "fault": "pause", "nodes": ["n1"],
            "detail": {"per_node": {"n1": {"outcome": "installed", "pid": 7}}}});
        let restart =
            json!({"id": 3, "fault": "kill", "nodes": ["n2"], "detail": {"per_node": {}}});
        let history = History::from_events(vec![
            nemesis(0, 1_000, "start-partition", halves.clone()),
            nemesis(1, 2_000, "start-pause", pause.clone()),
            nemesis(2, 3_000, "stop-partition", halves),
            nemesis(3, 4_000, "stop-kill", restart),
            nemesis(
                4,
                5_000,
                "start-pause",
                json!({"id": 4, "fault": "pause", "nodes": ["n3"]}),
            ),
            nemesis(5, 6_000, "stop-pause", pause),
        ])
        .unwrap();
        let w = fault_windows(&history);
        let summary: Vec<(&str, u64, Option<u64>)> = w
            .iter()
            .map(|w| (w.label.as_str(), w.start, w.stop))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("partition halves: n1 n2 | n3", 1_000, Some(3_000)),
                ("pause n1", 2_000, Some(6_000)),
                ("restart n2 (died on its own)", 4_000, Some(4_000)),
                ("pause n3", 5_000, None),
            ]
        );
        assert_eq!(w[1].detail, "n1: installed pid 7");
        assert!(w[0].tooltip().contains("n3 drops n1,n2"));
    }

    #[test]
    fn partitions_are_described_by_their_sides() {
        let cases = [
            (
                json!({"n1": ["n3"], "n2": ["n3"], "n3": ["n1", "n2"]}),
                "n1 n2 | n3",
            ),
            (
                json!({"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}),
                "n2 n3 | n1",
            ),
            // A one-way cut (majorities-ring edges): listed as such.
            (json!({"n1": ["n3"]}), "n3↛n1"),
            (json!({}), ""),
        ];
        for (grudge, want) in cases {
            assert_eq!(partition_text(&grudge), want, "{grudge}");
        }
    }

    #[test]
    fn disk_faults_say_what_each_disk_did() {
        let per_node = json!({"n2": {"outcome": "installed", "pid": 7}});
        let crash = json!({"id": 5, "fault": "crash-at-fsync", "nodes": ["n2"], "detail": {
        "per_node": per_node,
        "disk": {"n2": {
            "crashed_at": {"path": "log.redb", "datasync": true, "nth": 3, "syncs_before": 40},
            "lost": {"files_rolled_back": 1, "bytes_lost": 4096, "names_undone": 0},
        }}}});
        let errors = json!({"id": 6, "fault": "fsync-error", "nodes": ["n1"], "detail": {
            "per_node": {"n1": {"outcome": "installed"}}, "disk": {"n1": {"failed_syncs": 12}}}});
        let power = json!({"id": 7, "fault": "power-loss", "nodes": ["n1", "n2"], "detail": {
            "per_node": {}, "disk": {}}});
        let history = History::from_events(vec![
            nemesis(0, 1, "start-crash-at-fsync", crash),
            nemesis(1, 2, "stop-fsync-error", errors),
            nemesis(2, 3, "start-power-loss", power),
        ])
        .unwrap();
        let w = fault_windows(&history);
        let labels: Vec<(&str, &str)> = w
            .iter()
            .map(|w| (w.label.as_str(), w.css_class()))
            .collect();
        assert_eq!(
            labels,
            [
                ("crash at fsync n2: log.redb #3", "crash-at-fsync"),
                ("fsync EIO n1", "fsync-error"),
                ("power loss n1 n2", "power-loss"),
            ]
        );
        assert_eq!(
            w[0].detail,
            "n2: installed pid 7\n\
             n2: crashed in fdatasync of log.redb (sync 3), lost 4096 bytes in 1 files, 0 names undone"
        );
        assert!(
            w[1].detail.ends_with("n1: 12 syncs failed"),
            "{}",
            w[1].detail
        );
    }

    #[test]
    fn loss_and_natural_order() {
        let history = History::from_events(vec![nemesis(
            0,
            5,
            "start-loss",
            json!({"id": 9, "fault": "loss", "nodes": [], "detail": {"probability": 0.2}}),
        )])
        .unwrap();
        assert_eq!(fault_windows(&history)[0].label, "loss 20%");
        let mut names = vec!["n10", "n2", "n1"];
        assert!(fault_windows(&history)[0].css_class() == "loss");
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["n1", "n2", "n10"]);
    }

    #[test]
    fn clock_and_slow_bands_say_what_changed() {
        let clock = |id: u64, change: Value| {
            json!({"id": id, "fault": "clock", "nodes": ["n1"],
                "detail": {"change": change, "per_node": {"n1": {"outcome": "installed"}}}})
        };
        let slow = |id: u64, detail: Value| json!({"id": id, "fault": "slow", "nodes": ["n1", "n2"], "detail": detail});
        // (event value, label, css class)
        let table = [
            (
                clock(1, json!({"offset": {"delta_ms": -5000}})),
                "clock n1 -5s",
                "clock",
            ),
            (
                clock(2, json!({"offset": {"delta_ms": 250}})),
                "clock n1 +250ms",
                "clock",
            ),
            (
                clock(3, json!({"rate": {"factor": 0.5}})),
                "clock n1 x0.5",
                "clock",
            ),
            (
                clock(
                    4,
                    json!({"strobe": {"delta_ms": -200, "period_ms": 50, "duration_ms": 3000}}),
                ),
                "clock n1 strobe ±200ms/50ms",
                "clock",
            ),
            (
                slow(
                    5,
                    json!({"delay_ms": 40.0, "jitter_ms": 10.0, "reorder": false}),
                ),
                "slow n1 n2 40ms ±10ms",
                "slow",
            ),
            (
                slow(
                    6,
                    json!({"delay_ms": 100.0, "jitter_ms": 0.0, "reorder": true,
                        "links": [["n1", "n2"], ["n2", "n1"]]}),
                ),
                "slow n1–n2 100ms",
                "slow",
            ),
        ];
        for (value, label, class) in table {
            let f = format!("start-{}", value["fault"].as_str().unwrap());
            let history = History::from_events(vec![nemesis(0, 5, &f, value.clone())]).unwrap();
            let band = &fault_windows(&history)[0];
            assert_eq!(
                (band.label.as_str(), band.css_class()),
                (label, class),
                "{value}"
            );
        }
    }
}
