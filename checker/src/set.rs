//! Set checker placeholder (filled in below).
use serde::{Deserialize, Serialize};
/// Set report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SetReport {}
