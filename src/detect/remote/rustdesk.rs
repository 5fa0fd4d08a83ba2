//! RustDesk rendezvous and relay messages (no corpus capture: the tests use
//! bytes built from RustDesk's published source).
//!
//! RustDesk's rendezvous server (hbbs, UDP and TCP 21116) and relay (hbbr,
//! TCP 21117) exchange `RendezvousMessage` protocol buffers
//! (rustdesk/hbb_common `protos/rendezvous.proto`): a `oneof union` whose
//! members are fields 6 (`register_peer`) to 29 (`ice_candidate`), each a
//! length-delimited sub-message. Over UDP a datagram is one message; over
//! TCP each message is preceded by hbb_common's `BytesCodec` header: the
//! low two bits of the first byte say how many more header bytes follow
//! (0-3), and the little-endian header value shifted right by two is the
//! message length.
//!
//! A message is accepted when the union tag is one of those fields with
//! wire type 2, its length consumes the rest exactly, and the sub-message
//! itself parses as protobuf fields (numbers 1-16, known wire types,
//! lengths in bounds). Three messages one way: `Medium`; messages both
//! ways: `High`; a request answered by its response type (register_peer →
//! register_peer_response, register_pk → register_pk_response,
//! punch_hole_request → punch_hole_response, request_relay →
//! relay_response, test_nat_request → test_nat_response, online_request →
//! online_response, key_exchange both ways): `Certain`. The RustDesk ID in
//! register_peer / punch_hole_request / request_relay is evidence.

use super::{di, found, printable, text};
use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

/// A protobuf varint: (value, bytes used).
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &c) in b.iter().enumerate().take(10) {
        v |= u64::from(c & 0x7f) << (7 * i);
        if c & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// True when `b` is a sequence of well-formed protobuf fields numbered 1-16.
fn fields_ok(mut b: &[u8]) -> bool {
    let mut n = 0;
    while !b.is_empty() {
        let Some((tag, used)) = varint(b) else {
            return false;
        };
        b = &b[used..];
        let field = tag >> 3;
        if !(1..=16).contains(&field) || n > 32 {
            return false;
        }
        n += 1;
        let skip = match tag & 7 {
            0 => match varint(b) {
                Some((_, u)) => u,
                None => return false,
            },
            1 => 8,
            2 => match varint(b) {
                Some((len, u)) if (len as usize) <= b.len() - u => u + len as usize,
                _ => return false,
            },
            5 => 4,
            _ => return false,
        };
        if skip > b.len() {
            return false;
        }
        b = &b[skip..];
    }
    true
}

/// The union member of a whole `RendezvousMessage` and its sub-message.
fn message(b: &[u8]) -> Option<(u8, &[u8])> {
    let (tag, used) = varint(b)?;
    let field = tag >> 3;
    if tag & 7 != 2 || !(6..=29).contains(&field) {
        return None;
    }
    let (len, u2) = varint(&b[used..])?;
    let body = &b[used + u2..];
    (len as usize == body.len() && fields_ok(body)).then_some((field as u8, body))
}

/// The messages of one TCP segment framed by `BytesCodec` (all must fit).
fn framed(mut b: &[u8], mut each: impl FnMut(u8, &[u8])) -> bool {
    let mut n = 0;
    while !b.is_empty() {
        let extra = usize::from(b[0] & 3);
        if b.len() < 1 + extra {
            return false;
        }
        let mut h = 0usize;
        for (i, &c) in b[..=extra].iter().enumerate() {
            h |= usize::from(c) << (8 * i);
        }
        let len = h >> 2;
        let Some(msg) = b.get(1 + extra..1 + extra + len) else {
            return false;
        };
        let Some((field, body)) = message(msg) else {
            return false;
        };
        each(field, body);
        n += 1;
        b = &b[1 + extra + len..];
    }
    n > 0
}

fn name(field: u8) -> &'static str {
    match field {
        6 => "register_peer",
        7 => "register_peer_response",
        8 => "punch_hole_request",
        9 => "punch_hole",
        10 => "punch_hole_sent",
        11 => "punch_hole_response",
        12 => "fetch_local_addr",
        13 => "local_addr",
        14 => "configure_update",
        15 => "register_pk",
        16 => "register_pk_response",
        17 => "software_update",
        18 => "request_relay",
        19 => "relay_response",
        20 => "test_nat_request",
        21 => "test_nat_response",
        22 => "peer_discovery",
        23 => "online_request",
        24 => "online_response",
        25 => "key_exchange",
        26 => "health_check",
        27 => "http_proxy_request",
        28 => "http_proxy_response",
        _ => "ice_candidate",
    }
}

/// The response type that answers a request type.
fn answers(request: u8, response: u8) -> bool {
    matches!(
        (request, response),
        (6, 7) | (15, 16) | (8, 11) | (18, 19) | (20, 21) | (23, 24) | (25, 25) | (12, 13)
    )
}

/// RustDesk state (UDP datagrams or TCP segments).
#[derive(Debug, Default)]
pub struct RustDesk {
    /// Decided.
    done: bool,
    /// Messages per direction.
    messages: [u8; 2],
    /// Union fields seen per direction, as bits.
    fields: [u32; 2],
    id: [u8; 24],
    id_len: u8,
    reported: Option<Confidence>,
}

