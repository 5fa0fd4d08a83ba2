//! tinc meta connections (tinc 1.0/1.1 `protocol.h`, "The meta-protocol"
//! in the tinc manual), by structure.
//!
//! Both peers open a TCP meta connection with an ID line,
//! `0 <name> <protocol major>[.<minor>]\n` (request 0 = ID, name made of
//! letters, digits and underscores, protocol 17), followed by METAKEY
//! (`1 ...`, tinc 1.0) or the binary SPTPS handshake (tinc 1.1). The UDP
//! data channel is encrypted from its first byte and is not recognised.

use super::{side, structure};
use crate::detect::Protocol;
use crate::detect::{Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;

/// Parses an ID line; returns (name, protocol) text.
pub(super) fn parse_id(b: &[u8]) -> Option<(&str, &str)> {
    let line = b.strip_prefix(b"0 ")?;
    let end = line.iter().position(|&c| c == b'\n')?;
    let line = std::str::from_utf8(&line[..end]).ok()?;
    let (name, proto) = line.split_once(' ')?;
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return None;
    }
    let (major, minor) = proto.split_once('.').unwrap_or((proto, "0"));
    if major != "17"
        || minor.is_empty()
        || minor.len() > 3
        || !minor.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((name, proto))
}

/// The tinc detector of one flow.
#[derive(Debug, Default)]
pub struct Tinc {
    id: [bool; 2],
    /// Node names (only allocated on a match).
    names: [Option<Box<str>>; 2],
    /// Stopped, or how far reported.
    decision: Decision,
}

impl Detector for Tinc {
    detector_head! { ctx: super::VpnCtx, protocol: Tinc, transports: [TCP], done: decision }

    /// One TCP segment.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = side(p.dir);
        if self.id[d] {
            // Only the first segment of each direction matters.
            return;
        }
        let Some((name, proto)) = parse_id(p.payload) else {
            self.decision.stopped = true;
            return;
        };
        self.id[d] = true;
        self.names[d] = Some(name.into());
        let conf = if self.id[0] && self.id[1] {
            Confidence::Certain
        } else {
            Confidence::Medium
        };
        if !self.decision.raise(conf) {
            return;
        }
        let mut det = structure(
            Protocol::Tinc,
            conf,
            if conf == Confidence::Certain {
                "tinc meta connection: ID lines (protocol 17) both ways"
            } else {
                "tinc meta connection: an ID line (protocol 17)"
            },
        )
        .with("protocol", proto);
        for (k, n) in ["node_client", "node_server"].into_iter().zip(&self.names) {
            if let Some(n) = n {
                det = det.with(k, n);
            }
        }
        out.push(det);
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::feed;

    // tinc.pcap frames 5 and 10: "0 thinkpad 17\n" / "0 iniz 17\n".
    #[test]
    fn id_lines_both_ways() {
        let pk: Vec<(bool, &str)> = vec![
            (true, "30207468696e6b2031370a"),
            (false, "3020696e697a2031370a"),
        ];
        let mut det = Tinc::default();
        let out = feed(&mut det, 6, &pk);
        assert_eq!(out.last().map(|d| d.confidence), Some(Confidence::Certain));
        assert_eq!(parse_id(b"0 node_1 17.7\n"), Some(("node_1", "17.7")));
    }

    #[test]
    fn other_lines_are_not_tinc() {
        assert!(parse_id(b"0 hello world 17\n").is_none());
        assert!(parse_id(b"0 a 18\n").is_none());
        assert!(parse_id(b"GET / HTTP/1.1\r\n").is_none());
    }
}
