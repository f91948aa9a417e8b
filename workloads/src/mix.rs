//! Weighted choice among operation kinds.

use rand::Rng;

use crate::OpKind;

#[derive(Debug, PartialEq, Eq)]
pub enum MixError {
    UnknownOp(String),
    Empty,
}

impl std::fmt::Display for MixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MixError::UnknownOp(name) => write!(f, "unknown operation `{name}`"),
            MixError::Empty => f.write_str("the op mix sums to zero"),
        }
    }
}

impl std::error::Error for MixError {}

/// Operation kinds with positive integer weights.
#[derive(Clone, Debug)]
pub struct Mix {
    choices: Vec<(OpKind, u32)>,
    total: u32,
}

impl Mix {
    /// Builds a mix from `(name, weight)` pairs; zero weights are dropped.
    pub fn new<'a>(weights: impl IntoIterator<Item = (&'a str, u32)>) -> Result<Mix, MixError> {
        let mut choices = Vec::new();
        for (name, weight) in weights {
            let kind = OpKind::parse(name).ok_or_else(|| MixError::UnknownOp(name.to_owned()))?;
            choices.push((kind, weight));
        }
        Mix::from_kinds(choices)
    }

    /// Builds a mix from `(kind, weight)` pairs; zero weights are dropped.
    pub fn from_kinds(weights: impl IntoIterator<Item = (OpKind, u32)>) -> Result<Mix, MixError> {
        let choices: Vec<(OpKind, u32)> = weights.into_iter().filter(|(_, w)| *w > 0).collect();
        let total = choices.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Err(MixError::Empty);
        }
        Ok(Mix { choices, total })
    }

    /// The kinds with a positive weight.
    pub fn kinds(&self) -> impl Iterator<Item = OpKind> + '_ {
        self.choices.iter().map(|(k, _)| *k)
    }

    pub fn pick(&self, rng: &mut impl Rng) -> OpKind {
        let mut ticket = rng.random_range(0..self.total);
        for (kind, weight) in &self.choices {
            if ticket < *weight {
                return *kind;
            }
            ticket -= weight;
        }
        unreachable!("the ticket is below the total weight")
    }

    pub fn contains(&self, kind: OpKind) -> bool {
        self.choices.iter().any(|(k, _)| *k == kind)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn picks_follow_the_weights() {
        let mix = Mix::new([("read", 3), ("write", 1), ("cas", 0)]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let reads = (0..4000)
            .filter(|_| mix.pick(&mut rng) == OpKind::Read)
            .count();
        assert!(
            (2700..3300).contains(&reads),
            "{reads} reads of 4000 at weight 3/4"
        );
        assert!(!mix.contains(OpKind::Cas), "zero weights are dropped");
    }

    #[test]
    fn bad_mixes_are_refused() {
        assert_eq!(Mix::new([("read", 0)]).unwrap_err(), MixError::Empty);
        assert_eq!(
            Mix::new([("delete", 1)]).unwrap_err(),
            MixError::UnknownOp("delete".into())
        );
    }
}
