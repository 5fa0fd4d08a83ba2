//! Fully encrypted proxies (Shadowsocks, VMess over TCP, obfs4): streams
//! whose very first byte is ciphertext.
//!
//! The candidate test is the one the Great Firewall applies, as measured by
//! Wu et al., "How the Great Firewall of China Detects and Blocks Fully
//! Encrypted Traffic" (USENIX Security 2023, §4): the first client payload
//! of a TCP connection is *exempt* (not a candidate) when
//! * Ex1: its average number of set bits per byte is <= 3.4 or >= 4.6;
//! * Ex2: its first six bytes are printable ASCII (0x20..=0x7e);
//! * Ex3: more than half of its bytes are printable;
//! * Ex4: it holds more than 20 contiguous printable bytes;
//! * Ex5: it starts like TLS or HTTP.
//!
//! Random-looking first payloads are common enough (Kerberos, messengers'
//! own protocols) that the exemptions alone would flag ordinary traffic, so
//! a finding needs more, all of which must agree:
//! * the client spoke first and no dissector recognised the flow;
//! * the server's first payload is not exempt either;
//! * neither starts with plaintext framing (a zero byte pair in the first
//!   eight bytes, or a 2- or 4-byte big-endian length of the rest) as
//!   length-prefixed binary protocols do;
//! * the first exchange has the shape of a relayed TLS handshake
//!   ([`super::encap`]): a ClientHello-sized client burst, a server burst of
//!   a kilobyte or more, then a short client packet.
//!
//! When that short packet is exactly an inner TLS Finished flight plus 34
//! bytes, the framing of a Shadowsocks AEAD chunk (2-byte encrypted length
//! + 16-byte tag, then payload + 16-byte tag; shadowsocks.org "AEAD
//!   ciphers"), the finding is `shadowsocks`; otherwise `encrypted_proxy`.
//!   Confidence stays Medium: nothing is decrypted.

use super::encap::{Shape, Step, is_inner_finished};
use crate::decode::IpProto;
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts, PacketView, Protocol};
use crate::dissect::Direction;
use crate::detect::detector::{detector_head, Detector};

/// Per-chunk overhead of a Shadowsocks AEAD chunk: encrypted 2-byte length
/// with its 16-byte tag, plus the payload's 16-byte tag.
const SS_AEAD_CHUNK_OVERHEAD: u32 = 2 + 16 + 16;

/// Which of Wu et al.'s exemptions a payload meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Exemption {
    /// Ex1: set bits per byte outside (3.4, 4.6).
    Popcount,
    /// Ex2: first six bytes printable.
    PrintablePrefix,
    /// Ex3: more than half the bytes printable.
    MostlyPrintable,
    /// Ex4: more than 20 contiguous printable bytes.
    PrintableRun,
    /// Ex5: TLS or HTTP prefix.
    KnownPrefix,
    /// Not in the paper: plaintext framing (zero-byte pair or a length
    /// prefix) as length-prefixed binary protocols start.
    Framing,
    /// Empty payload.
    Empty,
}

