//! DNS tunnelling/exfiltration spread over many one-query flows: no single
//! flow shows it, the aggregate per (client, registered domain) does —
//! many distinct names below one domain, with random-looking or long
//! labels, or tunnel-typical query types.

use std::collections::VecDeque;
use std::net::IpAddr;

use hashbrown::HashMap;

use super::config::DnsConfig;
use super::lru::Lru;
use super::time::US_PER_S;

/// Approximates the registrable domain: the last two labels, or the last
/// three when the TLD is two letters and the second level is itself a
/// common public suffix (two letters, or `co`, `com`, `net`, `org`, `gov`,
/// `ac`, `edu`). Returns (registered domain, subdomain part), or `None`
/// when there is no subdomain part.
pub fn split_registered(name: &str) -> Option<(&str, &str)> {
    let labels: Vec<&str> = name.split('.').collect();
    let n = labels.len();
    if n < 2 || labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let tld = labels[n - 1];
    let sld = labels[n - 2];
    let suffix_like = tld.len() == 2
        && (sld.len() == 2 || matches!(sld, "co" | "com" | "net" | "org" | "gov" | "ac" | "edu"));
    let keep = if suffix_like { 3 } else { 2 };
    if n <= keep {
        return None;
    }
    // Byte offset of the first kept label.
    let sub_len: usize = labels[..n - keep].iter().map(|l| l.len() + 1).sum();
    let sub = name.get(..sub_len.saturating_sub(1))?;
    let reg = name.get(sub_len..)?;
    Some((reg, sub))
}

/// Shannon entropy in bits per character of the subdomain part (dots
/// excluded).
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes().filter(|b| *b != b'.') {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// FNV-1a: a stable 64-bit name hash (the same across runs).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct NameEntry {
    time_us: u64,
    hash: u64,
    len: u16,
    entropy: f32,
    unusual: bool,
    response_bytes: u64,
    flow_id: u64,
}

#[derive(Default)]
struct DomainAgg {
    names: VecDeque<NameEntry>,
    distinct: HashMap<u64, u32, foldhash::fast::RandomState>,
    sum_len: u64,
    sum_entropy: f64,
    unusual: u64,
    response_bytes: u64,
    evidence: VecDeque<(u64, Option<String>)>,
    rrtypes: VecDeque<String>,
}

impl DomainAgg {
    fn remove_front(&mut self) {
        if let Some(e) = self.names.pop_front() {
            if let Some(c) = self.distinct.get_mut(&e.hash) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.distinct.remove(&e.hash);
                }
            }
            self.sum_len = self.sum_len.saturating_sub(u64::from(e.len));
            self.sum_entropy = (self.sum_entropy - f64::from(e.entropy)).max(0.0);
            self.unusual = self.unusual.saturating_sub(u64::from(e.unusual));
            self.response_bytes = self.response_bytes.saturating_sub(e.response_bytes);
        }
    }
}

/// A DNS spread that crossed the thresholds, for the client host.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsSpreadHit {
    /// The registered domain.
    pub domain: String,
    /// Plain-words reason with the measured values.
    pub reason: String,
    /// Evidence flows (most recent, capped).
    pub flow_ids: Vec<u64>,
    /// Evidence community ids (most recent, capped).
    pub community_ids: Vec<String>,
}

/// What one DNS observation did to the aggregate's bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsEffect {
    /// A (client, domain) pair was evicted to make room.
    pub evicted: bool,
    /// The oldest name of the pair was dropped by its cap.
    pub truncated: bool,
}

/// One DNS question, as the spread tracker needs it.
pub struct DnsQuery<'a> {
    /// Client address.
    pub client: IpAddr,
    /// Question name (lower case, no trailing dot).
    pub name: &'a str,
    /// QTYPE mnemonic.
    pub rrtype: Option<&'a str>,
    /// Response payload bytes, when a response was seen.
    pub response_bytes: Option<u64>,
    /// Capture time, µs.
    pub time_us: u64,
    /// Flow id.
    pub flow_id: u64,
    /// Community id.
    pub community_id: Option<&'a str>,
}

/// Aggregates per (client, registered domain) over a sliding window,
/// bounded by `max_domains` pairs × `max_names_per_domain` names.
pub struct DnsSpread {
    pairs: Lru<(IpAddr, String), DomainAgg>,
}

impl DnsSpread {
    /// An empty tracker sized by `cfg`.
    pub fn new(cfg: &DnsConfig) -> Self {
        DnsSpread {
            pairs: Lru::new(cfg.max_domains),
        }
    }

