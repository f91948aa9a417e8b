//! Injected anomalies: small groups of transactions ("gadgets") on fresh
//! keys and processes that show exactly one anomaly type each.

use crate::{
    history::Outcome,
    txn::{
        anomaly::AnomalyType,
        model::ConsistencyModel,
        options::{TxnOptions, TxnWorkload},
    },
};

use super::workload::{GenMop, Seen};

/// One transaction of a gadget: invoked at the start of `invoke_stage`,
/// completed at the end of `complete_stage`; keys are gadget-local slots.
#[derive(Debug, Clone)]
pub(super) struct GadgetTxn {
    pub(super) process: usize,
    pub(super) outcome: Outcome,
    pub(super) invoke_stage: usize,
    pub(super) complete_stage: usize,
    mops: Vec<(char, u64, GadgetValue)>,
}

#[derive(Debug, Clone)]
enum GadgetValue {
    One(u64),
    Nil,
    List(Vec<u64>),
}

impl GadgetTxn {
    pub(super) fn mops(&self, workload: TxnWorkload, key_base: u64) -> Vec<GenMop> {
        self.mops
            .iter()
            .map(|(f, k, v)| {
                let key = key_base + k;
                match (f, v) {
                    ('a', GadgetValue::One(e)) => GenMop::Append(key, *e),
                    ('w', GadgetValue::One(e)) => GenMop::Write(key, *e),
                    (_, GadgetValue::List(l)) => GenMop::Read(key, Some(Seen::List(l.clone()))),
                    (_, GadgetValue::One(e)) if workload == TxnWorkload::RwRegister => {
                        GenMop::Read(key, Some(Seen::Value(Some(*e))))
                    }
                    (_, GadgetValue::Nil) if workload == TxnWorkload::RwRegister => {
                        GenMop::Read(key, Some(Seen::Value(None)))
                    }
                    _ => GenMop::Read(key, Some(Seen::List(Vec::new()))),
                }
            })
            .collect()
    }
}

/// The anomaly types [`TxnGen::inject`](super::TxnGen::inject) can produce for `workload`.
pub fn injectable(workload: TxnWorkload) -> Vec<AnomalyType> {
    AnomalyType::ALL
        .into_iter()
        .filter(|&a| gadget(workload, a).is_some())
        .collect()
}

/// Options under which an injected `kind` is reported as itself: process
/// variants need a strong-session model, rw-register ww edges need
/// writes-follow-reads.
pub fn detect_options(workload: TxnWorkload, kind: AnomalyType) -> TxnOptions {
    use AnomalyType::*;
    let consistency_model = match kind {
        G0Process | G1cProcess | GSingleProcess | GNonadjacentProcess | G2ItemProcess => {
            ConsistencyModel::StrongSessionSerializable
        }
        _ => ConsistencyModel::StrictSerializable,
    };
    TxnOptions {
        workload: Some(workload),
        consistency_model,
        wfr_keys: workload == TxnWorkload::RwRegister
            && matches!(kind, G0 | G0Realtime | G0Process | CyclicVersions),
        ..TxnOptions::default()
    }
}

/// `(process, outcome, invoke stage, complete stage, micro-ops)`.
type GadgetRow = (usize, Outcome, usize, usize, Vec<(char, u64, GadgetValue)>);

/// Builds gadget transactions from a terse table: `(process, outcome,
/// invoke stage, complete stage, micro-ops)` where a micro-op is
/// `(f, key slot, value)`: f `a`ppend, `w`rite or `r`ead.
fn txns(rows: Vec<GadgetRow>) -> Vec<GadgetTxn> {
    rows.into_iter()
        .map(
            |(process, outcome, invoke_stage, complete_stage, mops)| GadgetTxn {
                process,
                outcome,
                invoke_stage,
                complete_stage,
                mops,
            },
        )
        .collect()
}

