//! The detection model every detector reports in: what was found, how sure,
//! on what basis, and the evidence an analyst can check.
//!
//! Detectors are plain structs driven by [`engine::FlowDetect`] through an
//! enum-free table of optional states: no trait objects per packet. Each
//! detector sees the flow's first payload packets ([`PacketView`]) and, when
//! the dissectors learn something, the flow's facts ([`FlowFacts`]); it
//! answers with [`Progress`] and stops looking once it has decided.

use crate::decode::IpProto;
pub mod address;
pub mod allow;
pub mod config;
pub mod detector;
pub mod engine;
pub mod names;
pub mod protocol;
pub mod proxy;
pub mod related;
pub mod remote;
pub mod rtt;
pub mod session;
pub mod signature;
#[cfg(test)]
pub(crate) mod testutil;
pub mod tunnel;
pub mod vpn;
mod wire;

use crate::decode::Addr;
use crate::dissect::verdict::Direction;
use crate::dissect::{Dissectors, FlowApp, PacketSummary};
use crate::flow::{Flow, TunnelParent};
use serde::Serialize;
use serde::ser::SerializeMap;

pub use protocol::Protocol;

/// What kind of hiding or remote control a detection is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A VPN tunnel.
    Vpn,
    /// A proxy (SOCKS, HTTP CONNECT, Tor, obfuscating proxies).
    Proxy,
    /// A covert or transition tunnel (DNS/ICMP tunnels, IP-in-IP, Teredo).
    Tunnel,
    /// A remote-desktop or remote-control session.
    RemoteAccess,
    /// The remote side is a hosting/VPS provider.
    Hosting,
    /// The remote side is in a sanctioned region.
    SanctionedRegion,
    /// Evidence that a session is relayed.
    Relay,
}

/// How sure a detection is. A port number alone never exceeds `Low`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Port or name only.
    Low,
    /// Partial structure or behaviour.
    Medium,
    /// Structure verified in one direction, or strong behaviour.
    High,
    /// Protocol structure verified in both directions.
    Certain,
}

impl Confidence {
    /// `Certain` once confirmed (both directions seen, the other side
    /// answered), `High` before.
    pub fn certain_if(confirmed: bool) -> Confidence {
        if confirmed {
            Confidence::Certain
        } else {
            Confidence::High
        }
    }
}

/// What a decision rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Message formats verified.
    Structure,
    /// Sizes, timing, entropy.
    Behaviour,
    /// SNI/DNS/certificate matched a list.
    Name,
    /// An address feed.
    Address,
    /// A port number.
    Port,
}

/// One finding about a flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    /// What was found.
    pub category: Category,
    /// The protocol or tool (written as its lower-case name: `openvpn`,
    /// `wireguard`, `rdp`, ...).
    pub protocol: Protocol,
    /// How sure.
    pub confidence: Confidence,
    /// On what basis.
    pub basis: Basis,
    /// EVE severity: 1 (highest) to 3.
    pub severity: u8,
    /// One sentence an analyst can read.
    pub reason: String,
    /// Facts that support it (names, values, sizes), written as a JSON object.
    pub evidence: Evidence,
    /// Made from data packets alone, the handshake not seen (OpenVPN
    /// `P_DATA_V2`, WireGuard transport, ESP): dropped when
    /// `[detect.vpn] midstream = false`. Not written to output.
    #[serde(skip)]
    pub midstream: bool,
}

impl Detection {
    /// A detection with the default severity of its category and
    /// confidence (see [`default_severity`]) and no evidence yet.
    pub fn new(
        category: Category,
        protocol: Protocol,
        confidence: Confidence,
        basis: Basis,
        reason: impl Into<String>,
    ) -> Self {
        Detection {
            category,
            protocol,
            confidence,
            basis,
            severity: default_severity(category, confidence),
            reason: reason.into(),
            evidence: Evidence::default(),
            midstream: false,
        }
    }

    /// Marks the finding as made without the handshake (builder style):
    /// see [`Detection::midstream`].
    pub fn midstream(mut self) -> Self {
        self.midstream = true;
        self
    }

    /// Adds one piece of evidence (builder style).
    pub fn with(mut self, key: &'static str, value: impl ToString) -> Self {
        self.evidence.push(key, value);
        self
    }
}

/// EVE severity (1 highest) a detection gets unless its detector decides
/// otherwise: sanctioned regions and relays first, VPN/proxy/tunnel/remote
/// access next, hosting last; a low-confidence finding is never above 3.
pub fn default_severity(category: Category, confidence: Confidence) -> u8 {
    if confidence == Confidence::Low {
        return 3;
    }
    match category {
        Category::SanctionedRegion | Category::Relay => 1,
        Category::Vpn | Category::Proxy | Category::Tunnel | Category::RemoteAccess => 2,
        Category::Hosting => 3,
    }
}

