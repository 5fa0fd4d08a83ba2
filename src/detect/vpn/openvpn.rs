//! OpenVPN, recognised by its control-channel structure on any port.
//!
//! Wire format (OpenVPN `ssl_pkt.h` / protocol documentation, "OpenVPN
//! protocol" in the reference manual): every packet starts with one byte,
//! opcode in the high 5 bits and key id in the low 3. Control packets carry
//! the sender's 8-byte session id, then, depending on the configuration,
//! either nothing (plain), an HMAC of 16/20/32/64 bytes followed by a 4-byte
//! replay packet id and a 4-byte time (`tls-auth`), or the packet id and
//! time followed by a 32-byte tag and ciphertext (`tls-crypt`). Plain and
//! `tls-auth` packets then carry the ACK array (count, packet ids, the
//! peer's session id) and, except for `P_ACK_V1`, a message packet id. Over
//! TCP every packet is prefixed with its 2-byte length.
//!
//! The early-packet method follows Xue et al., "OpenVPN is Open to VPN
//! Fingerprinting" (USENIX Security 2022): a session opens with hard
//! resets, continues with ACK/CONTROL and only then DATA, with a fixed
//! byte-level pattern per direction. Here the header layout is not assumed:
//! every candidate layout is checked against every control packet (session
//! id constant per direction, replay ids counting up, times consistent, ACK
//! arrays well formed and naming the peer's session id) and the layouts that
//! survive decide. Mid-stream sessions (handshake missed) are recognised by
//! `P_DATA_V2` packets carrying a constant 3-byte peer id.

use super::{be32, hex, side, structure};
use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::{Confidence, Detection, PacketView};
use crate::detect::detector::Detector;
use crate::detect::FlowFacts;

const P_CONTROL_HARD_RESET_CLIENT_V1: u8 = 1;
const P_CONTROL_HARD_RESET_SERVER_V1: u8 = 2;
const P_CONTROL_SOFT_RESET_V1: u8 = 3;
const P_CONTROL_V1: u8 = 4;
const P_ACK_V1: u8 = 5;
const P_DATA_V1: u8 = 6;
const P_CONTROL_HARD_RESET_CLIENT_V2: u8 = 7;
const P_CONTROL_HARD_RESET_SERVER_V2: u8 = 8;
const P_DATA_V2: u8 = 9;
const P_CONTROL_HARD_RESET_CLIENT_V3: u8 = 10;
const P_CONTROL_WKC_V1: u8 = 11;

/// HMAC sizes of `tls-auth` (MD5, SHA-1, SHA-256, SHA-512).
const HMAC: [usize; 4] = [16, 20, 32, 64];
/// Candidate layouts: 0 plain, 1..=4 `tls-auth` with `HMAC[i-1]`, 5 `tls-crypt`.
const LAYOUTS: usize = 6;
const ALL_LAYOUTS: u8 = 0b11_1111;
const TLS_CRYPT: usize = 5;
/// `RELIABLE_ACK_SIZE`: most packet ids one ACK array carries.
const MAX_ACKS: usize = 8;
/// Tag of `tls-crypt` (HMAC-SHA256).
const TLS_CRYPT_TAG: usize = 32;

fn layout_name(l: usize) -> &'static str {
    match l {
        0 => "plain",
        1 => "tls-auth (HMAC 16)",
        2 => "tls-auth (HMAC 20)",
        3 => "tls-auth (HMAC 32)",
        4 => "tls-auth (HMAC 64)",
        _ => "tls-crypt",
    }
}

fn is_reset(op: u8) -> bool {
    matches!(
        op,
        P_CONTROL_HARD_RESET_CLIENT_V1
            | P_CONTROL_HARD_RESET_SERVER_V1
            | P_CONTROL_HARD_RESET_CLIENT_V2
            | P_CONTROL_HARD_RESET_SERVER_V2
            | P_CONTROL_HARD_RESET_CLIENT_V3
    )
}

fn is_control(op: u8) -> bool {
    is_reset(op)
        || matches!(
            op,
            P_CONTROL_SOFT_RESET_V1 | P_CONTROL_V1 | P_ACK_V1 | P_CONTROL_WKC_V1
        )
}

