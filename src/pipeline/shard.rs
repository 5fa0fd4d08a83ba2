//! The reader's routing: which worker a frame belongs to, and whether every
//! worker must see it.
//!
//! The symmetric hash covers the outermost IP address pair (and VLAN), not
//! the ports, so that every fragment of a datagram, both directions of a
//! flow, and every flow inside a tunnel reach the same worker. It reads the
//! header fields in place and never fails: what it cannot read goes to
//! worker 0, whose decoder counts the error.

use crate::capture::LinkType;
use crate::decode::link;

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The worker that owns the frame's flows.
    pub worker: usize,
    /// The frame is a UDP DNS response (source port 53, QR set): every
    /// worker learns its answers, so the address-to-name cache is the same
    /// whatever the sharding.
    pub dns_response: bool,
    /// The frame is a plain UDP DNS query (destination port 53, QR clear):
    /// every worker adds its question to the DNS spread table, so a tunnel
    /// whose answers are missing or retried is still aggregated the same
    /// whatever the sharding.
    pub dns_query: bool,
}

const WORKER_ZERO: Route = Route {
    worker: 0,
    dns_response: false,
    dns_query: false,
};

/// IP protocols and UDP ports that may carry tunnelled packets (see
/// `decode::tunnel`): only these frames are decapsulated by the reader to
/// look for DNS responses inside.
fn may_tunnel(proto: u8, udp: Option<&[u8]>) -> bool {
    match proto {
        4 | 41 | 47 => true,
        17 => udp.is_some_and(|u| {
            u.len() >= 4 && {
                let (s, d) = (
                    u16::from_be_bytes([u[0], u[1]]),
                    u16::from_be_bytes([u[2], u[3]]),
                );
                [2152, 3544, 4789, 5247, 6081]
                    .iter()
                    .any(|p| *p == s || *p == d)
            }
        }),
        _ => false,
    }
}

/// Routes a frame among `workers` workers; tunnels are looked through up
/// to `max_depth` layers for DNS responses.
#[inline]
pub fn route(linktype: LinkType, frame: &[u8], workers: usize, max_depth: u8) -> Route {
    let Ok(net) = link::decode(linktype, frame) else {
        return WORKER_ZERO;
    };
    let d = net.data;
    let (a, b, proto, l4) = match net.ethertype {
        link::ETHERTYPE_IPV4 if d.len() >= 20 => {
            let ihl = (d[0] & 0x0f) as usize * 4;
            let unfragmented = d[6] & 0x3f == 0 && d[7] == 0;
            let l4 = if unfragmented { d.get(ihl..) } else { None };
            (
                read_u32(&d[12..16]) as u128,
                read_u32(&d[16..20]) as u128,
                d[9],
                l4,
            )
        }
        link::ETHERTYPE_IPV6 if d.len() >= 40 => (
            read_u128(&d[8..24]),
            read_u128(&d[24..40]),
            d[6],
            Some(&d[40..]),
        ),
        _ => return WORKER_ZERO,
    };
    let udp = if proto == 17 { l4 } else { None };
    // UDP source port 53 and the DNS header's QR bit (RFC 1035 4.1.1);
    // through tunnels, the full decoder decides.
    let dns_response = udp
        .is_some_and(|u| u.len() >= 8 + 12 && u[0] == 0 && u[1] == 53 && u[10] & 0x80 != 0)
        || (max_depth > 0
            && may_tunnel(proto, udp)
            && crate::decode::dns_response_payload(linktype, frame, max_depth).is_some());
    let dns_query = !dns_response
        && udp.is_some_and(|u| u.len() >= 8 + 12 && u[2] == 0 && u[3] == 53 && u[10] & 0x80 == 0);
    Route {
        worker: if workers <= 1 {
            0
        } else {
            hash_pair(a, b, net.vlan[0], workers)
        },
        dns_response,
        dns_query,
    }
}

fn hash_pair(a: u128, b: u128, vlan: u16, workers: usize) -> usize {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = (lo as u64) ^ ((lo >> 64) as u64).rotate_left(17);
    h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= (hi as u64) ^ ((hi >> 64) as u64).rotate_left(31) ^ vlan as u64;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    (h % workers as u64) as usize
}

fn read_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn read_u128(b: &[u8]) -> u128 {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    u128::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, payload: &[u8]) -> Vec<u8> {
        // RFC 791 header (no options) + RFC 768 header.
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&[0x9c, 0x40, 0, 0, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn both_directions_land_on_one_worker() {
        let fwd = ipv4_udp([10, 0, 0, 1], [192, 168, 7, 9], 1000, &[]);
        let rev = ipv4_udp([192, 168, 7, 9], [10, 0, 0, 1], 2000, &[]);
        for n in 2..9 {
            assert_eq!(
                route(LinkType::Ipv4, &fwd, n, 4).worker,
                route(LinkType::Ipv4, &rev, n, 4).worker
            );
        }
    }

    #[test]
    fn dns_responses_are_flagged_queries_are_not() {
        let mut hdr = [0u8; 12];
        hdr[2] = 0x81; // QR=1, RD=1
        let resp = ipv4_udp([8, 8, 8, 8], [10, 0, 0, 1], 53, &hdr);
        assert!(route(LinkType::Ipv4, &resp, 4, 4).dns_response);
        hdr[2] = 0x01;
        let query = ipv4_udp([8, 8, 8, 8], [10, 0, 0, 1], 53, &hdr);
        assert!(!route(LinkType::Ipv4, &query, 4, 4).dns_response);
        // A query to port 53 (destination 53 = 0x0035) is a spread query.
        let mut to53 = ipv4_udp([10, 0, 0, 1], [8, 8, 8, 8], 40000, &hdr);
        to53[22..24].copy_from_slice(&53u16.to_be_bytes());
        let r = route(LinkType::Ipv4, &to53, 4, 4);
        assert!(r.dns_query && !r.dns_response);
        assert!(!route(LinkType::Ipv4, &resp, 4, 4).dns_query);
    }
}
