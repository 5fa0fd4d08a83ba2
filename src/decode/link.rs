//! Link layers down to the network header: Ethernet with 802.1Q/802.1ad tags,
//! Linux cooked captures (SLL, SLL2), BSD/OpenBSD loopback and raw IP.

use super::DecodeError;
use crate::capture::LinkType;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Maximum VLAN tags walked (QinQ plus a margin); deeper stacks are refused.
const MAX_VLAN_TAGS: usize = 4;

/// The network-layer part of a frame.
#[derive(Clone, Copy, Debug)]
pub struct NetworkPayload<'a> {
    /// EtherType of `data` (IPv4 or IPv6 when decoding may go on).
    pub ethertype: u16,
    /// Outermost VLAN id (0 when untagged); part of the flow key so tenants
    /// that reuse addresses on different VLANs never merge.
    pub vlan: u16,
    /// The bytes after the link-layer header.
    pub data: &'a [u8],
}

/// Strips the link-layer header of a frame.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    match link {
        LinkType::Ethernet => ethernet(frame),
        LinkType::Raw => raw_ip(frame),
        LinkType::Ipv4 => Ok(NetworkPayload {
            ethertype: ETHERTYPE_IPV4,
            vlan: 0,
            data: frame,
        }),
        LinkType::Ipv6 => Ok(NetworkPayload {
            ethertype: ETHERTYPE_IPV6,
            vlan: 0,
            data: frame,
        }),
        LinkType::Null | LinkType::Loop => loopback(link, frame),
        LinkType::LinuxSll => {
            // 16-byte header: packet type, ARPHRD, addr len, 8-byte addr, protocol.
            let h = frame.get(..16).ok_or(DecodeError::LinkTruncated)?;
            cooked(u16::from_be_bytes([h[14], h[15]]), &frame[16..])
        }
        LinkType::LinuxSll2 => {
            // 20-byte header: protocol first, then interface index, ARPHRD, ...
            let h = frame.get(..20).ok_or(DecodeError::LinkTruncated)?;
            cooked(u16::from_be_bytes([h[0], h[1]]), &frame[20..])
        }
    }
}

/// Ethernet II with any stack of 802.1Q (0x8100), 802.1ad (0x88a8) and the
/// pre-standard 0x9100 tags. Used for frames and for VXLAN/GRE-TEB payloads.
pub fn ethernet(frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let eth = etherparse::Ethernet2Slice::from_slice_without_fcs(frame)
        .map_err(|_| DecodeError::LinkTruncated)?;
    let mut ethertype = eth.ether_type().0;
    let mut data = eth.payload_slice();
    let mut vlan = 0u16;
    let mut tags = 0;
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(DecodeError::LinkTruncated);
        }
        let tag = etherparse::SingleVlanSlice::from_slice(data)
            .map_err(|_| DecodeError::LinkTruncated)?;
        if vlan == 0 {
            vlan = tag.vlan_identifier().value();
        }
        ethertype = tag.ether_type().0;
        data = tag.payload_slice();
    }
    if ethertype == 0x8864 {
        return pppoe(data, vlan);
    }
    Ok(NetworkPayload {
        ethertype,
        vlan,
        data,
    })
}

/// PPPoE session frames (RFC 2516) carrying IPv4/IPv6 over PPP: common on
/// DSL gateways, so read through rather than counted as non-IP.
fn pppoe(data: &[u8], vlan: u16) -> Result<NetworkPayload<'_>, DecodeError> {
    let h = data.get(..8).ok_or(DecodeError::LinkTruncated)?;
    let ethertype = match u16::from_be_bytes([h[6], h[7]]) {
        0x0021 => ETHERTYPE_IPV4,
        0x0057 => ETHERTYPE_IPV6,
        _ => return Err(DecodeError::NotIp),
    };
    Ok(NetworkPayload {
        ethertype,
        vlan,
        data: &data[8..],
    })
}

fn raw_ip(frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let first = *frame.first().ok_or(DecodeError::LinkTruncated)?;
    let ethertype = match first >> 4 {
        4 => ETHERTYPE_IPV4,
        6 => ETHERTYPE_IPV6,
        _ => return Err(DecodeError::IpInvalid),
    };
    Ok(NetworkPayload {
        ethertype,
        vlan: 0,
        data: frame,
    })
}

fn loopback(link: LinkType, frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let h = frame.get(..4).ok_or(DecodeError::LinkTruncated)?;
    let family = if link == LinkType::Loop {
        u32::from_be_bytes([h[0], h[1], h[2], h[3]])
    } else {
        // Host byte order of the capturing machine: accept either.
        let le = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        if le < 0x100 {
            le
        } else {
            u32::from_be_bytes([h[0], h[1], h[2], h[3]])
        }
    };
    let ethertype = match family {
        2 => ETHERTYPE_IPV4,
        // AF_INET6 differs by OS: BSD 24, FreeBSD 28, Darwin 30, Linux 10.
        10 | 24 | 28 | 30 => ETHERTYPE_IPV6,
        _ => return Err(DecodeError::NotIp),
    };
    Ok(NetworkPayload {
        ethertype,
        vlan: 0,
        data: &frame[4..],
    })
}

fn cooked(protocol: u16, data: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    if protocol == 0x8100 || protocol == 0x88a8 {
        // A tag left in the payload by the capturing kernel.
        let tag = etherparse::SingleVlanSlice::from_slice(data)
            .map_err(|_| DecodeError::LinkTruncated)?;
        return Ok(NetworkPayload {
            ethertype: tag.ether_type().0,
            vlan: tag.vlan_identifier().value(),
            data: tag.payload_slice(),
        });
    }
    Ok(NetworkPayload {
        ethertype: protocol,
        vlan: 0,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qinq_keeps_outer_vlan_and_reaches_ip() {
        // dst, src MACs, 0x88a8 tag vid 100, 0x8100 tag vid 200, IPv4.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[
            0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00, 0x45,
        ]);
        let n = ethernet(&f).unwrap();
        assert_eq!(n.vlan, 100);
        assert_eq!(n.ethertype, ETHERTYPE_IPV4);
        assert_eq!(n.data, &[0x45]);
    }

    #[test]
    fn null_loopback_in_either_byte_order() {
        let le = [2, 0, 0, 0, 0x45];
        let be = [0, 0, 0, 30, 0x60];
        assert_eq!(
            decode(LinkType::Null, &le).unwrap().ethertype,
            ETHERTYPE_IPV4
        );
        assert_eq!(
            decode(LinkType::Null, &be).unwrap().ethertype,
            ETHERTYPE_IPV6
        );
    }

    #[test]
    fn sll2_protocol_comes_first() {
        let mut f = vec![0x86, 0xdd];
        f.extend_from_slice(&[0; 18]);
        f.push(0x60);
        let n = decode(LinkType::LinuxSll2, &f).unwrap();
        assert_eq!(n.ethertype, ETHERTYPE_IPV6);
        assert_eq!(n.data, &[0x60]);
    }

    #[test]
    fn short_frames_are_link_truncated() {
        assert_eq!(ethernet(&[0; 5]).unwrap_err(), DecodeError::LinkTruncated);
        assert_eq!(
            decode(LinkType::LinuxSll, &[0; 15]).unwrap_err(),
            DecodeError::LinkTruncated
        );
    }
}
