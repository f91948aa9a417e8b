//! A [`Violation`] in words, naming the ops (by their index in
//! `History::ops`, process and value) and the event indices that make the
//! argument, so that a reader can check it against the history.

use serde_json::Value;

use super::{
    prepare::Interner,
    relevance::RegisterSearchOp,
    violation::{Span, Violation},
};
use crate::{
    history::{History, Outcome},
    spec::RegisterOp,
};

/// What the explanation needs to know about the key.
pub(crate) struct KeyView<'a> {
    pub history: &'a History,
    pub ops: &'a [RegisterSearchOp],
    pub values: &'a Interner,
    pub init: u32,
}

impl KeyView<'_> {
    fn value(&self, id: u32) -> &Value {
        self.values.value(id)
    }

    /// "op 12 (p3 read → 5)".
    fn op(&self, k: usize) -> String {
        let o = &self.ops[k];
        let h = &self.history.ops[o.id];
        let what = match &o.op {
            RegisterOp::Read => format!("read → {}", h.output),
            RegisterOp::Write(v) => format!("write {}", self.value(*v)),
            RegisterOp::Cas { from, to } => {
                format!("cas {} → {}", self.value(*from), self.value(*to))
            }
        };
        let info = if h.outcome == Outcome::Info {
            ", indeterminate"
        } else {
            ""
        };
        format!("op {} (p{} {what}{info})", o.id, h.process)
    }

    fn invoked(&self, k: usize) -> u64 {
        self.history.events[self.history.ops[self.ops[k].id].invoke].index
    }

    fn returned(&self, k: usize) -> u64 {
        let h = &self.history.ops[self.ops[k].id];
        h.complete
            .map_or(u64::MAX, |c| self.history.events[c].index)
    }

    fn observed(&self, k: usize) -> Value {
        match &self.ops[k].op {
            RegisterOp::Cas { from, .. } => self.value(*from).clone(),
            _ => self.history.ops[self.ops[k].id].output.clone(),
        }
    }

    /// "value 5" or "the initial value null".
    fn value_of(&self, s: &Span) -> String {
        match s.head {
            None => format!("the initial value {}", self.value(self.init)),
            Some(h) => match &self.ops[h].op {
                RegisterOp::Write(v) => format!("value {}", self.value(*v)),
                _ => "a value".to_owned(),
            },
        }
    }

    /// "value 5 (written by op 3)" or "the initial value null", noting the
    /// cas ops that follow it in its block ("followed by 2 cas ops").
    fn block(&self, s: &Span) -> String {
        let chain = match s.values {
            0 | 1 => String::new(),
            2 => ", followed by 1 cas".to_owned(),
            n => format!(", followed by {} cas ops", n - 1),
        };
        match s.head {
            None if chain.is_empty() => format!("the initial value {}", self.value(self.init)),
            None => format!(
                "the initial value {} ({})",
                self.value(self.init),
                &chain[2..]
            ),
            Some(h) => {
                let v = match &self.ops[h].op {
                    RegisterOp::Write(v) => self.value(*v).clone(),
                    _ => Value::Null,
                };
                format!("value {v} (written by op {}{chain})", self.ops[h].id)
            }
        }
    }

    /// Why `first` cannot precede `second`.
    fn cannot_precede(&self, first: &Span, second: &Span) -> String {
        match second.returns_first {
            None => "the initial value comes before every write".to_owned(),
            Some(r) => format!(
                "{} returned at event index {} but would come after {}, invoked at event index {}",
                self.op(r),
                self.returned(r),
                self.op(first.invoked_last),
                self.invoked(first.invoked_last),
            ),
        }
    }
}

/// The violation in words.
pub(crate) fn explain(view: &KeyView<'_>, violation: &Violation) -> String {
    match violation {
        Violation::ReadOfUnwritten { read } => format!(
            "{} returned {}, which no operation wrote and which is not the initial value",
            view.op(*read),
            view.observed(*read)
        ),
        Violation::CasFromUnwritten { cas } => format!(
            "{} took effect (it succeeded, or a later operation saw its value) expecting {}, \
             which no operation wrote and which is not the initial value",
            view.op(*cas),
            view.observed(*cas)
        ),
        Violation::SharedPredecessor { first, second } => format!(
            "{} and {} both took effect expecting {}; only one operation writes that value, \
             so after the first cas replaced it the second could not find it",
            view.op(*first),
            view.op(*second),
            view.observed(*first)
        ),
        Violation::CasCycle { cas } => format!(
            "{} took effect, but it belongs to a cycle of cas operations that each expect the \
             value the previous one writes, and no write starts the cycle",
            view.op(*cas)
        ),
        Violation::MustFollow { op, before } => format!(
            "{} returned at event index {}, before {} was invoked at event index {}; yet the \
             version order forced by reads and cas chains puts {} first",
            view.op(*op),
            view.returned(*op),
            view.op(*before),
            view.invoked(*before),
            view.op(*before),
        ),
        Violation::Unorderable { first, second } => format!(
            "{} and {} cannot be ordered. {} first: {}. {} first: {}.",
            view.block(first),
            view.block(second),
            capitalized(&view.value_of(first)),
            view.cannot_precede(first, second),
            capitalized(&view.value_of(second)),
            view.cannot_precede(second, first),
        ),
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}
