//! Stats placeholder.
use serde::{Deserialize, Serialize};
/// Stats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {}
