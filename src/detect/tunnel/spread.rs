//! DNS tunnels spread over many flows, judged per flow.
//!
//! Through a resolver (and with tools that open a socket per query) every
//! query of a tunnel is a new source port, so each flow holds one query and
//! the per-flow detector ([`super::DnsTunnel`]) never sees enough. Every
//! worker sees every DNS response (the reader copies them to all workers),
//! so each keeps this small table per (client, registered domain) of the
//! names answered recently, and a port-53 flow that ends consults it: when
//! the client's names below the flow's domain look like a tunnel, the flow
//! itself carries the `dns_tunnel` finding, with the domain and the
//! aggregate as evidence. A SIEM (and any per-flow scorer) then sees each
//! member flow flagged, not only a host-level alert.
//!
//! Determinism: a verdict counts only names answered up to
//! [`LOOKAHEAD_US`] after the flow's last packet. A flow ends no earlier
//! than its idle timeout (at least 30 s for UDP by default) after that
//! packet, when the worker has already read every response up to then, so
//! the verdict does not depend on the worker count or batching.
//!
//! Features follow the per-domain aggregates of Nadler, Aminov, Shabtai,
//! "Detection of malicious and low throughput data exfiltration over the
//! DNS protocol" (Computers & Security 80, 2019): distinct subdomains per
//! domain and time, data-carrying labels, volume of name data, record types.

use std::collections::VecDeque;

use hashbrown::HashMap;

use super::{label_encoded, score_name, tunnel_rrtype};
use crate::decode::Addr;
use crate::detect::{Basis, Category, Confidence, Detection, Protocol};
use crate::dissect::dns::RrType;
use crate::dissect::dns::parser::Message;

/// Names answered this long after a flow's last packet still count for it.
pub const LOOKAHEAD_US: u64 = 30_000_000;
/// Names remembered per (client, domain); older ones are dropped first.
const MAX_NAMES: usize = 256;
/// (client, domain) pairs remembered per worker: when full, pairs with
/// nothing in the window go, then (still full) a sixteenth of the pairs in
/// table order (a flood of one-off domains cannot grow the table). The
/// hasher has a fixed seed so that order, and the output, depend only on
/// the input.
const MAX_PAIRS: usize = 4096;
/// Distinct data-carrying names needed besides `min_names` distinct names.
const MIN_DATA_NAMES: usize = 5;
/// Bytes of data-carrying name parts needed: a handful of hashed CDN or
/// ad-frame names (32 hex characters each) stays below.
const MIN_DATA_BYTES: usize = 1000;

const DATA: u8 = 1;
const RAW: u8 = 2;
const ODD_TYPE: u8 = 4;
const PROBE_IODINE: u8 = 8;
const PROBE_DNS2TCP: u8 = 16;

/// Settings of the spread verdict (`[detect.tunnel]`).
#[derive(Debug, Clone, Copy)]
pub struct SpreadSettings {
    /// Whether the verdict runs.
    pub enabled: bool,
    /// Window over which a pair's names count, µs.
    pub window_us: u64,
    /// Distinct names below one domain needed (without a tool's probe).
    pub min_names: u16,
}

