//! XDMCP, the X Display Manager Control Protocol (X Consortium standard,
//! XDMCP 1.1, "Protocol" and "Packet format").
//!
//! Every datagram starts with version (16-bit, 1), opcode (16-bit) and the
//! length of what follows (16-bit), all big-endian; the datagram holds
//! exactly that. Displays send BroadcastQuery/Query/IndirectQuery (1-3),
//! Request (7), Manage (10) and KeepAlive (13); managers answer Willing (5),
//! Unwilling (6), Accept (8), Decline (9), Refuse (11), Failed (12) and Alive
//! (14). Display messages alone: `Medium` (one) or `High` (two or more);
//! answered by a manager message of the matching kind: `Certain`.

use super::{be16, di, found, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

fn opcode_name(op: u16) -> &'static str {
    match op {
        1 => "BroadcastQuery",
        2 => "Query",
        3 => "IndirectQuery",
        4 => "ForwardQuery",
        5 => "Willing",
        6 => "Unwilling",
        7 => "Request",
        8 => "Accept",
        9 => "Decline",
        10 => "Manage",
        11 => "Refuse",
        12 => "Failed",
        13 => "KeepAlive",
        14 => "Alive",
        _ => "?",
    }
}

/// The opcode of a whole XDMCP datagram.
fn opcode(b: &[u8]) -> Option<u16> {
    if be16(b, 0)? != 1 {
        return None;
    }
    let op = be16(b, 2)?;
    let len = usize::from(be16(b, 4)?);
    ((1..=14).contains(&op) && 6 + len == b.len()).then_some(op)
}

/// A display's message (sent by the side that asks to be managed).
fn from_display(op: u16) -> bool {
    matches!(op, 1..=4 | 7 | 10 | 13)
}

/// Willing's status string (after the authentication name and hostname).
fn willing_status(b: &[u8]) -> Option<&[u8]> {
    let mut at = 6;
    for _ in 0..2 {
        at += 2 + usize::from(be16(b, at)?);
    }
    let n = usize::from(be16(b, at)?);
    b.get(at + 2..at + 2 + n)
}

/// XDMCP state.
#[derive(Debug, Default)]
pub struct Xdmcp {
    /// Decided.
    done: bool,
    /// Opcodes seen, as bits.
    ops: u16,
    display_msgs: u8,
    reported: Option<Confidence>,
}

impl Detector for Xdmcp {
    detector_head! { ctx: super::RemoteCtx, protocol: Xdmcp, transports: [UDP], done: done }

    /// Checks each datagram of the window.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let Some(op) = opcode(p.payload) else {
            self.done = true;
            return;
        };
        // Displays are the clients; managers answer.
        if from_display(op) != (di(p.dir) == 0) {
            self.done = true;
            return;
        }
        self.ops |= 1 << op;
        let conf = if from_display(op) {
            self.display_msgs = self.display_msgs.saturating_add(1);
            if self.display_msgs >= 2 {
                Confidence::High
            } else {
                Confidence::Medium
            }
        } else {
            let asked = match op {
                5 | 6 => self.ops & 0b11110 != 0,
                8 | 9 => self.ops & (1 << 7) != 0,
                11 | 12 => self.ops & (1 << 10) != 0,
                14 => self.ops & (1 << 13) != 0,
                _ => false,
            };
            if !asked {
                self.done = true;
                return;
            }
            Confidence::Certain
        };
        if self.reported.is_some_and(|r| r >= conf) {
            return;
        }
        self.reported = Some(conf);
        let ops: Vec<&str> = (1..=14)
            .filter(|o| self.ops & (1 << o) != 0)
            .map(opcode_name)
            .collect();
        let mut d = found(
            Protocol::Xdmcp,
            conf,
            Basis::Structure,
            if conf == Confidence::Certain {
                "XDMCP display request answered by a display manager"
            } else {
                "XDMCP display request"
            },
        )
        .with("opcodes", ops.join(","));
        if op == 5
            && let Some(s) = willing_status(p.payload) {
                d = d.with("manager_status", text(s));
            }
        if conf == Confidence::Certain {
            self.done = true;
        }
        out.push(d);
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    #[test]
    fn query_willing() {
        // xdmcp.pcap frames 1 and 2.
        let (a, b) = (
            hex("00010002000100"),
            hex("00010005001700000000001157696c6c696e6720746f206d616e616765"),
        );
        let mut x = Xdmcp::default();
        let mut out = Vec::new();
        send(&mut x, 17, C, 0, &a, &mut out);
        assert_eq!(out[0].confidence, Confidence::Medium);
        send(&mut x, 17, S, 1, &b, &mut out);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert_eq!(
            out[1].evidence.get("manager_status"),
            Some("Willing to manage")
        );
        assert_eq!(out[1].evidence.get("opcodes"), Some("Query,Willing"));
    }

    #[test]
    fn unsolicited_answer_or_bad_length() {
        let b = hex("00010005001700000000001157696c6c696e6720746f206d616e616765");
        let mut x = Xdmcp::default();
        let mut out = Vec::new();
        send(&mut x, 17, S, 0, &b, &mut out);
        assert!(out.is_empty() && x.done);
        assert!(opcode(&hex("00010002000300")).is_none());
    }
}
