//! Process faults: node processes and their supervision.
//!
//! - [`NodeSpec`]: what to run for a node, and where its log goes.
//! - [`NodeProcess`]: one running node: `kill`, `pause`, `resume`,
//!   `restart`, exit detection; cleans up on drop.
//!
//! Every node is forked from one long-lived thread (see `spawner.rs`), so
//! that `PR_SET_PDEATHSIG` ties the node's life to the controller process
//! rather than to whichever thread happened to start it.

mod exit;
mod spawner;
mod spec;
mod supervisor;

pub use exit::{ExitInfo, NodeState, UnexpectedExit};
pub use spec::NodeSpec;
pub use supervisor::{KILL_DEADLINE, NodeProcess};
