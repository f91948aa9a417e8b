//! Interning of keys and values: JSON integers and strings to small numbers.
//!
//! A [`Val`] is a `u32`: a non-negative integer below [`DIRECT_LIMIT`] is
//! itself (no hashing on the hot path); any other integer or string is
//! interned and tagged with the top bit. [`NIL`] stands for JSON `null`
//! (a register's initial state). Keys are always interned, so [`KeyId`]s
//! are dense and index per-key tables.
//!
//! Invariants: equal JSON atoms get equal ids; integer 5 and string "5" are
//! different atoms; [`Interner::key_json`] and [`Interner::value_json`] give back the atom's JSON form.

use std::collections::HashMap;

use serde_json::Value;

/// A dense key id.
pub type KeyId = u32;
/// A value (list element or register value); see the module docs.
pub type Val = u32;
/// JSON `null`.
pub const NIL: Val = u32::MAX;
/// Integers in `0..DIRECT_LIMIT` are stored as themselves.
pub const DIRECT_LIMIT: u32 = 1 << 31;
/// The most atoms (keys plus non-direct values) one history may have.
pub const MAX_ATOMS: usize = (DIRECT_LIMIT - 2) as usize;

/// The hash of our hot tables: foldhash's fast hasher with a random seed
/// per process (so crafted keys cannot force collisions). Nothing iterates
/// these maps, so output never depends on the seed.
pub type FastHash = foldhash::fast::RandomState;
/// A `HashMap` with [`FastHash`].
pub type FastMap<K, V> = HashMap<K, V, FastHash>;

/// A JSON atom: an integer or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Atom {
    /// A signed integer.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A string.
    Str(Box<str>),
}

impl Atom {
    /// The atom of a JSON value, if it is an integer or a string.
    pub fn of(v: &Value) -> Option<Atom> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .map(Atom::Int)
                .or_else(|| n.as_u64().map(Atom::UInt)),
            Value::String(s) => Some(Atom::Str(s.as_str().into())),
            _ => None,
        }
    }

    fn json(&self) -> Value {
        match self {
            Atom::Int(i) => Value::from(*i),
            Atom::UInt(u) => Value::from(*u),
            Atom::Str(s) => Value::String(s.to_string()),
        }
    }
}

/// Interned keys and values of one history.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    keys: FastMap<Atom, KeyId>,
    key_atoms: Vec<Atom>,
    values: FastMap<Atom, u32>,
    value_atoms: Vec<Atom>,
}

/// Too many distinct keys and values to intern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAtoms;

impl Interner {
    /// The key id of `v`, interning it; `Ok(None)` if `v` is not an atom.
    pub fn key(&mut self, v: &Value) -> Result<Option<KeyId>, TooManyAtoms> {
        let Some(atom) = Atom::of(v) else {
            return Ok(None);
        };
        self.key_atom(atom).map(Some)
    }

    /// The key id of an atom, interning it.
    pub fn key_atom(&mut self, atom: Atom) -> Result<KeyId, TooManyAtoms> {
        if let Some(&id) = self.keys.get(&atom) {
            return Ok(id);
        }
        if self.key_atoms.len() >= MAX_ATOMS {
            return Err(TooManyAtoms);
        }
        let id = self.key_atoms.len() as KeyId;
        self.key_atoms.push(atom.clone());
        self.keys.insert(atom, id);
        Ok(id)
    }

