//! Helpers shared by the detectors' unit tests: hex vectors, flow facts and
//! packet views.

use crate::decode::{Addr, IpProto};
use crate::detect::{FlowFacts, PacketView};
use crate::dissect::Direction;

/// Client-to-server.
pub const C: Direction = Direction::ToServer;
/// Server-to-client.
pub const S: Direction = Direction::ToClient;

/// Hex text to bytes; anything but hex digits (whitespace, separators) is
/// ignored, so vectors can be pasted from captures.
pub fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

/// Facts of a TCP flow 10.0.0.1:40000 -> 10.0.0.2:1234 with no dissector,
/// its SYN seen.
pub fn facts() -> FlowFacts<'static> {
    FlowFacts {
        proto: IpProto::TCP,
        client: (Addr::v4([10, 0, 0, 1]), 40000),
        server: (Addr::v4([10, 0, 0, 2]), 1234),
        packets: &[],
        app: None,
        dns_name: None,
        tunnel: None,
        pkts: [0, 0],
        bytes: [0, 0],
        duration_us: 0,
        syn_seen: true,
    }
}

/// A payload packet view: `index` also gives its time (1 ms apart); TCP
/// segments carry PSH+ACK.
pub fn packet(
    proto: IpProto,
    ports: (u16, u16),
    dir: Direction,
    index: u16,
    payload: &[u8],
) -> PacketView<'_> {
    PacketView {
        dir,
        index,
        offset_us: u64::from(index) * 1000,
        proto,
        client_port: ports.0,
        server_port: ports.1,
        tcp_flags: if proto == IpProto::TCP { 0x18 } else { 0 },
        icmp: None,
        payload,
    }
}
