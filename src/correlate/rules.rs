//! The named host rules: each turns a host's windowed state into a score
//! contribution with a plain-words reason, evidence flows and MITRE ATT&CK
//! technique ids. docs/host.md explains each one and what it cannot see.
//!
//! Rules are pure functions of (host state, config, now), so re-evaluating
//! a host gives the same answer and the output is deterministic.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;

use super::config::CorrelateConfig;
use super::host::{HostState, Session, SessionKind};
use super::time::{US_PER_S, local_hour_weekday};

/// Base of the host-alert signature ids: rule n has 8,700,000 + n. Not in
/// 9,700,000+: the single-flow ids (`src/detect/signature.rs`) take
/// 9,000,000 + category × 100,000 (relay, category 7, is 9,7xx,xxx) and
/// their hash fallback reaches 10,799,999.
pub const SID_BASE: u32 = 8_700_000;

/// Every host rule. The discriminant is the signature-id offset and never
/// changes once released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// An outside peer remote-controls an internal host; worse from a
    /// hosting, VPN/proxy or foreign peer. T1219, T1133.
    InboundRemoteControl = 1,
    /// A relay-style remote-control tool (AnyDesk, TeamViewer, ...) runs on
    /// the host, so it can be driven through the vendor's relay. T1219.
    RemoteToolInUse = 2,
    /// Remote control of the host while its own egress goes through a VPN,
    /// proxy or anonymiser within the window: the laptop-farm shape.
    /// T1219, T1090, T1572.
    RemoteControlWithVpnEgress = 3,
    /// Several controlling peers or countries for one host in a short time.
    /// T1219, T1133.
    MultipleControllers = 4,
    /// Several internal hosts (or corporate VPN sessions) driven from one
    /// outside address or prefix at once. T1133, T1090.
    SharedEgress = 5,
    /// The application round trip of an interactive controlling session is
    /// far longer than fibre to the peer's claimed location allows: the
    /// operator is further away. T1090.003, T1219.
    ControllerDistance = 6,
    /// A controlling session goes through a relay. T1090.003, T1219.
    RelayOnControl = 7,
    /// Contact with an address in a sanctioned region (a "where", not a
    /// technique: no ATT&CK id).
    SanctionedContact = 8,
    /// A VPN service named in the advisories and incident reports (Astrill
    /// above all). T1090, T1572.
    AdvisoryVpnService = 9,
    /// VPN/proxy/tunnel egress that is not a corporate concentrator. T1090,
    /// T1572.
    AnonymiserEgress = 10,
    /// Activity outside the host's working hours (context: never alone
    /// enough to alert).
    OffHoursActivity = 11,
    /// DNS tunnelling/exfiltration spread over many one-query flows.
    /// T1071.004, T1048, T1572.
    DnsTunnelSpread = 12,
    /// Fully-encrypted/obfuscated flows repeated to one destination.
    /// T1572, T1090.
    RepeatedFullyEncrypted = 13,
}

impl Rule {
    /// Every rule, in signature-id order.
    pub const ALL: [Rule; 13] = [
        Rule::InboundRemoteControl,
        Rule::RemoteToolInUse,
        Rule::RemoteControlWithVpnEgress,
        Rule::MultipleControllers,
        Rule::SharedEgress,
        Rule::ControllerDistance,
        Rule::RelayOnControl,
        Rule::SanctionedContact,
        Rule::AdvisoryVpnService,
        Rule::AnonymiserEgress,
        Rule::OffHoursActivity,
        Rule::DnsTunnelSpread,
        Rule::RepeatedFullyEncrypted,
    ];

