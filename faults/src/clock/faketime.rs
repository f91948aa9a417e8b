//! The node side of clock faults: libfaketime preloaded into each node,
//! reading its fake time from a file of its own.
//!
//! Owns [`ClockSetup`] (where libfaketime is, where the clock files live,
//! whether monotonic clocks are faked), [`ClockSetup::prepare`] (a
//! [`NodeSpec`] with `LD_PRELOAD` and the `FAKETIME_*` variables, and the
//! node's clock file created at real time) and [`ClockFile`], the only
//! writer of that file.
//!
//! The file holds one libfaketime specification, re-read by the node on
//! every clock call (`FAKETIME_NO_CACHE=1`):
//!
//! | state | line | the node's clocks read |
//! |---|---|---|
//! | rate 1, offset `o` | `+o x1` | real time + `o`, whatever the node's start |
//! | rate `r` from fake time `T` | `@T x r` (`FAKETIME_FMT=%s`) | `T + r·(t − t₀)`, `t₀` the node's first clock call after the write |
//!
//! Invariants:
//! - The file is replaced by `rename`, so the node reads the old line or
//!   the new one, never a torn one, and it always exists (a missing file
//!   would fall back to `~/.faketimerc`).
//! - Only `@` lines reset libfaketime's reference point, and they carry the
//!   fake time to resume from: a rate change never makes the clock jump.
//! - A node whose program libfaketime cannot reach (static, Go) is refused
//!   by [`ClockSetup::prepare`] (see [`super::check_clock_reachable`]).

use std::{
    ffi::{OsStr, OsString},
    fmt::Write as _,
    path::{Path, PathBuf},
};

use super::{check_clock_reachable, elf::inspect_elf};
use crate::{FaultError, NodeName, NodeSpec};

/// The library's file name.
pub const LIBFAKETIME: &str = "libfaketime.so.1";

/// Environment variables that would change how libfaketime reads our file,
/// and that a node must therefore not inherit.
const CONFLICTING: [&str; 5] = [
    "FAKETIME",
    "FAKETIME_DONT_RESET",
    "FAKETIME_XRESET",
    "FAKETIME_CACHE_DURATION",
    "FAKETIME_START_AFTER_SECONDS",
];

/// How the nodes of a run get their clocks faked.
#[derive(Clone, Debug)]
pub struct ClockSetup {
    /// `libfaketime.so.1`.
    pub library: PathBuf,
    /// Where the per-node clock files are created (the run's directory).
    pub dir: PathBuf,
    /// Fake `CLOCK_MONOTONIC` (and `_RAW`, `_COARSE`, `BOOTTIME`) too, as
    /// libfaketime does by default. Needed for Rust's `Instant` and every
    /// timer built on it; see `docs/faults.md` for what `false` breaks.
    pub fake_monotonic: bool,
}

impl ClockSetup {
    /// Clock files in `dir`, libfaketime found with [`locate_libfaketime`],
    /// monotonic clocks faked.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, FaultError> {
        Ok(Self {
            library: locate_libfaketime()?,
            dir: dir.into(),
            fake_monotonic: true,
        })
    }

    /// `spec` with libfaketime preloaded and reading the node's own clock
    /// file, which is created (or reset) at real time. Refuses programs
    /// whose clock libfaketime cannot reach, and environments that would
    /// override the file.
    pub fn prepare(&self, spec: NodeSpec) -> Result<(NodeSpec, ClockFile), FaultError> {
        check_clock_reachable(&spec)?;
        for name in CONFLICTING {
            let set_by_spec = spec.env.contains_key(OsStr::new(name));
            if set_by_spec || std::env::var_os(name).is_some() {
                return Err(FaultError::Parameter {
                    fault: "clock",
                    detail: format!(
                        "node {} would run with {name} set, which overrides the harness's clock \
                         file; unset it",
                        spec.name
                    ),
                });
            }
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            FaultError::io(
                format!("creating clock directory {}", self.dir.display()),
                e,
            )
        })?;
        let file = ClockFile {
            node: spec.name.clone(),
            path: self.dir.join(format!("{}.faketime", spec.name)),
        };
        file.write(&FakeClockLine::Offset { offset_ns: 0 })?;
        let preload = match spec.env.get(OsStr::new("LD_PRELOAD")) {
            Some(existing) if !existing.is_empty() => {
                let mut joined = OsString::from(&self.library);
                joined.push(":");
                joined.push(existing);
                joined
            }
            _ => self.library.clone().into(),
        };
        let mut spec = spec
            .env("LD_PRELOAD", preload)
            .env("FAKETIME_TIMESTAMP_FILE", &file.path)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_FMT", "%s");
        if !self.fake_monotonic {
            spec = spec.env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        Ok((spec, file))
    }
}

/// Find `libfaketime.so.1` for this machine's architecture: in
/// `$HARNESS_LIBFAKETIME` if set, else in the usual library directories
/// (Debian's multiarch `/usr/lib/<triplet>/faketime`, `/usr/lib64/faketime`,
/// `/usr/lib/faketime`, `/usr/local/lib/faketime`), keeping only a library
/// built for the same machine as this process.
pub fn locate_libfaketime() -> Result<PathBuf, FaultError> {
    if let Some(path) = std::env::var_os("HARNESS_LIBFAKETIME") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(FaultError::FaketimeMissing {
                searched: format!("HARNESS_LIBFAKETIME={}", path.display()),
            })
        };
    }
    let own_machine = std::env::current_exe()
        .ok()
        .and_then(|exe| inspect_elf(&exe).ok())
        .map(|facts| facts.machine);
    let candidates = candidate_dirs();
    candidates
        .iter()
        .map(|dir| dir.join(LIBFAKETIME))
        .find(|lib| {
            lib.is_file()
                && match (own_machine, inspect_elf(lib)) {
                    (Some(ours), Ok(facts)) => facts.machine == ours,
                    (None, _) => true,
                    (Some(_), Err(_)) => false,
                }
        })
        .ok_or_else(|| FaultError::FaketimeMissing {
            searched: candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The directories [`locate_libfaketime`] looks in, in order.
fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    // Multiarch directories, `/usr/lib/<triplet>/faketime`, in a stable
    // order; the machine check picks the right one.
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        let mut triplets: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("faketime"))
            .filter(|p| p.is_dir())
            .take(64)
            .collect();
        triplets.sort();
        dirs.extend(triplets);
    }
    for dir in [
        "/usr/lib64/faketime",
        "/usr/lib/faketime",
        "/usr/local/lib/faketime",
        "/usr/local/lib",
    ] {
        dirs.push(dir.into());
    }
    dirs
}

