//! Remote Desktop Protocol: the X.224 connection exchange over TCP and the
//! RDP-UDP transport handshake.
//!
//! TCP ([MS-RDPBCGR] 2.2.1.1, 2.2.1.2; TPKT RFC 1006; X.224 ISO 8073): the
//! client's first segment is a TPKT (version 3, big-endian length = the whole
//! PDU) carrying an X.224 Connection Request (code `0xE0`, length indicator =
//! PDU length - 5, destination reference 0), whose user data is an optional
//! `Cookie: mstshash=USER\r\n` (or a load-balancer routing token
//! `Cookie: msts=...\r\n`) followed by an optional `RDP_NEG_REQ` (type 1,
//! length 8, requestedProtocols) and `RDP_NEG_CORRELATION_INFO` (type 6,
//! length 36). Other ISO-transport users (S7comm, ICCP/MMS, T.120) send the
//! same TPKT/CR framing, but with COTP parameters (TSAPs, TPDU size), never
//! the cookie or the RDP negotiation block: one of those two is required and
//! the user data must be consumed exactly. The server answers with a
//! Connection Confirm (`0xD0`) optionally carrying `RDP_NEG_RSP` (type 2,
//! selectedProtocol) or `RDP_NEG_FAILURE` (type 3). Request alone: `High`;
//! request and confirm: `Certain`.
//!
//! UDP ([MS-RDPEUDP] 2.2.2.1, 2.2.2.5, 2.2.3.1): every datagram starts with
//! `RDPUDP_FEC_HEADER` (snSourceAck u32, uReceiveWindowSize u16, uFlags u16,
//! big-endian). The client's SYN has snSourceAck = `0xFFFFFFFF`, the SYN flag,
//! and a `RDPUDP_SYNDATA_PAYLOAD` (snInitialSequenceNumber, uUpStreamMtu,
//! uDownStreamMtu, each MTU 1132..=1232); the server's SYN+ACK acknowledges
//! the client's initial sequence number. Sessions caught after the handshake
//! are recognised by their data datagrams: the ACK vector header and source
//! payload header parse, and each side's snSourceAck names a sequence number
//! the other side sent. SYN + SYN/ACK or acknowledgements matched both ways:
//! `Certain`; a lone SYN: `High` when padded to the 1232 bytes the spec
//! requires, else `Medium`.

use super::{be16, be32, di, found, le16, le32, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::dissect::verdict::Direction;
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

const CR: u8 = 0xE0;
const CC: u8 = 0xD0;

/// What a client's Connection Request carried.
#[derive(Debug, Default, PartialEq)]
struct Request<'a> {
    cookie: Option<&'a [u8]>,
    token: Option<&'a [u8]>,
    requested: Option<u32>,
}

/// The TPKT + X.224 header of a whole PDU: (code, user data).
fn tpkt_x224(b: &[u8]) -> Option<(u8, &[u8])> {
    if b.len() < 11 || b[0] != 3 || b[1] != 0 {
        return None;
    }
    let len = usize::from(be16(b, 2)?);
    if len != b.len() || usize::from(b[4]) + 5 != len {
        return None;
    }
    // Destination reference, source reference (2 each), class option.
    Some((b[5] & 0xF0, &b[11..]))
}

/// Parses an RDP Connection Request; `None` unless it is one.
fn parse_request(b: &[u8]) -> Option<Request<'_>> {
    let (code, mut data) = tpkt_x224(b)?;
    if code != CR || b[6] != 0 || b[7] != 0 {
        return None;
    }
    let mut req = Request::default();
    if let Some(rest) = data.strip_prefix(b"Cookie: ") {
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let value = &rest[..end];
        if let Some(user) = value.strip_prefix(b"mstshash=") {
            req.cookie = Some(user);
        } else if value.starts_with(b"msts=") {
            req.token = Some(value);
        } else {
            return None;
        }
        data = &rest[end + 2..];
    }
    if data.len() >= 8 && data[0] == 1 && le16(data, 2)? == 8 {
        req.requested = Some(le32(data, 4)?);
        let flags = data[1];
        data = &data[8..];
        // CORRELATION_INFO_PRESENT: a 36-byte RDP_NEG_CORRELATION_INFO.
        if flags & 0x08 != 0 && data.len() == 36 && data[0] == 6 && le16(data, 2)? == 36 {
            data = &[];
        }
    }
    if !data.is_empty() || (req.cookie.is_none() && req.token.is_none() && req.requested.is_none())
    {
        return None;
    }
    Some(req)
}

