//! SoftEther VPN, by structure.
//!
//! SoftEther serialises its control messages as a "PACK" (SoftEther
//! `Mayaqua/Pack.c`): a big-endian element count, then per element the
//! name length + 1, the name, a value type (0 int, 1 data, 2 string,
//! 3 unicode string, 4 int64), a value count and the values (4 or 8 bytes,
//! or a 4-byte length and the bytes). Its UDP NAT-traversal servers answer
//! a probe with the text `IP=<address>,PORT=<port>`, the port being the
//! client's own. Over HTTP, clients POST to `/vpnsvc/connect.cgi` or
//! `/vpnsvc/vpn.cgi`, and the dynamic-DNS client posts `PACK` + a 10-digit
//! length + the base64 of a PACK.

use super::{side, structure};
use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::{Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;

/// Elements and values walked per PACK at most.
const MAX_ITEMS: usize = 256;

/// Walks a binary PACK; returns its element count when it fills `b`
/// exactly.
pub(super) fn parse_pack(b: &[u8]) -> Option<u32> {
    let u32_at =
        |o: usize| -> Option<u32> { Some(u32::from_be_bytes(b.get(o..o + 4)?.try_into().ok()?)) };
    let count = u32_at(0)?;
    if count == 0 || count > 64 {
        return None;
    }
    let mut off = 4;
    let mut items = 0;
    for _ in 0..count {
        let nlen = u32_at(off)? as usize;
        if !(2..=64).contains(&nlen) {
            return None;
        }
        let name = b.get(off + 4..off + 4 + nlen - 1)?;
        if !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            return None;
        }
        off += 4 + nlen - 1;
        let ty = u32_at(off)?;
        let nval = u32_at(off + 4)? as usize;
        off += 8;
        if ty > 4 || nval == 0 || nval > 64 {
            return None;
        }
        for _ in 0..nval {
            items += 1;
            if items > MAX_ITEMS {
                return None;
            }
            off += match ty {
                0 => 4,
                4 => 8,
                _ => 4 + u32_at(off)? as usize,
            };
            if off > b.len() {
                return None;
            }
        }
    }
    (off == b.len()).then_some(count)
}

/// `IP=<dotted quad>,PORT=<n>`: returns the port.
pub(super) fn parse_nat_t(b: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(b.strip_prefix(b"IP=")?).ok()?;
    let (ip, port) = s.split_once(",PORT=")?;
    ip.parse::<std::net::Ipv4Addr>().ok()?;
    port.parse().ok()
}

/// An HTTP request head of a SoftEther client: returns what matched.
pub(super) fn parse_http(b: &[u8]) -> Option<&'static str> {
    let head = b.strip_prefix(b"POST ")?;
    if head.starts_with(b"/vpnsvc/connect.cgi ") || head.starts_with(b"/vpnsvc/vpn.cgi ") {
        return Some("POST /vpnsvc");
    }
    let body = b.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let pack = b[body..].strip_prefix(b"PACK")?;
    let (digits, rest) = (pack.get(..10)?, pack.get(10..)?);
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // base64 of the PACK's first 9 bytes: element count, first name length.
    let mut raw = [0u8; 9];
    let chars = rest.get(..12)?;
    for (i, c) in chars.chunks(4).enumerate() {
        let mut v = 0u32;
        for &ch in c {
            let x = match ch {
                b'A'..=b'Z' => ch - b'A',
                b'a'..=b'z' => ch - b'a' + 26,
                b'0'..=b'9' => ch - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            };
            v = v << 6 | u32::from(x);
        }
        raw[i * 3..i * 3 + 3].copy_from_slice(&v.to_be_bytes()[1..]);
    }
    let count = u32::from_be_bytes(raw[0..4].try_into().ok()?);
    let nlen = u32::from_be_bytes(raw[4..8].try_into().ok()?);
    ((1..=64).contains(&count) && (2..=64).contains(&nlen) && raw[8].is_ascii_alphanumeric())
        .then_some("HTTP body PACK")
}

