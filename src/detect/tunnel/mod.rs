//! Covert tunnels: DNS tunnelling and exfiltration, ICMP tunnels.
//!
//! Outer IP encapsulations (IP-in-IP, 6in4, GRE, Teredo...) are verified by
//! the decoder and reported by the engine; this family looks for tunnels
//! hidden inside ordinary-looking protocols:
//!
//! - [`DnsTunnel`]: data encoded into query names (iodine, dns2tcp,
//!   dnscat2, exfiltration scripts). Each query of the window is parsed
//!   (RFC 1035 §4.1) and its name scored: long labels in hex / base32 /
//!   base64 alphabets with high character diversity, raw 8-bit bytes in
//!   labels (iodine's base128/raw encodings), very long names, and the
//!   record types tunnels favour (NULL, private-use, TXT). Ordinary DNS
//!   sends one name per query from a fresh port; a tunnel sends a stream of
//!   distinct encoded names on one flow. Features follow Farnham & Atlasis,
//!   "Detecting DNS Tunneling" (SANS, 2013) and Nadler et al., "Detection
//!   of malicious and low throughput data exfiltration over the DNS
//!   protocol" (Computers & Security, 2019).
//! - [`IcmpTunnel`]: data carried in ICMP echo (RFC 792 / RFC 4443). An
//!   echo reply must return the request's data unchanged; tunnels
//!   (ptunnel, icmptunnel, hans) send different data each way, carry whole
//!   IP packets, or start with ptunnel's magic number.
//!
//! - [`pptp_gre::PptpData`]: PPTP's enhanced GRE data channel seen
//!   without its control connection (MPPE-encrypted PPP cannot be
//!   decapsulated, so the decoder cannot verify it as a tunnel).
//!
//! Link-local name services (mDNS 5353, LLMNR 5355, NetBIOS 137) and
//! encrypted DNS (DoT 853, DoH and DNSCrypt over 443) are never looked at:
//! they are not tunnels.

use super::{Basis, Category, Confidence, Detection, FlowFacts, PacketView};
use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::dissect::dns::RrType;
use crate::dissect::dns::parser::Message;
use crate::dissect::verdict::Direction;
use serde::Deserialize;

/// The `[detect.tunnel]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelConfig {
    /// Look for DNS tunnels on port-53 flows. Default `true`.
    pub dns: bool,
    /// Look for ICMP echo tunnels. Default `true`.
    pub icmp: bool,
    /// Queries with tunnel-like names needed on one flow before a DNS
    /// tunnel is reported (at most 16 queries are seen per flow).
    /// Default 4.
    pub dns_min_queries: u8,
    /// Judge each port-53 flow also by the client's other names below its
    /// domain (tunnels spread over one-query flows). Default `true`.
    pub dns_spread: bool,
    /// Window of that aggregate, seconds (10 to 86400). Default 600.
    pub dns_spread_window: u64,
    /// Distinct names below one domain the aggregate needs (4 to 256).
    /// Default 10.
    pub dns_spread_min_names: u16,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            dns: true,
            icmp: true,
            dns_min_queries: 4,
            dns_spread: true,
            dns_spread_window: 600,
            dns_spread_min_names: 10,
        }
    }
}

/// A `[detect.tunnel]` value out of range.
#[derive(Debug, thiserror::Error)]
pub enum TunnelConfigError {
    /// `dns_min_queries` outside 2..=16: the window holds 16 queries, and
    /// one query proves nothing.
    #[error("dns_min_queries = {0}: must be 2 to 16 (the window holds 16 queries)")]
    DnsMinQueries(u8),
    /// `dns_spread_window` outside 10..=86400 seconds.
    #[error("dns_spread_window = {0}: must be 10 to 86400 seconds")]
    DnsSpreadWindow(u64),
    /// `dns_spread_min_names` outside 4..=256 (the names kept per domain).
    #[error("dns_spread_min_names = {0}: must be 4 to 256 (names kept per domain)")]
    DnsSpreadMinNames(u16),
}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug)]
pub struct TunnelCtx {
    dns: bool,
    icmp: bool,
    dns_min_queries: u16,
    spread: SpreadSettings,
}