impl Detector for RustDesk {
    detector_head! { ctx: super::RemoteCtx, protocol: RustDesk, transports: [TCP, UDP], done: done }

    /// Reads each payload of the window.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = di(p.dir);
        let mut got = [0u32; 1];
        let mut count = 0u8;
        let mut idbuf = [0u8; 24];
        let mut idlen = 0u8;
        let mut note = |field: u8, body: &[u8]| {
            got[0] |= 1 << field;
            count = count.saturating_add(1);
            // register_peer / punch_hole_request / request_relay: id = 1.
            if matches!(field, 6 | 8 | 18) && body.first() == Some(&0x0a) {
                let n = body.get(1).map_or(0, |&n| usize::from(n));
                if let Some(s) = body.get(2..2 + n).filter(|s| printable(s)) {
                    let n = s.len().min(idbuf.len());
                    idbuf[..n].copy_from_slice(&s[..n]);
                    idlen = n as u8;
                }
            }
        };
        let ok = if p.proto == IpProto::UDP {
            match message(p.payload) {
                Some((f, body)) => {
                    note(f, body);
                    true
                }
                None => false,
            }
        } else {
            framed(p.payload, note)
        };
        if !ok {
            self.done = true;
            return;
        }
        if self.id_len == 0 && idlen > 0 {
            self.id = idbuf;
            self.id_len = idlen;
        }
        self.fields[d] |= got[0];
        self.messages[d] = self.messages[d].saturating_add(count);
        let paired = (6..=29u8).any(|q| {
            self.fields[0] & (1 << q) != 0
                && (6..=29u8).any(|r| self.fields[1] & (1 << r) != 0 && answers(q, r))
        });
        let conf = if paired {
            Confidence::Certain
        } else if self.messages[0] > 0 && self.messages[1] > 0 {
            Confidence::High
        } else if self.messages[d] >= 3 {
            Confidence::Medium
        } else {
            return;
        };
        if self.reported.is_some_and(|r| r >= conf) {
            return;
        }
        self.reported = Some(conf);
        let list = |bits: u32| {
            (6..=29u8)
                .filter(|f| bits & (1 << f) != 0)
                .map(name)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut det = found(
            Protocol::RustDesk,
            conf,
            Basis::Structure,
            "RustDesk rendezvous/relay protobuf messages (RendezvousMessage)",
        )
        .with(
            "transport",
            if p.proto == IpProto::UDP {
                "udp"
            } else {
                "tcp"
            },
        )
        .with("client_messages", list(self.fields[0]))
        .with("server_messages", list(self.fields[1]));
        if self.id_len > 0 {
            det = det.with("rustdesk_id", text(&self.id[..usize::from(self.id_len)]));
        }
        if conf == Confidence::Certain {
            self.done = true;
        }
        out.push(det);
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, send};
    use super::*;

    /// register_peer { id: "123456789", serial: 0 } encoded per
    /// rendezvous.proto: union field 6 (tag 0x32), RegisterPeer field 1
    /// (tag 0x0a) and field 2 (tag 0x10).
    const REGISTER_PEER: &[u8] = b"\x32\x0d\x0a\x09123456789\x10\x00";
    /// register_peer_response { request_pk: true }: field 7 (tag 0x3a),
    /// RegisterPeerResponse field 2 (tag 0x10).
    const REGISTER_PEER_RESPONSE: &[u8] = b"\x3a\x02\x10\x01";

    #[test]
    fn udp_register_peer_pair() {
        let mut r = RustDesk::default();
        let mut out = Vec::new();
        send(&mut r, 17, C, 0, REGISTER_PEER, &mut out);
        assert!(out.is_empty());
        send(&mut r, 17, S, 1, REGISTER_PEER_RESPONSE, &mut out);
        assert_eq!(out[0].confidence, Confidence::Certain);
        assert_eq!(out[0].evidence.get("rustdesk_id"), Some("123456789"));
    }

    #[test]
    fn tcp_framing() {
        // BytesCodec: a 15-byte message gets the one-byte header 15 << 2.
        let mut seg = vec![(REGISTER_PEER.len() << 2) as u8];
        seg.extend_from_slice(REGISTER_PEER);
        let mut resp = vec![(REGISTER_PEER_RESPONSE.len() << 2) as u8];
        resp.extend_from_slice(REGISTER_PEER_RESPONSE);
        let mut r = RustDesk::default();
        let mut out = Vec::new();
        send(&mut r, 6, C, 0, &seg, &mut out);
        send(&mut r, 6, S, 1, &resp, &mut out);
        assert_eq!(out[0].confidence, Confidence::Certain);
    }

    #[test]
    fn other_payloads() {
        for b in [
            &b"\x16\x03\x01\x02\x00\x01"[..],
            b"\x00\x01\x00\x00",
            b"\x32\x05\x0a\x09abc",
            b"",
        ] {
            assert!(message(b).is_none(), "{b:?}");
        }
        // DNS query header + question.
        let dns = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01";
        assert!(message(dns).is_none());
        assert!(!framed(dns, |_, _| {}));
    }
}
