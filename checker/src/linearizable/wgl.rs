//! The linearizability search for one key: Wing & Gong / Lowe's algorithm
//! as in porcupine, with compact bitsets, Zobrist hashing and a cache of
//! failed configurations.
//!
//! A *configuration* is (set of linearized ops, spec state). From a
//! configuration, an op may be linearized next (a *candidate*) when it is
//! not linearized and every op that returned before its call is. Ops are
//! kept in a doubly linked list of call and return entries in history
//! order; the candidates are the calls before the first return entry.
//! `info` ops return at infinity: they live in a second list, are
//! candidates whenever their call precedes that first return, and may be
//! left out. The search succeeds when every completed op is linearized.
//!
//! Order: completed candidates first (in call order), then info candidates.
//! Any order is complete; this one linearizes info ops "just in time".
//!
//! Pruning (each keeps the search complete):
//! 0. an info op past its [`SearchOp::expires`] is no candidate: every op
//!    that could observe its effect is linearized, so a linearization that
//!    uses it stays valid without it (see `prepare.rs`);
//! 1. an info op whose step leaves the state unchanged is skipped: the
//!    configuration without it can do everything the one with it can;
//! 2. inside a run of consecutive info ops that started at configuration X,
//!    an info op `j` whose state after the run equals its state right after
//!    X is skipped: X·j dominates it and X explores j itself;
//! 3. configurations dominated by a *finished* failed configuration
//!    ([`FailedCache`]) are skipped. Only finished configurations whose
//!    last op is a completed one (a run start) are inserted: by induction
//!    on finishing order such a configuration has no completion. Take a
//!    minimal completion: it does not start with a no-op info op (drop it:
//!    shorter), so its first step leads to a finished, a dominated, or (in
//!    a run) a pruned-by-2 child, and the last is covered by a child of the
//!    run's start. Configurations inside a run may rely on that, so they are
//!    never stored.
//!
//! Invariants: the search never clones the history per step (only the spec
//! state, which is small: an interned id or a short vector); every 4096
//! steps it checks its [`Limits`]: past the deadline it stops with
//! [`SearchResult::Timeout`], past the memory budget (its own structures,
//! see `budget.rs`) with [`SearchResult::OutOfMemory`], and it reports
//! progress at most every `PROGRESS_INTERVAL`.
//!
//! How far it got ([`Reached`]): whenever the scan for candidates meets a
//! return entry, that op is the first unlinearized completed op in return
//! order (entries before it are calls), so every completed op returning
//! earlier is linearized in the current configuration.

use std::{hash::Hash, time::Instant};

use stateright::semantics::SequentialSpec;

pub use super::limits::{Limits, Reached, SearchProgress};
use super::{
    bitset::{Bitset, PrefixBitset, Zobrist, fx_hash},
    budget::{HeapSize, MemoryBudget, PROGRESS_INTERVAL},
    cache::FailedCache,
};

/// One op of a key, ready for the search.
#[derive(Debug, Clone)]
pub struct SearchOp<S: SequentialSpec> {
    /// The operation.
    pub op: S::Op,
    /// What it returned; `None` for an `info` op (unknown; returns at
    /// infinity).
    pub ret: Option<S::Ret>,
    /// Position of its call in history order.
    pub call: u64,
    /// Position of its return in history order (ignored for info ops).
    pub ret_pos: u64,
    /// Index of the op in [`History::ops`](crate::History::ops).
    pub id: usize,
    /// For an info op: once every op that returned at or before this
    /// position is linearized, linearizing this op can no longer help (no
    /// op left could observe its effect), so it is no longer a candidate.
    /// `u64::MAX` if it never expires. Ignored for completed ops.
    pub expires: u64,
}

/// How the search for one key ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchResult<S> {
    /// A linearization exists; `order` lists the linearized ops (indices
    /// into the key's op list) in linearization order.
    Linearizable {
        /// The witness.
        order: Vec<usize>,
        /// Configurations explored.
        explored: u64,
    },
    /// No linearization exists.
    NotLinearizable {
        /// The longest linearizable prefix found (indices into the key's op
        /// list), in linearization order.
        prefix: Vec<usize>,
        /// The spec state after `prefix`.
        state: S,
        /// The op whose return blocked the longest prefix: it cannot be
        /// linearized there (index into the key's op list).
        blocked: usize,
        /// Configurations explored.
        explored: u64,
    },
    /// The deadline passed first.
    Timeout {
        /// Configurations explored.
        explored: u64,
        /// How far the search got.
        reached: Reached,
    },
    /// The memory budget ran out first.
    OutOfMemory {
        /// Configurations explored.
        explored: u64,
        /// How far the search got.
        reached: Reached,
        /// Bytes the search needed when the budget refused more.
        bytes: usize,
    },
}

