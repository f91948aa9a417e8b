//! A small EDN reader: text to [`Edn`] values with their starting lines.
//!
//! Invariants: nesting deeper than [`MAX_DEPTH`] is an error (no stack
//! overflow); every input gives values or an [`EdnProblem`], never a panic.
//! Metadata (`^m form`) and discarded forms (`#_ form`) are dropped.

use std::fmt;

/// Deepest nesting of collections and tags accepted.
pub const MAX_DEPTH: usize = 100;

/// An EDN value.
#[derive(Debug, Clone, PartialEq)]
pub enum Edn {
    /// `nil`
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A non-negative integer that only fits in `u64`.
    UInt(u64),
    /// A floating-point number, or a number that fits no integer type.
    Float(f64),
    /// A string.
    Str(String),
    /// A character literal.
    Char(char),
    /// A keyword, without its leading `:`.
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// `[...]`
    Vector(Vec<Edn>),
    /// `(...)`
    List(Vec<Edn>),
    /// `{...}` in source order.
    Map(Vec<(Edn, Edn)>),
    /// `#{...}`
    Set(Vec<Edn>),
    /// `#tag value`, including record literals `#ns.Rec{...}`.
    Tagged(String, Box<Edn>),
}

/// What is wrong with EDN text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdnProblem {
    /// Input ended inside a form.
    #[error("unexpected end of input: the form opened on line {0} is not closed")]
    Eof(u64),
    /// A closing delimiter without an opening one, or of the wrong kind.
    #[error("unexpected `{0}`")]
    Unexpected(char),
    /// A map with an odd number of forms.
    #[error("a map needs an even number of forms")]
    OddMap,
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A token that is not valid EDN.
    #[error("invalid token `{0}`")]
    Token(String),
    /// A bad escape in a string or character.
    #[error("invalid escape `{0}`")]
    Escape(String),
    /// `#` followed by nothing usable.
    #[error("invalid dispatch `#{0}`")]
    Dispatch(String),
}

/// A problem and the line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line.
    pub line: u64,
    /// What is wrong.
    pub problem: EdnProblem,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// A top-level form with the line it starts on and, if it is a collection,
/// the line each of its elements starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct TopForm {
    /// 1-based line where the form starts.
    pub line: u64,
    /// The form.
    pub value: Edn,
    /// For a vector, list or set: where each (kept) element starts.
    pub element_lines: Vec<u64>,
}

/// Parses every top-level form of `text`.
pub fn parse_all(text: &str) -> Result<Vec<TopForm>, Located> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        line: 1,
        element_lines: Vec::new(),
    };
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.i >= p.s.len() {
            return Ok(out);
        }
        let line = p.line;
        p.element_lines.clear();
        if let Some(value) = p.form(0)? {
            out.push(TopForm {
                line,
                value,
                element_lines: std::mem::take(&mut p.element_lines),
            });
        }
    }
}

/// The byte-level parser.
struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    line: u64,
    /// Lines of the elements of the current top-level collection.
    element_lines: Vec<u64>,
}

fn is_delim(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';') || is_ws(b)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | 0x0c)
}

