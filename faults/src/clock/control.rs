//! [`ClockControl`]: the controller's verbs for node clocks.
//!
//! Owns each node's clock model (the fake time the harness has set it to,
//! as a linear function of real time), the clock faults in force and the
//! strobe tasks, and turns every change into a history event.
//!
//! Invariants:
//! - A node's file always holds the model's current segment: `offset`,
//!   `rate` and strobe toggles start a new segment from the model's value
//!   at that instant (plus the jump, if any), so the only discontinuities
//!   are the ones asked for.
//! - One clock fault per node at a time: a change to a node that already
//!   has one stops it (event first) and starts a new one, whose detail
//!   says what changed; `reset` stops it and returns the clock to real
//!   time, at real speed.
//! - A strobe runs as a tokio task that holds the node's lock only while
//!   it writes; `reset` (and `Drop`) abort it before resetting.
//! - Dropping the handle resets every file it changed, synchronously.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::task::JoinHandle;

use super::faketime::{ClockFile, FakeClockLine};
use crate::{
    ClockChange, FaultDetail, FaultError, FaultEvent, FaultId, FaultKind, FaultReport, FaultValue,
    NodeName, Outcome, Phase, event::FaultIds,
};

/// Bound on a jump: a century either way.
pub const MAX_OFFSET: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// Bounds on a rate factor.
pub const RATE_BOUNDS: (f64, f64) = (0.01, 100.0);
/// Bounds on a strobe's period.
pub const STROBE_PERIOD_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_secs(3600));
/// Bound on a strobe's duration.
pub const MAX_STROBE: Duration = Duration::from_secs(24 * 3600);

/// A signed jump, in milliseconds (negative: back in time).
pub type DeltaMillis = i64;

/// The fake clock of one node as a function of real time:
/// `fake(t) = fake_at + rate · (t − real_at)`, in nanoseconds since the
/// epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    real_at: i128,
    fake_at: i128,
    rate: f64,
}

impl Segment {
    fn identity(now: i128) -> Self {
        Self {
            real_at: now,
            fake_at: now,
            rate: 1.0,
        }
    }

    fn fake(&self, now: i128) -> i128 {
        self.fake_at + ((now - self.real_at) as f64 * self.rate) as i128
    }

    /// The file line for this segment.
    fn line(&self) -> FakeClockLine {
        if self.rate == 1.0 {
            FakeClockLine::Offset {
                offset_ns: self.fake_at - self.real_at,
            }
        } else {
            FakeClockLine::Rate {
                fake_ns: self.fake_at,
                rate: self.rate,
            }
        }
    }

    fn is_identity(&self) -> bool {
        self.rate == 1.0 && self.fake_at == self.real_at
    }
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// One node's clock: its file, its model, its fault and strobe.
#[derive(Debug)]
struct NodeClock {
    file: ClockFile,
    segment: Segment,
    /// The fault in force, and the change that started it (repeated in its
    /// stop event).
    fault: Option<(FaultId, ClockChange)>,
    strobe: Option<JoinHandle<()>>,
}

impl NodeClock {
    /// Move to `segment` (write the file first: the model changes only if
    /// the node can see the change).
    fn set(&mut self, segment: Segment) -> Result<(), FaultError> {
        self.file.write(&segment.line())?;
        self.segment = segment;
        Ok(())
    }

    /// Jump by `delta_ns` now, keeping the rate.
    fn jump(&mut self, delta_ns: i128) -> Result<(), FaultError> {
        let now = now_ns();
        let fake_at = self.segment.fake(now) + delta_ns;
        self.set(Segment {
            real_at: now,
            fake_at,
            rate: self.segment.rate,
        })
    }
}

type Shared = Arc<Mutex<NodeClock>>;

fn lock(clock: &Shared) -> MutexGuard<'_, NodeClock> {
    clock
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The controller's handle on every node's clock.
pub struct ClockControl {
    clocks: BTreeMap<NodeName, Shared>,
    ids: FaultIds,
}

impl ClockControl {
    /// A handle allocating fault ids from `ids` (share the nemesis's, so
    /// that ids stay unique within a run).
    pub fn new(ids: FaultIds) -> Self {
        Self {
            clocks: BTreeMap::new(),
            ids,
        }
    }