/// What the server's Connection Confirm says: `Some(None)` for a plain
/// confirm, `Some(Some((type, value)))` with a negotiation response.
fn parse_confirm(b: &[u8]) -> Option<Option<(u8, u32)>> {
    let (code, data) = tpkt_x224(b)?;
    if code != CC {
        return None;
    }
    match data.len() {
        0 => Some(None),
        8 if (data[0] == 2 || data[0] == 3) && le16(data, 2)? == 8 => {
            Some(Some((data[0], le32(data, 4)?)))
        }
        _ => None,
    }
}

/// Security protocol bits of requestedProtocols/selectedProtocol
/// ([MS-RDPBCGR] 2.2.1.1.1).
fn protocols(v: u32) -> String {
    if v == 0 {
        return "rdp".into();
    }
    const NAMES: [(u32, &str); 6] = [
        (1, "tls"),
        (2, "credssp"),
        (4, "rdstls"),
        (8, "credssp_early_auth"),
        (0x10, "rdsaad"),
        (0, ""),
    ];
    let mut s = String::new();
    for (bit, name) in NAMES {
        if bit != 0 && v & bit != 0 {
            if !s.is_empty() {
                s.push('|');
            }
            s.push_str(name);
        }
    }
    if v & !0x1F != 0 {
        s.push_str(&format!("|0x{:x}", v & !0x1F));
    }
    s
}

/// RDP over TCP: the X.224 connection exchange.
#[derive(Debug, Default)]
pub struct RdpTcp {
    /// Decided.
    done: bool,
    /// The client's request verified (the finding is kept for the confirm).
    request: Option<Box<Detection>>,
}

impl Detector for RdpTcp {
    detector_head! { ctx: super::RemoteCtx, protocol: Rdp, transports: [TCP], done: done }

    /// Reads the first payload in each direction.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        match (p.dir, self.request.take()) {
            (Direction::ToServer, None) => {
                let Some(req) = parse_request(p.payload) else {
                    self.done = true;
                    return;
                };
                let mut d = found(
                    Protocol::Rdp,
                    Confidence::High,
                    Basis::Structure,
                    "RDP X.224 Connection Request with the RDP cookie/negotiation block",
                );
                if let Some(u) = req.cookie {
                    d = d.with("cookie_user", text(u));
                }
                if let Some(t) = req.token {
                    d = d.with("routing_token", text(t));
                }
                if let Some(r) = req.requested {
                    d = d.with("requested_protocols", protocols(r));
                }
                out.push(d.clone());
                self.request = Some(Box::new(d));
            }
            (Direction::ToClient, Some(mut d)) => {
                self.done = true;
                let Some(neg) = parse_confirm(p.payload) else {
                    return;
                };
                d.confidence = Confidence::Certain;
                d.reason =
                    "RDP X.224 Connection Request and the server's Connection Confirm".into();
                match neg {
                    Some((2, v)) => d.evidence.push("selected_protocol", protocols(v)),
                    Some((_, code)) => d.evidence.push("negotiation_failure", code),
                    None => d.evidence.push("selected_protocol", "rdp (no negotiation)"),
                }
                out.push(*d);
            }
            (Direction::ToClient, None) => self.done = true,
            (Direction::ToServer, Some(d)) => {
                // A second client segment before the confirm: keep waiting.
                self.request = Some(d);
            }
        }
    }
}


const SYN: u16 = 0x0001;
const ACK: u16 = 0x0004;
const DATA: u16 = 0x0008;
const FEC: u16 = 0x0010;
const AOA: u16 = 0x0100;
const CORRELATION_ID: u16 = 0x0800;
const SYNEX: u16 = 0x1000;
/// Every flag [MS-RDPEUDP] 2.2.2.1 defines.
const KNOWN_FLAGS: u16 = 0x1FFF;

/// A data/ack datagram's sequence fields: (snSourceAck, snSourceStart if DATA).
fn parse_data(b: &[u8]) -> Option<(u32, Option<u32>)> {
    let ack = be32(b, 0)?;
    let flags = be16(b, 6)?;
    if flags & !KNOWN_FLAGS != 0 || flags & SYN != 0 || flags & ACK == 0 {
        return None;
    }
    // RDPUDP_ACK_VECTOR_HEADER: size, elements, padding to 4 bytes.
    let n = usize::from(be16(b, 8)?);
    if n > 2048 {
        return None;
    }
    let mut at = 8 + ((2 + n + 3) & !3);
    if flags & AOA != 0 {
        at += 4;
    }
    if b.len() < at {
        return None;
    }
    if flags & DATA != 0 && flags & FEC == 0 {
        // RDPUDP_SOURCE_PAYLOAD_HEADER: snCoded, snSourceStart, then data.
        let coded = be32(b, at)?;
        let start = be32(b, at + 4)?;
        if coded != start || b.len() <= at + 8 {
            return None;
        }
        return Some((ack, Some(start)));
    }
    Some((ack, None))
}