/// What one direction has shown.
#[derive(Debug, Default, Clone, Copy)]
struct Side {
    /// A hard reset opened this direction.
    started: bool,
    /// This direction's packets broke every layout (or the reset rule).
    failed: bool,
    /// The sender's session id.
    sid: [u8; 8],
    /// Control packets that fitted.
    ctrl: u8,
    /// Data packets after the handshake.
    data: u8,
    /// Opcodes seen (bit per opcode).
    ops: u16,
    /// First opcode.
    first_op: u8,
    /// Layouts still consistent with this direction's packets.
    alive: u8,
    /// Layouts whose ACK arrays named the other direction's session id.
    echo: u8,
    /// Layouts whose ACK arrays carried a (consistent) peer session id.
    acked: u8,
    /// Per layout: last replay packet id (`tls-auth`, `tls-crypt`).
    replay: [u32; LAYOUTS],
    /// Per layout: first time stamp.
    time: [u32; LAYOUTS],
    /// Per layout: highest message packet id (plain, `tls-auth`).
    msg: [u32; LAYOUTS],
    /// Per layout: the peer session id read from ACK arrays.
    peer: [[u8; 8]; LAYOUTS],
    /// TCP: bytes of the current record still to come in later segments.
    skip: u32,
}

/// Mid-stream `P_DATA_V2` / `P_DATA_V1` state of one direction.
#[derive(Debug, Default, Clone, Copy)]
struct DataSide {
    /// First header byte (opcode and key id).
    head: u8,
    /// Peer id of `P_DATA_V2`.
    peer_id: [u8; 3],
    /// Packets that matched.
    n: u8,
    /// First packet length, and whether a different one was seen.
    len0: u16,
    varied: bool,
}

/// The OpenVPN detector of one flow.
#[derive(Debug, Default)]
pub struct OpenVpn {
    sides: [Side; 2],
    data: [DataSide; 2],
    /// Mode: 0 undecided, 1 handshake, 2 mid-stream data, 3 stopped.
    mode: u8,
    tcp: bool,
    /// Best confidence reported so far.
    reported: Option<Confidence>,
}

impl Detector for OpenVpn {
    type Ctx = super::VpnCtx;
    const PROTOCOL: Protocol = Protocol::OpenVpn;
    const TRANSPORTS: &'static [IpProto] = &[IpProto::TCP, IpProto::UDP];

    /// True when this detector needs no more packets.
    fn done(&self) -> bool {
        self.mode == 3 || self.reported == Some(Confidence::Certain)
    }

    /// One payload packet (a UDP datagram or a TCP segment).
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if self.done() || p.payload.is_empty() {
            return;
        }
        if self.mode == 0 {
            self.tcp = p.proto == IpProto::TCP;
            if p.proto != IpProto::TCP && p.proto != IpProto::UDP {
                self.mode = 3;
                return;
            }
            let first = if self.tcp {
                p.payload.get(2).copied()
            } else {
                p.payload.first().copied()
            };
            let Some(b0) = first else {
                self.mode = 3;
                return;
            };
            self.mode = if is_reset(b0 >> 3) && b0 & 7 == 0 {
                1
            } else if b0 >> 3 == P_DATA_V2 {
                2
            } else {
                3
            };
            if self.mode == 3 {
                return;
            }
        }
        let d = side(p.dir);
        if self.mode == 2 {
            if self.tcp {
                self.on_data_segment(d, p.payload, out);
            } else {
                self.on_data(d, p.payload, p.payload.len(), out);
            }
            return;
        }
        if self.tcp {
            self.on_segment(d, p.payload);
        } else {
            self.on_record(d, p.payload, true);
        }
        if self.sides.iter().all(|s| s.failed || !s.started) && self.sides.iter().any(|s| s.failed)
        {
            self.mode = 3;
            return;
        }
        self.judge(out);
    }
}

impl OpenVpn {

