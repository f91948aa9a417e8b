//! The same linearizability search as a stateright [`Model`], explored by
//! stateright's DFS checker: the design's reference engine, kept as a
//! cross-check of [`wgl::search`](super::wgl::search).
//!
//! A model state is (linearized ops, spec state); an action linearizes one
//! candidate op (every completed op that returned before its call is
//! linearized); `info` ops may be linearized or left out. The property
//! `linearizable` is *sometimes* true: some reachable state has every
//! completed op linearized. stateright dedups states by fingerprint, which
//! is the WGL cache without dominance pruning.

use std::{hash::Hash, sync::Arc};

use stateright::{Checker, HasDiscoveries, Model, Property, semantics::SequentialSpec};

use super::{bitset::Bitset, wgl::SearchOp};

/// The linearizability search of one key as a stateright model.
pub struct LinearizationModel<S: SequentialSpec> {
    init: S,
    ops: Arc<Vec<SearchOp<S>>>,
    completed: usize,
}

/// A model state: which ops are linearized and the spec state after them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinState<S> {
    done: Bitset,
    remaining: usize,
    state: S,
}

impl<S: SequentialSpec> LinearizationModel<S> {
    /// A model for `ops` (sorted by call) from `init`.
    pub fn new(init: S, ops: Vec<SearchOp<S>>) -> Self {
        let completed = ops.iter().filter(|o| o.ret.is_some()).count();
        LinearizationModel {
            init,
            ops: Arc::new(ops),
            completed,
        }
    }
}

impl<S> Model for LinearizationModel<S>
where
    S: SequentialSpec + Clone + Eq + Hash,
{
    type State = LinState<S>;
    type Action = usize;

    fn init_states(&self) -> Vec<Self::State> {
        vec![LinState {
            done: Bitset::new(self.ops.len()),
            remaining: self.completed,
            state: self.init.clone(),
        }]
    }

    fn actions(&self, s: &Self::State, actions: &mut Vec<Self::Action>) {
        let first_return = self
            .ops
            .iter()
            .enumerate()
            .filter(|(k, o)| o.ret.is_some() && !s.done.contains(*k))
            .map(|(_, o)| o.ret_pos)
            .min()
            .unwrap_or(u64::MAX);
        actions.extend(
            self.ops
                .iter()
                .enumerate()
                .filter(|(k, o)| !s.done.contains(*k) && o.call < first_return)
                .map(|(k, _)| k),
        );
    }

    fn next_state(&self, s: &Self::State, k: Self::Action) -> Option<Self::State> {
        let o = &self.ops[k];
        let mut next = s.clone();
        match &o.ret {
            Some(ret) => {
                if !next.state.is_valid_step(&o.op, ret) {
                    return None;
                }
                next.remaining -= 1;
            }
            None => {
                next.state.invoke(&o.op);
            }
        }
        next.done.set(k);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::sometimes("linearizable", |_, s: &LinState<S>| {
            s.remaining == 0
        })]
    }
}

/// Checks one key with stateright's DFS checker: `Some(true)` if
/// linearizable, `Some(false)` if not, `None` if it generated `max_states`
/// states without deciding.
///
/// The budget is a state count, not a time: stateright's `timeout` leaves a
/// detached thread sleeping for the whole timeout, which piles up when
/// many small keys are checked.
pub fn check_with_stateright<S>(init: S, ops: Vec<SearchOp<S>>, max_states: usize) -> Option<bool>
where
    S: SequentialSpec + Clone + Eq + Hash + Send + Sync + 'static,
    S::Op: Send + Sync + 'static,
    S::Ret: Send + Sync + 'static,
{
    let checker = LinearizationModel::new(init, ops)
        .checker()
        .finish_when(HasDiscoveries::Any)
        .target_state_count(max_states.max(1))
        .spawn_dfs()
        .join();
    if checker.discovery("linearizable").is_some() {
        Some(true)
    } else if checker.state_count() >= max_states {
        None
    } else {
        Some(false)
    }
}
