//! Radmin (Famatech Remote Administrator) message framing.
//!
//! Read from the corpus capture (radmin3.pcapng, Radmin 3 on TCP 4899): each
//! message starts with a 9-byte header, the byte `01`, a big-endian 32-bit
//! body length, two zero bytes, a flags byte and a type byte; the segment
//! holds exactly header + body. The first payload in each direction must
//! frame exactly. Both directions: `High` (the header is short and generic,
//! so never `Certain`); one direction is not reported.

use super::{be32, di, found};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

/// The body length and type byte of a whole Radmin message.
fn message(b: &[u8]) -> Option<(u32, u8)> {
    if b.len() < 10 || b[0] != 1 || b[5] != 0 || b[6] != 0 {
        return None;
    }
    let len = be32(b, 1)?;
    (len >= 1 && usize::try_from(len).ok()? + 9 == b.len()).then_some((len, b[8]))
}

/// Radmin state.
#[derive(Debug, Default)]
pub struct Radmin {
    /// Decided.
    done: bool,
    first: [Option<(u32, u8)>; 2],
}

impl Detector for Radmin {
    detector_head! { ctx: super::RemoteCtx, protocol: Radmin, transports: [TCP], done: done }

    /// Reads the first payload of each direction.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = di(p.dir);
        if self.first[d].is_some() {
            self.done = true;
            return;
        }
        let Some(m) = message(p.payload) else {
            self.done = true;
            return;
        };
        self.first[d] = Some(m);
        if let [Some(c), Some(s)] = self.first {
            self.done = true;
            out.push(
                found(
                    Protocol::Radmin,
                    Confidence::High,
                    Basis::Structure,
                    "Radmin message framing in both directions",
                )
                .with(
                    "client_message",
                    format!("type 0x{:02x}, {} bytes", c.1, c.0),
                )
                .with(
                    "server_message",
                    format!("type 0x{:02x}, {} bytes", s.1, s.0),
                ),
            );
        }
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    #[test]
    fn radmin3_exchange() {
        // radmin3.pcapng frames 15 and 17.
        let (a, b) = (
            hex("0100000005000002272702000000"),
            hex("0100000005000000272700000000"),
        );
        let mut r = Radmin::default();
        let mut out = Vec::new();
        send(&mut r, 6, C, 0, &a, &mut out);
        assert!(out.is_empty());
        send(&mut r, 6, S, 1, &b, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, Confidence::High);
    }

    #[test]
    fn length_must_match() {
        assert!(message(&hex("01000000050000022727020000")).is_none());
        assert!(message(&hex("010000000100000008")).is_none());
        assert!(message(&hex("01000000010000000808")).is_some());
    }
}
