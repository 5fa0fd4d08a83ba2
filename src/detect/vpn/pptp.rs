//! PPTP control connection (RFC 2637 §2), by structure.
//!
//! Every control message starts with a 2-byte length, the PPTP message type
//! (1 = control), the magic cookie 0x1A2B3C4D, the control message type
//! (1-15) and 2 reserved zero bytes. A session opens with
//! Start-Control-Connection-Request (1) and -Reply (2), both 156 bytes.

use super::{be32, side, structure};
use crate::detect::Protocol;
use crate::detect::{Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;

/// The PPTP magic cookie.
const MAGIC: u32 = 0x1A2B_3C4D;

/// Checks one PPTP control message at the start of a TCP segment; returns
/// the control message type.
pub(super) fn parse(b: &[u8]) -> Option<u16> {
    if b.len() < 16 || be32(b, 4)? != MAGIC {
        return None;
    }
    let len = u16::from_be_bytes([b[0], b[1]]);
    let mtype = u16::from_be_bytes([b[2], b[3]]);
    let ctype = u16::from_be_bytes([b[8], b[9]]);
    if mtype != 1 || !(1..=15).contains(&ctype) || b[10..12] != [0, 0] || len < 16 {
        return None;
    }
    // Start-Control-Connection messages have a fixed size.
    if matches!(ctype, 1 | 2) && len != 156 {
        return None;
    }
    Some(ctype)
}

/// The PPTP detector of one flow.
#[derive(Debug, Default)]
pub struct Pptp {
    /// Control messages per direction.
    n: [u8; 2],
    /// First control type per direction.
    first: [u16; 2],
    /// Stopped, or how far reported.
    decision: Decision,
}

impl Detector for Pptp {
    detector_head! { ctx: super::VpnCtx, protocol: Pptp, transports: [TCP], done: decision }

    /// One TCP segment.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = side(p.dir);
        match parse(p.payload) {
            Some(t) => {
                if self.n[d] == 0 {
                    self.first[d] = t;
                }
                self.n[d] = self.n[d].saturating_add(1);
            }
            None => {
                if self.n == [0, 0] {
                    self.decision.stopped = true;
                }
                return;
            }
        }
        let conf = Confidence::certain_if(self.n[0] > 0 && self.n[1] > 0);
        if !self.decision.raise(conf) {
            return;
        }
        out.push(
            structure(
                Protocol::Pptp,
                conf,
                if conf == Confidence::Certain {
                    "PPTP control connection both ways (magic cookie 0x1A2B3C4D, Start-Control-Connection)"
                } else {
                    "PPTP control message (magic cookie 0x1A2B3C4D)"
                },
            )
            .with("control_types", format!("{}/{}", self.first[0], self.first[1]))
            .with("messages", format!("{}/{}", self.n[0], self.n[1])),
        );
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::{feed, last_confidence};

    // pptp.pcap frames 4 and 6: Start-Control-Connection-Request / -Reply
    // (first 32 bytes pasted, the rest zero-filled host/vendor names).
    #[test]
    fn sccrq_sccrp() {
        let rq = format!(
            "009c00011a2b3c4d00010000010000000000000300000003ffff00016c6f6361{}",
            "00".repeat(124)
        );
        let rp = format!(
            "009c00011a2b3c4d00020000010001000000000200000003000000000000000000{}",
            "00".repeat(123)
        );
        let pk: Vec<(bool, &str)> = vec![(true, &rq), (false, &rp)];
        assert_eq!(
            last_confidence::<Pptp>(6, &pk),
            Some(Confidence::Certain)
        );
    }

    #[test]
    fn http_is_not_pptp() {
        let pk: Vec<(bool, &str)> = vec![(true, "474554202f20485454502f312e310d0a")];
        let mut det = Pptp::default();
        assert!(feed(&mut det, 6, &pk).is_empty());
        assert!(det.done());
    }
}
