//! [`CorrelateConfig`]: every knob of the host-correlation stage, with the
//! defaults documented on each field and [`CorrelateConfig::validate`]
//! naming the key that is wrong.
//!
//! Deserialised from the `[correlate]` table (the lead wires it into the
//! main config); unknown keys are refused so a typo cannot silently turn a
//! rule off.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

use super::observation::Confidence;

/// Why a `[correlate]` table is refused: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value outside its allowed range.
    #[error("correlate.{key}: {reason}")]
    Invalid {
        /// Dotted key below `correlate`, e.g. `dns.min_distinct`.
        key: String,
        /// What is allowed.
        reason: String,
    },
}

/// Serde for CIDR lists as strings (`"10.0.0.0/8"`, a bare address is a
/// /32 or /128): `ipnetwork` is built without its serde feature.
mod nets {
    use ipnetwork::IpNetwork;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &[IpNetwork], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|n| n.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNetwork>, D::Error> {
        let raw: Vec<String> = Vec::deserialize(d)?;
        raw.iter()
            .map(|r| {
                r.parse::<IpNetwork>()
                    .map_err(|e| D::Error::custom(format!("{r:?}: {e}")))
            })
            .collect()
    }
}

fn invalid(key: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Score contribution of each rule (see docs/host.md for what each means).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// `inbound_remote_control`: an outside peer drives an internal host.
    /// Default 30.
    pub inbound_remote_control: u32,
    /// Added to `inbound_remote_control` when the controlling peer is a
    /// hosting/VPS address (a `hosting` finding). Default 15.
    pub from_hosting: u32,
    /// Added to `inbound_remote_control` when the controlling session itself
    /// carries a VPN/proxy/tunnel finding or the peer is in an
    /// `anonymiser_feeds` feed. Default 15.
    pub from_anonymiser: u32,
    /// Added to `inbound_remote_control` when the peer's country is not in
    /// `home_countries` (only when that list is set). Default 10.
    pub from_foreign: u32,
    /// `remote_tool_in_use`: a relay-style remote-control tool (AnyDesk,
    /// TeamViewer, ...) connects out, so the host can be driven through the
    /// vendor's relay. Default 10.
    pub remote_tool_in_use: u32,
    /// `remote_control_with_vpn_egress`: remote control and VPN/proxy/
    /// anonymiser egress on the same host within the window. Default 35.
    pub remote_control_with_vpn_egress: u32,
    /// `multiple_controllers`: several controlling peers or countries in a
    /// short time. Default 20.
    pub multiple_controllers: u32,
    /// `shared_egress`: several internal hosts (or concentrator sessions)
    /// driven from one outside address or prefix at once. Default 30.
    pub shared_egress: u32,
    /// `controller_distance`: the operator is further away than the peer's
    /// location allows. Default 25.
    pub controller_distance: u32,
    /// `relay_on_control`: a controlling session goes through a relay.
    /// Default 20.
    pub relay_on_control: u32,
    /// `sanctioned_contact`: contact with a sanctioned region. Default 50
    /// (alone enough to alert at the default threshold).
    pub sanctioned_contact: u32,
    /// `advisory_vpn_service`: a VPN service named in the public advisories
    /// and reports (Astrill). Default 30.
    pub advisory_vpn_service: u32,
    /// `anonymiser_egress`: any VPN/proxy/tunnel use not allow-listed.
    /// Default 10.
    pub anonymiser_egress: u32,
    /// `off_hours_activity`: context only, never alone enough. Default 5.
    pub off_hours_activity: u32,
    /// `dns_tunnel_spread`: DNS tunnelling spread over many flows.
    /// Default 50 (alone enough to alert at the default threshold).
    pub dns_tunnel_spread: u32,
    /// `repeated_fully_encrypted`: fully-encrypted flows repeated to one
    /// destination. Default 20.
    pub repeated_fully_encrypted: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            inbound_remote_control: 30,
            from_hosting: 15,
            from_anonymiser: 15,
            from_foreign: 10,
            remote_tool_in_use: 10,
            remote_control_with_vpn_egress: 35,
            multiple_controllers: 20,
            shared_egress: 30,
            controller_distance: 25,
            relay_on_control: 20,
            sanctioned_contact: 50,
            advisory_vpn_service: 30,
            anonymiser_egress: 10,
            off_hours_activity: 5,
            dns_tunnel_spread: 50,
            repeated_fully_encrypted: 20,
        }
    }
}

