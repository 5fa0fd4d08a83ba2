//! Cisco AnyConnect / OpenConnect DTLS data channel, by structure.
//!
//! The client opens its UDP channel after the CSTP exchange over TLS has
//! handed it the DTLS keys (`X-DTLS-*` headers; OpenConnect protocol draft,
//! draft-mavrogiannopoulos-openconnect; OpenConnect's `dtls.c` and
//! `gnutls-dtls.c`, ocserv's `worker-vpn.c`). Three forms exist, each
//! recognisable on the wire:
//! - **legacy** (`DTLS1_BAD_VER`): the pre-standard DTLS of OpenSSL 0.9.8,
//!   record version 0x0100. Standard DTLS uses 0xfeff/0xfefd, so records
//!   with version 0x0100, a sane content type, epoch and a length that tiles
//!   the datagram exactly are the AnyConnect data channel.
//! - **DTLS 1.2 resumption** (`X-DTLS12-CipherSuite`, OpenConnect's
//!   `OC-DTLS1_2-*`): the client resumes a session it never negotiated over
//!   UDP (session id and master secret came over CSTP). Its first
//!   ClientHello carries a 32-byte session id and offers exactly the one
//!   suite CSTP agreed; the server's ServerHello echoes that session id
//!   and goes straight to ChangeCipherSpec (an abbreviated handshake on the
//!   flow's first exchange, no Certificate).
//! - **PSK-NEGOTIATE** (OpenConnect 8+ with ocserv 0.12+): DTLS 1.2 keyed
//!   from the CSTP session by a pre-shared key; the client offers only PSK
//!   suites and its ClientKeyExchange names the PSK identity `psk` (RFC
//!   4279: the identity travels in clear).
//!
//! The CSTP side is an ordinary TLS session; it is tied to this channel
//! by the family's cross-flow rule (`VpnDetectors::on_related`).

use super::{side, structure};
use crate::detect::Protocol;
use crate::detect::{Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;

/// DTLS record header length.
const REC: usize = 13;
/// DTLS handshake header length.
const HS: usize = 12;
/// Records walked per datagram.
const MAX_RECORDS: u8 = 8;

/// Walks the DTLS records of a datagram; returns (records, first content
/// type, first handshake type) when every record has version 0x0100 and the
/// records tile the datagram.
pub(super) fn parse(b: &[u8]) -> Option<(u8, u8, Option<u8>)> {
    let mut n = 0u8;
    let mut first = (0, None);
    let ok = records(b, |r| {
        if r.version != 0x0100 {
            return false;
        }
        if n == 0 {
            first = (r.ct, (r.ct == 22).then(|| r.body.first().copied()).flatten());
        }
        n += 1;
        true
    });
    (ok && n > 0).then_some((n, first.0, first.1))
}

/// One DTLS record.
struct Record<'a> {
    ct: u8,
    version: u16,
    epoch: u16,
    body: &'a [u8],
}