const HEAD: u32 = 0;

/// Cache insertions that may allocate more than this consult the memory
/// budget at once (smaller ones wait for the periodic check).
const GROWTH_CHECK_BYTES: usize = 1 << 16;

/// Dancing-links list over entries `1..=len`; `0` is the head and `len+1`
/// the tail.
struct Links {
    next: Vec<u32>,
    prev: Vec<u32>,
}

impl Links {
    fn new(len: usize) -> Self {
        let n = len as u32;
        Links {
            next: (1..=n + 1).chain([n + 1]).collect(),
            prev: [0].into_iter().chain(0..=n).collect(),
        }
    }
    fn tail(&self) -> u32 {
        (self.next.len() - 1) as u32
    }
    #[inline]
    fn unlink(&mut self, n: u32) {
        let (p, x) = (self.prev[n as usize], self.next[n as usize]);
        self.next[p as usize] = x;
        self.prev[x as usize] = p;
    }
    #[inline]
    fn relink(&mut self, n: u32) {
        let (p, x) = (self.prev[n as usize], self.next[n as usize]);
        self.next[p as usize] = n;
        self.prev[x as usize] = n;
    }
}

#[derive(Clone, Copy)]
enum Cursor {
    /// Scanning the main list at this entry.
    Main(u32),
    /// Scanning info candidates at this entry; `bound` is the position of
    /// the first return entry, `blocked` its op.
    Info { node: u32, bound: u64, blocked: u32 },
}

struct Frame<S> {
    op: u32,
    prev_state: S,
    prev_hash: u64,
    /// For info ops: the scan they were taken from.
    bound: u64,
    blocked: u32,
    /// Index of the frame that started the current run of info ops, or
    /// `u32::MAX` for a completed op.
    run_start: u32,
}

/// Searches for a linearization of `ops` (sorted by call) from `init`.
pub fn search<S>(init: &S, ops: &[SearchOp<S>], deadline: Option<Instant>) -> SearchResult<S>
where
    S: SequentialSpec + Clone + Eq + Hash + HeapSize,
{
    search_with(
        init,
        ops,
        &Limits {
            deadline,
            ..Limits::default()
        },
    )
}