/// A point on Earth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Degrees north, -90..=90.
    pub latitude: f64,
    /// Degrees east, -180..=180.
    pub longitude: f64,
}

/// Working hours of the hosts in some networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkingHours {
    /// Hosts this applies to; the first entry whose list contains the host
    /// wins. Default: empty = every host.
    #[serde(with = "nets")]
    pub networks: Vec<IpNetwork>,
    /// Local time zone as minutes east of UTC (-840..=840). Default 0.
    pub utc_offset_minutes: i32,
    /// First working hour, local (0..=23). Default 8.
    pub start_hour: u8,
    /// End of the working day, local, exclusive (1..=24). Default 19.
    pub end_hour: u8,
    /// Saturdays and Sundays are outside working hours. Default true.
    pub weekdays_only: bool,
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            networks: Vec::new(),
            utc_offset_minutes: 0,
            start_hour: 8,
            end_hour: 19,
            weekdays_only: true,
        }
    }
}

/// An approved remote-management tool: its sessions score nothing (counted
/// in `CorrelateStats::suppressed_allowed_tool`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AllowRule {
    /// Detection protocol name (`teamviewer`, `anydesk`, `rdp`, ...).
    pub protocol: String,
    /// Internal hosts it is approved for. Default: empty = every host.
    #[serde(with = "nets")]
    pub hosts: Vec<IpNetwork>,
    /// Approved peers (the vendor's or the help desk's addresses). Default:
    /// empty = any peer.
    #[serde(with = "nets")]
    pub peers: Vec<IpNetwork>,
    /// Free text for the analyst (ticket, owner). Default empty.
    pub note: String,
}

/// Cross-host "shared egress" settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharedEgressConfig {
    /// How close in time sessions must be to count as "at once", seconds.
    /// Default 3600.
    pub window_s: u64,
    /// Distinct internal hosts (or concentrator sessions) from one outside
    /// prefix that make the rule fire. Default 3.
    pub min_hosts: usize,
    /// IPv4 prefix length grouping outside addresses (a residential
    /// line's /24). Default 24.
    pub ipv4_prefix: u8,
    /// IPv6 prefix length grouping outside addresses. Default 56 (a typical
    /// residential delegation).
    pub ipv6_prefix: u8,
    /// Outside prefixes tracked at once (LRU). Default 4096.
    pub max_prefixes: usize,
    /// Sessions kept per prefix. Default 64.
    pub max_sessions_per_prefix: usize,
}

impl Default for SharedEgressConfig {
    fn default() -> Self {
        SharedEgressConfig {
            window_s: 3600,
            min_hosts: 3,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            max_prefixes: 4096,
            max_sessions_per_prefix: 64,
        }
    }
}

/// "Controller distance" settings (physics in docs/host.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistanceConfig {
    /// The application round trip must be at least this many times the
    /// longest round trip the claimed location explains. Default 3.0.
    pub factor: f64,
    /// ... and exceed it by at least this many ms (absorbs processing
    /// time at both ends). Default 60.
    pub min_excess_ms: f64,
}

impl Default for DistanceConfig {
    fn default() -> Self {
        DistanceConfig {
            factor: 3.0,
            min_excess_ms: 60.0,
        }
    }
}

/// DNS tunnelling/exfiltration spread over many one-query flows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Sliding window, seconds. Default 3600.
    pub window_s: u64,
    /// Distinct names below one registered domain, from one client, within
    /// the window. Default 50.
    pub min_distinct: usize,
    /// ... together with at least one of: mean Shannon entropy of the
    /// subdomain part (bits per character) at least this. Default 3.5.
    pub min_entropy: f64,
    /// ... or mean subdomain length (characters) at least this. Default 24.
    pub min_mean_len: f64,
    /// ... or this share of queries of an `unusual_rrtypes` type.
    /// Default 0.5.
    pub unusual_share: f64,
    /// Query types typical of DNS tunnels. Default `NULL`, `TXT`, `CNAME`,
    /// `MX`, `PRIVATE`, `ANY`.
    pub unusual_rrtypes: Vec<String>,
    /// (client, domain) pairs tracked at once (LRU). Default 4096.
    pub max_domains: usize,
    /// Names remembered per pair (oldest dropped first). Default 512.
    pub max_names_per_domain: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            window_s: 3600,
            min_distinct: 50,
            min_entropy: 3.5,
            min_mean_len: 24.0,
            unusual_share: 0.5,
            unusual_rrtypes: ["NULL", "TXT", "CNAME", "MX", "PRIVATE", "ANY"]
                .map(String::from)
                .to_vec(),
            max_domains: 4096,
            max_names_per_domain: 512,
        }
    }
}