    /// Take charge of a node's clock file (from
    /// [`super::ClockSetup::prepare`]). Its clock starts at real time.
    pub fn add(&mut self, file: ClockFile) -> Result<(), FaultError> {
        let node = file.node().clone();
        if self.clocks.contains_key(&node) {
            return Err(FaultError::DuplicateNode { node });
        }
        let mut clock = NodeClock {
            file,
            segment: Segment::identity(now_ns()),
            fault: None,
            strobe: None,
        };
        clock.set(Segment::identity(now_ns()))?;
        self.clocks.insert(node, Arc::new(Mutex::new(clock)));
        Ok(())
    }

    /// The nodes under control.
    pub fn nodes(&self) -> Vec<NodeName> {
        self.clocks.keys().cloned().collect()
    }

    /// What `node`'s clock reads now according to the model, and its rate.
    pub fn reading(&self, node: &NodeName) -> Option<(SystemTime, f64)> {
        let clock = lock(self.clocks.get(node)?);
        let fake = clock.segment.fake(now_ns());
        let at = UNIX_EPOCH + Duration::from_nanos(u64::try_from(fake.max(0)).unwrap_or(u64::MAX));
        Some((at, clock.segment.rate))
    }

    /// Jump the clocks of `nodes` by `delta_ms` (negative: back).
    pub async fn offset(
        &mut self,
        nodes: &[NodeName],
        delta_ms: DeltaMillis,
    ) -> Result<FaultReport, FaultError> {
        check_offset(delta_ms)?;
        let change = ClockChange::Offset { delta_ms };
        self.change(nodes, change, |clock| {
            clock.jump(i128::from(delta_ms) * 1_000_000)
        })
    }

    /// Make the clocks of `nodes` run at `factor` times real speed from now
    /// on, without a jump.
    pub async fn rate(
        &mut self,
        nodes: &[NodeName],
        factor: f64,
    ) -> Result<FaultReport, FaultError> {
        if !(RATE_BOUNDS.0..=RATE_BOUNDS.1).contains(&factor) {
            return Err(FaultError::Parameter {
                fault: "clock",
                detail: format!(
                    "rate {factor} is outside {}..={}",
                    RATE_BOUNDS.0, RATE_BOUNDS.1
                ),
            });
        }
        self.change(nodes, ClockChange::Rate { factor }, |clock| {
            let now = now_ns();
            let fake_at = clock.segment.fake(now);
            clock.set(Segment {
                real_at: now,
                fake_at,
                rate: factor,
            })
        })
    }

    /// Jump the clocks of `nodes` by `delta_ms` and back, every `period`,
    /// for `duration`, in a background task; then leave them where they
    /// would have been without the strobe. [`ClockControl::reset`] ends it
    /// early. Needs a tokio runtime.
    pub async fn strobe(
        &mut self,
        nodes: &[NodeName],
        delta_ms: DeltaMillis,
        period: Duration,
        duration: Duration,
    ) -> Result<FaultReport, FaultError> {
        check_offset(delta_ms)?;
        let (low, high) = STROBE_PERIOD_BOUNDS;
        if period < low || period > high || duration > MAX_STROBE {
            return Err(FaultError::Parameter {
                fault: "clock",
                detail: format!(
                    "strobe period {period:?} must be within {low:?}..={high:?} and duration \
                     {duration:?} at most {MAX_STROBE:?}"
                ),
            });
        }
        let change = ClockChange::Strobe {
            delta_ms,
            period_ms: period.as_millis() as u64,
            duration_ms: duration.as_millis() as u64,
        };
        let shared: BTreeMap<NodeName, Shared> = self
            .clocks
            .iter()
            .filter(|(n, _)| nodes.contains(n))
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        let report = self.change(nodes, change, |clock| {
            if let Some(old) = clock.strobe.take() {
                old.abort();
            }
            clock.jump(i128::from(delta_ms) * 1_000_000)
        })?;
        for (node, clock) in shared {
            let installed = report
                .events
                .last()
                .is_some_and(|e| e.value.nodes.contains(&node));
            if installed {
                let task = tokio::spawn(strobe_task(clock.clone(), delta_ms, period, duration));
                lock(&clock).strobe = Some(task);
            }
        }
        Ok(report)
    }

