//! Plans: the YAML files people write to describe a chaos test.
//!
//! - [`model`]: the parsed shape ([`Plan`]), documented field by field in
//!   `docs/plans.md`;
//! - [`load`]: parsing with `serde-saphyr`, so that every error carries the
//!   file, line and column, then validation;
//! - [`validate`]: the checks that need no knowledge of systems, workloads
//!   or fault kinds (those crates bring their own rules, see
//!   [`load::Rules`]);
//! - [`template`]: the `start:` command templates of `system: command`;
//! - [`duration`]: `500ms`, `10s`, `2m`.
//!
//! This crate depends on no other crate of the workspace: it is syntax and
//! the rules of syntax.

mod duration;
pub mod load;
pub mod model;
mod problem;
pub mod template;
pub mod validate;

pub use duration::{HumanDuration, SignedDuration};
pub use load::{DEFAULT_PLAN, PlanError, Rules, load_str_with, load_with, to_yaml};
pub use model::{
    CheckSpec, ClusterSpec, DEFAULT_SYSTEM, FaultSpec, FaultsSpec, FinalSpec, LeaderDiscovery,
    NetworkMode, Plan, ShapeSpec, StrobeSpec, TargetKind, TargetSpec, WorkloadSpec, is_node_name,
};
pub use problem::Problem;
pub use template::{NodeVars, Template, TemplateError, TemplateErrorKind};

/// The JSON Schema of plan files.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Plan)
}
