//! Refuses Raft messages that no correct peer could have sent, before they
//! reach openraft.
//!
//! This is defence in depth behind peer authentication: openraft trusts
//! its peers, and adopts whatever term a vote request carries. A term near
//! `u64::MAX` is then persisted, the next election overflows it, and every
//! restart panics again. Terms and indexes only ever grow by one (per
//! election, per entry), so a real cluster stays astronomically far from
//! the bounds below:
//!
//! - a message's term may be at most [`TERM_LEAD_MAX`] (2^32) ahead of this
//!   node's current term: that many elections while this node was away
//!   would take decades even at one election per millisecond;
//! - no term or log index may reach [`ABSOLUTE_MAX`] (`u64::MAX / 2`), so
//!   that repeated jumps of 2^32 can never bring a term near overflow;
//! - the log ids inside a message are consistent with its sender's vote:
//!   none has a term above the vote's, and appended entries follow
//!   `prev_log_id` one index at a time with terms that never decrease.

use openraft::{
    LogId, RaftLogId,
    raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest},
};

use crate::types::{NodeId, TypeConfig, Vote};

/// How far ahead of ours a peer's term may be.
pub const TERM_LEAD_MAX: u64 = 1 << 32;
/// No term or index reaches this.
pub const ABSOLUTE_MAX: u64 = u64::MAX / 2;

/// What makes a message implausible.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Implausible {
    #[error("implausible term {term}: this node's term is {current}")]
    TermTooFarAhead { term: u64, current: u64 },
    #[error("implausible log index {index}")]
    IndexTooLarge { index: u64 },
    #[error("log id with term {term} above the sender's term {vote_term}")]
    LogTermAboveVote { term: u64, vote_term: u64 },
    #[error("appended entries do not follow the previous log id one by one")]
    EntriesNotConsecutive,
}

/// Checks a vote request against this node's `current` term.
pub fn check_vote(rpc: &VoteRequest<NodeId>, current: u64) -> Result<(), Implausible> {
    let vote_term = check_vote_term(&rpc.vote, current)?;
    check_log_id(rpc.last_log_id.as_ref(), vote_term)
}

/// Checks an append-entries request against this node's `current` term.
pub fn check_append(
    rpc: &AppendEntriesRequest<TypeConfig>,
    current: u64,
) -> Result<(), Implausible> {
    let vote_term = check_vote_term(&rpc.vote, current)?;
    check_log_id(rpc.prev_log_id.as_ref(), vote_term)?;
    check_log_id(rpc.leader_commit.as_ref(), vote_term)?;
    let mut previous = rpc.prev_log_id;
    for entry in &rpc.entries {
        let log_id = entry.get_log_id();
        check_log_id(Some(log_id), vote_term)?;
        let follows = match previous {
            Some(prev) => {
                log_id.index == prev.index + 1 && log_id.leader_id.term >= prev.leader_id.term
            }
            None => log_id.index == 0,
        };
        if !follows {
            return Err(Implausible::EntriesNotConsecutive);
        }
        previous = Some(*log_id);
    }
    Ok(())
}

/// Checks a snapshot chunk against this node's `current` term.
pub fn check_snapshot(
    rpc: &InstallSnapshotRequest<TypeConfig>,
    current: u64,
) -> Result<(), Implausible> {
    let vote_term = check_vote_term(&rpc.vote, current)?;
    check_log_id(rpc.meta.last_log_id.as_ref(), vote_term)?;
    check_log_id(rpc.meta.last_membership.log_id().as_ref(), vote_term)
}

fn check_vote_term(vote: &Vote, current: u64) -> Result<u64, Implausible> {
    let term = vote.leader_id().get_term();
    let bound = current.saturating_add(TERM_LEAD_MAX).min(ABSOLUTE_MAX - 1);
    if term > bound {
        return Err(Implausible::TermTooFarAhead { term, current });
    }
    Ok(term)
}

