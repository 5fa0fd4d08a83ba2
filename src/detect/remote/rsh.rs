//! The BSD r-commands: rsh, rexec and rlogin.
//!
//! rsh (rshd(8), RFC 1282 for rlogin): the client sends the port of its
//! stderr back-channel as ASCII digits and a NUL (an empty string for none),
//! then the local user, the remote user and the command, each NUL-ended;
//! rexecd(8) reads the same shape with user, password and command. rlogin
//! (RFC 1282) sends a NUL, then the local user, the remote user and
//! `terminal/speed`, each NUL-ended. The server answers one byte: 0 for
//! success (output follows), 1 followed by an error message and newline.
//! The strings are read across the client's first segments (at most
//! [`MAX_HEAD`] bytes). Client head alone: `High`; with the server's status
//! byte: `Certain`. Evidence: the variant, the stderr port, the first user
//! name, the command or terminal, the server's error message. The second
//! string is never reported: for rexec it is a password.
//!
//! The stderr back-channel that rshd opens to the client's port carries
//! only error text and is not recognised on its own.

use super::{found, printable, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::dissect::verdict::Direction;
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

/// Most client bytes read for the head.
const MAX_HEAD: usize = 512;

/// A complete client head: (stderr port text, first user, third string).
type Head<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// The client's head: `Some(None)` while incomplete but well-formed.
fn head(b: &[u8]) -> Option<Option<Head<'_>>> {
    let mut parts = b.splitn(5, |&c| c == 0);
    let port = parts.next()?;
    if port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !port.is_empty() && port.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0')) > 65535 {
        return None;
    }
    let mut strings: [&[u8]; 3] = [&[]; 3];
    for (i, s) in strings.iter_mut().enumerate() {
        let Some(part) = parts.next() else {
            return Some(None);
        };
        // The last part is unterminated (more to come) unless another follows.
        let limit = if i == 2 { MAX_HEAD } else { 64 };
        if part.len() > limit || !printable(part) {
            return None;
        }
        *s = part;
    }
    // Each string must be NUL-terminated: a fifth part (possibly empty) exists.
    if parts.next().is_none() || strings[0].is_empty() || strings[1].is_empty() {
        return if b.len() < MAX_HEAD { Some(None) } else { None };
    }
    Some(Some((port, strings[0], strings[2])))
}

/// r-command state.
#[derive(Debug, Default)]
pub struct Rsh {
    /// Decided.
    done: bool,
    /// Client bytes collected (allocated once the first segment fits).
    buf: Option<Vec<u8>>,
    /// The finding, kept for the server's answer.
    pending: Option<Box<Detection>>,
}

impl Detector for Rsh {
    detector_head! { ctx: super::RemoteCtx, protocol: Rsh, transports: [TCP], done: done }

    /// Collects the client's head, then reads the server's status byte.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if p.dir == Direction::ToClient {
            self.done = true;
            let Some(mut d) = self.pending.take() else {
                return;
            };
            match p.payload {
                [0, ..] => {}
                [1, msg @ ..] if msg.len() < 512 && msg.ends_with(b"\n") => {
                    d.evidence.push("server_error", text(msg.trim_ascii_end()));
                }
                _ => return,
            }
            d.confidence = Confidence::Certain;
            d.reason.push_str(", answered by the server's status byte");
            out.push(*d);
            return;
        }
        if self.pending.is_some() {
            return;
        }
        let buf = self.buf.get_or_insert_with(|| Vec::with_capacity(64));
        if buf.len() + p.payload.len() > MAX_HEAD {
            self.done = true;
            self.buf = None;
            return;
        }
        buf.extend_from_slice(p.payload);
        match head(buf) {
            None => {
                self.done = true;
                self.buf = None;
            }
            Some(None) => {}
            Some(Some((port, user, third))) => {
                let rlogin = port.is_empty()
                    && third.iter().position(|&c| c == b'/').is_some_and(|i| {
                        i > 0
                            && i + 1 < third.len()
                            && third[i + 1..].iter().all(u8::is_ascii_digit)
                    });
                let mut d = found(
                    Protocol::Rsh,
                    Confidence::High,
                    Basis::Structure,
                    if rlogin {
                        "rlogin connection head (NUL, users, terminal/speed)"
                    } else {
                        "rsh/rexec connection head (stderr port, users, command)"
                    },
                )
                .with("variant", if rlogin { "rlogin" } else { "rsh_or_rexec" })
                .with("user", text(user));
                if rlogin {
                    d = d.with("terminal", text(third));
                } else {
                    if !port.is_empty() {
                        d = d.with("stderr_port", text(port));
                    }
                    d = d.with("command", text(third));
                }
                out.push(d.clone());
                self.pending = Some(Box::new(d));
                self.buf = None;
            }
        }
    }

    /// The flow ended: report what is held back.
    fn on_end(&mut self, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        self.flush(out);
    }
}

impl Rsh {

    /// The flow ended: nothing held back needs reporting (the High finding
    /// already went out).
    pub fn flush(&mut self, _out: &mut [Detection]) {
        self.done = true;
        self.pending = None;
        self.buf = None;
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    #[test]
    fn rsh_session() {
        // rsh.pcap frames 4, 6 and 8.
        let f4 = hex("3130323200");
        let f6 = hex("6c6e7300726f6f74006d6b646972207465737464697200");
        let f8 = hex("0150617373776f726420696e636f72726563742e0a");
        let mut r = Rsh::default();
        let mut out = Vec::new();
        send(&mut r, 6, C, 0, &f4, &mut out);
        assert!(out.is_empty() && !r.done);
        send(&mut r, 6, C, 1, &f6, &mut out);
        assert_eq!(out[0].confidence, Confidence::High);
        assert_eq!(out[0].evidence.get("user"), Some("lns"));
        assert_eq!(out[0].evidence.get("command"), Some("mkdir testdir"));
        assert_eq!(out[0].evidence.get("stderr_port"), Some("1022"));
        send(&mut r, 6, S, 2, &f8, &mut out);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert_eq!(
            out[1].evidence.get("server_error"),
            Some("Password incorrect.")
        );
    }

    #[test]
    fn rlogin_head() {
        // RFC 1282 section "Connection Establishment" shape.
        let h = b"\0alice\0alice\0xterm/38400\0";
        let mut r = Rsh::default();
        let mut out = Vec::new();
        send(&mut r, 6, C, 0, h, &mut out);
        assert_eq!(out[0].evidence.get("variant"), Some("rlogin"));
        assert_eq!(out[0].evidence.get("terminal"), Some("xterm/38400"));
    }

    #[test]
    fn binary_or_text_protocols_are_not_rsh() {
        for b in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"\x16\x03\x01\x00",
            b"123456\0a\0b\0c\0",
            b"\0\0\0\0",
        ] {
            let mut r = Rsh::default();
            let mut out = Vec::new();
            send(&mut r, 6, C, 0, b, &mut out);
            assert!(out.is_empty(), "{b:?}");
        }
    }
}