/// Calls `f` on each record of a datagram while it returns true; true when
/// the records (sane content type, version 0x0100/0xfeff/0xfefd, epoch
/// ≤ 4, non-empty) tile the datagram exactly and `f` accepted them all.
fn records(b: &[u8], mut f: impl FnMut(&Record<'_>) -> bool) -> bool {
    let mut off = 0;
    let mut n = 0u8;
    while off < b.len() {
        let Some(h) = b.get(off..off + REC) else {
            return false;
        };
        let version = u16::from_be_bytes([h[1], h[2]]);
        let epoch = u16::from_be_bytes([h[3], h[4]]);
        if !(20..=23).contains(&h[0])
            || !matches!(version, 0x0100 | 0xfeff | 0xfefd)
            || epoch > 4
        {
            return false;
        }
        let len = usize::from(u16::from_be_bytes([h[11], h[12]]));
        let Some(body) = b.get(off + REC..off + REC + len) else {
            return false;
        };
        n += 1;
        if len == 0 || n > MAX_RECORDS {
            return false;
        }
        if !f(&Record {
            ct: h[0],
            version,
            epoch,
            body,
        }) {
            return false;
        }
        off += REC + len;
    }
    n > 0
}

/// True for the IANA TLS cipher suites keyed by a pre-shared key (PSK,
/// DHE_PSK, RSA_PSK and ECDHE_PSK with AES, Camellia, ARIA, CCM, ChaCha20).
fn is_psk_suite(s: u16) -> bool {
    matches!(
        s,
        0x002c..=0x002e
            | 0x008a..=0x0095
            | 0x00a8..=0x00b9
            | 0xc033..=0xc03b
            | 0xc064..=0xc071
            | 0xc08e..=0xc09b
            | 0xc0a4..=0xc0ab
            | 0xccab..=0xccae
            | 0xd001..=0xd005
    )
}

/// What a plaintext ClientHello or ServerHello says.
#[derive(Debug, Default, Clone, Copy)]
struct Hello {
    /// Session id (first 32 bytes) and its length.
    sid: [u8; 32],
    sid_len: u8,
    /// Offered suites (ClientHello) or the chosen one (ServerHello).
    suites: u16,
    /// Every offered suite (or the chosen one) is a PSK suite.
    psk_only: bool,
}

/// Reads a ClientHello (`client`) or ServerHello body (after the 12-byte
/// handshake header): version, random, session id, [cookie], suites.
fn hello(m: &[u8], client: bool) -> Option<Hello> {
    let mut h = Hello::default();
    let sid_len = usize::from(*m.get(34)?);
    if sid_len > 32 {
        return None;
    }
    h.sid[..sid_len].copy_from_slice(m.get(35..35 + sid_len)?);
    h.sid_len = sid_len as u8;
    let mut p = 35 + sid_len;
    if client {
        let cookie = usize::from(*m.get(p)?);
        p += 1 + cookie;
        let n = usize::from(u16::from_be_bytes([*m.get(p)?, *m.get(p + 1)?]));
        if n == 0 || n % 2 != 0 {
            return None;
        }
        let list = m.get(p + 2..p + 2 + n)?;
        h.suites = (n / 2) as u16;
        h.psk_only = list
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            // TLS_EMPTY_RENEGOTIATION_INFO_SCSV is not a suite.
            .filter(|&s| s != 0x00ff)
            .all(is_psk_suite);
    } else {
        let s = u16::from_be_bytes([*m.get(p)?, *m.get(p + 1)?]);
        h.suites = 1;
        h.psk_only = is_psk_suite(s);
    }
    Some(h)
}

/// The AnyConnect DTLS detector of one flow.
#[derive(Debug, Default)]
pub struct AnyConnect {
    n: [u8; 2],
    hello: bool,
    /// Standard-version DTLS seen (the 1.2 forms).
    std: bool,
    /// The client's first ClientHello: a resumption offer (32-byte session
    /// id, one suite), or PSK suites only.
    resume_offer: Option<[u8; 32]>,
    psk_offer: bool,
    /// The server's ServerHello echoed the offered session id; then its
    /// ChangeCipherSpec came with no Certificate before it.
    resumed: bool,
    abbreviated: bool,
    /// The server sent a Certificate (a full handshake).
    certificate: bool,
    /// The server chose a PSK suite.
    server_psk: bool,
    /// The client's ClientKeyExchange named the identity `psk`.
    psk_identity: bool,
    /// Stopped, or how far reported.
    decision: Decision,
}

impl Detector for AnyConnect {
    detector_head! { ctx: super::VpnCtx, protocol: AnyConnect, transports: [UDP], done: decision }

    /// One UDP datagram.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = side(p.dir);
        if !self.std {
            if let Some((_, ct, hs)) = parse(p.payload) {
                self.n[d] = self.n[d].saturating_add(1);
                self.hello |= ct == 22 && hs == Some(1);
                return self.judge_legacy(d, out);
            }
            // Standard DTLS counts only from the flow's first datagram on.
            if self.n != [0, 0] || self.decision.reported.is_some() {
                self.decision.stopped = self.decision.reported.is_none();
                return;
            }
            self.std = true;
        }
        if !self.on_std(d, p.payload) {
            self.decision.stopped = self.decision.reported.is_none();
            return;
        }
        self.n[d] = self.n[d].saturating_add(1);
        self.judge_std(out);
    }
}

