//! L2TP control channel (RFC 2661 §3.1, L2TPv3 over UDP RFC 3931 §4.1.2.1),
//! by structure.
//!
//! A control message has the T (control), L (length present) and S
//! (sequence present) bits set, O clear, version 2 (or 3), a length equal to
//! the datagram, and (unless it is a zero-length acknowledgement) a first
//! AVP that is the mandatory Message Type AVP (vendor 0, attribute 0, 8
//! bytes, message type 1-20).

use super::{side, structure};
use crate::detect::Protocol;
use crate::detect::{Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;

/// Checks one L2TP control message; returns (version, message type, 0 for
/// a ZLB acknowledgement).
pub(super) fn parse(b: &[u8]) -> Option<(u8, u16)> {
    if b.len() < 12 {
        return None;
    }
    let flags = u16::from_be_bytes([b[0], b[1]]);
    let ver = (flags & 0x0f) as u8;
    // T, L and S set; O and P clear; reserved bits zero.
    if flags & 0xfff0 != 0xc800 || !(ver == 2 || ver == 3) {
        return None;
    }
    if usize::from(u16::from_be_bytes([b[2], b[3]])) != b.len() {
        return None;
    }
    // v2: tunnel id, session id, Ns, Nr (12 bytes); v3: control connection
    // id, Ns, Nr (12 bytes).
    let avp = &b[12..];
    if avp.is_empty() {
        return Some((ver, 0));
    }
    if avp.len() < 8 {
        return None;
    }
    let alen = u16::from_be_bytes([avp[0], avp[1]]) & 0x03ff;
    let vendor = u16::from_be_bytes([avp[2], avp[3]]);
    let attr = u16::from_be_bytes([avp[4], avp[5]]);
    let mtype = u16::from_be_bytes([avp[6], avp[7]]);
    // Mandatory bit set, reserved bits clear, 8 bytes, vendor 0, type 0.
    if avp[0] & 0x80 == 0 || avp[0] & 0x3c != 0 || alen != 8 || vendor != 0 || attr != 0 {
        return None;
    }
    if !(1..=20).contains(&mtype) {
        return None;
    }
    Some((ver, mtype))
}

/// The L2TP detector of one flow.
#[derive(Debug, Default)]
pub struct L2tp {
    n: [u8; 2],
    ver: u8,
    first_type: u16,
    /// Stopped, or how far reported.
    decision: Decision,
}

impl Detector for L2tp {
    detector_head! { ctx: super::VpnCtx, protocol: L2tp, transports: [UDP], done: decision }

    /// One UDP datagram.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = side(p.dir);
        let Some((ver, t)) = parse(p.payload) else {
            // Data messages (T clear) follow the control exchange.
            if self.n == [0, 0] {
                self.decision.stopped = true;
            }
            return;
        };
        if self.n == [0, 0] {
            if t == 0 {
                // A lone acknowledgement is too little to start from.
                self.decision.stopped = true;
                return;
            }
            self.ver = ver;
            self.first_type = t;
        }
        self.n[d] = self.n[d].saturating_add(1);
        let conf = if self.n[0] > 0 && self.n[1] > 0 {
            Confidence::Certain
        } else if self.n[d] >= 2 {
            Confidence::High
        } else {
            Confidence::Medium
        };
        if !self.decision.raise(conf) {
            return;
        }
        out.push(
            structure(
                Protocol::L2tp,
                conf,
                "L2TP control messages: T/L/S header, length matching, Message Type AVP first",
            )
            .with("version", self.ver)
            .with("first_message_type", self.first_type)
            .with("messages", format!("{}/{}", self.n[0], self.n[1])),
        );
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::{feed, last_confidence};

    // An SCCRQ (RFC 2661 §6.1) as sent by xl2tpd: header, Message Type AVP
    // (1), Protocol Version AVP; and the SCCRP answer.
    #[test]
    fn sccrq_sccrp() {
        let rq = "c802001400000000000000008008000000000001";
        let rp = "c802001400010000000000018008000000000002";
        let pk: Vec<(bool, &str)> = vec![(true, rq), (false, rp)];
        assert_eq!(
            last_confidence::<L2tp>(17, &pk),
            Some(Confidence::Certain)
        );
    }

    #[test]
    fn dns_is_not_l2tp() {
        let pk: Vec<(bool, &str)> = vec![(true, "c8020100000100000000000003777777")];
        let mut det = L2tp::default();
        assert!(feed(&mut det, 17, &pk).is_empty());
    }
}
