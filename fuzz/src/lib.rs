//! Helpers shared by the dissector fuzz targets (`fuzz_targets/*.rs`).
//!
//! Most dissector targets read their input as a sequence of *records*, the
//! same framing `decode_frames` uses for frames:
//!
//! ```text
//! [ctl: u8][len: u16 LE][len bytes]   (repeated; a last record shorter
//!                                      than `len` takes what is left)
//! ```
//!
//! * `ctl & 1` is the direction: 0 = client to server, 1 = server to client.
//! * `ctl >> 1` (0..=127) is the chunk size for stream dissectors: 0 feeds
//!   the record in one call, `n` feeds it in pieces of `n` bytes, so the
//!   fuzzer controls where TCP segment boundaries fall. Datagram feeders
//!   ignore it (or use it for their own purposes, documented per target).
//!
//! `seed.py` writes real payloads (per-direction TCP segments, UDP
//! datagrams) in this format.

use gateward::dissect::Direction;

/// Records read from one input, at most.
pub const MAX_RECORDS: usize = 256;

/// One record of the input.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The control byte as read.
    pub ctl: u8,
    /// The payload.
    pub data: &'a [u8],
}

impl<'a> Record<'a> {
    /// `ctl & 1`: 0 = to server, 1 = to client.
    pub fn dir(&self) -> Direction {
        if self.ctl & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// The payload cut into the pieces a stream dissector is fed (`ctl >> 1`
    /// bytes each; one piece when that is 0). Never yields an empty piece.
    pub fn pieces(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let n = usize::from(self.ctl >> 1);
        let n = if n == 0 { self.data.len().max(1) } else { n };
        self.data.chunks(n)
    }
}

/// Iterates the records of `data` (at most [`MAX_RECORDS`]).
pub fn records(data: &[u8]) -> impl Iterator<Item = Record<'_>> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let [ctl, lo, hi, tail @ ..] = rest else {
            rest = &[];
            return None;
        };
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        Some(Record {
            ctl: *ctl,
            data: payload,
        })
    })
    .take(MAX_RECORDS)
}

/// Serialises a value as the EVE writer would, so a panicking `Serialize`
/// impl (custom ones exist: QUIC versions, fingerprints) is caught too.
pub fn touch_json<T: serde::Serialize>(v: &T) {
    std::hint::black_box(serde_json::to_vec(v).ok());
}
