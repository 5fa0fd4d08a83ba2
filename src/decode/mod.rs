//! Borrowed views of a frame's headers: link layer, IP, transport, tunnels.
//!
//! Nothing here knows about flows. Decoding never fails the run: a frame that
//! cannot be read is counted under a [`DecodeError`] reason and skipped.

pub mod frag;
pub mod gre;
pub mod ip;
pub mod l2tp;
pub mod link;
pub mod tunnel;
pub mod v6udp;
pub mod wifi;

pub use ip::{Addr, IpProto, L4, Packet};

/// Why a frame (or an encapsulated packet inside it) was not decoded. The
/// run summary and stats events count each reason separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum DecodeError {
    /// The link-layer header is shorter than its format requires, or
    /// malformed (a radio header flagging a bad FCS, a bad HDLC address).
    LinkTruncated,
    /// Not IP (ARP, LLDP, STP, ...), or IP that cannot be read (802.11
    /// protected frames, fragments, aggregates): counted, not an error of
    /// the capture.
    NotIp,
    /// The IPv4 or IPv6 header is malformed or cut short.
    IpInvalid,
    /// The TCP header is malformed or cut short.
    TcpInvalid,
    /// The UDP header is malformed or cut short.
    UdpInvalid,
    /// The ICMP/ICMPv6 header is cut short.
    IcmpInvalid,
    /// A tunnel header (GRE, GTP-U, VXLAN, CAPWAP, Teredo) is malformed.
    TunnelInvalid,
    /// Encapsulation nested deeper than the configured limit.
    TunnelTooDeep,
    /// A fragment was dropped: reassembly memory or slot cap reached.
    FragmentDropped,
    /// A fragment overlapped or contradicted earlier ones of its datagram.
    FragmentInvalid,
    /// A partial datagram timed out before all its fragments arrived.
    FragmentTimeout,
    /// A partial datagram was evicted, oldest first, to make room for a
    /// newer one (slot or byte cap of `[defrag]` reached).
    FragmentEvicted,
}

impl DecodeError {
    /// Every reason, in the order of their counters.
    pub const ALL: [DecodeError; 12] = [
        DecodeError::LinkTruncated,
        DecodeError::NotIp,
        DecodeError::IpInvalid,
        DecodeError::TcpInvalid,
        DecodeError::UdpInvalid,
        DecodeError::IcmpInvalid,
        DecodeError::TunnelInvalid,
        DecodeError::TunnelTooDeep,
        DecodeError::FragmentDropped,
        DecodeError::FragmentInvalid,
        DecodeError::FragmentTimeout,
        DecodeError::FragmentEvicted,
    ];

    /// Stable snake_case name used in stats output and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DecodeError::LinkTruncated => "link_truncated",
            DecodeError::NotIp => "not_ip",
            DecodeError::IpInvalid => "ip_invalid",
            DecodeError::TcpInvalid => "tcp_invalid",
            DecodeError::UdpInvalid => "udp_invalid",
            DecodeError::IcmpInvalid => "icmp_invalid",
            DecodeError::TunnelInvalid => "tunnel_invalid",
            DecodeError::TunnelTooDeep => "tunnel_too_deep",
            DecodeError::FragmentDropped => "fragment_dropped",
            DecodeError::FragmentInvalid => "fragment_invalid",
            DecodeError::FragmentTimeout => "fragment_timeout",
            DecodeError::FragmentEvicted => "fragment_evicted",
        }
    }
}

/// Per-reason decode error counters, one slot per [`DecodeError`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeCounters(pub [u64; DecodeError::ALL.len()]);

impl DecodeCounters {
    /// Counts one occurrence.
    #[inline]
    pub fn bump(&mut self, e: DecodeError) {
        self.0[e as usize] += 1;
    }

    /// Adds another worker's counters.
    pub fn merge(&mut self, other: &DecodeCounters) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    /// Count for one reason.
    pub fn get(&self, e: DecodeError) -> u64 {
        self.0[e as usize]
    }

    /// Errors excluding `NotIp`, which is not a fault of the frame.
    pub fn errors(&self) -> u64 {
        DecodeError::ALL
            .iter()
            .filter(|e| **e != DecodeError::NotIp)
            .map(|e| self.get(*e))
            .sum()
    }
}

/// The DNS message of a frame that is a UDP DNS response (source port 53,
/// QR set, RFC 1035 4.1.1), looking through up to `max_depth` tunnel layers.
/// Used to feed the address→name cache, which must see answers carried in
/// tunnels too.
pub fn dns_response_payload(
    linktype: crate::capture::LinkType,
    frame: &[u8],
    max_depth: u8,
) -> Option<&[u8]> {
    dns_response_to(linktype, frame, max_depth).map(|(_, m)| m)
}

/// The DNS message of a plain (not tunnelled) UDP query to port 53 (QR
/// clear) and its source address, the client that asked.
pub fn dns_query_from(linktype: crate::capture::LinkType, frame: &[u8]) -> Option<(Addr, &[u8])> {
    let net = link::decode(linktype, frame).ok()?;
    let ip::IpLayer::Whole(p) = ip::parse(net.data).ok()? else {
        return None;
    };
    match p.l4 {
        ip::L4::Udp {
            dst_port: 53,
            payload,
            ..
        } if payload.len() >= 12 && payload[2] & 0x80 == 0 => Some((p.src, payload)),
        _ => None,
    }
}

/// As [`dns_response_payload`], with the response's destination address:
/// the client that asked (a stub, or a resolver asking upstream), which the
/// DNS spread tracker groups names by.
pub fn dns_response_to(
    linktype: crate::capture::LinkType,
    frame: &[u8],
    max_depth: u8,
) -> Option<(Addr, &[u8])> {
    let net = link::decode(linktype, frame).ok()?;
    let mut data = net.data;
    for _ in 0..=max_depth {
        let ip::IpLayer::Whole(p) = ip::parse(data).ok()? else {
            return None;
        };
        if let ip::L4::Udp {
            src_port: 53,
            payload,
            ..
        } = p.l4
            && payload.len() >= 12
            && payload[2] & 0x80 != 0
        {
            return Some((p.dst, payload));
        }
        data = tunnel::inner_ip(&p).ok()??.ip.ok()?;
    }
    None
}
