//! Consistency models a transactional history is judged against, and the
//! anomalies each one prohibits.
//!
//! The table follows Elle's `elle.consistency-model` (Adya's PL-levels,
//! Cerone et al., Bailis et al.), restricted to the models below, with one
//! deliberate difference explained in [`crate::txn::anomaly`]: item
//! anti-dependency cycles (G-single, G-nonadjacent) also rule out
//! `repeatable-read`.
//!
//! | model | prohibits directly (plus everything a weaker model prohibits) |
//! |---|---|
//! | `read-uncommitted` | G0, duplicate-elements, cyclic-versions, PL-1-cycle-exists |
//! | `read-committed` | G1a, G1b, G1c, PL-2-cycle-exists |
//! | `repeatable-read` | G2-item, lost-update, PL-3-cycle-exists |
//! | `snapshot-isolation` | internal, future-read, G-single, G-nonadjacent, lost-update, PL-SI-cycle-exists |
//! | `serializable` | internal (and all of repeatable-read and snapshot-isolation) |
//! | `strong-session-snapshot-isolation` | G1c-process, G-nonadjacent-process, its cycle-exists |
//! | `strong-session-serializable` | G2-item-process, its cycle-exists |
//! | `strict-serializable` | G1c-realtime, G2-item-realtime, PL-SS-cycle-exists |
//!
//! A model prohibits an anomaly if it or any model it implies prohibits the
//! anomaly or one the anomaly implies ([`ConsistencyModel::prohibited`]).
//!
//! Invariants: [`ConsistencyModel::weaker`] is acyclic; the declaration order
//! goes from weaker to stronger (a model never implies a later one).

use std::{collections::BTreeSet, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::txn::anomaly::{AnomalyType, implied_closure};

/// A consistency model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsistencyModel {
    /// Adya PL-1: no write cycles.
    ReadUncommitted,
    /// Adya PL-2: no G1 (aborted, intermediate reads, circular information flow).
    ReadCommitted,
    /// Adya PL-2.99: no G1, no item anti-dependency cycles.
    RepeatableRead,
    /// Adya PL-SI (generalized SI): no G1, no cycles without adjacent rw edges.
    SnapshotIsolation,
    /// Adya PL-3 (conflict serializability): no dependency cycles.
    Serializable,
    /// Snapshot isolation where each process observes its own past.
    StrongSessionSnapshotIsolation,
    /// Serializability where each process observes its own past.
    StrongSessionSerializable,
    /// Adya PL-SS: serializable in an order consistent with real time.
    StrictSerializable,
}

use ConsistencyModel::*;

/// Which extra orders a model needs in the dependency graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtraOrders {
    /// Process order (consecutive transactions of one process).
    pub process: bool,
    /// Real-time order (completion before invocation).
    pub realtime: bool,
}

impl ConsistencyModel {
    /// Every model, weakest first.
    pub const ALL: [ConsistencyModel; 8] = [
        ReadUncommitted,
        ReadCommitted,
        RepeatableRead,
        SnapshotIsolation,
        Serializable,
        StrongSessionSnapshotIsolation,
        StrongSessionSerializable,
        StrictSerializable,
    ];

    /// The kebab-case name (`strict-serializable`).
    pub fn name(self) -> &'static str {
        match self {
            ReadUncommitted => "read-uncommitted",
            ReadCommitted => "read-committed",
            RepeatableRead => "repeatable-read",
            SnapshotIsolation => "snapshot-isolation",
            Serializable => "serializable",
            StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            StrongSessionSerializable => "strong-session-serializable",
            StrictSerializable => "strict-serializable",
        }
    }

    /// The models this one directly implies (every history satisfying
    /// `self` satisfies them).
    pub fn weaker(self) -> &'static [ConsistencyModel] {
        match self {
            ReadUncommitted => &[],
            ReadCommitted => &[ReadUncommitted],
            RepeatableRead | SnapshotIsolation => &[ReadCommitted],
            Serializable => &[RepeatableRead, SnapshotIsolation],
            StrongSessionSnapshotIsolation => &[SnapshotIsolation],
            StrongSessionSerializable => &[Serializable, StrongSessionSnapshotIsolation],
            StrictSerializable => &[StrongSessionSerializable],
        }
    }

    /// What `self` prohibits beyond the models it implies.
    fn direct_prohibited(self) -> &'static [AnomalyType] {
        use AnomalyType::*;
        match self {
            ReadUncommitted => &[G0, DuplicateElements, CyclicVersions, Pl1CycleExists],
            ReadCommitted => &[G1a, G1b, G1c, Pl2CycleExists],
            RepeatableRead => &[G2Item, LostUpdate, Pl3CycleExists],
            SnapshotIsolation => &[
                Internal,
                FutureRead,
                GSingle,
                GNonadjacent,
                LostUpdate,
                PlSiCycleExists,
            ],
            Serializable => &[Internal, Pl3CycleExists],
            StrongSessionSnapshotIsolation => {
                &[G1cProcess, GNonadjacentProcess, StrongSessionSiCycleExists]
            }
            StrongSessionSerializable => &[G2ItemProcess, StrongSessionSerializableCycleExists],
            StrictSerializable => &[G1cRealtime, G2ItemRealtime, PlSsCycleExists],
        }
    }

    /// `self` and every model it implies.
    pub fn implied_models(self) -> BTreeSet<ConsistencyModel> {
        let mut out = BTreeSet::new();
        let mut todo = vec![self];
        while let Some(m) = todo.pop() {
            if out.insert(m) {
                todo.extend_from_slice(m.weaker());
            }
        }
        out
    }

    /// Every anomaly whose presence rules this model out.
    pub fn prohibited(self) -> BTreeSet<AnomalyType> {
        let direct: BTreeSet<AnomalyType> = self
            .implied_models()
            .into_iter()
            .flat_map(|m| m.direct_prohibited().iter().copied())
            .collect();
        AnomalyType::ALL
            .into_iter()
            .filter(|a| implied_closure([*a]).iter().any(|b| direct.contains(b)))
            .collect()
    }

    /// Whether `anomaly` rules this model out.
    pub fn prohibits(self, anomaly: AnomalyType) -> bool {
        self.prohibited().contains(&anomaly)
    }

    /// Orders besides ww/wr/rw that checking this model needs.
    pub fn extra_orders(self) -> ExtraOrders {
        match self {
            StrictSerializable => ExtraOrders {
                process: false,
                // Real time contains process order: a process runs one
                // transaction at a time.
                realtime: true,
            },
            StrongSessionSnapshotIsolation | StrongSessionSerializable => ExtraOrders {
                process: true,
                realtime: false,
            },
            _ => ExtraOrders::default(),
        }
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A consistency model name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown consistency model `{0}` (known: read-uncommitted, read-committed, repeatable-read, snapshot-isolation, serializable, strong-session-snapshot-isolation, strong-session-serializable, strict-serializable)"
)]
pub struct UnknownModel(pub String);

