//! Shared egress: several internal hosts (or several corporate VPN
//! sessions) driven from one outside address or residential prefix at
//! once — the laptop farm seen from the company side.

use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::config::SharedEgressConfig;
use super::lru::Lru;
use super::time::US_PER_S;

/// Who a session from the outside prefix reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    /// An internal host remote-controlled from the prefix.
    Host(IpAddr),
    /// One VPN session (flow id) to a configured concentrator.
    ConcentratorSession(IpAddr, u64),
}

impl Member {
    /// The internal address the finding is attributed to.
    pub fn host(self) -> IpAddr {
        match self {
            Member::Host(h) | Member::ConcentratorSession(h, _) => h,
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    start_us: u64,
    time_us: u64,
    member: Member,
    peer: IpAddr,
    flow_id: u64,
    community_id: Option<String>,
}

/// A prefix over the threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct EgressHit {
    /// The outside prefix (`198.51.100.0/24`).
    pub prefix: String,
    /// Distinct members in the window, sorted.
    pub members: Vec<Member>,
    /// Plain-words reason.
    pub reason: String,
    /// Evidence flows (most recent, capped).
    pub flow_ids: Vec<u64>,
    /// Evidence community ids (most recent, capped).
    pub community_ids: Vec<String>,
}

/// Groups outside addresses to their prefix (`ipv4_prefix`/`ipv6_prefix`).
pub fn prefix_of(cfg: &SharedEgressConfig, ip: IpAddr) -> Option<IpNetwork> {
    let len = match ip {
        IpAddr::V4(_) => cfg.ipv4_prefix,
        IpAddr::V6(_) => cfg.ipv6_prefix,
    };
    let net = IpNetwork::new(ip, len).ok()?;
    IpNetwork::new(net.network(), len).ok()
}

/// Sessions per outside prefix, bounded by `max_prefixes` ×
/// `max_sessions_per_prefix`.
pub struct SharedEgress {
    prefixes: Lru<IpNetwork, VecDeque<Entry>>,
}

/// What one session did to the bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EgressEffect {
    /// A prefix was evicted to make room.
    pub evicted: bool,
    /// The prefix's oldest session was dropped by its cap.
    pub truncated: bool,
}

impl SharedEgress {
    /// An empty index sized by `cfg`.
    pub fn new(cfg: &SharedEgressConfig) -> Self {
        SharedEgress {
            prefixes: Lru::new(cfg.max_prefixes),
        }
    }

