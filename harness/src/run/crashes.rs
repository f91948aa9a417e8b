//! Nodes that die outside the plan (a crash, or someone else's kill):
//! noticed within [`POLL`], recorded in the history as a `crash` event with
//! the node's exit status and the end of its log, restarted after
//! [`RESTART_AFTER`] (at most [`MAX_RESTARTS`] times per node, so a node
//! that crashes at every start does not spin), and kept as findings for
//! the run's verdict.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use checker::Crash;
use faults::{NodeName, process::UnexpectedExit};
use tokio::sync::watch;

use crate::nemesis::NemesisContext;

/// How often exits are looked for.
pub const POLL: Duration = Duration::from_millis(200);
/// How long a crashed node stays down before it is restarted.
pub const RESTART_AFTER: Duration = Duration::from_secs(1);
/// Restarts per node after crashes.
pub const MAX_RESTARTS: usize = 5;
/// Log lines kept with a crash.
const LOG_TAIL: usize = 20;

/// Crashes seen so far.
pub type Crashes = Arc<Mutex<Vec<Crash>>>;

/// Watches for crashes until `stop`.
pub async fn watch(ctx: Arc<NemesisContext>, crashes: Crashes, mut stop: watch::Receiver<bool>) {
    let mut restarts: BTreeMap<NodeName, usize> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let exits = ctx.nemesis.lock().await.unexpected_exits();
        for exit in exits {
            note(&ctx, &crashes, &exit);
            let count = restarts.entry(exit.node.clone()).or_default();
            if *count >= MAX_RESTARTS {
                ctx.problem(format!(
                    "{} crashed {MAX_RESTARTS} times; it stays down",
                    exit.node
                ));
                continue;
            }
            *count += 1;
            tokio::time::sleep(RESTART_AFTER).await;
            let restarted = ctx
                .nemesis
                .lock()
                .await
                .restart(std::slice::from_ref(&exit.node))
                .await;
            match restarted {
                Ok(report) => report.events.iter().for_each(|e| ctx.recorder.nemesis(e)),
                Err(e) => ctx.problem(format!("cannot restart {} after its crash: {e}", exit.node)),
            }
        }
    }
}

/// Records one crash in the history and among the findings.
pub fn note(ctx: &NemesisContext, crashes: &Crashes, exit: &UnexpectedExit) {
    let log = ctx
        .cluster
        .nodes
        .iter()
        .find(|n| n.name() == &exit.node)
        .map(|n| n.place.log.clone());
    let crash = Crash {
        node: exit.node.to_string(),
        time: ctx.recorder.elapsed().as_nanos() as u64,
        status: exit.exit.to_string(),
        log_tail: log.map(|path| tail(&path)).unwrap_or_default(),
    };
    eprintln!("{} crashed ({}): a finding", crash.node, crash.status);
    ctx.recorder.crash(&crash);
    crashes.lock().expect("crashes lock").push(crash);
}

fn tail(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}