    /// The rule's name as in docs/host.md and the alert.
    pub fn name(self) -> &'static str {
        match self {
            Rule::InboundRemoteControl => "inbound_remote_control",
            Rule::RemoteToolInUse => "remote_tool_in_use",
            Rule::RemoteControlWithVpnEgress => "remote_control_with_vpn_egress",
            Rule::MultipleControllers => "multiple_controllers",
            Rule::SharedEgress => "shared_egress",
            Rule::ControllerDistance => "controller_distance",
            Rule::RelayOnControl => "relay_on_control",
            Rule::SanctionedContact => "sanctioned_contact",
            Rule::AdvisoryVpnService => "advisory_vpn_service",
            Rule::AnonymiserEgress => "anonymiser_egress",
            Rule::OffHoursActivity => "off_hours_activity",
            Rule::DnsTunnelSpread => "dns_tunnel_spread",
            Rule::RepeatedFullyEncrypted => "repeated_fully_encrypted",
        }
    }

    /// Stable signature id of a host alert led by this rule.
    pub fn signature_id(self) -> u32 {
        SID_BASE + self as u32
    }

    /// MITRE ATT&CK technique ids.
    pub fn attack(self) -> &'static [&'static str] {
        match self {
            Rule::InboundRemoteControl => &["T1219", "T1133"],
            Rule::RemoteToolInUse => &["T1219"],
            Rule::RemoteControlWithVpnEgress => &["T1219", "T1090", "T1572"],
            Rule::MultipleControllers => &["T1219", "T1133"],
            Rule::SharedEgress => &["T1133", "T1090"],
            Rule::ControllerDistance => &["T1090.003", "T1219"],
            Rule::RelayOnControl => &["T1090.003", "T1219"],
            Rule::SanctionedContact => &[],
            Rule::AdvisoryVpnService => &["T1090", "T1572"],
            Rule::AnonymiserEgress => &["T1090", "T1572"],
            Rule::OffHoursActivity => &[],
            Rule::DnsTunnelSpread => &["T1071.004", "T1048", "T1572"],
            Rule::RepeatedFullyEncrypted => &["T1572", "T1090"],
        }
    }

    /// EVE severity (1 highest) of an alert led by this rule.
    pub fn severity(self) -> u8 {
        match self {
            Rule::RemoteControlWithVpnEgress
            | Rule::SharedEgress
            | Rule::ControllerDistance
            | Rule::SanctionedContact
            | Rule::DnsTunnelSpread => 1,
            Rule::InboundRemoteControl
            | Rule::MultipleControllers
            | Rule::RelayOnControl
            | Rule::AdvisoryVpnService
            | Rule::RepeatedFullyEncrypted => 2,
            Rule::RemoteToolInUse | Rule::AnonymiserEgress | Rule::OffHoursActivity => 3,
        }
    }

    /// `alert.category` of an alert led by this rule.
    pub fn category(self) -> &'static str {
        match self {
            Rule::InboundRemoteControl
            | Rule::RemoteToolInUse
            | Rule::MultipleControllers
            | Rule::RelayOnControl
            | Rule::ControllerDistance => "Host remotely controlled",
            Rule::RemoteControlWithVpnEgress | Rule::SharedEgress => {
                "Host remotely controlled and hidden"
            }
            Rule::SanctionedContact => "Host in contact with a sanctioned region",
            Rule::AdvisoryVpnService | Rule::AnonymiserEgress | Rule::RepeatedFullyEncrypted => {
                "Host hides its egress"
            }
            Rule::DnsTunnelSpread => "Host tunnels over DNS",
            Rule::OffHoursActivity => "Host context",
        }
    }

    /// Context rules add to a score but never make one on their own.
    pub fn context_only(self) -> bool {
        matches!(self, Rule::OffHoursActivity)
    }
}

/// One rule's contribution to a host's score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleHit {
    /// The rule.
    pub name: Rule,
    /// Its signature id.
    pub signature_id: u32,
    /// Score contribution.
    pub score: u32,
    /// MITRE ATT&CK technique ids.
    pub attack: Vec<&'static str>,
    /// Plain-words reason.
    pub reason: String,
    /// Evidence flow ids (capped at `max_evidence`).
    pub flow_ids: Vec<u64>,
    /// Evidence community ids (capped at `max_evidence`).
    pub community_ids: Vec<String>,
    /// True for a context-only rule.
    pub context: bool,
}