fn printable(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// Wu et al.'s exemptions (Ex1..Ex5) for one payload, `None` when the
/// payload is a fully-encrypted candidate. One pass, no allocation.
pub(super) fn exemption(b: &[u8]) -> Option<Exemption> {
    if b.is_empty() {
        return Some(Exemption::Empty);
    }
    // The O(1) rules first: most first payloads are TLS or HTTP, and then
    // the byte scan below is not needed (the verdict does not depend on the
    // order of the rules).
    if known_prefix(b) {
        return Some(Exemption::KnownPrefix);
    }
    if b.len() >= 6 && b[..6].iter().all(|&x| printable(x)) {
        return Some(Exemption::PrintablePrefix);
    }
    let mut bits = 0u64;
    let mut printable_count = 0usize;
    let mut run = 0usize;
    let mut longest = 0usize;
    for &x in b {
        bits += u64::from(x.count_ones());
        if printable(x) {
            printable_count += 1;
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    // Ex1 with integers: bits/len <= 3.4  <=>  10*bits <= 34*len.
    let n = b.len() as u64;
    if bits * 10 <= 34 * n || bits * 10 >= 46 * n {
        return Some(Exemption::Popcount);
    }
    if b.len() >= 6 && b[..6].iter().all(|&x| printable(x)) {
        return Some(Exemption::PrintablePrefix);
    }
    if printable_count * 2 > b.len() {
        return Some(Exemption::MostlyPrintable);
    }
    if longest > 20 {
        return Some(Exemption::PrintableRun);
    }
    if known_prefix(b) {
        return Some(Exemption::KnownPrefix);
    }
    None
}

/// Ex5: a TLS record header (handshake / application data / alert /
/// change cipher spec, version 3.x) or an HTTP method.
fn known_prefix(b: &[u8]) -> bool {
    if b.len() >= 2 && (0x14..=0x17).contains(&b[0]) && b[1] == 3 {
        return true;
    }
    const METHODS: [&[u8]; 9] = [
        b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"CONN", b"PATC", b"TRAC",
    ];
    METHODS.iter().any(|m| b.starts_with(m))
}

/// Plaintext framing no fully encrypted protocol shows: two zero bytes in
/// a row within the first eight bytes (chance 7 in 65536 for random data),
/// or a big-endian length prefix of the rest of the payload.
pub(super) fn plaintext_framing(b: &[u8]) -> bool {
    let head = &b[..b.len().min(8)];
    if head.windows(2).any(|w| w == [0, 0]) {
        return true;
    }
    let n = b.len();
    let be2 = |i: usize| usize::from(u16::from_be_bytes([b[i], b[i + 1]]));
    (n >= 2 && be2(0) == n - 2)
        || (n >= 4 && b[0] == 0 && b[1] == 0 && be2(2) == n - 4)
        || (n >= 2 && be2(0) == n)
}

/// Combined test: exempt by Wu et al. or plaintext framing.
pub(super) fn not_candidate(b: &[u8]) -> Option<Exemption> {
    exemption(b).or_else(|| plaintext_framing(b).then_some(Exemption::Framing))
}

/// Payload packets whose bytes are tested and sampled for the
/// random-stream evidence (both directions together).
pub(super) const STREAM_WINDOW: u8 = 8;

/// Shorter payloads are not tested one by one: Wu et al.'s rules misjudge
/// random data that short (six printable bytes in a row, half printable),
/// and they are what a keystroke or an ACK-sized record is.
const MIN_TESTED: usize = 32;

/// Bytes of each tested payload added to the flow's sample (bounds the
/// work per flow; the head of a message is what plaintext framing shows).
const SAMPLE_PER_PACKET: usize = 256;

/// Fewest sampled bytes for the sample's randomness test to mean anything.
const MIN_SAMPLE: u32 = 256;

/// Payload packets after which the relayed-handshake shape is given up.
const SHAPE_WINDOW: u16 = 24;

/// Where the detector stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// Nothing seen yet.
    #[default]
    Start,
    /// The first client payload was a candidate: following the flow.
    Following,
    /// Decided.
    Done,
}

/// What the flow's first payload packets showed, for the random-stream
/// evidence: every tested payload not exempt, both directions, and the
/// sampled bytes as random as ciphertext.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct StreamStats {
    /// A tested payload met an exemption (or the server's first was framed).
    failed: bool,
    /// Payload packets looked at.
    pub(super) seen: u8,
    /// Tested payloads per direction ([to server, to client]).
    tested: [u8; 2],
    /// Direction changes among the packets looked at.
    turns: u8,
    /// Direction of the last packet looked at (true: to server).
    last_to_server: bool,
    /// Sampled bytes, their set bits and their printable bytes.
    bytes: u32,
    bits: u32,
    printable: u32,
}

impl StreamStats {
    pub(super) fn push(&mut self, to_server: bool, payload: &[u8]) {
        if self.seen >= STREAM_WINDOW {
            return;
        }
        if self.seen > 0 && to_server != self.last_to_server {
            self.turns += 1;
        }
        self.last_to_server = to_server;
        self.seen += 1;
        if payload.len() < MIN_TESTED {
            return;
        }
        if exemption(payload).is_some() {
            self.failed = true;
            return;
        }
        self.tested[usize::from(!to_server)] += 1;
        for &b in &payload[..payload.len().min(SAMPLE_PER_PACKET)] {
            self.bits += b.count_ones();
            self.printable += u32::from(printable(b));
        }
        self.bytes += payload.len().min(SAMPLE_PER_PACKET) as u32;
    }

    /// The sample is as random as ciphertext: its mean set bits per byte
    /// and its printable fraction within four standard deviations of
    /// uniformly random bytes' (4 bits, variance 2 per byte; 95/256
    /// printable). Plaintext binary (small integers, zero padding) and
    /// text fall far outside.
    fn random(&self) -> bool {
        let n = f64::from(self.bytes);
        let bits = f64::from(self.bits) - 4.0 * n;
        let p = 95.0 / 256.0;
        let pr = f64::from(self.printable) - p * n;
        bits * bits <= 16.0 * 2.0 * n && pr * pr <= 16.0 * n * p * (1.0 - p)
    }

    /// Enough packets, both ways, every tested one a candidate.
    pub(super) fn holds(&self) -> bool {
        !self.failed
            && self.tested[0] >= 1
            && self.tested[1] >= 1
            && self.tested[0] + self.tested[1] >= 3
            && self.bytes >= MIN_SAMPLE
            && self.random()
    }
}

/// Per-flow state of the fully-encrypted-proxy detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FullyEncrypted {
    state: State,
    /// The client's SYN was seen (the first payload is the stream's head).
    syn: bool,
    /// The server has sent payload (its first was a candidate).
    server_spoke: bool,
    shape: Shape,
    /// The relayed-handshake shape: `None` while it may still match.
    shape_done: Option<bool>,
    stats: StreamStats,
    /// Average set bits per byte of the first client payload, times 100.
    popcount_x100: u16,
    /// Sizes of the first client and server payloads.
    c1: u16,
    s1: u16,
}

