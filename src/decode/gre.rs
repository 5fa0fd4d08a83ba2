//! GRE and what it carries: IP (RFC 2784/2890), transparent Ethernet
//! bridging (0x6558), PPP (0x880B; PPTP's enhanced GRE, RFC 2637 4.1),
//! ERSPAN types I, II and III (0x88BE/0x22EB; draft-foschiano-erspan-03),
//! and NHRP (0x2001, RFC 2332), DMVPN's resolution protocol, which is
//! recognised but carries no inner packet. The same header follows a UDP
//! header in GRE-in-UDP (RFC 8086).

use super::DecodeError;
use super::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_TEB, ppp, ppp_ethertype};
use super::tunnel::{Inner, InnerStart, TunnelKind};

/// GRE flag bits (first 16 bits of the header).
mod flag {
    /// Checksum present (RFC 2784).
    pub const C: u16 = 0x8000;
    /// Routing present (RFC 1701): not decoded.
    pub const R: u16 = 0x4000;
    /// Key present (RFC 2890); PPTP's payload length + call id.
    pub const K: u16 = 0x2000;
    /// Sequence number present.
    pub const S: u16 = 0x1000;
    /// Acknowledgement number present (PPTP).
    pub const A: u16 = 0x0080;
}

/// GRE protocol type of PPP.
pub const PROTO_PPP: u16 = 0x880b;
/// GRE protocol type of ERSPAN types I and II.
const PROTO_ERSPAN: u16 = 0x88be;
/// GRE protocol type of ERSPAN type III.
const PROTO_ERSPAN3: u16 = 0x22eb;
/// GRE protocol type of NHRP.
const PROTO_NHRP: u16 = 0x2001;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The fields of PPTP's enhanced GRE header (RFC 2637 4.1), for the
/// detector that reports PPTP data flows seen without their control
/// connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PptpGre<'a> {
    /// The peer's call id (the key's low half).
    pub call_id: u16,
    /// Sequence number, when present (packets carrying data have one).
    pub seq: Option<u32>,
    /// The PPP frame (empty for an acknowledgement-only packet).
    pub ppp: &'a [u8],
}

/// Parses an enhanced GRE header: version 1, protocol 0x880B, key present
/// (payload length, call id), no checksum or routing, optional sequence
/// and acknowledgement numbers, and a payload length equal to the bytes
/// that follow. `None` when any of that does not hold.
pub fn pptp_gre(b: &[u8]) -> Option<PptpGre<'_>> {
    let flags = be16(b, 0)?;
    if flags & 0x7 != 1 || be16(b, 2)? != PROTO_PPP {
        return None;
    }
    // C, R, K, S, s, Recur (3 bits), A, flags (4 bits), version.
    if flags & (flag::C | flag::R) != 0 || flags & flag::K == 0 || flags & 0x0f78 != 0 {
        return None;
    }
    let payload_len = usize::from(be16(b, 4)?);
    let call_id = be16(b, 6)?;
    let mut off = 8;
    let mut seq = None;
    if flags & flag::S != 0 {
        seq = Some(u32::from_be_bytes(b.get(off..off + 4)?.try_into().ok()?));
        off += 4;
    }
    if flags & flag::A != 0 {
        off += 4;
    }
    let ppp = b.get(off..)?;
    (ppp.len() == payload_len).then_some(PptpGre { call_id, seq, ppp })
}

