//! The check's memory budget: a byte count shared by every key searched at
//! once, so that a check ends a key as `unknown` rather than being killed
//! by the kernel.
//!
//! What is counted: the engines' own structures (the WGL search's failed
//! configuration cache, stack and per-op arrays; the version-order check's
//! per-op arrays), estimated from their capacities. The history and the
//! prepared per-key inputs are not counted: they exist before the check.
//!
//! Invariants: [`MemoryBudget::used`] is the sum of the live
//! [`Reservation`]s; a reservation never grows past the limit (a failed
//! grow leaves it as it was) and gives its bytes back when dropped.

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::spec::{AppendList, CasRegister};

/// Reservations grow in steps of this much, to keep the shared counter
/// cold.
const GROWTH_STEP: usize = 1 << 20;

/// Used when the machine's memory cannot be read.
const FALLBACK_BUDGET: usize = 4 << 30;

/// Bytes the engines may hold at once over all keys checked in parallel.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        MemoryBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// An empty reservation against this budget.
    pub fn reserve(&self) -> Reservation<'_> {
        Reservation {
            budget: self,
            held: 0,
        }
    }

    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Bytes one engine run holds against a [`MemoryBudget`].
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    held: usize,
}

impl Reservation<'_> {
    /// Makes the reservation cover `bytes`: grows it (in steps of 1 MiB)
    /// if the budget allows, shrinks it when it holds much more. Returns
    /// `false`, and keeps what it held, when the budget is spent.
    pub fn cover(&mut self, bytes: usize) -> bool {
        if bytes > self.held {
            let want = bytes.div_ceil(GROWTH_STEP).saturating_mul(GROWTH_STEP);
            if !self.budget.try_take(want - self.held) {
                return false;
            }
            self.held = want;
        } else if self.held - bytes > 4 * GROWTH_STEP {
            let keep = bytes.div_ceil(GROWTH_STEP) * GROWTH_STEP;
            self.budget.give_back(self.held - keep);
            self.held = keep;
        }
        true
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

/// The default budget: half of the memory this process may use (the
/// machine's `MemTotal`, or a cgroup v2 `memory.max` below it), or 4 GiB
/// where neither can be read. Read once.
pub fn default_memory_budget() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| mem_total(&text));
        let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok());
        match (total, cgroup) {
            (Some(t), Some(c)) => t.min(c) / 2,
            (Some(m), None) | (None, Some(m)) => m / 2,
            (None, None) => FALLBACK_BUDGET,
        }
    })
}

/// `MemTotal` in bytes from the text of `/proc/meminfo`.
fn mem_total(meminfo: &str) -> Option<usize> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Heap bytes a spec state owns beyond its inline size (for accounting).
pub trait HeapSize {
    /// Bytes owned on the heap.
    fn heap_size(&self) -> usize;
}

impl HeapSize for CasRegister<u32> {
    fn heap_size(&self) -> usize {
        0
    }
}

impl HeapSize for AppendList<u32> {
    fn heap_size(&self) -> usize {
        self.0.capacity() * size_of::<u32>()
    }
}

/// "1.5 GiB" style rendering of a byte count, for reasons.
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// How often a long search reports progress.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_give_back_on_drop() {
        let budget = MemoryBudget::new(3 * GROWTH_STEP);
        let mut a = budget.reserve();
        assert!(a.cover(10));
        assert_eq!(a.held(), GROWTH_STEP, "grows in whole steps");
        let mut b = budget.reserve();
        assert!(b.cover(2 * GROWTH_STEP));
        assert!(!a.cover(2 * GROWTH_STEP), "would pass the limit");
        assert_eq!(a.held(), GROWTH_STEP, "a failed grow keeps what it held");
        drop(b);
        assert_eq!(budget.used(), GROWTH_STEP);
        assert!(a.cover(3 * GROWTH_STEP));
        drop(a);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemTotal:       24683520 kB\nMemFree:  1 kB\n";
        assert_eq!(mem_total(text), Some(24_683_520 * 1024));
        assert_eq!(mem_total("nothing"), None);
        assert_eq!(mem_total("MemTotal: lots kB"), None);
        assert!(default_memory_budget() > 0);
    }

    #[test]
    fn bytes_read_like_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }
}