impl Default for TunnelCtx {
    fn default() -> Self {
        TunnelCtx {
            dns: true,
            icmp: true,
            dns_min_queries: 4,
            spread: SpreadSettings::default(),
        }
    }
}

impl TunnelCtx {
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(cfg: &TunnelConfig) -> Result<Self, TunnelConfigError> {
        if !(2..=16).contains(&cfg.dns_min_queries) {
            return Err(TunnelConfigError::DnsMinQueries(cfg.dns_min_queries));
        }
        if !(10..=86_400).contains(&cfg.dns_spread_window) {
            return Err(TunnelConfigError::DnsSpreadWindow(cfg.dns_spread_window));
        }
        if !(4..=256).contains(&cfg.dns_spread_min_names) {
            return Err(TunnelConfigError::DnsSpreadMinNames(
                cfg.dns_spread_min_names,
            ));
        }
        Ok(TunnelCtx {
            dns: cfg.dns,
            icmp: cfg.icmp,
            dns_min_queries: u16::from(cfg.dns_min_queries),
            spread: SpreadSettings {
                enabled: cfg.dns && cfg.dns_spread,
                window_us: cfg.dns_spread_window * 1_000_000,
                min_names: cfg.dns_spread_min_names,
            },
        })
    }

    /// Settings of the per-domain spread verdict ([`DnsSpread`]).
    pub fn spread(&self) -> &SpreadSettings {
        &self.spread
    }
}

/// Which detector a flow gets, decided on its first payload packet.
#[derive(Debug, Default)]
enum Kind {
    /// First packet not seen yet.
    #[default]
    Undecided,
    /// Port-53 DNS flow.
    Dns(DnsTunnel),
    /// ICMP echo flow.
    Icmp(IcmpTunnel),
    /// GRE flow (IP protocol 47): PPTP data.
    PptpGre(pptp_gre::PptpData),
    /// Nothing to look for, or decided.
    Done,
}

/// Per-flow state of this family's detectors.
#[derive(Debug, Default)]
pub struct TunnelDetectors {
    kind: Kind,
}

impl crate::detect::detector::Family for TunnelDetectors {
    type Ctx = TunnelCtx;

    /// One payload packet of the flow's inspection window; findings go to `out`.
    fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        _facts: &FlowFacts<'_>,
        ctx: &TunnelCtx,
        out: &mut Vec<Detection>,
    ) {
        if matches!(self.kind, Kind::Undecided) {
            self.kind =
                if ctx.dns && p.server_port == 53 && matches!(p.proto, IpProto::TCP | IpProto::UDP)
                {
                    Kind::Dns(DnsTunnel::default())
                } else if ctx.icmp && p.icmp.is_some() && p.proto.is_icmp() {
                    Kind::Icmp(IcmpTunnel::default())
                } else if p.proto == IpProto::GRE {
                    Kind::PptpGre(pptp_gre::PptpData::default())
                } else {
                    Kind::Done
                };
        }
        let found = match &mut self.kind {
            Kind::Dns(d) => d.on_packet(p, ctx),
            Kind::Icmp(i) => i.on_packet(p),
            Kind::PptpGre(g) => match g.on_packet(p) {
                pptp_gre::Step::More => None,
                pptp_gre::Step::Stop => {
                    self.kind = Kind::Done;
                    None
                }
                pptp_gre::Step::Found(d) => Some(d),
            },
            _ => None,
        };
        if let Some(d) = found {
            out.push(d);
            self.kind = Kind::Done;
        }
    }

    /// The dissectors may have learnt something (a hello, a certificate,
    /// an HTTP head, a DNS answer); findings go to `out`.
    fn on_facts(&mut self, _facts: &FlowFacts<'_>, _ctx: &TunnelCtx, _out: &mut Vec<Detection>) {}

    /// The flow ended (or was evicted): last look at the whole window.
    fn on_end(&mut self, _facts: &FlowFacts<'_>, ctx: &TunnelCtx, out: &mut Vec<Detection>) {
        let found = match &self.kind {
            Kind::Dns(d) => d.verdict(ctx),
            Kind::Icmp(i) => i.verdict(),
            Kind::PptpGre(g) => g.verdict(),
            _ => None,
        };
        if let Some(d) = found {
            out.push(d);
        }
        self.kind = Kind::Done;
    }

    /// True when no detector of this family wants more packets or facts.
    fn done(&self) -> bool {
        matches!(self.kind, Kind::Done)
    }
}

