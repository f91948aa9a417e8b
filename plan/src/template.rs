//! `system: command`: a node's command line from a `start:` template.
//!
//! A template is a command line, split into arguments the way a shell
//! would split it (but no shell runs), with placeholders filled in per
//! node:
//!
//! | placeholder | value (for node `n2` of three) |
//! |---|---|
//! | `{id}` | `2` (the node's number, 1-based) |
//! | `{name}` | `n2` |
//! | `{ip}` | `10.77.0.12` (its own address) |
//! | `{port}` | `7000` (its port) |
//! | `{peer_port}` | `7001` (a second port of its own, e.g. for peer traffic) |
//! | `{data_dir}` | its data directory, e.g. `runs/p/2024.../nodes/n2` |
//! | `{secret}` | a random secret of this run, the same for every node (for peer authentication) |
//! | `{peers}` | `1=10.77.0.11:7000,2=10.77.0.12:7000,3=10.77.0.13:7000` |
//! | `{peer_urls}` | `http://10.77.0.11:7000,http://10.77.0.12:7000,...` |
//! | `{peers:FORMAT}` | `FORMAT` once per peer, joined with `,`: `{peers:{name}=http://{ip}:2380}` gives `n1=http://10.77.0.11:2380,n2=...` |
//! | `{peer_args:FORMAT}` | `FORMAT` once per peer, each as its own arguments: `{peer_args:--peer {id}={ip}:{port}}` gives `--peer 1=10.77.0.11:7000 --peer 2=...` |
//!
//! "Peers" are all nodes of the cluster, this one included, in node order
//! (`{peers}` is `{peers:{id}={ip}:{port}}` and `{peer_urls}` is
//! `{peers:http://{ip}:{port}}`). Inside a `FORMAT`, `{id}`, `{name}`,
//! `{ip}`, `{port}`, `{peer_port}` and `{data_dir}` are the peer's. So `target-node` is
//!
//! ```text
//! target-node --id {id} --listen {ip}:{port} --data-dir {data_dir} {peer_args:--peer {id}={ip}:{port}}
//! ```
//!
//! Splitting: unquoted whitespace separates arguments; `'...'` and `"..."`
//! group (inside double quotes, `\"` and `\\` escape); a backslash outside
//! quotes makes the next character literal; `""` is an empty argument.
//! Placeholders are filled in everywhere, quotes included, and a filled-in
//! value is never split again (a data directory with spaces stays one
//! argument). `{{` and `}}` are literal braces. `{peer_args:...}` must be a
//! whole argument on its own.
//!
//! Invariants: a template is checked once, when parsed ([`Template::parse`]),
//! with the position of the first mistake; expanding a parsed template
//! cannot fail.
//!
//! One cohesive thing, kept in one file past the usual size: the
//! template language's tokenizer, parser and expansion (about 500 lines),
//! and its table tests.

use std::{fmt, net::IpAddr, path::PathBuf};

/// One node, as the template sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeVars {
    /// `{id}`: the node's number, 1-based.
    pub id: u32,
    /// `{name}`: `n{id}` in the harness's clusters.
    pub name: String,
    /// `{ip}`.
    pub ip: IpAddr,
    /// `{port}`.
    pub port: u16,
    /// `{peer_port}`.
    pub peer_port: u16,
    /// `{data_dir}`.
    pub data_dir: PathBuf,
    /// `{secret}`: the run's secret, the same for every node.
    pub secret: String,
}

/// A parsed `start:` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    words: Vec<Word>,
}

/// A mistake in a template, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at column {column} of the start template")]
pub struct TemplateError {
    /// What is wrong.
    pub kind: TemplateErrorKind,
    /// Byte offset of the mistake in the template.
    pub offset: usize,
    /// 1-based column (in characters) of the mistake.
    pub column: usize,
}

