//! IPv4/IPv6 and transport headers, parsed with etherparse over borrowed bytes.

use super::DecodeError;
use etherparse::LaxIpSlice;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP address as one integer, so keys hash and compare in one operation.
/// IPv4 addresses sit in the low 32 bits with `v6 == false`, so an IPv4 flow
/// never collides with an IPv4-mapped IPv6 one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Addr {
    /// The address bits (IPv4 in the low 32 bits).
    pub bits: u128,
    /// True for IPv6.
    pub v6: bool,
}

impl Addr {
    /// From IPv4 octets.
    pub fn v4(o: [u8; 4]) -> Self {
        Addr {
            bits: u32::from_be_bytes(o) as u128,
            v6: false,
        }
    }

    /// From IPv6 octets.
    pub fn v6(o: [u8; 16]) -> Self {
        Addr {
            bits: u128::from_be_bytes(o),
            v6: true,
        }
    }

    /// The standard-library address, for output and enrichment.
    pub fn ip(self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.bits))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.bits as u32))
        }
    }

    /// Network-order bytes as they appear on the wire (4 or 16).
    pub fn write_octets(self, out: &mut Vec<u8>) {
        if self.v6 {
            out.extend_from_slice(&self.bits.to_be_bytes());
        } else {
            out.extend_from_slice(&(self.bits as u32).to_be_bytes());
        }
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Addr::v4(a.octets()),
            IpAddr::V6(a) => Addr::v6(a.octets()),
        }
    }
}

/// TCP flag bits as in the header's 13th byte (CWR..FIN).
pub mod tcp_flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;
    /// URG
    pub const URG: u8 = 0x20;
    /// ECE
    pub const ECE: u8 = 0x40;
    /// CWR
    pub const CWR: u8 = 0x80;
}

/// The transport layer of a packet.
#[derive(Clone, Copy, Debug)]
pub enum L4<'a> {
    /// TCP segment.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Flag byte (see [`tcp_flags`]).
        flags: u8,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Segment payload.
        payload: &'a [u8],
    },
    /// UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Datagram payload.
        payload: &'a [u8],
    },
    /// ICMP or ICMPv6 message.
    Icmp {
        /// Message type.
        icmp_type: u8,
        /// Message code.
        code: u8,
        /// Bytes after the 4-byte type/code/checksum header.
        payload: &'a [u8],
    },
    /// SCTP (RFC 9260 3.1), DCCP (RFC 4340 5.1) or UDP-Lite (RFC 3828):
    /// protocols whose headers start with two ports, which key their flows.
    Ported {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Everything after the two ports (header rest and payload).
        payload: &'a [u8],
    },
    /// Any other protocol (GRE, ESP, AH, ...): the IP payload as is.
    Other {
        /// The IP payload.
        payload: &'a [u8],
    },
}

impl<'a> L4<'a> {
    /// Ports, or zeros for portless protocols.
    pub fn ports(&self) -> (u16, u16) {
        match *self {
            L4::Tcp {
                src_port, dst_port, ..
            }
            | L4::Udp {
                src_port, dst_port, ..
            }
            | L4::Ported {
                src_port, dst_port, ..
            } => (src_port, dst_port),
            _ => (0, 0),
        }
    }

    /// Application payload (for portless protocols, everything after the IP header).
    pub fn payload(&self) -> &'a [u8] {
        match *self {
            L4::Tcp { payload, .. }
            | L4::Udp { payload, .. }
            | L4::Icmp { payload, .. }
            | L4::Ported { payload, .. }
            | L4::Other { payload } => payload,
        }
    }
}

/// An IP protocol number (IANA "Assigned Internet Protocol Numbers"): the
/// transport after the IP header and its extension headers. A newtype, so
/// protocol tests read as names and an unknown number is still a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpProto(pub u8);

