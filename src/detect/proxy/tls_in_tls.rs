//! TLS-wrapped proxies (Trojan, VMess/VLESS over TLS, HTTPS proxies): a TLS
//! handshake relayed inside an outer TLS session.
//!
//! Xue et al., "Fingerprinting Obfuscated Proxy Traffic with Encapsulated
//! TLS Handshakes" (USENIX Security 2024): the first application-data
//! exchange of such a session replays the user's own handshake. This
//! detector reads the outer TLS record headers (RFC 8446 §5.1, RFC 5246
//! §6.2: content type, version 3.x, 16-bit length) of the flow's first
//! payload packets:
//! * the flow starts with a client handshake record, and the server has
//!   answered before the client's first application data;
//! * the client's TLS 1.3 Finished (an application-data record of 53 or 69
//!   bytes, or one behind a ChangeCipherSpec) is skipped;
//! * the first application data is one ClientHello-sized burst, the
//!   server answers with a kilobyte or more, and the client's next packet
//!   starts with an application-data record whose length is exactly an
//!   inner closing flight ([`super::encap::INNER_FINISHED`]) plus the outer
//!   record's AEAD expansion (17 in TLS 1.3, 24 for TLS 1.2 AES-GCM, 16 for
//!   ChaCha20-Poly1305).
//!
//! An HTTP/1.1 or HTTP/2 session has the same first two phases (request,
//! response) but its next client record is a request or a control frame,
//! not a Finished-sized record. Nothing is decrypted: Medium at most.

use super::encap::{Shape, Step, is_inner_finished};
use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts, PacketView};
use crate::dissect::Direction;
use crate::detect::detector::{detector_head, Detector};

/// TLS record content types (RFC 8446 §5.1).
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

/// Record lengths of a TLS 1.3 client Finished (SHA-256 and SHA-384
/// suites: 4 + 32/48 + 1 + 16).
const OUTER_TLS13_FINISHED: [u16; 2] = [53, 69];

/// AEAD expansion of one outer record: TLS 1.3 (content type + tag), TLS
/// 1.2 AES-GCM (explicit nonce + tag), TLS 1.2 ChaCha20-Poly1305 (tag).
const OUTER_EXPANSION: [u32; 3] = [17, 24, 16];

/// The payload packets after which the detector gives up.
const WINDOW: u16 = 24;

/// A TLS record header at the start of a payload: (content type, length).
pub(super) fn record_header(b: &[u8]) -> Option<(u8, u16)> {
    if b.len() >= 5 && (20..=23).contains(&b[0]) && b[1] == 3 && b[2] <= 4 {
        Some((b[0], u16::from_be_bytes([b[3], b[4]])))
    } else {
        None
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// Nothing seen.
    #[default]
    Start,
    /// Outer handshake under way.
    Handshake,
    /// Following the inner handshake's shape.
    Inner,
    /// Decided.
    Done,
}

/// Per-flow state of the TLS-in-TLS detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TlsInTls {
    state: State,
    server_spoke: bool,
    shape: Shape,
    /// Length field of the first inner-ClientHello record.
    c1_record: u16,
    /// Length field of the closing record.
    c2_record: u16,
}

impl Detector for TlsInTls {
    detector_head! { ctx: super::ProxyCtx, protocol: TlsInTls, done: state == State::Done }

    /// One payload packet.
    fn on_packet(&mut self, p: &PacketView<'_>, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if p.index >= WINDOW {
            self.state = State::Done;
            return;
        }
        match self.state {
            State::Start => {
                let hello = p.proto == IpProto::TCP
                    && p.dir == Direction::ToServer
                    && record_header(p.payload).is_some_and(|(t, _)| t == HANDSHAKE);
                self.state = if hello { State::Handshake } else { State::Done };
            }
            State::Handshake => {
                if p.dir == Direction::ToClient {
                    self.server_spoke = true;
                    return;
                }
                let Some((ty, len)) = record_header(p.payload) else {
                    // A segment continuing a record: still the handshake.
                    return;
                };
                if ty != APPLICATION_DATA || !self.server_spoke {
                    return;
                }
                if OUTER_TLS13_FINISHED.contains(&len) && tls13(facts) {
                    return;
                }
                self.state = State::Inner;
                self.c1_record = len;
                self.shape.push(p.dir, p.payload.len());
            }
            State::Inner => match self.shape.push(p.dir, p.payload.len()) {
                Step::More => {}
                Step::NoMatch => self.state = State::Done,
                Step::Closing => {
                    self.state = State::Done;
                    let Some((APPLICATION_DATA, len)) = record_header(p.payload) else {
                        return;
                    };
                    let len32 = u32::from(len);
                    if !OUTER_EXPANSION.iter().any(|&e| is_inner_finished(len32, e)) {
                        return;
                    }
                    self.c2_record = len;
                    out.push(self.finding());
                }
            },
            State::Done => {}
        }
    }
}

