//! Size limits shared by the sending and the receiving side of every
//! request this node serves, and why each number is what it is.
//!
//! Invariant: nothing this node sends to a peer is larger than what a peer
//! accepts. The append sender splits its batches to fit
//! [`RAFT_APPEND_MAX_BYTES`] (see `network.rs`), snapshots travel in chunks
//! of [`SNAPSHOT_CHUNK_BYTES`] that encode to at most
//! [`RAFT_SNAPSHOT_MAX_BYTES`], and no client write can become a log entry
//! larger than [`COMMAND_MAX_BYTES`], which is far below the append limit,
//! so one entry always fits in one append.

/// Largest body of a client request (`PUT /kv/..`, `cas`, `append`). A
/// register or list-append value in a test is a few bytes; 64 KiB leaves
/// room for real documents without letting one request pin much memory.
pub const KV_BODY_MAX_BYTES: usize = 64 * 1024;

/// Longest request target (path and query). Keys are path segments; 8 KiB
/// is as much as common proxies accept and bounds a key.
pub const URI_MAX_BYTES: usize = 8 * 1024;

/// Largest JSON encoding of one proposed command (key and value as stored
/// in the log). Re-serializing a parsed value can grow it (`1e15` becomes
/// `1000000000000000.0`), so this is checked on the encoded command rather
/// than inferred from the body limit.
pub const COMMAND_MAX_BYTES: usize = 320 * 1024;

/// Largest `/raft/append` body. The sender packs at most openraft's
/// `max_payload_entries` entries, and fewer if their encoding would exceed
/// this; one entry is at most [`COMMAND_MAX_BYTES`] plus its log id.
///
/// openraft gives an append RPC one heartbeat interval (100 ms by default)
/// to be sent, decoded, written and fsynced; 1 MiB leaves ample room for
/// that, where the 300 entries openraft would otherwise batch can reach
/// tens of MiB and time out forever, so that a lagging follower with large
/// values never caught up.
pub const RAFT_APPEND_MAX_BYTES: usize = 1024 * 1024;

/// Snapshot bytes per `/raft/snapshot` chunk (openraft's
/// `snapshot_max_chunk_size`), small for the same reason: a chunk has
/// `install_snapshot_timeout` (200 ms by default) to arrive.
pub const SNAPSHOT_CHUNK_BYTES: usize = 256 * 1024;

/// Largest `/raft/snapshot` body: JSON writes the chunk's bytes as an array
/// of numbers, at most four characters per byte (`255,`), plus the
/// snapshot's metadata (membership and ids, a few KiB).
pub const RAFT_SNAPSHOT_MAX_BYTES: usize = 4 * SNAPSHOT_CHUNK_BYTES + 64 * 1024;

/// Largest `/raft/vote` body: a vote and a log id are a few hundred bytes.
pub const RAFT_VOTE_MAX_BYTES: usize = 4 * 1024;

/// Bound on the response body this node reads back from a peer or from the
/// leader it forwarded a request to. A Raft response is a few hundred
/// bytes; a forwarded read returns at most one stored value.
pub const RESPONSE_MAX_BYTES: usize = 2 * COMMAND_MAX_BYTES;

// The invariants above, checked when the crate compiles. A log id and an
// entry's JSON framing are well under 1 KiB.
const _: () = assert!(COMMAND_MAX_BYTES + 1024 <= RAFT_APPEND_MAX_BYTES);
// The limits must not refuse ordinary bodies: a client body may grow about
// 4x when re-encoded, plus a key escaped at up to 2x.
const _: () = assert!(4 * KV_BODY_MAX_BYTES + 2 * URI_MAX_BYTES <= COMMAND_MAX_BYTES);
