//! NoMachine (NX): the text greeting over TCP and NoMachine's UDP framing.
//!
//! TCP: the NoMachine client opens with an `NXSH-<version>\n` line and the
//! NX daemon answers `NXD-<version>\n` (nomachine.pcapng, NoMachine 8.10;
//! NoMachine's documentation names the daemon `nxd` and its TCP port 4000).
//! Each line is checked for shape: `NX`, upper-case letters, `-`, a dotted
//! numeric version, newline. One greeting: `High`; both: `Certain`.
//!
//! UDP (the same capture, NoMachine's UDP media channel on 4000): every
//! datagram starts with a type byte, the bytes `00 01 00`, and a
//! little-endian 16-bit length equal to the datagram's length. All
//! datagrams of the window must carry it; two or more each way: `High`.

use super::{di, found, le16, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::dissect::verdict::Direction;
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

/// The version of an `NX<NAME>-<version>\n` greeting.
fn greeting(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let line = b.strip_suffix(b"\n")?;
    if line.len() > 64 || !line.starts_with(b"NX") {
        return None;
    }
    let dash = line.iter().position(|&c| c == b'-')?;
    let (name, version) = (&line[..dash], &line[dash + 1..]);
    let ok_name = name.len() <= 8 && name.iter().all(u8::is_ascii_uppercase);
    let ok_version = !version.is_empty()
        && version[0].is_ascii_digit()
        && version.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    (ok_name && ok_version).then_some((name, version))
}

/// NoMachine over TCP.
#[derive(Debug, Default)]
pub struct NxTcp {
    /// Decided.
    done: bool,
    seen: [bool; 2],
    reported_high: bool,
    /// The first greeting (`NAME-version`), kept for the final finding.
    first: [u8; 32],
    first_len: u8,
}

impl Detector for NxTcp {
    detector_head! { ctx: super::RemoteCtx, protocol: NoMachine, transports: [TCP], done: done }

    /// Reads the first payload of each direction.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = di(p.dir);
        if self.seen[d] {
            self.done = true;
            return;
        }
        let Some((name, version)) = greeting(p.payload) else {
            self.done = true;
            return;
        };
        self.seen[d] = true;
        let key = if p.dir == Direction::ToServer {
            "client_greeting"
        } else {
            "server_greeting"
        };
        let both = self.seen[0] && self.seen[1];
        let mut det = found(
            Protocol::NoMachine,
            Confidence::certain_if(both),
            Basis::Structure,
            if both {
                "NoMachine NX greetings from both sides"
            } else {
                "NoMachine NX greeting"
            },
        )
        .with(key, format!("{}-{}", text(name), text(version)));
        if both {
            let other = if key == "client_greeting" {
                "server_greeting"
            } else {
                "client_greeting"
            };
            det.evidence
                .push(other, text(&self.first[..usize::from(self.first_len)]));
        } else {
            let g = &p.payload[..p.payload.len() - 1];
            let n = g.len().min(self.first.len());
            self.first[..n].copy_from_slice(&g[..n]);
            self.first_len = n as u8;
        }
        if both {
            self.done = true;
        } else if self.reported_high {
            return;
        }
        self.reported_high = true;
        det.evidence.push("transport", "tcp");
        out.push(det);
    }
}


/// NoMachine over UDP.
#[derive(Debug, Default)]
pub struct NxUdp {
    /// Decided.
    done: bool,
    datagrams: [u8; 2],
    types: u32,
}

impl Detector for NxUdp {
    detector_head! { ctx: super::RemoteCtx, protocol: NoMachine, transports: [UDP], done: done }

    /// Checks each datagram of the window.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let b = p.payload;
        let ok = b.len() >= 8
            && b[0] < 32
            && b[1..4] == [0, 1, 0]
            && le16(b, 4).map(usize::from) == Some(b.len());
        if !ok {
            self.done = true;
            return;
        }
        self.types |= 1 << b[0];
        let d = di(p.dir);
        self.datagrams[d] = self.datagrams[d].saturating_add(1);
        if self.datagrams[0] >= 2 && self.datagrams[1] >= 2 {
            self.done = true;
            let types: Vec<String> = (0..32)
                .filter(|t| self.types & (1 << t) != 0)
                .map(|t| t.to_string())
                .collect();
            out.push(
                found(
                    Protocol::NoMachine,
                    Confidence::High,
                    Basis::Structure,
                    "NoMachine UDP framing both ways (length field matches every datagram)",
                )
                .with("transport", "udp")
                .with(
                    "datagrams",
                    format!("{}/{}", self.datagrams[0], self.datagrams[1]),
                )
                .with("message_types", types.join(",")),
            );
        }
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    #[test]
    fn greetings_both_ways() {
        // nomachine.pcapng frames 4 and 6.
        let (a, b) = (
            hex("4e5853482d382e31302e310a"),
            hex("4e58442d382e31302e310a"),
        );
        let mut n = NxTcp::default();
        let mut out = Vec::new();
        send(&mut n, 6, C, 0, &a, &mut out);
        send(&mut n, 6, S, 1, &b, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].confidence, Confidence::Certain);
        assert_eq!(out[1].evidence.get("server_greeting"), Some("NXD-8.10.1"));
        assert_eq!(out[1].evidence.get("client_greeting"), Some("NXSH-8.10.1"));
        assert!(n.done);
    }

    #[test]
    fn udp_framing() {
        // nomachine.pcapng frames 50, 51, 53, 55.
        let f = [
            "010001000a0000000000",
            "010001000a0001000000",
            "020001000a0000000000",
            "020001000a0001000000",
        ];
        let dirs = [C, C, S, S];
        let mut n = NxUdp::default();
        let mut out = Vec::new();
        for (i, (h, d)) in f.iter().zip(dirs).enumerate() {
            send(&mut n, 17, d, i as u16, &hex(h), &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence.get("message_types"), Some("1,2"));
    }

    #[test]
    fn other_lines_are_not_nx() {
        assert!(greeting(b"SSH-2.0-OpenSSH_8.2\n").is_none());
        assert!(greeting(b"NXD-\n").is_none());
        let dns = hex("abcd01000001000000000000");
        let mut n = NxUdp::default();
        let mut out = Vec::new();
        send(&mut n, 17, C, 0, &dns, &mut out);
        assert!(n.done && out.is_empty());
    }
}