fn check_log_id(log_id: Option<&LogId<NodeId>>, vote_term: u64) -> Result<(), Implausible> {
    let Some(log_id) = log_id else {
        return Ok(());
    };
    if log_id.index >= ABSOLUTE_MAX {
        return Err(Implausible::IndexTooLarge {
            index: log_id.index,
        });
    }
    let term = log_id.leader_id.get_term();
    if term > vote_term {
        return Err(Implausible::LogTermAboveVote { term, vote_term });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;
    use crate::types::{Command, Entry};

    fn log_id(term: u64, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    fn vote(term: u64, last: Option<(u64, u64)>) -> VoteRequest<NodeId> {
        VoteRequest::new(Vote::new(term, 2), last.map(|(t, i)| log_id(t, i)))
    }

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: log_id(term, index),
            payload: EntryPayload::Normal(Command::Put {
                key: "k".into(),
                value: serde_json::Value::Null,
            }),
        }
    }

    fn append(
        term: u64,
        prev: Option<(u64, u64)>,
        entries: &[(u64, u64)],
    ) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(term, 1),
            prev_log_id: prev.map(|(t, i)| log_id(t, i)),
            leader_commit: None,
            entries: entries.iter().map(|(t, i)| entry(*t, *i)).collect(),
        }
    }

    #[test]
    fn votes_within_reach_pass_and_absurd_ones_are_refused() {
        let far = TERM_LEAD_MAX + 5;
        let cases: &[(VoteRequest<NodeId>, u64, bool)] = &[
            (vote(6, Some((5, 10))), 5, true),
            (vote(5 + TERM_LEAD_MAX, None), 5, true),
            (vote(6 + TERM_LEAD_MAX, None), 5, false),
            (vote(u64::MAX, None), 5, false),
            (vote(u64::MAX, None), u64::MAX - 1, false),
            (vote(ABSOLUTE_MAX, None), ABSOLUTE_MAX - 1, false),
            (vote(far, None), far - 1, true),
            (vote(6, Some((7, 10))), 5, false),
            (vote(6, Some((6, u64::MAX))), 5, false),
        ];
        for (rpc, current, plausible) in cases {
            assert_eq!(
                check_vote(rpc, *current).is_ok(),
                *plausible,
                "{rpc} at term {current}: {:?}",
                check_vote(rpc, *current)
            );
        }
    }

    #[test]
    fn appends_must_follow_their_previous_log_id() {
        let cases: &[(AppendEntriesRequest<TypeConfig>, Result<(), Implausible>)] = &[
            (append(3, Some((2, 4)), &[(2, 5), (3, 6)]), Ok(())),
            (append(3, None, &[(1, 0), (1, 1)]), Ok(())),
            (append(3, Some((3, 9)), &[]), Ok(())),
            (
                append(3, Some((2, 4)), &[(2, 6)]),
                Err(Implausible::EntriesNotConsecutive),
            ),
            (
                append(3, Some((2, 4)), &[(2, 5), (1, 6)]),
                Err(Implausible::EntriesNotConsecutive),
            ),
            (
                append(3, None, &[(1, 1)]),
                Err(Implausible::EntriesNotConsecutive),
            ),
            (
                append(3, Some((2, 4)), &[(4, 5)]),
                Err(Implausible::LogTermAboveVote {
                    term: 4,
                    vote_term: 3,
                }),
            ),
            (
                append(u64::MAX, Some((2, 4)), &[]),
                Err(Implausible::TermTooFarAhead {
                    term: u64::MAX,
                    current: 3,
                }),
            ),
            (
                append(3, Some((3, u64::MAX - 1)), &[(3, u64::MAX)]),
                Err(Implausible::IndexTooLarge {
                    index: u64::MAX - 1,
                }),
            ),
        ];
        for (rpc, expected) in cases {
            assert_eq!(&check_append(rpc, 3), expected, "{rpc:?}");
        }
    }

    #[test]
    fn snapshots_are_bounded_by_their_vote() {
        let meta = |last: LogId<NodeId>| crate::types::SnapshotMeta {
            last_log_id: Some(last),
            last_membership: Default::default(),
            snapshot_id: "s".into(),
        };
        let rpc = |term, last| InstallSnapshotRequest::<TypeConfig> {
            vote: Vote::new_committed(term, 1),
            meta: meta(last),
            offset: 0,
            data: Vec::new(),
            done: true,
        };
        assert_eq!(check_snapshot(&rpc(4, log_id(4, 100)), 4), Ok(()));
        assert!(check_snapshot(&rpc(4, log_id(5, 100)), 4).is_err());
        assert!(check_snapshot(&rpc(u64::MAX, log_id(5, 100)), 4).is_err());
    }
}
