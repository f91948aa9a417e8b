//! EDN values to [`Event`]s.
//!
//! Mapping (keys are keywords, optionally inside `#record{...}`):
//! - `:process` integer -> `Process::Client`, `:nemesis` -> `Process::Nemesis`;
//! - `:type` `:invoke/:ok/:fail/:info`; `:f` keyword, symbol or string;
//! - `:value` -> JSON (keywords become strings without `:`, maps become
//!   objects with string keys, sets and lists become arrays, tags are
//!   dropped);
//! - `:time` / `:index` default to the event's position;
//! - with independent keys, a client `:value [k v]` becomes `key` = k and
//!   `value` = v;
//! - an `:ok` `:read` whose value is `nil` is, by default, a read whose
//!   value is unknown, as in knossos' register models (where `nil` matches
//!   any state): it becomes `info` (a read that saw nothing we know of
//!   constrains nothing). [`NilReads::Absent`] reads it literally: the key
//!   was absent, as `null` means in our own JSONL histories.
//!
//! Invariants: every problem names the line where its event starts.

use std::{fs, io::Read, path::Path};

use serde_json::{Map, Number, Value};

use super::parse::{Edn, TopForm, parse_all};
use crate::history::{
    error::{HistoryError, Location, Problem, Warning},
    event::{Event, EventKind, Process},
    paired::{History, pair},
};

/// Whether client values are Jepsen `independent` `[key value]` tuples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Independent {
    /// Tuples iff every client event's value is a 2-element vector and no
    /// event has its own `:key`.
    #[default]
    Auto,
    /// Every client value is a `[key value]` tuple.
    Yes,
    /// Values are taken as they are.
    No,
}

/// What an `:ok` `:read` of `nil` means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NilReads {
    /// Jepsen's (knossos') reading: the value is unknown, so the read
    /// constrains nothing. Reproduces Jepsen's verdicts.
    #[default]
    Unknown,
    /// The literal reading: the key was absent (`null`).
    Absent,
}

/// How to read an EDN history.
#[derive(Debug, Clone, Default)]
pub struct EdnOptions {
    /// Whether values are `[key value]` tuples.
    pub independent: Independent,
    /// What `:ok` `:read` `nil` means.
    pub nil_reads: NilReads,
}

/// Reads and pairs an EDN history file (independent keys detected).
pub fn read_edn(path: impl AsRef<Path>) -> Result<(History, Vec<Warning>), HistoryError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file = fs::File::open(path).map_err(|source| HistoryError::Io {
        name: name.clone(),
        source,
    })?;
    read_edn_from(std::io::BufReader::new(file), &name)
}

/// Reads and pairs an EDN history from any reader (independent keys
/// detected); `name` is used in messages.
pub fn read_edn_from(
    reader: impl Read,
    name: &str,
) -> Result<(History, Vec<Warning>), HistoryError> {
    read_edn_with(reader, name, &EdnOptions::default())
}

/// Reads and pairs an EDN history with explicit options.
pub fn read_edn_with(
    mut reader: impl Read,
    name: &str,
    options: &EdnOptions,
) -> Result<(History, Vec<Warning>), HistoryError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| HistoryError::Io {
            name: name.to_owned(),
            source,
        })?;
    let line_err = |line: u64, problem: Problem| HistoryError::Line {
        name: name.to_owned(),
        line,
        problem: Box::new(problem),
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        line_err(line, Problem::InvalidUtf8)
    })?;
    let forms = parse_all(text).map_err(|l| line_err(l.line, Problem::Edn(l.problem)))?;
    let items = unwrap_top_level(forms);
    let maps: Vec<(u64, Vec<(Edn, Edn)>)> = items
        .into_iter()
        .map(|(line, v)| match untag(v) {
            Edn::Map(m) => Ok((line, m)),
            other => Err(line_err(
                line,
                Problem::EdnEvent(format!("expected a map, found {}", edn_kind(&other))),
            )),
        })
        .collect::<Result<_, _>>()?;
    let independent = match options.independent {
        Independent::Yes => true,
        Independent::No => false,
        Independent::Auto => !super::txn::has_txn_ops(&maps) && detect_independent(&maps),
    };
    let mut events = Vec::with_capacity(maps.len());
    let mut lines = Vec::with_capacity(maps.len());
    for (pos, (line, map)) in maps.into_iter().enumerate() {
        let event =
            to_event(pos, map, independent).map_err(|m| line_err(line, Problem::EdnEvent(m)))?;
        events.push(event);
        lines.push(line);
    }
    let unknown = match options.nil_reads {
        NilReads::Unknown => unknown_nil_reads(&mut events),
        NilReads::Absent => Vec::new(),
    };
    let (history, mut warnings) =
        pair(events, |pos| Location::Line(lines[pos])).map_err(|(pos, problem)| {
            HistoryError::Line {
                name: name.to_owned(),
                line: lines[pos],
                problem,
            }
        })?;
    if let Some(&first) = unknown.first() {
        warnings.push(Warning::NilReads {
            count: unknown.len(),
            first: Location::Line(lines[first]),
        });
    }
    Ok((history, warnings))
}