/// Decapsulates a GRE packet (`kind` is [`TunnelKind::Gre`] over IP,
/// [`TunnelKind::GreUdp`] over UDP).
pub(super) fn gre(b: &[u8], kind: TunnelKind) -> Result<Option<Inner<'_>>, DecodeError> {
    let flags = be16(b, 0).ok_or(DecodeError::TunnelInvalid)?;
    let proto = be16(b, 2).ok_or(DecodeError::TunnelInvalid)?;
    let version = flags & 0x7;
    if version == 1 {
        // RFC 2637 4.1. Compressed or encrypted PPP (MPPC/MPPE, protocol
        // 0x00FD) and PPP control frames have no inner packet; the PPTP
        // detector reports such flows from this header.
        if proto != PROTO_PPP || flags & flag::K == 0 {
            return Err(DecodeError::TunnelInvalid);
        }
        let mut off = 8usize;
        if flags & flag::S != 0 {
            off += 4;
        }
        if flags & flag::A != 0 {
            off += 4;
        }
        let frame = b.get(off..).ok_or(DecodeError::TunnelInvalid)?;
        return Ok(ppp_ip(frame, TunnelKind::PptpGre));
    }
    if version != 0 || flags & flag::R != 0 {
        // Other versions, and RFC 1701 source routing: not decoded.
        return Err(DecodeError::TunnelInvalid);
    }
    let mut off = 4usize;
    if flags & flag::C != 0 {
        off += 4; // checksum + reserved
    }
    if flags & flag::K != 0 {
        off += 4; // key
    }
    if flags & flag::S != 0 {
        off += 4; // sequence number
    }
    let data = b.get(off..).ok_or(DecodeError::TunnelInvalid)?;
    let start = match proto {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => InnerStart::Ip(proto),
        ETHERTYPE_TEB => InnerStart::Ethernet,
        PROTO_ERSPAN | PROTO_ERSPAN3 => return erspan(proto, flags & flag::S != 0, data),
        PROTO_PPP => return Ok(ppp_ip(data, kind)),
        PROTO_NHRP => {
            return Ok(nhrp(data).then_some(Inner {
                kind,
                start: InnerStart::Opaque,
                data,
            }));
        }
        _ => return Ok(None),
    };
    Ok(Some(Inner { kind, start, data }))
}

/// A PPP frame carrying IPv4 or IPv6, as an inner packet of `kind`.
pub(super) fn ppp_ip(frame: &[u8], kind: TunnelKind) -> Option<Inner<'_>> {
    let (proto, data) = ppp(frame)?;
    Some(Inner {
        kind,
        start: InnerStart::Ip(ppp_ethertype(proto)?),
        data,
    })
}

/// ERSPAN (draft-foschiano-erspan-03): type I has no header and no GRE
/// sequence number; type II (GRE sequence present) an 8-byte header of
/// version 1; type III (0x22EB) a 12-byte header of version 2, plus an
/// 8-byte platform-specific subheader when its O bit is set, and a frame
/// type (0 Ethernet, 2 IP).
fn erspan(proto: u16, seq: bool, data: &[u8]) -> Result<Option<Inner<'_>>, DecodeError> {
    let inner = |start, data| {
        Ok(Some(Inner {
            kind: TunnelKind::Erspan,
            start,
            data,
        }))
    };
    if proto == PROTO_ERSPAN && !seq {
        return inner(InnerStart::Ethernet, data); // type I
    }
    let version = data.first().ok_or(DecodeError::TunnelInvalid)? >> 4;
    if proto == PROTO_ERSPAN {
        if version != 1 {
            return Err(DecodeError::TunnelInvalid);
        }
        return inner(
            InnerStart::Ethernet,
            data.get(8..).ok_or(DecodeError::TunnelInvalid)?,
        );
    }
    let h = data.get(..12).ok_or(DecodeError::TunnelInvalid)?;
    if version != 2 {
        return Err(DecodeError::TunnelInvalid);
    }
    let frame_type = (h[10] >> 2) & 0x1f;
    let off = if h[11] & 0x01 != 0 { 20 } else { 12 };
    let frame = data.get(off..).ok_or(DecodeError::TunnelInvalid)?;
    match frame_type {
        0 => inner(InnerStart::Ethernet, frame),
        2 => match frame.first().map(|v| v >> 4) {
            Some(4) => inner(InnerStart::Ip(ETHERTYPE_IPV4), frame),
            Some(6) => inner(InnerStart::Ip(ETHERTYPE_IPV6), frame),
            _ => Err(DecodeError::TunnelInvalid),
        },
        _ => Ok(None),
    }
}

