//! TCP connection state and the small in-order stream assembler that feeds
//! dissectors the first bytes of each direction.

use crate::budget::BudgetVec;
use crate::capture::Timestamp;
use crate::decode::ip::tcp_flags::{ACK, FIN, RST, SYN};

/// Connection state as EVE's `tcp.state` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TcpState {
    /// Nothing but data seen yet, or only the SYN.
    #[default]
    New,
    /// Client SYN seen.
    SynSent,
    /// SYN/ACK seen.
    SynRecv,
    /// Handshake completed, or data flowing both ways (mid-stream pickup).
    Established,
    /// One side sent FIN.
    FinWait,
    /// Both sides sent FIN.
    Closed,
    /// A RST was seen.
    Reset,
}

impl TcpState {
    /// EVE `tcp.state` string.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::New => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::FinWait => "fin_wait1",
            TcpState::Closed => "closed",
            TcpState::Reset => "closed",
        }
    }

    /// True once the connection is over (FIN exchange or RST).
    pub fn is_closed(self) -> bool {
        matches!(self, TcpState::Closed | TcpState::Reset)
    }

    /// Next state after a segment with `flags`, sent by the client when
    /// `from_client`. `fin_seen` remembers FINs per direction.
    pub fn next(self, flags: u8, from_client: bool, fin_seen: &mut [bool; 2]) -> TcpState {
        if flags & RST != 0 {
            return TcpState::Reset;
        }
        if flags & FIN != 0 {
            fin_seen[usize::from(!from_client)] = true;
            return if fin_seen[0] && fin_seen[1] {
                TcpState::Closed
            } else {
                TcpState::FinWait
            };
        }
        match self {
            TcpState::New if flags & SYN != 0 && flags & ACK == 0 => TcpState::SynSent,
            TcpState::New | TcpState::SynSent if flags & SYN != 0 && flags & ACK != 0 => {
                TcpState::SynRecv
            }
            TcpState::SynRecv if from_client && flags & ACK != 0 => TcpState::Established,
            s => s,
        }
    }
}

/// The TCP handshake times of a flow (SYN, SYN/ACK, the client's ACK):
/// transport facts the cross-layer round-trip measurement reads later.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    /// Last client SYN before the SYN/ACK.
    pub syn: Option<Timestamp>,
    /// First SYN/ACK.
    pub syn_ack: Option<Timestamp>,
    /// The client's first ACK after the SYN/ACK.
    pub ack: Option<Timestamp>,
}

impl Handshake {
    /// Records the handshake segment a packet with `flags` is, if any.
    pub fn observe(&mut self, flags: u8, from_client: bool, ts: Timestamp) {
        let syn_ack = SYN | ACK;
        match (flags & syn_ack, from_client) {
            (SYN, true) if self.syn_ack.is_none() => self.syn = Some(ts),
            (f, false) if f == syn_ack && self.syn_ack.is_none() => self.syn_ack = Some(ts),
            (ACK, true) if self.syn_ack.is_some() && self.ack.is_none() => self.ack = Some(ts),
            _ => {}
        }
    }
}

/// Out-of-order segments kept per direction while waiting for a gap to fill.
pub const MAX_OOO_SEGMENTS: usize = 8;
/// Bytes of out-of-order data kept per direction.
pub const MAX_OOO_BYTES: usize = 16 * 1024;

/// What happened to a segment offered to the assembler.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// In-order bytes are ready (possibly several chunks: call `drain`).
    Ready,
    /// Nothing new (retransmission, or held out of order).
    Nothing,
    /// A gap could not be filled within the limits: the stream has a hole,
    /// and the dissectors of this direction must stop.
    Gap,
}

/// In-order delivery of one direction's first bytes: trims retransmissions
/// and overlaps, holds a few out-of-order segments, and reports a gap when
/// its limits are hit (counted by the caller). Allocates only when
/// segments actually arrive out of order.
#[derive(Debug, Default)]
pub struct StreamAssembler {
    next_seq: Option<u32>,
    /// Held segments, charged to the worker's byte budget (crate::budget).
    held: Vec<(u32, BudgetVec)>,
    held_bytes: usize,
}

