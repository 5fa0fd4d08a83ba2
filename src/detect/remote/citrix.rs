//! Citrix ICA: the connection preamble.
//!
//! On a raw ICA connection (TCP 1494) the server announces itself with the
//! 6-byte preamble `7F 7F 'I' 'C' 'A' 00`, repeated until the client
//! answers with the same bytes, then the client lists its driver modules
//! (`WFICA32.EXE`, `TDWSTCPN.DLL`, ...) (citrix.pcap; the preamble is the
//! well-known ICA "detect" string). Server preamble alone: `High`; echoed by
//! the client: `Certain`.

use super::{found, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::dissect::verdict::Direction;
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

const PREAMBLE: &[u8] = b"\x7f\x7fICA\x00";

/// True when `b` is one or more preambles.
fn preambles(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len().is_multiple_of(PREAMBLE.len())
        && b.chunks(PREAMBLE.len()).all(|c| c == PREAMBLE)
}

/// The first module name (`NAME.EXT`) in a client module list packet.
fn module_name(b: &[u8]) -> Option<&[u8]> {
    b.split(|c| !(0x21..0x7f).contains(c)).find(|w| {
        let tail = w.len().saturating_sub(4);
        w.len() > 4
            && w.len() <= 32
            && (w[tail..].eq_ignore_ascii_case(b".dll") || w[tail..].eq_ignore_ascii_case(b".exe"))
    })
}

/// ICA state.
#[derive(Debug, Default)]
pub struct Ica {
    /// Decided.
    done: bool,
    server: bool,
    client: bool,
}

impl Detector for Ica {
    detector_head! { ctx: super::RemoteCtx, protocol: Citrix, transports: [TCP], done: done }

    /// Reads the first payloads.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let b = p.payload;
        match p.dir {
            Direction::ToClient if !self.server => {
                if !preambles(b) {
                    self.done = true;
                    return;
                }
                self.server = true;
                out.push(found(
                    Protocol::Citrix,
                    Confidence::High,
                    Basis::Structure,
                    "Citrix ICA preamble from the server",
                ));
            }
            Direction::ToServer if self.server && !self.client => {
                if !preambles(b) {
                    self.done = true;
                    return;
                }
                self.client = true;
            }
            Direction::ToServer if self.client => {
                self.done = true;
                let mut d = found(
                    Protocol::Citrix,
                    Confidence::Certain,
                    Basis::Structure,
                    "Citrix ICA preamble from the server, echoed by the client",
                );
                if let Some(m) = module_name(b) {
                    d = d.with("client_module", text(m));
                }
                out.push(d);
            }
            Direction::ToClient => {}
            Direction::ToServer => self.done = true,
        }
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    #[test]
    fn ica_handshake() {
        // citrix.pcap frames 4, 5, 6, 7 (first 48 bytes).
        let f = [
            (S, "7f7f49434100"),
            (C, "7f7f49434100"),
            (S, "000f00070002040006000200030004000100"),
            (
                C,
                "019700970015000104574649434133322e4558450000000000000000000000352856be",
            ),
        ];
        let mut ica = Ica::default();
        let mut out = Vec::new();
        for (i, (d, h)) in f.iter().enumerate() {
            send(&mut ica, 6, *d, i as u16, &hex(h), &mut out);
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert_eq!(out[1].evidence.get("client_module"), Some("WFICA32.EXE"));
    }

    #[test]
    fn other_first_bytes() {
        assert!(!preambles(b"\x7f\x7fICA"));
        assert!(!preambles(b"HTTP/1.1 200 OK\r\n"));
    }
}
