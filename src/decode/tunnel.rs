//! Encapsulations whose inner packets become flows of their own: IP-in-IP
//! (4in4, 6in4, 4in6, 6in6), GRE over IP and over UDP (RFC 2784/2890/8086,
//! with PPTP's enhanced GRE, Ethernet bridging, ERSPAN I/II/III and NHRP:
//! see [`super::gre`]), L2TP (v2 PPP, v3 Ethernet over UDP and IP: see
//! [`super::l2tp`]), GTP-U (3GPP TS 29.281), VXLAN (RFC 7348), Geneve
//! (RFC 8926), CAPWAP data (RFC 5415, 802.3 and 802.11 payloads), Teredo
//! (RFC 4380) and AYIYA (see [`super::v6udp`]).
//!
//! Cost on the common path: a UDP datagram on no tunnel port is looked at
//! for Teredo and AYIYA structure, which rejects on its first bytes.

use super::DecodeError;
use super::ip::{IpProto, L4, Packet};
use super::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};

/// The kind of encapsulation, as written in `tunnel_parent.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TunnelKind {
    /// IPv4 in IPv4 (protocol 4).
    IpInIp,
    /// IPv6 in IPv4 (protocol 41).
    SixInFour,
    /// IPv4 in IPv6 (protocol 4).
    FourInSix,
    /// IPv6 in IPv6 (protocol 41).
    SixInSix,
    /// Generic Routing Encapsulation.
    Gre,
    /// PPTP's enhanced GRE carrying PPP.
    PptpGre,
    /// GTP user plane.
    GtpU,
    /// VXLAN.
    Vxlan,
    /// Geneve.
    Geneve,
    /// CAPWAP data channel.
    Capwap,
    /// Teredo (IPv6 over UDP/IPv4).
    Teredo,
    /// GRE in UDP (RFC 8086).
    GreUdp,
    /// ERSPAN (mirrored frames in GRE).
    Erspan,
    /// AYIYA (IPv6 over UDP, SixXS and others).
    Ayiya,
    /// L2TPv2 data (PPP over UDP).
    L2tp,
    /// L2TPv3 Ethernet pseudowire (over UDP or IP protocol 115).
    L2tpv3,
}

impl TunnelKind {
    /// Lower-case name used in events.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::IpInIp => "ipip",
            TunnelKind::SixInFour => "6in4",
            TunnelKind::FourInSix => "4in6",
            TunnelKind::SixInSix => "6in6",
            TunnelKind::Gre => "gre",
            TunnelKind::PptpGre => "pptp_gre",
            TunnelKind::GtpU => "gtp_u",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Capwap => "capwap",
            TunnelKind::Teredo => "teredo",
            TunnelKind::GreUdp => "gre_udp",
            TunnelKind::Erspan => "erspan",
            TunnelKind::Ayiya => "ayiya",
            TunnelKind::L2tp => "l2tp",
            TunnelKind::L2tpv3 => "l2tpv3",
        }
    }
}

/// How the inner packet starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InnerStart {
    /// An IP header with this EtherType (IPv4/IPv6).
    Ip(u16),
    /// An Ethernet frame.
    Ethernet,
    /// A tunnel header that checked out, carrying no inner packet (NHRP in
    /// GRE): the outer flow is a verified tunnel, nothing is decapsulated.
    Opaque,
}

/// The encapsulated packet found in an outer packet's payload.
#[derive(Clone, Copy, Debug)]
pub struct Inner<'a> {
    /// What carried it.
    pub kind: TunnelKind,
    /// How `data` starts.
    pub start: InnerStart,
    /// The inner bytes.
    pub data: &'a [u8],
}