    /// End the clock faults of `nodes`: stop strobes, and put their clocks
    /// back to real time at real speed (a jump, if they had drifted).
    pub async fn reset(&mut self, nodes: &[NodeName]) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        let mut groups = StopGroups::new();
        let mut all = BTreeMap::new();
        for node in &nodes {
            let mut clock = lock(&self.clocks[node]);
            if let Some(task) = clock.strobe.take() {
                task.abort();
            }
            let outcome = if clock.fault.is_none() && clock.segment.is_identity() {
                Outcome::skipped("clock not changed")
            } else {
                match clock.set(Segment::identity(now_ns())) {
                    Ok(()) => Outcome::Installed,
                    Err(e) => Outcome::Indeterminate(e.to_string()),
                }
            };
            if !matches!(outcome, Outcome::Indeterminate(_))
                && let Some((id, change)) = clock.fault.take()
            {
                group(&mut groups, id, change, node, outcome.clone());
            }
            all.insert(node.clone(), outcome);
        }
        let events = groups
            .into_iter()
            .map(|((id, _), (change, per_node))| event(Phase::Stop, id, change, per_node))
            .collect();
        Ok(FaultReport {
            outcome: Outcome::combine(all.values()),
            events,
        })
    }

    /// End the faults of strobes that have run their course (their clocks
    /// are back on course already): their stop events, for the controller
    /// to record when it polls. Nothing is written.
    pub fn finished_strobes(&mut self) -> FaultReport {
        let mut groups = StopGroups::new();
        for (node, clock) in &self.clocks {
            let mut clock = lock(clock);
            if clock.strobe.as_ref().is_some_and(JoinHandle::is_finished) {
                clock.strobe = None;
                if let Some((id, change)) = clock.fault.take() {
                    group(&mut groups, id, change, node, Outcome::Installed);
                }
            }
        }
        if groups.is_empty() {
            return FaultReport::skipped("no strobe finished");
        }
        FaultReport {
            outcome: Outcome::Installed,
            events: groups
                .into_iter()
                .map(|((id, _), (change, per_node))| event(Phase::Stop, id, change, per_node))
                .collect(),
        }
    }

    /// Reset every node (at heal and at the end of a run).
    pub async fn reset_all(&mut self) -> Result<FaultReport, FaultError> {
        let nodes = self.nodes();
        self.reset(&nodes).await
    }

    /// Apply `apply` to each node of `nodes`, and build the events: the
    /// stops of the faults it replaces, then one start.
    fn change(
        &mut self,
        nodes: &[NodeName],
        change: ClockChange,
        mut apply: impl FnMut(&mut NodeClock) -> Result<(), FaultError>,
    ) -> Result<FaultReport, FaultError> {
        let nodes = self.known(nodes)?;
        let id = self.ids.next();
        let mut stops = StopGroups::new();
        let mut per_node = BTreeMap::new();
        for node in &nodes {
            let mut clock = lock(&self.clocks[node]);
            let outcome = match apply(&mut clock) {
                Ok(()) => Outcome::Installed,
                Err(e) => Outcome::Indeterminate(e.to_string()),
            };
            if let Some((old, old_change)) = clock.fault.replace((id, change.clone())) {
                let why = Outcome::skipped("replaced by a new clock fault");
                group(&mut stops, old, old_change, node, why);
            }
            per_node.insert(node.clone(), outcome);
        }
        let mut events: Vec<FaultEvent> = stops
            .into_iter()
            .map(|((old, _), (old_change, per_node))| event(Phase::Stop, old, old_change, per_node))
            .collect();
        events.push(event(Phase::Start, id, change, per_node.clone()));
        Ok(FaultReport {
            outcome: Outcome::combine(per_node.values()),
            events,
        })
    }

