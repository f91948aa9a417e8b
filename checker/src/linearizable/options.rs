//! What to check ([`Model`]) and how ([`LinOptions`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
}

impl Default for LinOptions {
    fn default() -> Self {
        LinOptions {
            time_budget: Duration::from_secs(30),
            threads: 0,
            total_budget: None,
        }
    }
}