/// The IP packet inside an outer packet: the one decapsulation step both
/// the worker and the DNS-name learner take (an Ethernet inner frame is
/// looked through to its IP header).
#[derive(Clone, Copy, Debug)]
pub struct InnerIp<'a> {
    /// What carried it.
    pub kind: TunnelKind,
    /// The inner frame's Ethernet header decoded (TEB, VXLAN, Geneve ...).
    pub link_ok: bool,
    /// The inner IP bytes, or why there are none (`NotIp` for an inner
    /// Ethernet frame that carries something else).
    pub ip: Result<&'a [u8], DecodeError>,
}

impl InnerIp<'_> {
    /// True when the inner headers decode, so the outer flow really is a
    /// tunnel: the inner link header, or else the inner IP header.
    pub fn verified(&self) -> bool {
        self.link_ok || self.ip.is_ok_and(|d| crate::decode::ip::parse(d).is_ok())
    }
}

/// Decapsulates one layer: the IP packet `p` carries, if any.
pub fn inner_ip<'a>(p: &Packet<'a>) -> Result<Option<InnerIp<'a>>, DecodeError> {
    let Some(i) = inner(p)? else {
        return Ok(None);
    };
    let (link_ok, ip) = match i.start {
        InnerStart::Ip(_) => (false, Ok(i.data)),
        InnerStart::Opaque => (true, Err(DecodeError::NotIp)),
        InnerStart::Ethernet => match crate::decode::link::ethernet(i.data) {
            Ok(n)
                if n.ethertype == crate::decode::link::ETHERTYPE_IPV4
                    || n.ethertype == crate::decode::link::ETHERTYPE_IPV6 =>
            {
                (true, Ok(n.data))
            }
            Ok(_) => (true, Err(DecodeError::NotIp)),
            Err(e) => (false, Err(e)),
        },
    };
    Ok(Some(InnerIp {
        kind: i.kind,
        link_ok,
        ip,
    }))
}

/// UDP port of GTP-U.
const GTP_U_PORT: u16 = 2152;
/// UDP port of VXLAN (IANA).
const VXLAN_PORT: u16 = 4789;
/// UDP port of Geneve (IANA).
const GENEVE_PORT: u16 = 6081;
/// UDP port of the CAPWAP data channel.
const CAPWAP_DATA_PORT: u16 = 5247;
/// UDP port of Teredo servers.
const TEREDO_PORT: u16 = 3544;
/// UDP port of GRE-in-UDP (RFC 8086 3.1; 4755 is its DTLS form, opaque).
const GRE_UDP_PORT: u16 = 4754;
/// UDP port of L2TP (RFC 2661, RFC 3931).
const L2TP_PORT: u16 = 1701;

/// Looks for an encapsulated packet. `Ok(None)` means "not a tunnel" (or a
/// tunnel whose payload is not IP, e.g. PPTP's encrypted PPP frames, or an
/// L2TP control message).
pub fn inner<'a>(p: &Packet<'a>) -> Result<Option<Inner<'a>>, DecodeError> {
    match p.l4 {
        L4::Other { payload } => match p.proto {
            IpProto::IPIP | IpProto::IPV6 => {
                // (inner IPv6, outer IPv6)
                let inner_v6 = p.proto == IpProto::IPV6;
                let kind = match (inner_v6, p.src.v6) {
                    (false, false) => TunnelKind::IpInIp,
                    (false, true) => TunnelKind::FourInSix,
                    (true, false) => TunnelKind::SixInFour,
                    (true, true) => TunnelKind::SixInSix,
                };
                let ethertype = if inner_v6 {
                    ETHERTYPE_IPV6
                } else {
                    ETHERTYPE_IPV4
                };
                Ok(Some(Inner {
                    kind,
                    start: InnerStart::Ip(ethertype),
                    data: payload,
                }))
            }
            IpProto::GRE => super::gre::gre(payload, TunnelKind::Gre),
            IpProto::L2TP => Ok(super::l2tp::over_ip(payload)),
            _ => Ok(None),
        },
        L4::Udp {
            src_port,
            dst_port,
            payload,
        } => {
            let either = |port| src_port == port || dst_port == port;
            if either(GTP_U_PORT) {
                gtp_u(payload)
            } else if either(VXLAN_PORT) {
                vxlan(payload)
            } else if either(GENEVE_PORT) {
                geneve(payload)
            } else if either(CAPWAP_DATA_PORT) {
                capwap(payload)
            } else if either(GRE_UDP_PORT) {
                super::gre::gre(payload, TunnelKind::GreUdp)
            } else if either(L2TP_PORT) {
                Ok(super::l2tp::over_udp(payload))
            } else if either(TEREDO_PORT) {
                Ok(super::v6udp::teredo(payload, true))
            } else {
                // Relays and servers on other ports: by structure only.
                Ok(super::v6udp::teredo(payload, false).or_else(|| super::v6udp::ayiya(payload)))
            }
        }
        _ => Ok(None),
    }
}

