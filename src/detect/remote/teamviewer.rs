//! TeamViewer's own framing over TCP and UDP.
//!
//! TeamViewer documents no wire format; what follows was read from the
//! corpus capture (teamviewer.pcap, a Linux client talking to a TeamViewer
//! router on TCP 5938 and to a peer over UDP) and is consistent in every
//! message of it:
//!
//! - TCP, "v1" messages (the client's first segments): magic `17 24`, a
//!   command byte, a little-endian 16-bit body length; 5-byte header.
//! - TCP, "v2" messages (the rest of the session, both ways): magic `11 30`,
//!   a command byte, a flags byte, a little-endian 32-bit body length, then
//!   the sender's message counter and the last counter it received from the
//!   peer (both little-endian 32-bit); 24-byte header.
//!
//! Every segment of the window must either start a message whose length
//! fits, or continue the previous message's body (segments are not
//! reassembled). One direction framed consistently (two messages or more):
//! `High`; v2 messages both ways where one side acknowledges a counter the
//! other sent: `Certain`.
//!
//! UDP: datagrams carry an 11-byte header (two 32-bit counters, two bytes,
//! a type byte) before the same `17 24` magic and a command byte; the
//! client's first datagram names the peer's address in ASCII. Every datagram
//! of the window must carry the magic; both directions: `High`, `Certain`
//! when the peer's address appears in the payload too.

use super::{di, found, le16, le32};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, FlowFacts, PacketView};
use crate::detect::detector::{detector_head, Detector};

/// One message header: (version, command, header + body length, counters).
type Header = (u8, u8, usize, Option<(u32, u32)>);

fn header(b: &[u8]) -> Option<Header> {
    match b {
        [0x17, 0x24, cmd, ..] => Some((1, *cmd, 5 + usize::from(le16(b, 3)?), None)),
        [0x11, 0x30, cmd, _flags, ..] => {
            let len = le32(b, 4)? as usize;
            if len > 1 << 20 {
                return None;
            }
            Some((2, *cmd, 24 + len, Some((le32(b, 8)?, le32(b, 12)?))))
        }
        _ => None,
    }
}

/// TeamViewer over TCP.
#[derive(Debug, Default)]
pub struct TeamViewerTcp {
    /// Decided.
    done: bool,
    /// Body bytes of the current message still expected, per direction.
    remaining: [usize; 2],
    /// Messages framed per direction.
    messages: [u8; 2],
    /// Last v2 counters sent per direction.
    sent: [[Option<u32>; 4]; 2],
    /// A v2 acknowledgement matched the other side's counter.
    matched: bool,
    /// Direction broke the framing.
    broken: [bool; 2],
    /// First commands seen (v1/v2 byte pairs), for evidence.
    commands: [u8; 4],
    reported: Option<Confidence>,
}

impl Detector for TeamViewerTcp {
    detector_head! { ctx: super::RemoteCtx, protocol: TeamViewer, transports: [TCP], done: done }

    /// Frames each segment of the window.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = di(p.dir);
        if self.broken[d] {
            return;
        }
        let mut b = p.payload;
        // Continuation of a message begun in an earlier segment.
        let cont = self.remaining[d].min(b.len());
        self.remaining[d] -= cont;
        b = &b[cont..];
        while !b.is_empty() {
            let Some((_ver, cmd, total, counters)) = header(b) else {
                self.broken[d] = true;
                break;
            };
            let n = usize::from(self.messages[0]) + usize::from(self.messages[1]);
            if n < self.commands.len() {
                self.commands[n] = cmd;
            }
            self.messages[d] = self.messages[d].saturating_add(1);
            if let Some((seq, ack)) = counters {
                let ring = &mut self.sent[d];
                ring.rotate_right(1);
                ring[0] = Some(seq);
                if self.sent[1 - d].iter().flatten().any(|&s| s == ack) {
                    self.matched = true;
                }
            }
            if total > b.len() {
                self.remaining[d] = total - b.len();
                break;
            }
            b = &b[total..];
        }
        if self.broken[d] && self.messages[d] == 0 {
            self.done = true;
            return;
        }
        let conf = if self.matched && self.messages[0] > 0 && self.messages[1] > 0 {
            Confidence::Certain
        } else if self.messages[0] >= 2 || self.messages[1] >= 2 {
            Confidence::High
        } else {
            return;
        };
        if self.reported.is_some_and(|r| r >= conf) {
            return;
        }
        self.reported = Some(conf);
        let cmds = self
            .commands
            .iter()
            .map(|c| format!("{c:02x}"))
            .collect::<Vec<_>>();
        out.push(
            found(
                Protocol::TeamViewer,
                conf,
                Basis::Structure,
                if conf == Confidence::Certain {
                    "TeamViewer message framing both ways, counters acknowledged across directions"
                } else {
                    "TeamViewer message framing (17 24 / 11 30 headers with consistent lengths)"
                },
            )
            .with("transport", "tcp")
            .with(
                "messages",
                format!("{}/{}", self.messages[0], self.messages[1]),
            )
            .with("first_commands", cmds.join(",")),
        );
        if conf == Confidence::Certain {
            self.done = true;
        }
    }
}


