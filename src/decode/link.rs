//! Link layers down to the network header: Ethernet with 802.1Q/802.1ad tags,
//! Linux cooked captures (SLL, SLL2) on any hardware type, BSD/OpenBSD
//! loopback, raw IP, PPP (RFC 1661/1662), Cisco HDLC, and 802.11 data frames
//! (plain, under radiotap, or under PPI).

use super::DecodeError;
use crate::capture::LinkType;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType (and GRE protocol type) of transparent Ethernet bridging.
pub const ETHERTYPE_TEB: u16 = 0x6558;
/// Maximum VLAN tags walked (QinQ plus a margin); deeper stacks are refused.
const MAX_VLAN_TAGS: usize = 4;

/// The network-layer part of a frame.
#[derive(Clone, Copy, Debug)]
pub struct NetworkPayload<'a> {
    /// EtherType of `data` (IPv4 or IPv6 when decoding may go on).
    pub ethertype: u16,
    /// Outer and inner VLAN ids (0 when absent): both are part of the flow
    /// key, so tenants that reuse addresses on different VLANs never merge,
    /// and both are written (`"vlan": [outer, inner]`, as Suricata does).
    pub vlan: [u16; 2],
    /// The bytes after the link-layer header.
    pub data: &'a [u8],
}

impl<'a> NetworkPayload<'a> {
    /// Untagged payload of a known EtherType.
    #[inline]
    fn untagged(ethertype: u16, data: &'a [u8]) -> Self {
        NetworkPayload {
            ethertype,
            vlan: [0, 0],
            data,
        }
    }
}

/// Strips the link-layer header of a frame.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    match link {
        LinkType::Ethernet => ethernet(frame),
        LinkType::Raw => raw_ip(frame),
        LinkType::Ipv4 => Ok(NetworkPayload::untagged(ETHERTYPE_IPV4, frame)),
        LinkType::Ipv6 => Ok(NetworkPayload::untagged(ETHERTYPE_IPV6, frame)),
        LinkType::Null | LinkType::Loop => loopback(link, frame),
        LinkType::LinuxSll => {
            // 16-byte header: packet type, ARPHRD, addr len, 8-byte addr, protocol.
            let h = frame.get(..16).ok_or(DecodeError::LinkTruncated)?;
            let arphrd = u16::from_be_bytes([h[2], h[3]]);
            cooked(arphrd, u16::from_be_bytes([h[14], h[15]]), &frame[16..])
        }
        LinkType::LinuxSll2 => {
            // 20-byte header: protocol, reserved, interface index, ARPHRD,
            // packet type, addr len, 8-byte addr.
            let h = frame.get(..20).ok_or(DecodeError::LinkTruncated)?;
            let arphrd = u16::from_be_bytes([h[8], h[9]]);
            cooked(arphrd, u16::from_be_bytes([h[0], h[1]]), &frame[20..])
        }
        LinkType::Ppp => ppp_frame(frame),
        LinkType::PppHdlc => match frame.first() {
            Some(0x0f | 0x8f) => cisco_hdlc(frame),
            _ => ppp_frame(frame),
        },
        LinkType::CiscoHdlc => cisco_hdlc(frame),
        LinkType::Ieee80211 => super::wifi::data_frame(frame, false),
        LinkType::Radiotap => super::wifi::radiotap(frame),
        LinkType::Ppi => super::wifi::ppi(frame),
    }
}

/// Ethernet II with any stack of 802.1Q (0x8100), 802.1ad (0x88a8) and the
/// pre-standard 0x9100 tags, and IEEE 802.3 frames with LLC/SNAP. Used for
/// frames and for VXLAN/GRE-TEB payloads.
pub fn ethernet(frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    // Destination and source MAC, then the EtherType (IEEE 802.3 clause 3).
    let h = frame.get(..14).ok_or(DecodeError::LinkTruncated)?;
    let ethertype = u16::from_be_bytes([h[12], h[13]]);
    let payload = &frame[14..];
    if ethertype < 0x0600 {
        // IEEE 802.3: a length, then an LLC header (IEEE 802.2).
        return snap(payload).map(|(t, d)| NetworkPayload::untagged(t, d));
    }
    if !matches!(ethertype, 0x8100 | 0x88a8 | 0x9100 | 0x8864) {
        return Ok(NetworkPayload::untagged(ethertype, payload));
    }
    tagged(ethertype, payload)
}