fn gtp_u(b: &[u8]) -> Result<Option<Inner<'_>>, DecodeError> {
    let h = b.get(..8).ok_or(DecodeError::TunnelInvalid)?;
    let flags = h[0];
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        return Err(DecodeError::TunnelInvalid); // not GTPv1 with PT=1
    }
    if h[1] != 0xff {
        return Ok(None); // echo, error indication, end marker: no user packet
    }
    let mut off = 8usize;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number, next extension header type.
        let mut next = *b.get(off + 3).ok_or(DecodeError::TunnelInvalid)?;
        off += 4;
        let mut hops = 0;
        while next != 0 {
            hops += 1;
            if hops > 8 {
                return Err(DecodeError::TunnelInvalid);
            }
            let units = *b.get(off).ok_or(DecodeError::TunnelInvalid)? as usize;
            if units == 0 {
                return Err(DecodeError::TunnelInvalid);
            }
            off += units * 4;
            next = *b.get(off - 1).ok_or(DecodeError::TunnelInvalid)?;
        }
    }
    let data = b.get(off..).ok_or(DecodeError::TunnelInvalid)?;
    Ok(ip_version(data).map(|ethertype| Inner {
        kind: TunnelKind::GtpU,
        start: InnerStart::Ip(ethertype),
        data,
    }))
}

fn ip_version(data: &[u8]) -> Option<u16> {
    match data.first()? >> 4 {
        4 => Some(ETHERTYPE_IPV4),
        6 => Some(ETHERTYPE_IPV6),
        _ => None,
    }
}

fn vxlan(b: &[u8]) -> Result<Option<Inner<'_>>, DecodeError> {
    let h = b.get(..8).ok_or(DecodeError::TunnelInvalid)?;
    if h[0] & 0x08 == 0 {
        return Err(DecodeError::TunnelInvalid); // VNI not valid
    }
    Ok(Some(Inner {
        kind: TunnelKind::Vxlan,
        start: InnerStart::Ethernet,
        data: &b[8..],
    }))
}

/// RFC 8926 3.4: version 0, option length in 4-byte words, protocol type
/// (an EtherType: 0x6558 for Ethernet, or IPv4/IPv6).
fn geneve(b: &[u8]) -> Result<Option<Inner<'_>>, DecodeError> {
    let h = b.get(..8).ok_or(DecodeError::TunnelInvalid)?;
    if h[0] >> 6 != 0 {
        return Err(DecodeError::TunnelInvalid);
    }
    let opt_len = (h[0] & 0x3f) as usize * 4;
    let data = b.get(8 + opt_len..).ok_or(DecodeError::TunnelInvalid)?;
    let start = match u16::from_be_bytes([h[2], h[3]]) {
        0x6558 => InnerStart::Ethernet,
        t @ (ETHERTYPE_IPV4 | ETHERTYPE_IPV6) => InnerStart::Ip(t),
        _ => return Ok(None),
    };
    Ok(Some(Inner {
        kind: TunnelKind::Geneve,
        start,
        data,
    }))
}