impl Parser<'_> {
    fn err<T>(&self, problem: EdnProblem) -> Result<T, Located> {
        // An unclosed form is reported where it opens.
        let line = match problem {
            EdnProblem::Eof(opened) => opened,
            _ => self.line,
        };
        Err(Located { line, problem })
    }

    fn skip_ws(&mut self) {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\n' => {
                    self.line += 1;
                    self.i += 1;
                }
                b';' => {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b if is_ws(b) => self.i += 1,
                _ => return,
            }
        }
    }

    /// Reads one form; `Ok(None)` when the form was discarded (`#_`).
    fn form(&mut self, depth: usize) -> Result<Option<Edn>, Located> {
        if depth > MAX_DEPTH {
            return self.err(EdnProblem::TooDeep);
        }
        self.skip_ws();
        let start_line = self.line;
        let Some(&b) = self.s.get(self.i) else {
            return self.err(EdnProblem::Eof(start_line));
        };
        match b {
            b'[' => {
                self.i += 1;
                Ok(Some(Edn::Vector(self.seq(b']', depth, start_line)?)))
            }
            b'(' => {
                self.i += 1;
                Ok(Some(Edn::List(self.seq(b')', depth, start_line)?)))
            }
            b'{' => {
                self.i += 1;
                let items = self.seq(b'}', depth, start_line)?;
                Ok(Some(Edn::Map(pairs(items).or_else(|p| self.err(p))?)))
            }
            b')' | b']' | b'}' => self.err(EdnProblem::Unexpected(b as char)),
            b'"' => {
                self.i += 1;
                Ok(Some(Edn::Str(self.string(start_line)?)))
            }
            b'\\' => {
                self.i += 1;
                Ok(Some(self.character()?))
            }
            b'#' => {
                self.i += 1;
                self.dispatch(depth, start_line)
            }
            b'^' => {
                self.i += 1;
                // metadata: read and drop it, then read the form it annotates
                self.required(depth + 1, start_line)?;
                self.form(depth + 1)
            }
            _ => {
                let tok = self.token();
                Ok(Some(atom(tok).or_else(|p| self.err(p))?))
            }
        }
    }

    /// A form that must be there (not at end of input, not discarded away).
    fn required(&mut self, depth: usize, start_line: u64) -> Result<Edn, Located> {
        loop {
            self.skip_ws();
            match self.s.get(self.i) {
                None => return self.err(EdnProblem::Eof(start_line)),
                Some(b')' | b']' | b'}') => {
                    return self.err(EdnProblem::Unexpected(self.s[self.i] as char));
                }
                Some(_) => {
                    if let Some(v) = self.form(depth)? {
                        return Ok(v);
                    }
                }
            }
        }
    }

    fn seq(&mut self, close: u8, depth: usize, start_line: u64) -> Result<Vec<Edn>, Located> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.s.get(self.i) {
                None => return self.err(EdnProblem::Eof(start_line)),
                Some(&b) if b == close => {
                    self.i += 1;
                    return Ok(items);
                }
                Some(_) => {
                    let line = self.line;
                    if let Some(v) = self.form(depth + 1)? {
                        if depth == 0 {
                            self.element_lines.push(line);
                        }
                        items.push(v);
                    }
                }
            }
        }
    }

    fn dispatch(&mut self, depth: usize, start_line: u64) -> Result<Option<Edn>, Located> {
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                Ok(Some(Edn::Set(self.seq(b'}', depth, start_line)?)))
            }
            Some(b'_') => {
                self.i += 1;
                self.required(depth + 1, start_line)?;
                Ok(None)
            }
            Some(&b) if !is_delim(b) && b != b'#' => {
                let tag = self.token().to_owned();
                let inner = self.required(depth + 1, start_line)?;
                Ok(Some(Edn::Tagged(tag, Box::new(inner))))
            }
            other => self.err(EdnProblem::Dispatch(
                other.map(|&b| (b as char).to_string()).unwrap_or_default(),
            )),
        }
    }

    /// Reads up to the next delimiter; always consumes at least one byte
    /// (the caller saw a non-delimiter).
    fn token(&mut self) -> &str {
        let start = self.i;
        self.i += 1;
        while self.i < self.s.len() && !is_delim(self.s[self.i]) {
            self.i += 1;
        }
        // Delimiters are ASCII, so these are char boundaries unless the
        // first byte was inside a multi-byte char, which cannot happen: we
        // only ever stop at ASCII bytes or the end.
        self.text.get(start..self.i).unwrap_or("")
    }

    fn string(&mut self, start_line: u64) -> Result<String, Located> {
        let mut out = String::new();
        loop {
            let rest = self.text.get(self.i..).unwrap_or("");
            let Some(pos) = rest.find(['"', '\\', '\n']) else {
                return self.err(EdnProblem::Eof(start_line));
            };
            out.push_str(&rest[..pos]);
            self.i += pos;
            match self.s[self.i] {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\n' => {
                    out.push('\n');
                    self.line += 1;
                    self.i += 1;
                }
                _ => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err(EdnProblem::Eof(start_line));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let hex = self.text.get(self.i..self.i + 4).unwrap_or("");
                            let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                            match c {
                                Some(c) if hex.len() == 4 => {
                                    out.push(c);
                                    self.i += 4;
                                }
                                _ => return self.err(EdnProblem::Escape(format!("\\u{hex}"))),
                            }
                        }
                        other => {
                            let shown = self
                                .text
                                .get(self.i - 1..)
                                .and_then(|s| s.chars().next())
                                .unwrap_or(other as char);
                            return self.err(EdnProblem::Escape(format!("\\{shown}")));
                        }
                    }
                }
            }
        }
    }

    fn character(&mut self) -> Result<Edn, Located> {
        // A char literal is `\` then one char, or a name up to a delimiter.
        let rest = self.text.get(self.i..).unwrap_or("");
        let Some(first) = rest.chars().next() else {
            return self.err(EdnProblem::Eof(self.line));
        };
        let mut end = first.len_utf8();
        while end < rest.len() && !is_delim(rest.as_bytes()[end]) {
            end += 1;
        }
        let name = rest.get(..end).unwrap_or("");
        let c = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            n if n.chars().count() == 1 => first,
            n if n.starts_with('u') && n.len() == 5 => {
                match u32::from_str_radix(&n[1..], 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(c) => c,
                    None => return self.err(EdnProblem::Escape(format!("\\{n}"))),
                }
            }
            n => return self.err(EdnProblem::Escape(format!("\\{n}"))),
        };
        self.i += end;
        Ok(Edn::Char(c))
    }
}

