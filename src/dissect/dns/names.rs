//! A bounded cache of address → name learned from DNS answers, so a flow to
//! an address carries the name its client resolved (`dns_name`), even when
//! the connection itself shows no name (no SNI, encrypted hello, VPN).
//!
//! Every worker keeps its own copy, fed with every UDP DNS response of the
//! capture in capture order (the reader broadcasts them), so the name a flow
//! gets does not depend on the worker count. Keyed by address only: a name
//! any client resolved names the address for all clients, as in Zeek's and
//! Suricata's DNS-based naming. Entries live for the answer's TTL clamped
//! to `[min_ttl, max_ttl]` of capture time; when full, the oldest entry is
//! evicted and counted.

use super::answers_for_cache;
use crate::capture::Timestamp;
use crate::decode::Addr;
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;

/// Cache limits, from the config's `[dns]` section.
#[derive(Clone, Copy, Debug)]
pub struct NameCacheLimits {
    /// Entries held.
    pub capacity: usize,
    /// Shortest lifetime given to an answer, seconds.
    pub min_ttl: u32,
    /// Longest lifetime, seconds.
    pub max_ttl: u32,
}

struct Entry {
    name: Arc<str>,
    expires: Timestamp,
    seq: u64,
}

/// The per-worker address → name cache.
pub struct NameCache {
    limits: NameCacheLimits,
    map: HashMap<Addr, Entry, foldhash::fast::RandomState>,
    order: VecDeque<(Addr, u64)>,
    seq: u64,
    /// Entries evicted because the cache was full.
    pub evictions: u64,
    /// Answers learned.
    pub learned: u64,
}

impl NameCache {
    /// An empty cache.
    pub fn new(limits: NameCacheLimits) -> Self {
        NameCache {
            limits,
            map: HashMap::default(),
            order: VecDeque::new(),
            seq: 0,
            evictions: 0,
            learned: 0,
        }
    }

    /// Learns the A/AAAA answers of one DNS response message.
    pub fn learn(&mut self, msg: &[u8], ts: Timestamp) {
        if self.limits.capacity == 0 {
            return;
        }
        let mut name = String::new();
        for ans in answers_for_cache(msg) {
            name.clear();
            ans.name.write_escaped(&mut name, true);
            if name.is_empty() {
                continue;
            }
            let ttl = ans.ttl.clamp(self.limits.min_ttl, self.limits.max_ttl) as u64;
            let addr = Addr::from(ans.addr);
            self.seq += 1;
            let expires = Timestamp(ts.0.saturating_add(ttl * 1_000_000));
            let shared: Arc<str> = match self.map.get(&addr) {
                Some(e) if *e.name == *name => e.name.clone(),
                _ => Arc::from(name.as_str()),
            };
            self.map.insert(
                addr,
                Entry {
                    name: shared,
                    expires,
                    seq: self.seq,
                },
            );
            self.order.push_back((addr, self.seq));
            self.learned += 1;
            self.trim();
        }
    }

    fn trim(&mut self) {
        while self.map.len() > self.limits.capacity {
            let Some((addr, seq)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&addr).is_some_and(|e| e.seq == seq) {
                self.map.remove(&addr);
                self.evictions += 1;
            }
        }
        if self.order.len() > self.limits.capacity.saturating_mul(2).max(64) {
            let map = &self.map;
            self.order
                .retain(|(a, s)| map.get(a).is_some_and(|e| e.seq == *s));
        }
    }

    /// The name last resolved to `addr`, if still fresh at `now`.
    #[inline]
    pub fn lookup(&self, addr: &Addr, now: Timestamp) -> Option<Arc<str>> {
        if self.map.is_empty() {
            return None;
        }
        self.map
            .get(addr)
            .filter(|e| e.expires >= now)
            .map(|e| e.name.clone())
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response for `example.com` A 93.184.216.34, TTL 120 (RFC 1035 4.1
    /// layout: header, question, one answer with a compression pointer).
    fn response() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 93, 184, 216, 34]);
        m
    }

    fn limits(capacity: usize) -> NameCacheLimits {
        NameCacheLimits {
            capacity,
            min_ttl: 60,
            max_ttl: 86_400,
        }
    }

    #[test]
    fn learns_and_expires_by_capture_time() {
        let mut c = NameCache::new(limits(8));
        c.learn(&response(), Timestamp(0));
        let a = Addr::v4([93, 184, 216, 34]);
        assert_eq!(
            c.lookup(&a, Timestamp(100_000_000)).as_deref(),
            Some("example.com")
        );
        assert_eq!(c.lookup(&a, Timestamp(121_000_000)), None);
    }

    #[test]
    fn capacity_evicts_oldest_and_counts() {
        let mut c = NameCache::new(limits(1));
        c.learn(&response(), Timestamp(0));
        let mut other = response();
        let n = other.len();
        other[n - 1] = 35;
        c.learn(&other, Timestamp(1));
        assert_eq!(c.len(), 1);
        assert_eq!(c.evictions, 1);
        assert!(
            c.lookup(&Addr::v4([93, 184, 216, 35]), Timestamp(2))
                .is_some()
        );
    }
}
