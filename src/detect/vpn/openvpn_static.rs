//! OpenVPN static-key mode (`--secret`, no TLS), by its packet layout.
//!
//! Without TLS there is no opcode byte and no handshake: every packet is
//! `HMAC | IV | CBC ciphertext` (OpenVPN `crypto.c`, `openvpn_encrypt`;
//! reference manual, "--secret"), the 4-byte packet id and 4-byte time of
//! the long-form replay id encrypted together with the payload. Over TCP
//! each packet carries the 2-byte length prefix of every OpenVPN TCP
//! packet. What the wire shows is therefore a layout, not a value:
//! - the length of every packet is `H + 16 + 16·k` for the one HMAC size
//!   `H` of the session (16 MD5, 20 SHA-1, 28 SHA-224, 32 SHA-256,
//!   48 SHA-384, 64 SHA-512; 16-byte IV and blocks of AES/Camellia/ARIA CBC);
//! - no packet is shorter than `H + 48`: the smallest plaintext is the
//!   replay id plus OpenVPN's 16-byte ping magic (or the 16-byte OCC magic
//!   and its opcode), 24-25 bytes padded to 32; pings (`--ping`,
//!   `--keepalive`) and OCC requests are exactly that size;
//! - a session opens with an OCC request from each side (`occ.c`: the
//!   options consistency check runs in static-key mode and repeats until
//!   answered), so both directions begin with a packet of exactly `H + 48`;
//! - the first bytes (the HMAC) never repeat from packet to packet.
//!
//! Confidence follows what was seen: **high** when both directions begin
//! with an `H + 48` packet (the OCC request of a session's start, or a ping
//! of an idle tunnel) and every packet fits one HMAC size;
//! **medium** mid-session, when at least six packets each way fit one
//! HMAC size, the lengths vary, and a ping-sized packet pins `H`. It is
//! never certain: nothing in the packets names OpenVPN. A static-key
//! session captured without any ping- or OCC-sized packet is not reported
//! (alignment alone is too common among encrypted protocols).

use super::{side, structure};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;
use crate::detect::{Confidence, Detection, PacketView};

/// HMAC sizes of `--auth` digests: MD5, SHA-1, SHA-224, SHA-256, SHA-384,
/// SHA-512.
const HMAC: [usize; 6] = [16, 20, 28, 32, 48, 64];
const ALL: u8 = 0b11_1111;
/// CBC IV and block size (AES, Camellia, ARIA, SM4).
const BLOCK: usize = 16;
/// IV plus the smallest ciphertext (replay id + ping/OCC magic, padded).
const MIN_BODY: usize = BLOCK + 2 * BLOCK;
/// Bytes of each packet's head compared with the previous packet's.
const HEAD: usize = 8;
/// Packets each way before a mid-session (medium) finding.
const MID_PACKETS: u8 = 6;
/// Packets each way before an opening-seen (high) finding.
const OPEN_PACKETS: u8 = 4;

/// What one direction has shown.
#[derive(Debug, Default, Clone, Copy)]
struct Dir {
    /// Packets that fitted.
    n: u8,
    /// Length of this direction's first packet.
    first_len: u16,
    /// HMAC sizes `H` for which a packet of exactly `H + 48` was seen.
    small: u8,
    /// Head of the previous packet (zero-padded when shorter).
    head: [u8; HEAD],
    /// Head bytes equal to the previous packet's, summed.
    same: u16,
    /// TCP: bytes of the current packet still to come in later segments.
    skip: u32,
}

/// The OpenVPN static-key detector of one flow.
#[derive(Debug, Default)]
pub struct OpenVpnStatic {
    dirs: [Dir; 2],
    /// HMAC sizes still consistent with every packet.
    alive: u8,
    /// A few distinct packet lengths (0 = free slot).
    lens: [u16; 4],
    tcp: bool,
    started: bool,
    decision: Decision,
}

impl Detector for OpenVpnStatic {
    detector_head! { ctx: super::VpnCtx, protocol: OpenVpn, transports: [TCP, UDP], done: decision }

