//! L2TP data messages: L2TPv2 over UDP carrying PPP (RFC 2661 3.1), and
//! L2TPv3 carrying Ethernet pseudowires over UDP (RFC 3931 4.1.2.1) or
//! directly over IP protocol 115 (RFC 3931 4.1.1.1).
//!
//! L2TPv3's cookie (0, 4 or 8 bytes) and L2-specific sublayer (none or the
//! 4-byte default, RFC 3931 4.6) are configured per session, not written
//! in the header, so the Ethernet frame is looked for at each possible
//! offset and accepted only when its frame and inner header check out.
//! Control messages (T bit, or session id 0 over IP) carry no inner packet;
//! the L2TP VPN detector reads them.

use super::gre::ppp_ip;
use super::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::tunnel::{Inner, InnerStart, TunnelKind};

/// Bytes after the session id an L2TPv3 frame may start at: cookie of 0,
/// 4 or 8 bytes, each with or without the 4-byte default sublayer.
const V3_OFFSETS: [usize; 4] = [0, 4, 8, 12];

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// An L2TP message over UDP (port 1701): v2 data → PPP → IP, v3 data →
/// Ethernet; control messages and anything else give `None`.
pub(super) fn over_udp(b: &[u8]) -> Option<Inner<'_>> {
    let flags = be16(b, 0)?;
    if flags & 0x8000 != 0 {
        return None; // control message
    }
    match flags & 0x0f {
        2 => {
            // T L x x S x O P x x x x Ver: optional length, tunnel and
            // session ids, optional Ns/Nr, optional offset size and padding.
            if flags & 0x34f0 != 0 {
                return None; // reserved bits
            }
            let mut off = 2;
            if flags & 0x4000 != 0 {
                let len = usize::from(be16(b, 2)?);
                if len != b.len() {
                    return None;
                }
                off += 2;
            }
            off += 4;
            if flags & 0x0800 != 0 {
                off += 4;
            }
            if flags & 0x0200 != 0 {
                off += 2 + usize::from(be16(b, off)?);
            }
            ppp_ip(b.get(off..)?, TunnelKind::L2tp)
        }
        3 => {
            // Flags and version, reserved, session id (4 bytes).
            if be16(b, 2)? != 0 || b.get(4..8)? == [0, 0, 0, 0] {
                return None;
            }
            pseudowire(&b[8..])
        }
        _ => None,
    }
}

/// An L2TPv3 message directly over IP: a session id (0 marks a control
/// message), then the pseudowire's frame.
pub(super) fn over_ip(b: &[u8]) -> Option<Inner<'_>> {
    let session = b.get(..4)?;
    if session == [0, 0, 0, 0] {
        return None;
    }
    pseudowire(&b[4..])
}

/// The Ethernet frame after an L2TPv3 session id, at the first offset
/// where a plausible frame starts.
fn pseudowire(b: &[u8]) -> Option<Inner<'_>> {
    V3_OFFSETS.iter().find_map(|&off| {
        let frame = b.get(off..)?;
        plausible_ethernet(frame).then_some(Inner {
            kind: TunnelKind::L2tpv3,
            start: InnerStart::Ethernet,
            data: frame,
        })
    })
}

/// An Ethernet frame whose payload is a whole IPv4 header with a valid
/// checksum, an IPv6 header whose length fits, or an Ethernet/IPv4 ARP
/// packet (RFC 826), possibly behind one 802.1Q tag. Strict, because it
/// decides an offset no header states.
fn plausible_ethernet(f: &[u8]) -> bool {
    let Some(mut ethertype) = be16(f, 12) else {
        return false;
    };
    let mut off = 14;
    if ethertype == 0x8100 {
        let Some(t) = be16(f, 16) else {
            return false;
        };
        ethertype = t;
        off = 18;
    }
    let Some(p) = f.get(off..) else {
        return false;
    };
    match ethertype {
        ETHERTYPE_IPV4 => ipv4_header_ok(p),
        ETHERTYPE_IPV6 => {
            p.len() >= 40 && p[0] >> 4 == 6 && usize::from(be16(p, 4).unwrap_or(0)) + 40 <= p.len()
        }
        0x0806 => p.get(..6) == Some(&[0, 1, 0x08, 0, 6, 4]),
        _ => false,
    }
}

/// An IPv4 header (RFC 791 3.1): version 4, a header length of 5-15
/// words, a total length that fits, and a valid header checksum.
fn ipv4_header_ok(p: &[u8]) -> bool {
    let Some(&v) = p.first() else {
        return false;
    };
    let ihl = usize::from(v & 0x0f) * 4;
    if v >> 4 != 4 || ihl < 20 || p.len() < ihl {
        return false;
    }
    let total = usize::from(be16(p, 2).unwrap_or(0));
    if total < ihl || total > p.len() {
        return false;
    }
    let mut sum: u32 = p[..ihl]
        .chunks_exact(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame carrying a minimal IPv4 header with a correct
    /// checksum (RFC 791; checksum computed below).
    fn frame() -> Vec<u8> {
        let mut f = vec![0x02; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let sum: u32 = ip
            .chunks_exact(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f
    }

    #[test]
    fn l2tpv3_over_ip_with_and_without_cookie() {
        let mut b = vec![0, 0, 0, 7];
        b.extend_from_slice(&frame());
        assert_eq!(over_ip(&b).unwrap().data, &frame()[..]);
        // 4-byte cookie then the default sublayer (8 bytes).
        let mut b = vec![0, 0, 0, 7, 0xc0, 0x0c, 0x1e, 0x5a, 0, 0, 0, 0];
        b.extend_from_slice(&frame());
        assert_eq!(over_ip(&b).unwrap().data, &frame()[..]);
        // Session id 0: a control message.
        let mut b = vec![0, 0, 0, 0];
        b.extend_from_slice(&frame());
        assert!(over_ip(&b).is_none());
    }

    #[test]
    fn l2tpv3_over_udp() {
        let mut b = vec![0x00, 0x03, 0, 0, 0, 0, 0, 9];
        b.extend_from_slice(&frame());
        assert_eq!(over_udp(&b).unwrap().kind, TunnelKind::L2tpv3);
        // A corrupted IPv4 checksum is not taken for a frame.
        let n = b.len();
        b[n - 10] ^= 0xff;
        assert!(over_udp(&b).is_none());
    }

    #[test]
    fn l2tpv2_data_reaches_ppp_ip() {
        // RFC 2661 3.1: flags L (0x4002), length, tunnel id, session id,
        // then PPP ff 03 0021 and an IPv4 byte.
        let b = [0x40, 0x02, 0, 11, 0, 1, 0, 2, 0xff, 0x03, 0x00, 0x21, 0x45];
        let b = &b[..11 + 2];
        let mut v = b.to_vec();
        v[3] = v.len() as u8;
        let i = over_udp(&v).unwrap();
        assert_eq!((i.kind, i.data), (TunnelKind::L2tp, &[0x45][..]));
        // Control message (T bit): not an inner packet.
        v[0] |= 0x80;
        assert!(over_udp(&v).is_none());
    }
}
