//! Anomaly types, named as Elle names them, and which anomaly implies which.
//!
//! Invariants:
//! - the declaration order of [`AnomalyType`] is the order anomalies are
//!   reported in and the order cycle searches run in (worst first: data-only
//!   cycles, then process variants, then real-time variants);
//! - [`AnomalyType::implies`] is acyclic; [`implied_closure`] is its
//!   reflexive-transitive closure. "A implies B" means a history showing A
//!   also shows B, so a model that prohibits B prohibits A.
//!
//! All our anti-dependencies are *item* anti-dependencies (micro-ops name
//! keys; there are no predicate reads), so every G-single and G-nonadjacent
//! cycle is also a G2-item cycle (Adya's G2-item: a cycle with one or more
//! item anti-dependency edges). Elle's own table leaves that link out (it
//! notes the gap as a to-do); we keep it, so `repeatable-read` is ruled out
//! by any data cycle with an anti-dependency.

use std::{collections::BTreeSet, fmt};

use serde::{Deserialize, Serialize};

/// A kind of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AnomalyType {
    /// Write cycle: a cycle of write-write (ww) dependencies.
    #[serde(rename = "G0")]
    G0,
    /// Aborted read: a committed transaction read a write of a failed one.
    #[serde(rename = "G1a")]
    G1a,
    /// Intermediate read: a committed transaction read a version that
    /// another transaction overwrote within itself.
    #[serde(rename = "G1b")]
    G1b,
    /// Circular information flow: a cycle of ww and wr edges, at least one wr.
    #[serde(rename = "G1c")]
    G1c,
    /// Read skew: a cycle with exactly one anti-dependency (rw) edge.
    #[serde(rename = "G-single")]
    GSingle,
    /// A cycle with two or more rw edges, no two of them adjacent.
    #[serde(rename = "G-nonadjacent")]
    GNonadjacent,
    /// Write skew / anti-dependency cycle: two or more rw edges, some adjacent.
    #[serde(rename = "G2-item")]
    G2Item,
    /// G0 through process order.
    #[serde(rename = "G0-process")]
    G0Process,
    /// G1c through process order.
    #[serde(rename = "G1c-process")]
    G1cProcess,
    /// G-single through process order.
    #[serde(rename = "G-single-process")]
    GSingleProcess,
    /// G-nonadjacent through process order.
    #[serde(rename = "G-nonadjacent-process")]
    GNonadjacentProcess,
    /// G2-item through process order.
    #[serde(rename = "G2-item-process")]
    G2ItemProcess,
    /// G0 through real-time order.
    #[serde(rename = "G0-realtime")]
    G0Realtime,
    /// G1c through real-time order (e.g. a read of a write invoked later).
    #[serde(rename = "G1c-realtime")]
    G1cRealtime,
    /// G-single through real-time order (e.g. a stale read).
    #[serde(rename = "G-single-realtime")]
    GSingleRealtime,
    /// G-nonadjacent through real-time order.
    #[serde(rename = "G-nonadjacent-realtime")]
    GNonadjacentRealtime,
    /// G2-item through real-time order.
    #[serde(rename = "G2-item-realtime")]
    G2ItemRealtime,
    /// A committed write followed (in version order) a failed one.
    #[serde(rename = "dirty-update")]
    DirtyUpdate,
    /// A read observed a value that no transaction wrote.
    #[serde(rename = "garbage-read")]
    GarbageRead,
    /// A transaction's read disagrees with its own earlier reads and writes.
    #[serde(rename = "internal")]
    Internal,
    /// A transaction read a value it only wrote later.
    #[serde(rename = "future-read")]
    FutureRead,
    /// A read of a list showed one element more than once.
    #[serde(rename = "duplicate-elements")]
    DuplicateElements,
    /// Two reads of a list are not prefixes of one order of appends.
    #[serde(rename = "incompatible-order")]
    IncompatibleOrder,
    /// Two committed transactions read the same version of a key and both
    /// wrote it.
    #[serde(rename = "lost-update")]
    LostUpdate,
    /// The version order inferred for a register is cyclic.
    #[serde(rename = "cyclic-versions")]
    CyclicVersions,
    /// A cycle of ww edges exists (found without naming a shortest one).
    #[serde(rename = "PL-1-cycle-exists")]
    Pl1CycleExists,
    /// A cycle of ww and wr edges exists.
    #[serde(rename = "PL-2-cycle-exists")]
    Pl2CycleExists,
    /// A cycle without adjacent rw edges exists.
    #[serde(rename = "PL-SI-cycle-exists")]
    PlSiCycleExists,
    /// A cycle of ww, wr and rw edges exists.
    #[serde(rename = "PL-3-cycle-exists")]
    Pl3CycleExists,
    /// A cycle without adjacent rw edges, with process edges, exists.
    #[serde(rename = "strong-session-snapshot-isolation-cycle-exists")]
    StrongSessionSiCycleExists,
    /// A cycle of ww, wr, rw and process edges exists.
    #[serde(rename = "strong-session-serializable-cycle-exists")]
    StrongSessionSerializableCycleExists,
    /// A cycle of ww, wr, rw and real-time edges exists.
    #[serde(rename = "PL-SS-cycle-exists")]
    PlSsCycleExists,
    /// The search for a named cycle in a component ran out of budget.
    #[serde(rename = "cycle-search-timeout")]
    CycleSearchTimeout,
    /// No transaction committed, so nothing could be checked.
    #[serde(rename = "empty-transaction-graph")]
    EmptyTransactionGraph,
}