/// Fully-encrypted/obfuscated flows repeated to one destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepeatConfig {
    /// Sliding window, seconds. Default 3600.
    pub window_s: u64,
    /// Flows from one client to one destination ip:port. Default 5.
    pub min_flows: usize,
    /// Detection protocols counted. Default `fully_encrypted`,
    /// `encrypted_proxy`, `shadowsocks`, `obfs4`, `vmess`, `trojan`.
    pub protocols: Vec<String>,
    /// (client, destination) pairs tracked at once (LRU). Default 4096.
    pub max_destinations: usize,
}

impl Default for RepeatConfig {
    fn default() -> Self {
        RepeatConfig {
            window_s: 3600,
            min_flows: 5,
            protocols: [
                "fully_encrypted",
                "encrypted_proxy",
                "shadowsocks",
                "obfs4",
                "vmess",
                "trojan",
            ]
            .map(String::from)
            .to_vec(),
            max_destinations: 4096,
        }
    }
}

/// The whole `[correlate]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelateConfig {
    /// Run the stage (`analyze`, `run`). Default true.
    pub enabled: bool,
    /// Internal networks: only their hosts get host state. Not a key of
    /// `[correlate]`: the sensor's top-level `home_net` is used. Default the
    /// private ranges 10/8, 172.16/12, 192.168/16, fc00::/7 (Suricata's
    /// `HOME_NET` default).
    #[serde(with = "nets", skip_deserializing)]
    pub home_net: Vec<IpNetwork>,
    /// Sliding window over capture time, seconds. Default 86400 (24 h).
    pub window_s: u64,
    /// Internal hosts tracked at once; the least recently seen is evicted.
    /// Default 10000.
    pub max_hosts: usize,
    /// Sessions (remote control, VPN/proxy, sanctioned contact) kept per
    /// host; the oldest is dropped. Default 64.
    pub max_sessions_per_host: usize,
    /// JA4 and HASSH values kept per host (each). Default 16.
    pub max_fingerprints_per_host: usize,
    /// Cross-flow findings (DNS, repeated destination, shared egress) kept
    /// per host. Default 16.
    pub max_findings_per_host: usize,
    /// Flow ids (and community ids) kept as evidence per rule. Default 8.
    pub max_evidence: usize,
    /// Timeline entries in a [`super::HostSummary`]. Default 64.
    pub max_timeline: usize,
    /// Detections below this confidence are ignored. Default `medium`.
    pub min_confidence: Confidence,
    /// Countries (ISO alpha-2) the company works from; a controlling peer
    /// elsewhere is "foreign". Default empty (no foreign modifier).
    pub home_countries: Vec<String>,
    /// Feed names whose members are anonymisers (VPN exits, Tor, proxies).
    /// Default empty.
    pub anonymiser_feeds: Vec<String>,
    /// Remote-control tools that reach the controlled host through the
    /// vendor's relay, so an outbound flow means "can be driven". Default
    /// `anydesk`, `teamviewer`, `rustdesk`, `chrome_remote_desktop`,
    /// `splashtop`, `screenconnect`, `logmein`, `zoho_assist`, `parsec`,
    /// `ammyy`.
    pub relay_tools: Vec<String>,
    /// VPN services named in the advisories and incident reports; matched
    /// against detection protocols and `service` evidence. Default
    /// `astrill` (sources in docs/host.md).
    pub advisory_vpn_services: Vec<String>,
    /// Rule weights.
    pub weights: Weights,
    /// Score at which a host alert is written. Default 50.
    pub alert_threshold: u32,
    /// A further alert, regardless of `alert_interval_s`, once the score
    /// rose by this much since the last alert. Default 25.
    pub alert_step: u32,
    /// At most one alert per host and signature in this much capture time
    /// (unless the score rose by `alert_step`), seconds. Default 3600.
    pub alert_interval_s: u64,
    /// "Short time" for `multiple_controllers`, seconds. Default 3600.
    pub multi_controller_window_s: u64,
    /// Distinct controlling peers that fire `multiple_controllers`.
    /// Default 3.
    pub multi_controller_min_peers: usize,
    /// Distinct controlling countries that fire `multiple_controllers`.
    /// Default 2.
    pub multi_controller_min_countries: usize,
    /// Shared-egress settings.
    pub shared_egress: SharedEgressConfig,
    /// Controller-distance settings.
    pub controller_distance: DistanceConfig,
    /// Where the sensor is; `controller_distance` is off without it.
    /// Default none.
    pub sensor_location: Option<Location>,
    /// Working hours per network list; `off_hours_activity` is off when
    /// empty. Default empty.
    pub working_hours: Vec<WorkingHours>,
    /// Corporate VPN concentrators: VPN flows to them score nothing
    /// (counted), and sessions to them from one outside prefix feed
    /// `shared_egress`. Default empty.
    pub vpn_concentrators: Vec<IpAddr>,
    /// Approved remote-management tools.
    pub allow: Vec<AllowRule>,
    /// Hosts that never get state or score (counted). Default empty.
    #[serde(with = "nets")]
    pub exempt_hosts: Vec<IpNetwork>,
    /// DNS spread settings.
    pub dns: DnsConfig,
    /// Repeated fully-encrypted destination settings.
    pub repeat: RepeatConfig,
}