    fn known(&self, nodes: &[NodeName]) -> Result<Vec<NodeName>, FaultError> {
        let mut known: Vec<NodeName> = nodes.to_vec();
        known.sort();
        known.dedup();
        match known.iter().find(|n| !self.clocks.contains_key(*n)) {
            Some(node) => Err(FaultError::UnknownNode { node: node.clone() }),
            None => Ok(known),
        }
    }
}

impl Drop for ClockControl {
    fn drop(&mut self) {
        for clock in self.clocks.values() {
            let mut clock = lock(clock);
            if let Some(task) = clock.strobe.take() {
                task.abort();
            }
            if !clock.segment.is_identity()
                && let Err(e) = clock.set(Segment::identity(now_ns()))
            {
                tracing::error!(node = %clock.file.node(), error = %e, "cannot reset a clock on drop");
            }
        }
    }
}

fn check_offset(delta_ms: DeltaMillis) -> Result<(), FaultError> {
    if delta_ms.unsigned_abs() as u128 > MAX_OFFSET.as_millis() {
        return Err(FaultError::Parameter {
            fault: "clock",
            detail: format!("offset {delta_ms} ms is beyond ±{MAX_OFFSET:?}"),
        });
    }
    Ok(())
}

/// Stops grouped by fault (the change's text only keeps the key ordered).
type StopGroups = BTreeMap<(FaultId, String), (ClockChange, BTreeMap<NodeName, Outcome>)>;

fn group(groups: &mut StopGroups, id: FaultId, change: ClockChange, node: &NodeName, o: Outcome) {
    groups
        .entry((id, format!("{change:?}")))
        .or_insert_with(|| (change, BTreeMap::new()))
        .1
        .insert(node.clone(), o);
}

/// A start or stop event of a clock fault; a stop repeats its start's
/// change.
fn event(
    phase: Phase,
    id: FaultId,
    change: ClockChange,
    per_node: BTreeMap<NodeName, Outcome>,
) -> FaultEvent {
    let nodes = per_node
        .iter()
        .filter(|(_, o)| !matches!(o, Outcome::Skipped(_)) || phase == Phase::Stop)
        .map(|(n, _)| n.clone())
        .collect();
    FaultEvent::new(
        phase,
        FaultValue {
            id,
            fault: FaultKind::Clock,
            nodes,
            detail: FaultDetail::Clock { change, per_node },
        },
    )
}

/// Toggle `clock` between `+delta_ms` (where the strobe starts it) and
/// its own course, every `period`, for `duration`; end on its own course.
async fn strobe_task(clock: Shared, delta_ms: DeltaMillis, period: Duration, duration: Duration) {
    let delta_ns = i128::from(delta_ms) * 1_000_000;
    let started = tokio::time::Instant::now();
    let mut ahead = true;
    let mut ticks = tokio::time::interval_at(started + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let done = started.elapsed() >= duration;
        if done && !ahead {
            return;
        }
        if !done {
            ticks.tick().await;
        }
        let mut clock = lock(&clock);
        let jump = if ahead { -delta_ns } else { delta_ns };
        if let Err(e) = clock.jump(jump) {
            tracing::error!(node = %clock.file.node(), error = %e, "strobe cannot write a clock file");
            return;
        }
        ahead = !ahead;
    }
}