/// Walks the VLAN tags (and a PPPoE session header) that follow an
/// EtherType, keeping the outer and inner VLAN ids.
fn tagged(mut ethertype: u16, mut data: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let mut vlan = [0u16; 2];
    let mut tags = 0;
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        if tags >= MAX_VLAN_TAGS {
            return Err(DecodeError::LinkTruncated);
        }
        let tag = etherparse::SingleVlanSlice::from_slice(data)
            .map_err(|_| DecodeError::LinkTruncated)?;
        if let Some(slot) = vlan.get_mut(tags) {
            *slot = tag.vlan_identifier().value();
        }
        tags += 1;
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

/// An LLC/SNAP header (IEEE 802.2 with SNAP, RFC 1042; OUI 00-00-00, or
/// 00-00-F8 of IEEE 802.1H bridge tunnel encapsulation): the EtherType it
/// names and the bytes after it. Anything else is not IP.
pub(super) fn snap(b: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    let h = b.get(..8).ok_or(DecodeError::LinkTruncated)?;
    if h[..3] != [0xaa, 0xaa, 0x03] || h[3..5] != [0, 0] || (h[5] != 0 && h[5] != 0xf8) {
        return Err(DecodeError::NotIp);
    }
    Ok((u16::from_be_bytes([h[6], h[7]]), &b[8..]))
}

/// PPPoE session frames (RFC 2516) carrying IPv4/IPv6 over PPP: common on
/// DSL gateways, so read through rather than counted as non-IP.
fn pppoe(data: &[u8], vlan: [u16; 2]) -> Result<NetworkPayload<'_>, DecodeError> {
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

/// The PPP protocol field (RFC 1661 2) after optional address/control
/// bytes (`ff 03`, RFC 1662 3.1) and with optional protocol-field
/// compression (RFC 1661 6.6, a one-byte odd protocol): the protocol number
/// and the information field.
pub fn ppp(b: &[u8]) -> Option<(u16, &[u8])> {
    let b = if b.starts_with(&[0xff, 0x03]) {
        &b[2..]
    } else {
        b
    };
    let first = *b.first()?;
    if first & 1 == 1 {
        Some((u16::from(first), &b[1..]))
    } else {
        Some((u16::from_be_bytes([first, *b.get(1)?]), b.get(2..)?))
    }
}

/// The EtherType of a PPP protocol number that carries IP (IPv4 0x0021,
/// IPv6 0x0057, RFC 1332 / RFC 5072).
pub fn ppp_ethertype(proto: u16) -> Option<u16> {
    match proto {
        0x0021 => Some(ETHERTYPE_IPV4),
        0x0057 => Some(ETHERTYPE_IPV6),
        _ => None,
    }
}

/// A PPP frame (LINKTYPE_PPP, and PPP_HDLC starting with 0xff): IP, or
/// counted as not IP (LCP, IPCP, compressed data...).
fn ppp_frame(frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let (proto, data) = ppp(frame).ok_or(DecodeError::LinkTruncated)?;
    let ethertype = ppp_ethertype(proto).ok_or(DecodeError::NotIp)?;
    Ok(NetworkPayload::untagged(ethertype, data))
}

/// Cisco HDLC (LINKTYPE_C_HDLC, and Cisco framing of PPP_HDLC, RFC 1547
/// 4.3.1): address 0x0f (unicast) or 0x8f (broadcast), control 0, then an
/// EtherType. SLARP keepalives (0x8035) and CDP are not IP.
fn cisco_hdlc(frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let h = frame.get(..4).ok_or(DecodeError::LinkTruncated)?;
    if !matches!(h[0], 0x0f | 0x8f) || h[1] != 0 {
        return Err(DecodeError::LinkTruncated);
    }
    Ok(NetworkPayload::untagged(
        u16::from_be_bytes([h[2], h[3]]),
        &frame[4..],
    ))
}

fn raw_ip(frame: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let first = *frame.first().ok_or(DecodeError::LinkTruncated)?;
    let ethertype = match first >> 4 {
        4 => ETHERTYPE_IPV4,
        6 => ETHERTYPE_IPV6,
        _ => return Err(DecodeError::IpInvalid),
    };
    Ok(NetworkPayload::untagged(ethertype, frame))
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
    Ok(NetworkPayload::untagged(ethertype, &frame[4..]))
}

/// Linux ARPHRD_ hardware types (linux/if_arp.h) whose cooked frames need
/// more than the protocol field.
mod arphrd {
    /// PPP interfaces.
    pub const PPP: u16 = 512;
    /// Raw IP (e.g. cellular modems).
    pub const RAWIP: u16 = 519;
    /// IPIP tunnels.
    pub const TUNNEL: u16 = 768;
    /// IPv6-in-IPv6 tunnels.
    pub const TUNNEL6: u16 = 769;
    /// SIT (6in4) tunnels.
    pub const SIT: u16 = 776;
    /// GRE tunnels: the protocol field is a GRE protocol type.
    pub const IPGRE: u16 = 778;
    /// Plain 802.11 frames.
    pub const IEEE80211: u16 = 801;
    /// 802.11 with a radiotap header.
    pub const IEEE80211_RADIOTAP: u16 = 803;
    /// IPv6 GRE tunnels.
    pub const IP6GRE: u16 = 823;
    /// No hardware header (tun devices, WireGuard).
    pub const NONE: u16 = 0xfffe;
}

/// A Linux cooked frame (SLL, SLL2; tcpdump.org linktypes "LINUX_SLL"):
/// the protocol field is an EtherType for most hardware types, a GRE
/// protocol type for GRE devices, or one of Linux's small "protocol"
/// numbers (below 0x0600) such as 0x0004 for an 802.2 LLC frame. Wi-Fi
/// interfaces in monitor mode give their 802.11 or radiotap frame instead.
fn cooked(arphrd: u16, protocol: u16, data: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    match arphrd {
        arphrd::IEEE80211_RADIOTAP => return super::wifi::radiotap(data),
        arphrd::IEEE80211 => return super::wifi::data_frame(data, false),
        _ => {}
    }
    match protocol {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(NetworkPayload::untagged(protocol, data)),
        // A tag left in the payload by the capturing kernel.
        0x8100 | 0x88a8 => tagged(protocol, data),
        // GRE device with transparent Ethernet bridging (gretap/ERSPAN).
        ETHERTYPE_TEB if matches!(arphrd, arphrd::IPGRE | arphrd::IP6GRE) => ethernet(data),
        // LINUX_SLL_P_802_2: an LLC frame.
        0x0004 => snap(data).map(|(t, d)| NetworkPayload::untagged(t, d)),
        // No EtherType on a device that only carries IP: the version nibble.
        p if p < 0x0600
            && matches!(
                arphrd,
                arphrd::NONE
                    | arphrd::RAWIP
                    | arphrd::PPP
                    | arphrd::TUNNEL
                    | arphrd::TUNNEL6
                    | arphrd::SIT
                    | arphrd::IPGRE
                    | arphrd::IP6GRE
            ) =>
        {
            raw_ip(data).map_err(|_| DecodeError::NotIp)
        }
        _ => Ok(NetworkPayload::untagged(protocol, data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qinq_keeps_both_vlans_and_reaches_ip() {
        // dst, src MACs, 0x88a8 tag vid 100, 0x8100 tag vid 200, IPv4.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[
            0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00, 0x45,
        ]);
        let n = ethernet(&f).unwrap();
        assert_eq!(n.vlan, [100, 200]);
        assert_eq!(n.ethertype, ETHERTYPE_IPV4);
        assert_eq!(n.data, &[0x45]);
    }

    #[test]
    fn ieee8023_llc_snap_reaches_ip() {
        // 802.3 length 9, LLC/SNAP (RFC 1042) EtherType IPv4.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x00, 0x09, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
        let n = ethernet(&f).unwrap();
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

    /// SLL header (tcpdump.org linktypes LINUX_SLL) with a hardware type
    /// and a protocol field.
    fn sll(arphrd: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0, 0];
        f.extend_from_slice(&arphrd.to_be_bytes());
        f.extend_from_slice(&[0; 10]); // address length, address
        f.extend_from_slice(&protocol.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn sll_on_odd_hardware_types() {
        // ARPHRD_NONE (tun) without an EtherType: the version nibble.
        let f = sll(0xfffe, 0, &[0x45]);
        assert_eq!(
            decode(LinkType::LinuxSll, &f).unwrap().ethertype,
            ETHERTYPE_IPV4
        );
        // ARPHRD_PPP with the EtherType in the protocol field.
        let f = sll(512, 0x86dd, &[0x60]);
        assert_eq!(
            decode(LinkType::LinuxSll, &f).unwrap().ethertype,
            ETHERTYPE_IPV6
        );
        // ARPHRD_IPGRE carrying transparent Ethernet bridging.
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00, 0x45]);
        let f = sll(778, 0x6558, &eth);
        let n = decode(LinkType::LinuxSll, &f).unwrap();
        assert_eq!((n.ethertype, n.data), (ETHERTYPE_IPV4, &[0x45][..]));
        // Linux's 802.2 pseudo-protocol: an LLC/SNAP frame.
        let llc = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];
        let f = sll(1, 0x0004, &llc);
        assert_eq!(
            decode(LinkType::LinuxSll, &f).unwrap().ethertype,
            ETHERTYPE_IPV4
        );
        // ARPHRD_NONE with a non-IP first byte stays not IP.
        let e = decode(LinkType::LinuxSll, &sll(0xfffe, 0, &[0x00])).unwrap_err();
        assert_eq!(e, DecodeError::NotIp);
    }

    #[test]
    fn ppp_with_and_without_address_control_and_pfc() {
        // RFC 1662 3.1 ff 03, protocol 0x0021.
        let n = decode(LinkType::Ppp, &[0xff, 0x03, 0x00, 0x21, 0x45]).unwrap();
        assert_eq!((n.ethertype, n.data), (ETHERTYPE_IPV4, &[0x45][..]));
        // RFC 1661 6.6 protocol-field compression: 0x57 alone.
        let n = decode(LinkType::Ppp, &[0x57, 0x60]).unwrap();
        assert_eq!(n.ethertype, ETHERTYPE_IPV6);
        // LCP (0xc021) is not IP.
        let e = decode(LinkType::Ppp, &[0xff, 0x03, 0xc0, 0x21, 1]).unwrap_err();
        assert_eq!(e, DecodeError::NotIp);
        // PPP_HDLC with Cisco framing.
        let n = decode(LinkType::PppHdlc, &[0x0f, 0x00, 0x08, 0x00, 0x45]).unwrap();
        assert_eq!(n.ethertype, ETHERTYPE_IPV4);
    }

    #[test]
    fn cisco_hdlc_unicast_broadcast_and_slarp() {
        let n = decode(LinkType::CiscoHdlc, &[0x8f, 0x00, 0x86, 0xdd, 0x60]).unwrap();
        assert_eq!((n.ethertype, n.data), (ETHERTYPE_IPV6, &[0x60][..]));
        let n = decode(LinkType::CiscoHdlc, &[0x8f, 0x00, 0x80, 0x35, 0]).unwrap();
        assert_eq!(n.ethertype, 0x8035); // SLARP: the worker counts it not_ip
        let e = decode(LinkType::CiscoHdlc, &[0x45, 0x00, 0x08, 0x00]).unwrap_err();
        assert_eq!(e, DecodeError::LinkTruncated);
    }

    #[test]
    fn short_frames_are_link_truncated() {
        assert_eq!(ethernet(&[0; 5]).unwrap_err(), DecodeError::LinkTruncated);
        assert_eq!(
            decode(LinkType::LinuxSll, &[0; 15]).unwrap_err(),
            DecodeError::LinkTruncated
        );
        assert_eq!(
            decode(LinkType::CiscoHdlc, &[0x0f, 0]).unwrap_err(),
            DecodeError::LinkTruncated
        );
        assert_eq!(
            decode(LinkType::Ppp, &[]).unwrap_err(),
            DecodeError::LinkTruncated
        );
    }
}