use AnomalyType::*;

impl AnomalyType {
    /// Every anomaly type, in declaration (severity) order.
    pub const ALL: [AnomalyType; 34] = [
        G0,
        G1a,
        G1b,
        G1c,
        GSingle,
        GNonadjacent,
        G2Item,
        G0Process,
        G1cProcess,
        GSingleProcess,
        GNonadjacentProcess,
        G2ItemProcess,
        G0Realtime,
        G1cRealtime,
        GSingleRealtime,
        GNonadjacentRealtime,
        G2ItemRealtime,
        DirtyUpdate,
        GarbageRead,
        Internal,
        FutureRead,
        DuplicateElements,
        IncompatibleOrder,
        LostUpdate,
        CyclicVersions,
        Pl1CycleExists,
        Pl2CycleExists,
        PlSiCycleExists,
        Pl3CycleExists,
        StrongSessionSiCycleExists,
        StrongSessionSerializableCycleExists,
        PlSsCycleExists,
        CycleSearchTimeout,
        EmptyTransactionGraph,
    ];

    /// The name Elle uses (`G-single`, `lost-update`, ...).
    pub fn name(self) -> &'static str {
        match self {
            G0 => "G0",
            G1a => "G1a",
            G1b => "G1b",
            G1c => "G1c",
            GSingle => "G-single",
            GNonadjacent => "G-nonadjacent",
            G2Item => "G2-item",
            G0Process => "G0-process",
            G1cProcess => "G1c-process",
            GSingleProcess => "G-single-process",
            GNonadjacentProcess => "G-nonadjacent-process",
            G2ItemProcess => "G2-item-process",
            G0Realtime => "G0-realtime",
            G1cRealtime => "G1c-realtime",
            GSingleRealtime => "G-single-realtime",
            GNonadjacentRealtime => "G-nonadjacent-realtime",
            G2ItemRealtime => "G2-item-realtime",
            DirtyUpdate => "dirty-update",
            GarbageRead => "garbage-read",
            Internal => "internal",
            FutureRead => "future-read",
            DuplicateElements => "duplicate-elements",
            IncompatibleOrder => "incompatible-order",
            LostUpdate => "lost-update",
            CyclicVersions => "cyclic-versions",
            Pl1CycleExists => "PL-1-cycle-exists",
            Pl2CycleExists => "PL-2-cycle-exists",
            PlSiCycleExists => "PL-SI-cycle-exists",
            Pl3CycleExists => "PL-3-cycle-exists",
            StrongSessionSiCycleExists => "strong-session-snapshot-isolation-cycle-exists",
            StrongSessionSerializableCycleExists => "strong-session-serializable-cycle-exists",
            PlSsCycleExists => "PL-SS-cycle-exists",
            CycleSearchTimeout => "cycle-search-timeout",
            EmptyTransactionGraph => "empty-transaction-graph",
        }
    }

    /// The anomaly type named `name` (Elle's spelling).
    pub fn from_name(name: &str) -> Option<AnomalyType> {
        AnomalyType::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether this is a cycle through the dependency graph (as opposed to
    /// a property of single reads, keys or transactions).
    pub fn is_cycle(self) -> bool {
        matches!(
            self,
            G0 | G1c
                | GSingle
                | GNonadjacent
                | G2Item
                | G0Process
                | G1cProcess
                | GSingleProcess
                | GNonadjacentProcess
                | G2ItemProcess
                | G0Realtime
                | G1cRealtime
                | GSingleRealtime
                | GNonadjacentRealtime
                | G2ItemRealtime
        )
    }

    /// Whether finding this makes the verdict `unknown` rather than invalid
    /// (the checker could not finish, or had nothing to check).
    pub fn is_unknown(self) -> bool {
        matches!(self, CycleSearchTimeout | EmptyTransactionGraph)
    }

    /// The anomalies this one directly implies (see the module docs).
    pub fn implies(self) -> &'static [AnomalyType] {
        match self {
            G0 => &[G1c, G0Process],
            G0Process => &[G1cProcess, G0Realtime],
            G0Realtime => &[G1cRealtime],
            G1c => &[G1cProcess],
            G1cProcess => &[G1cRealtime],
            GSingle => &[GNonadjacent, GSingleProcess],
            GSingleProcess => &[GNonadjacentProcess, GSingleRealtime],
            GSingleRealtime => &[GNonadjacentRealtime],
            GNonadjacent => &[G2Item, GNonadjacentProcess],
            GNonadjacentProcess => &[G2ItemProcess, GNonadjacentRealtime],
            GNonadjacentRealtime => &[G2ItemRealtime],
            G2Item => &[G2ItemProcess],
            G2ItemProcess => &[G2ItemRealtime],
            // Elle: these are dirty reads in a richer data model.
            IncompatibleOrder | DirtyUpdate | GarbageRead => &[G1a],
            // A read of one's own later write is a trivial wr cycle.
            FutureRead => &[G1c],
            // Two transactions read x0 and both wrote x: an rw/ww cycle.
            LostUpdate => &[G2Item],
            _ => &[],
        }
    }

    /// One sentence for people.
    pub fn description(self) -> &'static str {
        match self {
            G0 => "write cycle: transactions overwrite each other in a cycle",
            G1a => "aborted read: a committed transaction observed a failed transaction's write",
            G1b => {
                "intermediate read: a transaction observed a version its writer later overwrote in the same transaction"
            }
            G1c => "circular information flow: a cycle of write and read dependencies",
            GSingle => "read skew: a cycle with exactly one anti-dependency",
            GNonadjacent => "a cycle with several anti-dependencies, none adjacent",
            G2Item => "write skew: a cycle with adjacent anti-dependencies",
            G0Process => "a write cycle through process order",
            G1cProcess => "circular information flow through process order",
            GSingleProcess => "read skew through process order",
            GNonadjacentProcess => "a nonadjacent anti-dependency cycle through process order",
            G2ItemProcess => "an anti-dependency cycle through process order",
            G0Realtime => "a write cycle through real-time order",
            G1cRealtime => "circular information flow through real-time order",
            GSingleRealtime => "read skew through real-time order (e.g. a stale read)",
            GNonadjacentRealtime => "a nonadjacent anti-dependency cycle through real-time order",
            G2ItemRealtime => "an anti-dependency cycle through real-time order",
            DirtyUpdate => "a committed write was applied on top of a failed transaction's write",
            GarbageRead => "a read observed a value no transaction wrote",
            Internal => "a transaction's read disagrees with its own earlier reads and writes",
            FutureRead => "a transaction observed a write it only performed later",
            DuplicateElements => "a read showed an element more than once",
            IncompatibleOrder => "two reads of a list disagree on the order of its elements",
            LostUpdate => {
                "two committed transactions read the same version of a key and both wrote it"
            }
            CyclicVersions => "the inferred version order of a key is cyclic",
            Pl1CycleExists => "a cycle of write dependencies exists",
            Pl2CycleExists => "a cycle of write and read dependencies exists",
            PlSiCycleExists => "a dependency cycle without adjacent anti-dependencies exists",
            Pl3CycleExists => "a dependency cycle exists",
            StrongSessionSiCycleExists => {
                "a cycle without adjacent anti-dependencies exists through process order"
            }
            StrongSessionSerializableCycleExists => {
                "a dependency cycle exists through process order"
            }
            PlSsCycleExists => "a dependency cycle exists through real-time order",
            CycleSearchTimeout => "the search for a named cycle ran out of budget",
            EmptyTransactionGraph => "no transaction committed, so nothing was checked",
        }
    }
}