    /// Prefixes tracked.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Adds one session (`start_us`..`time_us`) from outside address `peer`;
    /// returns a hit when the prefix reached `min_hosts` distinct members:
    /// hosts within the window, concentrator sessions only when they
    /// overlap in time with the newest concentrator session (concurrent, so
    /// one laptop reconnecting does not count).
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        cfg: &SharedEgressConfig,
        max_evidence: usize,
        peer: IpAddr,
        member: Member,
        start_us: u64,
        time_us: u64,
        flow_id: u64,
        community_id: Option<&str>,
    ) -> (Option<EgressHit>, EgressEffect) {
        let mut effect = EgressEffect::default();
        let Some(prefix) = prefix_of(cfg, peer) else {
            return (None, effect);
        };
        let (list, evicted) = self.prefixes.touch_or_insert_with(&prefix, VecDeque::new);
        effect.evicted = evicted.is_some();
        let cutoff = time_us.saturating_sub(cfg.window_s.saturating_mul(US_PER_S));
        while list.front().is_some_and(|e| e.time_us < cutoff) {
            list.pop_front();
        }
        if let Some(e) = list
            .iter_mut()
            .find(|e| e.flow_id == flow_id && e.member == member)
        {
            e.time_us = e.time_us.max(time_us);
            e.start_us = e.start_us.min(start_us);
        } else {
            if list.len() >= cfg.max_sessions_per_prefix {
                list.pop_front();
                effect.truncated = true;
            }
            list.push_back(Entry {
                start_us: start_us.min(time_us),
                time_us,
                member,
                peer,
                flow_id,
                community_id: community_id.map(str::to_owned),
            });
        }
        let newest_session = list
            .iter()
            .rev()
            .find(|e| matches!(e.member, Member::ConcentratorSession(..)))
            .map(|e| (e.start_us, e.time_us));
        let counted: Vec<&Entry> = list
            .iter()
            .filter(|e| match e.member {
                Member::Host(_) => true,
                Member::ConcentratorSession(..) => {
                    newest_session.is_some_and(|(s, t)| e.start_us <= t && e.time_us >= s)
                }
            })
            .collect();
        let members: BTreeSet<Member> = counted.iter().map(|e| e.member).collect();
        if members.len() < cfg.min_hosts {
            return (None, effect);
        }
        let peers: BTreeSet<IpAddr> = counted.iter().map(|e| e.peer).collect();
        let hosts: BTreeSet<IpAddr> = members.iter().map(|m| m.host()).collect();
        let sessions = members
            .iter()
            .filter(|m| matches!(m, Member::ConcentratorSession(..)))
            .count();
        let controlled = members.len() - sessions;
        let what = match (controlled, sessions) {
            (0, n) => format!("{n} concurrent VPN sessions to concentrator(s)"),
            (h, 0) => format!("{h} internal hosts remote-controlled"),
            (h, n) => {
                format!("{h} internal hosts remote-controlled and {n} concurrent VPN sessions")
            }
        };
        let addr = if peers.len() == 1 {
            peers
                .iter()
                .map(|p| format!("one outside address {p}"))
                .collect::<String>()
        } else {
            format!("{} addresses of one outside prefix {prefix}", peers.len())
        };
        let skip = counted.len().saturating_sub(max_evidence);
        let hit = EgressHit {
            prefix: prefix.to_string(),
            reason: format!(
                "{what} from {addr} within {} s ({})",
                cfg.window_s,
                hosts
                    .iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            members: members.into_iter().collect(),
            flow_ids: counted.iter().skip(skip).map(|e| e.flow_id).collect(),
            community_ids: counted
                .iter()
                .skip(skip)
                .filter_map(|e| e.community_id.clone())
                .collect(),
        };
        (Some(hit), effect)
    }

    /// Drops prefixes with nothing newer than `cutoff_us`.
    pub fn expire(&mut self, cutoff_us: u64) -> usize {
        self.prefixes
            .retain(|_, l| l.back().is_some_and(|e| e.time_us >= cutoff_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_hosts_from_one_slash24_fire() {
        let cfg = SharedEgressConfig::default();
        let mut t = SharedEgress::new(&cfg);
        let h = |s: &str| Member::Host(s.parse().expect("ip"));
        let p = |s: &str| -> IpAddr { s.parse().expect("ip") };
        for (peer, host, start_us, time_us, flow_id) in [
            ("198.51.100.7", "10.0.0.1", 0, 0, 1),
            ("198.51.100.7", "10.0.0.1", 1, 1, 2),
            ("198.51.100.9", "10.0.0.2", 2, 2, 3),
            // Another /24 does not count.
            ("198.51.101.9", "10.0.0.3", 3, 3, 4),
        ] {
            assert!(
                t.observe(&cfg, 8, p(peer), h(host), start_us, time_us, flow_id, None)
                    .0
                    .is_none(),
                "{host} via {peer} at {time_us}"
            );
        }
        let hit = t
            .observe(&cfg, 8, p("198.51.100.200"), h("10.0.0.3"), 4, 4, 5, None)
            .0
            .expect("fires");
        assert_eq!(hit.prefix, "198.51.100.0/24");
        assert_eq!(hit.members.len(), 3);
        assert!(hit.reason.contains("3 internal hosts"), "{}", hit.reason);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn concentrator_sessions_count_only_when_concurrent() {
        let cfg = SharedEgressConfig::default();
        let mut t = SharedEgress::new(&cfg);
        let peer: IpAddr = "198.51.100.7".parse().expect("ip");
        let conc: IpAddr = "192.0.2.10".parse().expect("ip");
        // One laptop reconnecting three times: sequential sessions.
        for i in 0..3u64 {
            let m = Member::ConcentratorSession(conc, i);
            let (hit, _) = t.observe(&cfg, 8, peer, m, i * 100, i * 100 + 50, i, None);
            assert!(hit.is_none());
        }
        // Three laptops at once.
        let mut last = None;
        for i in 10..13u64 {
            let m = Member::ConcentratorSession(conc, i);
            last = t.observe(&cfg, 8, peer, m, 1_000, 2_000 + i, i, None).0;
        }
        let hit = last.expect("fires");
        assert!(
            hit.reason.contains("3 concurrent VPN sessions"),
            "{}",
            hit.reason
        );
        assert_eq!(hit.flow_ids, vec![10, 11, 12]);
    }
}