/// `a < b` in sequence space (RFC 793 comparison modulo 2^32).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl StreamAssembler {
    /// Records the initial sequence number from a SYN (the data starts at ISN+1).
    pub fn on_syn(&mut self, seq: u32) {
        self.next_seq = Some(seq.wrapping_add(1));
        self.held.clear();
        self.held_bytes = 0;
    }

    /// Offers a segment; in-order bytes are passed to `deliver` at once.
    pub fn offer(
        &mut self,
        seq: u32,
        payload: &[u8],
        deliver: &mut dyn FnMut(&[u8]),
    ) -> StreamEvent {
        if payload.is_empty() {
            return StreamEvent::Nothing;
        }
        let next = *self.next_seq.get_or_insert(seq);
        let end = seq.wrapping_add(payload.len() as u32);
        if !seq_lt(next, end) {
            return StreamEvent::Nothing; // wholly old: retransmission
        }
        if seq_lt(next, seq) {
            // Future data: hold it if there is room, else give up on order.
            let mut copy = BudgetVec::new();
            if self.held.len() >= MAX_OOO_SEGMENTS
                || self.held_bytes + payload.len() > MAX_OOO_BYTES
                || copy.extend_capped(payload, payload.len()) < payload.len()
            {
                self.held.clear();
                self.held_bytes = 0;
                self.next_seq = Some(end);
                return StreamEvent::Gap;
            }
            self.held_bytes += payload.len();
            self.held.push((seq, copy));
            return StreamEvent::Nothing;
        }
        let skip = next.wrapping_sub(seq) as usize;
        deliver(&payload[skip..]);
        self.next_seq = Some(end);
        self.release_held(deliver);
        StreamEvent::Ready
    }

    fn release_held(&mut self, deliver: &mut dyn FnMut(&[u8])) {
        while !self.held.is_empty() {
            let Some(next) = self.next_seq else { return };
            let Some(i) = self.held.iter().position(|(s, d)| {
                !seq_lt(next, *s) && seq_lt(next, s.wrapping_add(d.len() as u32))
            }) else {
                // Drop anything now wholly old; stop when a real gap remains.
                let before = self.held.len();
                self.held
                    .retain(|(s, d)| seq_lt(next, s.wrapping_add(d.len() as u32)));
                if self.held.len() == before {
                    return;
                }
                continue;
            };
            let (s, d) = self.held.swap_remove(i);
            self.held_bytes -= d.len();
            let skip = next.wrapping_sub(s) as usize;
            deliver(&d[skip..]);
            self.next_seq = Some(s.wrapping_add(d.len() as u32));
        }
    }

    /// Frees held segments once the flow no longer needs reassembly.
    pub fn release(&mut self) {
        self.held = Vec::new();
        self.held_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(a: &mut StreamAssembler, seq: u32, data: &[u8], out: &mut Vec<u8>) -> StreamEvent {
        a.offer(seq, data, &mut |d| out.extend_from_slice(d))
    }

    #[test]
    fn reorders_and_trims_retransmissions() {
        let mut a = StreamAssembler::default();
        a.on_syn(99);
        let mut out = Vec::new();
        assert_eq!(
            collect(&mut a, 103, b"defg", &mut out),
            StreamEvent::Nothing
        );
        assert_eq!(collect(&mut a, 100, b"abc", &mut out), StreamEvent::Ready);
        assert_eq!(
            collect(&mut a, 100, b"abcde", &mut out),
            StreamEvent::Nothing
        );
        assert_eq!(collect(&mut a, 105, b"fgh", &mut out), StreamEvent::Ready);
        assert_eq!(out, b"abcdefgh");
    }

    #[test]
    fn sequence_wraparound() {
        let mut a = StreamAssembler::default();
        a.on_syn(u32::MAX - 1);
        let mut out = Vec::new();
        collect(&mut a, u32::MAX, b"ab", &mut out);
        collect(&mut a, 1, b"cd", &mut out);
        assert_eq!(out, b"abcd");
    }

    #[test]
    fn too_many_held_segments_is_a_gap() {
        let mut a = StreamAssembler::default();
        a.on_syn(0);
        let mut out = Vec::new();
        for i in 0..MAX_OOO_SEGMENTS as u32 {
            collect(&mut a, 100 + i * 10, b"x", &mut out);
        }
        assert_eq!(collect(&mut a, 500, b"y", &mut out), StreamEvent::Gap);
    }

    #[test]
    fn handshake_to_close() {
        let mut fins = [false; 2];
        let s = TcpState::New.next(SYN, true, &mut fins);
        let s = s.next(SYN | ACK, false, &mut fins);
        let s = s.next(ACK, true, &mut fins);
        assert_eq!(s, TcpState::Established);
        let s = s.next(FIN | ACK, true, &mut fins);
        assert_eq!(s, TcpState::FinWait);
        let s = s.next(FIN | ACK, false, &mut fins);
        assert!(s.is_closed());
    }
}
