//! The byte budget for what traffic makes a worker buffer: handshake
//! messages spanning segments (TLS, DTLS), HTTP heads, SSH key exchanges
//! and out-of-order TCP segments. Each has its own per-flow cap; this adds
//! one total per worker, so 40,000 flows that each start a 64 KiB
//! certificate and never finish it hold the budget, not 3 GB.
//!
//! Accounting is per worker thread (flows never leave their worker), in a
//! thread-local, so charging costs no atomic operation; it happens only
//! when a buffer grows, never per packet. A buffer that cannot grow within
//! the budget stops growing: the message is treated as cut at the flow's
//! own cap would be (the dissector marks it truncated and goes on without
//! it), and the refusal is counted (`buffer_refused` in the stats).
//! Without [`set_limit`] the budget is unlimited (tests, tools).

use std::cell::Cell;

thread_local! {
    static USED: Cell<usize> = const { Cell::new(0) };
    static LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
    static REFUSED: Cell<u64> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// Sets this thread's budget in bytes (a worker calls it once at start).
pub fn set_limit(bytes: usize) {
    LIMIT.with(|l| l.set(bytes));
}

/// Bytes charged on this thread now.
pub fn used() -> usize {
    USED.with(Cell::get)
}

/// Most bytes charged at once on this thread so far.
pub fn peak() -> usize {
    PEAK.with(Cell::get)
}

/// Growths refused since the last call (the caller adds them to its stats).
pub fn take_refused() -> u64 {
    REFUSED.with(|r| r.replace(0))
}

fn try_charge(n: usize) -> bool {
    let used = USED.with(Cell::get);
    let limit = LIMIT.with(Cell::get);
    match used.checked_add(n) {
        Some(total) if total <= limit => {
            USED.with(|u| u.set(total));
            PEAK.with(|p| p.set(p.get().max(total)));
            true
        }
        _ => false,
    }
}

fn release(n: usize) {
    USED.with(|u| u.set(u.get().saturating_sub(n)));
}

/// A byte buffer whose heap capacity is charged to the thread's budget
/// and released when it is cleared or dropped.
#[derive(Debug, Default)]
pub struct BudgetVec {
    v: Vec<u8>,
    charged: usize,
}

impl BudgetVec {
    /// An empty buffer (allocates nothing).
    pub const fn new() -> Self {
        BudgetVec {
            v: Vec::new(),
            charged: 0,
        }
    }

    /// Appends as much of `data` as fits under `cap` bytes in all and the
    /// budget; returns how many bytes were appended. Capacity grows by
    /// doubling (bounded by `cap`), so a message arriving in many small
    /// segments is not copied over and over.
    pub fn extend_capped(&mut self, data: &[u8], cap: usize) -> usize {
        let room = cap.saturating_sub(self.v.len());
        let k = room.min(data.len());
        if k == 0 {
            return 0;
        }
        let need = self.v.len() + k;
        if need > self.v.capacity() {
            let want = need.max(self.v.capacity() * 2).clamp(need, cap.max(need));
            let grown = if self.charge_to(want) {
                want
            } else if self.charge_to(need) {
                need
            } else {
                REFUSED.with(|r| r.set(r.get() + 1));
                return 0;
            };
            self.v.reserve_exact(grown - self.v.len());
        }
        self.v.extend_from_slice(&data[..k]);
        k
    }

    /// Charges the budget for a capacity of `cap` bytes (beyond what is
    /// charged already); false when the budget refuses.
    fn charge_to(&mut self, cap: usize) -> bool {
        let extra = cap.saturating_sub(self.charged);
        if extra == 0 || try_charge(extra) {
            self.charged = self.charged.max(cap);
            true
        } else {
            false
        }
    }

    /// The bytes held.
    pub fn as_slice(&self) -> &[u8] {
        &self.v
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    /// Frees the memory and returns it to the budget.
    pub fn free(&mut self) {
        self.v = Vec::new();
        release(std::mem::take(&mut self.charged));
    }
}

impl std::ops::Deref for BudgetVec {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.v
    }
}

impl Drop for BudgetVec {
    fn drop(&mut self) {
        release(self.charged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_charged_and_released() {
        // Each test runs on its own thread: a fresh budget.
        set_limit(1000);
        let mut a = BudgetVec::new();
        assert_eq!(a.extend_capped(&[1; 300], 4096), 300);
        assert!(used() >= 300);
        let mut b = BudgetVec::new();
        // Only what is left fits; the rest is refused and counted.
        assert_eq!(b.extend_capped(&[2; 900], 4096), 0);
        assert_eq!(take_refused(), 1);
        drop(a);
        assert_eq!(used(), 0);
        assert_eq!(b.extend_capped(&[2; 900], 4096), 900);
        b.free();
        assert_eq!(used(), 0);
        assert!(peak() >= 900);
    }

    #[test]
    fn the_per_buffer_cap_still_applies() {
        let mut a = BudgetVec::new();
        assert_eq!(a.extend_capped(&[1; 100], 64), 64);
        assert_eq!(a.extend_capped(&[1; 10], 64), 0);
        assert_eq!(a.as_slice().len(), 64);
        assert!(a.v.capacity() <= 64);
    }

    #[test]
    fn small_segments_grow_the_capacity_geometrically() {
        let mut a = BudgetVec::new();
        for _ in 0..1000 {
            a.extend_capped(&[7; 10], 1 << 20);
        }
        assert_eq!(a.len(), 10_000);
        assert!(a.charged >= 10_000 && a.charged <= 20_480);
    }
}