/// [`search`] within `limits`.
pub fn search_with<S>(init: &S, ops: &[SearchOp<S>], limits: &Limits<'_>) -> SearchResult<S>
where
    S: SequentialSpec + Clone + Eq + Hash + HeapSize,
{
    let started = Instant::now();
    let n = ops.len();
    // Main list entries: calls of completed ops and all returns.
    let mut entries: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * n); // (pos, is_return, op)
    let mut info_ops: Vec<u32> = Vec::new();
    // Each op's index in its class's set: completed ops in `done`, info ops
    // in `info_done`.
    let mut class_index = vec![0usize; n];
    let mut completed = 0;
    for (k, o) in ops.iter().enumerate() {
        if o.ret.is_some() {
            entries.push((o.call, false, k as u32));
            entries.push((o.ret_pos, true, k as u32));
            class_index[k] = completed;
            completed += 1;
        } else {
            info_ops.push(k as u32);
        }
    }
    // Calls before returns at equal positions: lenient (concurrent).
    entries.sort_unstable();
    info_ops.sort_by_key(|&k| ops[k as usize].call);
    for (i, &k) in info_ops.iter().enumerate() {
        class_index[k as usize] = i;
    }
    // Rank of each completed op in return order.
    let mut ret_rank = vec![0u32; n];
    for (rank, &(_, _, k)) in entries.iter().filter(|e| e.1).enumerate() {
        ret_rank[k as usize] = rank as u32;
    }

    let mut main = Links::new(entries.len());
    let main_tail = main.tail();
    let mut node_op = vec![u32::MAX; entries.len() + 2];
    let mut node_is_ret = vec![false; entries.len() + 2];
    let mut call_node = vec![0u32; n];
    let mut ret_node = vec![0u32; n];
    for (i, &(_, is_ret, k)) in entries.iter().enumerate() {
        let node = i as u32 + 1;
        node_op[node as usize] = k;
        node_is_ret[node as usize] = is_ret;
        if is_ret {
            ret_node[k as usize] = node;
        } else {
            call_node[k as usize] = node;
        }
    }
    let mut info = Links::new(info_ops.len());
    let info_tail = info.tail();
    let mut info_node = vec![0u32; n];
    for (i, &k) in info_ops.iter().enumerate() {
        info_node[k as usize] = i as u32 + 1;
    }

    let zobrist = Zobrist::new(n);
    let mut cache: FailedCache<S> = FailedCache::new();
    let mut done = PrefixBitset::new(completed);
    let mut info_done = Bitset::new(info_ops.len());
    let mut state = init.clone();
    let mut hash: u64 = 0; // Zobrist hash of the linearized completed ops
    let mut remaining = n - info_ops.len();
    let mut stack: Vec<Frame<S>> = Vec::new();
    let mut cursor = Cursor::Main(main.next[HEAD as usize]);
    let mut explored: u64 = 0;
    let mut steps: u64 = 0;
    // Longest dead end so far: (completed ops linearized, prefix, state, blocked op)
    let mut best: Option<(usize, Vec<usize>, S, usize)> = None;
    let mut reached = Reached {
        linearized: 0,
        of: completed,
        next: None,
    };
    // Memory: the fixed per-op arrays now, the growing structures at each
    // limits check.
    let fixed = size_of::<(u64, bool, u32)>() * entries.capacity()
        + (size_of::<u32>() * 2 + 1) * node_op.len()
        + size_of::<u32>() * (call_node.len() + ret_node.len() + info_node.len() + ret_rank.len())
        + size_of::<usize>() * class_index.len()
        + size_of::<u32>() * 2 * (main.next.len() + info.next.len() + info_ops.len())
        + size_of::<u64>() * n
        + n / 4;
    let mut stack_heap = 0usize;
    let mut reservation = limits.memory.map(MemoryBudget::reserve);
    let mut last_report = started;
    let held_bytes = |cache: &FailedCache<S>,
                      stack: &Vec<Frame<S>>,
                      stack_heap: usize,
                      best: &Option<(usize, Vec<usize>, S, usize)>| {
        fixed
            + cache.bytes()
            + stack.capacity() * size_of::<Frame<S>>()
            + stack_heap
            + best
                .as_ref()
                .map_or(0, |b| b.1.capacity() * size_of::<usize>())
    };
    if let Some(r) = &mut reservation
        && !r.cover(fixed)
    {
        return SearchResult::OutOfMemory {
            explored,
            reached,
            bytes: fixed,
        };
    }

    let config_hash = |h: u64, s: &S| h.rotate_left(17) ^ fx_hash(s);

    loop {
        if remaining == 0 {
            return SearchResult::Linearizable {
                order: stack.iter().map(|f| f.op as usize).collect(),
                explored,
            };
        }
        steps += 1;
        if steps & 0xfff == 0 {
            let now = Instant::now();
            if limits.deadline.is_some_and(|d| now >= d) {
                return SearchResult::Timeout { explored, reached };
            }
            let bytes = held_bytes(&cache, &stack, stack_heap, &best);
            if let Some(r) = &mut reservation
                && !r.cover(bytes)
            {
                return SearchResult::OutOfMemory {
                    explored,
                    reached,
                    bytes,
                };
            }
            if let Some(report) = limits.progress
                && now.duration_since(last_report) >= PROGRESS_INTERVAL
            {
                last_report = now;
                report(&SearchProgress {
                    explored,
                    reached,
                    bytes,
                    elapsed: now.duration_since(started),
                });
            }
        }
        // Pick the next candidate from the cursor.
        let (k, next_cursor, bound, blocked) = match cursor {
            Cursor::Main(node) => {
                debug_assert_ne!(node, main_tail, "returns remain while ops do");
                let k = node_op[node as usize];
                if node_is_ret[node as usize] {
                    let covered = ret_rank[k as usize] as usize;
                    if covered > reached.linearized || reached.next.is_none() {
                        reached.linearized = covered;
                        reached.next = Some(k as usize);
                    }
                    cursor = Cursor::Info {
                        node: info.next[HEAD as usize],
                        bound: ops[k as usize].ret_pos,
                        blocked: k,
                    };
                    continue;
                }
                (k, Cursor::Main(main.next[node as usize]), 0, 0)
            }
            Cursor::Info {
                node,
                bound,
                blocked,
            } => {
                let mut node = node;
                // Skip expired info ops: every op that could observe their
                // effect has returned before `bound`, so is linearized.
                while node != info_tail && ops[info_ops[node as usize - 1] as usize].expires < bound
                {
                    node = info.next[node as usize];
                }
                if node != info_tail && ops[info_ops[node as usize - 1] as usize].call < bound {
                    let k = info_ops[node as usize - 1];
                    (
                        k,
                        Cursor::Info {
                            node: info.next[node as usize],
                            bound,
                            blocked,
                        },
                        bound,
                        blocked,
                    )
                } else {
                    // Dead end: every candidate failed.
                    let depth = completed - remaining;
                    if best.as_ref().is_none_or(|b| depth > b.0) {
                        best = Some((
                            depth,
                            stack.iter().map(|f| f.op as usize).collect(),
                            state.clone(),
                            blocked as usize,
                        ));
                    }
                    let Some(frame) = stack.pop() else {
                        let (_, prefix, state, blocked) =
                            best.unwrap_or_else(|| (0, Vec::new(), init.clone(), blocked as usize));
                        return SearchResult::NotLinearizable {
                            prefix,
                            state,
                            blocked,
                            explored,
                        };
                    };
                    let k = frame.op as usize;
                    stack_heap -= frame.prev_state.heap_size();
                    if ops[k].ret.is_some() {
                        // Finished and failed. Configurations inside a run
                        // of info ops are not stored: pruning 2 may have
                        // left their completions to the run's start.
                        let heap = state.heap_size();
                        // A reallocation doubles a buffer at once: ask the
                        // budget for the new buffer before it exists.
                        let growth = cache
                            .insert_growth(done.window().1.len() + info_done.words().len())
                            + heap;
                        if growth > GROWTH_CHECK_BYTES
                            && let Some(r) = &mut reservation
                        {
                            let bytes = held_bytes(&cache, &stack, stack_heap, &best) + growth;
                            if !r.cover(bytes) {
                                return SearchResult::OutOfMemory {
                                    explored,
                                    reached,
                                    bytes,
                                };
                            }
                        }
                        cache.insert(config_hash(hash, &state), &done, &info_done, state, heap);
                    }
                    if ops[k].ret.is_some() {
                        done.clear(class_index[k]);
                    } else {
                        info_done.clear(class_index[k]);
                    }
                    state = frame.prev_state;
                    hash = frame.prev_hash;
                    if ops[k].ret.is_some() {
                        main.relink(ret_node[k]);
                        main.relink(call_node[k]);
                        remaining += 1;
                        cursor = Cursor::Main(main.next[call_node[k] as usize]);
                    } else {
                        info.relink(info_node[k]);
                        cursor = Cursor::Info {
                            node: info.next[info_node[k] as usize],
                            bound: frame.bound,
                            blocked: frame.blocked,
                        };
                    }
                    continue;
                }
            }
        };
        cursor = next_cursor;

        // Try to linearize k.
        let ku = k as usize;
        let o = &ops[ku];
        let mut next = state.clone();
        let is_info = o.ret.is_none();
        let mut run_start = u32::MAX;
        match &o.ret {
            Some(ret) => {
                if !next.is_valid_step(&o.op, ret) {
                    continue;
                }
            }
            None => {
                next.invoke(&o.op);
                if next == state {
                    continue; // pruning 1
                }
                match stack.last() {
                    Some(top) if top.run_start != u32::MAX => {
                        run_start = top.run_start;
                        let mut alone = stack[run_start as usize].prev_state.clone();
                        alone.invoke(&o.op);
                        if alone == next {
                            continue; // pruning 2
                        }
                    }
                    _ => run_start = stack.len() as u32,
                }
            }
        }
        let next_hash = if is_info {
            hash
        } else {
            hash ^ zobrist.key(ku)
        };
        let ci = class_index[ku];
        if is_info {
            info_done.set(ci);
        } else {
            done.set(ci);
        }
        if cache.dominated(config_hash(next_hash, &next), &done, &info_done, &next) {
            if is_info {
                info_done.clear(ci);
            } else {
                done.clear(ci);
            }
            continue; // pruning 3
        }
        explored += 1;
        stack_heap += state.heap_size();
        stack.push(Frame {
            op: k,
            prev_state: std::mem::replace(&mut state, next),
            prev_hash: hash,
            bound,
            blocked,
            run_start,
        });
        hash = next_hash;
        if is_info {
            info.unlink(info_node[ku]);
        } else {
            main.unlink(call_node[ku]);
            main.unlink(ret_node[ku]);
            remaining -= 1;
        }
        cursor = Cursor::Main(main.next[HEAD as usize]);
    }
}

#[cfg(test)]
#[path = "wgl_tests.rs"]
mod tests;
