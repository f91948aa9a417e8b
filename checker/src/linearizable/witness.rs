//! An independent check of a claimed linearization (a *witness*), so that a
//! `valid` verdict never rests on an engine's reasoning alone.
//!
//! A witness for a key's ops is a sequence of op indices such that:
//! - no index repeats and every completed op appears (`info` ops may be
//!   left out);
//! - replaying it through the sequential spec from the initial state, each
//!   completed op returns what it returned in the history (`info` ops are
//!   applied and may return anything);
//! - real time is respected: no op comes after an op that returned before
//!   it was invoked.
//!
//! This file deliberately shares no code with the engines: it is short
//! enough to be read as the definition of linearizability.

use stateright::semantics::SequentialSpec;
use thiserror::Error;

use super::wgl::SearchOp;

/// Why a claimed linearization is not one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WitnessError {
    /// An index past the key's ops.
    #[error("witness names op {0}, past the key's ops")]
    OutOfRange(usize),
    /// An op linearized twice.
    #[error("witness linearizes op {0} twice")]
    Repeated(usize),
    /// A completed op left out.
    #[error("witness leaves out completed op {0}")]
    Missing(usize),
    /// The spec does not allow an op's result at its place.
    #[error("op {op} cannot return what it returned at position {position} of the witness")]
    InvalidStep {
        /// The op.
        op: usize,
        /// Its position in the witness.
        position: usize,
    },
    /// An op placed after one that returned before it was invoked.
    #[error("op {later} comes after op {earlier}, but returned before op {earlier} was invoked")]
    RealTime {
        /// The op placed first.
        earlier: usize,
        /// The op placed after it, which returned before `earlier` began.
        later: usize,
    },
}

/// Checks that `order` (indices into `ops`) is a linearization of `ops`
/// from `init`; returns the state after it.
pub fn verify<S>(init: &S, ops: &[SearchOp<S>], order: &[usize]) -> Result<S, WitnessError>
where
    S: SequentialSpec + Clone,
{
    let mut placed = vec![false; ops.len()];
    for &k in order {
        let seen = placed.get_mut(k).ok_or(WitnessError::OutOfRange(k))?;
        if std::mem::replace(seen, true) {
            return Err(WitnessError::Repeated(k));
        }
    }
    if let Some(k) = (0..ops.len()).find(|&k| ops[k].ret.is_some() && !placed[k]) {
        return Err(WitnessError::Missing(k));
    }
    let mut state = init.clone();
    for (position, &k) in order.iter().enumerate() {
        let o = &ops[k];
        match &o.ret {
            Some(ret) => {
                if !state.is_valid_step(&o.op, ret) {
                    return Err(WitnessError::InvalidStep { op: k, position });
                }
            }
            None => {
                state.invoke(&o.op);
            }
        }
    }
    // Real time: walking backwards, remember the op that returns first
    // among those placed later; every op must be invoked before it.
    let returns = |k: usize| match ops[k].ret {
        Some(_) => ops[k].ret_pos,
        None => u64::MAX,
    };
    let mut first_return_after: Option<usize> = None;
    for &k in order.iter().rev() {
        if let Some(later) = first_return_after
            && returns(later) < ops[k].call
        {
            return Err(WitnessError::RealTime { earlier: k, later });
        }
        if first_return_after.is_none_or(|l| returns(k) < returns(l)) {
            first_return_after = Some(k);
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{CasRegister, RegisterOp, RegisterRet};

    fn op(
        call: u64,
        ret_pos: Option<u64>,
        op: RegisterOp<u32>,
        ret: Option<RegisterRet<u32>>,
    ) -> SearchOp<CasRegister<u32>> {
        SearchOp {
            op,
            ret,
            call,
            ret_pos: ret_pos.unwrap_or(u64::MAX),
            id: call as usize,
            expires: u64::MAX,
        }
    }

    #[test]
    fn each_rule_of_a_linearization_is_enforced() {
        use RegisterOp::*;
        use RegisterRet::*;
        // write 1 [0,1], read 1 [2,3], info write 2 [4,-], read 2 [5,6]
        let ops = vec![
            op(0, Some(1), Write(1), Some(WriteOk)),
            op(2, Some(3), Read, Some(ReadOk(1))),
            op(4, None, Write(2), None),
            op(5, Some(6), Read, Some(ReadOk(2))),
        ];
        let init = CasRegister(0);
        assert_eq!(verify(&init, &ops, &[0, 1, 2, 3]), Ok(CasRegister(2)));
        assert_eq!(
            verify(&init, &ops, &[0, 1, 2, 3, 9]),
            Err(WitnessError::OutOfRange(9))
        );
        assert_eq!(
            verify(&init, &ops, &[0, 1, 1, 2, 3]),
            Err(WitnessError::Repeated(1))
        );
        assert_eq!(
            verify(&init, &ops, &[0, 1, 2]),
            Err(WitnessError::Missing(3))
        );
        assert_eq!(
            verify(&init, &ops, &[0, 1, 3]),
            Err(WitnessError::InvalidStep { op: 3, position: 2 })
        );
        // Reading 1 after the write of 2 is a wrong step, whatever time says.
        assert_eq!(
            verify(&init, &ops, &[0, 2, 1, 3]),
            Err(WitnessError::InvalidStep { op: 1, position: 2 })
        );
        // A spec-valid order that breaks real time: the read of the
        // initial 0 placed first, though write 1 ... let the read of 0 be
        // invoked after the write returned.
        let late_read = vec![
            op(0, Some(1), Write(1), Some(WriteOk)),
            op(2, Some(3), Read, Some(ReadOk(0))),
        ];
        assert_eq!(
            verify(&init, &late_read, &[1, 0]),
            Err(WitnessError::RealTime {
                earlier: 1,
                later: 0
            })
        );
    }
}
