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
use super::fully_encrypted::{STREAM_WINDOW, StreamStats, not_candidate};
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

/// A V2Ray Mux.Cool frame header at the start of a frame's payload: the
/// metadata length, session id, status (1 new, 2 keep, 3 end, 4 keep
/// alive) and option byte; for a new session, network (1 TCP, 2 UDP),
/// port and address (type 1 IPv4, 2 domain, 3 IPv6) fill the metadata
/// exactly. Returns (session id, status).
pub(super) fn mux_frame(b: &[u8]) -> Option<(u16, u8)> {
    let meta = usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?]));
    let session = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    let status = *b.get(4)?;
    let option = *b.get(5)?;
    if option & !0x03 != 0 {
        return None;
    }
    match status {
        1 => {
            let network = *b.get(6)?;
            let atyp = *b.get(9)?;
            let alen = match atyp {
                1 => 4,
                3 => 16,
                2 => 1 + usize::from(*b.get(10)?),
                _ => return None,
            };
            ((1..=2).contains(&network) && meta == 2 + 1 + 1 + 1 + 2 + 1 + alen)
                .then_some((session, status))
        }
        2..=4 => (meta == 4).then_some((session, status)),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Start,
    /// Upgrade requested; waiting for 101.
    Upgrade,
    /// Switched: waiting for the first client frame.
    Switched,
    /// The first client frame was a VLESS request; waiting for the answer.
    VlessRequest(super::vless::Request),
    /// The first client frame opened a Mux.Cool session; waiting for the
    /// server's frame of the same session.
    MuxNew(u16),
    /// First client frame was a candidate; waiting for the server's.
    ClientCandidate,
    /// Both were candidates: following the shape and the frames.
    Both,
    Done,
}

/// Per-flow state of the WebSocket-proxy detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WebSocketProxy {
    state: State,
    shape: Shape,
    /// The relayed-handshake shape: `None` while it may still match.
    shape_done: Option<bool>,
    stats: StreamStats,
    first_frame: u32,
}

impl Detector for WebSocketProxy {
    detector_head! { ctx: super::ProxyCtx, protocol: Vmess, done: state == State::Done }

    /// One payload packet.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if p.index >= WINDOW {
            self.finish(out);
            return;
        }
        let b = p.payload;
        let to_server = p.dir == Direction::ToServer;
        match self.state {
            State::Start => {
                let upgrade = p.proto == IpProto::TCP
                    && to_server
                    && b.starts_with(b"GET ")
                    && contains_ci(&b[..b.len().min(4096)], b"websocket");
                self.state = if upgrade { State::Upgrade } else { State::Done };
            }
            State::Upgrade => {
                if !to_server {
                    let switched = b.starts_with(b"HTTP/1.") && b.get(9..12) == Some(b"101");
                    self.state = if switched {
                        State::Switched
                    } else {
                        State::Done
                    };
                }
            }
            State::Switched => {
                if !to_server {
                    // The server spoke first on the socket: not a relay
                    // of the client's connection.
                    self.state = State::Done;
                    return;
                }
                let mut buf = [0u8; SAMPLE];
                let Some(data) = frame_payload(b, true, &mut buf) else {
                    self.state = State::Done;
                    return;
                };
                if let Some(r) = super::vless::request(data) {
                    self.state = State::VlessRequest(r);
                    return;
                }
                if let Some((session, 1)) = mux_frame(data) {
                    self.state = State::MuxNew(session);
                    return;
                }
                if data.len() < 16 || not_candidate(data).is_some() {
                    self.state = State::Done;
                    return;
                }
                self.first_frame = u32::try_from(b.len()).unwrap_or(u32::MAX);
                self.shape.push(p.dir, b.len());
                self.stats.push(true, data);
                self.state = State::ClientCandidate;
            }
            State::VlessRequest(r) => {
                if !to_server {
                    let mut buf = [0u8; SAMPLE];
                    if frame_payload(b, false, &mut buf).is_some_and(super::vless::response) {
                        out.push(super::vless::finding(&r, "websocket"));
                    }
                    self.state = State::Done;
                }
            }
            State::MuxNew(session) => {
                if !to_server {
                    let mut buf = [0u8; SAMPLE];
                    let keep = frame_payload(b, false, &mut buf)
                        .and_then(mux_frame)
                        .is_some_and(|(s, st)| s == session && st == 2);
                    if keep {
                        out.push(mux_finding(session));
                    }
                    self.state = State::Done;
                }
            }
            State::ClientCandidate | State::Both => {
                let mut buf = [0u8; SAMPLE];
                let data = frame_payload(b, to_server, &mut buf).unwrap_or(&b[..b.len().min(SAMPLE)]);
                if !to_server && self.state == State::ClientCandidate {
                    if data.len() < 16 || not_candidate(data).is_some() {
                        self.state = State::Done;
                        return;
                    }
                    self.state = State::Both;
                }
                self.stats.push(to_server, data);
                if self.shape_done.is_none() {
                    self.shape_done = match self.shape.push(p.dir, b.len()) {
                        Step::More => None,
                        Step::NoMatch => Some(false),
                        Step::Closing => Some(self.state == State::Both),
                    };
                }
                if self.shape_done == Some(true)
                    || (self.shape_done.is_some() && self.stats.seen >= STREAM_WINDOW)
                {
                    self.finish(out);
                }
            }
            State::Done => {}
        }
    }

    /// The flow ended within the window.
    fn on_end(&mut self, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        self.finish(out);
    }
}