/// Collects capped, de-duplicated evidence in first-seen order.
struct Evidence {
    flow_ids: Vec<u64>,
    community_ids: Vec<String>,
    cap: usize,
}

impl Evidence {
    fn new(cap: usize) -> Self {
        Evidence {
            flow_ids: Vec::new(),
            community_ids: Vec::new(),
            cap,
        }
    }

    fn add_flow(&mut self, flow_id: u64) {
        if self.flow_ids.len() < self.cap && !self.flow_ids.contains(&flow_id) {
            self.flow_ids.push(flow_id);
        }
    }

    fn add_community(&mut self, c: &str) {
        if self.community_ids.len() < self.cap && !self.community_ids.iter().any(|x| x == c) {
            self.community_ids.push(c.to_owned());
        }
    }

    fn add(&mut self, flow_id: u64, community_id: Option<&str>) {
        self.add_flow(flow_id);
        if let Some(c) = community_id {
            self.add_community(c);
        }
    }

    fn session(&mut self, s: &Session) {
        self.add(s.flow_id, s.community_id.as_deref());
    }
}

/// Whether an evaluation writes reasons and evidence (for an alert or the
/// report) or only scores (to decide whether an alert is due: most
/// evaluations, and the expensive part is the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Scores, signature ids and context flags only: `reason` empty, no
    /// evidence.
    ScoresOnly,
    /// Everything.
    Full,
}

impl Detail {
    fn evidence(self, cfg: &CorrelateConfig) -> Evidence {
        Evidence::new(match self {
            Detail::Full => cfg.max_evidence,
            Detail::ScoresOnly => 0,
        })
    }
}

fn hit(
    d: Detail,
    rule: Rule,
    score: u32,
    reason: impl FnOnce() -> String,
    ev: Evidence,
) -> Option<RuleHit> {
    (score > 0).then(|| RuleHit {
        name: rule,
        signature_id: rule.signature_id(),
        score,
        attack: rule.attack().to_vec(),
        reason: if d == Detail::Full {
            reason()
        } else {
            String::new()
        },
        flow_ids: ev.flow_ids,
        community_ids: ev.community_ids,
        context: rule.context_only(),
    })
}

/// Up to `n` items joined with ", ", then "and k more".
fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>, n: usize) -> String {
    let all: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    let mut s = all.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if all.len() > n {
        s.push_str(&format!(" and {} more", all.len() - n));
    }
    s
}

fn is_foreign(cfg: &CorrelateConfig, s: &Session) -> bool {
    !cfg.home_countries.is_empty()
        && s.peer_info
            .country_iso
            .as_ref()
            .is_some_and(|c| !cfg.home_countries.iter().any(|h| h == c))
}

fn inbound_remote_control(d: Detail, cfg: &CorrelateConfig, ss: &[&Session]) -> Option<RuleHit> {
    let w = &cfg.weights;
    let inbound: Vec<&&Session> = ss
        .iter()
        .filter(|s| s.kind == SessionKind::RemoteIn && s.peer_external)
        .collect();
    if inbound.is_empty() || w.inbound_remote_control == 0 {
        return None;
    }
    let mut ev = d.evidence(cfg);
    let mut best = 0u32;
    let mut why: BTreeSet<&str> = BTreeSet::new();
    for s in &inbound {
        ev.session(s);
        let mut extra = 0u32;
        if s.from_hosting {
            extra = extra.saturating_add(w.from_hosting);
            why.insert("a hosting/VPS address");
        }
        if s.anonymised {
            extra = extra.saturating_add(w.from_anonymiser);
            why.insert("a VPN/proxy/anonymiser");
        }
        if is_foreign(cfg, s) {
            extra = extra.saturating_add(w.from_foreign);
            why.insert("abroad");
        }
        best = best.max(extra);
    }
    let reason = || {
        let tools: BTreeSet<&str> = inbound.iter().map(|s| s.protocol.as_str()).collect();
        let peers: BTreeSet<IpAddr> = inbound.iter().map(|s| s.peer).collect();
        let mut reason = format!(
            "{} inbound remote-control session(s) ({}) from outside home_net: {}",
            inbound.len(),
            list(&tools, 5),
            list(&peers, 5)
        );
        if !why.is_empty() {
            reason.push_str(&format!("; controlled from {}", list(&why, 3)));
        }
        reason
    };
    hit(
        d,
        Rule::InboundRemoteControl,
        w.inbound_remote_control.saturating_add(best),
        reason,
        ev,
    )
}

