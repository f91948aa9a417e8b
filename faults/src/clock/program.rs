//! Which binary a node really runs, and whether libfaketime can reach its
//! clock.
//!
//! Owns [`resolve_program`] (the `PATH` lookup the spawner's `Command`
//! does), [`is_statically_linked`] and [`check_clock_reachable`], which a
//! plan's `validate` calls so that a clock fault against a program that
//! ignores `LD_PRELOAD` is refused up front instead of injecting nothing.
//!
//! Invariants:
//! - A script (`#!`) is judged by its interpreter, followed at most
//!   [`MAX_SHEBANG_DEPTH`] levels (through `env NAME` too); what a script
//!   later `exec`s cannot be known, which the docs say.
//! - Reading stops at the first line of a script (at most 256 bytes).

use std::{
    ffi::OsStr,
    io::Read,
    path::{Path, PathBuf},
};

use super::elf::{ElfError, ElfFacts, inspect_elf};
use crate::{FaultError, NodeSpec};

/// How many `#!` interpreters are followed before giving up.
pub const MAX_SHEBANG_DEPTH: usize = 4;
/// Bound on a `#!` line.
const MAX_SHEBANG: usize = 256;

/// Find `program` as the spawner's `Command` does: a name with a `/` is a
/// path (relative to `cwd` when the node has one); a bare name is looked up
/// in `path` (the node's `PATH`).
pub fn resolve_program(
    program: &Path,
    cwd: Option<&Path>,
    path: Option<&OsStr>,
) -> Result<PathBuf, FaultError> {
    if program.components().count() > 1 || program.is_absolute() {
        let full = match cwd {
            Some(dir) if program.is_relative() => dir.join(program),
            _ => program.to_path_buf(),
        };
        return if full.is_file() {
            Ok(full)
        } else {
            Err(FaultError::Program {
                program: program.into(),
                detail: format!("{} is not a file", full.display()),
            })
        };
    }
    let searched = path.unwrap_or_default();
    std::env::split_paths(searched)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| FaultError::Program {
            program: program.into(),
            detail: format!("not found in PATH ({})", Path::new(searched).display()),
        })
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Is the ELF program at `path` statically linked (no `PT_INTERP`, so the
/// dynamic loader never runs and `LD_PRELOAD` is ignored)? Errors for files
/// that are not ELF.
pub fn is_statically_linked(path: &Path) -> Result<bool, FaultError> {
    let facts = inspect_elf(path).map_err(|e| elf_error(path, e))?;
    Ok(facts.interpreter.is_none())
}

/// What the program of `spec` resolves to, and whether its clock can be
/// faked: `Ok(binary)` names the ELF file judged (the program, or the
/// interpreter of a script); an error says why not.
pub fn check_clock_reachable(spec: &NodeSpec) -> Result<PathBuf, FaultError> {
    let path = spec
        .env
        .get(OsStr::new("PATH"))
        .cloned()
        .or_else(|| std::env::var_os("PATH"));
    let program = resolve_program(&spec.program, spec.cwd.as_deref(), path.as_deref())?;
    judge(&program, path.as_deref(), 0)
}

fn judge(program: &Path, path: Option<&OsStr>, depth: usize) -> Result<PathBuf, FaultError> {
    if let Some(interpreter) = shebang(program)? {
        if depth >= MAX_SHEBANG_DEPTH {
            return Err(FaultError::Program {
                program: program.into(),
                detail: format!("more than {MAX_SHEBANG_DEPTH} nested `#!` interpreters"),
            });
        }
        let next = resolve_program(&interpreter, None, path)?;
        return judge(&next, path, depth + 1);
    }
    let facts: ElfFacts = inspect_elf(program).map_err(|e| elf_error(program, e))?;
    let unreachable = |reason: &str| FaultError::ClockUnreachable {
        program: program.into(),
        reason: reason.into(),
    };
    if facts.interpreter.is_none() {
        return Err(unreachable(
            "it is statically linked (no ELF interpreter), so LD_PRELOAD is ignored",
        ));
    }
    if facts.go_runtime {
        return Err(unreachable(
            "it is a Go program, whose runtime reads the clock through the vDSO, not libc",
        ));
    }
    Ok(program.to_path_buf())
}

/// The program a `#!` line runs (for `#!/usr/bin/env NAME`, `NAME`), or
/// `None` if `program` is not a script.
fn shebang(program: &Path) -> Result<Option<PathBuf>, FaultError> {
    let mut head = [0u8; MAX_SHEBANG];
    let read = std::fs::File::open(program)
        .and_then(|mut f| {
            let mut filled = 0;
            loop {
                match f.read(&mut head[filled..])? {
                    0 => return Ok(filled),
                    n => filled += n,
                }
                if filled == head.len() {
                    return Ok(filled);
                }
            }
        })
        .map_err(|e| FaultError::Program {
            program: program.into(),
            detail: e.to_string(),
        })?;
    let Some(line) = head[..read].strip_prefix(b"#!") else {
        return Ok(None);
    };
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let Some(interpreter) = words.next() else {
        return Err(FaultError::Program {
            program: program.into(),
            detail: "empty `#!` line".into(),
        });
    };
    if Path::new(interpreter).file_name() == Some(OsStr::new("env")) {
        // `env -S ...` and other options: the first word that is not an
        // option nor an assignment is the program.
        let target = words.find(|w| !w.starts_with('-') && !w.contains('='));
        if let Some(target) = target {
            return Ok(Some(target.into()));
        }
    }
    Ok(Some(interpreter.into()))
}

fn elf_error(program: &Path, e: ElfError) -> FaultError {
    FaultError::Program {
        program: program.into(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, os::unix::fs::PermissionsExt as _};

    use super::*;
    use crate::{NodeName, clock::elf::tests::synthetic_elf};

    fn write_exe(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn spec_in(dir: &Path, program: &str) -> NodeSpec {
        NodeSpec::new(NodeName::from("n1"), program, dir.join("n1.log"))
            .env("PATH", dir.as_os_str())
    }

    #[test]
    fn programs_are_judged_by_their_elf_headers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_exe(d, "dynamic", &synthetic_elf(Some("/lib/ld.so"), None));
        write_exe(d, "static", &synthetic_elf(None, None));
        write_exe(
            d,
            "gocode",
            &synthetic_elf(Some("/lib/ld.so"), Some(".go.buildinfo")),
        );
        write_exe(d, "wrapper", b"#!/usr/bin/env -S dynamic --flag\nexec x\n");
        write_exe(d, "gowrapper", b"#!gocode\n");
        write_exe(d, "loop", b"#!loop\n");
        write_exe(d, "text", b"hello\n");

        assert_eq!(
            check_clock_reachable(&spec_in(d, "dynamic")).unwrap(),
            d.join("dynamic")
        );
        assert_eq!(
            check_clock_reachable(&spec_in(d, "wrapper")).unwrap(),
            d.join("dynamic"),
            "a script is judged by its interpreter"
        );
        let message = |program: &str| {
            check_clock_reachable(&spec_in(d, program))
                .unwrap_err()
                .to_string()
        };
        assert!(
            message("static").contains("statically linked"),
            "{}",
            message("static")
        );
        assert!(
            message("gocode").contains("Go program"),
            "{}",
            message("gocode")
        );
        assert!(message("gowrapper").contains("Go program"));
        assert!(message("loop").contains("nested"), "{}", message("loop"));
        assert!(
            message("text").contains("not an ELF file"),
            "{}",
            message("text")
        );
        assert!(
            message("absent").contains("not found in PATH"),
            "{}",
            message("absent")
        );
    }

    #[test]
    fn static_linking_is_read_from_pt_interp() {
        let dir = tempfile::tempdir().unwrap();
        let dynamic = write_exe(dir.path(), "d", &synthetic_elf(Some("/lib/ld.so"), None));
        let fixed = write_exe(dir.path(), "s", &synthetic_elf(None, None));
        assert!(!is_statically_linked(&dynamic).unwrap());
        assert!(is_statically_linked(&fixed).unwrap());
        if Path::new("/sbin/ldconfig").is_file() {
            assert!(is_statically_linked(Path::new("/sbin/ldconfig")).unwrap());
        }
        assert!(!is_statically_linked(&std::env::current_exe().unwrap()).unwrap());
    }

    #[test]
    fn relative_programs_resolve_against_the_node_directory() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        write_exe(&bin, "node", &synthetic_elf(Some("/lib/ld.so"), None));
        let found = resolve_program(Path::new("bin/node"), Some(dir.path()), None).unwrap();
        assert_eq!(found, bin.join("node"));
        assert!(resolve_program(Path::new("bin/node"), None, None).is_err());
    }
}