// ---------------------------------------------------------------- DNS ----

/// Shortest label scored as possibly encoded data.
const ENCODED_LABEL_MIN: usize = 24;
/// Distinct characters an encoded label of [`ENCODED_LABEL_MIN`] or more
/// bytes shows at least (random base32 of 24 characters shows ~17; English
/// or hyphenated host names far fewer per length, and are rarely that long).
const ENCODED_MIN_DISTINCT: u32 = 14;
/// Query names (data part) at least this long count as carrying data.
const LONG_DATA_PART: usize = 100;

/// What one query name looks like.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct NameScore {
    /// A label in a hex / base32 / base64 alphabet, long and diverse.
    encoded: bool,
    /// A label with bytes outside letters, digits, `-` and `_`.
    raw_bytes: bool,
    /// The data part (all labels but the last two) is very long.
    long: bool,
    /// Longest label.
    longest: u8,
    /// Length of the name without its last two labels.
    data_len: u16,
    /// Hash of the last two labels (the base domain, approximately).
    base_hash: u32,
    /// Hash of the whole name, for counting distinct names.
    name_hash: u32,
}

impl NameScore {
    fn suspicious(&self) -> bool {
        self.encoded || self.raw_bytes || self.long
    }
}

fn fnv(h: u32, b: &[u8]) -> u32 {
    b.iter().fold(h, |h, &x| {
        (h ^ u32::from(x.to_ascii_lowercase())).wrapping_mul(0x0100_0193)
    })
}

/// Scores one label as encoded data: long, one encoding alphabet, diverse
/// characters, letters mixed with digits (or a pure hex string).
fn label_encoded(l: &[u8]) -> bool {
    if l.len() < ENCODED_LABEL_MIN {
        return false;
    }
    let mut seen = [0u64; 2];
    let (mut digits, mut letters, mut hex) = (0usize, 0usize, 0usize);
    for &b in l {
        if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=')) {
            return false;
        }
        seen[usize::from(b >> 6) & 1] |= 1u64 << (b & 63);
        if b.is_ascii_digit() {
            digits += 1;
        } else if b.is_ascii_alphabetic() {
            letters += 1;
        }
        if b.is_ascii_hexdigit() {
            hex += 1;
        }
    }
    let distinct = seen[0].count_ones() + seen[1].count_ones();
    if hex == l.len() && digits > 0 && letters > 0 {
        // Hex: 16 symbols at most, but a long run of them mixing digits
        // and a-f is not a word.
        return distinct >= 10;
    }
    // Encoded data mixes digits into letters throughout; names made of
    // words put a number at the end or between hyphens.
    let hyphens = l.iter().filter(|&&b| b == b'-').count();
    let transitions = l
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    distinct >= ENCODED_MIN_DISTINCT
        && digits >= 2
        && letters >= 8
        && hyphens <= 2
        && transitions >= 3
}

