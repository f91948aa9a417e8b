//! Reading just enough of an ELF file to know whether libfaketime can
//! reach the program's clock.
//!
//! Owns [`inspect_elf`]: the program's interpreter (`PT_INTERP`, present
//! exactly when the binary is dynamically linked, so that `LD_PRELOAD` is
//! honoured) and whether it is a Go program (a `.go.buildinfo` or
//! `.note.go.buildid` section: the Go runtime reads the clock through the
//! vDSO itself, never through libc, even when it is dynamically linked).
//!
//! Invariants:
//! - Every offset and size read from the file is checked against the
//!   file's length and against fixed bounds before use; a malformed or
//!   hostile file is an error, never a panic or a huge allocation.
//! - Only the headers, the program header table, the section header table
//!   and the section-name table are read.
//!
//! A small parser rather than a crate (`object`, `goblin`): these are four
//! fixed-layout tables, and a dependency would bring far more than them.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::Path,
};

/// `PT_INTERP`: the program header naming the dynamic loader.
const PT_INTERP: u32 = 3;
/// Bound on program headers read (real binaries have about a dozen).
const MAX_PROGRAM_HEADERS: u64 = 4096;
/// Bound on section headers read.
const MAX_SECTIONS: u64 = 65_535;
/// Bound on the section-name table read.
const MAX_NAME_TABLE: u64 = 1 << 20;
/// Bound on the interpreter path read.
const MAX_INTERP: u64 = 4096;
/// Section names that mark a Go program.
const GO_SECTIONS: [&[u8]; 2] = [b".go.buildinfo", b".note.go.buildid"];

/// What the clock-relevant headers of an ELF file say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfFacts {
    /// The dynamic loader (`PT_INTERP`), if the file names one.
    pub interpreter: Option<String>,
    /// The file carries Go's build sections.
    pub go_runtime: bool,
    /// The machine (`e_machine`), to match a library to the programs.
    pub machine: u16,
}

/// Why a file could not be read as ELF.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// The file does not start with `\x7fELF`.
    #[error("not an ELF file")]
    NotElf,
    /// A header field is out of range or points outside the file.
    #[error("malformed ELF file: {0}")]
    Malformed(&'static str),
    /// Reading failed.
    #[error("{0}")]
    Io(String),
}

/// Little or big endian, 32 or 64 bit: how to read the file's fields.
#[derive(Clone, Copy, Debug)]
struct Layout {
    wide: bool,
    big_endian: bool,
}

impl Layout {
    fn u16(self, b: &[u8], at: usize) -> Result<u16, ElfError> {
        let bytes: [u8; 2] = field(b, at)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Result<u32, ElfError> {
        let bytes: [u8; 4] = field(b, at)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }

    /// A word: 4 bytes in 32-bit files, 8 in 64-bit ones.
    fn word(self, b: &[u8], at32: usize, at64: usize) -> Result<u64, ElfError> {
        if !self.wide {
            return self.u32(b, at32).map(u64::from);
        }
        let bytes: [u8; 8] = field(b, at64)?;
        Ok(if self.big_endian {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        })
    }
}

fn field<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N], ElfError> {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(ElfError::Malformed(
            "header field past the end of its table",
        ))
}

/// The file's table of `count` entries of `size` bytes at `offset`, after
/// checking that it lies inside a file of `len` bytes.
fn read_table(
    file: &mut File,
    len: u64,
    offset: u64,
    size: u64,
    count: u64,
) -> Result<Vec<u8>, ElfError> {
    let total = size
        .checked_mul(count)
        .ok_or(ElfError::Malformed("table size overflows"))?;
    let end = offset
        .checked_add(total)
        .ok_or(ElfError::Malformed("table end overflows"))?;
    if end > len {
        return Err(ElfError::Malformed("table past the end of the file"));
    }
    let mut buf = vec![0; usize::try_from(total).map_err(|_| ElfError::Malformed("table size"))?];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| ElfError::Io(e.to_string()))?;
    Ok(buf)
}

