//! Frames travel from the reader to a worker in reusable batches: one byte
//! arena plus fixed-size records, returned to the reader after use, so the
//! steady state allocates nothing per packet.

use crate::capture::{LinkType, RawPacket, Timestamp};
use crate::correlate::Observation;

#[derive(Clone, Copy)]
struct Meta {
    ts: Timestamp,
    wire_len: u32,
    link: LinkType,
    start: u32,
    len: u32,
    flags: u8,
    /// Index of the input (file or interface) the frame came from.
    source: u16,
    /// Position of the frame in the offline run's input, from 1 (0 live).
    cnt: u64,
}

/// Flag: the frame is a DNS response every worker learns from.
pub const DNS_RESPONSE: u8 = 1;
/// Flag: the frame belongs to another worker; only learn from it.
pub const OBSERVE_ONLY: u8 = 2;
/// Flag: the frame is a DNS query every worker adds to its spread table.
pub const DNS_QUERY: u8 = 4;

/// A batch of frames for one worker.
pub struct Batch {
    data: Vec<u8>,
    meta: Vec<Meta>,
    /// Reader's capture clock when the batch was sent: lets a worker expire
    /// flows even when its own shard is quiet.
    pub now: Timestamp,
    /// Position among all batches the reader sent (offline runs write the
    /// workers' output in this order, so it does not depend on timing).
    pub seq: u64,
    /// Set on the last batch of a clock tick (sent to every worker at
    /// once): every event logged before this capture time has then reached
    /// the writer, which may hand those to the correlation stage.
    pub release: Option<Timestamp>,
}

/// A worker's output for one batch (offline runs), or its final output
/// at the end of input: the writer puts chunks back in batch order.
pub struct Chunk {
    /// The batch's [`Batch::seq`], or [`FINAL_SEQ`] + worker index.
    pub seq: u64,
    /// JSON lines.
    pub data: Vec<u8>,
    /// Finished flows for the correlation stage, with the capture time
    /// they were logged at.
    pub observations: Vec<(Timestamp, Observation)>,
    /// The batch's [`Batch::release`].
    pub release: Option<Timestamp>,
}

/// Sequence numbers from here on are the workers' end-of-input output,
/// written after every batch, in worker order.
pub const FINAL_SEQ: u64 = u64::MAX / 2;

impl Batch {
    /// An empty batch sized for `packets` frames.
    pub fn with_capacity(packets: usize) -> Self {
        Batch {
            data: Vec::with_capacity(packets * 512),
            meta: Vec::with_capacity(packets),
            now: Timestamp(0),
            seq: 0,
            release: None,
        }
    }

    /// Copies a frame in (from input 0, without a packet number).
    #[inline]
    pub fn push(&mut self, p: &RawPacket<'_>, flags: u8) {
        self.push_from(p, flags, 0, 0);
    }

    /// Copies a frame in, with the input it came from (an index into the
    /// run's file or interface names) and its position in the input.
    #[inline]
    pub fn push_from(&mut self, p: &RawPacket<'_>, flags: u8, source: u16, cnt: u64) {
        let start = self.data.len() as u32;
        self.data.extend_from_slice(p.data);
        self.meta.push(Meta {
            ts: p.ts,
            wire_len: p.wire_len,
            link: p.link,
            start,
            len: p.data.len() as u32,
            flags,
            source,
            cnt,
        });
    }

    /// Frames held.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// True when no frame is held.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Empties the batch, keeping its memory (shrinking an arena that a
    /// burst of jumbo frames blew up).
    pub fn clear(&mut self) {
        self.meta.clear();
        self.data.clear();
        if self.data.capacity() > 8 * 1024 * 1024 {
            self.data.shrink_to(1024 * 1024);
        }
    }

    /// The frames, borrowed from the arena, with their flags.
    pub fn packets(&self) -> impl Iterator<Item = (RawPacket<'_>, u8)> {
        self.packets_from().map(|(p, flags, _)| (p, flags))
    }

    /// The frames with their flags and origin (input index, position).
    pub fn packets_from(&self) -> impl Iterator<Item = (RawPacket<'_>, u8, (u16, u64))> {
        self.meta.iter().map(|m| {
            (
                RawPacket {
                    ts: m.ts,
                    wire_len: m.wire_len,
                    link: m.link,
                    data: &self.data[m.start as usize..(m.start + m.len) as usize],
                },
                m.flags,
                (m.source, m.cnt),
            )
        })
    }
}