fn score_name(name: &crate::dissect::dns::Name<'_>) -> NameScore {
    // Labels are collected as slices (at most 127 in a valid name).
    let mut labels: [&[u8]; 128] = [&[]; 128];
    let mut n = 0usize;
    name.for_each_label(|l| {
        if let Some(slot) = labels.get_mut(n) {
            *slot = l;
        }
        n += 1;
    });
    let n = n.min(labels.len());
    // The last two labels approximate the registered domain (no public
    // suffix list); every label is scored, since tools such as dnscat2 may
    // talk to their server without any domain (no real top-level label
    // passes the encoded-label test).
    let data_labels = n.saturating_sub(2);
    let mut s = NameScore::default();
    let mut data_len = 0usize;
    for (i, l) in labels[..n].iter().enumerate() {
        s.longest = s.longest.max(l.len().min(255) as u8);
        s.name_hash = fnv(s.name_hash ^ 0x2e, l);
        s.raw_bytes |= l
            .iter()
            .any(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        s.encoded |= label_encoded(l);
        if i < data_labels {
            data_len += l.len() + 1;
        } else {
            s.base_hash = fnv(s.base_hash ^ 0x2e, l);
        }
    }
    s.data_len = data_len.min(usize::from(u16::MAX)) as u16;
    s.long = data_len >= LONG_DATA_PART;
    s
}

/// Record types DNS tunnels favour: NULL (iodine), private use
/// 65280-65534, TXT (dnscat2, dns2tcp), and their relatives used to carry
/// bulk answers (CNAME, MX, SRV are ordinary and not counted).
fn tunnel_rrtype(t: RrType) -> bool {
    t == RrType::NULL || t == RrType::TXT || (65280..=65534).contains(&t.0)
}

/// DNS tunnel / exfiltration detector for one port-53 flow.
#[derive(Debug, Default)]
pub struct DnsTunnel {
    /// Queries parsed.
    queries: u16,
    /// Queries whose name looks like carried data.
    suspicious: u16,
    /// ... of which with encoded labels.
    encoded: u16,
    /// ... of which with raw 8-bit bytes.
    raw: u16,
    /// Queries of a tunnel-favoured record type.
    odd_types: u16,
    /// Hashes of distinct suspicious names (small set).
    names: [u32; 16],
    n_names: u8,
    /// Base domain of the first suspicious query, and how many suspicious
    /// queries share it.
    base: u32,
    same_base: u16,
    /// Longest label and longest data part seen.
    longest: u8,
    data_len: u16,
    /// An example suspicious name (first one), for evidence.
    example: Option<Box<str>>,
}

impl DnsTunnel {
    fn on_packet(&mut self, p: &PacketView<'_>, ctx: &TunnelCtx) -> Option<Detection> {
        if p.dir != Direction::ToServer {
            return None;
        }
        let msg = if p.proto == IpProto::TCP {
            // One whole message per segment, after its 2-byte length.
            let len = usize::from(u16::from_be_bytes([
                *p.payload.first()?,
                *p.payload.get(1)?,
            ]));
            p.payload.get(2..2 + len)?
        } else {
            p.payload
        };
        let m = Message::parse(msg).ok()?;
        if m.header.flags.qr() || m.header.flags.opcode() != 0 {
            return None;
        }
        let q = m.questions().next()?;
        self.queries = self.queries.saturating_add(1);
        if tunnel_rrtype(q.qtype) {
            self.odd_types += 1;
        }
        let s = score_name(&q.name);
        if s.suspicious() {
            self.suspicious += 1;
            self.encoded += u16::from(s.encoded || s.long);
            self.raw += u16::from(s.raw_bytes);
            if self.suspicious == 1 {
                self.base = s.base_hash;
                self.example = Some(q.name.to_escaped().into_boxed_str());
            }
            if s.base_hash == self.base {
                self.same_base += 1;
            }
            let n = usize::from(self.n_names);
            if n < self.names.len() && !self.names[..n].contains(&s.name_hash) {
                self.names[n] = s.name_hash;
                self.n_names += 1;
            }
            self.longest = self.longest.max(s.longest);
            self.data_len = self.data_len.max(s.data_len);
        }
        // Decide as soon as the evidence is there; otherwise at the end.
        if u16::from(self.n_names) >= ctx.dns_min_queries.max(4) + 2 {
            return self.verdict(ctx);
        }
        None
    }

    fn verdict(&self, ctx: &TunnelCtx) -> Option<Detection> {
        let distinct = u16::from(self.n_names);
        // Enough distinct data-carrying names, and they are most of the
        // flow's queries (a forwarder's shared flow carries ordinary names).
        if distinct < ctx.dns_min_queries || self.suspicious * 2 < self.queries {
            return None;
        }
        let mut signals = 0;
        let mut what = Vec::with_capacity(4);
        if self.encoded > 0 {
            signals += 1;
            what.push("encoded labels");
        }
        if self.raw > 0 {
            signals += 1;
            what.push("raw 8-bit bytes in labels");
        }
        if self.odd_types * 2 >= self.queries {
            signals += 1;
            what.push("NULL/TXT/private record types");
        }
        if self.same_base * 4 >= self.suspicious * 3 && self.same_base >= ctx.dns_min_queries {
            signals += 1;
            what.push("many distinct names under one domain");
        }
        let confidence = if signals >= 2 {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let mut d = Detection::new(
            Category::Tunnel,
            Protocol::DnsTunnel,
            confidence,
            Basis::Behaviour,
            format!(
                "DNS queries carry data in their names: {} of {} queries ({})",
                self.suspicious,
                self.queries,
                what.join(", ")
            ),
        )
        .with("queries", self.queries)
        .with("data_queries", self.suspicious)
        .with("distinct_names", distinct)
        .with("tunnel_rrtype_queries", self.odd_types)
        .with("longest_label", self.longest)
        .with("longest_data_part", self.data_len);
        if let Some(e) = &self.example {
            d = d.with("example", e);
        }
        Some(d)
    }
}

// --------------------------------------------------------------- ICMP ----

/// ptunnel's magic numbers, first word of its header: ptunnel's
/// 0xD5200880 (ptunnel documentation) and ptunnel-ng's default 0xDEADC0DE
/// (ptunnel-ng README, option `--magic`; seen in
/// captures/recorded/ptunnel-ng-icmp.pcap).
const PTUNNEL_MAGICS: [[u8; 4]; 2] = [[0xd5, 0x20, 0x08, 0x80], [0xde, 0xad, 0xc0, 0xde]];
/// Echo requests remembered to pair with their replies.
const PENDING: usize = 8;

/// True when `b` is a whole IPv4 or IPv6 packet: version, header length,
/// total length equal to the bytes present, and (IPv4) a valid header
/// checksum (RFC 791 §3.1, RFC 8200 §3).
fn is_ip_packet(b: &[u8]) -> bool {
    match b.first().map(|v| v >> 4) {
        Some(4) => {
            let ihl = usize::from(b[0] & 0x0f) * 4;
            if ihl < 20 || b.len() < ihl {
                return false;
            }
            let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
            if total != b.len() {
                return false;
            }
            let mut sum = 0u32;
            for w in b[..ihl].chunks_exact(2) {
                sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            sum == 0xffff
        }
        Some(6) => b.len() >= 40 && usize::from(u16::from_be_bytes([b[4], b[5]])) + 40 == b.len(),
        _ => false,
    }
}

/// True when `b` (echo data) is a ptunnel packet header whatever its magic
/// (ptunnel-ng `--magic`): ptunnel's `ping_tunnel_pkt_t` (ptunnel
/// documentation and source; ptunnel-ng keeps the layout): magic, dst ip,
/// dst port, state, ack, data length (all 32-bit big endian), sequence and
/// identifier (16-bit). The state word carries exactly one of the user
/// (0x40000000) and proxy (0x80000000) flags over a small state number, the
/// length field equals the bytes after the 28-byte header, and the
/// identifier repeats the ICMP echo identifier — seen in every packet of
/// captures/recorded/ptunnel*.pcap.
fn is_ptunnel_header(b: &[u8], echo_id: u16) -> bool {
    if b.len() < 28 {
        return false;
    }
    let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let state = word(12);
    let flags = state & 0xc000_0000;
    (flags == 0x4000_0000 || flags == 0x8000_0000)
        && state & 0x3fff_ffff < 8
        && word(20) as usize == b.len() - 28
        && u16::from_be_bytes([b[26], b[27]]) == echo_id
}

/// True when `b` (echo data) starts with hans's tunnel header (hans, IP
/// over ICMP: `Worker::TunnelHeader` in its worker.h — a 4-byte magic, the
/// server's `hans` or the client's `9967`, then a type byte 1-11:
/// reset, connection request, challenge, challenge response, accept,
/// challenge error, data, poll, server full, and the later forks' data
/// sequence and nack). Not recorded (hans is not packaged in Debian 12).
fn is_hans_header(b: &[u8]) -> bool {
    b.len() >= 5 && (b.starts_with(b"hans") || b.starts_with(b"9967")) && (1..=11).contains(&b[4])
}

/// Hash of an echo's data, for pairing requests and replies.
fn data_hash(b: &[u8]) -> u32 {
    b.iter().fold(0x811c_9dc5u32, |h, &x| {
        (h ^ u32::from(x)).wrapping_mul(0x0100_0193)
    })
}

/// ICMP echo tunnel detector for one ICMP flow.
#[derive(Debug, Default)]
pub struct IcmpTunnel {
    /// Echo messages seen [requests, replies].
    echoes: [u16; 2],
    /// Echoes carrying a whole IP packet, per direction.
    ip_inside: [u16; 2],
    /// Echoes starting with ptunnel's magic, per direction.
    ptunnel: [u16; 2],
    /// Echoes with ptunnel's header layout under another magic.
    ptunnel_header: [u16; 2],
    /// Echoes starting with hans's tunnel header, per direction.
    hans: [u16; 2],
    /// Replies whose data differs from their request's / equals it.
    mismatched: u16,
    matched: u16,
    /// Recent requests: (id, seq, length, data hash).
    pending: [(u16, u16, u16, u32); PENDING],
    n_pending: u8,
    next_slot: u8,
    /// Distinct data sizes of requests (small set).
    sizes: [u16; 4],
    n_sizes: u8,
}

impl IcmpTunnel {
    fn on_packet(&mut self, p: &PacketView<'_>) -> Option<Detection> {
        let (ty, _) = p.icmp?;
        let (request, reply) = match p.proto {
            IpProto::ICMP => (8, 0),
            _ => (128, 129),
        };
        if ty != request && ty != reply {
            return None;
        }
        let hdr = p.payload.get(..4)?;
        let id = u16::from_be_bytes([hdr[0], hdr[1]]);
        let seq = u16::from_be_bytes([hdr[2], hdr[3]]);
        let data = &p.payload[4..];
        let d = usize::from(ty == reply);
        self.echoes[d] = self.echoes[d].saturating_add(1);
        if is_ip_packet(data) {
            self.ip_inside[d] += 1;
        }
        if PTUNNEL_MAGICS.iter().any(|m| data.starts_with(m)) {
            self.ptunnel[d] += 1;
        } else if is_ptunnel_header(data, id) {
            self.ptunnel_header[d] += 1;
        } else if is_hans_header(data) {
            self.hans[d] += 1;
        }
        let len = data.len().min(usize::from(u16::MAX)) as u16;
        let h = data_hash(data);
        if ty == request {
            let slot = usize::from(self.next_slot) % PENDING;
            self.pending[slot] = (id, seq, len, h);
            self.next_slot = self.next_slot.wrapping_add(1);
            self.n_pending = (self.n_pending + 1).min(PENDING as u8);
            let n = usize::from(self.n_sizes);
            if n < self.sizes.len() && !self.sizes[..n].contains(&len) {
                self.sizes[n] = len;
                self.n_sizes += 1;
            }
        } else {
            let pending = &self.pending[..usize::from(self.n_pending)];
            let mut same_id = false;
            let mut equal = false;
            for &(pid, pseq, plen, ph) in pending {
                if pid == id && pseq == seq {
                    same_id = true;
                    equal |= plen == len && ph == h;
                }
            }
            if same_id {
                if equal {
                    self.matched += 1;
                } else {
                    self.mismatched += 1;
                }
            }
        }
        // Structure found in both directions: nothing more to learn.
        if (self.ip_inside[0] > 0 && self.ip_inside[1] > 0)
            || (self.ptunnel[0] > 0 && self.ptunnel[1] > 0)
            || (self.ptunnel_header[0] > 0 && self.ptunnel_header[1] > 0)
            || (self.hans[0] > 0 && self.hans[1] > 0)
        {
            return self.verdict();
        }
        None
    }

    fn verdict(&self) -> Option<Detection> {
        let both = |c: [u16; 2]| c[0] > 0 && c[1] > 0;
        let total = |c: [u16; 2]| c[0] + c[1];
        let (protocol_detail, confidence, basis, reason) = if total(self.ptunnel) > 0 {
            (
                "ptunnel",
                Confidence::certain_if(both(self.ptunnel)),
                Basis::Structure,
                "ICMP echo data starts with ptunnel's magic number",
            )
        } else if total(self.ptunnel_header) > 0 {
            (
                "ptunnel",
                Confidence::certain_if(both(self.ptunnel_header)),
                Basis::Structure,
                "ICMP echo data carry ptunnel's packet header (length and echo id fields agree) under a custom magic",
            )
        } else if total(self.hans) > 0 {
            (
                "hans",
                Confidence::certain_if(both(self.hans)),
                Basis::Structure,
                "ICMP echo data start with hans's tunnel header (magic and message type)",
            )
        } else if total(self.ip_inside) >= 2 {
            (
                "ip_in_icmp",
                Confidence::certain_if(both(self.ip_inside)),
                Basis::Structure,
                "ICMP echo data are whole IP packets (valid headers and lengths)",
            )
        } else if self.mismatched >= 3 && self.matched == 0 {
            (
                "echo_mismatch",
                if self.n_sizes >= 3 {
                    Confidence::High
                } else {
                    Confidence::Medium
                },
                Basis::Behaviour,
                "ICMP echo replies do not return their requests' data (RFC 792 requires it)",
            )
        } else if total(self.ip_inside) == 1 {
            // One echo carrying a whole, checksummed IP packet: a tunnel seen
            // for a single packet (ordinary ping data is never one).
            (
                "ip_in_icmp",
                Confidence::Medium,
                Basis::Structure,
                "an ICMP echo's data is a whole IP packet (valid header and length)",
            )
        } else {
            return None;
        };
        Some(
            Detection::new(
                Category::Tunnel,
                Protocol::IcmpTunnel,
                confidence,
                basis,
                reason,
            )
            .with("signature", protocol_detail)
            .with("echo_requests", self.echoes[0])
            .with("echo_replies", self.echoes[1])
            .with("ip_packets_inside", total(self.ip_inside))
            .with("ptunnel_magic", total(self.ptunnel))
            .with("replies_mismatched", self.mismatched)
            .with("replies_matched", self.matched)
            .with("request_sizes", self.n_sizes),
        )
        .map(|d| {
            let d = if total(self.ptunnel_header) > 0 {
                d.with("ptunnel_header", total(self.ptunnel_header))
            } else {
                d
            };
            if total(self.hans) > 0 {
                d.with("hans_header", total(self.hans))
            } else {
                d
            }
        })
    }
}

mod pptp_gre;
mod spread;

pub use spread::{DnsSpread, LOOKAHEAD_US, SpreadSettings};

#[cfg(test)]
mod tests;
