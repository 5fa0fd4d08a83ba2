//! Bounded reassembly of one direction's CRYPTO stream (RFC 9000 section
//! 19.6): frames may arrive out of order, overlap, repeat, and span several
//! Initial packets (Chrome scatters its ClientHello over many small CRYPTO
//! frames in random order), but the TLS layer wants in-order bytes.

/// Most CRYPTO bytes kept per direction. A ClientHello with post-quantum key
/// shares is about 2 KiB; 16 KiB leaves room for odd clients while bounding
/// per-flow memory. Bytes beyond it are counted in `dropped_bytes`.
pub const MAX_CRYPTO_BYTES: usize = 16 * 1024;

/// Most disjoint received ranges tracked per direction; a sender that
/// fragments harder than this is hostile, and its excess frames are dropped
/// (counted) rather than letting bookkeeping grow.
pub const MAX_RANGES: usize = 32;

/// TLS 1.3 HelloRetryRequest's special ServerHello.random (RFC 8446 4.1.3):
/// seeing it means both sides will send a second hello.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// One direction's CRYPTO stream: received bytes at their absolute offsets,
/// the set of received ranges, and how much of the prefix was delivered.
#[derive(Debug, Default, Clone)]
pub struct CryptoStream {
    /// Bytes at absolute stream offsets `0..buf.len()`; holes are zero until
    /// filled. Allocated lazily, never beyond [`MAX_CRYPTO_BYTES`].
    buf: Vec<u8>,
    /// Sorted, disjoint, non-adjacent received ranges `[start, end)`.
    ranges: Vec<(u32, u32)>,
    /// Length of the contiguous prefix already handed to the TLS layer.
    delivered: u32,
    /// Bytes discarded because they lay beyond the cap or exceeded
    /// [`MAX_RANGES`]; non-zero means the handshake view may be incomplete.
    pub dropped_bytes: u64,
    /// Offset of the next handshake message header not yet complete.
    msg_pos: u32,
    /// Handshake messages (4-byte header + body) complete in the prefix.
    pub complete_messages: u8,
    /// The first complete message was a HelloRetryRequest.
    pub saw_hrr: bool,
}

impl CryptoStream {
    /// Adds one CRYPTO frame and returns the bytes that became contiguous
    /// (and were not delivered before) as a result; empty if none.
    pub fn insert(&mut self, offset: u64, data: &[u8]) -> &[u8] {
        let cap = MAX_CRYPTO_BYTES as u64;
        let len = data.len() as u64;
        let end = offset.saturating_add(len).min(cap);
        let kept = end.saturating_sub(offset);
        self.dropped_bytes = self.dropped_bytes.saturating_add(len - kept);
        let start = offset.max(u64::from(self.delivered));
        if start >= end {
            return &[];
        }
        // Both fit in u32 because end <= cap.
        let (start, end) = (start as u32, end as u32);
        if !self.record_range(start, end) {
            self.dropped_bytes = self.dropped_bytes.saturating_add(u64::from(end - start));
            return &[];
        }
        let src_from = (u64::from(start) - offset) as usize;
        let src = &data[src_from..src_from + (end - start) as usize];
        if self.buf.len() < end as usize {
            self.buf.resize(end as usize, 0);
        }
        self.buf[start as usize..end as usize].copy_from_slice(src);
        let Some(&(first_start, first_end)) = self.ranges.first() else {
            return &[];
        };
        if first_start > self.delivered || first_end <= self.delivered {
            return &[];
        }
        let from = self.delivered as usize;
        self.delivered = first_end;
        self.count_messages();
        &self.buf[from..first_end as usize]
    }

    /// Merges `[start, end)` into the range set; false if it would need a
    /// new entry beyond [`MAX_RANGES`].
    fn record_range(&mut self, start: u32, end: u32) -> bool {
        // Index of the first range that ends at or after `start` (touching
        // ranges merge), and one past the last that starts at or before `end`.
        let lo = self.ranges.partition_point(|r| r.1 < start);
        let hi = self.ranges.partition_point(|r| r.0 <= end);
        if lo == hi {
            if self.ranges.len() >= MAX_RANGES {
                return false;
            }
            self.ranges.insert(lo, (start, end));
        } else {
            let new_start = start.min(self.ranges[lo].0);
            let new_end = end.max(self.ranges[hi - 1].1);
            self.ranges[lo] = (new_start, new_end);
            self.ranges.drain(lo + 1..hi);
        }
        true
    }