/// Read the clock-relevant facts of the ELF file at `path`.
pub fn inspect_elf(path: &Path) -> Result<ElfFacts, ElfError> {
    let mut file = File::open(path).map_err(|e| ElfError::Io(e.to_string()))?;
    let len = file
        .metadata()
        .map_err(|e| ElfError::Io(e.to_string()))?
        .len();
    let mut ident = [0u8; 64];
    let got = read_up_to(&mut file, &mut ident)?;
    let head = &ident[..got];
    if head.len() < 16 || &head[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    let layout = Layout {
        wide: match head[4] {
            1 => false,
            2 => true,
            _ => return Err(ElfError::Malformed("unknown ELF class")),
        },
        big_endian: match head[5] {
            1 => false,
            2 => true,
            _ => return Err(ElfError::Malformed("unknown byte order")),
        },
    };
    let machine = layout.u16(head, 18)?;
    let interpreter = interpreter(&mut file, len, layout, head)?;
    let go_runtime = has_go_sections(&mut file, len, layout, head)?;
    Ok(ElfFacts {
        interpreter,
        go_runtime,
        machine,
    })
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> Result<usize, ElfError> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ElfError::Io(e.to_string())),
        }
    }
    Ok(filled)
}

/// The path in `PT_INTERP`, if there is one.
fn interpreter(
    file: &mut File,
    len: u64,
    layout: Layout,
    head: &[u8],
) -> Result<Option<String>, ElfError> {
    let phoff = layout.word(head, 28, 32)?;
    let (phentsize_at, phnum_at) = if layout.wide { (54, 56) } else { (42, 44) };
    let phentsize = u64::from(layout.u16(head, phentsize_at)?);
    let phnum = u64::from(layout.u16(head, phnum_at)?);
    let min_entry = if layout.wide { 56 } else { 32 };
    if phnum == 0 {
        return Ok(None);
    }
    if phnum > MAX_PROGRAM_HEADERS || phentsize < min_entry {
        return Err(ElfError::Malformed("program header table"));
    }
    let table = read_table(file, len, phoff, phentsize, phnum)?;
    for entry in table.chunks_exact(phentsize as usize) {
        if layout.u32(entry, 0)? != PT_INTERP {
            continue;
        }
        let offset = layout.word(entry, 4, 8)?;
        let size = layout.word(entry, 16, 32)?;
        if size == 0 || size > MAX_INTERP {
            return Err(ElfError::Malformed("interpreter path size"));
        }
        let bytes = read_table(file, len, offset, 1, size)?;
        let path = bytes.split(|&b| b == 0).next().unwrap_or_default();
        return Ok(Some(String::from_utf8_lossy(path).into_owned()));
    }
    Ok(None)
}