fn remote_tool_in_use(d: Detail, cfg: &CorrelateConfig, ss: &[&Session]) -> Option<RuleHit> {
    let tool: Vec<&&Session> = ss
        .iter()
        .filter(|s| s.kind == SessionKind::RemoteTool)
        .collect();
    if tool.is_empty() {
        return None;
    }
    let mut ev = d.evidence(cfg);
    tool.iter().for_each(|s| ev.session(s));
    let reason = || {
        let tools: BTreeSet<&str> = tool.iter().map(|s| s.protocol.as_str()).collect();
        format!(
            "the host runs relay-style remote-control software ({}): it can be driven through the vendor's relay",
            list(&tools, 5)
        )
    };
    hit(
        d,
        Rule::RemoteToolInUse,
        cfg.weights.remote_tool_in_use,
        reason,
        ev,
    )
}

fn control_sessions<'a>(ss: &'a [&'a Session]) -> impl Iterator<Item = &'a &'a Session> {
    ss.iter().filter(|s| {
        (s.kind == SessionKind::RemoteIn && s.peer_external) || s.kind == SessionKind::RemoteTool
    })
}

fn remote_control_with_vpn_egress(
    d: Detail,
    cfg: &CorrelateConfig,
    ss: &[&Session],
) -> Option<RuleHit> {
    let control: Vec<&&Session> = control_sessions(ss).collect();
    let egress: Vec<&&Session> = ss
        .iter()
        .filter(|s| s.kind == SessionKind::Anonymiser)
        .collect();
    // Distinct flows: a remote session inside a VPN is "from_anonymiser",
    // not this rule.
    let separate = match (control.first(), egress.is_empty()) {
        // Some pair (control, egress) of different flows exists unless
        // every one of them is the same flow: O(n), not O(n²).
        (Some(first), false) => {
            let x = first.flow_id;
            control.iter().any(|c| c.flow_id != x) || egress.iter().any(|e| e.flow_id != x)
        }
        _ => false,
    };
    if !separate {
        return None;
    }
    let mut ev = d.evidence(cfg);
    for s in control.iter().chain(egress.iter()) {
        ev.session(s);
    }
    let reason = || {
        let tools: BTreeSet<&str> = control.iter().map(|s| s.protocol.as_str()).collect();
        let via: BTreeSet<&str> = egress
            .iter()
            .map(|s| s.advisory_service.as_deref().unwrap_or(&s.protocol))
            .collect();
        format!(
            "remote control ({}) while the host's own traffic leaves through {} within the window",
            list(&tools, 5),
            list(&via, 5)
        )
    };
    hit(
        d,
        Rule::RemoteControlWithVpnEgress,
        cfg.weights.remote_control_with_vpn_egress,
        reason,
        ev,
    )
}

