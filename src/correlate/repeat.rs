//! Fully-encrypted/obfuscated flows repeated to one destination: one such
//! flow may be a false positive of the entropy test, the same client
//! coming back again and again to one ip:port is a tunnel endpoint.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::config::RepeatConfig;
use super::lru::Lru;
use super::time::US_PER_S;

/// Destination key: (client, server address, server port).
type Key = (IpAddr, IpAddr, u16);

/// A repeated destination over the threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct RepeatHit {
    /// `ip:port` of the destination.
    pub destination: String,
    /// Plain-words reason.
    pub reason: String,
    /// Evidence flows (most recent, capped).
    pub flow_ids: Vec<u64>,
    /// Evidence community ids (most recent, capped).
    pub community_ids: Vec<String>,
}

/// Tracks flows per destination, bounded by `max_destinations` keys ×
/// `max(min_flows, max_evidence)` flows.
pub struct RepeatTracker {
    keys: Lru<Key, VecDeque<(u64, u64, Option<String>)>>,
}

impl RepeatTracker {
    /// An empty tracker sized by `cfg`.
    pub fn new(cfg: &RepeatConfig) -> Self {
        RepeatTracker {
            keys: Lru::new(cfg.max_destinations),
        }
    }

    /// Destinations tracked.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds one flow (time µs, flow id, community id); returns a hit when
    /// the destination is over the threshold, and whether a key was
    /// evicted.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        cfg: &RepeatConfig,
        max_evidence: usize,
        client: IpAddr,
        server: IpAddr,
        port: u16,
        time_us: u64,
        flow_id: u64,
        community_id: Option<&str>,
        protocol: &str,
    ) -> (Option<RepeatHit>, bool) {
        let (list, evicted) = self
            .keys
            .touch_or_insert_with(&(client, server, port), VecDeque::new);
        let cutoff = time_us.saturating_sub(cfg.window_s.saturating_mul(US_PER_S));
        while list.front().is_some_and(|e| e.0 < cutoff) {
            list.pop_front();
        }
        if !list.iter().any(|e| e.1 == flow_id) {
            if list.len() >= cfg.min_flows.max(max_evidence) {
                list.pop_front();
            }
            list.push_back((time_us, flow_id, community_id.map(str::to_owned)));
        }
        if list.len() < cfg.min_flows {
            return (None, evicted.is_some());
        }
        let destination = match server {
            IpAddr::V4(a) => format!("{a}:{port}"),
            IpAddr::V6(a) => format!("[{a}]:{port}"),
        };
        let skip = list.len().saturating_sub(max_evidence);
        let hit = RepeatHit {
            reason: format!(
                "at least {} fully-encrypted/obfuscated ({protocol}) flows to {destination} within {} s",
                list.len(),
                cfg.window_s
            ),
            destination,
            flow_ids: list.iter().skip(skip).map(|e| e.1).collect(),
            community_ids: list.iter().skip(skip).filter_map(|e| e.2.clone()).collect(),
        };
        (Some(hit), evicted.is_some())
    }

    /// Drops destinations with nothing newer than `cutoff_us`.
    pub fn expire(&mut self, cutoff_us: u64) -> usize {
        self.keys
            .retain(|_, l| l.back().is_some_and(|e| e.0 >= cutoff_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_on_the_nth_flow_only() {
        let cfg = RepeatConfig::default();
        let mut t = RepeatTracker::new(&cfg);
        let c: IpAddr = "10.0.0.3".parse().expect("ip");
        let s: IpAddr = "203.0.113.50".parse().expect("ip");
        for i in 0..4u64 {
            assert!(
                t.observe(&cfg, 8, c, s, 8388, i * US_PER_S, i, None, "shadowsocks")
                    .0
                    .is_none()
            );
        }
        // The same flow again (its alert and its flow record) counts once.
        assert!(
            t.observe(&cfg, 8, c, s, 8388, 4 * US_PER_S, 3, None, "shadowsocks")
                .0
                .is_none()
        );
        let (hit, _) = t.observe(
            &cfg,
            8,
            c,
            s,
            8388,
            5 * US_PER_S,
            4,
            Some("1:a"),
            "shadowsocks",
        );
        let hit = hit.expect("fires");
        assert_eq!(hit.destination, "203.0.113.50:8388");
        assert_eq!(hit.flow_ids, vec![0, 1, 2, 3, 4]);
        // Spread beyond the window: no longer.
        assert!(
            t.observe(
                &cfg,
                8,
                c,
                s,
                8388,
                10_000 * US_PER_S,
                9,
                None,
                "shadowsocks"
            )
            .0
            .is_none()
        );
    }
}