fn capwap(b: &[u8]) -> Result<Option<Inner<'_>>, DecodeError> {
    let h = b.get(..8).ok_or(DecodeError::TunnelInvalid)?;
    if h[0] != 0 {
        return Ok(None); // DTLS-protected (type 1) or unknown preamble
    }
    let hlen = (h[1] >> 3) as usize * 4;
    let wbid = (h[2] >> 1) & 0x1f;
    let native = h[2] & 0x01 != 0;
    let fragment = h[3] & 0x80 != 0;
    if hlen < 8 {
        return Err(DecodeError::TunnelInvalid);
    }
    if fragment {
        return Ok(None);
    }
    let payload = b.get(hlen..).ok_or(DecodeError::TunnelInvalid)?;
    if !native {
        return Ok(Some(Inner {
            kind: TunnelKind::Capwap,
            start: InnerStart::Ethernet,
            data: payload,
        }));
    }
    if wbid != 1 {
        return Ok(None);
    }
    Ok(ieee80211_data(payload).map(|(ethertype, data)| Inner {
        kind: TunnelKind::Capwap,
        start: InnerStart::Ip(ethertype),
        data,
    }))
}

/// An 802.11 data frame's LLC/SNAP payload (IEEE 802.11-2020 9.3.2.1).
/// Cisco controllers send the frame-control field byte-swapped (Wireshark's
/// "Cisco Wireless Controller Support" preference), so both orders are tried;
/// the LLC/SNAP check that follows keeps a wrong guess from decoding.
fn ieee80211_data(b: &[u8]) -> Option<(u16, &[u8])> {
    let (a, c) = (*b.first()?, *b.get(1)?);
    let is_ip = |(t, _): &(u16, &[u8])| matches!(*t, ETHERTYPE_IPV4 | ETHERTYPE_IPV6);
    (super::wifi::body(b, a, c, false).ok().filter(is_ip))
        .or_else(|| super::wifi::body(b, c, a, false).ok().filter(is_ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;

    fn outer(proto: u8, l4: L4<'_>) -> Packet<'_> {
        Packet {
            src: Addr::v4([1, 2, 3, 4]),
            dst: Addr::v4([5, 6, 7, 8]),
            proto: IpProto(proto),
            l4,
        }
    }

    /// An outer UDP datagram between the test addresses.
    fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Packet<'_> {
        let l4 = L4::Udp {
            src_port,
            dst_port,
            payload,
        };
        outer(17, l4)
    }

    #[test]
    fn gtp_u_with_extension_header() {
        // TS 29.281 5.1: flags 0x34 (v1, PT, E), G-PDU, length, TEID,
        // seq(2) npdu(1) next=0x85, ext: len 1, 2 bytes content, next 0.
        let mut b = vec![0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0];
        b.push(0x45);
        let p = udp(2152, 2152, &b);
        let i = inner(&p).unwrap().unwrap();
        assert_eq!(i.kind, TunnelKind::GtpU);
        assert_eq!(i.data, &[0x45]);
    }

    #[test]
    fn vxlan_carries_ethernet() {
        let b = [0x08, 0, 0, 0, 0, 0, 1, 0, 0xaa];
        let p = udp(50000, 4789, &b);
        let i = inner(&p).unwrap().unwrap();
        assert_eq!(i.start, InnerStart::Ethernet);
        assert_eq!(i.data, &[0xaa]);
    }

    #[test]
    fn teredo_requires_consistent_ipv6() {
        let mut b = vec![0x60, 0, 0, 0, 0, 2, 59, 64];
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&[1, 2]);
        let p = udp(3544, 40000, &b);
        assert_eq!(inner(&p).unwrap().unwrap().kind, TunnelKind::Teredo);
        b.push(0);
        let p = udp(3544, 40000, &b);
        assert!(inner(&p).unwrap().is_none());
    }
}