impl Detector for FullyEncrypted {
    detector_head! { ctx: super::ProxyCtx, protocol: EncryptedProxy, done: state == State::Done }

    /// One payload packet.
    fn on_packet(&mut self, p: &PacketView<'_>, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let to_server = p.dir == Direction::ToServer;
        match self.state {
            State::Start => {
                if p.proto != IpProto::TCP || !to_server || not_candidate(p.payload).is_some() {
                    self.state = State::Done;
                    return;
                }
                let bits: u32 = p.payload.iter().map(|x| x.count_ones()).sum();
                self.popcount_x100 = (bits as usize * 100 / p.payload.len()) as u16;
                self.c1 = u16::try_from(p.payload.len()).unwrap_or(u16::MAX);
                self.syn = facts.syn_seen;
                self.state = State::Following;
                self.shape.push(p.dir, p.payload.len());
                self.stats.push(true, p.payload);
            }
            State::Following => {
                if !to_server && !self.server_spoke {
                    if not_candidate(p.payload).is_some() {
                        self.state = State::Done;
                        return;
                    }
                    self.server_spoke = true;
                    self.s1 = u16::try_from(p.payload.len()).unwrap_or(u16::MAX);
                }
                self.stats.push(to_server, p.payload);
                if self.shape_done.is_none() {
                    self.shape_done = match self.shape.push(p.dir, p.payload.len()) {
                        Step::More if p.index < SHAPE_WINDOW => None,
                        Step::More | Step::NoMatch => Some(false),
                        Step::Closing => Some(self.server_spoke),
                    };
                }
                if self.shape_done == Some(true)
                    || (self.shape_done.is_some() && self.stats.seen >= STREAM_WINDOW)
                {
                    self.decide(facts, out);
                }
            }
            State::Done => {}
        }
    }

    /// The flow ended within the window: judge what it showed.
    fn on_end(&mut self, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if self.state == State::Following {
            self.decide(facts, out);
        }
    }
}

impl FullyEncrypted {
    /// The one decision: a relayed TLS handshake in a fully encrypted
    /// stream, or a stream random from its first byte both ways.
    fn decide(&mut self, facts: &FlowFacts<'_>, out: &mut Vec<Detection>) {
        self.state = State::Done;
        if recognised(facts) || !self.server_spoke {
            return;
        }
        if self.shape_done == Some(true) {
            out.push(self.relayed_finding());
        } else if self.syn && self.stats.holds() {
            out.push(self.stream_finding());
        }
    }

    fn with_first(&self, d: Detection) -> Detection {
        d.with(
            "first_payload_popcount",
            format!(
                "{}.{:02}",
                self.popcount_x100 / 100,
                self.popcount_x100 % 100
            ),
        )
        .with("client_first", self.c1)
        .with("server_first", self.s1)
    }

    fn stream_finding(&self) -> Detection {
        let st = &self.stats;
        let pop = u64::from(st.bits) * 100 / u64::from(st.bytes.max(1));
        let d = Detection::new(
            Category::Proxy,
            Protocol::EncryptedProxy,
            Confidence::Medium,
            Basis::Behaviour,
            "fully encrypted stream: no GFW exemption and no plaintext framing on either side's first payload, every later payload random too, the sampled bytes as random as ciphertext",
        );
        self.with_first(d)
            .with("payloads_tested", u32::from(st.tested[0]) + u32::from(st.tested[1]))
            .with("direction_changes", st.turns)
            .with("sample_bytes", st.bytes)
            .with("sample_popcount", format!("{}.{:02}", pop / 100, pop % 100))
    }

