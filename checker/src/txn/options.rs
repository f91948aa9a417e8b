//! Options of the transactional checker.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::txn::model::ConsistencyModel;

/// Which kind of transactions a history holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxnWorkload {
    /// Micro-ops `["append", k, e]` and `["r", k, [e...]]` over lists.
    ListAppend,
    /// Micro-ops `["w", k, v]` and `["r", k, v]` over registers.
    RwRegister,
}

impl TxnWorkload {
    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            TxnWorkload::ListAppend => "list-append",
            TxnWorkload::RwRegister => "rw-register",
        }
    }
}

impl fmt::Display for TxnWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A workload name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transactional workload `{0}` (known: list-append, rw-register)")]
pub struct UnknownWorkload(pub String);

impl FromStr for TxnWorkload {
    type Err = UnknownWorkload;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "list-append" | "append" => Ok(TxnWorkload::ListAppend),
            "rw-register" | "wr-register" => Ok(TxnWorkload::RwRegister),
            other => Err(UnknownWorkload(other.to_owned())),
        }
    }
}

/// How to check a transactional history.
#[derive(Debug, Clone, PartialEq)]
pub struct TxnOptions {
    /// The workload; `None` detects it from the micro-ops
    /// ([`detect_workload`](crate::txn::detect_workload)).
    pub workload: Option<TxnWorkload>,
    /// The model to judge against. The verdict is invalid iff an anomaly it
    /// prohibits is found.
    pub consistency_model: ConsistencyModel,
    /// Edge relaxations the named-cycle search may spend per strongly
    /// connected component before it reports `cycle-search-timeout` (the
    /// verdict never depends on it: "a cycle exists" is decided in linear
    /// time; the budget only bounds the search for *shortest named* cycles).
    pub search_budget: u64,
    /// Examples kept per anomaly type (every case is counted).
    pub max_examples: usize,
    /// rw-register only: assume a transaction that reads a key and then
    /// writes it installs its version after the one it read (Elle's
    /// `wfr-keys?`). Off by default, as in Elle.
    pub wfr_keys: bool,
}

impl Default for TxnOptions {
    fn default() -> Self {
        TxnOptions {
            workload: None,
            consistency_model: ConsistencyModel::StrictSerializable,
            search_budget: 20_000_000,
            max_examples: 8,
            wfr_keys: false,
        }
    }
}
