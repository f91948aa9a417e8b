//! From a register key's ops to *version blocks*, when the values the ops
//! observe name their writers.
//!
//! # Premises
//!
//! The input is a key's ops after the relevance reduction
//! (`relevance.rs`): `ok` reads, writes and cas ops, and `info` writes and
//! cas ops that some needed op observes. The check applies when every
//! *observed* value (returned by a read, or expected by a cas) has exactly
//! one possible origin: one op writing it, or (for the initial value) no op
//! writing it. Our workloads write unique values per key, so this holds for
//! their histories; imported or hand-written ones may repeat values, and
//! are left to the search. Unobserved values may repeat.
//!
//! Under these premises every op must take effect: `ok` ops by definition,
//! and a kept `info` op because a needed op observes its value, which only
//! it writes (induction along the reduction's fixpoint). So each written
//! value is one *version*, and:
//!
//! - a read of `v` happens while `v`'s version is current;
//! - a cas `a -> b` takes effect while `a`'s version is current and makes
//!   `b`'s current: `b` directly follows `a` in the version order. Two cas
//!   ops from the same version cannot both take effect (a version, once
//!   replaced, never returns: its one writer took effect once);
//! - following these links from each plain write (and from the initial
//!   value) gives chains; a cas left outside every chain lies on a cycle
//!   of cas ops that nothing can start.
//!
//! A *block* is a chain with its reads. In any linearization a block's ops
//! are contiguous (only the block's own ops can run while one of its
//! versions is current, and only a plain write leaves it), and inside a
//! block they come in the *forced order*: the writer of the first version,
//! its reads (in any order), the cas to the second version, its reads, ...
//!
//! Invariant: block 0 is the initial value's (possibly empty); each other
//! block starts with its plain write; blocks list their ops in forced
//! order.

use super::{relevance::RegisterSearchOp, violation::Violation};
use crate::spec::{RegisterOp, RegisterRet};

/// Version id of the initial value (others are their writer's op index).
const INIT: u32 = u32::MAX;
/// No writer (yet).
const NONE: u32 = u32::MAX - 1;
/// More than one writer.
const MANY: u32 = u32::MAX - 2;

/// The key's ops grouped into blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocks {
    /// Op indices, block by block, each block in forced order.
    pub order: Vec<u32>,
    /// Per op: `2i` for the writer of its block's `i`-th version, `2i + 1`
    /// for a read of that version (the initial value is version 0 of block
    /// 0, without a writer).
    pub rank: Vec<u32>,
    /// Block `b` is `order[starts[b]..starts[b + 1]]`.
    pub starts: Vec<u32>,
}

impl Blocks {
    /// Number of blocks (block 0 included, even when empty).
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether there is no block at all (never: block 0 always exists).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ops of block `b` in forced order.
    pub fn block(&self, b: usize) -> &[u32] {
        &self.order[self.starts[b] as usize..self.starts[b + 1] as usize]
    }
}

/// Why the premises do not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotApplicable {
    /// An observed value has several possible origins.
    Ambiguous {
        /// The value's id.
        value: u32,
    },
    /// An op the version order does not model (a completed cas reported as
    /// failed, or a read without a result).
    Unmodelled {
        /// The op.
        op: usize,
    },
    /// More ops than the check's 32-bit indices hold.
    TooManyOps,
    /// Ops not sorted by call, or two events at one position (hand-built
    /// inputs; histories never have them).
    SharedPositions,
}

/// The outcome of [`build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// The premises hold and the structure is consistent.
    Blocks(Blocks),
    /// The premises hold and a necessary condition fails.
    Violation(Violation),
    /// The premises do not hold.
    NotApplicable(NotApplicable),
}

/// The value an op observes (reads, or expects), if any.
fn observed(o: &RegisterSearchOp) -> Option<u32> {
    match (&o.op, &o.ret) {
        (RegisterOp::Read, Some(RegisterRet::ReadOk(v))) => Some(*v),
        (RegisterOp::Cas { from, .. }, _) => Some(*from),
        _ => None,
    }
}

/// The value an op writes, if any.
fn written(o: &RegisterSearchOp) -> Option<u32> {
    match &o.op {
        RegisterOp::Write(v) | RegisterOp::Cas { to: v, .. } => Some(*v),
        RegisterOp::Read => None,
    }
}

