//! Leadership as etcd members report it (`/v3/maintenance/status`).

use faults::NodeName;

use super::client::{EtcdClient, EtcdStatus};
use crate::{Leadership, Probe};

/// A member's status as a probe: healthy when it answers, and whom it
/// follows (member ids; 0 is none).
pub async fn probe(client: &EtcdClient) -> Probe {
    match client.status().await {
        Ok(status) => Probe {
            healthy: true,
            leadership: Some(Leadership {
                id: status.member_id,
                leads: status.leader == status.member_id,
                follows: (status.leader != 0).then_some(status.leader),
                term: status.raft_term,
            }),
            said: format!(
                "member {:x}, leader {:x}, term {}, index {}, version {}",
                status.member_id,
                status.leader,
                status.raft_term,
                status.raft_index,
                status.version
            ),
        },
        Err(e) => Probe {
            healthy: false,
            leadership: None,
            said: e.to_string(),
        },
    }
}

/// Every member's status, asked all at once; `None` where it did not
/// answer.
pub async fn statuses(clients: &[(NodeName, EtcdClient)]) -> Vec<(NodeName, Option<EtcdStatus>)> {
    let asks: Vec<_> = clients
        .iter()
        .map(|(name, client)| {
            let (name, client) = (name.clone(), client.clone());
            tokio::spawn(async move { (name, client.status().await.ok()) })
        })
        .collect();
    let mut out = Vec::with_capacity(asks.len());
    for ask in asks {
        if let Ok(answer) = ask.await {
            out.push(answer);
        }
    }
    out
}

/// The leader a majority of the members follow, if that member answers
/// and says it leads.
pub async fn find_leader(clients: &[(NodeName, EtcdClient)]) -> Option<NodeName> {
    let probes = futures::future::join_all(clients.iter().map(|(_, c)| probe(c))).await;
    let named: Vec<(NodeName, Probe)> =
        clients.iter().map(|(n, _)| n.clone()).zip(probes).collect();
    crate::cluster::agreed_leader(&named)
}