impl fmt::Display for AnomalyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every anomaly implied by any of `anomalies`, including themselves.
pub fn implied_closure(anomalies: impl IntoIterator<Item = AnomalyType>) -> BTreeSet<AnomalyType> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<AnomalyType> = anomalies.into_iter().collect();
    while let Some(a) = todo.pop() {
        if out.insert(a) {
            todo.extend_from_slice(a.implies());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for a in AnomalyType::ALL {
            assert_eq!(AnomalyType::from_name(a.name()), Some(a));
            let json = serde_json::to_string(&a).expect("serializes");
            assert_eq!(json, format!("\"{}\"", a.name()));
        }
        let mut sorted = AnomalyType::ALL;
        sorted.sort();
        assert_eq!(sorted, AnomalyType::ALL, "ALL is in declaration order");
    }

    #[test]
    fn implication_follows_elle_plus_item_rule() {
        let g0 = implied_closure([G0]);
        assert!(g0.contains(&G1c) && g0.contains(&G1cRealtime) && !g0.contains(&GSingle));
        let single = implied_closure([GSingle]);
        assert!(single.contains(&G2Item), "item world: G-single is G2-item");
        assert!(implied_closure([LostUpdate]).contains(&G2ItemRealtime));
        assert!(!implied_closure([G2Item]).contains(&GSingle));
    }
}
