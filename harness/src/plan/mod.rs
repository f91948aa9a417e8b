//! Plans: the YAML files people write to describe a chaos test.
//!
//! [`load`] parses a plan (with `serde-saphyr`, so that every error carries
//! the file, line and column) and validates it semantically; [`Plan`] is
//! the parsed shape, documented field by field in `docs/plans.md`.

mod duration;
mod load;
mod model;
mod validate;

pub use duration::HumanDuration;
pub use load::{DEFAULT_PLAN, PlanError, load, load_str, to_yaml};
pub use model::{
    CheckSpec, ClusterSpec, FaultKind, FaultSpec, FaultsSpec, FinalSpec, NetworkMode, Plan,
    ShapeSpec, System, TargetKind, TargetSpec, WorkloadKind, WorkloadSpec, is_node_name,
};
pub use validate::Mix;
