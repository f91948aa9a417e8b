//! Why each list-append edge exists, in words.

use crate::txn::{
    explain::{EdgeExplainer, Justification, atom_text, list_text},
    graph::rel,
    history::MopKind,
    intern::{KeyId, Val},
};

use super::{index::Previous, scan::ListAppend};

impl EdgeExplainer for ListAppend<'_> {
    fn explain(&self, a: usize, b: usize, bit: u8, names: (&str, &str)) -> Option<Justification> {
        let h = self.h;
        let (ta, tb) = (&h.txns()[a], &h.txns()[b]);
        let key_text = |k: KeyId| atom_text(&h.interner().key_json(k));
        let val_text = |v: Val| atom_text(&h.interner().value_json(v));
        let a_mops = h.mops(ta);
        let b_mops = h.mops(tb);
        match bit {
            rel::WW => b_mops.iter().enumerate().find_map(|(j, m)| {
                if m.kind != MopKind::Append {
                    return None;
                }
                let Previous { before, observed, .. } = self.previous(m.key, m.value)?;
                let (pe, pw) = before?;
                if pw as usize != a {
                    return None;
                }
                let from_mop = a_mops
                    .iter()
                    .position(|x| x.kind == MopKind::Append && x.key == m.key && x.value == pe);
                let text = if observed {
                    format!(
                        "{} appended {} to key {} and {} appended {} right after it",
                        names.0,
                        val_text(pe),
                        key_text(m.key),
                        names.1,
                        val_text(m.value)
                    )
                } else {
                    format!(
                        "{} appended {} to key {}, which no read observed, so it came after every observed element, the last of which, {}, {} appended",
                        names.1,
                        val_text(m.value),
                        key_text(m.key),
                        val_text(pe),
                        names.0
                    )
                };
                Some(Justification {
                    key: Some(h.interner().key_json(m.key)),
                    from_mop,
                    to_mop: Some(j),
                    text,
                })
            }),
            rel::WR => b_mops.iter().enumerate().find_map(|(j, m)| {
                if !m.is_known_read() {
                    return None;
                }
                let elements = h.read_elements(m);
                let last = *elements.last()?;
                let rec = self.appends.get(m.key, last)?;
                if rec.txn as usize != a {
                    return None;
                }
                Some(Justification {
                    key: Some(h.interner().key_json(m.key)),
                    from_mop: Some(rec.mop as usize),
                    to_mop: Some(j),
                    text: format!(
                        "{} appended {} to key {} and {} read {}, which ends with it",
                        names.0,
                        val_text(last),
                        key_text(m.key),
                        names.1,
                        list_text(h, elements)
                    ),
                })
            }),
            rel::RW => b_mops.iter().enumerate().find_map(|(j, m)| {
                if m.kind != MopKind::Append {
                    return None;
                }
                let Previous {
                    state,
                    before: prev,
                    observed,
                } = self.previous(m.key, m.value)?;
                let (i, read) = a_mops.iter().enumerate().find(|(_, r)| {
                    r.is_known_read() && r.key == m.key && self.final_read_state(r) == Some(state)
                })?;
                let seen = list_text(h, h.read_elements(read));
                let text = match (prev, observed) {
                    (None, true) => format!(
                        "{} read key {} as empty and {} appended its first element, {}",
                        names.0,
                        key_text(m.key),
                        names.1,
                        val_text(m.value)
                    ),
                    (Some((pe, _)), true) => format!(
                        "{} read key {} = {} without {}, which {} appended right after {}",
                        names.0,
                        key_text(m.key),
                        seen,
                        val_text(m.value),
                        names.1,
                        val_text(pe)
                    ),
                    (_, false) => format!(
                        "{} read key {} = {} and {} appended {}, which no read observed, so it came after everything {} saw",
                        names.0,
                        key_text(m.key),
                        seen,
                        names.1,
                        val_text(m.value),
                        names.0
                    ),
                };
                Some(Justification {
                    key: Some(h.interner().key_json(m.key)),
                    from_mop: Some(i),
                    to_mop: Some(j),
                    text,
                })
            }),
            _ => None,
        }
    }
}
