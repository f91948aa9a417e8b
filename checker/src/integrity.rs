//! What a run found about itself that its history cannot show: holes in
//! the recording, and nodes that died outside the plan. A report of the
//! run, not of the history; `harness check` keeps the stored one.
//!
//! | finding | verdict |
//! |---|---|
//! | a node crashed (not killed by the harness) and the plan does not expect crashes | invalid: a crashing system under test is a finding |
//! | a hole: the history could not be written in full, a key could not be read in the final phase | unknown: the checkers saw less than happened |
//! | nothing | valid |

use std::any::Any;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    checker::{Report, to_json},
    results::Verdict,
};

/// The report's name in `results.json`.
pub const NAME: &str = "run";

/// A node that died outside the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Crash {
    /// The node (`n2`).
    pub node: String,
    /// When the harness noticed (ns since the run started).
    pub time: u64,
    /// How it ended (`exit code 101`, `killed by signal 9 (SIGKILL)`).
    pub status: String,
    /// The end of its log when it died.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

/// What the run found about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunIntegrity {
    /// See the module docs.
    pub verdict: Verdict,
    /// Nodes that died outside the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crashes: Vec<Crash>,
    /// The plan says crashes are expected (`check.expect-crashes`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crashes_expected: bool,
    /// What makes the history incomplete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holes: Vec<String>,
}

impl RunIntegrity {
    /// The report of `crashes` and `holes`.
    pub fn new(crashes: Vec<Crash>, crashes_expected: bool, holes: Vec<String>) -> Self {
        let verdict = if !crashes.is_empty() && !crashes_expected {
            Verdict::Invalid
        } else if !holes.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Valid
        };
        Self {
            verdict,
            crashes,
            crashes_expected,
            holes,
        }
    }
}

impl Report for RunIntegrity {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .crashes
            .iter()
            .map(|c| {
                format!(
                    "{} crashed at {:.3}s ({}){}",
                    c.node,
                    c.time as f64 / 1e9,
                    c.status,
                    if self.crashes_expected {
                        ", as the plan allows"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        parts.extend(self.holes.iter().cloned());
        if parts.is_empty() {
            "no crashes, history complete".to_owned()
        } else {
            parts.join("; ")
        }
    }

    fn example(&self) -> Option<String> {
        let crash = self.crashes.first().filter(|_| !self.crashes_expected)?;
        // The node's own last words, not the harness's markers.
        let last = crash
            .log_tail
            .iter()
            .rev()
            .find(|l| !l.starts_with("---- "))
            .map_or("-", String::as_str);
        Some(format!(
            "node {} died on its own ({}); its log ends: {last}",
            crash.node, crash.status
        ))
    }

    fn to_json(&self) -> Value {
        to_json(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash() -> Crash {
        Crash {
            node: "n3".into(),
            time: 4_200_000_000,
            status: "exit code 1".into(),
            log_tail: vec![
                "panicked at src/main.rs".into(),
                "---- faults 17.2: node n3 (pid 9) exited on its own ----".into(),
            ],
        }
    }

    #[test]
    fn crashes_fail_the_run_unless_expected_and_holes_make_it_unknown() {
        assert_eq!(
            RunIntegrity::new(vec![], false, vec![]).verdict,
            Verdict::Valid
        );
        let crashed = RunIntegrity::new(vec![crash()], false, vec![]);
        assert_eq!(crashed.verdict, Verdict::Invalid);
        assert_eq!(crashed.summary(), "n3 crashed at 4.200s (exit code 1)");
        assert!(
            crashed
                .example()
                .unwrap()
                .contains("panicked at src/main.rs")
        );
        let allowed = RunIntegrity::new(vec![crash()], true, vec![]);
        assert_eq!(allowed.verdict, Verdict::Valid);
        assert!(allowed.example().is_none());
        let holes = RunIntegrity::new(vec![crash()], true, vec!["history write failed".into()]);
        assert_eq!(holes.verdict, Verdict::Unknown);
    }
}