impl IpProto {
    /// ICMP (RFC 792).
    pub const ICMP: IpProto = IpProto(1);
    /// IPv4 in IP (RFC 2003).
    pub const IPIP: IpProto = IpProto(4);
    /// TCP (RFC 9293).
    pub const TCP: IpProto = IpProto(6);
    /// UDP (RFC 768).
    pub const UDP: IpProto = IpProto(17);
    /// IPv6 in IP (RFC 4213).
    pub const IPV6: IpProto = IpProto(41);
    /// GRE (RFC 2784).
    pub const GRE: IpProto = IpProto(47);
    /// IPsec ESP (RFC 4303).
    pub const ESP: IpProto = IpProto(50);
    /// IPsec AH (RFC 4302).
    pub const AH: IpProto = IpProto(51);
    /// ICMPv6 (RFC 4443).
    pub const ICMPV6: IpProto = IpProto(58);
    /// No next header (RFC 8200).
    pub const NO_NEXT: IpProto = IpProto(59);
    /// L2TPv3 directly over IP (RFC 3931 4.1.1).
    pub const L2TP: IpProto = IpProto(115);
    /// SCTP (RFC 9260).
    pub const SCTP: IpProto = IpProto(132);

    /// True for ICMP and ICMPv6.
    pub fn is_icmp(self) -> bool {
        self == Self::ICMP || self == Self::ICMPV6
    }

    /// True for transports with port numbers (TCP, UDP, SCTP, DCCP, UDP-Lite).
    pub fn has_ports(self) -> bool {
        matches!(self.0, 6 | 17 | 132 | 33 | 136)
    }
}
/// A decoded IP packet with its transport layer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Source address.
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// IP protocol number of the transport (after extension headers).
    pub proto: IpProto,
    /// Transport header and payload.
    pub l4: L4<'a>,
}

/// Identity and position of one fragment, for reassembly.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    /// Source address.
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// Protocol of the fragmented payload.
    pub proto: u8,
    /// Identification field (IPv4 16 bits, IPv6 32 bits).
    pub id: u32,
    /// Byte offset of `data` in the original payload.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// This fragment's share of the payload.
    pub data: &'a [u8],
}

/// What an IP header turned out to hold.
#[derive(Debug)]
pub enum IpLayer<'a> {
    /// A whole datagram.
    Whole(Packet<'a>),
    /// One fragment of a larger datagram.
    Fragment(Fragment<'a>),
}

/// Parses an IPv4 or IPv6 header (options and extension headers included),
/// laxly: a packet cut short by the snap length still yields what it has.
pub fn parse(data: &[u8]) -> Result<IpLayer<'_>, DecodeError> {
    if let Some(whole) = plain_ipv4(data) {
        return whole;
    }
    let (ip, _ext_err) = LaxIpSlice::from_slice(data).map_err(|_| DecodeError::IpInvalid)?;
    let (src, dst) = match &ip {
        LaxIpSlice::Ipv4(v4) => (
            Addr::v4(v4.header().source()),
            Addr::v4(v4.header().destination()),
        ),
        LaxIpSlice::Ipv6(v6) => (
            Addr::v6(v6.header().source()),
            Addr::v6(v6.header().destination()),
        ),
    };
    let payload = ip.payload();
    let proto = payload.ip_number.0;
    if payload.fragmented {
        let (id, offset, more) = match &ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                (
                    h.identification() as u32,
                    h.fragments_offset().byte_offset() as u32,
                    h.more_fragments(),
                )
            }
            LaxIpSlice::Ipv6(_) => {
                // RFC 8200 4.5: next header, reserved, offset (13 bits) +
                // 2 reserved + M, identification.
                let f = v6_extension_at(data, IPV6_FRAGMENT)
                    .and_then(|at| data.get(at..at + 8))
                    .ok_or(DecodeError::IpInvalid)?;
                let off_flags = u16::from_be_bytes([f[2], f[3]]);
                (
                    u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                    u32::from(off_flags & 0xfff8),
                    off_flags & 1 == 1,
                )
            }
        };
        // A first fragment with AH: the fragment starts at the AH header
        // (as later fragments of the same datagram say protocol 51).
        let (proto, frag_data) = match auth_header_at(&ip, data).and_then(|start| {
            // The payload is a sub-slice of `data` (an empty one may point
            // anywhere): its end as an offset, checked, never assumed.
            data.get(start..payload_end(payload.payload, data)?)
        }) {
            Some(b) => (IpProto::AH.0, b),
            None => (proto, payload.payload),
        };
        return Ok(IpLayer::Fragment(Fragment {
            src,
            dst,
            proto,
            id,
            offset,
            more,
            data: frag_data,
        }));
    }
    // AH (RFC 4302) is its own IPsec flow, not peeled into the protocol it
    // authenticates: the payload starts at the AH header.
    if let Some(start) = auth_header_at(&ip, data)
        && let Some(b) = payload_end(payload.payload, data).and_then(|end| data.get(start..end))
    {
        return Ok(IpLayer::Whole(Packet {
            src,
            dst,
            proto: IpProto::AH,
            l4: L4::Other { payload: b },
        }));
    }
    Ok(IpLayer::Whole(Packet {
        src,
        dst,
        proto: IpProto(proto),
        l4: transport(IpProto(proto), payload.payload)?,
    }))
}