    /// Advances the handshake-message walk over newly delivered bytes; each
    /// header is read once, so the total cost stays linear.
    fn count_messages(&mut self) {
        while self.complete_messages < u8::MAX {
            let pos = self.msg_pos as usize;
            let Some(h) = self.buf.get(pos..pos + 4) else {
                return;
            };
            let body = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
            let end = pos + 4 + body;
            if end > self.delivered as usize {
                // A message that can never fit counts as complete once the
                // buffer is full, so the state machine can still finish.
                if end > MAX_CRYPTO_BYTES && self.delivered as usize == MAX_CRYPTO_BYTES {
                    self.complete_messages += 1;
                    self.msg_pos = MAX_CRYPTO_BYTES as u32;
                }
                return;
            }
            if self.complete_messages == 0
                && h[0] == 2
                && self.buf.get(pos + 6..pos + 38) == Some(&HRR_RANDOM[..])
            {
                self.saw_hrr = true;
            }
            self.complete_messages += 1;
            self.msg_pos = end as u32;
        }
    }

    /// The contiguous prefix received so far (what has been delivered).
    pub fn contiguous(&self) -> &[u8] {
        &self.buf[..(self.delivered as usize).min(self.buf.len())]
    }

    /// Frees the buffers once the flow is decided; counters stay.
    pub fn release(&mut self) {
        self.buf = Vec::new();
        self.ranges = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testutil::xorshift;

    #[test]
    fn out_of_order_and_overlap() {
        let msg: Vec<u8> = (0..100u8).collect();
        let mut s = CryptoStream::default();
        assert!(s.insert(50, &msg[50..80]).is_empty());
        assert!(s.insert(10, &msg[10..60]).is_empty());
        assert_eq!(s.insert(0, &msg[0..20]), &msg[0..80]);
        assert!(s.insert(0, &msg[0..80]).is_empty(), "duplicate");
        assert_eq!(s.insert(70, &msg[70..100]), &msg[80..100]);
        assert_eq!(s.contiguous(), &msg[..]);
        assert_eq!(s.ranges, vec![(0, 100)]);
        assert_eq!(s.dropped_bytes, 0);
    }

    #[test]
    fn counts_handshake_messages_and_hrr() {
        let mut s = CryptoStream::default();
        let mut hrr = vec![2, 0, 0, 36, 3, 3];
        hrr.extend_from_slice(&HRR_RANDOM);
        hrr.extend_from_slice(&[0, 0]);
        let sh = [2u8, 0, 0, 2, 3, 3];
        s.insert(0, &hrr[..10]);
        assert_eq!(s.complete_messages, 0);
        s.insert(hrr.len() as u64, &sh);
        s.insert(10, &hrr[10..]);
        assert_eq!(s.complete_messages, 2);
        assert!(s.saw_hrr);
    }

    #[test]
    fn caps_and_range_limit() {
        let mut s = CryptoStream::default();
        assert!(s.insert(u64::MAX - 1, &[1, 2, 3]).is_empty());
        assert!(s.insert(MAX_CRYPTO_BYTES as u64 - 1, &[9, 9]).is_empty());
        assert_eq!(s.dropped_bytes, 4);
        for i in 0..(MAX_RANGES as u64 + 5) {
            s.insert(10 + i * 3, &[7]);
        }
        assert_eq!(s.ranges.len(), MAX_RANGES);
        assert!(s.dropped_bytes > 4);
        assert!(s.buf.len() <= MAX_CRYPTO_BYTES);
        // Filling a hole still merges and delivers.
        let got = s.insert(0, &[0; 11]).len();
        assert_eq!(got, 11);
    }

    #[test]
    fn random_inserts_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let data = [0xaau8; 3000];
        for _ in 0..200 {
            let mut s = CryptoStream::default();
            for _ in 0..200 {
                seed = xorshift(seed);
                let off = seed % (MAX_CRYPTO_BYTES as u64 + 4000);
                let len = (seed >> 32) as usize % data.len();
                let _ = s.insert(off, &data[..len]);
            }
            assert!(s.buf.len() <= MAX_CRYPTO_BYTES);
            assert!(s.ranges.len() <= MAX_RANGES);
        }
    }
}