/// Groups `ops` (reduced, sorted by call) into blocks from initial value
/// `init`.
pub fn build(init: u32, ops: &[RegisterSearchOp]) -> Shape {
    let n = ops.len();
    if n >= MANY as usize {
        return Shape::NotApplicable(NotApplicable::TooManyOps);
    }
    if let Some(k) = ops.iter().position(|o| {
        !matches!(
            (&o.op, &o.ret),
            (RegisterOp::Read, Some(RegisterRet::ReadOk(_)))
                | (RegisterOp::Write(_), None | Some(RegisterRet::WriteOk))
                | (RegisterOp::Cas { .. }, None | Some(RegisterRet::CasOk))
        )
    }) {
        return Shape::NotApplicable(NotApplicable::Unmodelled { op: k });
    }
    let values = ops
        .iter()
        .flat_map(|o| [observed(o), written(o)])
        .flatten()
        .chain([init])
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut writer = vec![NONE; values];
    for (k, o) in ops.iter().enumerate() {
        if let Some(v) = written(o) {
            let w = &mut writer[v as usize];
            *w = if *w == NONE { k as u32 } else { MANY };
        }
    }
    // The premises, over every observed value, before any verdict.
    for o in ops {
        if let Some(v) = observed(o) {
            let w = writer[v as usize];
            if w == MANY || (v == init && w != NONE) {
                return Shape::NotApplicable(NotApplicable::Ambiguous { value: v });
            }
        }
    }
    let version = |v: u32| match writer[v as usize] {
        NONE if v == init => Some(INIT),
        NONE => None,
        w => Some(w),
    };
    // Successor of each version by cas (slot `n` is the initial value's).
    let slot = |version: u32| if version == INIT { n } else { version as usize };
    let mut succ = vec![NONE; n + 1];
    // Reads of each version, as compressed rows.
    let mut read_start = vec![0u32; n + 2];
    let mut read_of = vec![NONE; n];
    for (k, o) in ops.iter().enumerate() {
        let Some(v) = observed(o) else { continue };
        let Some(p) = version(v) else {
            return Shape::Violation(match o.op {
                RegisterOp::Read => Violation::ReadOfUnwritten { read: k },
                _ => Violation::CasFromUnwritten { cas: k },
            });
        };
        if let RegisterOp::Read = o.op {
            read_of[k] = p;
            read_start[slot(p) + 1] += 1;
        } else {
            let s = &mut succ[slot(p)];
            if *s != NONE {
                return Shape::Violation(Violation::SharedPredecessor {
                    first: *s as usize,
                    second: k,
                });
            }
            *s = k as u32;
        }
    }
    for i in 0..=n {
        read_start[i + 1] += read_start[i];
    }
    let mut fill = read_start.clone();
    let mut reads = vec![0u32; read_start[n + 1] as usize];
    for (k, &p) in read_of.iter().enumerate() {
        if p != NONE {
            let s = slot(p);
            reads[fill[s] as usize] = k as u32;
            fill[s] += 1;
        }
    }
    drop(read_of);

    let mut order = Vec::with_capacity(n);
    let mut rank = vec![0u32; n];
    let mut starts = vec![0u32];
    let heads = std::iter::once(INIT).chain(
        ops.iter()
            .enumerate()
            .filter(|(_, o)| matches!(o.op, RegisterOp::Write(_)))
            .map(|(k, _)| k as u32),
    );
    let mut placed_cas = 0usize;
    for head in heads {
        let mut version = head;
        let mut i = 0u32;
        loop {
            if version != INIT {
                order.push(version);
                rank[version as usize] = 2 * i;
                if matches!(ops[version as usize].op, RegisterOp::Cas { .. }) {
                    placed_cas += 1;
                }
            }
            let s = slot(version);
            for &r in &reads[read_start[s] as usize..read_start[s + 1] as usize] {
                order.push(r);
                rank[r as usize] = 2 * i + 1;
            }
            version = succ[s];
            if version == NONE {
                break;
            }
            i += 1;
        }
        starts.push(order.len() as u32);
    }
    let cas_total = ops
        .iter()
        .filter(|o| matches!(o.op, RegisterOp::Cas { .. }))
        .count();
    if placed_cas < cas_total {
        // Chains are paths (one successor each, checked above), so a cas
        // no chain reached lies on a cycle of cas ops.
        let mut in_chain = vec![false; n];
        for &k in &order {
            in_chain[k as usize] = true;
        }
        let cas = (0..n)
            .find(|&k| matches!(ops[k].op, RegisterOp::Cas { .. }) && !in_chain[k])
            .unwrap_or_default();
        return Shape::Violation(Violation::CasCycle { cas });
    }
    Shape::Blocks(Blocks {
        order,
        rank,
        starts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{linearizable::wgl::SearchOp, spec::RegisterRet::*};

    fn op(call: u64, op: RegisterOp<u32>, ret: Option<RegisterRet<u32>>) -> RegisterSearchOp {
        SearchOp {
            op,
            ret_pos: if ret.is_some() { call + 100 } else { u64::MAX },
            ret,
            call,
            id: call as usize,
            expires: u64::MAX,
        }
    }

    #[test]
    fn chains_of_cas_join_their_write_and_reads() {
        use RegisterOp::*;
        let ops = vec![
            op(0, Read, Some(ReadOk(0))),               // reads the initial 0
            op(1, Write(1), Some(WriteOk)),             // block 1
            op(2, Cas { from: 1, to: 2 }, None),        // info cas, needed by 4
            op(3, Read, Some(ReadOk(1))),               // read of 1
            op(4, Read, Some(ReadOk(2))),               // read of 2
            op(5, Write(3), Some(WriteOk)),             // block 2, unread
            op(6, Cas { from: 0, to: 4 }, Some(CasOk)), // extends block 0
        ];
        let Shape::Blocks(b) = build(0, &ops) else {
            panic!("{:?}", build(0, &ops));
        };
        assert_eq!(b.len(), 3);
        assert_eq!(b.block(0), &[0, 6]);
        assert_eq!(b.block(1), &[1, 3, 2, 4]);
        assert_eq!(b.block(2), &[5]);
        assert_eq!(b.rank, vec![1, 0, 2, 1, 3, 0, 2]);
    }

    #[test]
    fn broken_premises_and_impossible_structures_are_told_apart() {
        use RegisterOp::*;
        let cases: Vec<(Vec<RegisterSearchOp>, Shape)> = vec![
            (
                vec![
                    op(0, Write(1), Some(WriteOk)),
                    op(1, Write(1), Some(WriteOk)),
                    op(2, Read, Some(ReadOk(1))),
                ],
                Shape::NotApplicable(NotApplicable::Ambiguous { value: 1 }),
            ),
            (
                // Unobserved repeated values are fine.
                vec![
                    op(0, Write(1), Some(WriteOk)),
                    op(1, Write(1), Some(WriteOk)),
                ],
                Shape::Blocks(Blocks {
                    order: vec![0, 1],
                    rank: vec![0, 0],
                    starts: vec![0, 0, 1, 2],
                }),
            ),
            (
                vec![op(0, Write(0), Some(WriteOk)), op(1, Read, Some(ReadOk(0)))],
                Shape::NotApplicable(NotApplicable::Ambiguous { value: 0 }),
            ),
            (
                vec![op(0, Cas { from: 0, to: 1 }, Some(CasFail))],
                Shape::NotApplicable(NotApplicable::Unmodelled { op: 0 }),
            ),
            (
                vec![op(0, Read, Some(ReadOk(7)))],
                Shape::Violation(Violation::ReadOfUnwritten { read: 0 }),
            ),
            (
                vec![op(0, Cas { from: 7, to: 1 }, Some(CasOk))],
                Shape::Violation(Violation::CasFromUnwritten { cas: 0 }),
            ),
            (
                vec![
                    op(0, Cas { from: 0, to: 1 }, Some(CasOk)),
                    op(1, Cas { from: 0, to: 2 }, Some(CasOk)),
                ],
                Shape::Violation(Violation::SharedPredecessor {
                    first: 0,
                    second: 1,
                }),
            ),
            (
                vec![
                    op(0, Cas { from: 2, to: 1 }, Some(CasOk)),
                    op(1, Cas { from: 1, to: 2 }, Some(CasOk)),
                ],
                Shape::Violation(Violation::CasCycle { cas: 0 }),
            ),
        ];
        for (ops, want) in cases {
            assert_eq!(build(0, &ops), want, "{ops:?}");
        }
    }
}
