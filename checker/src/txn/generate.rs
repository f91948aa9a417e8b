//! Generators (placeholder while the checker comes together).
