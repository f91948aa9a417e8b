//! What a fault did: outcomes and the events the history records.
//!
//! Owns [`Outcome`] (`installed | skipped | indeterminate`, as in openraft's
//! Jepsen suite), [`FaultEvent`] (one start or stop of a fault, serialized
//! exactly as the history's `f` and `value`), and [`FaultReport`], which
//! every fault verb returns.
//!
//! Invariants:
//! - A start and its stop carry the same [`FaultId`]; ids are unique within
//!   a [`FaultIds`] sequence (one per run, shared by the [`crate::Nemesis`]
//!   and the clocks) and increase in the order faults start.
//! - A verb that changed nothing (outcome `skipped`) returns no event, so
//!   the history shades only windows in which a fault may have been active.
//! - An `indeterminate` change still returns its event: the fault may be in
//!   effect, and the history must say so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Grudge, NodeName, PartitionShape, disk::DiskChange};

/// What a fault verb did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "kebab-case")]
pub enum Outcome {
    /// The change took effect.
    Installed,
    /// Nothing was changed, for the reason given (the node was already
    /// dead, already paused, not paused, ...).
    Skipped(String),
    /// The change may or may not have taken effect.
    Indeterminate(String),
}

impl Outcome {
    /// Did the change certainly take effect?
    pub fn is_installed(&self) -> bool {
        matches!(self, Self::Installed)
    }

    /// A skip with a reason.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::Skipped(reason.into())
    }

    /// The outcome of several per-node outcomes: indeterminate if any is,
    /// else installed if any is, else skipped (with the first reason).
    pub fn combine<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut combined: Option<Outcome> = None;
        for outcome in outcomes {
            combined = Some(match (combined.take(), outcome) {
                (Some(c @ Self::Indeterminate(_)), _) => c,
                (_, o @ Self::Indeterminate(_)) => o.clone(),
                (Some(Self::Installed), _) | (_, Self::Installed) => Self::Installed,
                (Some(c), _) => c,
                (None, o) => o.clone(),
            });
        }
        combined.unwrap_or_else(|| Self::skipped("no nodes"))
    }
}

/// Identifies one fault, from its start to its stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

/// Hands out [`FaultId`]s in increasing order; clones share the counter,
/// so that every fault handle of a run (the nemesis, the clocks) draws
/// from one sequence.
#[derive(Clone, Debug, Default)]
pub struct FaultIds(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl FaultIds {
    /// A fresh sequence; the first id is 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next id.
    pub fn next(&self) -> FaultId {
        FaultId(
            self.0
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .saturating_add(1),
        )
    }
}

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partition (a grudge).
    Partition,
    /// Random packet loss between nodes.
    Loss,
    /// SIGKILL; stopped by a restart.
    Kill,
    /// SIGSTOP; stopped by SIGCONT.
    Pause,
    /// A node's clock jumped, runs at another rate, or strobes
    /// ([`crate::clock`]); stopped by a reset.
    Clock,
    /// Packets between nodes delayed ([`crate::net::slow`]); stopped by a
    /// heal.
    Slow,
    /// SIGKILL, then each node's disk loses what it had not synced
    /// ([`crate::disk`]); stopped by a restart.
    PowerLoss,
    /// Every sync of the nodes' disks fails with `EIO`; stopped when
    /// syncs succeed again.
    FsyncError,
    /// A node was killed at a chosen sync call, before it returned, and its
    /// disk lost what it had not synced; stopped by a restart.
    CrashAtFsync,
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::Partition,
        Self::Loss,
        Self::Kill,
        Self::Pause,
        Self::Clock,
        Self::Slow,
        Self::PowerLoss,
        Self::FsyncError,
        Self::CrashAtFsync,
    ];
}

/// Whether an event starts or stops a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The fault begins.
    Start,
    /// The fault ends.
    Stop,
}

/// The history's `f` of a nemesis event: `start-partition`, `stop-kill`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventName {
    StartPartition,
    StopPartition,
    StartLoss,
    StopLoss,
    StartKill,
    StopKill,
    StartPause,
    StopPause,
    StartClock,
    StopClock,
    StartSlow,
    StopSlow,
    StartPowerLoss,
    StopPowerLoss,
    StartFsyncError,
    StopFsyncError,
    StartCrashAtFsync,
    StopCrashAtFsync,
}

impl EventName {
    /// The name of `phase` of a `kind` fault.
    pub fn new(phase: Phase, kind: FaultKind) -> Self {
        use {EventName::*, FaultKind::*, Phase::*};
        match (phase, kind) {
            (Start, Partition) => StartPartition,
            (Stop, Partition) => StopPartition,
            (Start, Loss) => StartLoss,
            (Stop, Loss) => StopLoss,
            (Start, Kill) => StartKill,
            (Stop, Kill) => StopKill,
            (Start, Pause) => StartPause,
            (Stop, Pause) => StopPause,
            (Start, Clock) => StartClock,
            (Stop, Clock) => StopClock,
            (Start, Slow) => StartSlow,
            (Stop, Slow) => StopSlow,
            (Start, PowerLoss) => StartPowerLoss,
            (Stop, PowerLoss) => StopPowerLoss,
            (Start, FsyncError) => StartFsyncError,
            (Stop, FsyncError) => StopFsyncError,
            (Start, CrashAtFsync) => StartCrashAtFsync,
            (Stop, CrashAtFsync) => StopCrashAtFsync,
        }
    }

