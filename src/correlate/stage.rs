//! [`Correlator`]: feeds observations into the per-host state and the
//! cross-flow trackers, evaluates the touched hosts and emits host alerts.

use std::net::IpAddr;

use serde::Serialize;

use super::alert::{Decision, HostAlert, decide};
use super::config::{ConfigError, CorrelateConfig};
use super::dns::{DnsQuery, DnsSpread};
use super::egress::{EgressHit, Member, SharedEgress};
use super::host::{Finding, HostState, Session, SessionKind};
use super::lru::Lru;
use super::observation::{ObsDetection, Observation, PeerInfo};
use super::repeat::RepeatTracker;
use super::rules::{self, Rule};
use super::summary::{HostSummary, summarize};
use super::time::US_PER_S;

/// Counters of the stage, for the run summary and metrics: everything it
/// dropped, evicted, suppressed or held back is counted here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CorrelateStats {
    /// Observations fed.
    pub observations: u64,
    /// Observations without both addresses, or with no internal host.
    pub ignored: u64,
    /// Observations whose end time was before the stage's clock.
    pub out_of_order: u64,
    /// Detections below `min_confidence`, ignored.
    pub low_confidence_ignored: u64,
    /// Host sides skipped because the host is in `exempt_hosts`.
    pub exempt_skipped: u64,
    /// Remote-control or VPN sessions an `allow` rule approved.
    pub suppressed_allowed_tool: u64,
    /// VPN/proxy/tunnel flows to a corporate concentrator, not scored.
    pub suppressed_concentrator: u64,
    /// Hosts tracked now.
    pub hosts_tracked: u64,
    /// Most hosts tracked at once.
    pub hosts_peak: u64,
    /// Hosts evicted (least recently seen) to stay within `max_hosts`.
    pub hosts_evicted: u64,
    /// Hosts dropped because nothing of theirs is left in the window.
    pub hosts_expired: u64,
    /// Sessions dropped by `max_sessions_per_host`.
    pub sessions_truncated: u64,
    /// Fingerprints dropped by `max_fingerprints_per_host`.
    pub fingerprints_truncated: u64,
    /// Findings dropped by `max_findings_per_host`.
    pub findings_truncated: u64,
    /// (client, domain) pairs evicted by `dns.max_domains`.
    pub dns_pairs_evicted: u64,
    /// Names dropped by `dns.max_names_per_domain`.
    pub dns_names_truncated: u64,
    /// Destinations evicted by `repeat.max_destinations`.
    pub repeat_evicted: u64,
    /// Prefixes evicted by `shared_egress.max_prefixes`.
    pub egress_prefixes_evicted: u64,
    /// Sessions dropped by `shared_egress.max_sessions_per_prefix`.
    pub egress_sessions_truncated: u64,
    /// Host alerts written.
    pub alerts: u64,
    /// Host alerts held back by the rate limit.
    pub alerts_held_back: u64,
    /// Host sides of observations left to the consumer that owns the host
    /// (`gateward correlate` in a consumer group).
    pub not_owned: u64,
}

/// The correlation stage. Feed [`Observation`]s in capture-time order with
/// [`Correlator::observe`]; call [`Correlator::advance`] when capture time
/// moves on without observations, and [`Correlator::finish`] at the end.
pub struct Correlator {
    cfg: CorrelateConfig,
    hosts: Lru<IpAddr, HostState>,
    dns: DnsSpread,
    repeat: RepeatTracker,
    egress: SharedEgress,
    now_us: u64,
    last_sweep_us: u64,
    stats: CorrelateStats,
    touched: Vec<IpAddr>,
    /// Which internal hosts this stage keeps (all when `None`): one
    /// consumer of a group owns the hosts of its partitions.
    owner: Option<Owner>,
}

/// Decides whether this stage owns an internal host.
pub type Owner = Box<dyn Fn(IpAddr) -> bool + Send>;

/// The host's state, created (and the LRU evicting) as needed.
fn host_mut<'a>(
    hosts: &'a mut Lru<IpAddr, HostState>,
    stats: &mut CorrelateStats,
    ip: IpAddr,
    t: u64,
) -> &'a mut HostState {
    let (h, evicted) = hosts.touch_or_insert_with(&ip, || HostState::new(ip, t));
    if evicted.is_some() {
        stats.hosts_evicted += 1;
    }
    h
}