/// The gadget of `kind` for `workload`, if there is one. Keys: x=0, y=1,
/// z=2, w=3. Concurrent transactions span stages (0, last); sequential
/// ones take one stage each, so real time orders them.
pub(super) fn gadget(workload: TxnWorkload, kind: AnomalyType) -> Option<Vec<GadgetTxn>> {
    use AnomalyType::*;
    use GadgetValue::{List, Nil, One};
    use Outcome::{Fail, Ok};
    const X: u64 = 0;
    const Y: u64 = 1;
    const Z: u64 = 2;
    const W: u64 = 3;
    let l = |v: &[u64]| List(v.to_vec());
    let list = workload == TxnWorkload::ListAppend;
    // A write for the workload, and a read of "nothing" / of one value.
    let wr = if list { 'a' } else { 'w' };
    let empty = || if list { List(Vec::new()) } else { Nil };
    let saw = |v: u64| if list { List(vec![v]) } else { One(v) };
    let rows = match kind {
        G1a => vec![
            (0, Fail, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![('r', X, saw(1))]),
        ],
        G1b => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1)), (wr, X, One(2))]),
            (1, Ok, 0, 1, vec![('r', X, saw(1))]),
        ],
        G1c => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1)), ('r', Y, saw(1))]),
            (1, Ok, 0, 1, vec![(wr, Y, One(1)), ('r', X, saw(1))]),
        ],
        GSingle => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), ('r', Y, saw(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
        ],
        GNonadjacent => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), ('r', W, saw(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
            (2, Ok, 0, 1, vec![('r', Y, saw(1)), ('r', Z, empty())]),
            (3, Ok, 0, 1, vec![(wr, Z, One(1)), (wr, W, One(1))]),
        ],
        G2Item => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), (wr, Y, One(1))]),
            (1, Ok, 0, 1, vec![('r', Y, empty()), (wr, X, One(1))]),
        ],
        LostUpdate => vec![
            (0, Ok, 0, 1, vec![('r', X, empty()), (wr, X, One(1))]),
            (1, Ok, 0, 1, vec![('r', X, empty()), (wr, X, One(2))]),
        ],
        GarbageRead => vec![(0, Ok, 0, 1, vec![('r', X, saw(7))])],
        Internal if list => vec![(0, Ok, 0, 1, vec![(wr, X, One(1)), ('r', X, empty())])],
        Internal => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(2))]),
            (1, Ok, 1, 1, vec![(wr, X, One(1)), ('r', X, One(2))]),
        ],
        FutureRead if list => vec![(0, Ok, 0, 1, vec![('r', X, l(&[1])), (wr, X, One(1))])],
        DuplicateElements if list => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![('r', X, l(&[1, 1]))]),
        ],
        IncompatibleOrder if list => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(2))]),
            (2, Ok, 0, 1, vec![('r', X, l(&[1, 2]))]),
            (3, Ok, 0, 1, vec![('r', X, l(&[2, 1]))]),
        ],
        DirtyUpdate if list => vec![
            (0, Fail, 0, 1, vec![(wr, X, One(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(2))]),
            (2, Ok, 0, 1, vec![('r', X, l(&[1, 2]))]),
        ],
        G0 if list => vec![
            (0, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
            (1, Ok, 0, 1, vec![(wr, X, One(2)), (wr, Y, One(2))]),
            (
                2,
                Ok,
                0,
                1,
                vec![('r', X, l(&[1, 2])), ('r', Y, l(&[2, 1]))],
            ),
        ],
        // rw-register ww edges come from writes-follow-reads.
        G0 => vec![
            (
                0,
                Ok,
                0,
                1,
                vec![('w', X, One(1)), ('r', Y, One(2)), ('w', Y, One(3))],
            ),
            (
                1,
                Ok,
                0,
                1,
                vec![('r', X, One(1)), ('w', X, One(2)), ('w', Y, One(2))],
            ),
        ],
        CyclicVersions if !list => vec![
            (0, Ok, 0, 1, vec![('r', X, One(1)), ('w', X, One(2))]),
            (1, Ok, 0, 1, vec![('r', X, One(2)), ('w', X, One(1))]),
        ],
        G0Realtime | G0Process if list => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(1))]),
            (0, Ok, 1, 1, vec![(wr, X, One(2))]),
            (1, Ok, 2, 2, vec![('r', X, l(&[2, 1]))]),
        ],
        G0Realtime | G0Process => vec![
            (0, Ok, 0, 0, vec![('r', X, One(2)), ('w', X, One(3))]),
            (0, Ok, 1, 1, vec![('w', X, One(2))]),
        ],
        G1cRealtime | G1cProcess => vec![
            (0, Ok, 0, 0, vec![('r', X, saw(1))]),
            (0, Ok, 1, 1, vec![(wr, X, One(1))]),
        ],
        GSingleRealtime | GSingleProcess => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(1))]),
            (0, Ok, 1, 1, vec![('r', X, empty())]),
        ],
        GNonadjacentRealtime | GNonadjacentProcess => vec![
            (0, Ok, 0, 0, vec![(wr, W, One(1))]),
            (0, Ok, 1, 1, vec![('r', X, empty())]),
            (1, Ok, 0, 1, vec![(wr, X, One(1)), (wr, Y, One(1))]),
            (2, Ok, 0, 1, vec![('r', Y, saw(1)), ('r', W, empty())]),
        ],
        G2ItemRealtime | G2ItemProcess => vec![
            (0, Ok, 0, 0, vec![(wr, X, One(1))]),
            (0, Ok, 1, 1, vec![('r', Y, empty())]),
            (1, Ok, 0, 1, vec![('r', X, empty()), (wr, Y, One(1))]),
        ],
        _ => return None,
    };
    let mut out = txns(rows);
    // Real-time variants: the sequential pair runs on different processes
    // (no process order between them); process variants on one.
    let realtime = matches!(
        kind,
        G0Realtime | G1cRealtime | GSingleRealtime | GNonadjacentRealtime | G2ItemRealtime
    );
    if realtime {
        for (i, t) in out.iter_mut().enumerate() {
            t.process = i;
        }
    }
    Some(out)
}
