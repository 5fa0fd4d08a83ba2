//! 802.11 data frames down to their LLC/SNAP payload, bare (LINKTYPE
//! IEEE802_11), under a radiotap header (IEEE802_11_RADIOTAP) or under a
//! PPI header (PPI), and inside CAPWAP's native 802.11 frames.
//!
//! Only unprotected, unfragmented data frames carry readable IP: protected
//! frames (WEP/TKIP/CCMP/GCMP: the payload is ciphertext), management and
//! control frames, null-data frames, fragments and A-MSDU aggregates are
//! counted as `not_ip` and skipped.

use super::DecodeError;
use super::link::{NetworkPayload, snap};

/// Frame-control flag bits (second byte), IEEE 802.11-2020 9.2.4.1.1.
mod fc {
    /// To DS.
    pub const TO_DS: u8 = 0x01;
    /// From DS.
    pub const FROM_DS: u8 = 0x02;
    /// More fragments follow.
    pub const MORE_FRAGMENTS: u8 = 0x04;
    /// The frame body is encrypted.
    pub const PROTECTED: u8 = 0x40;
    /// +HTC: an HT/VHT/HE control field follows QoS control.
    pub const HTC: u8 = 0x80;
}

/// Length of the radiotap fixed header (version, pad, length, present).
const RADIOTAP_MIN: usize = 8;
/// Radiotap presence words walked at most (each adds 32 bits).
const RADIOTAP_MAX_PRESENT: usize = 8;
/// Radiotap `Flags` bits (radiotap.org/fields/Flags).
mod rt_flags {
    /// The frame ends with a 4-byte FCS.
    pub const FCS: u8 = 0x10;
    /// Padding between the 802.11 header and the body, to 32 bits.
    pub const DATA_PAD: u8 = 0x20;
    /// The frame failed its FCS check.
    pub const BAD_FCS: u8 = 0x40;
}

/// A plain 802.11 frame: the data frame's payload, or why there is none.
/// `fcs` says the frame ends with a 4-byte frame check sequence.
pub fn data_frame(b: &[u8], fcs: bool) -> Result<NetworkPayload<'_>, DecodeError> {
    let b = if fcs {
        b.get(..b.len().wrapping_sub(4))
            .ok_or(DecodeError::LinkTruncated)?
    } else {
        b
    };
    let (fc0, fc1) = (
        *b.first().ok_or(DecodeError::LinkTruncated)?,
        *b.get(1).ok_or(DecodeError::LinkTruncated)?,
    );
    body(b, fc0, fc1, false).map(|(t, d)| NetworkPayload {
        ethertype: t,
        vlan: [0, 0],
        data: d,
    })
}

