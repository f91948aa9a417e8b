//! [`AppendList`]: a list that can be appended to and read whole.
//!
//! Invariant: a read returns every appended element, in append order.

use std::fmt::Debug;

use stateright::semantics::SequentialSpec;

/// A list, initially empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppendList<T>(pub Vec<T>);

/// An operation on an [`AppendList`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListOp<T> {
    /// Append one element.
    Append(T),
    /// Read the whole list.
    Read,
}

/// What a [`ListOp`] returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListRet<T> {
    /// The append happened.
    AppendOk,
    /// The list read.
    ReadOk(Vec<T>),
}

impl<T: Clone + Debug + PartialEq> SequentialSpec for AppendList<T> {
    type Op = ListOp<T>;
    type Ret = ListRet<T>;

    fn invoke(&mut self, op: &Self::Op) -> Self::Ret {
        match op {
            ListOp::Append(v) => {
                self.0.push(v.clone());
                ListRet::AppendOk
            }
            ListOp::Read => ListRet::ReadOk(self.0.clone()),
        }
    }

    fn is_valid_step(&mut self, op: &Self::Op, ret: &Self::Ret) -> bool {
        match (op, ret) {
            (ListOp::Append(v), ListRet::AppendOk) => {
                self.0.push(v.clone());
                true
            }
            (ListOp::Read, ListRet::ReadOk(seen)) => &self.0 == seen,
            _ => false,
        }
    }
}

#[cfg(test)]
#[rustfmt::skip]
mod tests {
    use super::*;
    use ListOp::*;
    use ListRet::*;

    #[test]
    fn follows_list_semantics() {
        type Case<'a> = (&'a [(ListOp<u8>, ListRet<u8>)], bool);
        let cases: &[Case] = &[
            (&[(Read, ReadOk(vec![]))],                                     true),
            (&[(Append(1), AppendOk), (Read, ReadOk(vec![1]))],             true),
            (&[(Append(1), AppendOk), (Append(2), AppendOk), (Read, ReadOk(vec![2, 1]))], false),
            (&[(Append(1), AppendOk), (Read, ReadOk(vec![]))],              false),
            (&[(Read, ReadOk(vec![1]))],                                    false),
        ];
        for (history, valid) in cases {
            assert_eq!(AppendList::default().is_valid_history(history.iter().cloned()), *valid, "{history:?}");
        }
    }
}
