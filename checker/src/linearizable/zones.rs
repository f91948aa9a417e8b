//! Whether version blocks (`versions.rs`) can be laid out in real time,
//! and a linearization when they can: Gibbons and Korach's zones (1997),
//! extended from single writes to cas chains. `O(n log n)`.
//!
//! Each op may take effect at any point strictly between its invocation
//! and its return (`info` ops return at infinity). Event positions are
//! distinct integers (checked by the caller).
//!
//! # Inside a block
//!
//! The forced order is a chain of groups; `L(op)`, the earliest point the
//! op can take effect given everything forced before it, is
//! `max(inv(op), L(p))` over its forced predecessors `p`. The block can be
//! laid out alone iff `L(op) < ret(op)` for every op; otherwise the op
//! that set `L(op)` (whose invocation came after `op` returned) must
//! precede `op`, which is impossible ([`Violation::MustFollow`]). Sorting
//! by `(L, rank)` then gives a valid order: it respects the forced order
//! (`L` grows along it, `rank` breaks ties) and real time (`ret(x) <
//! inv(y)` gives `L(x) < ret(x) < inv(y) <= L(y)`).
//!
//! # Between blocks
//!
//! Let `lo` be the earliest return among a block's ops and `hi` the latest
//! invocation (for the initial value's block, `lo` is minus infinity: its
//! virtual write precedes everything). The op returning at `lo` takes
//! effect before `lo` and the op invoked at `hi` after `hi`, so a block
//! whose `lo < hi` (a *forward* zone) occupies all of `[lo, hi]`, and one
//! with `hi < lo` (a *backward* zone) occupies at least one point of
//! `(hi, lo)`. Blocks are contiguous and disjoint, so:
//!
//! - necessary: for any two blocks `A`, `B`, either `hi(A) < lo(B)` or
//!   `hi(B) < lo(A)`; else neither can come first
//!   ([`Violation::Unorderable`]). Checked as: forward zones pairwise
//!   disjoint, and no backward zone inside a forward one;
//! - sufficient: then lay each forward block in a small neighbourhood of
//!   its zone (clamping a block's own layout into `[lo - e, hi + e]` keeps
//!   its order and its ops' windows, since every op's window meets
//!   `[lo, hi]`), and each backward block at a point `t` of its zone that
//!   no forward zone covers (every op of the block contains `t`). Such a
//!   `t` exists: zones have integer ends, so a backward zone not inside one
//!   forward zone has an uncovered half-integer point, found as `hi + 1/2`
//!   or, when a forward zone covers `hi`, that zone's end `+ 1/2`.
//!
//! The linearization is the blocks sorted by where they were laid (the
//! initial value's first), each in its `(L, rank)` order.

use super::{
    relevance::RegisterSearchOp,
    versions::Blocks,
    violation::{Span, Violation},
};

/// Minus infinity: positions are at least 0.
const NEG_INF: i64 = -1;

fn inv(o: &RegisterSearchOp) -> i64 {
    i64::try_from(o.call).unwrap_or(i64::MAX)
}

fn ret(o: &RegisterSearchOp) -> i64 {
    match o.ret {
        Some(_) => i64::try_from(o.ret_pos).unwrap_or(i64::MAX),
        None => i64::MAX,
    }
}

/// A block's zone: `lo` (earliest return, and its op) and `hi` (latest
/// invocation, and its op).
#[derive(Debug, Clone, Copy)]
struct Zone {
    block: usize,
    lo: i64,
    lo_op: Option<usize>,
    hi: i64,
    hi_op: usize,
    head: Option<usize>,
    values: usize,
}

impl Zone {
    fn forward(&self) -> bool {
        self.lo < self.hi
    }
    fn span(&self) -> Span {
        Span {
            head: self.head,
            returns_first: self.lo_op,
            invoked_last: self.hi_op,
            values: self.values,
        }
    }
}

/// Lays out `blocks` of `ops`: a linearization (op indices), or the
/// violation that rules every one out.
pub fn lay_out(ops: &[RegisterSearchOp], blocks: &Blocks) -> Result<Vec<usize>, Violation> {
    let mut earliest = vec![0i64; ops.len()];
    let mut zones = Vec::with_capacity(blocks.len());
    for b in 0..blocks.len() {
        if let Some(zone) = inside(ops, blocks, b, &mut earliest)? {
            zones.push(zone);
        }
    }
    let anchors = anchor(&zones)?;
    let mut laid: Vec<(i64, u8, usize)> = zones
        .iter()
        .zip(&anchors)
        .map(|(z, &(at, half))| (at, half, z.block))
        .collect();
    laid.sort_unstable();
    let mut order = Vec::with_capacity(ops.len());
    for (_, _, b) in laid {
        let start = order.len();
        order.extend(blocks.block(b).iter().map(|&k| k as usize));
        order[start..].sort_by_key(|&k| (earliest[k], blocks.rank[k]));
    }
    Ok(order)
}

