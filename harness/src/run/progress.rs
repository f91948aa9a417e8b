//! Progress while a run goes: a live line on a terminal (indicatif), plain
//! lines every few seconds otherwise (CI logs).

use std::{
    collections::BTreeSet,
    io::IsTerminal,
    sync::{Arc, Mutex, atomic::Ordering},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

use crate::recorder::Recorder;

/// Reports until `stop` turns true.
pub async fn report(
    recorder: Arc<Recorder>,
    active: Arc<Mutex<BTreeSet<String>>>,
    total: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let terminal = std::io::stderr().is_terminal();
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(total.as_secs().max(1));
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos:>3}/{len}s {msg}")
                .expect("the template is valid"),
        );
        bar
    });
    let tick = if terminal {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(5)
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let elapsed = recorder.elapsed().min(total);
        let c = &recorder.counters;
        let faults = active
            .lock()
            .expect("active lock")
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        let msg = format!(
            "ok {} fail {} info {} | faults: {}",
            c.ok.load(Ordering::Relaxed),
            c.fail.load(Ordering::Relaxed),
            c.info.load(Ordering::Relaxed),
            if faults.is_empty() { "none" } else { &faults }
        );
        match &bar {
            Some(bar) => {
                bar.set_position(elapsed.as_secs());
                bar.set_message(msg);
            }
            None => eprintln!("[{:>4}s/{}s] {msg}", elapsed.as_secs(), total.as_secs()),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
