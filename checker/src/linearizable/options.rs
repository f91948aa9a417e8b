//! What to check ([`Model`]) and how ([`LinOptions`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{budget::default_memory_budget, progress::ProgressSink};

/// The sequential specification each key must follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "model")]
pub enum Model {
    /// Read/write/cas register ([`CasRegister`](crate::spec::CasRegister)),
    /// starting at `init` (the workloads use `null`).
    Register {
        /// Initial value of every key.
        #[serde(default)]
        init: Value,
    },
    /// Append/read list ([`AppendList`](crate::spec::AppendList)),
    /// starting empty.
    List,
}

impl Model {
    /// A register starting at `null`.
    pub fn register() -> Self {
        Model::Register { init: Value::Null }
    }

    /// The model's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Register { .. } => "register",
            Model::List => "list",
        }
    }
}

/// How to run the linearizability check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinOptions {
    /// Time budget of one key's search; a key that needs longer is
    /// `unknown`.
    pub time_budget: Duration,
    /// Worker threads for checking keys in parallel; 0 means one per core.
    pub threads: usize,
    /// Budget of the whole check, if any: keys not finished by then are
    /// `unknown`. Bounds the check even with many intractable keys.
    pub total_budget: Option<Duration>,
    /// Bytes the engines may hold at once, over all keys checked in
    /// parallel (their own structures, estimated; not the history). A key
    /// whose search would need more is `unknown`. Default: half the
    /// machine's memory ([`default_memory_budget`]).
    pub memory_budget: usize,
    /// Decide register keys whose observed values name their writers by
    /// the version order (polynomial) before any search. `false` forces
    /// the WGL search everywhere (for comparisons and cross-checks).
    pub version_order: bool,
    /// Where to send progress events, if anywhere.
    pub progress: Option<ProgressSink>,
}

impl Default for LinOptions {
    fn default() -> Self {
        LinOptions {
            time_budget: Duration::from_secs(30),
            threads: 0,
            total_budget: None,
            memory_budget: default_memory_budget(),
            version_order: true,
            progress: None,
        }
    }
}