/// Makes every client `:ok` `:read` of `nil` an `info` read (value
/// unknown); their positions.
fn unknown_nil_reads(events: &mut [Event]) -> Vec<usize> {
    let mut changed = Vec::new();
    for (pos, e) in events.iter_mut().enumerate() {
        let nil_read = e.kind == EventKind::Ok && e.f == "read" && e.value.is_null();
        if nil_read && e.process != Process::Nemesis {
            e.kind = EventKind::Info;
            e.error = Some("read nil: value unknown (knossos)".to_owned());
            changed.push(pos);
        }
    }
    changed
}

/// A single top-level vector/list is the history; otherwise each
/// top-level form is an event.
fn unwrap_top_level(mut forms: Vec<TopForm>) -> Vec<(u64, Edn)> {
    if forms.len() == 1 && matches!(forms[0].value, Edn::Vector(_) | Edn::List(_)) {
        let top = forms.remove(0);
        if let Edn::Vector(items) | Edn::List(items) = top.value {
            return top.element_lines.into_iter().zip(items).collect();
        }
    }
    forms.into_iter().map(|f| (f.line, f.value)).collect()
}

fn untag(v: Edn) -> Edn {
    match v {
        Edn::Tagged(_, inner) => untag(*inner),
        other => other,
    }
}

fn detect_independent(maps: &[(u64, Vec<(Edn, Edn)>)]) -> bool {
    let mut seen = false;
    for (_, m) in maps {
        if get(m, "key").is_some() {
            return false;
        }
        let is_client = !matches!(get(m, "process"), Some(Edn::Keyword(_)));
        if !is_client {
            continue;
        }
        match get(m, "value") {
            Some(Edn::Vector(t)) if t.len() == 2 => seen = true,
            _ => return false,
        }
    }
    seen
}

fn get<'a>(m: &'a [(Edn, Edn)], key: &str) -> Option<&'a Edn> {
    m.iter().find_map(|(k, v)| match k {
        Edn::Keyword(k) if k == key => Some(v),
        _ => None,
    })
}