/// The advisory-named VPN service a detection is about: its protocol is
/// the name (`astrill`), its `service` evidence contains it, or its `name`
/// / `cert_name` evidence (the DNS or certificate name the names detector
/// matched) has it as a whole word (`*.astrill.com`, `O=Astrill ...`).
fn advisory_service(names: &[String], d: &ObsDetection) -> Option<String> {
    let word = |text: &str, name: &str| {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w.eq_ignore_ascii_case(name))
    };
    names
        .iter()
        .filter(|n| !n.is_empty())
        .find(|n| {
            let n = n.as_str();
            d.protocol.eq_ignore_ascii_case(n)
                || d.protocol.split('_').any(|w| w.eq_ignore_ascii_case(n))
                || d.evidence
                    .get("service")
                    .is_some_and(|s| s.to_ascii_lowercase().contains(&n.to_ascii_lowercase()))
                || ["name", "cert_name"]
                    .iter()
                    .any(|k| d.evidence.get(*k).is_some_and(|v| word(v, n)))
        })
        .cloned()
}

/// What one flow says, independent of which host is looked at.
struct FlowFlags<'a> {
    dets: Vec<&'a ObsDetection>,
    hosting: bool,
    relay: bool,
    anonymised: bool,
}

impl Correlator {
    /// A stage with `cfg`, refused when the config does not validate.
    pub fn new(cfg: CorrelateConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        Ok(Correlator {
            hosts: Lru::new(cfg.max_hosts),
            dns: DnsSpread::new(&cfg.dns),
            repeat: RepeatTracker::new(&cfg.repeat),
            egress: SharedEgress::new(&cfg.shared_egress),
            cfg,
            now_us: 0,
            last_sweep_us: 0,
            stats: CorrelateStats::default(),
            touched: Vec::new(),
            owner: None,
        })
    }

    /// Keeps state, findings and alerts only for the hosts `owner` accepts
    /// (one consumer of a group); observations of other hosts still feed
    /// the cross-host shared-egress tracker, so its findings for owned
    /// hosts are the same as a single stage's.
    pub fn set_owner(&mut self, owner: Owner) {
        self.owner = Some(owner);
    }

    fn owns(&self, host: IpAddr) -> bool {
        self.owner.as_ref().is_none_or(|f| f(host))
    }

    /// The configuration in use.
    pub fn config(&self) -> &CorrelateConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> &CorrelateStats {
        &self.stats
    }