impl Default for SpreadSettings {
    fn default() -> Self {
        SpreadSettings {
            enabled: true,
            window_us: 600_000_000,
            min_names: 10,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    time_us: u64,
    name: u32,
    data_len: u16,
    flags: u8,
}

/// Per-worker table of recently answered names per (client, domain).
#[derive(Default)]
pub struct DnsSpread {
    pairs: HashMap<(Addr, u32), VecDeque<Entry>, foldhash::fast::FixedState>,
    /// Responses learnt.
    pub learned: u64,
}

/// Labels of a name, left to right, as borrowed slices (at most 128).
struct Labels<'a> {
    l: [&'a [u8]; 128],
    n: usize,
}

impl<'a> Labels<'a> {
    fn of_text(name: &'a str) -> Self {
        let mut s = Labels {
            l: [&[]; 128],
            n: 0,
        };
        for part in name.split('.') {
            if let Some(slot) = s.l.get_mut(s.n) {
                *slot = part.as_bytes();
                s.n += 1;
            }
        }
        s
    }

    fn of_wire(name: &crate::dissect::dns::Name<'a>) -> Self {
        let mut s = Labels {
            l: [&[]; 128],
            n: 0,
        };
        name.for_each_label(|l| {
            if let Some(slot) = s.l.get_mut(s.n) {
                *slot = l;
                s.n += 1;
            }
        });
        s
    }

    fn get(&self) -> &[&'a [u8]] {
        &self.l[..self.n]
    }
}

/// How many trailing labels form the registered domain, approximated as in
/// the correlation stage (`correlate::dns::split_registered`): two, or
/// three under a two-letter TLD whose second level is a common public
/// suffix (`co.uk`, `com.au`). `None` when the name has no label below it,
/// is a reverse-mapping name (`arpa`: PTR sweeps are not tunnels) or has
/// an empty label.
fn domain_labels(labels: &[&[u8]]) -> Option<usize> {
    let n = labels.len();
    if n < 3 || labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let tld = labels[n - 1];
    if tld.eq_ignore_ascii_case(b"arpa") || tld.eq_ignore_ascii_case(b"local") {
        return None;
    }
    let sld = labels[n - 2];
    let suffix_like = tld.len() == 2
        && (sld.len() == 2
            || [&b"co"[..], b"com", b"net", b"org", b"gov", b"ac", b"edu"]
                .iter()
                .any(|s| sld.eq_ignore_ascii_case(s)));
    let keep = if suffix_like { 3 } else { 2 };
    (n > keep).then_some(keep)
}

fn domain_hash(labels: &[&[u8]], keep: usize) -> u32 {
    labels[labels.len() - keep..]
        .iter()
        .fold(0x811c_9dc5u32, |h, l| super::fnv(h ^ 0x2e, l))
}

/// iodine's version probe (its client's first query, `send_version` in
/// iodine's client.c): `v` followed by its base32 (alphabet `a-z0-5`) of the
/// 4-byte protocol version 0x000005xx and a 2-byte seed: 11 characters
/// starting `vaaaak`. Seen in every iodine capture of captures/recorded/.
fn iodine_version_probe(label: &[u8]) -> bool {
    label.len() == 11
        && label[..6].eq_ignore_ascii_case(b"vaaaak")
        && label[6..]
            .iter()
            .all(|b| b.is_ascii_lowercase() || (b'0'..=b'5').contains(b))
}

/// dns2tcp's control labels (`=auth`, `=connect`, `=resource` before the
/// domain, dns2tcp's client source): `=` is not a host-name character.
fn dns2tcp_command(label: &[u8]) -> bool {
    [&b"=auth"[..], b"=connect", b"=resource"]
        .iter()
        .any(|c| label.eq_ignore_ascii_case(c))
}

impl DnsSpread {
    /// Pairs held.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when no pair is held.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Learns the first question of one DNS message: a query from
    /// `client`, or a response sent to it (a name seen both ways counts
    /// once: names are counted by hash).
    pub fn learn(&mut self, client: Addr, msg: &[u8], time_us: u64, s: &SpreadSettings) {
        if !s.enabled {
            return;
        }
        let Ok(m) = Message::parse(msg) else {
            return;
        };
        if m.header.flags.opcode() != 0 {
            return;
        }
        let Some(q) = m.questions().next() else {
            return;
        };
        let labels = Labels::of_wire(&q.name);
        let Some(keep) = domain_labels(labels.get()) else {
            return;
        };
        let key = (client, domain_hash(labels.get(), keep));
        let score = score_name(&q.name);
        let data_part = &labels.get()[..labels.n - keep];
        let mut flags = 0u8;
        // Data-carrying: an encoded label, raw bytes, a long data part, or
        // (shorter exfiltration chunks) a data part of 16+ bytes in one
        // label that passes the encoding test at its own length.
        let short_encoded = data_part.iter().any(|l| l.len() >= 16 && short_encoded(l));
        if score.encoded || score.raw_bytes || score.long || short_encoded {
            flags |= DATA;
        }
        if score.raw_bytes {
            flags |= RAW;
        }
        if tunnel_rrtype(q.qtype) || q.qtype == RrType(25) {
            flags |= ODD_TYPE;
        }
        if data_part.first().is_some_and(|l| iodine_version_probe(l)) {
            flags |= PROBE_IODINE;
        }
        if data_part.iter().any(|l| dns2tcp_command(l)) {
            flags |= PROBE_DNS2TCP;
        }
        let data_len = data_part.iter().map(|l| l.len() + 1).sum::<usize>();
        let oldest = time_us.saturating_sub(s.window_us + 2 * LOOKAHEAD_US);
        if self.pairs.len() >= MAX_PAIRS && !self.pairs.contains_key(&key) {
            self.pairs
                .retain(|_, v| v.back().is_some_and(|e| e.time_us >= oldest));
            if self.pairs.len() >= MAX_PAIRS {
                let drop: Vec<(Addr, u32)> =
                    self.pairs.keys().take(MAX_PAIRS / 16).copied().collect();
                for k in drop {
                    self.pairs.remove(&k);
                }
            }
        }
        let names = self.pairs.entry(key).or_default();
        while names.front().is_some_and(|e| e.time_us < oldest) || names.len() >= MAX_NAMES {
            names.pop_front();
        }
        names.push_back(Entry {
            time_us,
            name: score.name_hash,
            data_len: data_len.min(usize::from(u16::MAX)) as u16,
            flags,
        });
        self.learned += 1;
    }

    /// The finding for a port-53 flow from `client` that asked `qname`
    /// (escaped presentation form) and whose last packet was at
    /// `last_us`, when the client's names below that domain look like a
    /// tunnel.
    pub fn verdict(
        &self,
        client: Addr,
        qname: &str,
        last_us: u64,
        s: &SpreadSettings,
    ) -> Option<Detection> {
        if !s.enabled {
            return None;
        }
        let labels = Labels::of_text(qname);
        let keep = domain_labels(labels.get())?;
        let names = self.pairs.get(&(client, domain_hash(labels.get(), keep)))?;
        let until = last_us.saturating_add(LOOKAHEAD_US);
        let from = until.saturating_sub(s.window_us);
        let mut window = [(0u32, 0u16, 0u8); MAX_NAMES];
        let mut n = 0usize;
        let (mut odd, mut raw, mut probes) = (0usize, 0usize, 0u8);
        for e in names
            .iter()
            .filter(|e| e.time_us >= from && e.time_us <= until)
        {
            if let Some(slot) = window.get_mut(n) {
                *slot = (e.name, e.data_len, e.flags);
                n += 1;
            }
            odd += usize::from(e.flags & ODD_TYPE != 0);
            raw += usize::from(e.flags & RAW != 0);
            probes |= e.flags & (PROBE_IODINE | PROBE_DNS2TCP);
        }
        if n == 0 {
            return None;
        }
        let window = &mut window[..n];
        window.sort_unstable_by_key(|e| e.0);
        let (mut distinct, mut data, mut data_bytes) = (0usize, 0usize, 0usize);
        let mut prev = None;
        for &(h, len, flags) in window.iter() {
            if prev == Some(h) {
                continue;
            }
            prev = Some(h);
            distinct += 1;
            if flags & DATA != 0 {
                data += 1;
                data_bytes += usize::from(len);
            }
        }
        let spread = distinct >= usize::from(s.min_names)
            && data >= MIN_DATA_NAMES
            && data * 4 >= distinct
            && data_bytes >= MIN_DATA_BYTES;
        if !spread && probes == 0 {
            return None;
        }
        let strong = (data * 2 >= distinct && data >= 20) || raw >= 3 || odd * 2 >= n;
        let confidence = if (spread && (strong || probes != 0)) || (probes != 0 && data >= 2) {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let domain_start = labels.get()[..labels.n - keep]
            .iter()
            .map(|l| l.len() + 1)
            .sum::<usize>();
        let domain = qname.get(domain_start..).unwrap_or(qname);
        let probe = match probes {
            0 => None,
            p if p & PROBE_IODINE != 0 => Some("iodine version probe"),
            _ => Some("dns2tcp command label"),
        };
        let reason = match probe {
            Some(p) => format!(
                "DNS tunnel below {domain}: {p} from this client, {distinct} distinct names in the window"
            ),
            None => format!(
                "DNS tunnel spread over many flows: {distinct} distinct names below {domain} from this client \
                 within {} s, {data} of them carrying encoded data ({data_bytes} bytes of names)",
                s.window_us / 1_000_000
            ),
        };
        let mut d = Detection::new(
            Category::Tunnel,
            Protocol::DnsTunnel,
            confidence,
            Basis::Behaviour,
            reason,
        )
        .with("domain", domain)
        .with("spread_names", distinct)
        .with("spread_data_names", data)
        .with("spread_data_bytes", data_bytes)
        .with("spread_tunnel_rrtype_queries", odd)
        .with("spread_window_s", s.window_us / 1_000_000);
        if let Some(p) = probe {
            d = d.with("handshake", p);
        }
        Some(d)
    }
}

/// The encoded-label test for chunks of 16 to 23 bytes (short exfiltration
/// chunks): one alphabet, letters and digits mixed throughout. Pure hex
/// with ≥ 8 distinct symbols, or ≥ 3 letter/digit transitions with ≥ 10
/// distinct symbols and no hyphen. Words with a trailing number fail.
fn short_encoded(l: &[u8]) -> bool {
    if l.len() >= 24 {
        return label_encoded(l);
    }
    if !l.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let mut seen = 0u128;
    for &b in l {
        seen |= 1u128 << (b.to_ascii_lowercase() & 127);
    }
    let distinct = seen.count_ones();
    let digits = l.iter().filter(|b| b.is_ascii_digit()).count();
    let letters = l.len() - digits;
    let transitions = l
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    if l.iter().all(u8::is_ascii_hexdigit) && digits > 0 && letters > 0 {
        return distinct >= 8 && transitions >= 3;
    }
    distinct >= 10 && digits >= 2 && letters >= 6 && transitions >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_response(name: &str, qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    fn client() -> Addr {
        Addr::v4([10, 0, 0, 2])
    }

    #[test]
    fn encoded_names_below_one_domain_flag_each_flow() {
        let s = SpreadSettings::default();
        let mut t = DnsSpread::default();
        let mut last = String::new();
        for i in 0..30u64 {
            let label: String = (0..40)
                .map(|j| {
                    let x = (i * 7919 + j * 104_729) % 32;
                    b"abcdefghijklmnopqrstuvwxyz234567"[x as usize] as char
                })
                .collect();
            last = format!("{i}.{label}.x.exfil.example");
            t.learn(client(), &query_response(&last, 1), i * 100_000, &s);
        }
        let d = t.verdict(client(), &last, 3_000_000, &s).expect("flagged");
        assert_eq!(d.protocol, Protocol::DnsTunnel);
        assert!(d.confidence >= Confidence::Medium);
        assert_eq!(d.evidence.get("domain"), Some("exfil.example"));
        // Another client, or a name elsewhere, is not.
        assert!(
            t.verdict(Addr::v4([10, 0, 0, 3]), &last, 3_000_000, &s)
                .is_none()
        );
        assert!(
            t.verdict(client(), "www.other.example", 3_000_000, &s)
                .is_none()
        );
        // Names answered after the look-ahead, or before the window, do
        // not count.
        let later = 3_000_000 + LOOKAHEAD_US + 1;
        t.learn(client(), &query_response("1.a.later.example", 1), later, &s);
        assert!(t.verdict(client(), "1.a.later.example", 0, &s).is_none());
        assert!(
            t.verdict(client(), &last, 3_000_000 + s.window_us + LOOKAHEAD_US, &s)
                .is_none()
        );
    }

    #[test]
    fn ordinary_and_cdn_names_do_not_flag() {
        let s = SpreadSettings::default();
        let mut t = DnsSpread::default();
        for i in 0..200u64 {
            let names = [
                format!("e{}.dscb.akamaiedge.net", 1000 + i),
                format!("www{i}.example.com"),
                format!(
                    "{:032x}.safeframe.googlesyndication.com",
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128 * 31
                ),
                format!("{i}.2.0.192.in-addr.arpa"),
            ];
            for n in &names {
                t.learn(client(), &query_response(n, 1), i * 1_000_000, &s);
            }
        }
        for n in [
            "e1100.dscb.akamaiedge.net",
            "www5.example.com",
            "5.2.0.192.in-addr.arpa",
        ] {
            assert!(t.verdict(client(), n, 100_000_000, &s).is_none(), "{n}");
        }
    }

    #[test]
    fn tool_probes_mark_the_domain() {
        let s = SpreadSettings::default();
        let mut t = DnsSpread::default();
        t.learn(
            client(),
            &query_response("vaaaakarqn2.t.tun.example", 10),
            0,
            &s,
        );
        let d = t
            .verdict(client(), "yrbmdo.t.tun.example", 0, &s)
            .expect("probe");
        assert_eq!(d.evidence.get("handshake"), Some("iodine version probe"));
        t.learn(
            client(),
            &query_response("AAAAANnKAA.=auth.d.other.example", 16),
            0,
            &s,
        );
        assert!(
            t.verdict(client(), "AQgAAAABBA.d.other.example", 0, &s)
                .is_some()
        );
        assert!(!iodine_version_probe(b"vaaaakarqn"));
        assert!(!iodine_version_probe(b"www-example"));
    }

    #[test]
    fn bounded_per_pair() {
        let s = SpreadSettings::default();
        let mut t = DnsSpread::default();
        for i in 0..10_000u64 {
            t.learn(
                client(),
                &query_response(&format!("n{i}.a.example"), 1),
                i,
                &s,
            );
        }
        assert_eq!(t.len(), 1);
        assert!(t.pairs.iter().all(|(_, v)| v.len() <= MAX_NAMES));
        for i in 0..(MAX_PAIRS as u64 * 2) {
            t.learn(
                client(),
                &query_response(&format!("a.d{i}.example"), 1),
                1,
                &s,
            );
        }
        assert!(t.len() <= MAX_PAIRS);
    }
}
