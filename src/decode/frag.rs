//! Bounded IPv4/IPv6 fragment reassembly, so dissectors see whole datagrams
//! (large IKE and DNS messages are fragmented).
//!
//! Limits: partial datagrams held at once, bytes held at once, fragments per
//! datagram, and a timeout in capture time. Every drop is counted by reason.
//! When a new datagram does not fit, the oldest partial ones are evicted to
//! make room (counted as `fragment_evicted`): refusing newcomers instead
//! would let a burst of never-completed first fragments blind reassembly
//! for the whole timeout.
//! Overlapping fragments drop the whole datagram (RFC 5722 makes this the
//! rule for IPv6; for IPv4 it closes the overlap-evasion class of attacks);
//! an exact duplicate of a received fragment is ignored.

use super::DecodeError;
use super::ip::{Addr, Fragment};
use crate::capture::Timestamp;
use hashbrown::HashMap;
use std::collections::VecDeque;

/// Reassembly limits, from the config's `[defrag]` section.
#[derive(Clone, Copy, Debug)]
pub struct DefragLimits {
    /// Partial datagrams held at once (per worker).
    pub max_datagrams: usize,
    /// Payload bytes held at once (per worker).
    pub max_bytes: usize,
    /// Fragments accepted per datagram.
    pub max_fragments: usize,
    /// A partial datagram older than this (capture time) is dropped.
    pub timeout_us: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: Addr,
    dst: Addr,
    id: u32,
    proto: u8,
    context: u64,
}

struct Partial {
    /// Its position in [`Defragmenter::order`]: an entry there whose
    /// sequence differs is stale (the datagram completed or was dropped).
    seq: u64,
    first_ts: Timestamp,
    data: Vec<u8>,
    /// Received byte ranges, sorted, non-overlapping.
    ranges: Vec<(u32, u32)>,
    total: Option<u32>,
    frames: u32,
    frame_bytes: u64,
}

/// Result of offering a fragment.
pub enum Offer {
    /// Kept; the datagram is not complete yet.
    Held,
    /// The datagram is complete: its protocol and whole payload.
    Complete {
        /// IP protocol of the reassembled payload.
        proto: u8,
        /// The payload, starting at the transport header.
        payload: Vec<u8>,
        /// Fragments the datagram arrived in.
        frames: u32,
        /// Their frame bytes (wire length), summed.
        frame_bytes: u64,
    },
    /// Dropped, for this reason (already counted by the caller).
    Dropped(DecodeError),
}

/// Per-worker reassembly state.
pub struct Defragmenter {
    limits: DefragLimits,
    partials: HashMap<Key, Partial, foldhash::fast::RandomState>,
    /// Keys in arrival order of their first fragment, for evicting the
    /// oldest; holds stale entries until they reach the front or a
    /// compaction (kept under twice the live count, so memory stays bounded).
    order: VecDeque<(Key, u64)>,
    next_seq: u64,
    bytes: usize,
    evicted: u64,
}

/// Largest reassembled payload: IPv4's total length field and IPv6's
/// payload length field both stop at 65535.
const MAX_DATAGRAM: u32 = 65_535;