    /// Pairs tracked.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when no pair is tracked.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Adds one question; returns a hit when the pair is over the
    /// thresholds after it.
    pub fn observe(
        &mut self,
        cfg: &DnsConfig,
        max_evidence: usize,
        q: &DnsQuery<'_>,
    ) -> (Option<DnsSpreadHit>, DnsEffect) {
        let mut effect = DnsEffect::default();
        let Some((domain, sub)) = split_registered(q.name) else {
            return (None, effect);
        };
        let (agg, evicted) = self
            .pairs
            .touch_or_insert_with(&(q.client, domain.to_owned()), DomainAgg::default);
        effect.evicted = evicted.is_some();
        let cutoff = q
            .time_us
            .saturating_sub(cfg.window_s.saturating_mul(US_PER_S));
        while agg.names.front().is_some_and(|e| e.time_us < cutoff) {
            agg.remove_front();
        }
        // An alert and the flow record of one query count once.
        if agg
            .names
            .iter()
            .rev()
            .take(4)
            .any(|e| e.flow_id == q.flow_id)
        {
            return (None, effect);
        }
        if agg.names.len() >= cfg.max_names_per_domain {
            agg.remove_front();
            effect.truncated = true;
        }
        let rrtype = q.rrtype.unwrap_or("");
        let unusual = cfg
            .unusual_rrtypes
            .iter()
            .any(|t| t.eq_ignore_ascii_case(rrtype));
        let e = NameEntry {
            time_us: q.time_us,
            hash: fnv1a(sub),
            len: u16::try_from(sub.len()).unwrap_or(u16::MAX),
            entropy: entropy(sub) as f32,
            unusual,
            response_bytes: q.response_bytes.unwrap_or(0),
            flow_id: q.flow_id,
        };
        *agg.distinct.entry(e.hash).or_insert(0) += 1;
        agg.sum_len += u64::from(e.len);
        agg.sum_entropy += f64::from(e.entropy);
        agg.unusual += u64::from(e.unusual);
        agg.response_bytes = agg.response_bytes.saturating_add(e.response_bytes);
        agg.names.push_back(e);
        if !agg.evidence.iter().any(|(f, _)| *f == q.flow_id) {
            if agg.evidence.len() >= max_evidence {
                agg.evidence.pop_front();
            }
            agg.evidence
                .push_back((q.flow_id, q.community_id.map(str::to_owned)));
        }
        if !rrtype.is_empty() && !agg.rrtypes.iter().any(|t| t == rrtype) {
            if agg.rrtypes.len() >= 8 {
                agg.rrtypes.pop_front();
            }
            agg.rrtypes.push_back(rrtype.to_owned());
        }

        let n = agg.names.len() as f64;
        let distinct = agg.distinct.len();
        let mean_entropy = agg.sum_entropy / n;
        let mean_len = agg.sum_len as f64 / n;
        let share = agg.unusual as f64 / n;
        if distinct < cfg.min_distinct
            || !(mean_entropy >= cfg.min_entropy
                || mean_len >= cfg.min_mean_len
                || share >= cfg.unusual_share)
        {
            return (None, effect);
        }
        let mut types: Vec<&str> = agg.rrtypes.iter().map(String::as_str).collect();
        types.sort_unstable();
        let reason = format!(
            "{distinct} distinct names below {domain} in {} s from one client ({} queries, mean subdomain {mean_len:.0} chars, \
             {mean_entropy:.2} bits/char, {:.0}% of type {}; types {}; {} response bytes)",
            cfg.window_s,
            agg.names.len(),
            share * 100.0,
            cfg.unusual_rrtypes.join("/"),
            types.join(","),
            agg.response_bytes
        );
        let hit = DnsSpreadHit {
            domain: domain.to_owned(),
            reason,
            flow_ids: agg.evidence.iter().map(|(f, _)| *f).collect(),
            community_ids: agg.evidence.iter().filter_map(|(_, c)| c.clone()).collect(),
        };
        (Some(hit), effect)
    }

    /// Drops pairs with nothing newer than `cutoff_us`; returns how many.
    pub fn expire(&mut self, cutoff_us: u64) -> usize {
        self.pairs
            .retain(|_, agg| agg.names.back().is_some_and(|e| e.time_us >= cutoff_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domain_approximation() {
        assert_eq!(
            split_registered("a.b.example.com"),
            Some(("example.com", "a.b"))
        );
        assert_eq!(split_registered("x.bbc.co.uk"), Some(("bbc.co.uk", "x")));
        assert_eq!(split_registered("x.foo.com.au"), Some(("foo.com.au", "x")));
        assert_eq!(
            split_registered("yrbuub.t.gateward.test"),
            Some(("gateward.test", "yrbuub.t"))
        );
        assert_eq!(split_registered("example.com"), None);
        assert_eq!(split_registered("bbc.co.uk"), None);
        assert_eq!(split_registered("a..com"), None);
        assert_eq!(split_registered(""), None);
    }

    #[test]
    fn entropy_of_random_and_repeated_labels() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
        assert!(entropy("mzxw6ytboi3dqnrqgezdgnbvgy3tqojq") > 3.5);
    }

    #[test]
    fn ordinary_lookups_do_not_fire_and_tunnels_do() {
        let cfg = DnsConfig::default();
        let mut t = DnsSpread::new(&cfg);
        let client: IpAddr = "10.0.0.2".parse().expect("ip");
        // 200 lookups of the same few names: not a spread.
        for i in 0..200u64 {
            let name = ["www.example.com", "mail.example.com"][(i % 2) as usize];
            let q = DnsQuery {
                client,
                name,
                rrtype: Some("A"),
                response_bytes: Some(60),
                time_us: i * US_PER_S,
                flow_id: i,
                community_id: None,
            };
            assert!(t.observe(&cfg, 8, &q).0.is_none());
        }
        let mut fired = None;
        for i in 0..200u64 {
            let name = format!(
                "{:016x}{:016x}.t.tunnel.example.net",
                fnv1a(&i.to_string()),
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            );
            let q = DnsQuery {
                client,
                name: &name,
                rrtype: Some("TXT"),
                response_bytes: Some(200),
                time_us: (300 + i) * US_PER_S,
                flow_id: 1000 + i,
                community_id: Some("1:x"),
            };
            if let (Some(h), _) = t.observe(&cfg, 8, &q) {
                fired.get_or_insert(i);
                assert_eq!(h.domain, "example.net");
                assert_eq!(h.flow_ids.len(), 8);
            }
        }
        assert_eq!(fired, Some(cfg.min_distinct as u64 - 1));
        assert_eq!(t.len(), 2);
        assert_eq!(t.expire(1_000 * US_PER_S), 2);
    }
}
