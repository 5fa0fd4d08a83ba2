//! Proxies over WebSocket (V2Ray/Xray VMess, Shadowsocks' v2ray-plugin):
//! an HTTP upgrade followed by binary frames whose payload is ciphertext
//! from the first byte.
//!
//! After `GET ... Upgrade: websocket` and the server's `101 Switching
//! Protocols` (RFC 6455 §4), the detector parses the frame headers of the
//! next packets (RFC 6455 §5.2: FIN/opcode, mask bit, 7/16/64-bit length,
//! 4-byte masking key on client frames), unmasks the first client frame's
//! payload into a fixed buffer and applies Wu et al.'s exemptions
//! ([`super::fully_encrypted`]) to it and to the server's first frame. A
//! WebSocket application's first message is a text frame or a structured
//! binary header; VMess's is an encrypted auth ID, header and the user's
//! relayed ClientHello. The finding also needs the relayed-handshake
//! shape ([`super::encap`]): a ClientHello-sized first client frame and a
//! server burst of a kilobyte or more. Medium at most: nothing is
//! decrypted.

use super::encap::{Shape, Step};
use super::fully_encrypted::not_candidate;
use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts, PacketView};
use crate::dissect::Direction;
use crate::detect::detector::{detector_head, Detector};

/// Bytes of a frame's payload unmasked and tested (the exemptions are
/// about the message's head; this bounds the work per flow).
const SAMPLE: usize = 512;

/// Payload packets after which the detector gives up.
const WINDOW: u16 = 24;

/// Binary-frame opcode (RFC 6455 §5.2).
const OP_BINARY: u8 = 2;

/// A WebSocket frame header: (opcode, masking key, payload offset, length).
pub(super) fn frame_header(b: &[u8]) -> Option<(u8, Option<[u8; 4]>, usize, u64)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0f;
    let masked = b[1] & 0x80 != 0;
    let (len, mut off) = match b[1] & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes(b.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(b.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let key = if masked {
        let k: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
        off += 4;
        Some(k)
    } else {
        None
    };
    Some((opcode, key, off, len))
}

/// Case-insensitive search of a short ASCII needle.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Start,
    /// Upgrade requested; waiting for 101.
    Upgrade,
    /// Switched: waiting for the first client frame.
    Switched,
    /// First client frame was a candidate; waiting for the server's.
    ClientCandidate,
    /// Both were candidates: following the shape.
    Both,
    Done,
}

/// Per-flow state of the WebSocket-proxy detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WebSocketProxy {
    state: State,
    shape: Shape,
    first_frame: u32,
}

impl Detector for WebSocketProxy {
    detector_head! { ctx: super::ProxyCtx, protocol: Vmess, done: state == State::Done }

    /// One payload packet.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if p.index >= WINDOW {
            self.state = State::Done;
            return;
        }
        let b = p.payload;
        match self.state {
            State::Start => {
                let upgrade = p.proto == IpProto::TCP
                    && p.dir == Direction::ToServer
                    && b.starts_with(b"GET ")
                    && contains_ci(&b[..b.len().min(4096)], b"websocket");
                self.state = if upgrade { State::Upgrade } else { State::Done };
            }
            State::Upgrade => {
                if p.dir == Direction::ToClient {
                    let switched = b.starts_with(b"HTTP/1.") && b.get(9..12) == Some(b"101");
                    self.state = if switched {
                        State::Switched
                    } else {
                        State::Done
                    };
                }
            }
            State::Switched => {
                if p.dir == Direction::ToClient {
                    // The server spoke first on the socket: not a relay
                    // of the client's handshake.
                    self.state = State::Done;
                    return;
                }
                if !binary_candidate(b, true) {
                    self.state = State::Done;
                    return;
                }
                self.first_frame = u32::try_from(b.len()).unwrap_or(u32::MAX);
                self.shape.push(p.dir, b.len());
                self.state = State::ClientCandidate;
            }
            State::ClientCandidate => {
                if p.dir == Direction::ToClient {
                    if !binary_candidate(b, false) {
                        self.state = State::Done;
                        return;
                    }
                    self.state = State::Both;
                }
                if self.shape.push(p.dir, b.len()) == Step::NoMatch {
                    self.state = State::Done;
                }
            }
            State::Both => match self.shape.push(p.dir, b.len()) {
                Step::More => {}
                Step::NoMatch => self.state = State::Done,
                Step::Closing => {
                    self.state = State::Done;
                    out.push(
                        Detection::new(
                            Category::Proxy,
                            Protocol::Vmess,
                            Confidence::Medium,
                            Basis::Behaviour,
                            "WebSocket whose binary frames are fully encrypted from the first byte and carry a relayed TLS handshake (VMess-style)",
                        )
                        .with("first_client_frame", self.first_frame)
                        .with("client_burst", self.shape.c1)
                        .with("server_burst", self.shape.s1),
                    );
                }
            },
            State::Done => {}
        }
    }
}


