//! The final phase: end every fault, wait for the cluster to recover,
//! settle, and read every key once more.
//!
//! Final reads are marked `final: true` in the history. For each key the
//! nodes are tried in turn until one read succeeds, so one unavailable node
//! cannot hide what the others hold.

use std::{sync::Arc, time::Duration};

use systems::{Client, Cluster, Completion};

use super::workers::Shared;
use crate::recorder::Recorder;

/// How many rounds over all nodes a final read gets before giving up.
const FINAL_READ_ROUNDS: usize = 5;

/// Reads every key the workload used; returns how many keys could not be
/// read from any node.
pub async fn final_reads(
    shared: &Shared,
    cluster: &Cluster,
    clients: &[Arc<dyn Client>],
    recorder: &Arc<Recorder>,
) -> usize {
    let (keys, reads) = {
        let generator = shared.workload.lock().expect("workload lock");
        let keys = generator.keys_used();
        let reads: Vec<_> = keys.iter().map(|k| generator.final_read(k)).collect();
        (keys, reads)
    };
    let mut unread = 0;
    for (_key, op) in keys.into_iter().zip(reads) {
        let mut done = false;
        'rounds: for round in 0..FINAL_READ_ROUNDS {
            for (node, client) in cluster.nodes.iter().zip(clients) {
                let process = shared.fresh_process();
                let name = node.name().as_str();
                recorder.invoke(process, &op, name, true);
                let completion = client.invoke(&op).await;
                recorder.complete(process, &op, name, &completion, true);
                if matches!(completion, Completion::Ok(_)) {
                    done = true;
                    break 'rounds;
                }
            }
            tokio::time::sleep(Duration::from_millis(200 * (round as u64 + 1))).await;
        }
        if !done {
            unread += 1;
        }
    }
    unread
}