impl TlsInTls {

    fn finding(&self) -> Detection {
        Detection::new(
            Category::Proxy,
            Protocol::TlsInTls,
            Confidence::Medium,
            Basis::Behaviour,
            "TLS session whose first application data replays a TLS handshake (ClientHello-sized record, server certificate flight, Finished-sized record)",
        )
        .with("client_hello_record", self.c1_record)
        .with("server_flight_bytes", self.shape.s1)
        .with("finished_record", self.c2_record)
    }
}


/// The outer session negotiated TLS 1.3.
fn tls13(facts: &FlowFacts<'_>) -> bool {
    facts
        .app
        .and_then(|a| a.tls.as_ref())
        .and_then(|t| t.facts())
        .and_then(|f| f.server_hello.as_ref())
        .is_some_and(|sh| sh.negotiated_version() == 0x0304)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::proxy::testdata::{
        TROJAN_C1_HEAD, TROJAN_C2, TROJAN_CLIENT_FINISHED, TROJAN_CLIENT_HELLO,
    };
    use crate::detect::proxy::tests_util::{facts, hex, view};

    #[test]
    fn trojan_records() {
        assert_eq!(
            record_header(&hex(TROJAN_CLIENT_HELLO)).map(|h| h.0),
            Some(HANDSHAKE)
        );
        // ChangeCipherSpec (20) first, then the encrypted Finished.
        assert_eq!(
            record_header(&hex(TROJAN_CLIENT_FINISHED)).map(|h| h.0),
            Some(20)
        );
        assert_eq!(
            record_header(&hex(TROJAN_C1_HEAD)),
            Some((APPLICATION_DATA, 602))
        );
        assert_eq!(record_header(&hex(TROJAN_C2)), Some((APPLICATION_DATA, 97)));
        assert!(is_inner_finished(97, 17));
    }

    /// The Trojan flow's packet sequence (tls_heur__trojan-tcp-tls.pcapng
    /// frames 30..67), server packets as zero-filled buffers of their size.
    #[test]
    fn trojan_flow_flags() {
        let ch = hex(TROJAN_CLIENT_HELLO);
        let fin = hex(TROJAN_CLIENT_FINISHED);
        let mut c1 = hex(TROJAN_C1_HEAD);
        c1.resize(607, 0x5a);
        let c2 = hex(TROJAN_C2);
        let f = facts();
        let mut d = TlsInTls::default();
        let mut out = Vec::new();
        let seq: Vec<(Direction, Vec<u8>)> = vec![
            (Direction::ToServer, ch),
            (Direction::ToClient, vec![0x16; 1126]),
            (Direction::ToServer, fin),
            (Direction::ToServer, c1),
            (Direction::ToClient, vec![0x17; 1208]),
            (Direction::ToClient, vec![0x17; 884]),
            (Direction::ToClient, vec![0x17; 2070]),
            (Direction::ToClient, vec![0x17; 2070]),
            (Direction::ToClient, vec![0x17; 479]),
            (Direction::ToServer, c2),
        ];
        for (i, (dir, b)) in seq.iter().enumerate() {
            d.on_packet(&view(i as u16, *dir, b), &f, &Default::default(), &mut out);
        }
        assert!(d.done());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].protocol.name(), "tls_in_tls");
        assert_eq!(out[0].evidence.get("finished_record"), Some("97"));
    }

    /// An HTTP/1.1 keep-alive session: request, response, next request.
    #[test]
    fn https_request_response_is_clean() {
        let f = facts();
        let mut d = TlsInTls::default();
        let mut out = Vec::new();
        let mut req = vec![0x17, 3, 3, 0x02, 0x1c];
        req.resize(545, 0x33);
        let mut next = vec![0x17, 3, 3, 0x01, 0xf0];
        next.resize(501, 0x33);
        let seq: Vec<(Direction, Vec<u8>)> = vec![
            (Direction::ToServer, hex(TROJAN_CLIENT_HELLO)),
            (Direction::ToClient, vec![0x16; 3000]),
            (Direction::ToServer, req),
            (Direction::ToClient, vec![0x17; 4000]),
            (Direction::ToServer, next),
        ];
        for (i, (dir, b)) in seq.iter().enumerate() {
            d.on_packet(&view(i as u16, *dir, b), &f, &Default::default(), &mut out);
        }
        assert!(out.is_empty());
        assert!(d.done());
    }
}