/// Whether a section is named like Go's build sections.
fn has_go_sections(
    file: &mut File,
    len: u64,
    layout: Layout,
    head: &[u8],
) -> Result<bool, ElfError> {
    let shoff = layout.word(head, 32, 40)?;
    let (shentsize_at, shnum_at, shstrndx_at) = if layout.wide {
        (58, 60, 62)
    } else {
        (46, 48, 50)
    };
    let shentsize = u64::from(layout.u16(head, shentsize_at)?);
    let shnum = u64::from(layout.u16(head, shnum_at)?);
    let shstrndx = u64::from(layout.u16(head, shstrndx_at)?);
    // No section headers (or extended numbering, which only files with
    // more than 65,279 sections use): nothing to look at.
    if shoff == 0 || shnum == 0 || shstrndx >= shnum {
        return Ok(false);
    }
    let min_entry = if layout.wide { 64 } else { 40 };
    if shnum > MAX_SECTIONS || shentsize < min_entry {
        return Err(ElfError::Malformed("section header table"));
    }
    let table = read_table(file, len, shoff, shentsize, shnum)?;
    let entry = |i: u64| &table[(i * shentsize) as usize..((i + 1) * shentsize) as usize];
    let names = entry(shstrndx);
    let names_offset = layout.word(names, 16, 24)?;
    let names_size = layout.word(names, 20, 32)?.min(MAX_NAME_TABLE);
    let names = read_table(file, len, names_offset, 1, names_size)?;
    for i in 0..shnum {
        let name_at = layout.u32(entry(i), 0)? as usize;
        let Some(rest) = names.get(name_at..) else {
            continue;
        };
        let name = rest.split(|&b| b == 0).next().unwrap_or_default();
        if GO_SECTIONS.contains(&name) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    /// A minimal 64-bit little-endian ELF file: the header, an optional
    /// `PT_INTERP` header and path, and an optional section table whose
    /// name table holds `section`.
    pub(crate) fn synthetic_elf(interp: Option<&str>, section: Option<&str>) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // 64-bit
        f[5] = 1; // little endian
        f[6] = 1;
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        if let Some(path) = interp {
            let phoff = f.len() as u64;
            let data_at = phoff + 56;
            let mut ph = vec![0u8; 56];
            ph[..4].copy_from_slice(&PT_INTERP.to_le_bytes());
            ph[8..16].copy_from_slice(&data_at.to_le_bytes());
            ph[32..40].copy_from_slice(&(path.len() as u64 + 1).to_le_bytes());
            f.extend(ph);
            f.extend(path.as_bytes());
            f.push(0);
            f[32..40].copy_from_slice(&phoff.to_le_bytes());
            f[54..56].copy_from_slice(&56u16.to_le_bytes());
            f[56..58].copy_from_slice(&1u16.to_le_bytes());
        }
        if let Some(name) = section {
            let strtab_at = f.len() as u64;
            let mut strtab = b"\0.shstrtab\0".to_vec();
            let name_at = strtab.len() as u32;
            strtab.extend(name.as_bytes());
            strtab.push(0);
            f.extend(&strtab);
            let shoff = f.len() as u64;
            // Section 0 (null), 1 (the names), 2 (the named one).
            let mut table = vec![0u8; 64 * 3];
            let names = &mut table[64..128];
            names[..4].copy_from_slice(&1u32.to_le_bytes());
            names[24..32].copy_from_slice(&strtab_at.to_le_bytes());
            names[32..40].copy_from_slice(&(strtab.len() as u64).to_le_bytes());
            table[128..132].copy_from_slice(&name_at.to_le_bytes());
            f.extend(table);
            f[40..48].copy_from_slice(&shoff.to_le_bytes());
            f[58..60].copy_from_slice(&64u16.to_le_bytes());
            f[60..62].copy_from_slice(&3u16.to_le_bytes());
            f[62..64].copy_from_slice(&1u16.to_le_bytes());
        }
        f
    }

    fn inspect_bytes(bytes: &[u8]) -> Result<ElfFacts, ElfError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        inspect_elf(file.path())
    }

    #[test]
    fn synthetic_files_read_as_built() {
        // (interpreter, section, expected interpreter, expected go)
        let table = [
            (Some("/lib/ld.so"), None, Some("/lib/ld.so"), false),
            (None, None, None, false),
            (None, Some(".go.buildinfo"), None, true),
            (
                Some("/lib/ld.so"),
                Some(".note.go.buildid"),
                Some("/lib/ld.so"),
                true,
            ),
            (Some("/lib/ld.so"), Some(".text"), Some("/lib/ld.so"), false),
        ];
        for (interp, section, want_interp, want_go) in table {
            let facts = inspect_bytes(&synthetic_elf(interp, section)).unwrap();
            assert_eq!(
                facts.interpreter.as_deref(),
                want_interp,
                "{interp:?} {section:?}"
            );
            assert_eq!(facts.go_runtime, want_go, "{interp:?} {section:?}");
            assert_eq!(facts.machine, 62);
        }
    }

    #[test]
    fn real_binaries_of_this_machine() {
        // The test binary itself: a dynamically linked Rust program.
        let own = inspect_elf(&std::env::current_exe().unwrap()).unwrap();
        assert!(own.interpreter.is_some(), "{own:?}");
        assert!(!own.go_runtime);
        // Debian's ldconfig is static-pie: no interpreter.
        if Path::new("/sbin/ldconfig").is_file() {
            let facts = inspect_elf(Path::new("/sbin/ldconfig")).unwrap();
            assert_eq!(facts.interpreter, None, "{facts:?}");
        }
        // Debian's etcd is a dynamically linked Go program.
        if Path::new("/usr/bin/etcd").is_file() {
            let facts = inspect_elf(Path::new("/usr/bin/etcd")).unwrap();
            assert!(facts.interpreter.is_some() && facts.go_runtime, "{facts:?}");
        }
    }

    #[test]
    fn malformed_files_are_errors() {
        assert_eq!(inspect_bytes(b"#!/bin/sh\n"), Err(ElfError::NotElf));
        assert_eq!(inspect_bytes(b""), Err(ElfError::NotElf));
        let mut truncated = synthetic_elf(Some("/lib/ld.so"), None);
        truncated.truncate(100);
        assert!(matches!(
            inspect_bytes(&truncated),
            Err(ElfError::Malformed(_))
        ));
        let mut huge = synthetic_elf(Some("/lib/ld.so"), None);
        huge[56..58].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(inspect_bytes(&huge), Err(ElfError::Malformed(_))));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Hostile input: any bytes after a valid ELF prefix, or any
        /// corruption of a valid file, give a result or an error, never a
        /// panic.
        #[test]
        fn never_panics(
            flips in proptest::collection::vec((0usize..600, any::<u8>()), 0..12),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = synthetic_elf(Some("/lib/ld.so"), Some(".go.buildinfo"));
            for (at, value) in flips {
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            bytes.extend(tail);
            let _ = inspect_bytes(&bytes);
        }
    }
}
