//! The version-order engine for register keys: decides linearizability in
//! `O(n log n)` when every observed value names its writer (single-register
//! linearizability with a known reads-from mapping is polynomial; Gibbons
//! and Korach, 1997), and says when it does not apply.
//!
//! Pipeline: relevance reduction (`relevance.rs`), version blocks from
//! reads-from and cas chains (`versions.rs`), real-time layout of the
//! blocks (`zones.rs`). A `Linearizable` answer carries a witness, which
//! the caller checks independently (`witness.rs`) before saying `valid`.
//!
//! For a key found not linearizable, [`refute`] finds the op at which the
//! history stops being linearizable: the first completion such that the
//! history up to and including it has no linearization. Cutting a history
//! at a position keeps the ops invoked before it; ops completing after it
//! become pending (`info`; pending reads are dropped). Linearizability is
//! prefix-closed (a linearization of a longer cut, truncated before the
//! first op invoked after the shorter cut, linearizes the shorter one,
//! since every op completed by then precedes that op), so binary search
//! over the completions finds the first failing one. A cut keeps the
//! premises: its needed ops are needed in the full history and it writes
//! no value the full history does not.

use std::time::Instant;

use super::{
    relevance::{RegisterSearchOp, needed},
    versions::{NotApplicable, Shape, build},
    violation::Violation,
    witness::verify,
    zones::lay_out,
};
use crate::spec::{CasRegister, RegisterOp};

/// Rough bytes per op the engine allocates at its peak, a refutation's
/// cut copies included (for the memory budget).
pub const BYTES_PER_OP: usize = 160;

/// What the engine found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A linearization (indices into the ops), to be verified.
    Linearizable(Vec<usize>),
    /// A necessary condition fails.
    NotLinearizable(Violation),
    /// The premises do not hold; use the search.
    NotApplicable(NotApplicable),
}

/// Decides `ops` (sorted by call) from initial value `init`.
pub fn decide(init: u32, ops: &[RegisterSearchOp]) -> Decision {
    if !positions_distinct(ops) {
        return Decision::NotApplicable(NotApplicable::SharedPositions);
    }
    let keep = needed(ops);
    if keep.iter().all(|&k| k) {
        return decide_reduced(init, ops);
    }
    let map: Vec<usize> = (0..ops.len()).filter(|&k| keep[k]).collect();
    let reduced: Vec<RegisterSearchOp> = map.iter().map(|&k| ops[k].clone()).collect();
    match decide_reduced(init, &reduced) {
        Decision::Linearizable(order) => {
            Decision::Linearizable(order.into_iter().map(|k| map[k]).collect())
        }
        Decision::NotLinearizable(v) => Decision::NotLinearizable(v.map_ops(|k| map[k])),
        Decision::NotApplicable(NotApplicable::Unmodelled { op }) => {
            Decision::NotApplicable(NotApplicable::Unmodelled { op: map[op] })
        }
        other => other,
    }
}

fn decide_reduced(init: u32, ops: &[RegisterSearchOp]) -> Decision {
    match build(init, ops) {
        Shape::Blocks(blocks) => match lay_out(ops, &blocks) {
            Ok(order) => Decision::Linearizable(order),
            Err(v) => Decision::NotLinearizable(v),
        },
        Shape::Violation(v) => Decision::NotLinearizable(v),
        Shape::NotApplicable(why) => Decision::NotApplicable(why),
    }
}

/// Whether ops are sorted by call and no two events share a position (the
/// zones' arithmetic relies on strict comparisons).
fn positions_distinct(ops: &[RegisterSearchOp]) -> bool {
    let mut positions: Vec<u64> = ops
        .iter()
        .flat_map(|o| [Some(o.call), o.ret.is_some().then_some(o.ret_pos)])
        .flatten()
        .collect();
    let sorted_calls = ops.windows(2).all(|w| w[0].call < w[1].call);
    positions.sort_unstable();
    sorted_calls && positions.windows(2).all(|w| w[0] < w[1])
}

/// Where a non-linearizable key stops being linearizable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refutation {
    /// A linearization of the history cut just before `blocked` returned
    /// (indices into the key's ops).
    pub prefix: Vec<usize>,
    /// The register's value after `prefix`.
    pub state: u32,
    /// The op whose completion leaves no linearization.
    pub blocked: usize,
    /// The violation in the history cut just after `blocked` returned.
    pub violation: Violation,
}

/// Finds the first completion after which `ops` has no linearization;
/// `None` if the deadline passes first or the cuts do not behave as the
/// theory says (the caller then reports the violation alone).
pub fn refute(
    init: u32,
    ops: &[RegisterSearchOp],
    deadline: Option<Instant>,
) -> Option<Refutation> {
    let mut returns: Vec<u64> = ops
        .iter()
        .filter(|o| o.ret.is_some())
        .map(|o| o.ret_pos)
        .collect();
    returns.sort_unstable();
    let fails = |at: usize| match decide_cut(init, ops, returns[at], true) {
        (Decision::NotLinearizable(v), map) => Some(v.map_ops(|k| map[k])),
        _ => None,
    };
    // Invariant: cuts before `lo` are linearizable, the cut at `hi` is not.
    let (mut lo, mut hi) = (0, returns.len().checked_sub(1)?);
    while lo < hi {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let mid = lo + (hi - lo) / 2;
        if fails(mid).is_some() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let violation = fails(lo)?;
    let blocked = ops
        .iter()
        .position(|o| o.ret.is_some() && o.ret_pos == returns[lo])?;
    let (Decision::Linearizable(order), map) = decide_cut(init, ops, returns[lo], false) else {
        return None;
    };
    let cut = cut_ops(ops, returns[lo], false).0;
    let state = verify(&CasRegister(init), &cut, &order).ok()?.0;
    Some(Refutation {
        prefix: order.into_iter().map(|k| map[k]).collect(),
        state,
        blocked,
        violation,
    })
}

fn decide_cut(
    init: u32,
    ops: &[RegisterSearchOp],
    at: u64,
    inclusive: bool,
) -> (Decision, Vec<usize>) {
    let (cut, map) = cut_ops(ops, at, inclusive);
    (decide(init, &cut), map)
}

/// The history cut at position `at` (keeping the completion at `at` when
/// `inclusive`), with each kept op's index in `ops`: ops invoked before
/// `at`, those completing later turned `info` (reads among them dropped).
pub fn cut_ops(
    ops: &[RegisterSearchOp],
    at: u64,
    inclusive: bool,
) -> (Vec<RegisterSearchOp>, Vec<usize>) {
    let completed = |o: &RegisterSearchOp| {
        o.ret.is_some() && (o.ret_pos < at || (inclusive && o.ret_pos == at))
    };
    let mut cut = Vec::new();
    let mut map = Vec::new();
    for (k, o) in ops.iter().enumerate().take_while(|(_, o)| o.call < at) {
        if completed(o) {
            cut.push(o.clone());
        } else if matches!(o.op, RegisterOp::Read) {
            continue;
        } else {
            cut.push(RegisterSearchOp {
                ret: None,
                ret_pos: u64::MAX,
                ..o.clone()
            });
        }
        map.push(k);
    }
    (cut, map)
}
