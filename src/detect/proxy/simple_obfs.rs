//! simple-obfs (the Shadowsocks SIP003 plugin `obfs-local`/`obfs-server`):
//! Shadowsocks ciphertext dressed as an HTTP WebSocket upgrade or as a TLS
//! 1.2 session resumption, both of which break their own protocol.
//!
//! Facts from the plugin's source (obfs_http.c, obfs_tls.c, as behaviour):
//! * `obfs=http`: the client sends `GET / HTTP/1.1` with `Upgrade:
//!   websocket` and a `Content-Length`, the first Shadowsocks bytes as the
//!   body; the server answers `101 Switching Protocols` with its first
//!   bytes behind the header; after that the bytes flow unframed. RFC 6455
//!   §4.1 allows no data before the 101 and §5.1 requires every client
//!   frame to be masked: a body of random bytes on the upgrade request is
//!   neither.
//! * `obfs=tls`: the client sends a ClientHello whose session ticket holds
//!   the first bytes; the server answers with the abbreviated handshake of
//!   a resumption (ServerHello, ChangeCipherSpec, Finished: no
//!   certificate), and the client then sends application data at once.
//!   RFC 5246 §7.3 (Figure 2) requires the client's ChangeCipherSpec and
//!   Finished before any application data of a resumed session; TLS 1.3
//!   does not apply (its server flight after ChangeCipherSpec is
//!   application-data records, not a handshake record).
//!
//! Both are Medium: the violation is structural, the proxy behind it is
//! inferred.

use super::fully_encrypted::not_candidate;
use crate::decode::IpProto;
use crate::detect::detector::{Detector, detector_head};
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts, PacketView, Protocol};
use crate::dissect::Direction;

/// Shortest body taken for ciphertext (a Shadowsocks salt alone is 16).
const MIN_BODY: usize = 16;

/// Payload packets after which the detector gives up.
const WINDOW: u16 = 12;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

/// The bytes after an HTTP head's blank line (`None` without one).
fn http_body(b: &[u8]) -> Option<&[u8]> {
    let end = find(&b[..b.len().min(4096)], b"\r\n\r\n")?;
    Some(&b[end + 4..])
}

/// A WebSocket upgrade request carrying a random-looking body.
fn upgrade_with_body(b: &[u8]) -> bool {
    if !b.starts_with(b"GET ") {
        return false;
    }
    let head = &b[..b.len().min(4096)];
    if find(head, b"upgrade: websocket").is_none() {
        return false;
    }
    http_body(b).is_some_and(|body| body.len() >= MIN_BODY && not_candidate(body).is_none())
}

/// A `101` response whose trailing bytes, if any, are random-looking.
fn switching_with_body(b: &[u8]) -> bool {
    if !(b.starts_with(b"HTTP/1.") && b.get(9..12) == Some(b"101")) {
        return false;
    }
    http_body(b).is_some_and(|body| body.is_empty() || not_candidate(body).is_none())
}

/// Longest record an encrypted TLS 1.2 Finished takes (12 bytes of
/// verify data and its 4-byte header, plus a CBC IV, SHA-384 MAC and
/// padding: 80; AEAD suites 40).
const MAX_FINISHED_RECORD: usize = 128;

/// The server's first payload is a TLS 1.2 abbreviated handshake:
/// Handshake (ServerHello), ChangeCipherSpec, Handshake (the encrypted
/// Finished), record by record. Returns the Finished record's length.
fn abbreviated_server_flight(b: &[u8]) -> Option<usize> {
    let mut types = [0u8; 3];
    let mut off = 0;
    let mut last = 0;
    for t in &mut types {
        let h = b.get(off..off + 5)?;
        if h[1] != 3 {
            return None;
        }
        *t = h[0];
        last = usize::from(u16::from_be_bytes([h[3], h[4]]));
        off += 5 + last;
    }
    (types == [22, 20, 22] && b.get(5) == Some(&2)).then_some(last)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Start,
    /// HTTP mode: the upgrade request had a body.
    HttpRequest,
    /// TLS mode: a ClientHello; waiting for the server's flight.
    TlsHello,
    /// TLS mode: abbreviated server flight; waiting for the client.
    TlsResumed,
    Done,
}

/// Per-flow state of the simple-obfs detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SimpleObfs {
    state: State,
}

impl Detector for SimpleObfs {
    detector_head! { ctx: super::ProxyCtx, protocol: SimpleObfs, done: state == State::Done }

    /// The first payloads each way.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if p.index >= WINDOW {
            self.state = State::Done;
            return;
        }
        let b = p.payload;
        let to_server = p.dir == Direction::ToServer;
        self.state = match self.state {
            State::Start if p.proto == IpProto::TCP && to_server => {
                if upgrade_with_body(b) {
                    State::HttpRequest
                } else if b.len() > 5 && b[0] == 22 && b[1] == 3 && b[5] == 1 {
                    State::TlsHello
                } else {
                    State::Done
                }
            }
            State::HttpRequest if !to_server => {
                if switching_with_body(b) {
                    out.push(finding("http", "WebSocket upgrade request with a random-looking body (no frame, no mask) answered by 101: simple-obfs HTTP mode"));
                }
                State::Done
            }
            State::TlsHello if !to_server => match abbreviated_server_flight(b) {
                Some(n) if n > MAX_FINISHED_RECORD => {
                    out.push(finding("tls", "TLS 1.2 resumption (ServerHello, ChangeCipherSpec, Finished) whose Finished record is too long to be one: simple-obfs TLS mode"));
                    State::Done
                }
                Some(_) => State::TlsResumed,
                None => State::Done,
            },
            State::TlsResumed => {
                if b.len() > 5 && b[0] == 23 && b[1] == 3 {
                    out.push(finding("tls", "TLS 1.2 resumption (ServerHello, ChangeCipherSpec, Finished) followed by application data before the client's ChangeCipherSpec and Finished: simple-obfs TLS mode"));
                }
                State::Done
            }
            State::HttpRequest | State::TlsHello => self.state,
            _ => State::Done,
        };
    }
}

fn finding(mode: &'static str, reason: &'static str) -> Detection {
    Detection::new(Category::Proxy, Protocol::SimpleObfs, Confidence::Medium, Basis::Structure, reason)
        .with("mode", mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_mode() {
        let mut req = b"GET / HTTP/1.1\r\nHost: www.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 64\r\n\r\n".to_vec();
        let body: Vec<u8> = (0..64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(not_candidate(&body).is_none());
        req.extend_from_slice(&body);
        assert!(upgrade_with_body(&req));
        // An ordinary upgrade has no body.
        assert!(!upgrade_with_body(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
        assert!(switching_with_body(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"));
    }

    #[test]
    fn tls_mode() {
        // ServerHello (len 4), ChangeCipherSpec, Finished (len 3).
        let flight = [22, 3, 3, 0, 4, 2, 0, 0, 0, 20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 3, 9, 9, 9];
        assert_eq!(abbreviated_server_flight(&flight), Some(3));
        // A full handshake: ServerHello, then Certificate.
        let full = [22, 3, 3, 0, 4, 2, 0, 0, 0, 22, 3, 3, 0, 1, 11, 22, 3, 3, 0, 3, 9, 9, 9];
        assert_eq!(abbreviated_server_flight(&full), None);
    }
}