/// The common case read in place: an IPv4 header without options, not a
/// fragment, not AH, with a total length that fits the captured bytes.
/// Gives what the general path below gives for such a packet (it costs
/// about a third), `None` for every other packet.
#[inline]
fn plain_ipv4(data: &[u8]) -> Option<Result<IpLayer<'_>, DecodeError>> {
    let h = data.get(..20)?;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let fragmenting = h[6] & 0x3f != 0 || h[7] != 0;
    if h[0] != 0x45 || total < 20 || total > data.len() || fragmenting || h[9] == IpProto::AH.0 {
        return None;
    }
    let proto = IpProto(h[9]);
    Some(transport(proto, &data[20..total]).map(|l4| {
        IpLayer::Whole(Packet {
            src: Addr::v4([h[12], h[13], h[14], h[15]]),
            dst: Addr::v4([h[16], h[17], h[18], h[19]]),
            proto,
            l4,
        })
    }))
}

/// Where `payload` (a sub-slice of `data`; an empty one may point
/// anywhere) ends, as an offset into `data`: checked, never assumed, so a
/// hostile packet cannot make it wrap.
fn payload_end(payload: &[u8], data: &[u8]) -> Option<usize> {
    (payload.as_ptr() as usize)
        .checked_sub(data.as_ptr() as usize)?
        .checked_add(payload.len())
        .filter(|&end| end <= data.len())
}

fn auth_header_at(ip: &LaxIpSlice<'_>, data: &[u8]) -> Option<usize> {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let ah = v4.extensions().auth.map(|a| a.slice().as_ptr())?;
            (ah as usize).checked_sub(data.as_ptr() as usize)
        }
        LaxIpSlice::Ipv6(_) => v6_extension_at(data, IpProto::AH.0),
    }
}

/// IPv6 Fragment extension header type (RFC 8200 4.5).
const IPV6_FRAGMENT: u8 = 44;
/// Extension headers walked before giving up (a hostile chain can be long;
/// the decoder's own limit is far lower in practice).
const MAX_V6_EXTENSIONS: usize = 16;

/// Offset in the IPv6 packet `data` of the first extension header of type
/// `want`, walking the chain (RFC 8200 4: hop-by-hop 0, routing 43,
/// destination options 60 and the others with a length byte in 8-octet
/// units; fragment 44 fixed 8 bytes; AH 51 in 4-octet units, RFC 4302 2.2),
/// every length checked against the packet. Our own walk: etherparse 0.21's
/// extension iterator re-slices AH headers unchecked, which a hostile chain
/// turned into undefined behaviour (found by tests/fuzz_decode.rs).
fn v6_extension_at(data: &[u8], want: u8) -> Option<usize> {
    let mut next = *data.get(6)?;
    let mut at = 40usize;
    for _ in 0..MAX_V6_EXTENSIONS {
        if next == want {
            return (at < data.len()).then_some(at);
        }
        let len = match next {
            0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*data.get(at + 1)?) + 1) * 8,
            IPV6_FRAGMENT => 8,
            51 => (usize::from(*data.get(at + 1)?) + 2) * 4,
            _ => return None,
        };
        next = *data.get(at)?;
        at = at.checked_add(len)?;
    }
    None
}

