//! Checking a history: the one path that `harness run` (at the end of a
//! run) and `harness check` (a stored run, or any history file) take.
//!
//! ```text
//! history + checkers (from the workload) -> Checked
//!   + what the run itself found (kept from results.json on a re-check)
//!   -> results.json (with the run's metadata), report.html, junit.xml
//! ```

use checker::{Checked, Checker, History, Report};
use rundir::{RunDir, RunMeta};

/// Report names that are facts of the run, not of its history: a re-check
/// keeps them from the stored results instead of recomputing them.
pub const RUN_FACTS: &[&str] = &[checker::integrity::NAME];

/// Reports of the run itself, by name.
pub type Facts = Vec<(String, Box<dyn Report>)>;

/// Runs `checkers` on `history`, adds `facts` (reports of the run itself),
/// and, for a run directory, writes `results.json`, `report.html` and
/// `junit.xml`. A report that cannot be written is a warning, not a lost
/// verdict.
pub fn check(
    history: &History,
    checkers: &[Box<dyn Checker>],
    facts: Facts,
    dir: Option<&RunDir>,
    meta: Option<RunMeta>,
) -> std::io::Result<Checked> {
    let mut checked = Checked::run(history, checkers);
    for (name, report) in facts {
        checked.insert(name, report);
    }
    if let Some(dir) = dir {
        rundir::write_results(dir, &checked, meta.as_ref())?;
        if let Err(e) = report::write_for(dir, history, &checked, meta) {
            eprintln!("warning: cannot write report.html / junit.xml: {e}");
        }
    }
    Ok(checked)
}

/// What a stored run recorded about itself: its metadata and the reports
/// in [`RUN_FACTS`], for a re-check to keep.
pub fn stored_facts(dir: &RunDir) -> (Option<RunMeta>, Facts) {
    let Ok(results) = rundir::read_results(&dir.path) else {
        return (None, Vec::new());
    };
    let meta = RunMeta::from_results(&results);
    let mut stored = Checked::from_results(&results);
    let facts = RUN_FACTS
        .iter()
        .filter_map(|name| Some((name.to_string(), stored.take(name)?)))
        .collect();
    (meta, facts)
}

/// Long checks say how far they are, on stderr: a line when a key has
/// been searched for a while (at most one every few seconds), and one when
/// such a key ends.
pub fn progress() -> checker::linearizable::ProgressSink {
    use std::{
        sync::Mutex,
        time::{Duration, Instant},
    };

    use checker::linearizable::CheckEvent;

    const EVERY: Duration = Duration::from_secs(3);
    const SLOW: Duration = Duration::from_secs(2);
    let last = Mutex::new(Instant::now());
    checker::linearizable::ProgressSink::new(move |event| match event {
        CheckEvent::KeyProgress {
            key,
            explored,
            linearized,
            of,
            memory,
            elapsed,
        } => {
            let mut last = last.lock().expect("progress lock");
            if last.elapsed() >= EVERY {
                *last = Instant::now();
                eprintln!(
                    "checking key {key}: linearizable through {linearized} of {of} ops after \
                     {:.0}s ({explored} configurations, {} MB)",
                    elapsed.as_secs_f64(),
                    memory / (1 << 20)
                );
            }
        }
        CheckEvent::KeyFinished {
            key,
            verdict,
            elapsed,
            ..
        } if *elapsed >= SLOW => {
            eprintln!(
                "checked key {key}: {verdict} after {:.1}s",
                elapsed.as_secs_f64()
            );
        }
        _ => {}
    })
}

/// A few lines for people: each checker's verdict and summary, and one
/// finding in a sentence.
pub fn summary(checked: &Checked) -> String {
    let mut out = format!(
        "verdict: {}\n",
        checked.verdict().to_string().to_uppercase()
    );
    for (name, report) in checked.reports() {
        out += &format!(
            "  {name:<14} {:<8} {}\n",
            report.verdict(),
            report.summary()
        );
    }
    if let Some(example) = checked.reports().find_map(|(_, r)| r.example()) {
        out += &format!("  e.g. {example}\n");
    }
    if checked.verdict() == checker::Verdict::Invalid {
        out += "  (results.json and report.html have every counterexample)\n";
    }
    out
}
