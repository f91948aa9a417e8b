//! Logging: `tracing` to stderr, one line per event, prefixed with the node
//! id so that interleaved logs of several nodes stay attributable.

use std::io::Write;

use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

/// Installs the global subscriber; the level comes from `RUST_LOG`
/// (default `info`, with openraft's chatter at `warn`).
pub fn init(id: u64) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(PrefixedStderr {
            prefix: format!("n{id} "),
        })
        .init();
}

/// Writes each formatted event as one `write` of prefix + line.
///
/// tracing-subscriber formats a whole event into one buffer and writes it
/// with a single `write_all`, so one call here is one line.
#[derive(Clone)]
struct PrefixedStderr {
    prefix: String,
}

impl<'a> MakeWriter<'a> for PrefixedStderr {
    type Writer = PrefixedLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        PrefixedLine {
            prefix: &self.prefix,
        }
    }
}

struct PrefixedLine<'a> {
    prefix: &'a str,
}

impl Write for PrefixedLine<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut line = Vec::with_capacity(self.prefix.len() + buf.len());
        line.extend_from_slice(self.prefix.as_bytes());
        line.extend_from_slice(buf);
        std::io::stderr().lock().write_all(&line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