fn multiple_controllers(
    d: Detail,
    cfg: &CorrelateConfig,
    ss: &[&Session],
    now_us: u64,
) -> Option<RuleHit> {
    let cutoff = now_us.saturating_sub(cfg.multi_controller_window_s.saturating_mul(US_PER_S));
    let recent: Vec<&&Session> = ss
        .iter()
        .filter(|s| s.kind == SessionKind::RemoteIn && s.peer_external && s.end_us >= cutoff)
        .collect();
    let peers: BTreeSet<IpAddr> = recent.iter().map(|s| s.peer).collect();
    let countries: BTreeSet<&str> = recent
        .iter()
        .filter_map(|s| s.peer_info.country_iso.as_deref())
        .collect();
    if peers.len() < cfg.multi_controller_min_peers
        && countries.len() < cfg.multi_controller_min_countries
    {
        return None;
    }
    let mut ev = d.evidence(cfg);
    recent.iter().for_each(|s| ev.session(s));
    // Without a geolocation database no country is known: say nothing of
    // countries rather than "0 countries".
    let reason = || {
        let from = if countries.is_empty() {
            String::new()
        } else {
            format!(
                " from {} countr{} ({})",
                countries.len(),
                if countries.len() == 1 { "y" } else { "ies" },
                list(&countries, 5)
            )
        };
        format!(
            "{} distinct controlling peers ({}){from} within {} s",
            peers.len(),
            list(&peers, 5),
            cfg.multi_controller_window_s
        )
    };
    hit(
        d,
        Rule::MultipleControllers,
        cfg.weights.multiple_controllers,
        reason,
        ev,
    )
}

/// Great-circle distance in km (haversine, mean Earth radius 6371 km).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().clamp(0.0, 1.0).asin()
}

/// Light in fibre covers ~200 km per ms one way, so a round trip covers
/// ~100 km of distance per ms: the smallest RTT a distance allows.
pub const KM_PER_RTT_MS: f64 = 100.0;

fn controller_distance(d: Detail, cfg: &CorrelateConfig, ss: &[&Session]) -> Option<RuleHit> {
    let sensor = cfg.sensor_location?;
    let dc = &cfg.controller_distance;
    let mut ev = d.evidence(cfg);
    let mut worst: Option<(f64, f64, f64, IpAddr)> = None; // (app, km, min_rtt, peer)
    for s in ss.iter().filter(|s| {
        s.kind == SessionKind::RemoteIn && s.peer_external && s.interactive == Some(true)
    }) {
        let (Some(lat), Some(lon)) = (s.peer_info.latitude, s.peer_info.longitude) else {
            continue;
        };
        let Some(app) = s.rtt.as_ref().and_then(|r| r.app_ms) else {
            continue;
        };
        let km = distance_km(sensor.latitude, sensor.longitude, lat, lon);
        let min_rtt = km / KM_PER_RTT_MS;
        if app >= dc.factor * min_rtt && app - min_rtt >= dc.min_excess_ms {
            ev.session(s);
            if worst.is_none_or(|w| app - min_rtt > w.0 - w.2) {
                worst = Some((app, km, min_rtt, s.peer));
            }
        }
    }
    let (app, km, min_rtt, peer) = worst?;
    let reason = || {
        format!(
            "interactive session from {peer}: application round trip {app:.0} ms, but its claimed location is {km:.0} km away, \
             which fibre allows in about {min_rtt:.1} ms (~100 km per ms of round trip); the operator may be up to {:.0} km away",
            app * KM_PER_RTT_MS
        )
    };
    hit(
        d,
        Rule::ControllerDistance,
        cfg.weights.controller_distance,
        reason,
        ev,
    )
}

fn relay_on_control(d: Detail, cfg: &CorrelateConfig, ss: &[&Session]) -> Option<RuleHit> {
    let relayed: Vec<&&Session> = control_sessions(ss).filter(|s| s.relay).collect();
    if relayed.is_empty() {
        return None;
    }
    let mut ev = d.evidence(cfg);
    relayed.iter().for_each(|s| ev.session(s));
    let reason = || {
        let peers: BTreeSet<IpAddr> = relayed.iter().map(|s| s.peer).collect();
        format!(
            "{} controlling session(s) end at a relay ({}): the operator is behind another hop",
            relayed.len(),
            list(&peers, 5)
        )
    };
    hit(
        d,
        Rule::RelayOnControl,
        cfg.weights.relay_on_control,
        reason,
        ev,
    )
}