    /// Capture time of the latest observation or `advance`, µs.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    fn window_us(&self) -> u64 {
        self.cfg.window_s.saturating_mul(US_PER_S)
    }

    /// Moves the capture clock to `now_us` (never backwards) and drops state
    /// that left the window. Emits nothing: scores only fall with time.
    pub fn advance(&mut self, now_us: u64) {
        self.now_us = self.now_us.max(now_us);
        self.maybe_sweep();
    }

    /// Drops expired state every window/8 of capture time (at least once a
    /// minute of capture time): amortised O(1) per observation.
    fn maybe_sweep(&mut self) {
        let every = (self.window_us() / 8).max(60 * US_PER_S);
        if self.now_us.saturating_sub(self.last_sweep_us) < every {
            return;
        }
        self.last_sweep_us = self.now_us;
        self.sweep();
    }

    fn sweep(&mut self) {
        let cutoff = self.now_us.saturating_sub(self.window_us());
        let expired = self.hosts.retain(|_, h| {
            h.prune(cutoff);
            h.last_seen_us >= cutoff || !h.is_idle()
        });
        self.stats.hosts_expired += expired as u64;
        self.stats.hosts_tracked = self.hosts.len() as u64;
        let c = &self.cfg;
        self.dns.expire(
            self.now_us
                .saturating_sub(c.dns.window_s.saturating_mul(US_PER_S)),
        );
        self.repeat.expire(
            self.now_us
                .saturating_sub(c.repeat.window_s.saturating_mul(US_PER_S)),
        );
        self.egress.expire(
            self.now_us
                .saturating_sub(c.shared_egress.window_s.saturating_mul(US_PER_S)),
        );
    }

    /// Feeds one observation; host alerts it causes are appended to `out`
    /// (sorted by host address).
    pub fn observe(&mut self, obs: &Observation, out: &mut Vec<HostAlert>) {
        // Built by hand (not by from_eve), an observation may exceed the
        // input limits: bound a copy.
        let clamped;
        let obs = if obs.is_bounded() {
            obs
        } else {
            clamped = obs.clamped();
            &clamped
        };
        self.stats.observations += 1;
        if obs.end_us < self.now_us {
            self.stats.out_of_order += 1;
        }
        self.now_us = self.now_us.max(obs.end_us);
        self.maybe_sweep();
        let (Some(src), Some(dest)) = (obs.src_ip, obs.dest_ip) else {
            self.stats.ignored += 1;
            return;
        };
        let min = self.cfg.min_confidence;
        let dets: Vec<&ObsDetection> = obs.detections_at(min).collect();
        self.stats.low_confidence_ignored += (obs.detections.len() - dets.len()) as u64;
        let anonymised = dets
            .iter()
            .any(|d| matches!(d.category.as_str(), "vpn" | "proxy" | "tunnel"))
            || obs
                .feeds
                .iter()
                .any(|f| self.cfg.anonymiser_feeds.contains(f));
        let flags = FlowFlags {
            hosting: dets.iter().any(|d| d.category == "hosting"),
            relay: dets.iter().any(|d| d.category == "relay"),
            anonymised,
            dets,
        };
        let src_in = self.cfg.is_internal(src);
        let dest_in = self.cfg.is_internal(dest);
        let to_concentrator = self.cfg.vpn_concentrators.contains(&dest);
        self.touched.clear();
        let mut any = false;
        if src_in {
            any |= self.host_side(obs, &flags, src, dest, &obs.dest_peer, dest_in, true);
        }
        if dest_in {
            any |= self.host_side(obs, &flags, dest, src, &obs.src_peer, src_in, false);
        }
        if to_concentrator && !src_in {
            any = true;
            self.observe_egress(
                src,
                Member::ConcentratorSession(dest, obs.flow_id),
                obs,
                obs.end_us,
            );
        }
        if let Some(d) = &obs.dns {
            let client = if obs.src_port == Some(53) && obs.dest_port != Some(53) {
                dest
            } else {
                src
            };
            if self.cfg.is_internal(client) && !self.cfg.is_exempt(client) && self.owns(client) {
                let q = DnsQuery {
                    client,
                    name: &d.rrname,
                    rrtype: d.rrtype.as_deref(),
                    response_bytes: d.response_bytes,
                    time_us: obs.end_us,
                    flow_id: obs.flow_id,
                    community_id: obs.community_id.as_deref(),
                };
                let (hit, eff) = self.dns.observe(&self.cfg.dns, self.cfg.max_evidence, &q);
                self.stats.dns_pairs_evicted += u64::from(eff.evicted);
                self.stats.dns_names_truncated += u64::from(eff.truncated);
                if let Some(hit) = hit {
                    let f = Finding {
                        rule: Rule::DnsTunnelSpread,
                        key: hit.domain,
                        time_us: obs.end_us,
                        reason: hit.reason,
                        flow_ids: hit.flow_ids,
                        community_ids: hit.community_ids,
                    };
                    self.add_finding(client, f);
                }
            }
        }
        if !any && self.touched.is_empty() {
            self.stats.ignored += 1;
        }
        self.evaluate_touched(out);
    }

    /// Records what `obs` means for internal host `host`; returns false when
    /// the host is exempt.
    #[allow(clippy::too_many_arguments)]
    fn host_side(
        &mut self,
        obs: &Observation,
        flags: &FlowFlags<'_>,
        host: IpAddr,
        peer: IpAddr,
        peer_info: &PeerInfo,
        peer_internal: bool,
        host_is_client: bool,
    ) -> bool {
        if self.cfg.is_exempt(host) {
            self.stats.exempt_skipped += 1;
            return false;
        }
        let cfg = &self.cfg;
        let t = obs.end_us;
        let mut sessions: Vec<Session> = Vec::new();
        let mut repeat_protocol: Option<&str> = None;
        for d in &flags.dets {
            let kind = match d.category.as_str() {
                "remote_access" if !host_is_client => SessionKind::RemoteIn,
                "remote_access" if cfg.relay_tools.contains(&d.protocol) => SessionKind::RemoteTool,
                "remote_access" => SessionKind::RemoteOut,
                "vpn" | "proxy" | "tunnel" if host_is_client => {
                    if cfg.vpn_concentrators.contains(&peer) {
                        self.stats.suppressed_concentrator += 1;
                        continue;
                    }
                    if cfg.repeat.protocols.contains(&d.protocol) {
                        repeat_protocol = Some(&d.protocol);
                    }
                    SessionKind::Anonymiser
                }
                "sanctioned_region" => SessionKind::Sanctioned,
                _ => continue,
            };
            if kind != SessionKind::Sanctioned
                && cfg.allowed_tool(&d.protocol, host, peer).is_some()
            {
                self.stats.suppressed_allowed_tool += 1;
                continue;
            }
            let advisory = advisory_service(&cfg.advisory_vpn_services, d);
            let mut info = peer_info.clone();
            if kind == SessionKind::Sanctioned && info.country_iso.is_none() {
                info.country_iso = d.evidence.get("country_iso").cloned();
            }
            let rs = obs.remote_session.as_ref();
            sessions.push(Session {
                kind,
                category: d.category.clone(),
                protocol: d.protocol.clone(),
                peer,
                server_port: obs.dest_port,
                peer_info: info,
                peer_external: !peer_internal,
                start_us: obs.start_us,
                end_us: obs.end_us,
                flow_id: obs.flow_id,
                community_id: obs.community_id.clone(),
                duration_s: rs.and_then(|r| r.duration_s),
                interactive: rs.and_then(|r| r.interactive),
                rtt: obs.rtt.clone(),
                from_hosting: flags.hosting,
                anonymised: flags.anonymised,
                relay: flags.relay,
                advisory_service: advisory,
                feeds: obs.feeds.clone(),
            });
        }
        if !self.owns(host) {
            self.stats.not_owned += 1;
            if sessions
                .iter()
                .any(|s| s.kind == SessionKind::RemoteIn && s.peer_external)
            {
                self.observe_egress(peer, Member::Host(host), obs, t);
            }
            return true;
        }
        let max_sessions = cfg.max_sessions_per_host;
        let max_fp = cfg.max_fingerprints_per_host;
        let h = host_mut(&mut self.hosts, &mut self.stats, host, t);
        h.seen(t);
        if host_is_client {
            self.stats.fingerprints_truncated +=
                h.add_fingerprints(obs.ja4.as_deref(), obs.hassh.as_deref(), max_fp);
        }
        let mut inbound_control = false;
        let had_sessions = !sessions.is_empty();
        for s in sessions {
            inbound_control |= s.kind == SessionKind::RemoteIn && s.peer_external;
            self.stats.sessions_truncated += h.add_session(s, max_sessions);
        }
        self.stats.hosts_tracked = self.hosts.len() as u64;
        self.stats.hosts_peak = self.stats.hosts_peak.max(self.stats.hosts_tracked);
        if had_sessions {
            self.touched.push(host);
        }
        if inbound_control {
            self.observe_egress(peer, Member::Host(host), obs, t);
        }
        if let (Some(proto), Some(port)) = (repeat_protocol, obs.dest_port) {
            let (hit, evicted) = self.repeat.observe(
                &self.cfg.repeat,
                self.cfg.max_evidence,
                host,
                peer,
                port,
                t,
                obs.flow_id,
                obs.community_id.as_deref(),
                proto,
            );
            self.stats.repeat_evicted += u64::from(evicted);
            if let Some(hit) = hit {
                let f = Finding {
                    rule: Rule::RepeatedFullyEncrypted,
                    key: hit.destination,
                    time_us: t,
                    reason: hit.reason,
                    flow_ids: hit.flow_ids,
                    community_ids: hit.community_ids,
                };
                self.add_finding(host, f);
            }
        }
        true
    }

    /// Feeds one flow of `obs` (last seen at `time_us`) to the shared-egress
    /// tracker: counts the effect and records the finding when it fires.
    fn observe_egress(&mut self, peer: IpAddr, member: Member, obs: &Observation, time_us: u64) {
        let (hit, eff) = self.egress.observe(
            &self.cfg.shared_egress,
            self.cfg.max_evidence,
            peer,
            member,
            obs.start_us,
            time_us,
            obs.flow_id,
            obs.community_id.as_deref(),
        );
        self.count_egress(eff);
        if let Some(hit) = hit {
            self.egress_finding(hit);
        }
    }

    fn count_egress(&mut self, eff: super::egress::EgressEffect) {
        self.stats.egress_prefixes_evicted += u64::from(eff.evicted);
        self.stats.egress_sessions_truncated += u64::from(eff.truncated);
    }

    fn egress_finding(&mut self, hit: EgressHit) {
        let mut hosts: Vec<IpAddr> = hit.members.iter().map(|m| m.host()).collect();
        hosts.sort();
        hosts.dedup();
        for h in hosts {
            if self.cfg.is_exempt(h) || !self.owns(h) {
                continue;
            }
            let f = Finding {
                rule: Rule::SharedEgress,
                key: hit.prefix.clone(),
                time_us: self.now_us,
                reason: hit.reason.clone(),
                flow_ids: hit.flow_ids.clone(),
                community_ids: hit.community_ids.clone(),
            };
            self.add_finding(h, f);
        }
    }

    fn add_finding(&mut self, host: IpAddr, f: Finding) {
        let cap = self.cfg.max_findings_per_host;
        let now = self.now_us;
        let h = host_mut(&mut self.hosts, &mut self.stats, host, now);
        h.seen(now);
        self.stats.findings_truncated += h.add_finding(f, cap);
        self.stats.hosts_tracked = self.hosts.len() as u64;
        self.stats.hosts_peak = self.stats.hosts_peak.max(self.stats.hosts_tracked);
        self.touched.push(host);
    }

    fn evaluate_touched(&mut self, out: &mut Vec<HostAlert>) {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort();
        touched.dedup();
        for ip in &touched {
            self.evaluate(*ip, out);
        }
        touched.clear();
        self.touched = touched;
    }

    fn evaluate(&mut self, ip: IpAddr, out: &mut Vec<HostAlert>) {
        let cutoff = self.now_us.saturating_sub(self.window_us());
        let now = self.now_us;
        let Some(h) = self.hosts.get_mut(&ip) else {
            return;
        };
        h.prune(cutoff);
        let cfg = &self.cfg;
        let hits = rules::evaluate_with(rules::Detail::ScoresOnly, cfg, h, now);
        match decide(cfg, h, hits, now, |h| rules::evaluate(cfg, h, now)) {
            Decision::None => {}
            Decision::HeldBack => self.stats.alerts_held_back += 1,
            Decision::Alert(a) => {
                self.stats.alerts += 1;
                out.push(*a);
            }
        }
    }

    /// End of input: drops expired state and gives every host a last
    /// evaluation (in address order), appending any alert still due.
    pub fn finish(&mut self, out: &mut Vec<HostAlert>) {
        self.sweep();
        let mut ips: Vec<IpAddr> = self.hosts.keys_by_age().copied().collect();
        ips.sort();
        for ip in ips {
            self.evaluate(ip, out);
        }
    }

    /// Hosts with a score, highest first (ties by address), each with its
    /// reasons and timeline, evaluated over the window at the current
    /// capture time.
    pub fn hosts_ranked(&self) -> Vec<HostSummary> {
        let cutoff = self.now_us.saturating_sub(self.window_us());
        let mut ranked: Vec<HostSummary> = self
            .hosts
            .iter()
            .filter_map(|(_, h)| {
                let mut h = h.clone();
                h.prune(cutoff);
                let hits = rules::evaluate(&self.cfg, &h, self.now_us);
                (!hits.is_empty()).then(|| summarize(&self.cfg, &h, hits, cutoff))
            })
            .collect();
        ranked.sort_by(|a, b| b.score.cmp(&a.score).then(a.ip.cmp(&b.ip)));
        ranked
    }
}

#[cfg(test)]
mod tests;
