//! [`CasRegister`]: a read/write/compare-and-set register.
//!
//! Invariant: a `Cas` whose `from` differs from the current value returns
//! `CasFail` and leaves the state unchanged (so a failed cas is a no-op).

use std::fmt::Debug;

use stateright::semantics::SequentialSpec;

/// A register holding one value (initially whatever it is built with; the
/// workloads start from `null`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CasRegister<T>(pub T);

/// An operation on a [`CasRegister`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp<T> {
    /// Read the value.
    Read,
    /// Replace the value.
    Write(T),
    /// Replace the value with `to` if it is `from`.
    Cas {
        /// Expected current value.
        from: T,
        /// New value.
        to: T,
    },
}

/// What a [`RegisterOp`] returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterRet<T> {
    /// The value read.
    ReadOk(T),
    /// The write happened.
    WriteOk,
    /// The cas matched and happened.
    CasOk,
    /// The cas did not match; nothing changed.
    CasFail,
}

impl<T: Clone + Debug + PartialEq> SequentialSpec for CasRegister<T> {
    type Op = RegisterOp<T>;
    type Ret = RegisterRet<T>;

    fn invoke(&mut self, op: &Self::Op) -> Self::Ret {
        match op {
            RegisterOp::Read => RegisterRet::ReadOk(self.0.clone()),
            RegisterOp::Write(v) => {
                self.0 = v.clone();
                RegisterRet::WriteOk
            }
            RegisterOp::Cas { from, to } => {
                if &self.0 == from {
                    self.0 = to.clone();
                    RegisterRet::CasOk
                } else {
                    RegisterRet::CasFail
                }
            }
        }
    }

    fn is_valid_step(&mut self, op: &Self::Op, ret: &Self::Ret) -> bool {
        // No clone on reads: this is the search's hot path.
        match (op, ret) {
            (RegisterOp::Read, RegisterRet::ReadOk(v)) => &self.0 == v,
            (RegisterOp::Write(v), RegisterRet::WriteOk) => {
                self.0 = v.clone();
                true
            }
            (RegisterOp::Cas { from, to }, RegisterRet::CasOk) if &self.0 == from => {
                self.0 = to.clone();
                true
            }
            (RegisterOp::Cas { from, .. }, RegisterRet::CasFail) => &self.0 != from,
            _ => false,
        }
    }
}

#[cfg(test)]
#[rustfmt::skip]
mod tests {
    use super::*;
    use RegisterOp::*;
    use RegisterRet::*;

    #[test]
    fn follows_register_semantics() {
        type Case<'a> = (u8, &'a [(RegisterOp<u8>, RegisterRet<u8>)], bool);
        let cases: &[Case] = &[
            (0, &[(Read, ReadOk(0))],                                   true),
            (0, &[(Read, ReadOk(1))],                                   false),
            (0, &[(Write(1), WriteOk), (Read, ReadOk(1))],              true),
            (0, &[(Write(1), WriteOk), (Read, ReadOk(0))],              false),
            (0, &[(Cas { from: 0, to: 2 }, CasOk), (Read, ReadOk(2))],  true),
            (0, &[(Cas { from: 1, to: 2 }, CasOk)],                     false),
            (0, &[(Cas { from: 1, to: 2 }, CasFail), (Read, ReadOk(0))], true),
            (0, &[(Cas { from: 0, to: 2 }, CasFail)],                   false),
            (0, &[(Write(1), ReadOk(1))],                               false),
        ];
        for (init, history, valid) in cases {
            assert_eq!(
                CasRegister(*init).is_valid_history(history.iter().cloned()),
                *valid,
                "{history:?}"
            );
        }
    }
}