fn sanctioned_contact(d: Detail, cfg: &CorrelateConfig, ss: &[&Session]) -> Option<RuleHit> {
    let s: Vec<&&Session> = ss
        .iter()
        .filter(|s| s.kind == SessionKind::Sanctioned)
        .collect();
    if s.is_empty() {
        return None;
    }
    let mut ev = d.evidence(cfg);
    s.iter().for_each(|x| ev.session(x));
    let reason = || {
        let countries: BTreeSet<&str> = s
            .iter()
            .filter_map(|x| x.peer_info.country_iso.as_deref())
            .collect();
        let peers: BTreeSet<IpAddr> = s.iter().map(|x| x.peer).collect();
        format!(
            "{} flow(s) with sanctioned region(s) {} ({})",
            s.len(),
            if countries.is_empty() {
                "?".to_owned()
            } else {
                list(&countries, 5)
            },
            list(&peers, 5)
        )
    };
    hit(
        d,
        Rule::SanctionedContact,
        cfg.weights.sanctioned_contact,
        reason,
        ev,
    )
}

fn advisory_vpn_service(d: Detail, cfg: &CorrelateConfig, ss: &[&Session]) -> Option<RuleHit> {
    let s: Vec<&&Session> = ss.iter().filter(|s| s.advisory_service.is_some()).collect();
    if s.is_empty() {
        return None;
    }
    let mut ev = d.evidence(cfg);
    s.iter().for_each(|x| ev.session(x));
    let reason = || {
        let names: BTreeSet<&str> = s
            .iter()
            .filter_map(|x| x.advisory_service.as_deref())
            .collect();
        format!(
            "{} flow(s) to {}, a VPN service named in public reporting on state-sponsored remote IT workers",
            s.len(),
            list(&names, 5)
        )
    };
    hit(
        d,
        Rule::AdvisoryVpnService,
        cfg.weights.advisory_vpn_service,
        reason,
        ev,
    )
}

fn anonymiser_egress(d: Detail, cfg: &CorrelateConfig, ss: &[&Session]) -> Option<RuleHit> {
    let s: Vec<&&Session> = ss
        .iter()
        .filter(|s| s.kind == SessionKind::Anonymiser)
        .collect();
    if s.is_empty() {
        return None;
    }
    let mut ev = d.evidence(cfg);
    s.iter().for_each(|x| ev.session(x));
    let reason = || {
        let kinds: BTreeSet<String> = s
            .iter()
            .map(|x| format!("{} {}", x.category, x.protocol))
            .collect();
        format!(
            "{} VPN/proxy/tunnel flow(s) not to a corporate concentrator: {}",
            s.len(),
            list(&kinds, 5)
        )
    };
    hit(
        d,
        Rule::AnonymiserEgress,
        cfg.weights.anonymiser_egress,
        reason,
        ev,
    )
}

fn off_hours(
    d: Detail,
    cfg: &CorrelateConfig,
    host: &HostState,
    ss: &[&Session],
) -> Option<RuleHit> {
    let wh = cfg.working_hours_for(host.ip)?;
    let mut ev = d.evidence(cfg);
    let mut n = 0usize;
    for s in ss {
        let (hour, weekday) = local_hour_weekday(s.start_us, wh.utc_offset_minutes);
        let off = hour < wh.start_hour || hour >= wh.end_hour || (wh.weekdays_only && weekday >= 6);
        if off {
            n += 1;
            ev.session(s);
        }
    }
    if n == 0 {
        return None;
    }
    let reason = || {
        format!(
            "{n} flagged session(s) started outside working hours {:02}:00-{:02}:00 (UTC{}{:02}:{:02}{})",
            wh.start_hour,
            wh.end_hour,
            if wh.utc_offset_minutes < 0 { '-' } else { '+' },
            wh.utc_offset_minutes.unsigned_abs() / 60,
            wh.utc_offset_minutes.unsigned_abs() % 60,
            if wh.weekdays_only {
                ", Monday to Friday"
            } else {
                ""
            }
        )
    };
    hit(
        d,
        Rule::OffHoursActivity,
        cfg.weights.off_hours_activity,
        reason,
        ev,
    )
}