fn pairs(items: Vec<Edn>) -> Result<Vec<(Edn, Edn)>, EdnProblem> {
    if items.len() % 2 != 0 {
        return Err(EdnProblem::OddMap);
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// Numbers, keywords, symbols, `nil`, `true`, `false`.
fn atom(tok: &str) -> Result<Edn, EdnProblem> {
    match tok {
        "nil" => return Ok(Edn::Nil),
        "true" => return Ok(Edn::Bool(true)),
        "false" => return Ok(Edn::Bool(false)),
        _ => {}
    }
    let bytes = tok.as_bytes();
    let numeric = matches!(bytes, [b'0'..=b'9', ..] | [b'+' | b'-', b'0'..=b'9', ..]);
    if numeric {
        return number(tok).ok_or_else(|| EdnProblem::Token(tok.to_owned()));
    }
    if let Some(k) = tok.strip_prefix(':') {
        let k = k.strip_prefix(':').unwrap_or(k);
        if k.is_empty() {
            return Err(EdnProblem::Token(tok.to_owned()));
        }
        return Ok(Edn::Keyword(k.to_owned()));
    }
    Ok(Edn::Symbol(tok.to_owned()))
}

fn number(tok: &str) -> Option<Edn> {
    let t = tok.strip_prefix('+').unwrap_or(tok);
    if let Some(int) = t.strip_suffix('N') {
        return int_of(int).or_else(|| int.parse::<f64>().ok().map(Edn::Float));
    }
    if let Some(dec) = t.strip_suffix('M') {
        return dec.parse::<f64>().ok().map(Edn::Float);
    }
    if let Some(i) = int_of(t) {
        return Some(i);
    }
    if let Some((n, d)) = t.split_once('/') {
        let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
        return (d != 0.0).then(|| Edn::Float(n / d));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Edn::Float)
}

fn int_of(t: &str) -> Option<Edn> {
    if let Ok(i) = t.parse::<i64>() {
        return Some(Edn::Int(i));
    }
    t.parse::<u64>().ok().map(Edn::UInt)
}
