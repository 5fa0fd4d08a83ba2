//! Per-internal-host state over the sliding window: the sessions a host
//! took part in, its client fingerprints, its hours of activity and the
//! cross-flow findings attributed to it. Every list is capped; what a cap
//! drops is counted by the caller.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use serde::Serialize;

use super::observation::{PeerInfo, RttInfo};
use super::rules::{Rule, RuleHit};
use super::time::US_PER_HOUR;

/// What a host did in a session, from the host's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// The host is the server of a remote-control session (being driven).
    RemoteIn,
    /// The host is the client of a direct remote-control session (driving
    /// something else).
    RemoteOut,
    /// The host runs a relay-style remote-control tool that connects out to
    /// the vendor's relay (can be driven through it).
    RemoteTool,
    /// The host's traffic leaves through a VPN, proxy, tunnel or anonymiser.
    Anonymiser,
    /// The host talked to an address in a sanctioned region.
    Sanctioned,
}

impl SessionKind {
    /// True for sessions in which someone may be driving this host.
    pub fn is_control(self) -> bool {
        matches!(self, SessionKind::RemoteIn | SessionKind::RemoteTool)
    }
}

/// One session of a host, kept for the rules and the report timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Session {
    /// The host's role.
    pub kind: SessionKind,
    /// Detection category (`remote_access`, `vpn`, ...).
    pub category: String,
    /// Tool or protocol (`anydesk`, `openvpn`, ...).
    pub protocol: String,
    /// The other end.
    pub peer: IpAddr,
    /// Port on the server side, when the flow has ports.
    pub server_port: Option<u16>,
    /// Enrichment of the other end.
    pub peer_info: PeerInfo,
    /// The other end is outside `home_net`.
    pub peer_external: bool,
    /// First packet, µs.
    pub start_us: u64,
    /// Last packet, µs.
    pub end_us: u64,
    /// gateward flow id.
    pub flow_id: u64,
    /// Community ID.
    pub community_id: Option<String>,
    /// Remote-session length, seconds.
    pub duration_s: Option<f64>,
    /// A human at the keyboard.
    pub interactive: Option<bool>,
    /// Cross-layer round trips.
    pub rtt: Option<RttInfo>,
    /// The peer is a hosting/VPS address (`hosting` finding).
    pub from_hosting: bool,
    /// The same flow has a VPN/proxy/tunnel finding or the peer is in an
    /// anonymiser feed.
    pub anonymised: bool,
    /// The same flow has a `relay` finding.
    pub relay: bool,
    /// Advisory-named VPN service matched on this flow (`astrill`).
    pub advisory_service: Option<String>,
    /// Feed names of the flow (capped at ingest).
    pub feeds: Vec<String>,
}

/// A cross-flow finding attributed to a host (DNS spread, repeated
/// destination, shared egress), replaced when the same key fires again.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The rule it feeds.
    pub rule: Rule,
    /// What it is about (domain, `ip:port`, prefix).
    pub key: String,
    /// Capture time it last fired, µs.
    pub time_us: u64,
    /// Plain-words explanation.
    pub reason: String,
    /// Evidence flows.
    pub flow_ids: Vec<u64>,
    /// Evidence community ids.
    pub community_ids: Vec<String>,
}

/// Everything kept about one internal host.
#[derive(Clone, Debug)]
pub struct HostState {
    /// The host.
    pub ip: IpAddr,
    /// Sessions in arrival order (oldest first).
    pub sessions: VecDeque<Session>,
    /// Distinct JA4 values seen from the host as client (oldest first).
    pub ja4: VecDeque<String>,
    /// Distinct HASSH values seen from the host as client (oldest first).
    pub hassh: VecDeque<String>,
    /// Last capture time (µs) the host was active in each UTC hour of day.
    pub hour_last_seen: [u64; 24],
    /// Cross-flow findings (oldest first).
    pub findings: VecDeque<Finding>,
    /// First capture time seen, µs.
    pub first_seen_us: u64,
    /// Last capture time seen, µs.
    pub last_seen_us: u64,
    /// Score of the last evaluation.
    pub score: u32,
    /// Rules that made it.
    pub hits: Vec<RuleHit>,
    /// Score at the last alert written.
    pub alerted_score: Option<u32>,
    /// Last alert time per signature id, µs (at most one entry per rule).
    pub last_alert_us: BTreeMap<u32, u64>,
    /// Host alerts written.
    pub alerts: u64,
}

/// What a push into a capped list dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Entries dropped because a cap was reached.
    pub truncated: u64,
}

fn push_distinct(list: &mut VecDeque<String>, v: &str, cap: usize) -> u64 {
    if list.iter().any(|x| x == v) {
        return 0;
    }
    let mut dropped = 0;
    while list.len() >= cap {
        list.pop_front();
        dropped += 1;
    }
    list.push_back(v.to_owned());
    dropped
}

impl HostState {
    /// A host first seen at `now_us`.
    pub fn new(ip: IpAddr, now_us: u64) -> Self {
        HostState {
            ip,
            sessions: VecDeque::new(),
            ja4: VecDeque::new(),
            hassh: VecDeque::new(),
            hour_last_seen: [0; 24],
            findings: VecDeque::new(),
            first_seen_us: now_us,
            last_seen_us: now_us,
            score: 0,
            hits: Vec::new(),
            alerted_score: None,
            last_alert_us: BTreeMap::new(),
            alerts: 0,
        }
    }