    fn relayed_finding(&self) -> Detection {
        let s = &self.shape;
        let ss = is_inner_finished(s.c2, SS_AEAD_CHUNK_OVERHEAD);
        let (protocol, reason) = if ss {
            (
                Protocol::Shadowsocks,
                "fully encrypted stream (no GFW exemption applies) carrying a relayed TLS handshake in Shadowsocks AEAD chunk sizes",
            )
        } else {
            (
                Protocol::EncryptedProxy,
                "fully encrypted stream (no GFW exemption applies) carrying a relayed TLS handshake",
            )
        };
        let mut d = self
            .with_first(Detection::new(
                Category::Proxy,
                protocol,
                Confidence::Medium,
                Basis::Behaviour,
                reason,
            ))
            .with("client_burst", s.c1)
            .with("server_burst", s.s1)
            .with("client_closing", s.c2);
        if ss {
            d = d.with("aead_chunk_overhead", SS_AEAD_CHUNK_OVERHEAD);
        }
        d
    }
}

/// True when a dissector claimed the flow (its payload is a known protocol).
fn recognised(facts: &FlowFacts<'_>) -> bool {
    facts.app.is_some_and(|a| a.app_proto().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::detect::proxy::testdata::{
        KERBEROS_AS_REQ, SS_CLIENT_FIRST, SS_SERVER_FIRST, TROJAN_CLIENT_HELLO, WHATSAPP_FIRST,
    };
    use crate::detect::proxy::tests_util::hex;

    #[test]
    fn exemptions() {
        assert_eq!(exemption(b""), Some(Exemption::Empty));
        assert_eq!(exemption(&[0u8; 64]), Some(Exemption::Popcount));
        assert_eq!(exemption(&[0xffu8; 64]), Some(Exemption::Popcount));
        // ASCII text is exempt (its popcount is already below 3.4).
        assert!(exemption(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_some());
        let mut framed = b"GET ".to_vec();
        framed.extend((0u8..=255).cycle().skip(7).step_by(7).take(300));
        assert_eq!(exemption(&framed), Some(Exemption::KnownPrefix));
        // A real ClientHello (zero-padded lengths, small integers) already
        // fails Ex1; the TLS prefix alone (Ex5) exempts a random-looking one.
        assert!(exemption(&hex(TROJAN_CLIENT_HELLO)).is_some());
        let mut tls = hex(TROJAN_CLIENT_HELLO)[..5].to_vec();
        tls.extend_from_slice(&hex(SS_CLIENT_FIRST)[5..]);
        assert_eq!(exemption(&tls), Some(Exemption::KnownPrefix));
        assert_eq!(exemption(&hex(SS_CLIENT_FIRST)), None);
        assert_eq!(exemption(&hex(SS_SERVER_FIRST)), None);
    }

    #[test]
    fn framing() {
        // Random-looking, yet framed in plaintext: not candidates.
        let k = hex(KERBEROS_AS_REQ);
        assert_eq!(exemption(&k), None);
        assert!(plaintext_framing(&k));
        assert_eq!(not_candidate(&k), Some(Exemption::Framing));
        assert!(not_candidate(&hex(WHATSAPP_FIRST)).is_some());
        assert!(!plaintext_framing(&hex(SS_CLIENT_FIRST)));
        assert!(!plaintext_framing(&hex(SS_SERVER_FIRST)));
    }

    #[test]
    fn shadowsocks_shape() {
        // tls_heur__shadowsocks-tcp.pcapng, flow 127.0.0.1:40164 -> :1234:
        // client 636, server 1274 + 5493, client 114 (= 80 + 34).
        let mut s = Shape::default();
        assert_eq!(s.push(Direction::ToServer, 636), Step::More);
        assert_eq!(s.push(Direction::ToClient, 1274), Step::More);
        assert_eq!(s.push(Direction::ToClient, 5493), Step::More);
        assert_eq!(s.push(Direction::ToServer, 114), Step::Closing);
        assert!(is_inner_finished(s.c2, SS_AEAD_CHUNK_OVERHEAD));
    }

    /// Pseudo-random bytes (a multiplicative hash of the index).
    fn noise(n: usize, seed: u32) -> Vec<u8> {
        (0..n as u32)
            .map(|i| ((i ^ seed).wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect()
    }

    #[test]
    fn random_stream_holds_and_plaintext_does_not() {
        let mut st = StreamStats::default();
        st.push(true, &noise(180, 1));
        st.push(false, &noise(1448, 2));
        st.push(false, &noise(330, 3));
        assert!(st.holds());
        // One direction only, or too few tested payloads: no.
        let mut one_way = StreamStats::default();
        one_way.push(true, &noise(180, 1));
        one_way.push(true, &noise(500, 4));
        one_way.push(true, &noise(500, 5));
        assert!(!one_way.holds());
        // A later payload that is text fails the stream.
        let mut text = st;
        text.push(false, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>");
        assert!(!text.holds());
        // Short payloads are not tested (a 3-byte record is not text).
        let mut short = st;
        short.push(false, &[0xe8, 0x6e, 0xea]);
        assert!(short.holds());
    }
}