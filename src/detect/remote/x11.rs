//! X11: the connection setup (X Window System Protocol, X Consortium
//! standard, section 8 "Connection Setup").
//!
//! The client's first message: byte-order `'B'` (MSB first) or `'l'` (LSB
//! first), an unused byte, protocol-major-version 11, protocol-minor-version
//! 0, the lengths n and d of the authorization protocol name and data, two
//! unused bytes, then the name and data each padded to 4 bytes; the segment
//! holds exactly that. The server answers Failed (0), Success (1) or
//! Authenticate (2) with an 8-byte head whose last field counts the 4-byte
//! units that follow; Failed and Success repeat the protocol version 11.
//! Request alone: `High`; request and a consistent answer: `Certain`. The
//! authorization protocol's name (never its data) and the server's vendor
//! string are evidence.

use super::{found, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::dissect::verdict::Direction;
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// A reader of 16-bit fields in the client's byte order.
fn u16_at(b: &[u8], at: usize, big: bool) -> Option<u16> {
    let v: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if big {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    })
}

/// The byte order and authorization protocol name of a setup request.
fn request(b: &[u8]) -> Option<(bool, &[u8])> {
    let big = match b.first()? {
        b'B' => true,
        b'l' => false,
        _ => return None,
    };
    if b.len() < 12 || b[1] != 0 || u16_at(b, 2, big)? != 11 || u16_at(b, 4, big)? != 0 {
        return None;
    }
    let n = usize::from(u16_at(b, 6, big)?);
    let d = usize::from(u16_at(b, 8, big)?);
    if n > 256 || d > 1024 || 12 + pad4(n) + pad4(d) != b.len() {
        return None;
    }
    let name = &b[12..12 + n];
    if !super::printable(name) {
        return None;
    }
    Some((big, name))
}

/// The server's answer: (status, reason or vendor).
fn answer(b: &[u8], big: bool) -> Option<(&'static str, &[u8])> {
    if b.len() < 8 {
        return None;
    }
    let units = usize::from(u16_at(b, 6, big)?);
    if b.len() > 8 + 4 * units {
        return None;
    }
    match b[0] {
        0 | 1 if u16_at(b, 2, big)? != 11 => None,
        0 => {
            let n = usize::from(b[1]);
            Some(("failed", b.get(8..8 + n).unwrap_or(&[])))
        }
        1 => {
            let vlen = usize::from(u16_at(b, 24, big).unwrap_or(0));
            Some(("success", b.get(40..40 + vlen).unwrap_or(&[])))
        }
        2 => Some(("authenticate", &[])),
        _ => None,
    }
}

/// X11 state.
#[derive(Debug, Default)]
pub struct X11 {
    /// Decided.
    done: bool,
    /// Byte order of a verified request (Some(big-endian)).
    order: Option<bool>,
    auth: [u8; 24],
    auth_len: u8,
}

impl Detector for X11 {
    detector_head! { ctx: super::RemoteCtx, protocol: X11, transports: [TCP], done: done }

    /// Reads the first payload of each direction.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        match (p.dir, self.order) {
            (Direction::ToServer, None) => {
                let Some((big, name)) = request(p.payload) else {
                    self.done = true;
                    return;
                };
                self.order = Some(big);
                let n = name.len().min(self.auth.len());
                self.auth[..n].copy_from_slice(&name[..n]);
                self.auth_len = n as u8;
                out.push(self.finding(Confidence::High, "X11 connection setup request"));
            }
            (Direction::ToClient, Some(big)) => {
                self.done = true;
                if let Some((status, text_)) = answer(p.payload, big) {
                    let mut d = self.finding(
                        Confidence::Certain,
                        "X11 connection setup request and the server's answer",
                    );
                    d.evidence.push("setup_status", status);
                    if !text_.is_empty() {
                        d.evidence.push(
                            if status == "success" {
                                "vendor"
                            } else {
                                "reason"
                            },
                            text(text_),
                        );
                    }
                    out.push(d);
                }
            }
            _ => self.done = true,
        }
    }
}

impl X11 {

    fn finding(&self, c: Confidence, reason: &str) -> Detection {
        let mut d = found(Protocol::X11, c, Basis::Structure, reason).with(
            "byte_order",
            if self.order == Some(true) {
                "msb_first"
            } else {
                "lsb_first"
            },
        );
        if self.auth_len > 0 {
            d = d.with(
                "auth_protocol",
                text(&self.auth[..usize::from(self.auth_len)]),
            );
        }
        d
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    // Built from the X11 protocol specification, section 8 (no X11 setup in
    // the corpus): an LSB-first request with MIT-MAGIC-COOKIE-1 and a
    // 16-byte cookie, and the head of a Success answer with vendor "X.Org".
    #[test]
    fn setup_both_ways() {
        let mut req = hex("6c000b0000001200100000004d49542d4d414749432d434f4f4b49452d310000");
        req.extend_from_slice(&[0x5a; 16]);
        let mut ans = hex("01000b0000000a00");
        ans.extend_from_slice(&[0; 16]);
        ans.extend_from_slice(&hex("05000000"));
        ans.extend_from_slice(&[0; 12]);
        ans.extend_from_slice(b"X.Org\0\0\0");
        let mut x = X11::default();
        let mut out = Vec::new();
        send(&mut x, 6, C, 0, &req, &mut out);
        assert_eq!(
            out[0].evidence.get("auth_protocol"),
            Some("MIT-MAGIC-COOKIE-1")
        );
        send(&mut x, 6, S, 1, &ans, &mut out);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert_eq!(out[1].evidence.get("vendor"), Some("X.Org"));
    }

    #[test]
    fn look_alikes() {
        // 'l' then random bytes, and an HTTP request starting with 'B'.
        assert!(request(&hex("6c000b00000000000000000001")).is_none());
        assert!(request(b"BREW /pot HTTP/1.1\r\n").is_none());
        assert!(request(&hex("6c000b000000000000000000")).is_some());
    }
}
