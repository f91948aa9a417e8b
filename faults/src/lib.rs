//! Placeholder while the crate is assembled.

pub mod error;
pub mod event;
pub mod grudge;
pub mod nemesis;
pub mod net;
pub mod netns;
pub mod node;
pub mod process;
pub mod shapes;
pub mod targets;

pub use error::FaultError;
pub use event::*;
pub use grudge::Grudge;
pub use nemesis::Nemesis;
pub use net::Firewall;
pub use node::NodeName;
pub use process::{NodeProcess, NodeSpec};
pub use shapes::{PartitionShape, ShapeError};
pub use targets::{Target, TargetError};