    /// The rest of `seg` after the tail of a packet that began in an earlier
    /// segment of direction `d` (the bytes still owed to it).
    fn skip_tail<'a>(&mut self, d: usize, seg: &'a [u8]) -> &'a [u8] {
        let n = (self.sides[d].skip as usize).min(seg.len());
        self.sides[d].skip -= n as u32;
        &seg[n..]
    }

    /// Walks the 2-byte-length-prefixed packets of a TCP segment, skipping
    /// the tails of packets that began in earlier segments.
    fn on_segment(&mut self, d: usize, mut seg: &[u8]) {
        seg = self.skip_tail(d, seg);
        let mut records = 0;
        while seg.len() >= 2 && !self.sides[d].failed && records < 16 {
            records += 1;
            let len = usize::from(u16::from_be_bytes([seg[0], seg[1]]));
            if len == 0 {
                self.sides[d].failed = true;
                return;
            }
            let body = &seg[2..];
            if body.len() >= len {
                self.on_record(d, &body[..len], true);
                seg = &body[len..];
            } else {
                self.sides[d].skip = (len - body.len()) as u32;
                self.on_record(d, body, false);
                return;
            }
        }
        if seg.len() == 1 {
            // A length prefix split across segments: give up on this
            // direction rather than guess.
            self.sides[d].failed = true;
        }
    }

    /// One OpenVPN packet (`complete`: all of it is present).
    fn on_record(&mut self, d: usize, b: &[u8], complete: bool) {
        let other_started = self.sides[d ^ 1].started;
        let other_sid = self.sides[d ^ 1].sid;
        let s = &mut self.sides[d];
        if s.failed || b.is_empty() {
            return;
        }
        let op = b[0] >> 3;
        let key = b[0] & 7;
        if op == P_DATA_V1 || op == P_DATA_V2 {
            // Data before this direction's handshake is not the pattern.
            if !s.started {
                s.failed = true;
            } else {
                s.data = s.data.saturating_add(1);
                s.ops |= 1 << op;
            }
            return;
        }
        if !is_control(op) || b.len() < 9 + 1 + 4 {
            s.failed = true;
            return;
        }
        if !s.started {
            if !is_reset(op) || key != 0 {
                s.failed = true;
                return;
            }
            s.started = true;
            s.first_op = op;
            s.sid.copy_from_slice(&b[1..9]);
            s.alive = ALL_LAYOUTS;
        } else if b[1..9] != s.sid {
            s.failed = true;
            return;
        }
        let first = s.ctrl == 0;
        for l in 0..LAYOUTS {
            if s.alive & (1 << l) == 0 {
                continue;
            }
            let ok = check_layout(
                s,
                l,
                op,
                b,
                complete,
                first,
                other_started.then_some(&other_sid),
            );
            if !ok {
                s.alive &= !(1 << l);
            }
        }
        if s.alive == 0 {
            s.failed = true;
            return;
        }
        s.ctrl = s.ctrl.saturating_add(1);
        s.ops |= 1 << op;
    }

    /// Mid-stream over TCP: walks the 2-byte-length-prefixed data packets
    /// of a segment (as [`Self::on_segment`]), handing each packet's head
    /// and length to [`Self::on_data`]; the tail of a packet begun in an
    /// earlier segment is skipped.
    fn on_data_segment(&mut self, d: usize, mut seg: &[u8], out: &mut Vec<Detection>) {
        seg = self.skip_tail(d, seg);
        let mut records = 0;
        while seg.len() >= 2 && self.mode == 2 && records < 16 {
            records += 1;
            let len = usize::from(u16::from_be_bytes([seg[0], seg[1]]));
            let body = &seg[2..];
            let head = &body[..len.min(body.len())];
            if head.len() >= 4 {
                self.on_data(d, head, len, out);
            } else if body.len() >= len {
                // A whole packet shorter than a data header.
                self.mode = 3;
                return;
            }
            if body.len() >= len {
                seg = &body[len..];
            } else {
                self.sides[d].skip = (len - body.len()) as u32;
                return;
            }
        }
        if seg.len() == 1 && self.mode == 2 {
            // A length prefix split across segments: stop rather than guess.
            self.mode = 3;
        }
    }

    /// Mid-stream: `P_DATA_V2` with a constant peer id one way, `P_DATA_V2`
    /// with the same peer id or `P_DATA_V1` with the same key id the other.
    /// `b` holds at least the packet's first 4 bytes, `len` is its length.
    fn on_data(&mut self, d: usize, b: &[u8], len: usize, out: &mut Vec<Detection>) {
        // Smallest data packet: header + packet id + AEAD tag (or HMAC).
        if len < 20 || b.len() < 4 {
            self.mode = 3;
            return;
        }
        let op = b[0] >> 3;
        let s = &mut self.data[d];
        if s.n == 0 {
            match op {
                P_DATA_V2 => {
                    // Peer ids are small server-assigned integers.
                    if b[1] != 0 {
                        self.mode = 3;
                        return;
                    }
                    s.peer_id.copy_from_slice(&b[1..4]);
                }
                P_DATA_V1 => {}
                _ => {
                    self.mode = 3;
                    return;
                }
            }
            s.head = b[0];
            s.len0 = len as u16;
        } else if b[0] != s.head || (op == P_DATA_V2 && b[1..4] != s.peer_id) {
            self.mode = 3;
            return;
        }
        s.n = s.n.saturating_add(1);
        s.varied |= len as u16 != s.len0;
        let [a, c] = self.data;
        if a.n == 0 || c.n == 0 || a.head & 7 != c.head & 7 {
            if a.n > 0 && c.n > 0 {
                self.mode = 3;
            }
            return;
        }
        let v2 = |x: &DataSide| x.head >> 3 == P_DATA_V2;
        if v2(&a) && v2(&c) && a.peer_id != c.peer_id {
            self.mode = 3;
            return;
        }
        let (long, short) = if a.n >= c.n { (a, c) } else { (c, a) };
        if long.n >= 6 && short.n >= 4 && (a.varied || c.varied) && self.reported.is_none() {
            let pid = if v2(&a) { a.peer_id } else { c.peer_id };
            self.reported = Some(Confidence::High);
            out.push(
                structure(
                    Protocol::OpenVpn,
                    Confidence::High,
                    "OpenVPN data channel (handshake not seen): P_DATA_V2 packets with a constant peer id, answered on the same key",
                )
                .with("opcodes", "P_DATA_V2/P_DATA_V1")
                .with("peer_id", hex(&pid))
                .with("key_id", a.head & 7)
                .with("packets", format!("{}/{}", a.n, c.n))
                .with("transport", if self.tcp { "tcp" } else { "udp" })
                .with("midstream", true)
                .midstream(),
            );
            self.mode = 3;
        }
    }

    fn judge(&mut self, out: &mut Vec<Detection>) {
        let [a, b] = self.sides;
        let both = a.started && b.started && !a.failed && !b.failed;
        let common = if both { a.alive & b.alive } else { 0 };
        let mut verdict: Option<(Confidence, usize, &'static str)> = None;
        if both && common != 0 && a.ctrl >= 2 && b.ctrl >= 2 {
            let l = common.trailing_zeros() as usize;
            let echoed = (a.echo | b.echo) & common;
            if echoed != 0 {
                let l = echoed.trailing_zeros() as usize;
                verdict = Some((
                    Confidence::Certain,
                    l,
                    "OpenVPN handshake both ways: hard resets, then ACK/CONTROL with constant session ids, each side acknowledging the other's session id",
                ));
            } else if l == TLS_CRYPT && a.ctrl >= 3 && b.ctrl >= 3 {
                verdict = Some((
                    Confidence::Certain,
                    l,
                    "OpenVPN tls-crypt handshake both ways: hard resets, constant session ids, replay ids counting up with consistent times",
                ));
            }
        }
        if verdict.is_none() {
            for s in [&a, &b] {
                if !s.started || s.failed || s.ctrl < 4 {
                    continue;
                }
                // Prefer a layout whose ACK arrays named a consistent peer.
                let strong = s.alive & (s.acked | (1 << TLS_CRYPT));
                if strong != 0 {
                    let l = strong.trailing_zeros() as usize;
                    verdict = Some((
                        Confidence::High,
                        l,
                        "OpenVPN control channel one way: a hard reset, then ACK/CONTROL packets with a constant session id and consistent packet ids",
                    ));
                    break;
                }
            }
        }
        let Some((conf, l, why)) = verdict else {
            return;
        };
        if self.reported.is_some_and(|r| r >= conf) {
            return;
        }
        self.reported = Some(conf);
        let mut ops = String::new();
        for op in 1..=11u8 {
            if (a.ops | b.ops) & (1 << op) != 0 {
                if !ops.is_empty() {
                    ops.push(',');
                }
                ops.push_str(op_name(op));
            }
        }
        let mut d = structure(
            Protocol::OpenVpn,
            conf,
            why,
        )
        .with("layout", layout_name(l))
        .with("opcodes", ops)
        .with("transport", if self.tcp { "tcp" } else { "udp" });
        if a.started {
            d = d.with("session_id_client", hex(&a.sid));
        }
        if b.started {
            d = d.with("session_id_server", hex(&b.sid));
        }
        d = d.with("control_packets", format!("{}/{}", a.ctrl, b.ctrl));
        if a.data > 0 || b.data > 0 {
            d = d.with("data_packets", format!("{}/{}", a.data, b.data));
        }
        out.push(d);
    }
}