impl Defragmenter {
    /// Empty reassembly state with the given limits.
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            partials: HashMap::default(),
            order: VecDeque::new(),
            next_seq: 0,
            bytes: 0,
            evicted: 0,
        }
    }

    /// Partial datagrams evicted to make room for newer ones since the last
    /// call (the caller counts them as `fragment_evicted`).
    pub fn take_evicted(&mut self) -> u64 {
        std::mem::take(&mut self.evicted)
    }

    /// Evicts the oldest partial datagram other than `keep`; false when
    /// there is none.
    fn evict_oldest(&mut self, keep: Option<&Key>) -> bool {
        let mut kept = None;
        let mut done = false;
        while let Some((key, seq)) = self.order.pop_front() {
            if self.partials.get(&key).is_none_or(|p| p.seq != seq) {
                continue; // stale
            }
            if keep == Some(&key) {
                kept = Some((key, seq));
                continue;
            }
            self.discard(&key);
            self.evicted += 1;
            done = true;
            break;
        }
        if let Some(entry) = kept {
            self.order.push_front(entry);
        }
        done
    }

    /// Bytes currently held (for stats).
    pub fn bytes_held(&self) -> usize {
        self.bytes
    }

    /// Offers one fragment. `context` separates otherwise identical keys
    /// (VLAN, tunnel parent).
    /// `wire_len` is the frame's length, summed into the datagram's bytes.
    pub fn offer(&mut self, f: &Fragment<'_>, context: u64, ts: Timestamp, wire_len: u32) -> Offer {
        let key = Key {
            src: f.src,
            dst: f.dst,
            id: f.id,
            proto: f.proto,
            context,
        };
        let len = f.data.len() as u32;
        let end = f.offset.saturating_add(len);
        if end > MAX_DATAGRAM || (f.more && !len.is_multiple_of(8)) {
            self.discard(&key);
            return Offer::Dropped(DecodeError::FragmentInvalid);
        }
        if !self.partials.contains_key(&key) {
            if self.limits.max_datagrams == 0 {
                return Offer::Dropped(DecodeError::FragmentDropped);
            }
            while self.partials.len() >= self.limits.max_datagrams && self.evict_oldest(None) {}
            if self.order.len() > 2 * self.partials.len() + 16 {
                let partials = &self.partials;
                self.order
                    .retain(|(k, seq)| partials.get(k).is_some_and(|p| p.seq == *seq));
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.order.push_back((key, seq));
            self.partials.insert(
                key,
                Partial {
                    seq,
                    first_ts: ts,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    frames: 0,
                    frame_bytes: 0,
                },
            );
        }
        // Room for this fragment's bytes, taken from the oldest others.
        let held = self.partials.get(&key).map_or(0, |p| p.data.len());
        let grow = (end as usize).saturating_sub(held);
        while self.bytes + grow > self.limits.max_bytes && self.evict_oldest(Some(&key)) {}
        let Some(p) = self.partials.get_mut(&key) else {
            return Offer::Dropped(DecodeError::FragmentDropped);
        };
        // Exact duplicates are ignored; any other overlap poisons the datagram.
        let pos = p.ranges.partition_point(|r| r.0 < f.offset);
        if p.ranges.get(pos) == Some(&(f.offset, end)) {
            return Offer::Held;
        }
        let overlaps_prev = pos > 0 && p.ranges[pos - 1].1 > f.offset;
        let overlaps_next = p.ranges.get(pos).is_some_and(|r| r.0 < end);
        let bad_total = match (f.more, p.total) {
            (false, Some(t)) => t != end,
            (true, Some(t)) => end > t,
            (false, None) => p.ranges.last().is_some_and(|r| r.1 > end),
            (true, None) => false,
        };
        if overlaps_prev || overlaps_next || bad_total {
            self.discard(&key);
            return Offer::Dropped(DecodeError::FragmentInvalid);
        }
        if p.ranges.len() >= self.limits.max_fragments {
            self.discard(&key);
            return Offer::Dropped(DecodeError::FragmentDropped);
        }
        let grow = (end as usize).saturating_sub(p.data.len());
        if self.bytes + grow > self.limits.max_bytes {
            self.discard(&key);
            return Offer::Dropped(DecodeError::FragmentDropped);
        }
        if grow > 0 {
            p.data.resize(end as usize, 0);
            self.bytes += grow;
        }
        p.data[f.offset as usize..end as usize].copy_from_slice(f.data);
        p.ranges.insert(pos, (f.offset, end));
        p.frames += 1;
        p.frame_bytes += wire_len as u64;
        if !f.more {
            p.total = Some(end);
        }
        let complete = p.total.is_some_and(|t| {
            p.ranges.first().is_some_and(|r| r.0 == 0)
                && p.ranges.windows(2).all(|w| w[0].1 == w[1].0)
                && p.ranges.last().is_some_and(|r| r.1 == t)
        });
        if complete && let Some(p) = self.partials.remove(&key) {
            self.bytes -= p.data.len();
            return Offer::Complete {
                proto: key.proto,
                payload: p.data,
                frames: p.frames,
                frame_bytes: p.frame_bytes,
            };
        }
        Offer::Held
    }

    fn discard(&mut self, key: &Key) {
        if let Some(p) = self.partials.remove(key) {
            self.bytes -= p.data.len();
        }
    }

    /// Drops partial datagrams older than the timeout; returns how many.
    pub fn expire(&mut self, now: Timestamp) -> u64 {
        let timeout = self.limits.timeout_us;
        let mut expired = 0u64;
        let mut freed = 0usize;
        self.partials.retain(|_, p| {
            let keep = now.micros_since(p.first_ts) <= timeout;
            if !keep {
                expired += 1;
                freed += p.data.len();
            }
            keep
        });
        self.bytes -= freed;
        if expired > 0 {
            let partials = &self.partials;
            self.order
                .retain(|(k, seq)| partials.get(k).is_some_and(|p| p.seq == *seq));
        }
        expired
    }

    /// Drops everything held (end of input); returns how many were partial.
    pub fn clear(&mut self) -> u64 {
        let n = self.partials.len() as u64;
        self.partials.clear();
        self.order.clear();
        self.bytes = 0;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DefragLimits {
        DefragLimits {
            max_datagrams: 4,
            max_bytes: 1 << 20,
            max_fragments: 8,
            timeout_us: 30_000_000,
        }
    }

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            src: Addr::v4([1, 1, 1, 1]),
            dst: Addr::v4([2, 2, 2, 2]),
            proto: 17,
            id: 7,
            offset,
            more,
            data,
        }
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defragmenter::new(limits());
        let a = [1u8; 8];
        let b = [2u8; 3];
        assert!(matches!(
            d.offer(&frag(8, false, &b), 0, Timestamp(0), 100),
            Offer::Held
        ));
        match d.offer(&frag(0, true, &a), 0, Timestamp(1), 100) {
            Offer::Complete { proto, payload, .. } => {
                assert_eq!(proto, 17);
                assert_eq!(payload, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2]);
            }
            _ => panic!("not complete"),
        }
        assert_eq!(d.bytes_held(), 0);
    }

    #[test]
    fn overlap_drops_the_datagram() {
        let mut d = Defragmenter::new(limits());
        d.offer(&frag(0, true, &[0; 16]), 0, Timestamp(0), 100);
        assert!(matches!(
            d.offer(&frag(8, false, &[0; 4]), 0, Timestamp(0), 100),
            Offer::Dropped(DecodeError::FragmentInvalid)
        ));
        assert_eq!(d.bytes_held(), 0);
    }

    #[test]
    fn timeout_frees_memory() {
        let mut d = Defragmenter::new(limits());
        d.offer(&frag(0, true, &[0; 16]), 0, Timestamp(0), 100);
        assert_eq!(d.expire(Timestamp(31_000_000)), 1);
        assert_eq!(d.bytes_held(), 0);
    }

    #[test]
    fn datagram_cap_evicts_the_oldest() {
        let mut d = Defragmenter::new(limits());
        for id in 0..4 {
            let mut f = frag(0, true, &[0; 8]);
            f.id = id;
            d.offer(&f, 0, Timestamp(0), 100);
        }
        let mut f = frag(0, true, &[0; 8]);
        f.id = 99;
        assert!(matches!(d.offer(&f, 0, Timestamp(1), 100), Offer::Held));
        assert_eq!(d.take_evicted(), 1);
        assert_eq!(d.partials.len(), 4);
        // id 1 survived and completes.
        let mut last = frag(8, false, &[1; 4]);
        last.id = 1;
        assert!(matches!(
            d.offer(&last, 0, Timestamp(2), 100),
            Offer::Complete { .. }
        ));
        // id 0 (the oldest) is gone: its last fragment completes nothing.
        let mut last = frag(8, false, &[1; 4]);
        last.id = 0;
        assert!(matches!(d.offer(&last, 0, Timestamp(2), 100), Offer::Held));
        assert_eq!(d.take_evicted(), 0);
    }

    /// The attack of issue 15: a burst of never-completed first fragments
    /// must not keep legitimate datagrams from being reassembled.
    #[test]
    fn a_flood_of_first_fragments_does_not_blind_reassembly() {
        let mut d = Defragmenter::new(DefragLimits {
            max_datagrams: 100,
            ..limits()
        });
        for id in 0..9_000 {
            let mut f = frag(0, true, &[0; 8]);
            f.id = 100_000 + id;
            assert!(matches!(d.offer(&f, 0, Timestamp(0), 100), Offer::Held));
        }
        assert_eq!(d.take_evicted(), 8_900);
        assert!(d.order.len() <= 2 * d.partials.len() + 16);
        let mut complete = 0;
        for id in 0..10 {
            let mut a = frag(0, true, &[1; 8]);
            a.id = id;
            let mut b = frag(8, false, &[2; 8]);
            b.id = id;
            d.offer(&a, 0, Timestamp(1), 100);
            if matches!(d.offer(&b, 0, Timestamp(1), 100), Offer::Complete { .. }) {
                complete += 1;
            }
        }
        assert_eq!(complete, 10);
    }

    #[test]
    fn byte_cap_evicts_older_datagrams() {
        let mut d = Defragmenter::new(DefragLimits {
            max_bytes: 64,
            ..limits()
        });
        let mut a = frag(0, true, &[0; 40]);
        a.id = 1;
        d.offer(&a, 0, Timestamp(0), 100);
        let mut b = frag(0, true, &[0; 40]);
        b.id = 2;
        assert!(matches!(d.offer(&b, 0, Timestamp(1), 100), Offer::Held));
        assert_eq!(d.take_evicted(), 1);
        assert!(d.bytes_held() <= 64);
    }
}