fn from_findings(
    d: Detail,
    cfg: &CorrelateConfig,
    host: &HostState,
    rule: Rule,
    weight: u32,
) -> Option<RuleHit> {
    let f: Vec<_> = host.findings.iter().filter(|f| f.rule == rule).collect();
    if f.is_empty() {
        return None;
    }
    let mut ev = d.evidence(cfg);
    for x in &f {
        x.flow_ids.iter().for_each(|id| ev.add_flow(*id));
        x.community_ids.iter().for_each(|c| ev.add_community(c));
    }
    let reason = || list(f.iter().map(|x| x.reason.as_str()), 3);
    hit(d, rule, weight, reason, ev)
}

/// Evaluates every rule on a host (already pruned to the window) at
/// `now_us`; hits in signature-id order. Context rules count only when a
/// non-context rule hit.
pub fn evaluate(cfg: &CorrelateConfig, host: &HostState, now_us: u64) -> Vec<RuleHit> {
    evaluate_with(Detail::Full, cfg, host, now_us)
}

/// [`evaluate`] at the given [`Detail`]: the same hits with the same
/// scores, with or without their reasons and evidence.
pub fn evaluate_with(
    d: Detail,
    cfg: &CorrelateConfig,
    host: &HostState,
    now_us: u64,
) -> Vec<RuleHit> {
    let ss: Vec<&Session> = host.sessions.iter().collect();
    let w = &cfg.weights;
    let mut hits: Vec<RuleHit> = [
        inbound_remote_control(d, cfg, &ss),
        remote_tool_in_use(d, cfg, &ss),
        remote_control_with_vpn_egress(d, cfg, &ss),
        multiple_controllers(d, cfg, &ss, now_us),
        from_findings(d, cfg, host, Rule::SharedEgress, w.shared_egress),
        controller_distance(d, cfg, &ss),
        relay_on_control(d, cfg, &ss),
        sanctioned_contact(d, cfg, &ss),
        advisory_vpn_service(d, cfg, &ss),
        anonymiser_egress(d, cfg, &ss),
        off_hours(d, cfg, host, &ss),
        from_findings(d, cfg, host, Rule::DnsTunnelSpread, w.dns_tunnel_spread),
        from_findings(
            d,
            cfg,
            host,
            Rule::RepeatedFullyEncrypted,
            w.repeated_fully_encrypted,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if hits.iter().all(|h| h.context) {
        hits.clear();
    }
    hits
}

/// Total of the contributions.
pub fn total(hits: &[RuleHit]) -> u32 {
    hits.iter().fold(0u32, |a, h| a.saturating_add(h.score))
}

/// The hit that leads an alert: highest score, ties to the lower
/// signature id; context rules never lead.
pub fn leader(hits: &[RuleHit]) -> Option<&RuleHit> {
    hits.iter().filter(|h| !h.context).max_by(|a, b| {
        a.score
            .cmp(&b.score)
            .then(b.signature_id.cmp(&a.signature_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::config::{Location, WorkingHours};
    use crate::correlate::observation::RttInfo;

    fn s(kind: SessionKind, protocol: &str, flow_id: u64, peer: &str) -> Session {
        Session {
            start_us: 1_000 * US_PER_S,
            end_us: 2_000 * US_PER_S,
            community_id: Some(format!("1:{flow_id}")),
            duration_s: Some(1000.0),
            interactive: Some(true),
            ..Session::sample(kind, protocol, peer, flow_id)
        }
    }

    fn host(sessions: Vec<Session>) -> HostState {
        let mut h = HostState::new("10.0.0.7".parse().expect("ip"), 0);
        h.sessions = sessions.into();
        h
    }

    #[test]
    fn ids_and_names_are_stable() {
        let sids: BTreeSet<u32> = Rule::ALL.iter().map(|r| r.signature_id()).collect();
        assert_eq!(sids.len(), Rule::ALL.len());
        assert_eq!(Rule::InboundRemoteControl.signature_id(), 8_700_001);
        assert_eq!(Rule::RepeatedFullyEncrypted.signature_id(), 8_700_013);
        assert!(Rule::ALL.iter().all(|r| !r.name().is_empty()));
    }

    #[test]
    fn inbound_control_is_worse_from_hosting_and_abroad() {
        let cfg = CorrelateConfig {
            home_countries: vec!["US".into()],
            ..Default::default()
        };
        let mut a = s(SessionKind::RemoteIn, "rdp", 1, "198.51.100.9");
        a.from_hosting = true;
        a.peer_info.country_iso = Some("CN".into());
        let hits = evaluate(&cfg, &host(vec![a]), 2_000 * US_PER_S);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].name, Rule::InboundRemoteControl);
        assert_eq!(hits[0].score, 30 + 15 + 10);
        assert_eq!(hits[0].flow_ids, vec![1]);
        assert_eq!(hits[0].community_ids, vec!["1:1".to_owned()]);
        assert!(hits[0].reason.contains("hosting"), "{}", hits[0].reason);
    }

    #[test]
    fn controller_distance_uses_fibre_physics_and_needs_coordinates() {
        let mut cfg = CorrelateConfig::default();
        let mut a = s(SessionKind::RemoteIn, "rdp", 1, "198.51.100.9");
        // Peer claims Frankfurt, sensor in Amsterdam (~360 km: ≥ 3.6 ms).
        a.peer_info.latitude = Some(50.11);
        a.peer_info.longitude = Some(8.68);
        a.rtt = Some(RttInfo {
            tcp_ms: Some(4.0),
            app_ms: Some(190.0),
            ratio: None,
        });
        let h = host(vec![a]);
        assert!(
            !evaluate(&cfg, &h, 0)
                .iter()
                .any(|x| x.name == Rule::ControllerDistance)
        );
        cfg.sensor_location = Some(Location {
            latitude: 52.37,
            longitude: 4.90,
        });
        let hits = evaluate(&cfg, &h, 0);
        let d = hits
            .iter()
            .find(|x| x.name == Rule::ControllerDistance)
            .expect("fires");
        assert!(d.reason.contains("190 ms"), "{}", d.reason);
        let km = distance_km(52.37, 4.90, 50.11, 8.68);
        assert!((km - 360.0).abs() < 20.0, "{km}");
    }

    #[test]
    fn context_never_alerts_alone() {
        let mut cfg = CorrelateConfig::default();
        cfg.working_hours.push(WorkingHours::default());
        let mut a = s(SessionKind::RemoteOut, "ssh", 1, "198.51.100.9");
        a.start_us = 3 * 3600 * US_PER_S; // 03:00 UTC, a Thursday
        let mut h = host(vec![a.clone()]);
        assert!(evaluate(&cfg, &h, 0).is_empty());
        let mut b = a;
        b.kind = SessionKind::Anonymiser;
        b.flow_id = 2;
        h.sessions.push_back(b);
        let hits = evaluate(&cfg, &h, 0);
        let names: Vec<Rule> = hits.iter().map(|x| x.name).collect();
        assert_eq!(names, vec![Rule::AnonymiserEgress, Rule::OffHoursActivity]);
        assert_eq!(leader(&hits).map(|x| x.name), Some(Rule::AnonymiserEgress));
        assert_eq!(total(&hits), 15);
        assert!(
            hits[1]
                .reason
                .contains("08:00-19:00 (UTC+00:00, Monday to Friday)"),
            "{}",
            hits[1].reason
        );
    }
}
