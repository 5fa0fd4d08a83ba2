//! Cisco AnyConnect / OpenConnect DTLS data channel, by structure.
//!
//! AnyConnect negotiates its UDP data channel with the pre-standard DTLS of
//! OpenSSL 0.9.8 (`DTLS1_BAD_VER`, record version 0x0100; see OpenConnect's
//! `dtls.c` and the `X-DTLS-*` headers of the CSTP exchange). Standard DTLS
//! uses 0xfeff/0xfefd, so records with version 0x0100, a sane content type,
//! epoch, sequence and a length that tiles the datagram exactly are the
//! AnyConnect data channel. (The CSTP side is an ordinary TLS session
//! without a recognisable name; it is not flagged here.)

use super::{side, structure};
use crate::detect::Protocol;
use crate::detect::{Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;

/// DTLS record header length.
const REC: usize = 13;

/// Walks the DTLS records of a datagram; returns (records, first content
/// type, first handshake type) when every record has version 0x0100 and the
/// records tile the datagram.
pub(super) fn parse(b: &[u8]) -> Option<(u8, u8, Option<u8>)> {
    let mut off = 0;
    let mut n = 0u8;
    let mut first = (0, None);
    while off < b.len() {
        let h = b.get(off..off + REC)?;
        if !(20..=23).contains(&h[0]) || h[1..3] != [0x01, 0x00] || h[3] > 4 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([h[11], h[12]]));
        if len == 0 || off + REC + len > b.len() {
            return None;
        }
        if n == 0 {
            first = (h[0], (h[0] == 22).then(|| b[off + REC]));
        }
        n += 1;
        off += REC + len;
        if n > 8 {
            return None;
        }
    }
    (n > 0).then_some((n, first.0, first.1))
}

/// The AnyConnect DTLS detector of one flow.
#[derive(Debug, Default)]
pub struct AnyConnect {
    n: [u8; 2],
    hello: bool,
    /// Stopped, or how far reported.
    decision: Decision,
}

impl Detector for AnyConnect {
    detector_head! { ctx: super::VpnCtx, protocol: AnyConnect, transports: [UDP], done: decision }

    /// One UDP datagram.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let Some((_, ct, hs)) = parse(p.payload) else {
            self.decision.stopped = self.decision.reported.is_none();
            return;
        };
        let d = side(p.dir);
        self.n[d] = self.n[d].saturating_add(1);
        self.hello |= ct == 22 && hs == Some(1);
        let conf = if self.n[0] > 0 && self.n[1] > 0 {
            Confidence::Certain
        } else if self.hello || self.n[d] >= 3 {
            Confidence::High
        } else {
            return;
        };
        if !self.decision.raise(conf) {
            return;
        }
        out.push(
            structure(
                Protocol::AnyConnect,
                conf,
                "AnyConnect DTLS data channel: records with the pre-standard DTLS version 0x0100 (DTLS1_BAD_VER)",
            )
            .with("dtls_version", "0x0100")
            .with("client_hello", self.hello)
            .with("records", format!("{}/{}", self.n[0], self.n[1])),
        );
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::{feed, last_confidence};

    // anyconnect-vpn.pcap frame 439 (server HelloVerifyRequest, 48 bytes)
    // and frame 467's header on a synthetic body (application data).
    #[test]
    fn bad_ver_both_ways() {
        let hv = "160100000000000000000000230300001700000000000000170100146291bcf11a76eec56236218cac4cd4c37c12411d";
        let ad = format!("17010000010000000000010070{}", "9a".repeat(0x70));
        let pk: Vec<(bool, &str)> = vec![(true, &ad), (false, hv)];
        assert_eq!(
            last_confidence::<AnyConnect>(17, &pk),
            Some(Confidence::Certain)
        );
    }

    // Standard DTLS 1.2 (0xfefd) is WebRTC, not AnyConnect.
    #[test]
    fn dtls12_is_not_anyconnect() {
        let pk: Vec<(bool, &str)> = vec![(true, "16fefd000000000000000000050102030405")];
        let mut det = AnyConnect::default();
        assert!(feed(&mut det, 17, &pk).is_empty());
    }
}