/// The LLC/SNAP payload of a data frame whose frame-control bytes are
/// `fc0`/`fc1` (IEEE 802.11-2020 9.3.2.1): address 4 when both DS bits are
/// set, QoS control for QoS subtypes, HT control when +HTC is set (QoS
/// frames only), optional padding to 32 bits (radiotap's DATA_PAD).
pub(super) fn body(b: &[u8], fc0: u8, fc1: u8, pad: bool) -> Result<(u16, &[u8]), DecodeError> {
    if fc0 & 0x03 != 0 || (fc0 >> 2) & 0x3 != 2 {
        return Err(DecodeError::NotIp); // protocol version 0 only; data type only
    }
    let subtype = fc0 >> 4;
    if subtype & 0x4 != 0 || fc1 & fc::PROTECTED != 0 {
        return Err(DecodeError::NotIp); // null data (no body); encrypted body
    }
    if fc1 & fc::MORE_FRAGMENTS != 0 {
        // A first or middle fragment: not reassembled (later fragments
        // fail the LLC/SNAP check below, having no LLC header).
        return Err(DecodeError::NotIp);
    }
    let mut off = 24;
    if fc1 & (fc::TO_DS | fc::FROM_DS) == fc::TO_DS | fc::FROM_DS {
        off += 6; // fourth address (WDS, mesh)
    }
    if subtype & 0x8 != 0 {
        let qos = b.get(off..off + 2).ok_or(DecodeError::LinkTruncated)?;
        if qos[0] & 0x80 != 0 {
            return Err(DecodeError::NotIp); // A-MSDU aggregate: not split
        }
        off += 2;
        if fc1 & fc::HTC != 0 {
            off += 4;
        }
    }
    if pad {
        off = (off + 3) & !3;
    }
    snap(b.get(off..).ok_or(DecodeError::LinkTruncated)?)
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A radiotap header (radiotap.org: version 0, little-endian length and
/// presence bitmaps, fields aligned to their natural size), then an 802.11
/// frame. Only the `Flags` field is read (FCS present, data padding, bad
/// FCS); it sits after `TSFT` (8 bytes, 8-aligned) when that is present.
pub fn radiotap(b: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let short = DecodeError::LinkTruncated;
    if b.len() < RADIOTAP_MIN || b[0] != 0 {
        return Err(short);
    }
    let len = usize::from(le16(b, 2).ok_or(short)?);
    let hdr = b.get(..len).ok_or(short)?;
    let present = le32(hdr, 4).ok_or(short)?;
    // Extended presence bitmaps: bit 31 says another word follows.
    let mut off = RADIOTAP_MIN;
    let mut word = present;
    let mut words = 1;
    while word & 0x8000_0000 != 0 {
        if words >= RADIOTAP_MAX_PRESENT {
            return Err(short);
        }
        word = le32(hdr, off).ok_or(short)?;
        off += 4;
        words += 1;
    }
    let mut flags = 0u8;
    if present & 0x2 != 0 {
        if present & 0x1 != 0 {
            off = ((off + 7) & !7) + 8; // TSFT: u64, 8-aligned
        }
        flags = *hdr.get(off).ok_or(short)?;
    }
    if flags & rt_flags::BAD_FCS != 0 {
        return Err(short);
    }
    let frame = &b[len..];
    let frame = if flags & rt_flags::FCS != 0 {
        frame.get(..frame.len().wrapping_sub(4)).ok_or(short)?
    } else {
        frame
    };
    let (fc0, fc1) = (*frame.first().ok_or(short)?, *frame.get(1).ok_or(short)?);
    body(frame, fc0, fc1, flags & rt_flags::DATA_PAD != 0).map(|(t, d)| NetworkPayload {
        ethertype: t,
        vlan: [0, 0],
        data: d,
    })
}

/// PPI field type of 802.11-Common (PPI specification 1.0.10, 4.1.2).
const PPI_80211_COMMON: u16 = 2;
/// Link type numbers PPI may wrap that this decoder reads.
const DLT_ETHERNET: u32 = 1;
/// 802.11 without radio header.
const DLT_IEEE802_11: u32 = 105;

/// A Per-Packet Information header (PPI specification 1.0.10, 3.1:
/// version 0, flags, little-endian length and DLT of the frame), then the
/// frame. PPI 802.11-Common's flags say whether the frame ends with an FCS
/// (bit 0) or failed it (bit 2).
pub fn ppi(b: &[u8]) -> Result<NetworkPayload<'_>, DecodeError> {
    let short = DecodeError::LinkTruncated;
    if b.len() < 8 || b[0] != 0 {
        return Err(short);
    }
    let len = usize::from(le16(b, 2).ok_or(short)?);
    let dlt = le32(b, 4).ok_or(short)?;
    let hdr = b.get(..len).ok_or(short)?;
    let mut fcs = false;
    let mut off = 8;
    // Fields: type (u16), length (u16), data; at most len/4 of them.
    while off + 4 <= hdr.len() {
        let ftype = le16(hdr, off).ok_or(short)?;
        let flen = usize::from(le16(hdr, off + 2).ok_or(short)?);
        let data = hdr.get(off + 4..off + 4 + flen).ok_or(short)?;
        if ftype == PPI_80211_COMMON {
            let f = le16(data, 8).ok_or(short)?;
            if f & 0x4 != 0 {
                return Err(short);
            }
            fcs = f & 0x1 != 0;
        }
        off += 4 + flen;
    }
    let frame = &b[len..];
    match dlt {
        DLT_IEEE802_11 => data_frame(frame, fcs),
        DLT_ETHERNET => super::link::ethernet(frame),
        _ => Err(DecodeError::NotIp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::link::ETHERTYPE_IPV4;

    /// A QoS data frame to the AP (IEEE 802.11-2020 9.3.2.1): frame control
    /// 0x88 0x01 (type data, subtype QoS data, To DS), duration, three
    /// addresses, sequence control, QoS control; then LLC/SNAP and IPv4.
    fn qos_to_ds(fc1: u8) -> Vec<u8> {
        let mut f = vec![0x88, fc1, 0, 0];
        f.extend_from_slice(&[0x11; 18]);
        f.extend_from_slice(&[0x10, 0x00]); // sequence 1, fragment 0
        if fc1 & 0x03 == 0x03 {
            f.extend_from_slice(&[0x22; 6]);
        }
        f.extend_from_slice(&[0x00, 0x00]); // QoS control
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
        f
    }

    #[test]
    fn qos_data_and_four_address_frames_reach_ip() {
        let three = qos_to_ds(0x01);
        let n = data_frame(&three, false).unwrap();
        assert_eq!((n.ethertype, n.data), (ETHERTYPE_IPV4, &[0x45][..]));
        let four = qos_to_ds(0x03);
        let n = data_frame(&four, false).unwrap();
        assert_eq!(n.data, &[0x45]);
    }

    #[test]
    fn protected_fragmented_and_management_frames_are_not_ip() {
        let e = data_frame(&qos_to_ds(0x41), false).unwrap_err();
        assert_eq!(e, DecodeError::NotIp);
        let e = data_frame(&qos_to_ds(0x05), false).unwrap_err();
        assert_eq!(e, DecodeError::NotIp);
        let mut beacon = qos_to_ds(0x00);
        beacon[0] = 0x80;
        assert_eq!(data_frame(&beacon, false).unwrap_err(), DecodeError::NotIp);
    }

    #[test]
    fn radiotap_with_tsft_and_fcs_flag() {
        // version 0, length 24, present = TSFT | Flags | ext-less, TSFT at 8,
        // Flags (FCS) at 16, 7 bytes padding to the length.
        let mut f = vec![0, 0, 24, 0, 0x03, 0, 0, 0];
        f.extend_from_slice(&[0; 8]);
        f.push(0x10);
        f.extend_from_slice(&[0; 7]);
        f.extend_from_slice(&qos_to_ds(0x01));
        f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // FCS
        let n = radiotap(&f).unwrap();
        assert_eq!(n.data, &[0x45]);
    }

    #[test]
    fn ppi_wrapping_80211() {
        // PPI header: version 0, flags 0, length 8, DLT 105.
        let mut f = vec![0, 0, 8, 0, 105, 0, 0, 0];
        f.extend_from_slice(&qos_to_ds(0x01));
        let n = ppi(&f).unwrap();
        assert_eq!(n.data, &[0x45]);
        assert_eq!(ppi(&f[..6]).unwrap_err(), DecodeError::LinkTruncated);
    }
}