    /// Records activity at `us` (for the hours-of-activity profile).
    pub fn seen(&mut self, us: u64) {
        self.last_seen_us = self.last_seen_us.max(us);
        self.first_seen_us = self.first_seen_us.min(us);
        let hour = ((us / US_PER_HOUR) % 24) as usize;
        if let Some(slot) = self.hour_last_seen.get_mut(hour) {
            *slot = (*slot).max(us);
        }
    }

    /// Adds or updates (same flow id and kind: an alert and the flow's end
    /// record, or interim records) a session; returns how many old
    /// sessions the cap dropped.
    pub fn add_session(&mut self, s: Session, cap: usize) -> u64 {
        if let Some(old) = self
            .sessions
            .iter_mut()
            .rev()
            .find(|o| o.flow_id == s.flow_id && o.kind == s.kind && o.protocol == s.protocol)
        {
            let start = old.start_us.min(s.start_us);
            *old = s;
            old.start_us = start;
            return 0;
        }
        let mut dropped = 0;
        while self.sessions.len() >= cap {
            self.sessions.pop_front();
            dropped += 1;
        }
        self.sessions.push_back(s);
        dropped
    }

    /// Records client fingerprints; returns how many old values the caps
    /// dropped.
    pub fn add_fingerprints(&mut self, ja4: Option<&str>, hassh: Option<&str>, cap: usize) -> u64 {
        let mut dropped = 0;
        if let Some(v) = ja4 {
            dropped += push_distinct(&mut self.ja4, v, cap);
        }
        if let Some(v) = hassh {
            dropped += push_distinct(&mut self.hassh, v, cap);
        }
        dropped
    }

    /// Adds or replaces (same rule and key) a cross-flow finding; returns
    /// how many old findings the cap dropped.
    pub fn add_finding(&mut self, f: Finding, cap: usize) -> u64 {
        if let Some(old) = self
            .findings
            .iter_mut()
            .find(|o| o.rule == f.rule && o.key == f.key)
        {
            *old = f;
            return 0;
        }
        let mut dropped = 0;
        while self.findings.len() >= cap {
            self.findings.pop_front();
            dropped += 1;
        }
        self.findings.push_back(f);
        dropped
    }

    /// Drops what ended before `cutoff_us`.
    pub fn prune(&mut self, cutoff_us: u64) {
        self.sessions.retain(|s| s.end_us >= cutoff_us);
        self.findings.retain(|f| f.time_us >= cutoff_us);
    }

    /// UTC hours of day with activity since `cutoff_us`, ascending.
    pub fn active_hours(&self, cutoff_us: u64) -> Vec<u8> {
        (0u8..24)
            .filter(|h| {
                self.hour_last_seen
                    .get(usize::from(*h))
                    .is_some_and(|t| *t >= cutoff_us && *t > 0)
            })
            .collect()
    }

    /// True when nothing worth keeping is left.
    pub fn is_idle(&self) -> bool {
        self.sessions.is_empty() && self.findings.is_empty()
    }
}

#[cfg(test)]
impl Session {
    /// A remote-access session for the tests: an external peer, no ports,
    /// times, enrichment or flags; tests override what they look at.
    pub(crate) fn sample(kind: SessionKind, protocol: &str, peer: &str, flow_id: u64) -> Session {
        Session {
            kind,
            category: "remote_access".into(),
            protocol: protocol.into(),
            peer: peer.parse().expect("ip"),
            server_port: None,
            peer_info: PeerInfo::default(),
            peer_external: true,
            start_us: 0,
            end_us: 0,
            flow_id,
            community_id: None,
            duration_s: None,
            interactive: None,
            rtt: None,
            from_hosting: false,
            anonymised: false,
            relay: false,
            advisory_service: None,
            feeds: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(flow_id: u64, end_us: u64) -> Session {
        Session {
            server_port: Some(3389),
            start_us: end_us.saturating_sub(10),
            end_us,
            ..Session::sample(SessionKind::RemoteIn, "rdp", "203.0.113.5", flow_id)
        }
    }

    #[test]
    fn sessions_are_capped_deduplicated_and_pruned() {
        let mut h = HostState::new("10.0.0.1".parse().expect("ip"), 0);
        let mut dropped = 0;
        for i in 0..10 {
            dropped += h.add_session(session(i, 100 + i), 4);
        }
        assert_eq!((h.sessions.len(), dropped), (4, 6));
        assert_eq!(h.add_session(session(9, 500), 4), 0);
        assert_eq!(h.sessions.len(), 4);
        assert_eq!(h.sessions.back().map(|s| s.end_us), Some(500));
        h.prune(108);
        assert_eq!(h.sessions.len(), 2);
        assert_eq!(h.add_fingerprints(Some("a"), Some("h"), 1), 0);
        assert_eq!(h.add_fingerprints(Some("a"), None, 1), 0);
        assert_eq!(h.add_fingerprints(Some("b"), None, 1), 1);
        h.seen(3 * US_PER_HOUR + 5);
        assert_eq!(h.active_hours(1), vec![3]);
    }
}