/// Computes `L` for block `b`'s ops into `earliest` and returns its zone
/// (`None` for an empty initial block).
fn inside(
    ops: &[RegisterSearchOp],
    blocks: &Blocks,
    b: usize,
    earliest: &mut [i64],
) -> Result<Option<Zone>, Violation> {
    let entries = blocks.block(b);
    let Some(&first) = entries.first() else {
        return Ok(None);
    };
    // (L, the op whose invocation set it) of the current version's writer,
    // and the max over the writer and its reads so far.
    let mut writer = (NEG_INF, usize::MAX);
    let mut group = (NEG_INF, usize::MAX);
    let mut zone = Zone {
        block: b,
        lo: if b == 0 { NEG_INF } else { i64::MAX },
        lo_op: None,
        hi: NEG_INF,
        hi_op: first as usize,
        head: (b != 0).then_some(first as usize),
        values: usize::from(b == 0),
    };
    for &k in entries {
        let k = k as usize;
        let o = &ops[k];
        let is_writer = blocks.rank[k] % 2 == 0;
        let pred = if is_writer { group } else { writer };
        let l = if inv(o) > pred.0 { (inv(o), k) } else { pred };
        if l.0 >= ret(o) {
            return Err(Violation::MustFollow { op: k, before: l.1 });
        }
        earliest[k] = l.0;
        if is_writer {
            zone.values += 1;
            writer = l;
            group = l;
        } else if l.0 > group.0 {
            group = l;
        }
        if ret(o) < zone.lo {
            zone.lo = ret(o);
            zone.lo_op = Some(k);
        }
        if inv(o) > zone.hi {
            zone.hi = inv(o);
            zone.hi_op = k;
        }
    }
    Ok(Some(zone))
}

/// Where each zone's block is laid: `(position, 0)` for a forward zone
/// (its `lo`), `(position, 1)` for a backward one (the point
/// `position + 1/2`). Fails on two zones that cannot be ordered.
fn anchor(zones: &[Zone]) -> Result<Vec<(i64, u8)>, Violation> {
    let mut forward: Vec<&Zone> = zones.iter().filter(|z| z.forward()).collect();
    forward.sort_unstable_by_key(|z| z.lo);
    for pair in forward.windows(2) {
        if pair[1].lo < pair[0].hi {
            return Err(Violation::Unorderable {
                first: pair[0].span(),
                second: pair[1].span(),
            });
        }
    }
    zones
        .iter()
        .map(|z| {
            if z.forward() {
                return Ok((z.lo, 0));
            }
            // The forward zone that starts last at or before `hi`.
            let i = forward.partition_point(|f| f.lo <= z.hi);
            match i.checked_sub(1).map(|i| forward[i]) {
                Some(f) if z.hi < f.hi => {
                    if f.hi < z.lo {
                        Ok((f.hi, 1))
                    } else {
                        Err(Violation::Unorderable {
                            first: f.span(),
                            second: z.span(),
                        })
                    }
                }
                _ => Ok((z.hi, 1)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        linearizable::{
            versions::{Shape, build},
            wgl::SearchOp,
            witness::verify,
        },
        spec::{CasRegister, RegisterOp, RegisterRet::*},
    };

    fn op(
        call: u64,
        ret_pos: Option<u64>,
        op: RegisterOp<u32>,
        ret: Option<crate::spec::RegisterRet<u32>>,
    ) -> RegisterSearchOp {
        SearchOp {
            op,
            ret,
            call,
            ret_pos: ret_pos.unwrap_or(u64::MAX),
            id: call as usize,
            expires: u64::MAX,
        }
    }

    fn run(ops: &[RegisterSearchOp]) -> Result<Vec<usize>, Violation> {
        let Shape::Blocks(blocks) = build(0, ops) else {
            panic!("premises hold")
        };
        lay_out(ops, &blocks)
    }

    #[test]
    fn a_backward_block_is_laid_at_a_free_point() {
        use RegisterOp::*;
        // Value 2 (write [1,3], read [20,25]) has the forward zone
        // [3,20]. With its read at [8,12], value 1 (write [0,10]) has the
        // backward zone (8,10), inside [3,20]: unorderable. With the read
        // at [21,30], the forward zone [10,21], overlapping: unorderable.
        // With the read at [2,4], the backward zone (2,4), of which
        // (2,3) is free: value 1 goes first.
        let base = |read_of_1: (u64, u64)| {
            vec![
                op(0, Some(10), Write(1), Some(WriteOk)),
                op(1, Some(3), Write(2), Some(WriteOk)),
                op(read_of_1.0, Some(read_of_1.1), Read, Some(ReadOk(1))),
                op(20, Some(25), Read, Some(ReadOk(2))),
            ]
        };
        let mut ops = base((8, 12));
        ops.sort_by_key(|o| o.call);
        assert!(matches!(run(&ops), Err(Violation::Unorderable { .. })));
        let mut ops = base((21, 30));
        ops.sort_by_key(|o| o.call);
        assert!(matches!(run(&ops), Err(Violation::Unorderable { .. })));
        let mut ops = base((2, 4));
        ops.sort_by_key(|o| o.call);
        let order = run(&ops).expect("linearizable");
        verify(&CasRegister(0), &ops, &order).expect("a valid witness");
    }

    #[test]
    fn a_cas_chain_forces_its_order() {
        use RegisterOp::*;
        // cas 0 -> 1 [5,6] then read 0 [7,8]: the read must precede the
        // cas that replaced 0, but was invoked after it returned.
        let ops = vec![
            op(5, Some(6), Cas { from: 0, to: 1 }, Some(CasOk)),
            op(7, Some(8), Read, Some(ReadOk(0))),
        ];
        assert_eq!(run(&ops), Err(Violation::MustFollow { op: 0, before: 1 }));
    }
}