    /// The name as it appears in the history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartPartition => "start-partition",
            Self::StopPartition => "stop-partition",
            Self::StartLoss => "start-loss",
            Self::StopLoss => "stop-loss",
            Self::StartKill => "start-kill",
            Self::StopKill => "stop-kill",
            Self::StartPause => "start-pause",
            Self::StopPause => "stop-pause",
            Self::StartClock => "start-clock",
            Self::StopClock => "stop-clock",
            Self::StartSlow => "start-slow",
            Self::StopSlow => "stop-slow",
            Self::StartPowerLoss => "start-power-loss",
            Self::StopPowerLoss => "stop-power-loss",
            Self::StartFsyncError => "start-fsync-error",
            Self::StopFsyncError => "stop-fsync-error",
            Self::StartCrashAtFsync => "start-crash-at-fsync",
            Self::StopCrashAtFsync => "stop-crash-at-fsync",
        }
    }
}

/// What one node's part in a process fault was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeOutcome {
    /// What happened to this node.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The pid signalled, or the new pid after a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Fault-specific details of an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FaultDetail {
    /// A partition: who drops whom, and the shape it was cut as.
    Partition {
        grudge: Grudge,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shape: Option<PartitionShape>,
    },
    /// Packet loss: the probability that a packet between nodes is dropped.
    Loss { probability: f64 },
    /// Slow network: how packets between the affected nodes are delayed.
    /// (Before `Process`: an untagged enum tries variants in order, and
    /// this one's required fields tell it apart.)
    Slow(SlowDetail),
    /// A disk fault: each targeted node's outcome, and what its disk did.
    /// (Before `Process`: its required `disk` tells it apart.)
    Disk {
        per_node: BTreeMap<NodeName, NodeOutcome>,
        disk: BTreeMap<NodeName, DiskChange>,
    },
    /// A clock change, and each targeted node's outcome.
    Clock {
        change: ClockChange,
        per_node: BTreeMap<NodeName, Outcome>,
    },
    /// A process fault: each targeted node's outcome.
    Process {
        per_node: BTreeMap<NodeName, NodeOutcome>,
    },
}

/// How a slow network delays packets, as the history records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlowDetail {
    /// The base delay of every affected packet, in milliseconds.
    pub delay_ms: f64,
    /// Each packet's delay is drawn uniformly from `delay ± jitter`
    /// (never below zero), in milliseconds.
    pub jitter_ms: f64,
    /// Whether jitter may reorder packets (otherwise each receiver releases
    /// them in arrival order).
    pub reorder: bool,
    /// The slowed links as `[receiver, sender]` pairs, when the fault named
    /// links rather than nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<(NodeName, NodeName)>,
}

/// What a clock fault did to the targeted nodes' clocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockChange {
    /// The clock jumped by `delta_ms` (negative: back).
    Offset { delta_ms: i64 },
    /// The clock runs at `factor` times real speed from now on.
    Rate { factor: f64 },
    /// The clock jumps by `delta_ms` and back every `period_ms`, for
    /// `duration_ms`, then returns to where it would have been.
    Strobe {
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    },
}

/// The `value` of a nemesis event in the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultValue {
    /// Shared by the start and the stop of one fault.
    pub id: FaultId,
    /// What kind of fault.
    pub fault: FaultKind,
    /// The nodes the fault affects (for a partition, every node in the
    /// grudge).
    pub nodes: Vec<NodeName>,
    /// Kind-specific detail.
    pub detail: FaultDetail,
}

/// One start or stop of a fault, as the controller records it:
/// `{"process":"nemesis","type":"info","f": <f>,"value": <value>}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// `start-partition`, `stop-kill`, ...
    pub f: EventName,
    /// The fault's description.
    pub value: FaultValue,
}

impl FaultEvent {
    /// An event for `phase` of fault `value`.
    pub fn new(phase: Phase, value: FaultValue) -> Self {
        Self {
            f: EventName::new(phase, value.fault),
            value,
        }
    }

    /// The whole history line, without `index` and `time`, which the
    /// controller adds.
    pub fn to_history_json(&self) -> serde_json::Value {
        serde_json::json!({
            "process": "nemesis",
            "type": "info",
            "f": self.f,
            "value": self.value,
        })
    }
}

/// What a fault verb did, and the events to record (none when skipped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    /// Overall outcome.
    pub outcome: Outcome,
    /// Events for the history, in order.
    pub events: Vec<FaultEvent>,
}

