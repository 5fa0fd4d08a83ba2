//! VNC: the Remote Framebuffer protocol handshake (RFC 6143 section 7.1).
//!
//! The server speaks first with a 12-byte ProtocolVersion message
//! `RFB xxx.yyy\n` (three-digit major and minor: 003.003, 003.007, 003.008,
//! and vendor values such as 003.889 or 004.001); the client answers with
//! the version it chose in the same format. From 3.7 on, the server then
//! lists its security types (a count byte, then one byte per type); 3.3
//! servers send one 32-bit type. Server banner alone: `High`; both banners:
//! `Certain`, reported once the security types arrive (or the flow ends).

use super::{be32, found, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::dissect::verdict::Direction;
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

/// True for a 12-byte `RFB ddd.ddd\n` ProtocolVersion message.
fn is_version(b: &[u8]) -> bool {
    b.len() == 12
        && b.starts_with(b"RFB ")
        && b[7] == b'.'
        && b[11] == b'\n'
        && b[4..7].iter().chain(&b[8..11]).all(u8::is_ascii_digit)
}

/// RFC 6143 7.2 security type names.
fn security_name(t: u8) -> String {
    match t {
        1 => "none".into(),
        2 => "vnc_auth".into(),
        5 => "ra2".into(),
        6 => "ra2ne".into(),
        16 => "tight".into(),
        18 => "tls".into(),
        19 => "vencrypt".into(),
        30 => "apple_ard".into(),
        t => t.to_string(),
    }
}

/// RFB handshake state.
#[derive(Debug, Default)]
pub struct Vnc {
    /// Decided.
    done: bool,
    /// Packets seen per direction.
    seen: [u8; 2],
    /// The finding, held until the security types arrive.
    pending: Option<Box<Detection>>,
}

impl Detector for Vnc {
    detector_head! { ctx: super::RemoteCtx, protocol: Vnc, transports: [TCP], done: done }

    /// Reads the first two server payloads and the first client payload.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let b = p.payload;
        match p.dir {
            Direction::ToClient => {
                self.seen[1] = self.seen[1].saturating_add(1);
                if self.seen[1] == 1 {
                    if !is_version(b) || self.seen[0] > 0 {
                        self.done = true;
                        return;
                    }
                    let d = found(
                        Protocol::Vnc,
                        Confidence::High,
                        Basis::Structure,
                        "RFB ProtocolVersion message from the server (VNC)",
                    )
                    .with("server_version", text(&b[4..11]));
                    out.push(d.clone());
                    self.pending = Some(Box::new(d));
                } else if let Some(mut d) = self.pending.take() {
                    if d.confidence == Confidence::Certain {
                        let types = match b.first() {
                            Some(&n) if n > 0 && b.len() == 1 + usize::from(n) => b[1..]
                                .iter()
                                .map(|&t| security_name(t))
                                .collect::<Vec<_>>()
                                .join(","),
                            _ if b.len() == 4 => security_name(be32(b, 0).unwrap_or(0) as u8),
                            _ => String::new(),
                        };
                        if !types.is_empty() {
                            d.evidence.push("security_types", types);
                        }
                    }
                    self.done = true;
                    out.push(*d);
                }
            }
            Direction::ToServer => {
                self.seen[0] = self.seen[0].saturating_add(1);
                if self.seen[0] > 1 || self.pending.is_none() {
                    // The client spoke first, or past the banners.
                    self.done |= self.pending.is_none();
                    return;
                }
                let Some(d) = self.pending.as_mut() else {
                    return;
                };
                if is_version(b) {
                    d.confidence = Confidence::Certain;
                    d.reason = "RFB ProtocolVersion messages from both sides (VNC)".into();
                    d.evidence.push("client_version", text(&b[4..11]));
                } else {
                    // A banner without the client's answer stays High.
                    self.flush(out);
                }
            }
        }
    }

    /// The flow ended: report what is held back.
    fn on_end(&mut self, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        self.flush(out);
    }
}

impl Vnc {

    /// Reports a finding still held back.
    pub fn flush(&mut self, out: &mut Vec<Detection>) {
        if let Some(d) = self.pending.take()
            && d.confidence == Confidence::Certain {
                out.push(*d);
            }
        self.done = true;
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    // vnc.pcap frames 4, 5, 6.
    #[test]
    fn rfb_handshake_both_ways() {
        let f4 = hex("524642203030342e3030310a");
        let f5 = hex("524642203030342e3030310a");
        let f6 = hex("070d850581068202");
        let mut v = Vnc::default();
        let mut out = Vec::new();
        send(&mut v, 6, S, 0, &f4, &mut out);
        assert_eq!(out[0].confidence, Confidence::High);
        send(&mut v, 6, C, 1, &f5, &mut out);
        assert_eq!(out.len(), 1);
        send(&mut v, 6, S, 2, &f6, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert_eq!(out[1].evidence.get("client_version"), Some("004.001"));
        assert_eq!(
            out[1].evidence.get("security_types"),
            Some("13,133,ra2,129,ra2ne,130,vnc_auth")
        );
        assert!(v.done);
    }

    #[test]
    fn client_first_or_other_text_is_not_vnc() {
        let mut v = Vnc::default();
        let mut out = Vec::new();
        send(&mut v, 6, S, 0, b"220 ftp ready\n", &mut out);
        assert!(out.is_empty() && v.done);
        let mut v = Vnc::default();
        send(&mut v, 6, C, 0, b"RFB 003.008\n", &mut out);
        send(&mut v, 6, S, 1, b"RFB 003.008\n", &mut out);
        assert!(out.is_empty() && v.done);
    }
}
