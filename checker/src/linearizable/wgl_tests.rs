//! Unit tests of the WGL search on hand-built ops.

use super::*;
use crate::spec::{CasRegister, RegisterOp, RegisterRet};

type R = CasRegister<u32>;

fn op(
    call: u64,
    ret_pos: Option<u64>,
    op: RegisterOp<u32>,
    ret: Option<RegisterRet<u32>>,
) -> SearchOp<R> {
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
fn sequential_history_is_linearizable() {
    let ops = vec![
        op(0, Some(1), RegisterOp::Write(1), Some(RegisterRet::WriteOk)),
        op(2, Some(3), RegisterOp::Read, Some(RegisterRet::ReadOk(1))),
    ];
    let r = search(&CasRegister(0), &ops, None);
    assert!(
        matches!(r, SearchResult::Linearizable { ref order, .. } if order == &[0, 1]),
        "{r:?}"
    );
}

#[test]
fn stale_read_is_not_linearizable() {
    let ops = vec![
        op(0, Some(1), RegisterOp::Write(1), Some(RegisterRet::WriteOk)),
        op(2, Some(3), RegisterOp::Read, Some(RegisterRet::ReadOk(0))),
    ];
    match search(&CasRegister(0), &ops, None) {
        SearchResult::NotLinearizable {
            prefix,
            state,
            blocked,
            ..
        } => {
            assert_eq!(prefix, vec![0]);
            assert_eq!(state, CasRegister(1));
            assert_eq!(blocked, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn info_write_may_take_effect_later_or_never() {
    // info write of 5 at 0; reads later see 0 then 5.
    let ops = vec![
        op(0, None, RegisterOp::Write(5), None),
        op(1, Some(2), RegisterOp::Read, Some(RegisterRet::ReadOk(0))),
        op(3, Some(4), RegisterOp::Read, Some(RegisterRet::ReadOk(5))),
    ];
    let r = search(&CasRegister(0), &ops, None);
    assert!(
        matches!(r, SearchResult::Linearizable { ref order, .. } if order == &[1, 0, 2]),
        "{r:?}"
    );
    let never = &ops[..2];
    assert!(matches!(
        search(&CasRegister(0), never, None),
        SearchResult::Linearizable { .. }
    ));
}
