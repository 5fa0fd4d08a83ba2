//! Findings remembered between flows of the same host pair, so a flow that
//! shows nothing by itself can be tied to a sibling that did: tinc's UDP data
//! channel beside its TCP meta connection, AnyConnect's TLS (CSTP) channel
//! beside its DTLS channel.
//!
//! Keyed by the unordered address pair, which is exactly what the reader
//! shards on, so every flow between two hosts meets the same worker's cache
//! in capture order: the result does not depend on the worker count.

use super::{Category, Confidence, Detection};
use crate::capture::Timestamp;
use crate::decode::Addr;
use hashbrown::HashMap;
use std::collections::VecDeque;

/// A confident finding of an earlier flow between the same two hosts.
#[derive(Clone, Debug, PartialEq)]
pub struct Related {
    /// Its category.
    pub category: Category,
    /// Its protocol.
    pub protocol: crate::detect::Protocol,
    /// Its transport (6 TCP, 17 UDP, ...).
    pub l4: crate::decode::IpProto,
    /// Its server address.
    pub server: Addr,
    /// Its server port.
    pub server_port: u16,
    /// When it was found.
    pub at: Timestamp,
    /// That flow's id (evidence for the analyst).
    pub flow_id: u64,
}

/// Entries remembered per host pair.
const PER_PAIR: usize = 4;

/// The per-worker cache.
#[derive(Debug)]
pub struct RelatedCache {
    capacity: usize,
    map: HashMap<(Addr, Addr), Vec<Related>, foldhash::fast::RandomState>,
    order: VecDeque<(Addr, Addr)>,
    /// Host pairs evicted because the cache was full.
    pub evictions: u64,
}

fn pair(a: Addr, b: Addr) -> (Addr, Addr) {
    if a <= b { (a, b) } else { (b, a) }
}

impl RelatedCache {
    /// An empty cache for at most `capacity` host pairs.
    pub fn new(capacity: usize) -> Self {
        RelatedCache {
            capacity,
            map: HashMap::default(),
            order: VecDeque::new(),
            evictions: 0,
        }
    }

    /// Remembers the confident (high or certain) findings of a flow.
    #[allow(clippy::too_many_arguments)]
    pub fn remember(
        &mut self,
        client: Addr,
        server: Addr,
        server_port: u16,
        l4: crate::decode::IpProto,
        flow_id: u64,
        at: Timestamp,
        ds: &[Detection],
    ) {
        if self.capacity == 0 {
            return;
        }
        let key = pair(client, server);
        for d in ds.iter().filter(|d| d.confidence >= Confidence::High) {
            let entry = Related {
                category: d.category,
                protocol: d.protocol,
                l4,
                server,
                server_port,
                at,
                flow_id,
            };
            let list = match self.map.get_mut(&key) {
                Some(l) => l,
                None => {
                    if self.map.len() >= self.capacity
                        && let Some(old) = self.order.pop_front()
                    {
                        self.map.remove(&old);
                        self.evictions += 1;
                    }
                    self.order.push_back(key);
                    self.map.entry(key).or_default()
                }
            };
            if let Some(e) = list.iter_mut().find(|e| {
                e.protocol == entry.protocol && e.l4 == l4 && e.server_port == server_port
            }) {
                *e = entry;
            } else {
                if list.len() >= PER_PAIR {
                    list.remove(0);
                }
                list.push(entry);
            }
        }
    }

    /// Findings of other flows between these two hosts.
    pub fn lookup(&self, a: Addr, b: Addr) -> &[Related] {
        self.map.get(&pair(a, b)).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Basis, Protocol};

    #[test]
    fn remembers_confident_findings_per_host_pair() {
        let mut c = RelatedCache::new(1);
        let a = Addr::v4([10, 0, 0, 1]);
        let b = Addr::v4([10, 0, 0, 2]);
        let sure = Detection::new(
            Category::Vpn,
            Protocol::Tinc,
            Confidence::Certain,
            Basis::Structure,
            "x",
        );
        let weak = Detection::new(
            Category::Vpn,
            Protocol::OpenVpn,
            Confidence::Medium,
            Basis::Structure,
            "x",
        );
        c.remember(
            a,
            b,
            655,
            crate::decode::IpProto::TCP,
            7,
            Timestamp(1),
            &[sure, weak],
        );
        let r = c.lookup(b, a);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].protocol.name(), "tinc");
        let d = Addr::v4([10, 0, 0, 3]);
        c.remember(
            a,
            d,
            655,
            crate::decode::IpProto::TCP,
            8,
            Timestamp(2),
            &[Detection::new(
                Category::Vpn,
                Protocol::Tinc,
                Confidence::High,
                Basis::Structure,
                "x",
            )],
        );
        assert_eq!(c.evictions, 1);
        assert!(c.lookup(a, b).is_empty());
    }
}