impl FromStr for ConsistencyModel {
    type Err = UnknownModel;

    /// Accepts the kebab-case names and Elle's aliases (`PL-3`,
    /// `strong-serializable`, `PL-SS`, `PL-SI`, ...).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let alias = match s {
            "PL-1" => Some(ReadUncommitted),
            "PL-2" => Some(ReadCommitted),
            "PL-2.99" => Some(RepeatableRead),
            "PL-SI" | "si" => Some(SnapshotIsolation),
            "PL-3" | "conflict-serializable" => Some(Serializable),
            "PL-SS" | "strong-serializable" => Some(StrictSerializable),
            _ => None,
        };
        alias
            .or_else(|| ConsistencyModel::ALL.into_iter().find(|m| m.name() == s))
            .ok_or_else(|| UnknownModel(s.to_owned()))
    }
}

/// The models `anomalies` rule out: `not` the weakest ones, `also_not` the
/// stronger ones (Elle's "boundary").
pub fn boundary(
    anomalies: &BTreeSet<AnomalyType>,
) -> (Vec<ConsistencyModel>, Vec<ConsistencyModel>) {
    let impossible: Vec<ConsistencyModel> = ConsistencyModel::ALL
        .into_iter()
        .filter(|m| {
            let prohibited = m.prohibited();
            anomalies.iter().any(|a| prohibited.contains(a))
        })
        .collect();
    let (weakest, stronger) = impossible.iter().partition(|m| {
        !m.implied_models()
            .iter()
            .any(|w| w != *m && impossible.contains(w))
    });
    (weakest, stronger)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::anomaly::AnomalyType::*;

    #[test]
    fn prohibition_table() {
        #[rustfmt::skip]
        let table: &[(AnomalyType, &[ConsistencyModel])] = &[
            // anomaly, weakest models it rules out
            (G0, &[ReadUncommitted]),
            (G1a, &[ReadCommitted]),
            (G1c, &[ReadCommitted]),
            (GSingle, &[RepeatableRead, SnapshotIsolation]),
            (G2Item, &[RepeatableRead]),
            (LostUpdate, &[RepeatableRead, SnapshotIsolation]),
            (Internal, &[SnapshotIsolation]),
            (GSingleProcess, &[StrongSessionSnapshotIsolation]),
            (G2ItemProcess, &[StrongSessionSerializable]),
            (GSingleRealtime, &[StrictSerializable]),
            (G0Realtime, &[StrictSerializable]),
            (IncompatibleOrder, &[ReadCommitted]),
            (CycleSearchTimeout, &[]),
        ];
        for (anomaly, want) in table {
            let (not, _) = boundary(&[*anomaly].into_iter().collect());
            assert_eq!(&not, want, "{anomaly}");
        }
        assert!(!SnapshotIsolation.prohibits(G2Item), "SI allows write skew");
        assert!(StrictSerializable.prohibits(G2Item));
        assert!(!Serializable.prohibits(GSingleRealtime));
    }

    #[test]
    fn names_and_aliases_parse() {
        for m in ConsistencyModel::ALL {
            assert_eq!(m.name().parse::<ConsistencyModel>(), Ok(m));
            assert_eq!(serde_json::to_string(&m).expect("json"), format!("\"{m}\""));
        }
        assert_eq!("PL-3".parse(), Ok(Serializable));
        assert!("linearizable".parse::<ConsistencyModel>().is_err());
    }
}