fn to_event(pos: usize, map: Vec<(Edn, Edn)>, independent: bool) -> Result<Event, String> {
    let mut process = None;
    let mut kind = None;
    let mut f = None;
    let mut value = Edn::Nil;
    let mut time = None;
    let mut index = None;
    let mut error = None;
    let mut key = None;
    let mut node = None;
    let mut is_final = false;
    for (k, v) in map {
        let Edn::Keyword(k) = k else { continue };
        match k.as_str() {
            "process" => process = Some(v),
            "type" => kind = Some(v),
            "f" => f = Some(v),
            "value" => value = v,
            "time" => time = Some(v),
            "index" => index = Some(v),
            "error" => error = Some(v),
            "key" => key = Some(v),
            "node" => node = Some(v),
            "final" | "final?" => is_final = matches!(v, Edn::Bool(true)),
            _ => {}
        }
    }
    let process = match process.ok_or("missing :process")? {
        Edn::Int(p) if p >= 0 => Process::Client(p as u64),
        Edn::UInt(p) => Process::Client(p),
        Edn::Keyword(k) if k == "nemesis" => Process::Nemesis,
        other => return Err(format!("invalid :process {}", edn_text(&other))),
    };
    let kind = match kind.ok_or("missing :type")? {
        Edn::Keyword(k) => match k.as_str() {
            "invoke" => EventKind::Invoke,
            "ok" => EventKind::Ok,
            "fail" => EventKind::Fail,
            "info" => EventKind::Info,
            _ => return Err(format!("invalid :type :{k}")),
        },
        other => return Err(format!("invalid :type {}", edn_text(&other))),
    };
    let f = match f.ok_or("missing :f")? {
        Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s) => s,
        other => return Err(format!("invalid :f {}", edn_text(&other))),
    };
    let mut key = key.map(|k| key_text(&k)).transpose()?;
    if independent && process != Process::Nemesis {
        match value {
            Edn::Vector(mut t) if t.len() == 2 => {
                let v = t.pop().unwrap_or(Edn::Nil);
                let k = t.pop().unwrap_or(Edn::Nil);
                key = Some(key_text(&k)?);
                value = v;
            }
            other => {
                return Err(format!(
                    "expected an independent [key value] tuple, found {}",
                    edn_text(&other)
                ));
            }
        }
    }
    let int = |v: Option<Edn>, what: &str| -> Result<u64, String> {
        match v {
            None => Ok(pos as u64),
            Some(Edn::Int(i)) if i >= 0 => Ok(i as u64),
            Some(Edn::UInt(i)) => Ok(i),
            Some(other) => Err(format!("invalid :{what} {}", edn_text(&other))),
        }
    };
    Ok(Event {
        index: int(index, "index")?,
        time: int(time, "time")?,
        process,
        kind,
        f,
        key,
        value: to_json(value),
        error: error.map(|e| match e {
            Edn::Keyword(s) | Edn::Str(s) | Edn::Symbol(s) => s,
            other => edn_text(&other),
        }),
        node: node.map(|n| match n {
            Edn::Keyword(s) | Edn::Str(s) | Edn::Symbol(s) => s,
            other => edn_text(&other),
        }),
        is_final,
    })
}

fn key_text(k: &Edn) -> Result<String, String> {
    match k {
        Edn::Int(i) => Ok(i.to_string()),
        Edn::UInt(i) => Ok(i.to_string()),
        Edn::Keyword(s) | Edn::Str(s) | Edn::Symbol(s) => Ok(s.clone()),
        other => Err(format!("invalid key {}", edn_text(other))),
    }
}

/// EDN to JSON, as documented in the module docs.
pub(crate) fn to_json(v: Edn) -> Value {
    match v {
        Edn::Nil => Value::Null,
        Edn::Bool(b) => Value::Bool(b),
        Edn::Int(i) => Value::Number(i.into()),
        Edn::UInt(u) => Value::Number(u.into()),
        Edn::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::String(s),
        Edn::Char(c) => Value::String(c.to_string()),
        Edn::Vector(v) | Edn::List(v) | Edn::Set(v) => {
            Value::Array(v.into_iter().map(to_json).collect())
        }
        Edn::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let k = match to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(k, to_json(v));
            }
            Value::Object(out)
        }
        Edn::Tagged(_, inner) => to_json(*inner),
    }
}

fn edn_kind(v: &Edn) -> &'static str {
    match v {
        Edn::Nil => "nil",
        Edn::Bool(_) => "a boolean",
        Edn::Int(_) | Edn::UInt(_) | Edn::Float(_) => "a number",
        Edn::Str(_) => "a string",
        Edn::Char(_) => "a character",
        Edn::Keyword(_) => "a keyword",
        Edn::Symbol(_) => "a symbol",
        Edn::Vector(_) => "a vector",
        Edn::List(_) => "a list",
        Edn::Map(_) => "a map",
        Edn::Set(_) => "a set",
        Edn::Tagged(..) => "a tagged value",
    }
}

/// Short text of a value for messages (its JSON form, cut at 60 chars).
fn edn_text(v: &Edn) -> String {
    let s = match v {
        Edn::Keyword(k) => format!(":{k}"),
        other => to_json(other.clone()).to_string(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(60).collect();
        format!("{cut}...")
    } else {
        s
    }
}