/// TeamViewer over UDP.
#[derive(Debug, Default)]
pub struct TeamViewerUdp {
    /// Decided.
    done: bool,
    datagrams: [u8; 2],
    peer_named: bool,
    reported: bool,
}

/// True when a datagram carries TeamViewer's UDP header.
fn udp_header(b: &[u8]) -> bool {
    b.len() >= 16 && b[11] == 0x17 && b[12] == 0x24
}

/// True when `hay` contains `needle`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

impl Detector for TeamViewerUdp {
    detector_head! { ctx: super::RemoteCtx, protocol: TeamViewer, transports: [UDP], done: done }

    /// Checks each datagram of the window.
    fn on_packet(&mut self, p: &PacketView<'_>, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if !udp_header(p.payload) {
            self.done = true;
            return;
        }
        let d = di(p.dir);
        self.datagrams[d] = self.datagrams[d].saturating_add(1);
        if d == 0 && self.datagrams[0] == 1 {
            let peer = facts.server.0.ip().to_string();
            self.peer_named = contains(&p.payload[13..], peer.as_bytes());
        }
        if self.reported || self.datagrams[0] == 0 || self.datagrams[1] == 0 {
            return;
        }
        if usize::from(self.datagrams[0]) + usize::from(self.datagrams[1]) < 3 && !self.peer_named {
            return;
        }
        self.reported = true;
        self.done = true;
        let conf = Confidence::certain_if(self.peer_named);
        out.push(
            found(
                Protocol::TeamViewer,
                conf,
                Basis::Structure,
                "TeamViewer UDP datagrams both ways (17 24 header at offset 11)",
            )
            .with("transport", "udp")
            .with(
                "datagrams",
                format!("{}/{}", self.datagrams[0], self.datagrams[1]),
            )
            .with("peer_address_in_payload", self.peer_named),
        );
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    #[test]
    fn tcp_v2_counters_cross_check() {
        // teamviewer.pcap frames 12 (server, whole message), 19 (client,
        // first 40 bytes of a 1078-byte segment), 21 (server, first 40 bytes).
        let f12 = hex(
            "113036001800000001000000000000001b000000180000008c0067fc71b09880d95938c589a6c18cc7919eea283d28cd",
        );
        let f19 = hex(
            "11303c001e04000001000000030000001b000000180000008c00008014800000140000000180000003020000",
        );
        let f21 = hex(
            "11303c002904000004000000010000001b000000180000008c000080140000001480000025d74e8e88820000",
        );
        let mut t = TeamViewerTcp::default();
        let mut out = Vec::new();
        send(&mut t, 6, S, 0, &f12, &mut out);
        assert!(out.is_empty());
        // frame 14/16 carry the server's counters 2 and 3.
        t.sent[1] = [Some(3), Some(2), Some(1), None];
        send(&mut t, 6, C, 1, &f19, &mut out);
        assert_eq!(out.last().map(|d| d.confidence), Some(Confidence::Certain));
        let _ = f21;
    }

    #[test]
    fn tcp_v1_client_messages() {
        // teamviewer.pcap frames 4 and 6 (client): 17 24 messages, the second
        // segment holding two of them.
        let f4 = hex("17240a200000000000000000004800800001000000148000006fb78c804805532216142004");
        let f6 = hex(
            "1724281800008000007fffffff808000000000000000000000000000001724\
            3c20008c00008014800000078000000080000004000000078000000180ff008000",
        );
        let mut t = TeamViewerTcp::default();
        let mut out = Vec::new();
        send(&mut t, 6, C, 0, &f4, &mut out);
        assert!(out.is_empty());
        send(&mut t, 6, C, 1, &f6, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, Confidence::High);
    }

    #[test]
    fn tls_is_not_teamviewer() {
        let tls = hex("160303009c0100009803036712bcc57dd01b4bfc34fb063f25191766");
        let mut t = TeamViewerTcp::default();
        let mut out = Vec::new();
        send(&mut t, 6, C, 0, &tls, &mut out);
        assert!(out.is_empty() && t.done);
        assert!(!udp_header(&tls));
    }
}