    /// The value of `v` (`null` is [`NIL`]), interning it; `Ok(None)` if
    /// `v` is neither an atom nor null.
    pub fn value(&mut self, v: &Value) -> Result<Option<Val>, TooManyAtoms> {
        match v {
            Value::Null => Ok(Some(NIL)),
            Value::Number(n) => match n.as_u64() {
                Some(u) if u < u64::from(DIRECT_LIMIT) => Ok(Some(u as Val)),
                _ => match Atom::of(v) {
                    Some(atom) => self.value_atom(atom).map(Some),
                    None => Ok(None),
                },
            },
            Value::String(_) => match Atom::of(v) {
                Some(atom) => self.value_atom(atom).map(Some),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// The value of an integer element (generators use this).
    pub fn int_value(&mut self, i: u64) -> Result<Val, TooManyAtoms> {
        if i < u64::from(DIRECT_LIMIT) {
            Ok(i as Val)
        } else {
            self.value_atom(Atom::UInt(i))
        }
    }

    fn value_atom(&mut self, atom: Atom) -> Result<Val, TooManyAtoms> {
        if let Some(&id) = self.values.get(&atom) {
            return Ok(id | DIRECT_LIMIT);
        }
        if self.value_atoms.len() >= MAX_ATOMS {
            return Err(TooManyAtoms);
        }
        let id = self.value_atoms.len() as u32;
        self.value_atoms.push(atom.clone());
        self.values.insert(atom, id);
        Ok(id | DIRECT_LIMIT)
    }

    /// The key's JSON form.
    pub fn key_json(&self, k: KeyId) -> Value {
        self.key_atoms
            .get(k as usize)
            .map_or(Value::Null, Atom::json)
    }

    /// The value's JSON form (`null` for [`NIL`]).
    pub fn value_json(&self, v: Val) -> Value {
        if v == NIL {
            Value::Null
        } else if v < DIRECT_LIMIT {
            Value::from(v)
        } else {
            self.value_atoms
                .get((v & !DIRECT_LIMIT) as usize)
                .map_or(Value::Null, Atom::json)
        }
    }

    /// Number of distinct keys.
    pub fn key_count(&self) -> usize {
        self.key_atoms.len()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn atoms_round_trip() {
        let mut i = Interner::default();
        for v in [
            json!(0),
            json!(7),
            json!(-3),
            json!(u64::MAX),
            json!(1u64 << 40),
            json!("x"),
            json!("7"),
            Value::Null,
        ] {
            let id = i.value(&v).expect("room").expect("atom");
            assert_eq!(i.value_json(id), v);
            assert_eq!(i.value(&v), Ok(Some(id)), "stable");
        }
        assert_ne!(i.value(&json!(7)), i.value(&json!("7")));
        assert_eq!(i.value(&json!(1.5)), Ok(None));
        assert_eq!(i.value(&json!([1])), Ok(None));
        let k = i.key(&json!("k")).expect("room").expect("atom");
        assert_eq!(i.key_json(k), json!("k"));
        assert_eq!(i.key(&Value::Null), Ok(None));
    }
}

/// Keys a [`SmallKeyMap`] holds before it builds a hash index.
const SMALL: usize = 16;

/// A per-transaction map from keys: a vector searched linearly while it
/// holds few keys (transactions usually touch a handful), with a hash index
/// once it holds more, so huge transactions stay linear. Entries keep the
/// order keys were first seen in.
#[derive(Debug, Clone)]
pub struct SmallKeyMap<V> {
    entries: Vec<(KeyId, V)>,
    index: FastMap<KeyId, usize>,
}

impl<V> Default for SmallKeyMap<V> {
    fn default() -> Self {
        SmallKeyMap {
            entries: Vec::new(),
            index: FastMap::default(),
        }
    }
}

impl<V> SmallKeyMap<V> {
    /// Empties the map, keeping its allocations (unless they grew large).
    pub fn clear(&mut self) {
        self.entries.clear();
        if !self.index.is_empty() {
            self.index = FastMap::default();
        }
    }

    fn position(&self, key: KeyId) -> Option<usize> {
        if self.entries.len() <= SMALL {
            self.entries.iter().position(|e| e.0 == key)
        } else {
            self.index.get(&key).copied()
        }
    }

    /// The value of `key`, inserting `make()` if absent.
    pub fn slot(&mut self, key: KeyId, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(key) {
            Some(i) => i,
            None => {
                self.entries.push((key, make()));
                let i = self.entries.len() - 1;
                if self.entries.len() == SMALL + 1 {
                    self.index = self
                        .entries
                        .iter()
                        .enumerate()
                        .map(|(j, e)| (e.0, j))
                        .collect();
                } else if self.entries.len() > SMALL + 1 {
                    self.index.insert(key, i);
                }
                i
            }
        };
        &mut self.entries[i].1
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: KeyId) -> Option<&V> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// Entries in the order their keys were first seen.
    pub fn entries(&self) -> &[(KeyId, V)] {
        &self.entries
    }
}

#[cfg(test)]
mod small_tests {
    use super::*;

    #[test]
    fn small_key_map_agrees_with_a_map_past_its_threshold() {
        let mut m: SmallKeyMap<u32> = SmallKeyMap::default();
        for round in 0..2 {
            m.clear();
            for k in 0..40u32 {
                *m.slot(k % 23, || 0) += k;
            }
            for k in 0..23u32 {
                let want: u32 = (0..40).filter(|x| x % 23 == k).sum();
                assert_eq!(m.get(k), Some(&want), "round {round}, key {k}");
            }
            assert_eq!(m.get(99), None);
            let keys: Vec<KeyId> = m.entries().iter().map(|e| e.0).collect();
            assert_eq!(keys, (0..23).collect::<Vec<_>>());
        }
    }
}
