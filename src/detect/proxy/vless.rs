//! VLESS (V2Ray/Xray) without TLS: a plaintext request header in front of
//! the user's data.
//!
//! VLESS leaves encryption to its transport; over plain TCP (or inside a
//! WebSocket, [`super::websocket`]) its header is in the clear. The layout,
//! as the V2Ray/Xray documentation of the protocol describes it: version
//! (1 byte, 0), user id (a 16-byte UUID), addons length M and M bytes of
//! addons (protobuf), command (1 TCP, 2 UDP, 3 mux), then for TCP and UDP
//! the destination port (2 bytes, big endian), address type (1 IPv4,
//! 2 domain name with a length byte, 3 IPv6) and address; the user's first
//! bytes follow. The server's first payload starts with version 0 and its
//! own addons length. A finding needs the whole request header to parse,
//! its user id to look like a random UUID (at least 10 distinct byte
//! values, set bits within four standard deviations of 64), a domain to be
//! hostname characters, and the server's answer to start with the version
//! byte: that is the protocol's structure, so High.

use crate::decode::IpProto;
use crate::detect::detector::{Detector, detector_head};
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts, PacketView, Protocol};
use crate::dissect::Direction;

/// Largest addons block taken (Xray's flow setting is about 20 bytes).
const MAX_ADDONS: u8 = 64;

/// A parsed VLESS request header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Request {
    /// Command: 1 TCP, 2 UDP, 3 mux.
    pub command: u8,
    /// Destination port (0 for mux).
    pub port: u16,
    /// Address type (0 for mux).
    pub atyp: u8,
    /// Header length in bytes.
    pub len: u16,
}

/// The user id looks like a random UUID.
fn random_id(id: &[u8]) -> bool {
    let bits: u32 = id.iter().map(|b| b.count_ones()).sum();
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in id {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
    }
    distinct >= 10 && (41..=87).contains(&bits)
}

fn hostname_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_'
}

/// Parses a VLESS request header at the start of `b`.
pub(super) fn request(b: &[u8]) -> Option<Request> {
    if b.len() < 19 || b[0] != 0 || !random_id(&b[1..17]) {
        return None;
    }
    let m = b[17];
    if m > MAX_ADDONS {
        return None;
    }
    let mut i = 18 + usize::from(m);
    let command = *b.get(i)?;
    i += 1;
    let (port, atyp) = match command {
        1 | 2 => {
            let port = u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]);
            let atyp = *b.get(i + 2)?;
            i += 3;
            let alen = match atyp {
                1 => 4,
                3 => 16,
                2 => {
                    let l = usize::from(*b.get(i)?);
                    i += 1;
                    let name = b.get(i..i + l)?;
                    if l == 0 || !name.iter().all(|&c| hostname_byte(c)) {
                        return None;
                    }
                    l
                }
                _ => return None,
            };
            if port == 0 || b.len() < i + alen {
                return None;
            }
            i += alen;
            (port, atyp)
        }
        3 => (0, 0),
        _ => return None,
    };
    Some(Request {
        command,
        port,
        atyp,
        len: u16::try_from(i).ok()?,
    })
}

/// The server's first payload starts like a VLESS response: version 0 and
/// an addons length no larger than the rest.
pub(super) fn response(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0 && b[1] <= MAX_ADDONS && b.len() >= 2 + usize::from(b[1])
}

/// The finding, shared with the WebSocket detector.
pub(super) fn finding(r: &Request, transport: &'static str) -> Detection {
    Detection::new(
        Category::Proxy,
        Protocol::Vless,
        Confidence::High,
        Basis::Structure,
        "VLESS request header in the clear (version 0, random user id, addons, command, destination) answered by a VLESS response",
    )
    .with("transport", transport)
    .with("command", r.command)
    .with("target_port", r.port)
    .with("address_type", r.atyp)
    .with("header_bytes", r.len)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Start,
    /// The client's first payload was a VLESS request.
    Requested(Request),
    Done,
}

/// Per-flow state of the VLESS-over-TCP detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Vless {
    state: State,
}

impl Detector for Vless {
    detector_head! { ctx: super::ProxyCtx, protocol: Vless, done: state == State::Done }

    /// The first payload each way.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        match self.state {
            State::Start => {
                self.state = match (p.proto == IpProto::TCP && p.dir == Direction::ToServer)
                    .then(|| request(p.payload))
                    .flatten()
                {
                    Some(r) => State::Requested(r),
                    None => State::Done,
                };
            }
            State::Requested(r) => {
                if p.dir == Direction::ToClient {
                    if response(p.payload) {
                        out.push(finding(&r, "tcp"));
                    }
                    self.state = State::Done;
                }
            }
            State::Done => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::proxy::tests_util::{facts, hex, view};

    /// vless-tcp.pcap: the HTTP flow's request head (to 127.0.0.1:8080) and
    /// the TLS flow's (to localhost:8443).
    const REQ_IPV4: &str = "00862b684309e54705a7d6505cc18bcca300011f90017f000001474554202f";
    const REQ_DOMAIN: &str = "00862b684309e54705a7d6505cc18bcca3000120fb02096c6f63616c686f7374160301";

    #[test]
    fn parses_requests() {
        let r = request(&hex(REQ_IPV4)).unwrap();
        assert_eq!((r.command, r.port, r.atyp, r.len), (1, 8080, 1, 26));
        let r = request(&hex(REQ_DOMAIN)).unwrap();
        assert_eq!((r.command, r.port, r.atyp, r.len), (1, 8443, 2, 32));
        // Zero padding is no user id.
        let mut z = vec![0u8; 40];
        z[18] = 1;
        z[20] = 80;
        z[21] = 1;
        assert_eq!(request(&z), None);
        // Neither is TLS or HTTP.
        assert_eq!(request(b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"), None);
        assert!(response(&hex("0000485454502f")));
        assert!(!response(&hex("1603030040")));
    }

    #[test]
    fn flow_flags() {
        let f = facts();
        let mut d = Vless::default();
        let mut out = Vec::new();
        d.on_packet(&view(0, Direction::ToServer, &hex(REQ_IPV4)), &f, &Default::default(), &mut out);
        d.on_packet(&view(1, Direction::ToClient, &hex("0000485454502f312e30")), &f, &Default::default(), &mut out);
        assert!(d.done());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].protocol, Protocol::Vless);
    }
}
