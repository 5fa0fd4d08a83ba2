//! PPTP data channels seen without their control connection.
//!
//! PPTP (RFC 2637) carries PPP in an enhanced GRE header (version 1,
//! protocol 0x880B, key field = payload length + call id, §4.1). When the
//! PPP frames carry plain IP the decoder decapsulates them and the flow is
//! reported as a verified encapsulation; when they are compressed or
//! encrypted (MPPC/MPPE: PPP protocol 0x00FD, RFC 1962 / RFC 3078) nothing
//! inside can be read, and the TCP 1723 control connection may predate the
//! capture. This detector reports such flows from the header structure: a
//! valid enhanced GRE header on each packet (payload length equal to the
//! bytes present, reserved bits clear), one call id per direction,
//! sequence numbers that move forward, and PPP inside.
//!
//! Medium confidence: the structure is specific (IP protocol 47 with
//! version 1 and 0x880B is PPTP by definition) but the key exchange that
//! would prove a session was not seen. Known misses: a flow whose few
//! packets are acknowledgements only.

use super::{Basis, Category, Confidence, Detection, PacketView};
use crate::decode::gre::pptp_gre;
use crate::decode::link::{ppp, ppp_ethertype};
use crate::detect::Protocol;
use crate::dissect::verdict::Direction;

/// Valid packets needed before reporting while packets arrive.
const REPORT_AT: u16 = 3;
/// Valid packets enough at the end of a short flow.
const REPORT_AT_END: u16 = 2;
/// PPP protocol of a compressed (and with MPPE, encrypted) datagram.
const PPP_COMPRESSED: u16 = 0x00fd;

/// Per-flow state of the PPTP data detector.
#[derive(Debug, Default)]
pub struct PptpData {
    /// Valid enhanced GRE packets.
    valid: u16,
    /// ... carrying a compressed/encrypted PPP datagram.
    compressed: u16,
    /// ... carrying PPP control (LCP, IPCP, CCP, authentication).
    control: u16,
    /// Call id per direction (to server, to client), once seen.
    call_id: [Option<u16>; 2],
    /// Last sequence number per direction.
    seq: [Option<u32>; 2],
    /// Sequence numbers that went backwards (reordering is tolerated once).
    backwards: u8,
}

/// What one packet says.
pub(super) enum Step {
    /// Nothing decided yet.
    More,
    /// Not PPTP data, or PPP carrying IP (the decapsulation reports that
    /// flow with certainty): stop looking.
    Stop,
    /// Enough evidence: report.
    Found(Detection),
}

impl PptpData {
    /// One GRE packet of the flow.
    pub(super) fn on_packet(&mut self, p: &PacketView<'_>) -> Step {
        let Some(h) = pptp_gre(p.payload) else {
            return Step::Stop;
        };
        let d = usize::from(p.dir == Direction::ToClient);
        if self.call_id[d].is_some_and(|c| c != h.call_id) {
            return Step::Stop;
        }
        self.call_id[d] = Some(h.call_id);
        if let Some(seq) = h.seq {
            if let Some(last) = self.seq[d]
                && (seq.wrapping_sub(last) as i32) <= 0
            {
                self.backwards += 1;
                if self.backwards > 1 {
                    return Step::Stop;
                }
            }
            self.seq[d] = Some(seq);
        }
        if !h.ppp.is_empty() {
            let Some((proto, _)) = ppp(h.ppp) else {
                return Step::Stop;
            };
            if ppp_ethertype(proto).is_some() {
                return Step::Stop;
            }
            if proto == PPP_COMPRESSED {
                self.compressed += 1;
            } else if proto >= 0x8000 {
                self.control += 1;
            } else {
                return Step::Stop; // another network protocol: not expected
            }
        }
        self.valid += 1;
        if self.valid >= REPORT_AT && self.compressed > 0 {
            return Step::Found(self.detection());
        }
        Step::More
    }

    /// The flow ended: report a short flow whose packets all fitted.
    pub(super) fn verdict(&self) -> Option<Detection> {
        (self.valid >= REPORT_AT_END && self.compressed + self.control > 0)
            .then(|| self.detection())
    }

    fn detection(&self) -> Detection {
        let id = |c: Option<u16>| c.map_or_else(|| "-".to_string(), |c| c.to_string());
        Detection::new(
            Category::Vpn,
            Protocol::Pptp,
            Confidence::Medium,
            Basis::Structure,
            "PPTP data channel without its control connection: enhanced GRE version 1 \
             (RFC 2637 4.1) with one call id per direction, carrying PPP \
             (compressed/encrypted frames are MPPC/MPPE)",
        )
        .with("encapsulation", "pptp_gre")
        .with("gre_packets", self.valid)
        .with("ppp_compressed", self.compressed)
        .with("ppp_control", self.control)
        .with("call_id_to_server", id(self.call_id[0]))
        .with("call_id_to_client", id(self.call_id[1]))
        .midstream()
    }
}