    /// One UDP datagram or TCP segment.
    fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        _facts: &FlowFacts<'_>,
        _ctx: &Self::Ctx,
        out: &mut Vec<Detection>,
    ) {
        if p.payload.is_empty() {
            return;
        }
        if !self.started {
            self.started = true;
            self.tcp = p.proto == crate::decode::IpProto::TCP;
            self.alive = ALL;
        }
        let d = side(p.dir);
        if self.tcp {
            self.on_segment(d, p.payload);
        } else {
            self.on_record(d, p.payload, p.payload.len());
        }
        if !self.decision.stopped {
            self.judge(out);
        }
    }
}

impl OpenVpnStatic {
    /// Walks the 2-byte-length-prefixed packets of a TCP segment (the tail
    /// of a packet begun in an earlier segment is skipped); a prefix split
    /// across segments stops the detector rather than guess.
    fn on_segment(&mut self, d: usize, mut seg: &[u8]) {
        let skip = self.dirs[d].skip as usize;
        if skip > 0 {
            let n = skip.min(seg.len());
            self.dirs[d].skip -= n as u32;
            seg = &seg[n..];
        }
        let mut records = 0;
        while seg.len() >= 2 && !self.decision.stopped && records < 16 {
            records += 1;
            let len = usize::from(u16::from_be_bytes([seg[0], seg[1]]));
            let body = &seg[2..];
            self.on_record(d, &body[..len.min(body.len())], len);
            if body.len() >= len {
                seg = &body[len..];
            } else {
                self.dirs[d].skip = (len - body.len()) as u32;
                return;
            }
        }
        if seg.len() == 1 {
            self.decision.stopped = true;
        }
    }

    /// One packet of length `len` whose first bytes are `b`.
    fn on_record(&mut self, d: usize, b: &[u8], len: usize) {
        let mut fit = 0u8;
        let mut small = 0u8;
        for (i, h) in HMAC.iter().enumerate() {
            if len >= h + MIN_BODY && (len - h).is_multiple_of(BLOCK) {
                fit |= 1 << i;
                if len == h + MIN_BODY {
                    small |= 1 << i;
                }
            }
        }
        self.alive &= fit;
        if self.alive == 0 {
            self.decision.stopped = true;
            return;
        }
        let s = &mut self.dirs[d];
        let mut head = [0u8; HEAD];
        let k = b.len().min(HEAD);
        head[..k].copy_from_slice(&b[..k]);
        if s.n == 0 {
            s.first_len = len as u16;
        } else {
            let same = head[..k]
                .iter()
                .zip(&s.head[..k])
                .filter(|(x, y)| x == y)
                .count();
            s.same = s.same.saturating_add(same as u16);
            // Random HMACs agree in 8/256 bytes per packet on average; a
            // header (ids, versions, types) agrees in most.
            if usize::from(s.same) > 2 + usize::from(s.n) / 4 {
                self.decision.stopped = true;
                return;
            }
        }
        s.head = head;
        s.small |= small;
        s.n = s.n.saturating_add(1);
        let len = len as u16;
        if !self.lens.contains(&len)
            && let Some(slot) = self.lens.iter_mut().find(|l| **l == 0) {
                *slot = len;
            }
    }

