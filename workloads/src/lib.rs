//! Client workloads: what operations clients issue, and what the history
//! is checked for.
//!
//! The seam is [`Workload`]: one type per workload (one file each, as in
//! Maelstrom) says everything about it in one place: its name in plans,
//! its operations and default mix, whether final reads run, which checkers
//! apply, and the [`Generator`] of its operations. [`ALL`] registers them;
//! the harness knows workloads only through this trait.
//!
//! A generator is deterministic: given its seed, it produces the same
//! sequence of operations. Keys are independent (Jepsen's `independent`):
//! a few keys are in use at once, each is retired after `ops_per_key`
//! operations, so every key's history stays small enough to check.

mod keys;
mod list_append;
mod mix;
mod op;
mod register;
mod set;

use checker::{CheckSettings, Checker};
pub use keys::KeySlots;
pub use list_append::{ListAppend, ListAppendGenerator, txn_checkers};
pub use mix::{Mix, MixError};
pub use op::{OpKind, OpRequest};
pub use register::{Register, RegisterGenerator};
pub use set::{Set, SetGenerator};

/// Every workload, by the name plans use.
pub const ALL: &[&dyn Workload] = &[&Register, &Set, &ListAppend];

/// The workload called `name` in plans.
pub fn find(name: &str) -> Option<&'static dyn Workload> {
    ALL.iter().copied().find(|w| w.name() == name)
}

/// The names of all workloads, for error messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|w| w.name()).collect()
}

/// Whether a workload reads every key once more after the faults end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalReads {
    /// Always: its checker needs them (lost writes are decided by them).
    Always,
    /// When the plan's `final.reads` asks for them.
    IfPlanned,
}

/// What a generator is built from (the plan's workload section).
#[derive(Clone, Debug)]
pub struct GeneratorParams {
    /// Seed of the op stream.
    pub seed: u64,
    /// Keys in use at once.
    pub keys: usize,
    /// Operations per key before it is retired.
    pub ops_per_key: usize,
    /// Operation weights.
    pub mix: Mix,
}

/// One workload: its operations, checkers and generator.
pub trait Workload: Sync {
    /// The name plans use (`workload.kind`).
    fn name(&self) -> &'static str;

    /// The operations it issues, by name (what `mix` may weigh).
    fn ops(&self) -> &'static [OpKind];

    /// The mix when the plan gives none.
    fn default_mix(&self) -> &'static [(OpKind, u32)];

    /// Refuses a mix the workload cannot run (say why), beyond naming
    /// known operations.
    fn check_mix(&self, _mix: &Mix) -> Result<(), String> {
        Ok(())
    }

    /// Whether final reads run.
    fn final_reads(&self) -> FinalReads;

    /// The checkers its histories are checked with.
    fn checkers(&self, settings: &CheckSettings) -> Vec<Box<dyn Checker>>;

    /// Its deterministic op stream.
    fn generator(&self, params: GeneratorParams) -> Box<dyn Generator>;
}

/// A deterministic stream of operations.
pub trait Generator: Send {
    /// The next operation to issue.
    fn next_op(&mut self) -> OpRequest;

    /// Every key handed out so far, in order of first use.
    fn keys_used(&self) -> Vec<String>;

    /// The final read of `key`.
    fn final_read(&self, key: &str) -> OpRequest {
        OpRequest {
            f: OpKind::Read,
            key: key.to_owned(),
            value: serde_json::Value::Null,
        }
    }
}

/// `mix` from names, or the workload's default when `None`. Errors name
/// the first operation the workload does not have.
pub fn mix_for<'a>(
    workload: &dyn Workload,
    weights: Option<impl IntoIterator<Item = (&'a str, u32)>>,
) -> Result<Mix, MixError> {
    let mix = match weights {
        Some(weights) => Mix::new(weights)?,
        None => Mix::from_kinds(workload.default_mix().iter().copied())?,
    };
    if let Some(kind) = mix.kinds().find(|k| !workload.ops().contains(k)) {
        return Err(MixError::UnknownOp(kind.as_str().to_owned()));
    }
    Ok(mix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_is_found_by_its_name_and_has_a_usable_default_mix() {
        for w in ALL {
            assert_eq!(find(w.name()).expect("registered").ops(), w.ops());
            let mix = mix_for(*w, None::<[(&str, u32); 0]>).expect("default mix");
            w.check_mix(&mix).expect("the default mix is acceptable");
            let mut generator = w.generator(GeneratorParams {
                seed: 1,
                keys: 2,
                ops_per_key: 10,
                mix,
            });
            let op = generator.next_op();
            assert!(w.ops().contains(&op.f) || op.f == OpKind::Write, "{op:?}");
            assert!(!w.checkers(&CheckSettings::default()).is_empty());
        }
        assert!(find("nope").is_none());
        assert_eq!(names(), ["register", "set", "list-append"]);
    }

    #[test]
    fn a_mix_with_an_op_the_workload_lacks_is_refused() {
        let set = find("set").expect("set");
        assert_eq!(
            mix_for(set, Some([("cas", 1)])).unwrap_err(),
            MixError::UnknownOp("cas".into())
        );
    }
}