impl WebSocketProxy {
    /// The decision for the candidate path: the relayed handshake (VMess
    /// style) or a fully encrypted stream of frames.
    fn finish(&mut self, out: &mut Vec<Detection>) {
        let both = self.state == State::Both;
        self.state = State::Done;
        if !both {
            return;
        }
        if self.shape_done == Some(true) {
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
        } else if self.stats.holds() {
            out.push(
                Detection::new(
                    Category::Proxy,
                    Protocol::EncryptedProxy,
                    Confidence::Medium,
                    Basis::Behaviour,
                    "WebSocket whose binary frames are fully encrypted from the first byte both ways (no GFW exemption, no plaintext framing, every later frame random too)",
                )
                .with("transport", "websocket")
                .with("first_client_frame", self.first_frame),
            );
        }
    }
}

/// The finding for a Mux.Cool session opened inside a WebSocket.
fn mux_finding(session: u16) -> Detection {
    Detection::new(
        Category::Proxy,
        Protocol::V2rayMux,
        Confidence::High,
        Basis::Structure,
        "WebSocket carrying V2Ray Mux.Cool frames: the client opens a session (metadata length, session id, status new, network, destination), the server answers on the same session",
    )
    .with("transport", "websocket")
    .with("session", session)
}

/// The payload head of the binary frame at the start of `b` (masked iff
/// from the client), unmasked into `buf`.
fn frame_payload<'b>(b: &[u8], from_client: bool, buf: &'b mut [u8; SAMPLE]) -> Option<&'b [u8]> {
    let (op, key, off, _len) = frame_header(b)?;
    if op != OP_BINARY || key.is_some() != from_client {
        return None;
    }
    let data = &b[off.min(b.len())..];
    let n = data.len().min(SAMPLE);
    for (i, (dst, src)) in buf.iter_mut().zip(&data[..n]).enumerate() {
        *dst = src ^ key.map_or(0, |k| k[i % 4]);
    }
    Some(&buf[..n])
}

/// The packet starts a binary frame (masked iff from the client) whose
/// payload head, once unmasked, is a fully-encrypted candidate.
#[cfg(test)]
fn binary_candidate(b: &[u8], from_client: bool) -> bool {
    let mut buf = [0u8; SAMPLE];
    frame_payload(b, from_client, &mut buf).is_some_and(|d| d.len() >= 16 && not_candidate(d).is_none())
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