impl Default for CorrelateConfig {
    fn default() -> Self {
        let nets = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
        CorrelateConfig {
            enabled: true,
            home_net: nets.iter().filter_map(|n| n.parse().ok()).collect(),
            window_s: 86_400,
            max_hosts: 10_000,
            max_sessions_per_host: 64,
            max_fingerprints_per_host: 16,
            max_findings_per_host: 16,
            max_evidence: 8,
            max_timeline: 64,
            min_confidence: Confidence::Medium,
            home_countries: Vec::new(),
            anonymiser_feeds: Vec::new(),
            relay_tools: [
                "anydesk",
                "teamviewer",
                "rustdesk",
                "chrome_remote_desktop",
                "splashtop",
                "screenconnect",
                "logmein",
                "zoho_assist",
                "parsec",
                "ammyy",
            ]
            .map(String::from)
            .to_vec(),
            advisory_vpn_services: vec!["astrill".to_owned()],
            weights: Weights::default(),
            alert_threshold: 50,
            alert_step: 25,
            alert_interval_s: 3600,
            multi_controller_window_s: 3600,
            multi_controller_min_peers: 3,
            multi_controller_min_countries: 2,
            shared_egress: SharedEgressConfig::default(),
            controller_distance: DistanceConfig::default(),
            sensor_location: None,
            working_hours: Vec::new(),
            vpn_concentrators: Vec::new(),
            allow: Vec::new(),
            exempt_hosts: Vec::new(),
            dns: DnsConfig::default(),
            repeat: RepeatConfig::default(),
        }
    }
}

/// Upper bound of any cap, so a typo cannot ask for unbounded memory.
const MAX_CAP: usize = 10_000_000;
/// Upper bound of per-entry list caps.
const MAX_LIST_CAP: usize = 100_000;

fn cap(key: &str, v: usize, max: usize) -> Result<(), ConfigError> {
    if v == 0 || v > max {
        return Err(invalid(key, &format!("must be 1..={max}")));
    }
    Ok(())
}

fn secs(key: &str, v: u64) -> Result<(), ConfigError> {
    // Up to a year: keeps µs arithmetic far from overflow.
    if v == 0 || v > 366 * 86_400 {
        return Err(invalid(key, "must be 1..=31622400 seconds"));
    }
    Ok(())
}

fn location(key: &str, l: &Location) -> Result<(), ConfigError> {
    if !(-90.0..=90.0).contains(&l.latitude) {
        return Err(invalid(&format!("{key}.latitude"), "must be -90..=90"));
    }
    if !(-180.0..=180.0).contains(&l.longitude) {
        return Err(invalid(&format!("{key}.longitude"), "must be -180..=180"));
    }
    Ok(())
}