impl AnyConnect {
    /// The legacy (`DTLS1_BAD_VER`) channel.
    fn judge_legacy(&mut self, d: usize, out: &mut Vec<Detection>) {
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
            .with("dtls_mode", "legacy")
            .with("client_hello", self.hello)
            .with("records", format!("{}/{}", self.n[0], self.n[1])),
        );
    }

    /// One standard-version DTLS datagram; false when it does not fit the
    /// OpenConnect DTLS 1.2 handshake.
    fn on_std(&mut self, d: usize, b: &[u8]) -> bool {
        let first = self.n == [0, 0];
        let mut fits = true;
        let tiled = records(b, |r| {
            if r.version == 0x0100 {
                return false;
            }
            if r.ct == 20 && d == 1 && self.resumed && !self.certificate {
                self.abbreviated = true;
            }
            // Only the plaintext (epoch 0) handshake says anything.
            if r.ct != 22 || r.epoch != 0 {
                return true;
            }
            let m = r.body;
            let (Some(&ty), Some(body)) = (m.first(), m.get(HS..)) else {
                fits = false;
                return true;
            };
            // Only whole, unfragmented messages are read.
            if m[6..9] != [0, 0, 0] {
                return true;
            }
            match (ty, d) {
                (1, 0) => match hello(body, true) {
                    Some(h) => {
                        if h.sid_len == 32 && h.suites == 1 {
                            self.resume_offer = Some(h.sid);
                        } else if h.psk_only {
                            self.psk_offer = true;
                        } else {
                            fits = false;
                        }
                    }
                    None => fits = false,
                },
                (2, 1) => match hello(body, false) {
                    Some(h) => {
                        self.resumed |= self
                            .resume_offer
                            .is_some_and(|s| h.sid_len == 32 && h.sid == s);
                        self.server_psk |= self.psk_offer && h.psk_only;
                    }
                    None => fits = false,
                },
                (3, 1) => {}
                (11, 1) => self.certificate = true,
                (16, 0) => {
                    // RFC 4279: psk_identity<0..2^16-1> comes first.
                    self.psk_identity |= self.psk_offer && body.get(..5) == Some(&b"\x00\x03psk"[..]);
                }
                _ => {}
            }
            true
        });
        // The flow must open with the client's ClientHello.
        let opened = !first || d == 0 && (self.resume_offer.is_some() || self.psk_offer);
        tiled && fits && opened
    }

    /// The DTLS 1.2 forms: resumption or PSK-NEGOTIATE.
    fn judge_std(&mut self, out: &mut Vec<Detection>) {
        let (conf, mode, why) = if self.psk_identity && self.server_psk {
            (
                Confidence::Certain,
                "psk-negotiate",
                "OpenConnect DTLS 1.2 PSK-NEGOTIATE: PSK suites only, the server choosing one, the ClientKeyExchange naming the identity `psk`",
            )
        } else if self.psk_identity {
            (
                Confidence::High,
                "psk-negotiate",
                "OpenConnect DTLS 1.2 PSK-NEGOTIATE: PSK suites only and a ClientKeyExchange naming the identity `psk`",
            )
        } else if self.resumed && self.abbreviated && !self.certificate {
            (
                Confidence::High,
                "dtls12-resumption",
                "AnyConnect DTLS 1.2 channel: the flow's first ClientHello resumes a session never negotiated over UDP (32-byte session id, one suite), echoed by the server and straight to ChangeCipherSpec",
            )
        } else {
            return;
        };
        if !self.decision.raise(conf) {
            return;
        }
        out.push(
            structure(Protocol::AnyConnect, conf, why)
                .with("dtls_version", "0xfefd")
                .with("dtls_mode", mode)
                .with("client_hello", true)
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

    // ocserv-dtls-psk.pcap (openconnect 9.01 to ocserv 1.1.6), datagrams
    // 1-4: ClientHello with PSK suites only, ServerHello choosing
    // TLS_PSK_WITH_AES_256_GCM_SHA384, ServerHelloDone, ClientKeyExchange
    // with identity `psk` + ChangeCipherSpec + Finished.
    const PSK: &[(bool, &str)] = &[
        (true, "16feff0000000000000000009b0100008f000000000000008ffefdb736e4c5fa731cf5bb484c4e1d7194fa4c6f6d91e020c063c74d7ef5ce21732e20d7921dd4e72767e2dab96333c727ffc0cc0590fa8f32e41b380c80b77566c1ac00001000a9ccabc0a5008d00a8c0a4008c00ae01000035000d00220020040108090804040308070501080a0805050308080601080b080606030201020300230000ff01000100001c00024000"),
        (false, "16fefd0000000000000000005f020000530000000000000053fefdf9d12813153d7a0701dd6e468343b12d88c8a3cbc0d420f6d3d81e0b7541f4f92082008142de1b609951048af8b66c3a7859867d5fd74569370ae8618825d0a70300a900000bff01000100001c00024000"),
        (false, "16fefd0000000000000001000c0e0000000001000000000000"),
        (true, "16fefd00000000000000010011100000050001000000000005000370736b14fefd000000000000000200010116fefd000100000000000000300001000000000000696523a3df171ddd5dcd1a65f8901f79feea8a7990c75910fb9b7119ee8de5347402318a384b883c"),
    ];

    #[test]
    fn psk_negotiate_is_certain() {
        assert_eq!(last_confidence::<AnyConnect>(17, PSK), Some(Confidence::Certain));
        assert_eq!(last_confidence::<AnyConnect>(17, &PSK[..1]), None);
    }

    // ocserv-dtls12-gcm.pcap (--dtls-ciphers=OC-DTLS1_2-AES128-GCM),
    // datagrams 1-4: ClientHello with a 32-byte session id and one suite,
    // ServerHello echoing it, ChangeCipherSpec, Finished.
    const RESUME: &[(bool, &str)] = &[
        (true, "16fefd0000000000000000008d010000810000000000000081fefd29777d9652d471fe46c67d91b617587af68e11354d90320be6d057bfb65885fb209b94eedf05aa783bd76d9ef9ad0c9b1d105feed36090aac0b217755c113e7539000002009c01000035000d00220020040108090804040308070501080a0805050308080601080b080606030201020300230000ff01000100001c00024000"),
        (false, "16fefd0000000000000000005a0200004e000000000000004efefd99debca0b8cf5bfb8355d3cec4966778945fe6f8d9584a1c238d85e6dc2490d9209b94eedf05aa783bd76d9ef9ad0c9b1d105feed36090aac0b217755c113e7539009c000006001c00024000"),
        (false, "14fefd0000000000000001000101"),
        (false, "16fefd000100000000000000300001000000000000c556170f343d17e8809424fe2f7071dc93af4154b4732ac55f43bff57908782230f828b2f581c2c5"),
    ];

    #[test]
    fn dtls12_resumption_is_high() {
        let mut det = AnyConnect::default();
        let out = feed(&mut det, 17, RESUME);
        let d = out.last().expect("detected");
        assert_eq!(d.confidence, Confidence::High);
        assert_eq!(d.evidence.get("dtls_mode"), Some("dtls12-resumption"));
    }

    // A full DTLS 1.2 handshake (WebRTC-like: many suites, empty session
    // id) is not AnyConnect, and the detector stops on it.
    #[test]
    fn full_dtls12_handshake_is_not_anyconnect() {
        let ch = format!(
            "16fefd000000000000000000{:04x}01{:06x}0000000000{:06x}fefd{}0000{}0100",
            12 + 2 + 32 + 1 + 1 + 2 + 8 + 2,
            2 + 32 + 1 + 1 + 2 + 8 + 2,
            2 + 32 + 1 + 1 + 2 + 8 + 2,
            "11".repeat(32),
            "0008c02bc02fc00ac014",
        );
        let mut det = AnyConnect::default();
        assert!(feed(&mut det, 17, &[(true, ch.as_str())]).is_empty());
        assert!(det.done());
    }
}