/// What can be wrong with a template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateErrorKind {
    #[error(
        "unknown placeholder `{{{name}}}` (known: {{id}}, {{name}}, {{ip}}, {{port}}, {{peer_port}}, \
         {{data_dir}}, {{secret}}, {{peers}}, {{peer_urls}}, {{peers:FORMAT}}, {{peer_args:FORMAT}}; `{{{{` is a literal brace)"
    )]
    UnknownPlaceholder { name: String },
    #[error("`{{` is never closed (write `{{{{` for a literal brace)")]
    UnclosedPlaceholder,
    #[error("`}}` closes nothing (write `}}}}` for a literal brace)")]
    UnmatchedBrace,
    #[error("the {quote} quote is never closed")]
    UnclosedQuote { quote: char },
    #[error("the template ends with a lone backslash")]
    TrailingBackslash,
    #[error("the template is empty: it needs at least a program")]
    Empty,
    #[error("`{{peer_args:...}}` must be a whole argument, with whitespace around it")]
    PeerArgsNotAlone,
    #[error("`{{{name}:...}}` cannot appear inside another peer format")]
    NestedJoin { name: String },
    #[error("`{{{name}:...}}` has an empty format")]
    EmptyFormat { name: String },
    #[error("the program (the first argument) cannot be `{{peer_args:...}}`")]
    ProgramIsPeerArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    Id,
    Name,
    Ip,
    Port,
    PeerPort,
    DataDir,
    Secret,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Var(Var),
    /// The format once per peer, joined with `,`.
    Join(Vec<Piece>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Word {
    Pieces(Vec<Piece>),
    /// Each peer's expansion of these words, as separate arguments.
    PeerArgs(Vec<Vec<Piece>>),
}

impl Template {
    /// Parse and check `source`.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let words = Parser::new(source, 0, true)
            .words()
            .map_err(|(kind, offset)| error(source, kind, offset))?;
        match words.first() {
            None => Err(error(source, TemplateErrorKind::Empty, 0)),
            Some(Word::PeerArgs(_)) => Err(error(source, TemplateErrorKind::ProgramIsPeerArgs, 0)),
            Some(_) => Ok(Self {
                source: source.to_owned(),
                words,
            }),
        }
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The argv of node `me` in a cluster of `peers` (all nodes, `me`
    /// included): program first. Never empty.
    pub fn expand(&self, me: &NodeVars, peers: &[NodeVars]) -> Vec<String> {
        let mut argv = Vec::new();
        for word in &self.words {
            match word {
                Word::Pieces(pieces) => argv.push(fill(pieces, me, peers)),
                Word::PeerArgs(words) => {
                    for peer in peers {
                        argv.extend(words.iter().map(|w| fill(w, peer, peers)));
                    }
                }
            }
        }
        argv
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Parse `template` and expand it for `me`: the one-call form.
pub fn expand(
    template: &str,
    me: &NodeVars,
    peers: &[NodeVars],
) -> Result<Vec<String>, TemplateError> {
    Ok(Template::parse(template)?.expand(me, peers))
}

fn fill(pieces: &[Piece], node: &NodeVars, peers: &[NodeVars]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Lit(text) => out.push_str(text),
            Piece::Var(var) => out.push_str(&value(*var, node)),
            Piece::Join(format) => {
                let each: Vec<String> = peers.iter().map(|p| fill(format, p, peers)).collect();
                out.push_str(&each.join(","));
            }
        }
    }
    out
}

fn value(var: Var, node: &NodeVars) -> String {
    match var {
        Var::Id => node.id.to_string(),
        Var::Name => node.name.clone(),
        Var::Ip => node.ip.to_string(),
        Var::Port => node.port.to_string(),
        Var::PeerPort => node.peer_port.to_string(),
        Var::DataDir => node.data_dir.display().to_string(),
        Var::Secret => node.secret.clone(),
    }
}

fn error(source: &str, kind: TemplateErrorKind, offset: usize) -> TemplateError {
    let offset = offset.min(source.len());
    TemplateError {
        kind,
        offset,
        column: source[..offset].chars().count() + 1,
    }
}

type ParseResult<T> = Result<T, (TemplateErrorKind, usize)>;

/// A tokenizer over `text`, a slice of the template starting at byte
/// `base` (so that errors point into the whole template).
struct Parser<'a> {
    text: &'a str,
    base: usize,
    pos: usize,
    /// Outside any peer format: joins are allowed.
    top: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, base: usize, top: bool) -> Self {
        Self {
            text,
            base,
            pos: 0,
            top,
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn words(mut self) -> ParseResult<Vec<Word>> {
        let mut words = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.bump();
            }
            if self.peek().is_none() {
                return Ok(words);
            }
            words.push(self.word()?);
        }
    }

    /// One argument: up to unquoted whitespace or the end.
    fn word(&mut self) -> ParseResult<Word> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut peer_args = None;
        let flush = |lit: &mut String, pieces: &mut Vec<Piece>| {
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(lit)));
            }
        };
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            let start = self.at();
            self.bump();
            match c {
                '\\' => match self.bump() {
                    Some(next) => lit.push(next),
                    None => return Err((TemplateErrorKind::TrailingBackslash, start)),
                },
                '\'' | '"' => self.quoted(c, start, &mut lit, &mut pieces)?,
                '{' if self.peek() == Some('{') => {
                    self.bump();
                    lit.push('{');
                }
                '}' if self.peek() == Some('}') => {
                    self.bump();
                    lit.push('}');
                }
                '}' => return Err((TemplateErrorKind::UnmatchedBrace, start)),
                '{' => match self.placeholder(start)? {
                    Placeholder::Piece(piece) => {
                        flush(&mut lit, &mut pieces);
                        pieces.push(piece);
                    }
                    Placeholder::PeerArgs(words) => {
                        let alone = pieces.is_empty()
                            && lit.is_empty()
                            && self.peek().is_none_or(char::is_whitespace);
                        if !alone || peer_args.is_some() {
                            return Err((TemplateErrorKind::PeerArgsNotAlone, start));
                        }
                        peer_args = Some(words);
                    }
                },
                other => lit.push(other),
            }
        }
        if let Some(words) = peer_args {
            return Ok(Word::PeerArgs(words));
        }
        flush(&mut lit, &mut pieces);
        if pieces.is_empty() {
            // `""`: an empty argument.
            pieces.push(Piece::Lit(String::new()));
        }
        Ok(Word::Pieces(pieces))
    }

    /// The inside of a quoted stretch, after its opening `quote`.
    fn quoted(
        &mut self,
        quote: char,
        open: usize,
        lit: &mut String,
        pieces: &mut Vec<Piece>,
    ) -> ParseResult<()> {
        loop {
            let start = self.at();
            match self.bump() {
                None => return Err((TemplateErrorKind::UnclosedQuote { quote }, open)),
                Some(c) if c == quote => return Ok(()),
                Some('\\') if quote == '"' && matches!(self.peek(), Some('"' | '\\')) => {
                    lit.push(self.bump().expect("peeked"));
                }
                Some('{') if self.peek() == Some('{') => {
                    self.bump();
                    lit.push('{');
                }
                Some('}') if self.peek() == Some('}') => {
                    self.bump();
                    lit.push('}');
                }
                Some('}') => return Err((TemplateErrorKind::UnmatchedBrace, start)),
                Some('{') => match self.placeholder(start)? {
                    Placeholder::Piece(piece) => {
                        if !lit.is_empty() {
                            pieces.push(Piece::Lit(std::mem::take(lit)));
                        }
                        pieces.push(piece);
                    }
                    Placeholder::PeerArgs(_) => {
                        return Err((TemplateErrorKind::PeerArgsNotAlone, start));
                    }
                },
                Some(c) => lit.push(c),
            }
        }
    }

    /// A placeholder, after its `{` at `open`: up to the matching `}`.
    fn placeholder(&mut self, open: usize) -> ParseResult<Placeholder> {
        let body_start = self.pos;
        let mut depth = 1;
        while depth > 0 {
            match self.bump() {
                None => return Err((TemplateErrorKind::UnclosedPlaceholder, open)),
                Some('{') => depth += 1,
                Some('}') => depth -= 1,
                Some(_) => {}
            }
        }
        let body = &self.text[body_start..self.pos - 1];
        let body_at = self.base + body_start;
        let var = |v| Ok(Placeholder::Piece(Piece::Var(v)));
        match body {
            "id" => return var(Var::Id),
            "name" => return var(Var::Name),
            "ip" => return var(Var::Ip),
            "port" => return var(Var::Port),
            "data_dir" => return var(Var::DataDir),
            "peer_port" => return var(Var::PeerPort),
            "secret" => return var(Var::Secret),
            _ => {}
        }
        let (name, format, format_at) = match body.split_once(':') {
            Some((name, format)) => (name, Some(format), body_at + name.len() + 1),
            None => (body, None, body_at),
        };
        let format = match (name, format) {
            ("peers", None) => "{id}={ip}:{port}",
            ("peer_urls", None) => "http://{ip}:{port}",
            ("peers" | "peer_args", Some(format)) => format,
            _ => {
                return Err((
                    TemplateErrorKind::UnknownPlaceholder { name: body.into() },
                    open,
                ));
            }
        };
        if !self.top {
            return Err((TemplateErrorKind::NestedJoin { name: name.into() }, open));
        }
        if format.trim().is_empty() {
            return Err((TemplateErrorKind::EmptyFormat { name: name.into() }, open));
        }
        // A default format is ours, not the user's: no offsets into it.
        let format_at = if body.contains(':') { format_at } else { open };
        let words = Parser::new(format, format_at, false).words()?;
        if name == "peer_args" {
            let words = words
                .into_iter()
                .map(|w| match w {
                    Word::Pieces(pieces) => Ok(pieces),
                    Word::PeerArgs(_) => Err((
                        TemplateErrorKind::NestedJoin { name: name.into() },
                        format_at,
                    )),
                })
                .collect::<ParseResult<Vec<_>>>()?;
            return Ok(Placeholder::PeerArgs(words));
        }
        // `{peers:...}` fills part of one argument: its format is one word
        // (whitespace in it is kept literally).
        let pieces = Parser::new(format, format_at, false).literal_word()?;
        Ok(Placeholder::Piece(Piece::Join(pieces)))
    }

    /// The whole text as the pieces of one word, whitespace included.
    fn literal_word(mut self) -> ParseResult<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        while let Some(c) = self.peek() {
            let start = self.at();
            if c.is_whitespace() {
                self.bump();
                lit.push(c);
                continue;
            }
            match self.word()? {
                Word::Pieces(more) => {
                    for piece in more {
                        match piece {
                            Piece::Lit(text) => lit.push_str(&text),
                            other => {
                                if !lit.is_empty() {
                                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                                }
                                pieces.push(other);
                            }
                        }
                    }
                }
                Word::PeerArgs(_) => {
                    return Err((
                        TemplateErrorKind::NestedJoin {
                            name: "peer_args".into(),
                        },
                        start,
                    ));
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(pieces)
    }
}

enum Placeholder {
    Piece(Piece),
    PeerArgs(Vec<Vec<Piece>>),
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn cluster() -> Vec<NodeVars> {
        (1..=3)
            .map(|i| NodeVars {
                id: i,
                name: format!("n{i}"),
                ip: IpAddr::V4(Ipv4Addr::new(10, 77, 0, 10 + i as u8)),
                port: 7000,
                peer_port: 7001,
                data_dir: PathBuf::from(format!("/runs/my run/nodes/n{i}")),
                secret: "s3cret".into(),
            })
            .collect()
    }

    fn argv(template: &str) -> Vec<String> {
        let peers = cluster();
        expand(template, &peers[1], &peers).unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    fn fails(template: &str) -> TemplateError {
        Template::parse(template).expect_err(template)
    }

    #[test]
    fn expansions() {
        let table: &[(&str, &[&str])] = &[
            ("srv {id} {name}", &["srv", "2", "n2"]),
            (
                "srv --listen {ip}:{port}",
                &["srv", "--listen", "10.77.0.12:7000"],
            ),
            (
                "srv --data {data_dir}",
                &["srv", "--data", "/runs/my run/nodes/n2"],
            ),
            (
                "srv --peers {peers}",
                &[
                    "srv",
                    "--peers",
                    "1=10.77.0.11:7000,2=10.77.0.12:7000,3=10.77.0.13:7000",
                ],
            ),
            (
                "srv {peer_urls}",
                &[
                    "srv",
                    "http://10.77.0.11:7000,http://10.77.0.12:7000,http://10.77.0.13:7000",
                ],
            ),
            (
                "etcd --initial-cluster={peers:{name}=http://{ip}:2380}",
                &[
                    "etcd",
                    "--initial-cluster=n1=http://10.77.0.11:2380,n2=http://10.77.0.12:2380,n3=http://10.77.0.13:2380",
                ],
            ),
            (
                "srv {peer_args:--peer {id}={ip}:{port}} --end",
                &[
                    "srv",
                    "--peer",
                    "1=10.77.0.11:7000",
                    "--peer",
                    "2=10.77.0.12:7000",
                    "--peer",
                    "3=10.77.0.13:7000",
                    "--end",
                ],
            ),
            (
                "srv '{name} x' \"a \\\"b\\\"\"",
                &["srv", "n2 x", "a \"b\""],
            ),
            ("srv a\\ b '' \"\"", &["srv", "a b", "", ""]),
            ("srv {{json}} '{{'", &["srv", "{json}", "{"]),
            ("  srv\t--x   y  ", &["srv", "--x", "y"]),
            (
                "srv {peers:{name} is {id}}",
                &["srv", "n1 is 1,n2 is 2,n3 is 3"],
            ),
            (
                "sh -c 'exec srv --id {id} >log'",
                &["sh", "-c", "exec srv --id 2 >log"],
            ),
        ];
        for (template, expected) in table {
            assert_eq!(argv(template), *expected, "{template}");
        }
    }

    #[test]
    fn target_node_is_expressible() {
        let template = "target-node --id {id} --listen {ip}:{port} --data-dir {data_dir} \
                        {peer_args:--peer {name}={ip}:{port}}";
        let got = argv(template);
        assert_eq!(
            got[..7],
            [
                "target-node",
                "--id",
                "2",
                "--listen",
                "10.77.0.12:7000",
                "--data-dir",
                "/runs/my run/nodes/n2"
            ]
        );
        assert_eq!(got[7..9], ["--peer", "n1=10.77.0.11:7000"]);
        assert_eq!(got.len(), 13);
    }

    #[test]
    fn errors_point_at_the_mistake() {
        let table: &[(&str, TemplateErrorKind, usize)] = &[
            (
                "srv --x {hostname}",
                TemplateErrorKind::UnknownPlaceholder {
                    name: "hostname".into(),
                },
                9,
            ),
            ("srv {ip", TemplateErrorKind::UnclosedPlaceholder, 5),
            ("srv ip}", TemplateErrorKind::UnmatchedBrace, 7),
            (
                "srv 'ab",
                TemplateErrorKind::UnclosedQuote { quote: '\'' },
                5,
            ),
            (
                "srv \"ab",
                TemplateErrorKind::UnclosedQuote { quote: '"' },
                5,
            ),
            ("srv ab\\", TemplateErrorKind::TrailingBackslash, 7),
            ("   ", TemplateErrorKind::Empty, 1),
            (
                "srv x{peer_args:{ip}}",
                TemplateErrorKind::PeerArgsNotAlone,
                6,
            ),
            (
                "srv {peer_args:{ip}}y",
                TemplateErrorKind::PeerArgsNotAlone,
                5,
            ),
            (
                "srv {peers:{peers}}",
                TemplateErrorKind::NestedJoin {
                    name: "peers".into(),
                },
                12,
            ),
            (
                "srv {peers:{host}}",
                TemplateErrorKind::UnknownPlaceholder {
                    name: "host".into(),
                },
                12,
            ),
            (
                "srv {peers:}",
                TemplateErrorKind::EmptyFormat {
                    name: "peers".into(),
                },
                5,
            ),
            ("{peer_args:{ip}}", TemplateErrorKind::ProgramIsPeerArgs, 1),
            (
                "srv é {nom}",
                TemplateErrorKind::UnknownPlaceholder { name: "nom".into() },
                7,
            ),
        ];
        for (template, kind, column) in table {
            let error = fails(template);
            assert_eq!(&error.kind, kind, "{template}");
            assert_eq!(error.column, *column, "{template}: {error}");
        }
    }

    #[test]
    fn error_messages_read_well() {
        assert_eq!(
            fails("srv --x {hostname}").to_string(),
            "unknown placeholder `{hostname}` (known: {id}, {name}, {ip}, {port}, {peer_port}, {data_dir}, {secret}, \
             {peers}, {peer_urls}, {peers:FORMAT}, {peer_args:FORMAT}; `{{` is a literal brace) \
             at column 9 of the start template"
        );
        assert_eq!(
            fails("srv 'x").to_string(),
            "the ' quote is never closed at column 5 of the start template"
        );
    }

    #[test]
    fn a_single_node_cluster_has_one_peer() {
        let me = cluster().remove(0);
        let got = Template::parse("srv {peer_args:-p {ip}} {peers}")
            .unwrap()
            .expand(&me, std::slice::from_ref(&me));
        assert_eq!(got, ["srv", "-p", "10.77.0.11", "1=10.77.0.11:7000"]);
    }
}