impl CorrelateConfig {
    /// Checks every range; the error names the first offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        secs("window_s", self.window_s)?;
        secs("alert_interval_s", self.alert_interval_s)?;
        secs("multi_controller_window_s", self.multi_controller_window_s)?;
        secs("shared_egress.window_s", self.shared_egress.window_s)?;
        secs("dns.window_s", self.dns.window_s)?;
        secs("repeat.window_s", self.repeat.window_s)?;
        cap("max_hosts", self.max_hosts, MAX_CAP)?;
        cap(
            "max_sessions_per_host",
            self.max_sessions_per_host,
            MAX_LIST_CAP,
        )?;
        cap(
            "max_fingerprints_per_host",
            self.max_fingerprints_per_host,
            MAX_LIST_CAP,
        )?;
        cap(
            "max_findings_per_host",
            self.max_findings_per_host,
            MAX_LIST_CAP,
        )?;
        cap("max_evidence", self.max_evidence, 1000)?;
        cap("max_timeline", self.max_timeline, MAX_LIST_CAP)?;
        cap(
            "shared_egress.max_prefixes",
            self.shared_egress.max_prefixes,
            MAX_CAP,
        )?;
        cap(
            "shared_egress.max_sessions_per_prefix",
            self.shared_egress.max_sessions_per_prefix,
            MAX_LIST_CAP,
        )?;
        cap("dns.max_domains", self.dns.max_domains, MAX_CAP)?;
        cap(
            "dns.max_names_per_domain",
            self.dns.max_names_per_domain,
            MAX_LIST_CAP,
        )?;
        cap(
            "repeat.max_destinations",
            self.repeat.max_destinations,
            MAX_CAP,
        )?;
        cap(
            "multi_controller_min_peers",
            self.multi_controller_min_peers,
            1000,
        )?;
        cap(
            "multi_controller_min_countries",
            self.multi_controller_min_countries,
            1000,
        )?;
        if self.shared_egress.min_hosts < 2
            || self.shared_egress.min_hosts > self.shared_egress.max_sessions_per_prefix
        {
            return Err(invalid(
                "shared_egress.min_hosts",
                "must be 2..=shared_egress.max_sessions_per_prefix",
            ));
        }
        if self.shared_egress.ipv4_prefix > 32 {
            return Err(invalid("shared_egress.ipv4_prefix", "must be 0..=32"));
        }
        if self.shared_egress.ipv6_prefix > 128 {
            return Err(invalid("shared_egress.ipv6_prefix", "must be 0..=128"));
        }
        if self.dns.min_distinct < 2 || self.dns.min_distinct > self.dns.max_names_per_domain {
            return Err(invalid(
                "dns.min_distinct",
                "must be 2..=dns.max_names_per_domain",
            ));
        }
        if !(0.0..=8.0).contains(&self.dns.min_entropy) {
            return Err(invalid(
                "dns.min_entropy",
                "must be 0..=8 bits per character",
            ));
        }
        if !(0.0..=253.0).contains(&self.dns.min_mean_len) {
            return Err(invalid("dns.min_mean_len", "must be 0..=253"));
        }
        if !(0.0..=1.0).contains(&self.dns.unusual_share) {
            return Err(invalid("dns.unusual_share", "must be 0..=1"));
        }
        if self.repeat.min_flows < 2 || self.repeat.min_flows > MAX_LIST_CAP {
            return Err(invalid("repeat.min_flows", "must be 2..=100000"));
        }
        if !(self.controller_distance.factor >= 1.0 && self.controller_distance.factor <= 1000.0) {
            return Err(invalid("controller_distance.factor", "must be 1..=1000"));
        }
        if !(self.controller_distance.min_excess_ms >= 0.0
            && self.controller_distance.min_excess_ms <= 60_000.0)
        {
            return Err(invalid(
                "controller_distance.min_excess_ms",
                "must be 0..=60000",
            ));
        }
        if let Some(l) = &self.sensor_location {
            location("sensor_location", l)?;
        }
        if self.alert_threshold == 0 {
            return Err(invalid("alert_threshold", "must be at least 1"));
        }
        if self.alert_step == 0 {
            return Err(invalid("alert_step", "must be at least 1"));
        }
        for (i, c) in self.home_countries.iter().enumerate() {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(invalid(
                    &format!("home_countries[{i}]"),
                    "must be an upper-case ISO 3166-1 alpha-2 code",
                ));
            }
        }
        for (i, w) in self.working_hours.iter().enumerate() {
            if !(-840..=840).contains(&w.utc_offset_minutes) {
                return Err(invalid(
                    &format!("working_hours[{i}].utc_offset_minutes"),
                    "must be -840..=840",
                ));
            }
            if w.start_hour > 23 {
                return Err(invalid(
                    &format!("working_hours[{i}].start_hour"),
                    "must be 0..=23",
                ));
            }
            if w.end_hour == 0 || w.end_hour > 24 || w.end_hour <= w.start_hour {
                return Err(invalid(
                    &format!("working_hours[{i}].end_hour"),
                    "must be start_hour+1..=24",
                ));
            }
        }
        for (i, a) in self.allow.iter().enumerate() {
            if a.protocol.is_empty() {
                return Err(invalid(
                    &format!("allow[{i}].protocol"),
                    "must name a detection protocol",
                ));
            }
        }
        Ok(())
    }

    /// True when `ip` is in `home_net`.
    pub fn is_internal(&self, ip: IpAddr) -> bool {
        self.home_net.iter().any(|n| n.contains(ip))
    }

    /// True when `ip` is in `exempt_hosts`.
    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt_hosts.iter().any(|n| n.contains(ip))
    }

    /// The allow rule approving `protocol` between `host` and `peer`.
    pub fn allowed_tool(&self, protocol: &str, host: IpAddr, peer: IpAddr) -> Option<&AllowRule> {
        self.allow.iter().find(|a| {
            a.protocol.eq_ignore_ascii_case(protocol)
                && (a.hosts.is_empty() || a.hosts.iter().any(|n| n.contains(host)))
                && (a.peers.is_empty() || a.peers.iter().any(|n| n.contains(peer)))
        })
    }

    /// The working-hours entry that applies to `host`.
    pub fn working_hours_for(&self, host: IpAddr) -> Option<&WorkingHours> {
        self.working_hours
            .iter()
            .find(|w| w.networks.is_empty() || w.networks.iter().any(|n| n.contains(host)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        assert_eq!(CorrelateConfig::default().validate(), Ok(()));
    }

    #[test]
    fn errors_name_the_key() {
        let mut c = CorrelateConfig::default();
        c.dns.min_distinct = 1;
        let e = c.validate().expect_err("refused");
        assert!(
            e.to_string().starts_with("correlate.dns.min_distinct:"),
            "{e}"
        );
        let mut c = CorrelateConfig::default();
        c.working_hours.push(WorkingHours {
            end_hour: 3,
            start_hour: 9,
            ..Default::default()
        });
        let e = c.validate().expect_err("refused");
        assert!(e.to_string().contains("working_hours[0].end_hour"), "{e}");
        let c = CorrelateConfig {
            max_hosts: 0,
            ..Default::default()
        };
        assert!(
            c.validate()
                .expect_err("refused")
                .to_string()
                .contains("max_hosts")
        );
    }

    #[test]
    fn deserialises_with_defaults_and_refuses_unknown_keys() {
        let c: CorrelateConfig = serde_json::from_str(
            r#"{"max_hosts": 5, "weights": {"shared_egress": 7}, "allow": [{"protocol": "teamviewer", "hosts": ["10.1.0.0/16"]}]}"#,
        )
        .expect("valid");
        assert_eq!(c.max_hosts, 5);
        assert_eq!(c.weights.shared_egress, 7);
        assert_eq!(c.weights.sanctioned_contact, 50);
        assert_eq!(c.window_s, 86_400);
        let h: IpAddr = "10.1.2.3".parse().expect("ip");
        let p: IpAddr = "8.8.8.8".parse().expect("ip");
        assert!(c.allowed_tool("TeamViewer", h, p).is_some());
        assert!(
            c.allowed_tool("teamviewer", "10.2.0.1".parse().expect("ip"), p)
                .is_none()
        );
        assert!(serde_json::from_str::<CorrelateConfig>(r#"{"max_hostz": 5}"#).is_err());
        assert!(serde_json::from_str::<CorrelateConfig>(r#"{"weights": {"nope": 1}}"#).is_err());
    }

    #[test]
    fn the_documented_example_parses_and_matches_the_defaults() {
        let path = format!("{}/docs/host.md", env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(path).expect("docs/host.md");
        let start = doc.find("```toml\n[correlate]").expect("example block") + "```toml\n".len();
        let len = doc[start..].find("```").expect("end of block");
        let table: toml::Table = toml::from_str(&doc[start..start + len]).expect("valid TOML");
        let c: CorrelateConfig = table["correlate"]
            .clone()
            .try_into()
            .expect("valid [correlate]");
        assert_eq!(c.validate(), Ok(()));
        // Everything the example leaves at its default value is the default.
        let d = CorrelateConfig::default();
        assert_eq!(c.weights, d.weights);
        assert_eq!(c.dns, d.dns);
        assert_eq!(c.repeat, d.repeat);
        assert_eq!(c.shared_egress, d.shared_egress);
        assert_eq!(c.controller_distance, d.controller_distance);
        assert_eq!(c.home_net, d.home_net);
        assert_eq!(c.relay_tools, d.relay_tools);
        assert_eq!(
            (c.window_s, c.max_hosts, c.alert_threshold),
            (d.window_s, d.max_hosts, d.alert_threshold)
        );
        assert_eq!(c.working_hours.len(), 1);
        assert_eq!(c.allow[0].protocol, "teamviewer");
    }
}