impl FaultReport {
    /// A report of a verb that changed nothing.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::skipped(reason),
            events: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_line_matches_the_documented_format() {
        let grudge = Grudge::complete(&[["n1".into()].into(), ["n2".into()].into()]);
        let event = FaultEvent::new(
            Phase::Start,
            FaultValue {
                id: FaultId(3),
                fault: FaultKind::Partition,
                nodes: vec!["n1".into(), "n2".into()],
                detail: FaultDetail::Partition {
                    grudge,
                    shape: Some(PartitionShape::IsolateOne),
                },
            },
        );
        assert_eq!(
            event.to_history_json(),
            serde_json::json!({
                "process": "nemesis",
                "type": "info",
                "f": "start-partition",
                "value": {
                    "id": 3,
                    "fault": "partition",
                    "nodes": ["n1", "n2"],
                    "detail": {
                        "grudge": {"n1": ["n2"], "n2": ["n1"]},
                        "shape": "isolate-one",
                    },
                },
            })
        );
        let back: FaultEvent =
            serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn process_detail_carries_per_node_outcomes() {
        let mut per_node = BTreeMap::new();
        per_node.insert(
            NodeName::from("n1"),
            NodeOutcome {
                outcome: Outcome::Installed,
                pid: Some(42),
            },
        );
        per_node.insert(
            NodeName::from("n2"),
            NodeOutcome {
                outcome: Outcome::skipped("not running"),
                pid: None,
            },
        );
        let detail = FaultDetail::Process { per_node };
        assert_eq!(
            serde_json::to_value(&detail).unwrap(),
            serde_json::json!({"per_node": {
                "n1": {"outcome": "installed", "pid": 42},
                "n2": {"outcome": "skipped", "reason": "not running"},
            }})
        );
        let back: FaultDetail =
            serde_json::from_value(serde_json::to_value(&detail).unwrap()).unwrap();
        assert_eq!(back, detail);
    }

    #[test]
    fn clock_and_slow_details_round_trip_unambiguously() {
        let clock = FaultDetail::Clock {
            change: ClockChange::Strobe {
                delta_ms: -200,
                period_ms: 50,
                duration_ms: 10_000,
            },
            per_node: BTreeMap::from([(NodeName::from("n1"), Outcome::Installed)]),
        };
        let slow = FaultDetail::Slow(SlowDetail {
            delay_ms: 150.0,
            jitter_ms: 10.0,
            reorder: false,
            links: vec![("n1".into(), "n3".into()), ("n3".into(), "n1".into())],
        });
        assert_eq!(
            serde_json::to_value(&clock).unwrap(),
            serde_json::json!({
                "change": {"strobe": {"delta_ms": -200, "period_ms": 50, "duration_ms": 10000}},
                "per_node": {"n1": {"outcome": "installed"}},
            })
        );
        assert_eq!(
            serde_json::to_value(&slow).unwrap(),
            serde_json::json!({
                "delay_ms": 150.0, "jitter_ms": 10.0, "reorder": false,
                "links": [["n1", "n3"], ["n3", "n1"]],
            })
        );
        // Each reads back as itself, not as another variant.
        for detail in [clock, slow] {
            let back: FaultDetail =
                serde_json::from_value(serde_json::to_value(&detail).unwrap()).unwrap();
            assert_eq!(back, detail);
        }
    }

    #[test]
    fn disk_details_read_back_as_disk_details() {
        let per_node = BTreeMap::from([(
            NodeName::from("n1"),
            NodeOutcome {
                outcome: Outcome::Installed,
                pid: Some(42),
            },
        )]);
        let disk = BTreeMap::from([(
            NodeName::from("n1"),
            crate::disk::DiskChange {
                failed_syncs: Some(3),
                ..Default::default()
            },
        )]);
        let detail = FaultDetail::Disk { per_node, disk };
        assert_eq!(
            serde_json::to_value(&detail).unwrap(),
            serde_json::json!({
                "per_node": {"n1": {"outcome": "installed", "pid": 42}},
                "disk": {"n1": {"failed_syncs": 3}},
            })
        );
        let back: FaultDetail =
            serde_json::from_value(serde_json::to_value(&detail).unwrap()).unwrap();
        assert_eq!(back, detail);
        let name = EventName::new(Phase::Start, FaultKind::CrashAtFsync);
        assert_eq!(name.as_str(), "start-crash-at-fsync");
    }

    #[test]
    fn outcomes_combine_pessimistically() {
        let i = Outcome::Installed;
        let s = Outcome::skipped("x");
        let q = Outcome::Indeterminate("y".into());
        assert_eq!(Outcome::combine([&s, &i]), i);
        assert_eq!(Outcome::combine([&i, &q, &s]), q);
        assert_eq!(Outcome::combine([&s]), s);
        assert_eq!(Outcome::combine([]), Outcome::skipped("no nodes"));
    }

    #[test]
    fn event_names_round_trip() {
        for phase in [Phase::Start, Phase::Stop] {
            for kind in FaultKind::ALL {
                let name = EventName::new(phase, kind);
                let json = serde_json::to_string(&name).unwrap();
                assert_eq!(json, format!("\"{}\"", name.as_str()));
            }
        }
    }
}