/// Key/value evidence, kept in insertion order and written as a JSON object
/// (a repeated key keeps its first value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence(pub Vec<(&'static str, String)>);

/// Longest evidence value kept: values come from packets (names, banners).
pub const MAX_EVIDENCE_VALUE: usize = 256;
/// Evidence entries kept per detection.
pub const MAX_EVIDENCE_ENTRIES: usize = 16;

impl Evidence {
    /// Adds a value, truncated to [`MAX_EVIDENCE_VALUE`] bytes (on a char
    /// boundary); entries beyond [`MAX_EVIDENCE_ENTRIES`] are ignored.
    pub fn push(&mut self, key: &'static str, value: impl ToString) {
        if self.0.len() >= MAX_EVIDENCE_ENTRIES || self.0.iter().any(|(k, _)| *k == key) {
            return;
        }
        let mut v = value.to_string();
        if v.len() > MAX_EVIDENCE_VALUE {
            let mut cut = MAX_EVIDENCE_VALUE;
            while !v.is_char_boundary(cut) {
                cut -= 1;
            }
            v.truncate(cut);
        }
        self.0.push((key, v));
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One payload-carrying packet inside a flow's inspection window, as a
/// packet-level detector sees it. The payload is the packet's own transport
/// payload (a TCP segment as captured, not reassembled; a whole UDP
/// datagram; the bytes after the ICMP header; the IP payload of other
/// protocols such as ESP).
#[derive(Clone, Copy, Debug)]
pub struct PacketView<'a> {
    /// Which way it went.
    pub dir: Direction,
    /// Position among the flow's payload packets (both directions), from 0.
    pub index: u16,
    /// Microseconds since the flow's first packet.
    pub offset_us: u64,
    /// IP protocol (6 TCP, 17 UDP, 1/58 ICMP, 50 ESP, ...).
    pub proto: IpProto,
    /// Client port (0 when portless).
    pub client_port: u16,
    /// Server port (0 when portless).
    pub server_port: u16,
    /// TCP flags (0 for other protocols).
    pub tcp_flags: u8,
    /// ICMP type and code, for ICMP.
    pub icmp: Option<(u8, u8)>,
    /// The payload.
    pub payload: &'a [u8],
}

/// What a flow-level detector may read about a flow: its endpoints, packet
/// summaries, and the dissectors' findings so far.
#[derive(Clone, Copy)]
pub struct FlowFacts<'a> {
    /// IP protocol.
    pub proto: IpProto,
    /// Client address and port.
    pub client: (Addr, u16),
    /// Server address and port.
    pub server: (Addr, u16),
    /// Sizes, directions and timing of the first payload packets.
    pub packets: &'a [PacketSummary],
    /// Dissector states (TLS, QUIC, SSH, HTTP, DNS, SOCKS), when created.
    pub app: Option<&'a Dissectors>,
    /// Name the client resolved for the server's address.
    pub dns_name: Option<&'a str>,
    /// Set on flows inside a tunnel.
    pub tunnel: Option<&'a TunnelParent>,
    /// Packets per direction so far ([to server, to client]).
    pub pkts: [u64; 2],
    /// Frame bytes per direction so far.
    pub bytes: [u64; 2],
    /// Microseconds between the first and the last packet so far.
    pub duration_us: u64,
    /// The client's SYN was seen (TCP): the flow's first payload bytes are
    /// its streams' first bytes, not a segment caught mid-stream. Detectors
    /// that judge "the first byte" of a stream need this.
    pub syn_seen: bool,
}

impl<'a> FlowFacts<'a> {
    /// The facts of a tracked flow and its inspection state.
    pub fn new(flow: &'a Flow, app: &'a FlowApp, dns_name: Option<&'a str>) -> Self {
        FlowFacts {
            proto: flow.key.proto,
            client: flow.client(),
            server: flow.server(),
            packets: &app.packets,
            app: app.dissectors.as_deref(),
            dns_name,
            tunnel: flow.tunnel.as_deref(),
            pkts: flow.pkts,
            bytes: flow.bytes,
            duration_us: flow.last_ts.micros_since(flow.first_ts),
            syn_seen: flow.handshake.syn.is_some(),
        }
    }
}

/// A detector's answer after each look at a flow.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Undecided: keep showing me packets/facts.
    Continue,
    /// Found it; this detector is done with the flow.
    Found(Detection),
    /// Certainly not (or nothing more to learn): stop asking me.
    Stop,
}