/// SYN datagram fields: (flags, ack, initial sequence number, up MTU, down MTU).
fn parse_syn(b: &[u8]) -> Option<(u16, u32, u32, u16, u16)> {
    let ack = be32(b, 0)?;
    let flags = be16(b, 6)?;
    if flags & !KNOWN_FLAGS != 0 || flags & SYN == 0 {
        return None;
    }
    let (isn, up, down) = (be32(b, 8)?, be16(b, 12)?, be16(b, 14)?);
    let mtu = 1132..=1232;
    if !mtu.contains(&up) || !mtu.contains(&down) {
        return None;
    }
    Some((flags, ack, isn, up, down))
}

/// The RDP-UDP version a SYNEX payload announces, if any.
fn syn_version(b: &[u8], flags: u16) -> Option<u16> {
    if flags & SYNEX == 0 {
        return None;
    }
    let at = 16 + if flags & CORRELATION_ID != 0 { 32 } else { 0 };
    be16(b, at + 2)
}

fn version_name(v: u16) -> String {
    match v {
        1 => "1".into(),
        2 => "2".into(),
        0x101 => "3 (RDP-UDP2)".into(),
        v => format!("0x{v:x}"),
    }
}

/// RDP over UDP ([MS-RDPEUDP]).
#[derive(Debug, Default)]
pub struct RdpUdp {
    /// Decided.
    done: bool,
    /// The client's SYN: initial sequence number.
    isn: Option<u32>,
    /// Last source sequence numbers each side sent (small ring).
    sent: [[Option<u32>; 4]; 2],
    /// Each side acknowledged a number the other side sent.
    matched: [bool; 2],
    datagrams: u8,
}

impl Detector for RdpUdp {
    detector_head! { ctx: super::RemoteCtx, protocol: Rdp, transports: [UDP], done: done }

    /// Reads each datagram of the window.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let b = p.payload;
        let d = di(p.dir);
        self.datagrams = self.datagrams.saturating_add(1);
        if self.datagrams == 1
            && let Some((flags, ack, isn, up, down)) = parse_syn(b)
                && p.dir == Direction::ToServer && ack == u32::MAX && flags & ACK == 0 {
                    self.isn = Some(isn);
                    let padded = b.len() >= 1232;
                    let mut det = found(
                        Protocol::Rdp,
                        if padded {
                            Confidence::High
                        } else {
                            Confidence::Medium
                        },
                        Basis::Structure,
                        "RDP-UDP SYN datagram (MS-RDPEUDP)",
                    )
                    .with("transport", "udp")
                    .with("mtu", format!("{up}/{down}"));
                    if let Some(v) = syn_version(b, flags) {
                        det = det.with("rdpudp_version", version_name(v));
                    }
                    out.push(det);
                    return;
                }
        if let Some(isn) = self.isn {
            if let Some((flags, ack, _, up, down)) = parse_syn(b)
                && p.dir == Direction::ToClient && flags & ACK != 0 && ack == isn {
                    let mut det = found(
                        Protocol::Rdp,
                        Confidence::Certain,
                        Basis::Structure,
                        "RDP-UDP SYN and the server's SYN+ACK acknowledging its sequence number",
                    )
                    .with("transport", "udp")
                    .with("mtu", format!("{up}/{down}"));
                    if let Some(v) = syn_version(b, flags) {
                        det = det.with("rdpudp_version", version_name(v));
                    }
                    out.push(det);
                    self.done = true;
                    return;
                }
            if self.datagrams > 8 {
                self.done = true;
            }
            return;
        }
        // Caught after the handshake: data and ack datagrams.
        let Some((ack, start)) = parse_data(b) else {
            self.done = true;
            return;
        };
        if let Some(s) = start {
            let ring = &mut self.sent[d];
            ring.rotate_right(1);
            ring[0] = Some(s);
        }
        if self.sent[1 - d].iter().flatten().any(|&s| s == ack) {
            self.matched[d] = true;
        }
        if self.matched == [true, true] {
            self.done = true;
            out.push(
                found(
                    Protocol::Rdp,
                    Confidence::Certain,
                    Basis::Structure,
                    "RDP-UDP data datagrams: each side acknowledges the other's sequence numbers",
                )
                .with("transport", "udp")
                .with("handshake", "not captured")
                .with("datagrams_checked", self.datagrams),
            );
        } else if self.datagrams >= 16 {
            self.done = true;
        }
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    // rdp_over_tls.pcap frame 4 (client) and frame 5 (server).
    const CR_FRAME4: &str = "0300002f2ae00000000000436f6f6b69653a206d737473686173683d574465706c6f7941640d0a0100080003000000";
    const CC_FRAME5: &str = "030000130ed00000123400021f080002000000";

