//! `harness check PATH`: re-check a stored run directory, or check any
//! JSONL or Jepsen EDN history, through the same path as a live run
//! ([`crate::check`]).
//!
//! Which checkers run: `--model` (a workload's, or the transactional
//! checker for `rw-register`), else the stored run's workload's, else the
//! transactional checker when every op of the history is a `txn` (its
//! workload told by the micro-ops), else the register workload's.
//! Transactional checks judge against `--consistency-model`, by default
//! `strict-serializable` (what our systems promise) for run directories
//! and JSONL histories, and `serializable` for Jepsen EDN imports, whose
//! systems promise various things and whose Elle checks mostly use it.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use checker::{CheckSettings, Checker, ConsistencyModel, History, TxnWorkload};
use rundir::RunDir;

use crate::{check, exit_code, plans};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A run directory (with history.jsonl and plan.yaml), or a history
    /// file: `.jsonl`, or `.edn` for Jepsen histories.
    pub path: PathBuf,
    /// The workload whose checkers apply (`register`, `set`,
    /// `list-append`), or `rw-register` for transactions over registers.
    /// Default: the run's workload; else, for a history of `txn` ops only,
    /// the transactional checker (list-append or rw-register, told from
    /// the micro-ops); else register.
    #[arg(long, value_name = "WORKLOAD")]
    pub model: Option<String>,
    /// The consistency model transactional histories are judged against
    /// (`strict-serializable`, `serializable`, `snapshot-isolation`,
    /// `repeatable-read`, `read-committed`, ...). Default:
    /// strict-serializable, or serializable for EDN imports.
    #[arg(long, value_name = "MODEL")]
    pub consistency_model: Option<ConsistencyModel>,
    /// Initial register value, as JSON (default null).
    #[arg(long, value_name = "JSON")]
    pub init: Option<String>,
    /// Per-key time budget of the linearizability search.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub time_budget: Duration,
    /// Memory the linearizability search may hold at once, over all keys
    /// checked in parallel, e.g. `4GiB` or `512MiB` (default: half the
    /// machine's memory). A key that would need more is `unknown`, with
    /// how far its search got.
    #[arg(long, value_parser = parse_bytes)]
    pub memory_budget: Option<usize>,
    /// EDN only: what an `:ok :read` of `nil` means. `unknown` (the
    /// default) is knossos' reading: the value is unknown and the read
    /// constrains nothing, which reproduces Jepsen's verdicts. `absent`
    /// reads it literally: the key was absent.
    #[arg(long, value_enum, default_value = "unknown")]
    pub nil_reads: NilReadsArg,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum NilReadsArg {
    Unknown,
    Absent,
}

pub fn check_command(args: &CheckArgs) -> u8 {
    match check_path(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_code::HARNESS_FAILED
        }
    }
}

fn check_path(args: &CheckArgs) -> anyhow::Result<u8> {
    let dir = args.path.is_dir().then(|| RunDir::open(&args.path));
    let file = dir
        .as_ref()
        .map_or_else(|| args.path.clone(), |d| d.history());
    let history = read_history(&file, args.nil_reads)?;
    let stored_plan = dir.as_ref().and_then(|d| plans::load(&d.plan()).ok());
    let imported = is_edn(&file);
    let settings = CheckSettings {
        time_budget: args.time_budget,
        initial_value: initial_value(args.init.as_deref())?,
        min_ok_share: stored_plan
            .as_ref()
            .and_then(|p| p.check.min_ok_share.as_ref())
            .map(|s| s.value),
        memory_budget: args.memory_budget,
        progress: Some(check::progress()),
        consistency_model: args
            .consistency_model
            .or(imported.then_some(ConsistencyModel::Serializable)),
    };
    let workload = args
        .model
        .clone()
        .or_else(|| stored_plan.as_ref().map(|p| p.workload.kind.value.clone()));
    let checkers = checkers_for(workload.as_deref(), &history, &settings)?;
    let (meta, facts) = dir.as_ref().map(check::stored_facts).unwrap_or_default();
    let checked = check::check(&history, &checkers, facts, dir.as_ref(), meta)
        .context("cannot write results.json")?;
    print!("{}", check::summary(&checked));
    Ok(exit_code::for_verdict(checked.verdict()))
}

/// The checkers of `workload` (a workload's name, or a transactional
/// workload's); with none named, the transactional checker for a history
/// of `txn` ops only, else the register workload's.
pub fn checkers_for(
    workload: Option<&str>,
    history: &History,
    settings: &CheckSettings,
) -> anyhow::Result<Vec<Box<dyn Checker>>> {
    let Some(name) = workload else {
        if checker::txn::is_transactional(history) {
            return Ok(workloads::txn_checkers(settings, None));
        }
        return Ok(workloads::find("register")
            .expect("the register workload is registered")
            .checkers(settings));
    };
    if let Some(workload) = workloads::find(name) {
        return Ok(workload.checkers(settings));
    }
    if let Ok(txn) = name.parse::<TxnWorkload>() {
        return Ok(workloads::txn_checkers(settings, Some(txn)));
    }
    anyhow::bail!(
        "unknown --model `{name}`; expected one of {}, {}",
        workloads::names().join(", "),
        TxnWorkload::RwRegister
    )
}

fn is_edn(file: &std::path::Path) -> bool {
    file.extension().is_some_and(|e| e == "edn")
}

fn read_history(file: &std::path::Path, nil_reads: NilReadsArg) -> anyhow::Result<History> {
    let (history, warnings) = if is_edn(file) {
        let options = checker::EdnOptions {
            nil_reads: match nil_reads {
                NilReadsArg::Unknown => checker::NilReads::Unknown,
                NilReadsArg::Absent => checker::NilReads::Absent,
            },
            ..checker::EdnOptions::default()
        };
        let reader = std::fs::File::open(file)
            .map(std::io::BufReader::new)
            .with_context(|| format!("cannot open {}", file.display()))?;
        checker::read_edn_with(reader, &file.display().to_string(), &options)
    } else {
        checker::read_jsonl(file)
    }
    .with_context(|| format!("cannot read history {}", file.display()))?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    Ok(history)
}

fn initial_value(init: Option<&str>) -> anyhow::Result<serde_json::Value> {
    match init {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("--init must be JSON (e.g. 0, null, \"x\"): {e}")),
        None => Ok(serde_json::Value::Null),
    }
}

/// `4GiB`, `512MiB`, `100MB`, `65536`: a size in bytes.
fn parse_bytes(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write e.g. 4GiB or 512MiB"))?;
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" => 1_000,
        "KiB" => 1 << 10,
        "M" | "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "G" | "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit `{other}`; use B, KiB, MiB or GiB")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_bytes() {
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("100MB"), Ok(100_000_000));
        assert_eq!(parse_bytes("65536"), Ok(65536));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("1PiB").is_err());
        assert!(parse_bytes("99999999999999999999GiB").is_err());
    }
}
