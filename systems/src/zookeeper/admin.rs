//! Leadership as ZooKeeper servers report it, from their admin server
//! (`http://ip:admin-port/commands/...`, JSON).
//!
//! - `/commands/leader` says whether the server leads and which server it
//!   follows (`leader_id`, a `myid`); a server that is not serving (no
//!   quorum, electing) answers with an `error` instead.
//! - `/commands/zabstate` gives its Zab epoch, ZooKeeper's term: the epoch
//!   of the last transaction it processed. A leader's is its own epoch from
//!   the moment it leads (its first transaction opens the epoch), so it
//!   orders rival claims to leadership, which is what the harness uses it
//!   for; a follower's lags until it sees a transaction of the epoch.
//!
//! The four-letter words (`srvr`, `mntr`) say "leader" or "follower" but
//! not whom a follower follows, which the harness needs to see a majority
//! agree.

use std::{net::SocketAddr, time::Duration};

use serde_json::Value;

use crate::{Leadership, Probe, client::root_cause};

/// What one server says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkStatus {
    /// Its `myid`.
    pub id: u64,
    /// It leads.
    pub leads: bool,
    /// The server it follows (itself, when it leads).
    pub leader: u64,
    /// The epoch of its last transaction (0 if it did not say).
    pub epoch: u64,
    /// Its Zab phase: `broadcast` once it serves, `discovery` or
    /// `synchronization` before (empty if it did not say).
    pub phase: String,
}

/// Why a server gave no usable status.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no answer from {url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url} answered http {status}")]
    Status { url: String, status: u16 },
    #[error("{url} says: {message}")]
    NotServing { url: String, message: String },
    #[error("unexpected answer from {url}: {message}")]
    Protocol { url: String, message: String },
}

/// The status of the server `id` whose admin server is at `admin`.
pub async fn status(
    http: &reqwest::Client,
    admin: SocketAddr,
    id: u64,
    timeout: Duration,
) -> Result<ZkStatus, AdminError> {
    let (leader, zab) = futures::join!(
        command(http, admin, "leader", timeout),
        command(http, admin, "zabstate", timeout)
    );
    let leader = leader?;
    let url = url(admin, "leader");
    let leads = leader["is_leader"]
        .as_bool()
        .ok_or_else(|| AdminError::Protocol {
            url: url.clone(),
            message: format!("no `is_leader` in {leader}"),
        })?;
    let leader_id = leader["leader_id"]
        .as_u64()
        .ok_or_else(|| AdminError::Protocol {
            url,
            message: format!("no `leader_id` in {leader}"),
        })?;
    // The epoch only orders rival claims: a server that does not say is
    // still up.
    let zab = zab.unwrap_or_default();
    Ok(ZkStatus {
        id,
        leads,
        leader: leader_id,
        epoch: zab["zab_epoch"].as_u64().unwrap_or(0),
        phase: zab["zabstate"].as_str().unwrap_or_default().to_owned(),
    })
}

/// A server's status as a probe: healthy when it serves, and whom it
/// follows.
pub async fn probe(http: &reqwest::Client, admin: SocketAddr, id: u64, timeout: Duration) -> Probe {
    match status(http, admin, id, timeout).await {
        Ok(status) => Probe {
            healthy: true,
            leadership: Some(Leadership {
                id: status.id,
                leads: status.leads,
                follows: Some(status.leader),
                term: status.epoch,
            }),
            said: format!(
                "myid {}, {}, leader {}, epoch {}, zab {}",
                status.id,
                if status.leads { "leads" } else { "follows" },
                status.leader,
                status.epoch,
                status.phase
            ),
        },
        Err(e) => Probe {
            healthy: false,
            leadership: None,
            said: e.to_string(),
        },
    }
}

fn url(admin: SocketAddr, command: &str) -> String {
    format!("http://{admin}/commands/{command}")
}

/// The JSON answer of one admin command, or why not.
async fn command(
    http: &reqwest::Client,
    admin: SocketAddr,
    name: &str,
    timeout: Duration,
) -> Result<Value, AdminError> {
    let url = url(admin, name);
    let transport = |e: reqwest::Error| AdminError::Transport {
        url: url.clone(),
        message: if e.is_timeout() {
            format!("timeout after {timeout:?}")
        } else {
            root_cause(&e)
        },
    };
    let response = http
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(AdminError::Status { url, status });
    }
    let body: Value = response.json().await.map_err(transport)?;
    match body["error"].as_str() {
        Some(message) => Err(AdminError::NotServing {
            url,
            message: message.to_owned(),
        }),
        None => Ok(body),
    }
}
