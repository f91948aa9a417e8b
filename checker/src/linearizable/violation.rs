//! Why the version-order check found a register key not linearizable: one
//! [`Violation`], naming the ops involved, that a person can verify by
//! looking at those few ops.
//!
//! Each variant is a *necessary* condition of linearizability that the
//! ops break, given the check's premises (every observed value has one
//! writer, and every op left after the relevance reduction must take
//! effect; see `versions.rs`). Ops are indices into the key's op list;
//! [`Violation::map_ops`] translates them.

use serde::{Deserialize, Serialize};

/// The ops of one *block*: a value written by a plain write (or the
/// initial value) and the values a chain of cas ops derives from it, with
/// their reads. In every linearization a block's ops are contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The write that starts the block; `None` for the initial value.
    pub head: Option<usize>,
    /// The block's op that returned first; `None` when that is the
    /// initial value's virtual write, before everything.
    pub returns_first: Option<usize>,
    /// The block's op that was invoked last.
    pub invoked_last: usize,
    /// How many values the block holds (1 + its successful cas ops).
    pub values: usize,
}

/// A broken necessary condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Violation {
    /// An `ok` read returned a value that no op wrote and that is not the
    /// initial value.
    ReadOfUnwritten {
        /// The read.
        read: usize,
    },
    /// A cas that must take effect expects a value that no op wrote.
    CasFromUnwritten {
        /// The cas.
        cas: usize,
    },
    /// Two cas ops that must both take effect expect the same written
    /// value; after the first, that value is gone for good.
    SharedPredecessor {
        /// The first cas (in call order).
        first: usize,
        /// The second cas.
        second: usize,
    },
    /// Cas ops that must take effect each expect the value the previous
    /// one writes, in a cycle no write enters.
    CasCycle {
        /// One cas of the cycle.
        cas: usize,
    },
    /// `op` must be linearized after `before` (its value, or the value it
    /// reads, comes later in the version chain), but `before` was invoked
    /// only after `op` returned.
    MustFollow {
        /// The op that returned too early.
        op: usize,
        /// The op that must precede it.
        before: usize,
    },
    /// Two blocks of which neither can come first: `second` returned
    /// before `first` was invoked, and vice versa.
    Unorderable {
        /// One block.
        first: Span,
        /// The other.
        second: Span,
    },
}

impl Violation {
    /// The op this violation is mainly about (the one to show as
    /// "cannot be linearized"); `returned` gives an op's return position.
    pub fn main_op(&self, returned: impl Fn(usize) -> u64) -> usize {
        match *self {
            Violation::ReadOfUnwritten { read } => read,
            Violation::CasFromUnwritten { cas } | Violation::CasCycle { cas } => cas,
            Violation::SharedPredecessor { second, .. } => second,
            Violation::MustFollow { op, .. } => op,
            Violation::Unorderable { first, second } => {
                // The later of the two early returns is where the trouble
                // becomes visible.
                match (first.returns_first, second.returns_first) {
                    (Some(a), Some(b)) => {
                        if returned(a) >= returned(b) {
                            a
                        } else {
                            b
                        }
                    }
                    (Some(a), None) | (None, Some(a)) => a,
                    (None, None) => first.invoked_last,
                }
            }
        }
    }

    /// The same violation with every op index passed through `f`.
    pub fn map_ops(self, f: impl Fn(usize) -> usize) -> Violation {
        let span = |s: Span| Span {
            head: s.head.map(&f),
            returns_first: s.returns_first.map(&f),
            invoked_last: f(s.invoked_last),
            values: s.values,
        };
        match self {
            Violation::ReadOfUnwritten { read } => Violation::ReadOfUnwritten { read: f(read) },
            Violation::CasFromUnwritten { cas } => Violation::CasFromUnwritten { cas: f(cas) },
            Violation::SharedPredecessor { first, second } => Violation::SharedPredecessor {
                first: f(first),
                second: f(second),
            },
            Violation::CasCycle { cas } => Violation::CasCycle { cas: f(cas) },
            Violation::MustFollow { op, before } => Violation::MustFollow {
                op: f(op),
                before: f(before),
            },
            Violation::Unorderable { first, second } => Violation::Unorderable {
                first: span(first),
                second: span(second),
            },
        }
    }
}
