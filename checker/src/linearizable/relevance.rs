//! Which `info` ops of a register key can matter: the rest are dropped
//! before any engine runs.
//!
//! An op is *needed* when it completed (`ok`), or when it is an `info`
//! write or cas of a value `v` that a needed op observes (an `ok` read
//! returning `v`, or a needed cas from `v`). This is a least fixpoint,
//! computed from the completed ops outwards.
//!
//! # Soundness
//!
//! Dropping every op that is not needed changes no verdict, for any
//! register history (unique values or not):
//!
//! - a linearization of the reduced history is one of the full history:
//!   `info` ops may be left out;
//! - conversely take a linearization `L` of the full history. First drop
//!   from `L` every `info` op whose step leaves the state unchanged (no
//!   state changes, so `L` stays valid). Then drop every op that is not
//!   needed, giving `L'`. By induction along `L'`, the state before each
//!   op `z` of `L'` is the one it had in `L`: let `w` be the last op
//!   before `z` in `L` that changed the state. If `w` is needed it is in
//!   `L'` with the same state before it (induction), and the ops between
//!   `w` and `z` in `L'` changed nothing in `L`, so nothing in `L'`. If
//!   `w` is not needed it wrote the value `v` that `z` finds: `z` is then
//!   not a read (an `ok` read of `v` would make `w` needed), not a cas
//!   (every cas left in `L` changed the state, so was from `v`, and a
//!   needed cas from `v` makes `w` needed), so `z` is a write, which is
//!   valid in any state. Real-time order holds in a subsequence, and `L'`
//!   keeps every completed op.
//!
//! Invariant: completed ops are always kept; the kept ops stay in their
//! input order.

use super::wgl::SearchOp;
use crate::spec::{CasRegister, RegisterOp, RegisterRet};

/// A register op as the engines see it (values interned to `u32` ids).
pub type RegisterSearchOp = SearchOp<CasRegister<u32>>;

/// For each op, whether it is needed (see the module docs).
pub fn needed(ops: &[RegisterSearchOp]) -> Vec<bool> {
    let values = ops
        .iter()
        .flat_map(|o| match &o.op {
            RegisterOp::Read => match &o.ret {
                Some(RegisterRet::ReadOk(v)) => [Some(*v), None],
                _ => [None, None],
            },
            RegisterOp::Write(v) => [Some(*v), None],
            RegisterOp::Cas { from, to } => [Some(*from), Some(*to)],
        })
        .flatten()
        .max()
        .map_or(0, |m| m as usize + 1);
    // The info ops writing each value, as compressed rows.
    let written = |o: &RegisterSearchOp| match (&o.op, &o.ret) {
        (RegisterOp::Write(v) | RegisterOp::Cas { to: v, .. }, None) => Some(*v as usize),
        _ => None,
    };
    let mut start = vec![0u32; values + 1];
    for o in ops {
        if let Some(v) = written(o) {
            start[v + 1] += 1;
        }
    }
    for v in 0..values {
        start[v + 1] += start[v];
    }
    let mut fill = start.clone();
    let mut writers = vec![0u32; start[values] as usize];
    for (k, o) in ops.iter().enumerate() {
        if let Some(v) = written(o) {
            writers[fill[v] as usize] = k as u32;
            fill[v] += 1;
        }
    }

    let mut needed: Vec<bool> = ops.iter().map(|o| o.ret.is_some()).collect();
    let mut work: Vec<u32> = (0..ops.len() as u32)
        .filter(|&k| needed[k as usize])
        .collect();
    // Each value's writers are released at most once.
    let mut released = vec![false; values];
    while let Some(k) = work.pop() {
        let o = &ops[k as usize];
        let observed = match (&o.op, &o.ret) {
            (RegisterOp::Read, Some(RegisterRet::ReadOk(v))) => *v,
            (RegisterOp::Cas { from, .. }, _) => *from,
            _ => continue,
        } as usize;
        if std::mem::replace(&mut released[observed], true) {
            continue;
        }
        for &w in &writers[start[observed] as usize..start[observed + 1] as usize] {
            if !std::mem::replace(&mut needed[w as usize], true) {
                work.push(w);
            }
        }
    }
    needed
}

/// Keeps only the needed ops (in order).
pub fn retain_needed(ops: &mut Vec<RegisterSearchOp>) {
    let keep = needed(ops);
    let mut i = 0;
    ops.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call: u64, op: RegisterOp<u32>, ret: Option<RegisterRet<u32>>) -> RegisterSearchOp {
        SearchOp {
            op,
            ret_pos: if ret.is_some() { call + 1 } else { u64::MAX },
            ret,
            call,
            id: call as usize,
            expires: u64::MAX,
        }
    }

    #[test]
    fn only_info_ops_a_needed_op_can_observe_are_needed() {
        use RegisterOp::*;
        let ops = vec![
            // 0: info write 1, read by the ok read 5: needed.
            op(0, Write(1), None),
            // 1: info cas 1 -> 2, whose 2 only the info cas 2 -> 3 (op 2)
            // observes, whose 3 nobody observes: neither is needed.
            op(1, Cas { from: 1, to: 2 }, None),
            op(2, Cas { from: 2, to: 3 }, None),
            // 3, 4: a cycle of info cas ops observing each other only.
            op(3, Cas { from: 7, to: 8 }, None),
            op(4, Cas { from: 8, to: 7 }, None),
            op(5, Read, Some(RegisterRet::ReadOk(1))),
            // 6: info write 9, observed by the info cas 9 -> 10 (7), which
            // the ok cas 10 -> 11 (8) observes: both needed.
            op(6, Write(9), None),
            op(7, Cas { from: 9, to: 10 }, None),
            op(8, Cas { from: 10, to: 11 }, Some(RegisterRet::CasOk)),
        ];
        let got = needed(&ops);
        assert_eq!(
            got,
            vec![true, false, false, false, false, true, true, true, true]
        );
        let mut kept = ops.clone();
        retain_needed(&mut kept);
        let ids: Vec<usize> = kept.iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![0, 5, 6, 7, 8]);
    }
}