/// The SoftEther detector of one flow.
#[derive(Debug, Default)]
pub struct SoftEther {
    packs: [u8; 2],
    nat_t: bool,
    http: Option<&'static str>,
    /// Stopped, or how far reported.
    decision: Decision,
    seen: u8,
}

impl Detector for SoftEther {
    detector_head! { ctx: super::VpnCtx, protocol: SoftEther, transports: [TCP, UDP], done: decision }

    /// One UDP datagram or TCP segment.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = side(p.dir);
        self.seen = self.seen.saturating_add(1);
        match p.proto {
            IpProto::TCP => {
                if d == 0 && self.http.is_none() {
                    self.http = parse_http(p.payload);
                }
                if self.http.is_none() {
                    self.decision.stopped = true;
                    return;
                }
            }
            IpProto::UDP => {
                if parse_pack(p.payload).is_some() {
                    self.packs[d] = self.packs[d].saturating_add(1);
                } else if d == 1 && parse_nat_t(p.payload) == Some(p.client_port) {
                    self.nat_t = true;
                } else if self.seen > 8 && self.decision.reported.is_none() {
                    self.decision.stopped = true;
                    return;
                }
            }
            _ => {
                self.decision.stopped = true;
                return;
            }
        }
        let (conf, why) = if self.packs[0] > 0 && self.packs[1] > 0 {
            (Confidence::Certain, "SoftEther PACK messages both ways")
        } else if self.nat_t {
            (
                Confidence::High,
                "SoftEther NAT-traversal answer echoing the client's address and port",
            )
        } else if let Some(h) = self.http {
            (
                Confidence::High,
                if h == "POST /vpnsvc" {
                    "SoftEther VPN session over HTTP (POST /vpnsvc/...)"
                } else {
                    "SoftEther client over HTTP: the body is a base64 PACK"
                },
            )
        } else if self.packs[0] + self.packs[1] >= 2 {
            (Confidence::Medium, "SoftEther PACK messages one way")
        } else {
            return;
        };
        if !self.decision.raise(conf) {
            return;
        }
        let mut det = structure(
            Protocol::SoftEther,
            conf,
            why,
        )
        .with(
            "pack_messages",
            format!("{}/{}", self.packs[0], self.packs[1]),
        )
        .with("nat_traversal_echo", self.nat_t);
        if let Some(h) = self.http {
            det = det.with("http", h);
        }
        out.push(det);
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::{feed_ports, unhex};

    // softether.pcap frame 41: a 99-byte PACK (opcode=get_token, tran_id,
    // nat_traversal_version).
    const GET_TOKEN: &str = "00000003000000076f70636f64650000000200000001000000096765745f746f6b656e\
                             000000087472616e5f6964000000040000000155ca14e54bbd177a000000166e61745f\
                             74726176657273616c5f76657273696f6e000000000000000100000001";

    #[test]
    fn pack_parses() {
        let b = unhex(GET_TOKEN);
        assert_eq!(parse_pack(&b), Some(3));
        assert!(parse_pack(&b[..b.len() - 1]).is_none());
    }

    // softether.pcap frames 1 and 2: probe "A" and "IP=90.186.132.133,PORT=51381".
    #[test]
    fn nat_t_echo() {
        let pk: Vec<(bool, &str)> = vec![
            (true, "41"),
            (
                false,
                "49503d39302e3138362e3133322e3133332c504f52543d3531333831",
            ),
        ];
        let mut det = SoftEther::default();
        let out = feed_ports(&mut det, 17, 51381, 5004, &pk);
        assert_eq!(out.last().map(|d| d.confidence), Some(Confidence::High));
    }

    // softether.pcap frame 19: the DDNS client's POST with a base64 PACK.
    #[test]
    fn http_pack() {
        let req = b"POST /ddns/ddns.aspx?v=1 HTTP/1.1\r\nContent-Length: 724\r\n\r\nPACK0000000668AAAADwAAAAZidWlsZAAA";
        assert_eq!(parse_http(req), Some("HTTP body PACK"));
        assert!(parse_http(b"POST /form HTTP/1.1\r\n\r\na=b&c=d").is_none());
    }
}