fn op_name(op: u8) -> &'static str {
    match op {
        P_CONTROL_HARD_RESET_CLIENT_V1 => "HARD_RESET_CLIENT_V1",
        P_CONTROL_HARD_RESET_SERVER_V1 => "HARD_RESET_SERVER_V1",
        P_CONTROL_SOFT_RESET_V1 => "SOFT_RESET_V1",
        P_CONTROL_V1 => "CONTROL_V1",
        P_ACK_V1 => "ACK_V1",
        P_DATA_V1 => "DATA_V1",
        P_CONTROL_HARD_RESET_CLIENT_V2 => "HARD_RESET_CLIENT_V2",
        P_CONTROL_HARD_RESET_SERVER_V2 => "HARD_RESET_SERVER_V2",
        P_DATA_V2 => "DATA_V2",
        P_CONTROL_HARD_RESET_CLIENT_V3 => "HARD_RESET_CLIENT_V3",
        _ => "CONTROL_WKC_V1",
    }
}

/// Checks one control packet against one candidate layout, updating that
/// layout's per-direction counters. `peer_sid`: the other direction's
/// session id when known.
fn check_layout(
    s: &mut Side,
    l: usize,
    op: u8,
    b: &[u8],
    complete: bool,
    first: bool,
    peer_sid: Option<&[u8; 8]>,
) -> bool {
    let mut a = 9;
    if l > 0 {
        let r = if l == TLS_CRYPT { 9 } else { 9 + HMAC[l - 1] };
        let (Some(pid), Some(t)) = (be32(b, r), be32(b, r + 4)) else {
            return false;
        };
        // Unix time between 2004 and 2097; packet ids count up from 1.
        if !(0x4000_0000..0xF000_0000).contains(&t) {
            return false;
        }
        if first {
            // A tls-crypt-v2 client of OpenVPN 2.6 starts its replay ids at
            // EARLY_NEG_START << 16 (0x0f000000, `ssl_pkt.h`) to tell the
            // server it can resend its wrapped key.
            let low = pid & 0x00ff_ffff;
            if !matches!(pid >> 24, 0 | 0x0f) || low == 0 || low > 16 {
                return false;
            }
            s.time[l] = t;
        } else if pid <= s.replay[l] || pid - s.replay[l] > 8 || t.abs_diff(s.time[l]) > 3600 {
            return false;
        }
        s.replay[l] = pid;
        if l == TLS_CRYPT {
            // The tag and at least the encrypted ACK count follow.
            return b.len() > r + 8 + TLS_CRYPT_TAG;
        }
        a = r + 8;
    }
    let Some(&n) = b.get(a) else {
        return false;
    };
    let n = usize::from(n);
    if n > MAX_ACKS {
        return false;
    }
    let mut p = a + 1 + 4 * n;
    if n > 0 {
        let Some(remote) = b.get(p..p + 8) else {
            return false;
        };
        if let Some(peer) = peer_sid {
            if remote != peer {
                return false;
            }
            s.echo |= 1 << l;
        }
        if s.acked & (1 << l) != 0 {
            if remote != s.peer[l] {
                return false;
            }
        } else {
            s.peer[l].copy_from_slice(remote);
            s.acked |= 1 << l;
        }
        p += 8;
    }
    if op == P_ACK_V1 {
        return n > 0 && (!complete || b.len() == p);
    }
    let Some(msg) = be32(b, p) else {
        return false;
    };
    if first {
        // A hard reset is the first reliable message: id 0 (its
        // retransmissions too).
        if msg != 0 {
            return false;
        }
    } else if msg > s.msg[l].saturating_add(4) {
        return false;
    }
    s.msg[l] = s.msg[l].max(msg);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::{feed, last_confidence, unhex};

    // openvpn.pcap frames 1, 2, 3, 10, 11 and 17 (UDP, plain layout; the
    // capture holds both NAT sides of one session): client hard reset,
    // server hard reset acknowledging the client session id, client ACKs
    // naming the server session id, a server ACK.
    const PLAIN: &[(bool, &str)] = &[
        (true, "38334857703d96db390000000000"),
        (
            false,
            "40d31c3a6964602fa00100000000334857703d96db3900000000",
        ),
        (true, "28334857703d96db390100000000d31c3a6964602fa0"),
        (true, "28334857703d96db390100000001d31c3a6964602fa0"),
        (true, "28334857703d96db390100000002d31c3a6964602fa0"),
        (false, "28d31c3a6964602fa00100000002334857703d96db39"),
    ];

    #[test]
    fn plain_udp_both_ways_is_certain() {
        let mut det = OpenVpn::default();
        let out = feed(&mut det, 17, PLAIN);
        let last = out.last().expect("detected");
        assert_eq!(last.confidence, Confidence::Certain);
        assert_eq!(last.evidence.get("layout"), Some("plain"));
        assert!(det.done());
    }

    #[test]
    fn one_direction_is_high() {
        let one: Vec<(bool, &str)> = PLAIN.iter().copied().filter(|(c, _)| *c).collect();
        assert_eq!(
            last_confidence::<OpenVpn>(17, &one),
            Some(Confidence::High)
        );
    }

    // openvpn.pcap frames 312-314 (UDP, tls-auth with a 20-byte HMAC).
    const TLS_AUTH: &[(bool, &str)] = &[
        (
            true,
            "38b02ccff1b5f0174fc091666e3b124bada39173317b939722d1fe63be0000000157a1c15f0000000000",
        ),
        (
            false,
            "40f77fc2efdbe23f57dec4c8d5654d0723bf8c0be54138563270cfae130000000157a1c15f0100000000b02ccff1b5f0174f00000000",
        ),
        (
            true,
            "28b02ccff1b5f0174fc837497a6a8d694eb960b6ac0878e757d987f8300000000257a1c15f0100000000f77fc2efdbe23f57",
        ),
    ];

    #[test]
    fn tls_auth_layout_found() {
        let mut det = OpenVpn::default();
        let mut pk: Vec<(bool, &str)> = TLS_AUTH.to_vec();
        // openvpn.pcap frame 317 (client ACK) and 316 (server CONTROL head).
        pk.push((false, "20f77fc2efdbe23f57eb478444786340de737de30201dc3724a1eded9a0000000257a1c15f0100000001b02ccff1b5f0174f00000001160303003e02000"));
        let out = feed(&mut det, 17, &pk);
        let last = out.last().expect("detected");
        assert_eq!(last.confidence, Confidence::Certain);
        assert_eq!(last.evidence.get("layout"), Some("tls-auth (HMAC 20)"));
    }

    // openvpn_nohmac_tcp.pcapng / openvpn.pcap frames 25, 27, 29, 33 (TCP,
    // plain layout, 2-byte length prefix).
    #[test]
    fn tcp_plain() {
        let pk: &[(bool, &str)] = &[
            (true, "000e38507a28a78275788d0000000000"),
            (
                false,
                "001a409ad747beb24d8a1b0100000000507a28a78275788d00000000",
            ),
            (true, "001628507a28a78275788d01000000009ad747beb24d8a1b"),
            (false, "0016289ad747beb24d8a1b0100000001507a28a78275788d"),
        ];
        assert_eq!(
            last_confidence::<OpenVpn>(6, pk),
            Some(Confidence::Certain)
        );
    }

    // openvpn_nohmac.pcapng frames 102-105 (client P_DATA_V2, peer id
    // 0x00001c) and 101 (server P_DATA_V1): mid-stream.
    #[test]
    fn midstream_data_v2() {
        let c1 = format!("4800001cda6e2fefe9b3e32c{}", "ab".repeat(40));
        let c2 = format!("4800001cb0895018f58c78ce{}", "cd".repeat(90));
        let s1 = format!("308c148e6c2e74888b18038f{}", "ef".repeat(60));
        let mut pk: Vec<(bool, &str)> = Vec::new();
        for i in 0..6 {
            pk.push((true, if i % 2 == 0 { &c1 } else { &c2 }));
        }
        for _ in 0..4 {
            pk.push((false, &s1));
        }
        assert_eq!(
            last_confidence::<OpenVpn>(17, &pk),
            Some(Confidence::High)
        );
    }

    // openvpn-tcp-midstream.pcap: P_DATA_V2 (peer id 0) with the TCP
    // length prefix, one packet per segment, then two packets in one
    // segment and a packet split across segments.
    #[test]
    fn midstream_data_v2_over_tcp() {
        let rec = |n: usize, pid: u8, fill: &str| {
            format!("{:04x}48000000000000{pid:02x}{}", n, fill.repeat(n - 8))
        };
        let mut pk: Vec<(bool, String)> = Vec::new();
        for i in 0..4u8 {
            pk.push((true, rec(1052, i + 1, "ab")));
            pk.push((false, rec(1052, i + 1, "cd")));
        }
        pk.push((true, format!("{}{}", rec(84, 5, "ef"), rec(76, 6, "ef"))));
        let split = rec(200, 7, "12");
        pk.push((true, split[..120].to_string()));
        pk.push((true, split[120..].to_string()));
        pk.push((false, rec(76, 5, "34")));
        let refs: Vec<(bool, &str)> = pk.iter().map(|(c, h)| (*c, h.as_str())).collect();
        let mut det = OpenVpn::default();
        let out = feed(&mut det, 6, &refs);
        let d = out.last().expect("detected");
        assert_eq!(d.confidence, Confidence::High);
        assert_eq!(d.evidence.get("transport"), Some("tcp"));
        assert!(d.midstream);
    }

    // A tls-crypt-v2 client of OpenVPN 2.6 (openvpn-udp-tlscryptv2.pcap
    // frames 1-2, cut): replay ids from 0x0f000001.
    #[test]
    fn tls_crypt_v2_early_negotiation_replay_id() {
        let c = format!("50b4167d9dbb9675f10f0000016b104b8b{}", "c3".repeat(300));
        let s = format!("407d0bcea137eb8e3e000000016b104b8b{}", "5e".repeat(55));
        let c2 = format!("58b4167d9dbb9675f10f0000026b104b8b{}", "22".repeat(600));
        let s2 = format!("207d0bcea137eb8e3e000000026b104b8b{}", "20".repeat(1000));
        let c3 = format!("28b4167d9dbb9675f10f0000036b104b8b{}", "f6".repeat(40));
        let s3 = format!("207d0bcea137eb8e3e000000036b104b8b{}", "9f".repeat(1000));
        let pk: Vec<(bool, &str)> = vec![(true, &c), (false, &s), (true, &c2), (false, &s2), (true, &c3), (false, &s3)];
        let out = feed(&mut OpenVpn::default(), 17, &pk);
        let d = out.last().expect("detected");
        assert_eq!(d.confidence, Confidence::Certain);
        assert_eq!(d.evidence.get("layout"), Some("tls-crypt"));
    }

    // dns.pcap-like benign traffic: a DNS query/response pair never fits.
    #[test]
    fn dns_is_not_openvpn() {
        let pk: &[(bool, &str)] = &[
            (true, "38a101000001000000000000037777770667"),
            (false, "38a181800001000100000000037777770667"),
        ];
        assert_eq!(unhex(pk[0].1).len(), 18);
        let mut det = OpenVpn::default();
        let out = feed(&mut det, 17, pk);
        assert!(out.is_empty());
    }
}