/// An NHRP fixed header (RFC 2332 5.2.0.1): 20 bytes, packet size no more
/// than the bytes present, op version 1, a defined packet type (1-7, and 8:
/// Cisco's traffic indication), and an extension offset inside the packet.
fn nhrp(b: &[u8]) -> bool {
    let Some(h) = b.get(..20) else {
        return false;
    };
    let size = usize::from(u16::from_be_bytes([h[10], h[11]]));
    let ext = usize::from(u16::from_be_bytes([h[14], h[15]]));
    (20..=b.len()).contains(&size)
        && h[16] == 1
        && (1..=8).contains(&h[17])
        && (ext == 0 || (20..=size).contains(&ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pptp_gre_reaches_ppp_ipv4() {
        // RFC 2637 4.1 header: flags K+S (0x3001), proto 0x880B, len, call id,
        // seq; then PPP with address/control and protocol 0x0021.
        let mut b = vec![0x30, 0x01, 0x88, 0x0b, 0x00, 0x05, 0x00, 0x01, 0, 0, 0, 1];
        b.extend_from_slice(&[0xff, 0x03, 0x00, 0x21, 0x45]);
        let i = gre(&b, TunnelKind::Gre).unwrap().unwrap();
        assert_eq!(i.kind, TunnelKind::PptpGre);
        assert_eq!(i.start, InnerStart::Ip(ETHERTYPE_IPV4));
        assert_eq!(i.data, &[0x45]);
        let h = pptp_gre(&b).unwrap();
        assert_eq!((h.call_id, h.seq, h.ppp.len()), (1, Some(1), 5));
    }

    #[test]
    fn pptp_encrypted_ppp_has_no_inner_packet_but_parses() {
        // PPP protocol 0x00FD (compressed datagram: MPPE/MPPC), RFC 1962.
        let b = [
            0x30, 0x01, 0x88, 0x0b, 0x00, 0x02, 0x00, 0x01, 0, 0, 0, 1, 0xfd, 0x90,
        ];
        assert!(gre(&b, TunnelKind::Gre).unwrap().is_none());
        assert_eq!(pptp_gre(&b).unwrap().ppp, &[0xfd, 0x90]);
        // A payload length that disagrees with the bytes present.
        let mut bad = b;
        bad[5] = 3;
        assert!(pptp_gre(&bad).is_none());
    }

    #[test]
    fn erspan_types_one_two_three() {
        let eth = [0xaa; 14];
        // Type I: GRE without sequence number, frame right after.
        let i = erspan(PROTO_ERSPAN, false, &eth).unwrap().unwrap();
        assert_eq!((i.kind, i.data.len()), (TunnelKind::Erspan, 14));
        // Type II: version 1 header of 8 bytes.
        let mut ii = vec![0x10, 0, 0, 1, 0, 0, 0, 0];
        ii.extend_from_slice(&eth);
        assert_eq!(erspan(PROTO_ERSPAN, true, &ii).unwrap().unwrap().data, &eth);
        // Type III: version 2, 12 bytes, O bit set: 8 more.
        let mut iii = vec![0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01];
        iii.extend_from_slice(&[0; 8]);
        iii.extend_from_slice(&eth);
        assert_eq!(
            erspan(PROTO_ERSPAN3, true, &iii).unwrap().unwrap().data,
            &eth
        );
        assert!(erspan(PROTO_ERSPAN, true, &[0x20; 8]).is_err());
    }

    #[test]
    fn nhrp_is_recognised_without_inner_packet() {
        // RFC 2332 5.2.0.1: afn 1, pro 0x0800, snap 0, hop 255, size 20,
        // checksum, extoff 0, version 1, type 1 (resolution request).
        let mut b = vec![0x00, 0x00, 0x20, 0x01];
        let nhrp_hdr = [
            0, 1, 0x08, 0, 0, 0, 0, 0, 0, 255, 0, 20, 0, 0, 0, 0, 1, 1, 0, 0,
        ];
        b.extend_from_slice(&nhrp_hdr);
        let i = gre(&b, TunnelKind::Gre).unwrap().unwrap();
        assert_eq!(i.start, InnerStart::Opaque);
        b[4 + 16] = 2; // op version 2: not NHRP as defined
        assert!(gre(&b, TunnelKind::Gre).unwrap().is_none());
    }
}
