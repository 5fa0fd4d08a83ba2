//! Flows: the key, the per-flow record (counters, TCP state, handshake
//! times), and the bounded table. Nothing here knows about dissectors or
//! detectors: the table stores whatever slot type its owner (the worker)
//! puts around each [`Flow`], so inspection state lives beside the flow
//! instead of inside it.

use crate::decode::IpProto;
pub mod key;
pub mod table;
pub mod tcp;

pub use key::FlowKey;
pub use table::{EndReason, FlowTable, Tracked};
pub use tcp::{Handshake, TcpState};

use crate::capture::Timestamp;
use crate::decode::Addr;
use crate::decode::ip::tcp_flags;
use crate::decode::tunnel::TunnelKind;

/// Index of the client-to-server direction in per-direction arrays.
pub const TO_SERVER: usize = 0;
/// Index of the server-to-client direction in per-direction arrays.
pub const TO_CLIENT: usize = 1;

/// The outer flow an inner (decapsulated) flow travelled in, as reported in
/// the inner flow's `tunnel_parent`.
#[derive(Clone, Debug)]
pub struct TunnelParent {
    /// The outer flow's `flow_id`.
    pub flow_id: u64,
    /// Outer client address.
    pub src: Addr,
    /// Outer server address.
    pub dst: Addr,
    /// Outer client port (0 when portless).
    pub src_port: u16,
    /// Outer server port.
    pub dst_port: u16,
    /// Outer protocol number.
    pub proto: IpProto,
    /// What encapsulated the inner packet.
    pub kind: TunnelKind,
    /// Nesting depth of the inner flow (1 = directly inside a top-level flow).
    pub depth: u8,
}

/// Everything the engine knows about one bidirectional flow.
pub struct Flow {
    /// Canonical key.
    pub key: FlowKey,
    /// True when the client is `key.lo`.
    pub client_is_lo: bool,
    /// Stable identifier (below 2^51, like Suricata's).
    pub flow_id: u64,
    /// First packet.
    pub first_ts: Timestamp,
    /// Last packet.
    pub last_ts: Timestamp,
    /// Start of the current reporting interval (active timeout).
    pub interval_start: Timestamp,
    /// Packets per direction ([`TO_SERVER`], [`TO_CLIENT`]).
    pub pkts: [u64; 2],
    /// Frame bytes per direction.
    pub bytes: [u64; 2],
    /// Transport payload bytes per direction.
    pub payload_bytes: [u64; 2],
    /// TCP flags seen per direction (ORed).
    pub tcp_flags: [u8; 2],
    /// TCP connection state.
    pub tcp_state: TcpState,
    /// FIN seen per direction.
    pub fin_seen: [bool; 2],
    /// ICMP type and code of the first packet.
    pub icmp: Option<(u8, u8)>,
    /// Set on flows found inside a tunnel.
    pub tunnel: Option<Box<TunnelParent>>,
    /// Interim records written so far (active timeout).
    pub interim_reports: u32,
    /// TCP handshake times, for round-trip measurements.
    pub handshake: Handshake,
}

/// One packet as the flow counts it: which way, how many frames and bytes
/// (several for a reassembled datagram), payload length, TCP flags.
#[derive(Clone, Copy, Debug)]
pub struct Observed {
    /// [`TO_SERVER`] or [`TO_CLIENT`].
    pub dir: usize,
    /// Frames the packet arrived in.
    pub frames: u32,
    /// Bytes of those frames.
    pub frame_bytes: u64,
    /// Transport payload length.
    pub payload_len: usize,
    /// TCP flags (0 for other protocols).
    pub tcp_flags: u8,
    /// Capture time.
    pub ts: Timestamp,
}

impl Flow {
    /// A new flow whose first packet came at `ts`.
    pub fn new(key: FlowKey, client_is_lo: bool, ts: Timestamp) -> Self {
        let mut h = key::Fnv::new();
        h.bytes(&key.digest().to_be_bytes());
        h.bytes(&ts.0.to_be_bytes());
        Flow {
            key,
            client_is_lo,
            flow_id: h.finish() & ((1 << 51) - 1),
            first_ts: ts,
            last_ts: ts,
            interval_start: ts,
            pkts: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            tcp_flags: [0; 2],
            tcp_state: TcpState::New,
            fin_seen: [false; 2],
            icmp: None,
            tunnel: None,
            interim_reports: 0,
            handshake: Handshake::default(),
        }
    }

    /// Counts a packet of this flow: packets, bytes, last time. TCP state
    /// follows with [`Flow::observe_tcp`] (address findings of a new flow
    /// are judged in between, on the state before its first segment).
    pub fn count(&mut self, p: &Observed) {
        let d = p.dir;
        self.pkts[d] += u64::from(p.frames);
        self.bytes[d] += p.frame_bytes;
        self.payload_bytes[d] += p.payload_len as u64;
        if p.ts > self.last_ts {
            self.last_ts = p.ts;
        }
    }

    /// Updates TCP flags, connection state and handshake times.
    pub fn observe_tcp(&mut self, p: &Observed) {
        let d = p.dir;
        if self.key.proto == IpProto::TCP {
            let from_client = d == TO_SERVER;
            self.tcp_flags[d] |= p.tcp_flags;
            self.tcp_state = self
                .tcp_state
                .next(p.tcp_flags, from_client, &mut self.fin_seen);
            self.handshake.observe(p.tcp_flags, from_client, p.ts);
        }
    }

    /// True when a TCP segment with `flags` opens a new connection on this
    /// closed flow's 5-tuple.
    pub fn reused_by(&self, flags: u8) -> bool {
        self.key.proto == IpProto::TCP
            && self.tcp_state.is_closed()
            && flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
    }

    /// Client endpoint.
    pub fn client(&self) -> (Addr, u16) {
        if self.client_is_lo {
            (self.key.lo, self.key.lo_port)
        } else {
            (self.key.hi, self.key.hi_port)
        }
    }

    /// Server endpoint.
    pub fn server(&self) -> (Addr, u16) {
        if self.client_is_lo {
            (self.key.hi, self.key.hi_port)
        } else {
            (self.key.lo, self.key.lo_port)
        }
    }

    /// True once packets went both ways.
    pub fn is_bidirectional(&self) -> bool {
        self.pkts[TO_SERVER] > 0 && self.pkts[TO_CLIENT] > 0
    }

    /// Timeout class: protocol group (TCP, UDP, ICMP, other) × state (new,
    /// established, closed), indexing the table's timeout array.
    pub fn timeout_class(&self) -> u8 {
        let group = match self.key.proto {
            IpProto::TCP => 0,
            IpProto::UDP => 1,
            IpProto::ICMP | IpProto::ICMPV6 => 2,
            _ => 3,
        };
        let state = if self.key.proto == IpProto::TCP {
            match self.tcp_state {
                s if s.is_closed() => 2,
                TcpState::Established | TcpState::FinWait => 1,
                _ if self.is_bidirectional() && self.tcp_flags[TO_SERVER] & 0x02 == 0 => 1,
                _ => 0,
            }
        } else if self.is_bidirectional() {
            1
        } else {
            0
        };
        group * 3 + state
    }

    /// EVE `flow.state`: new, established or closed.
    pub fn state_name(&self) -> &'static str {
        match self.timeout_class() % 3 {
            0 => "new",
            1 => "established",
            _ => "closed",
        }
    }
}