/// One line of a clock file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum FakeClockLine {
    /// Real time plus `offset_ns`, at real speed.
    Offset { offset_ns: i128 },
    /// From the node's next clock call on, `fake_ns` (since the epoch)
    /// advancing at `rate`.
    Rate { fake_ns: i128, rate: f64 },
}

impl FakeClockLine {
    /// The libfaketime specification.
    pub(crate) fn render(self) -> String {
        let mut line = String::new();
        match self {
            Self::Offset { offset_ns } => {
                let _ = write!(line, "{} x1", seconds(offset_ns, true));
            }
            Self::Rate { fake_ns, rate } => {
                let _ = write!(line, "@{} x{rate}", seconds(fake_ns, false));
            }
        }
        line
    }
}

/// `ns` as decimal seconds with nine fractional digits, signed for an
/// offset (`+1.500000000`, `-0.250000000`).
fn seconds(ns: i128, signed: bool) -> String {
    let sign = if ns < 0 {
        "-"
    } else if signed {
        "+"
    } else {
        ""
    };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
}

/// A node's clock file: the harness writes it, the node's libfaketime
/// reads it.
#[derive(Clone, Debug)]
pub struct ClockFile {
    node: NodeName,
    path: PathBuf,
}

impl ClockFile {
    /// The node it belongs to.
    pub fn node(&self) -> &NodeName {
        &self.node
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replace the line, atomically (write a sibling, then rename).
    pub(crate) fn write(&self, line: &FakeClockLine) -> Result<(), FaultError> {
        let tmp = self.path.with_extension("faketime.tmp");
        let text = format!("{}\n", line.render());
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| FaultError::io(format!("writing clock file {}", self.path.display()), e))
    }

    /// The line in force, as written.
    pub fn read(&self) -> Result<String, FaultError> {
        std::fs::read_to_string(&self.path)
            .map(|s| s.trim_end().to_owned())
            .map_err(|e| FaultError::io(format!("reading clock file {}", self.path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_render_as_libfaketime_parses_them() {
        // (line, rendered)
        let table = [
            (FakeClockLine::Offset { offset_ns: 0 }, "+0.000000000 x1"),
            (
                FakeClockLine::Offset {
                    offset_ns: 1_500_000_000,
                },
                "+1.500000000 x1",
            ),
            (
                FakeClockLine::Offset {
                    offset_ns: -250_000_000,
                },
                "-0.250000000 x1",
            ),
            (
                FakeClockLine::Rate {
                    fake_ns: 1_700_000_000_123_456_789,
                    rate: 2.0,
                },
                "@1700000000.123456789 x2",
            ),
            (
                FakeClockLine::Rate {
                    fake_ns: 1_700_000_000_000_000_000,
                    rate: 0.5,
                },
                "@1700000000.000000000 x0.5",
            ),
        ];
        for (line, rendered) in table {
            assert_eq!(line.render(), rendered);
            // libfaketime scales `+` offsets by any of these letters.
            assert!(!rendered.contains(['m', 'h', 'd', 'y']), "{rendered}");
        }
    }

    #[test]
    fn prepare_adds_the_preload_and_creates_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let setup = ClockSetup {
            library: "/opt/libfaketime.so.1".into(),
            dir: dir.path().join("clocks"),
            fake_monotonic: false,
        };
        let spec = NodeSpec::new(
            NodeName::from("n2"),
            std::env::current_exe().unwrap(),
            dir.path().join("n2.log"),
        )
        .env("LD_PRELOAD", "/opt/other.so");
        let (spec, file) = setup.prepare(spec).unwrap();
        let env = |k: &str| spec.env.get(OsStr::new(k)).cloned();
        assert_eq!(
            env("LD_PRELOAD"),
            Some("/opt/libfaketime.so.1:/opt/other.so".into())
        );
        assert_eq!(
            env("FAKETIME_TIMESTAMP_FILE"),
            Some(dir.path().join("clocks/n2.faketime").into())
        );
        assert_eq!(env("FAKETIME_NO_CACHE"), Some("1".into()));
        assert_eq!(env("FAKETIME_DONT_FAKE_MONOTONIC"), Some("1".into()));
        assert_eq!(file.read().unwrap(), "+0.000000000 x1");
    }

    #[test]
    fn prepare_refuses_an_overriding_environment() {
        let dir = tempfile::tempdir().unwrap();
        let setup = ClockSetup {
            library: "/opt/libfaketime.so.1".into(),
            dir: dir.path().into(),
            fake_monotonic: true,
        };
        let spec = NodeSpec::new(
            NodeName::from("n1"),
            std::env::current_exe().unwrap(),
            dir.path().join("n1.log"),
        )
        .env("FAKETIME", "+1d");
        let err = setup.prepare(spec).unwrap_err().to_string();
        assert!(err.contains("FAKETIME set"), "{err}");
    }
}