    #[test]
    fn rdp_tcp_request_and_confirm() {
        let (a, b) = (hex(CR_FRAME4), hex(CC_FRAME5));
        let mut r = RdpTcp::default();
        let mut out = Vec::new();
        send(&mut r, 6, C, 0, &a, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, Confidence::High);
        assert_eq!(out[0].evidence.get("cookie_user"), Some("WDeployAd"));
        assert_eq!(
            out[0].evidence.get("requested_protocols"),
            Some("tls|credssp")
        );
        send(&mut r, 6, S, 1, &b, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert_eq!(out[1].evidence.get("selected_protocol"), Some("credssp"));
        assert!(r.done);
    }

    #[test]
    fn s7comm_cotp_request_is_not_rdp() {
        // TPKT + COTP CR with TSAP parameters (S7comm connection setup, the
        // shape every ISO-on-TCP PLC client sends).
        let s7 = hex("0300001611e00000000100c0010ac1020100c2020102");
        assert!(parse_request(&s7).is_none());
        let mut r = RdpTcp::default();
        let mut out = Vec::new();
        send(&mut r, 6, C, 0, &s7, &mut out);
        assert!(out.is_empty() && r.done);
    }

    #[test]
    fn truncated_and_hostile_inputs() {
        let a = hex(CR_FRAME4);
        for n in 0..a.len() {
            assert!(parse_request(&a[..n]).is_none());
        }
        assert!(parse_confirm(&hex("0300000b06d0")).is_none());
        assert!(parse_data(&[0xff; 7]).is_none());
    }

    // rdp2.pcap frames 33 (client SYN, first 80 bytes of 1232) and 34 (server SYN+ACK).
    const SYN33: &str = "ffffffff00401a019fd6752b04d004d072b53b847b4a475db6ab6b2304020000000000000000000000000000000000000001000271bbbe88943e5821d391e6900e227ca1d7c731adc4417ed18fc1d19e82d6d20d0";
    const SYNACK34: &str =
        "9fd6752b00401005c76d5c1704d004d00001000200000000000000000000000000000000";

    #[test]
    fn rdp_udp_handshake() {
        let mut a = hex(SYN33);
        a.resize(1232, 0);
        let b = hex(SYNACK34);
        let mut r = RdpUdp::default();
        let mut out = Vec::new();
        send(&mut r, 17, C, 0, &a, &mut out);
        assert_eq!(out[0].confidence, Confidence::High);
        assert_eq!(out[0].evidence.get("rdpudp_version"), Some("2"));
        send(&mut r, 17, S, 1, &b, &mut out);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert!(r.done);
    }

    // rdp2.pcap frames 7-9: a session whose SYN was not captured.
    #[test]
    fn rdp_udp_midstream() {
        let f7 = hex("109760330400000c00010000e65f846de65f846d1603030106100001020100a38eca15");
        let f8 = hex("e65f846d00c8000c00010100109760341097603414030300010116030300280000");
        let f9 = hex("109760340400000c00010100e65f846ee65f846e1703030034000000000000000153");
        let mut r = RdpUdp::default();
        let mut out = Vec::new();
        send(&mut r, 17, C, 0, &f7, &mut out);
        send(&mut r, 17, S, 1, &f8, &mut out);
        assert!(out.is_empty());
        send(&mut r, 17, C, 2, &f9, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, Confidence::Certain);
    }

    #[test]
    fn quake_style_query_is_not_rdp_udp() {
        let q = b"\xff\xff\xff\xffTSource Engine Query\0";
        let mut r = RdpUdp::default();
        let mut out = Vec::new();
        send(&mut r, 17, C, 0, q, &mut out);
        assert!(out.is_empty() && r.done);
    }
}