/// The packet starts a binary frame (masked iff from the client) whose
/// payload head, once unmasked, is a fully-encrypted candidate.
fn binary_candidate(b: &[u8], from_client: bool) -> bool {
    let Some((op, key, off, len)) = frame_header(b) else {
        return false;
    };
    if op != OP_BINARY || key.is_some() != from_client || len < 16 {
        return false;
    }
    let data = &b[off.min(b.len())..];
    let n = data.len().min(SAMPLE);
    let mut buf = [0u8; SAMPLE];
    for (i, (dst, src)) in buf.iter_mut().zip(&data[..n]).enumerate() {
        *dst = src ^ key.map_or(0, |k| k[i % 4]);
    }
    n >= 16 && not_candidate(&buf[..n]).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::proxy::testdata::{
        VMESS_WS_101, VMESS_WS_C1, VMESS_WS_S1_HEAD, VMESS_WS_UPGRADE,
    };
    use crate::detect::proxy::tests_util::{facts, hex, view};

    #[test]
    fn vmess_frames() {
        let c1 = hex(VMESS_WS_C1);
        let (op, key, off, len) = frame_header(&c1).unwrap();
        assert_eq!((op, off, len), (OP_BINARY, 8, 691));
        assert!(key.is_some());
        assert!(binary_candidate(&c1, true));
        assert!(binary_candidate(&hex(VMESS_WS_S1_HEAD), false));
        // The same frame unmasked with the wrong key direction is refused.
        assert!(!binary_candidate(&c1, false));
    }

    #[test]
    fn masked_text_frame_is_exempt() {
        // A masked text-like binary frame: JSON unmasks to printable.
        let msg = br#"{"type":"subscribe","channel":"ticker","symbols":["BTC-USD","ETH-USD"]}"#;
        let key = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut f = vec![0x82, 0x80 | msg.len() as u8];
        f.extend_from_slice(&key);
        f.extend(msg.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        assert!(!binary_candidate(&f, true));
    }

    #[test]
    fn vmess_flow_flags() {
        let mut s1 = hex(VMESS_WS_S1_HEAD);
        s1.resize(2052, 0xa5);
        let seq: Vec<(Direction, Vec<u8>)> = vec![
            (Direction::ToServer, hex(VMESS_WS_UPGRADE)),
            (Direction::ToClient, hex(VMESS_WS_101)),
            (Direction::ToServer, hex(VMESS_WS_C1)),
            (Direction::ToClient, s1.clone()),
            (Direction::ToClient, s1.clone()),
            (Direction::ToClient, s1),
            (Direction::ToServer, vec![0x82; 354]),
        ];
        let f = facts();
        let mut d = WebSocketProxy::default();
        let mut out = Vec::new();
        for (i, (dir, b)) in seq.iter().enumerate() {
            d.on_packet(&view(i as u16, *dir, b), &f, &Default::default(), &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].protocol.name(), "vmess");
    }
}