/// Parses the transport header of a (possibly reassembled) IP payload.
pub fn transport(proto: IpProto, data: &[u8]) -> Result<L4<'_>, DecodeError> {
    let proto = proto.0;
    Ok(match proto {
        6 => {
            let t = etherparse::TcpSlice::from_slice(data).map_err(|_| DecodeError::TcpInvalid)?;
            let hdr = t.header_slice();
            L4::Tcp {
                src_port: t.source_port(),
                dst_port: t.destination_port(),
                flags: hdr[13],
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                payload: t.payload(),
            }
        }
        17 => {
            let u =
                etherparse::UdpSlice::from_slice_lax(data).map_err(|_| DecodeError::UdpInvalid)?;
            L4::Udp {
                src_port: u.source_port(),
                dst_port: u.destination_port(),
                payload: u.payload(),
            }
        }
        1 | 58 => {
            let h = data.get(..4).ok_or(DecodeError::IcmpInvalid)?;
            L4::Icmp {
                icmp_type: h[0],
                code: h[1],
                payload: &data[4..],
            }
        }
        33 | 132 | 136 if data.len() >= 4 => L4::Ported {
            src_port: u16::from_be_bytes([data[0], data[1]]),
            dst_port: u16::from_be_bytes([data[2], data[3]]),
            payload: &data[4..],
        },
        _ => L4::Other { payload: data },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv6 (RFC 8200) with a hop-by-hop header (8 bytes) then AH (RFC 4302:
    /// payload length 4 = (4 + 2) * 4 = 24 bytes) then a fragment header.
    fn v6_chain() -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[6] = 0; // hop-by-hop
        p.extend_from_slice(&[51, 0, 1, 4, 0, 0, 0, 0]); // next AH, len 0
        let mut ah = vec![44, 4, 0, 0];
        ah.extend_from_slice(&[0; 20]);
        p.extend_from_slice(&ah);
        p.extend_from_slice(&[17, 0, 0x00, 0x11, 0, 0, 0, 9]); // offset 16, M
        p
    }

    #[test]
    fn ipv6_extension_chain_is_walked_with_every_length_checked() {
        let p = v6_chain();
        assert_eq!(v6_extension_at(&p, 51), Some(48));
        assert_eq!(v6_extension_at(&p, IPV6_FRAGMENT), Some(72));
        assert_eq!(v6_extension_at(&p, 60), None);
        // Cut inside the chain, or lengths pointing past the end: no
        // header found, nothing read out of bounds.
        for cut in 0..p.len() {
            let _ = v6_extension_at(&p[..cut], IPV6_FRAGMENT);
        }
        let mut bad = v6_chain();
        bad[41] = 255; // hop-by-hop claims 2 KiB
        assert_eq!(v6_extension_at(&bad, 51), None);
    }

    /// A real DNS query frame's IP part (dns.pcap-like capture, hand-checked
    /// against RFC 791 field layout): 10.0.0.1:40000 -> 8.8.8.8:53, UDP.
    const IPV4_UDP: [u8; 30] = [
        0x45, 0x00, 0x00, 0x1e, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, 10, 0, 0, 1, 8, 8,
        8, 8, 0x9c, 0x40, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0xde, 0xad,
    ];

    #[test]
    fn ipv4_udp_ports_and_payload() {
        let IpLayer::Whole(p) = parse(&IPV4_UDP).unwrap() else {
            panic!("not whole")
        };
        assert_eq!(p.src, Addr::v4([10, 0, 0, 1]));
        assert_eq!(p.dst.ip().to_string(), "8.8.8.8");
        assert_eq!(p.l4.ports(), (40000, 53));
        assert_eq!(p.l4.payload(), &[0xde, 0xad]);
    }

    #[test]
    fn ipv4_fragment_is_reported_with_offset() {
        let mut f = IPV4_UDP;
        f[6] = 0x20; // MF, offset 0
        let IpLayer::Fragment(fr) = parse(&f).unwrap() else {
            panic!("not a fragment")
        };
        assert!(fr.more);
        assert_eq!(fr.offset, 0);
        assert_eq!(fr.id, 0x1234);
        assert_eq!(fr.data.len(), 10);
    }

    #[test]
    fn garbage_is_ip_invalid() {
        assert_eq!(parse(&[0x45, 0, 0]).unwrap_err(), DecodeError::IpInvalid);
        assert_eq!(parse(&[0x75; 40]).unwrap_err(), DecodeError::IpInvalid);
    }
}