    fn judge(&mut self, out: &mut Vec<Detection>) {
        let [a, b] = self.dirs;
        let distinct = self.lens.iter().filter(|l| **l != 0).count();
        if distinct < 3 {
            return;
        }
        // The HMAC sizes whose OCC request opened both directions.
        let opened = (0..HMAC.len()).fold(0u8, |m, i| {
            let small = (HMAC[i] + MIN_BODY) as u16;
            if a.first_len == small && b.first_len == small {
                m | 1 << i
            } else {
                m
            }
        }) & self.alive;
        let pinned = self.alive & (a.small | b.small);
        let (conf, bits, why) = if opened != 0 && a.n >= OPEN_PACKETS && b.n >= OPEN_PACKETS {
            (
                Confidence::High,
                opened,
                "OpenVPN static-key session (no TLS): both directions begin with a packet of exactly HMAC + 48 bytes (OCC request or ping), every packet HMAC + IV + CBC blocks, no header repeating",
            )
        } else if pinned != 0 && a.n >= MID_PACKETS && b.n >= MID_PACKETS {
            (
                Confidence::Medium,
                pinned,
                "OpenVPN static-key layout both ways (opening not seen): every packet HMAC + IV + CBC blocks, ping-sized packets, no header repeating",
            )
        } else {
            return;
        };
        if !self.decision.raise(conf) {
            return;
        }
        let h = HMAC[bits.trailing_zeros() as usize];
        out.push(
            structure(crate::detect::Protocol::OpenVpn, conf, why)
                .with("layout", "static-key")
                .with("hmac_bytes", h)
                .with("ping_bytes", h + MIN_BODY)
                .with("opening_seen", opened != 0)
                .with("transport", if self.tcp { "tcp" } else { "udp" })
                .with("packets", format!("{}/{}", a.n, b.n)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::{feed, last_confidence};

    /// A pseudo-random packet of `len` bytes (distinct heads).
    fn pk(seed: u32, len: usize) -> String {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                format!("{:02x}", x as u8)
            })
            .collect()
    }

    /// The opening of openvpn-udp-static-sha256.pcap (HMAC-SHA256): OCC
    /// requests of 80 bytes both ways, OCC replies of 224, then data.
    fn sha256_session() -> Vec<(bool, String)> {
        let lens = [
            (true, 80),
            (false, 80),
            (false, 80),
            (true, 224),
            (true, 80),
            (false, 224),
            (true, 1088),
            (false, 1088),
            (true, 1088),
            (false, 1088),
            (true, 128),
            (false, 128),
            (true, 112),
            (false, 112),
        ];
        lens.iter()
            .enumerate()
            .map(|(i, &(c, l))| (c, pk(i as u32 + 7, l)))
            .collect()
    }

    fn refs(v: &[(bool, String)]) -> Vec<(bool, &str)> {
        v.iter().map(|(c, h)| (*c, h.as_str())).collect()
    }

    #[test]
    fn opening_both_ways_is_high() {
        let s = sha256_session();
        let out = feed(&mut OpenVpnStatic::default(), 17, &refs(&s));
        let d = out.last().expect("detected");
        assert_eq!(d.confidence, Confidence::High);
        assert_eq!(d.evidence.get("hmac_bytes"), Some("32"));
    }

    #[test]
    fn mid_session_with_a_ping_is_medium() {
        let s: Vec<(bool, String)> = sha256_session().into_iter().skip(6).collect();
        let mut more = s.clone();
        for i in 0..6 {
            more.push((i % 2 == 0, pk(100 + i, if i < 2 { 80 } else { 176 })));
        }
        assert_eq!(
            last_confidence::<OpenVpnStatic>(17, &refs(&more)),
            Some(Confidence::Medium)
        );
    }

    #[test]
    fn tcp_length_prefix_and_sha1() {
        // openvpn-tcp-static-sha1.pcap: 68-byte OCC requests (HMAC 20).
        let mut v = Vec::new();
        for (i, (c, l)) in [
            (true, 68usize),
            (false, 68),
            (true, 1076),
            (false, 1076),
            (true, 116),
            (false, 116),
            (true, 100),
            (false, 100),
        ]
        .into_iter()
        .enumerate()
        {
            v.push((c, format!("{l:04x}{}", pk(i as u32, l))));
        }
        assert_eq!(
            last_confidence::<OpenVpnStatic>(6, &refs(&v)),
            Some(Confidence::High)
        );
    }

    #[test]
    fn a_constant_header_is_not_static_key() {
        // WireGuard-like transport: aligned, but the first bytes repeat.
        let v: Vec<(bool, String)> = (0..16)
            .map(|i| {
                (
                    i % 2 == 0,
                    format!("04000000aabbccdd{}", pk(i, 72 + 16 * (i as usize % 3))),
                )
            })
            .collect();
        let mut det = OpenVpnStatic::default();
        assert!(feed(&mut det, 17, &refs(&v)).is_empty());
        assert!(det.done());
    }

    #[test]
    fn unaligned_lengths_are_not_static_key() {
        let v: Vec<(bool, String)> = (0..12)
            .map(|i| (i % 2 == 0, pk(i, 90 + i as usize * 7)))
            .collect();
        let mut det = OpenVpnStatic::default();
        assert!(feed(&mut det, 17, &refs(&v)).is_empty());
    }
}
