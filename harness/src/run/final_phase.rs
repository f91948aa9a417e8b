//! The final phase's reads: every key the workload used, read once more on
//! every node, after the faults have ended and the cluster has settled.
//!
//! Final reads are marked `final: true` in the history. Each node reads
//! each key (a node that fails is retried, up to [`FINAL_READ_ROUNDS`]
//! times), so that the checkers see what every node holds: a node whose
//! final read misses what another node has is a stale final read, and an
//! element that no final read has is lost. A key that no node could read
//! is a hole in what the run can tell, and is reported as one.

use std::{sync::Arc, time::Duration};

use futures::future::join_all;
use systems::{Client, Cluster, Completion};
use workloads::OpRequest;

use super::workers::Shared;
use crate::recorder::Recorder;

/// How many times a node's final read of a key is tried.
const FINAL_READ_ROUNDS: usize = 5;

/// Reads every key the workload used on every node; returns the keys no
/// node could read.
pub async fn final_reads(
    shared: &Shared,
    cluster: &Cluster,
    clients: &[Arc<dyn Client>],
    recorder: &Arc<Recorder>,
) -> Vec<String> {
    let reads: Vec<OpRequest> = {
        let generator = shared.workload.lock().expect("workload lock");
        generator
            .keys_used()
            .iter()
            .map(|k| generator.final_read(k))
            .collect()
    };
    let mut unread = Vec::new();
    for op in reads {
        let nodes = cluster.nodes.iter().zip(clients).map(|(node, client)| {
            read_on(shared, recorder, node.name().as_str(), client.as_ref(), &op)
        });
        let answered = join_all(nodes).await;
        if !answered.contains(&true) {
            unread.push(op.key.clone());
        }
    }
    unread
}

/// One node's final read of one key, retried; whether it succeeded.
async fn read_on(
    shared: &Shared,
    recorder: &Recorder,
    node: &str,
    client: &dyn Client,
    op: &OpRequest,
) -> bool {
    for round in 0..FINAL_READ_ROUNDS {
        let process = shared.fresh_process();
        recorder.invoke(process, op, node, true);
        let completion = client.invoke(op).await;
        recorder.complete(process, op, node, &completion, true);
        if matches!(completion, Completion::Ok(_)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200 * (round as u64 + 1))).await;
    }
    false
}
