//! [`Observation`]: what the correlation stage needs to know about one
//! finished flow (or one alert), in gateward's EVE vocabulary, and
//! [`Observation::from_eve`] to read it back from an EVE line.
//!
//! Owned and serde-able so the same type feeds the in-process stage and an
//! EVE-reading `gateward correlate`. Every string is truncated and every list
//! capped on the way in, so hostile input cannot make the stage's state grow.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::time::parse_eve_time;

/// Longest string kept from input (bytes, cut at a char boundary).
pub const MAX_STR: usize = 256;
/// Longest DNS name kept (the DNS limit is 253 text bytes).
pub const MAX_DNS_NAME: usize = 255;
/// Detections kept per observation.
pub const MAX_DETECTIONS: usize = 16;
/// Evidence entries kept per detection.
pub const MAX_EVIDENCE: usize = 16;
/// Feed names kept per observation.
pub const MAX_FEEDS: usize = 16;

/// Which EVE record an observation came from: the end-of-flow record
/// carries the final counters, an alert the state at the deciding packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A `flow` record (the flow ended or reached its active timeout).
    #[default]
    Flow,
    /// An `alert` record.
    Alert,
}

/// Confidence of a detection, ordered so that `>=` compares strength.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Port or name only.
    #[default]
    Low,
    /// Behaviour or partial structure.
    Medium,
    /// Structure seen.
    High,
    /// Structure verified both ways.
    Certain,
}

impl Confidence {
    /// The EVE name (`low` … `certain`), or `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "low" => Confidence::Low,
            "medium" => Confidence::Medium,
            "high" => Confidence::High,
            "certain" => Confidence::Certain,
            _ => return None,
        })
    }
}

/// One single-flow finding, as in EVE `detections[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct ObsDetection {
    /// `vpn`, `proxy`, `tunnel`, `remote_access`, `hosting`,
    /// `sanctioned_region`, `relay`, ...
    pub category: String,
    /// Lower-case protocol, tool or service (`anydesk`, `openvpn`, `astrill`).
    pub protocol: String,
    /// How sure the single-flow detector was.
    pub confidence: Confidence,
    /// `structure`, `behaviour`, `name`, `address`, `port`.
    pub basis: String,
    /// Short strings an analyst can check (capped).
    pub evidence: BTreeMap<String, String>,
}

/// Enrichment of one endpoint (EVE `src_geo`/`dest_geo`, `src_as`/`dest_as`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct PeerInfo {
    /// ISO 3166-1 alpha-2 country.
    pub country_iso: Option<String>,
    /// Autonomous system number.
    pub as_number: Option<u32>,
    /// Autonomous system organisation.
    pub as_organization: Option<String>,
    /// Latitude in degrees, when the geo database gives coordinates.
    pub latitude: Option<f64>,
    /// Longitude in degrees, when the geo database gives coordinates.
    pub longitude: Option<f64>,
}

/// EVE `remote_session`: who drove whom, for how long, how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct RemoteSessionInfo {
    /// `inbound`, `outbound`, `internal`, `external`.
    pub direction: Option<String>,
    /// The internal side when exactly one side is inside.
    pub inside_ip: Option<IpAddr>,
    /// Session length in seconds.
    pub duration_s: Option<f64>,
    /// A human at the keyboard (small client payloads at a human pace).
    pub interactive: Option<bool>,
}

/// EVE `rtt`: cross-layer round trips to the remote side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct RttInfo {
    /// TCP handshake round trip, ms.
    pub tcp_ms: Option<f64>,
    /// Smallest application request→response time, ms.
    pub app_ms: Option<f64>,
    /// `app_ms / tcp_ms`.
    pub ratio: Option<f64>,
}

/// The DNS question of a one-query flow and what came back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct DnsInfo {
    /// The first question's name, lower-cased, without a trailing dot.
    pub rrname: String,
    /// Its QTYPE mnemonic (`A`, `TXT`, `NULL`, ...).
    pub rrtype: Option<String>,
    /// Answers logged, when a response was seen.
    pub answers: Option<u32>,
    /// Transport payload bytes from the server, when a response was seen.
    pub response_bytes: Option<u64>,
}

/// Everything the correlation stage uses about one flow or alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Observation {
    /// Record kind.
    pub event_type: EventKind,
    /// First packet, µs since the epoch (capture time).
    pub start_us: u64,
    /// Last packet, µs since the epoch (capture time).
    pub end_us: u64,
    /// gateward's stable flow id.
    pub flow_id: u64,
    /// Community ID v1, for joining with other tools.
    pub community_id: Option<String>,
    /// Client address.
    pub src_ip: Option<IpAddr>,
    /// Client port.
    pub src_port: Option<u16>,
    /// Server address.
    pub dest_ip: Option<IpAddr>,
    /// Server port.
    pub dest_port: Option<u16>,
    /// `TCP`, `UDP`, ... as in EVE.
    pub proto: String,
    /// ECS direction from the sensor's `home_net`, when it had one.
    pub network_direction: Option<String>,
    /// Findings of the single-flow detectors (capped).
    pub detections: Vec<ObsDetection>,
    /// Enrichment of the client.
    pub src_peer: PeerInfo,
    /// Enrichment of the server.
    pub dest_peer: PeerInfo,
    /// Prefix feeds / AS lists either endpoint is in (capped).
    pub feeds: Vec<String>,
    /// Remote-session summary of a remote-access flow.
    pub remote_session: Option<RemoteSessionInfo>,
    /// Cross-layer round trips.
    pub rtt: Option<RttInfo>,
    /// TLS client fingerprint (JA4).
    pub ja4: Option<String>,
    /// SSH client fingerprint (HASSH hash).
    pub hassh: Option<String>,
    /// DNS question and answer summary.
    pub dns: Option<DnsInfo>,
    /// Frame bytes client → server.
    pub bytes_toserver: u64,
    /// Frame bytes server → client.
    pub bytes_toclient: u64,
    /// Packets client → server.
    pub pkts_toserver: u64,
    /// Packets server → client.
    pub pkts_toclient: u64,
}

/// A DNS name cut to the length [`Observation::from_eve`] keeps.
pub fn truncate_name(s: &str) -> String {
    truncate(s, MAX_DNS_NAME)
}

/// Cuts a string to at most `max` bytes at a char boundary.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn string_at(v: &Value, path: &[&str]) -> Option<String> {
    str_at(v, path).map(|s| truncate(s, MAX_STR))
}

fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_u64()
}

fn f64_at(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64().filter(|f| f.is_finite())
}

fn ip_at(v: &Value, key: &str) -> Option<IpAddr> {
    str_at(v, &[key]).filter(|s| s.len() <= 64)?.parse().ok()
}

fn port_at(v: &Value, key: &str) -> Option<u16> {
    u64_at(v, &[key]).and_then(|p| u16::try_from(p).ok())
}

fn peer(v: &Value, geo: &str, asn: &str) -> PeerInfo {
    let lat = f64_at(v, &[geo, "latitude"])
        .or_else(|| f64_at(v, &[geo, "location", "lat"]))
        .filter(|l| (-90.0..=90.0).contains(l));
    let lon = f64_at(v, &[geo, "longitude"])
        .or_else(|| f64_at(v, &[geo, "location", "lon"]))
        .filter(|l| (-180.0..=180.0).contains(l));
    // Coordinates only as a pair.
    let (latitude, longitude) = match (lat, lon) {
        (Some(a), Some(b)) => (Some(a), Some(b)),
        _ => (None, None),
    };
    PeerInfo {
        country_iso: str_at(v, &[geo, "country_iso"])
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase()),
        as_number: u64_at(v, &[asn, "number"]).and_then(|n| u32::try_from(n).ok()),
        as_organization: string_at(v, &[asn, "organization"]),
        latitude,
        longitude,
    }
}

fn detection(d: &Value) -> Option<ObsDetection> {
    let category = str_at(d, &["category"])?;
    let protocol = str_at(d, &["protocol"])?;
    let mut evidence = BTreeMap::new();
    if let Some(ev) = d.get("evidence").and_then(Value::as_object) {
        for (k, v) in ev.iter().take(MAX_EVIDENCE) {
            if let Some(s) = v.as_str() {
                evidence.insert(truncate(k, 64), truncate(s, MAX_STR));
            }
        }
    }
    Some(ObsDetection {
        category: truncate(category, 64).to_ascii_lowercase(),
        protocol: truncate(protocol, 64).to_ascii_lowercase(),
        confidence: str_at(d, &["confidence"])
            .and_then(Confidence::parse)
            .unwrap_or_default(),
        basis: string_at(d, &["basis"]).unwrap_or_default(),
        evidence,
    })
}

fn dns(v: &Value) -> Option<DnsInfo> {
    let d = v.get("dns")?;
    let q = d.get("queries")?.as_array()?.first()?;
    let name = str_at(q, &["rrname"])?;
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    let is_response = d.get("type").and_then(Value::as_str) == Some("response");
    let answers = d
        .get("answers")
        .and_then(Value::as_array)
        .map(|a| u32::try_from(a.len()).unwrap_or(u32::MAX));
    Some(DnsInfo {
        rrname: truncate(name, MAX_DNS_NAME).to_ascii_lowercase(),
        rrtype: str_at(q, &["rrtype"]).map(|t| truncate(t, 16)),
        answers: if is_response {
            Some(answers.unwrap_or(0))
        } else {
            answers
        },
        response_bytes: if is_response {
            u64_at(v, &["flow", "payload_bytes_toclient"])
        } else {
            None
        },
    })
}

impl Observation {
    /// Reads a gateward EVE `flow` or `alert` record. Returns `None` for
    /// other event types or when the addresses, `flow_id` or times are
    /// missing or malformed; optional parts that are missing or of the wrong
    /// type are left empty. Never panics.
    pub fn from_eve(v: &Value) -> Option<Observation> {
        let event_type = match str_at(v, &["event_type"])? {
            "flow" => EventKind::Flow,
            "alert" => EventKind::Alert,
            _ => return None,
        };
        let start_us = str_at(v, &["flow", "start"])
            .or_else(|| str_at(v, &["timestamp"]))
            .and_then(parse_eve_time)?;
        let end_us = str_at(v, &["flow", "end"])
            .and_then(parse_eve_time)
            .unwrap_or(start_us)
            .max(start_us);
        let proto = match v.get("proto") {
            Some(Value::String(s)) => truncate(s, 16),
            Some(Value::Number(n)) => truncate(&n.to_string(), 16),
            _ => String::new(),
        };
        let detections = v
            .get("detections")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(detection)
                    .take(MAX_DETECTIONS)
                    .collect()
            })
            .unwrap_or_default();
        let feeds = v
            .get("feeds")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .take(MAX_FEEDS)
                    .map(|s| truncate(s, 64))
                    .collect()
            })
            .unwrap_or_default();
        let remote_session =
            v.get("remote_session")
                .filter(|r| r.is_object())
                .map(|r| RemoteSessionInfo {
                    direction: string_at(r, &["direction"]),
                    inside_ip: ip_at(r, "inside_ip"),
                    duration_s: f64_at(r, &["duration_s"]).filter(|d| *d >= 0.0),
                    interactive: r.get("interactive").and_then(Value::as_bool),
                });
        let rtt = v.get("rtt").filter(|r| r.is_object()).map(|r| RttInfo {
            tcp_ms: f64_at(r, &["tcp_ms"]).filter(|d| *d >= 0.0),
            app_ms: f64_at(r, &["app_ms"]).filter(|d| *d >= 0.0),
            ratio: f64_at(r, &["ratio"]).filter(|d| *d >= 0.0),
        });
        Some(Observation {
            event_type,
            start_us,
            end_us,
            flow_id: u64_at(v, &["flow_id"])?,
            community_id: string_at(v, &["community_id"]),
            src_ip: Some(ip_at(v, "src_ip")?),
            src_port: port_at(v, "src_port"),
            dest_ip: Some(ip_at(v, "dest_ip")?),
            dest_port: port_at(v, "dest_port"),
            proto,
            network_direction: string_at(v, &["network_direction"]),
            detections,
            src_peer: peer(v, "src_geo", "src_as"),
            dest_peer: peer(v, "dest_geo", "dest_as"),
            feeds,
            remote_session,
            rtt,
            ja4: string_at(v, &["tls", "ja4"]),
            hassh: string_at(v, &["ssh", "client", "hassh", "hash"]),
            dns: dns(v),
            bytes_toserver: u64_at(v, &["flow", "bytes_toserver"]).unwrap_or(0),
            bytes_toclient: u64_at(v, &["flow", "bytes_toclient"]).unwrap_or(0),
            pkts_toserver: u64_at(v, &["flow", "pkts_toserver"]).unwrap_or(0),
            pkts_toclient: u64_at(v, &["flow", "pkts_toclient"]).unwrap_or(0),
        })
    }

    /// True when every string and list is within the input limits that
    /// [`Observation::from_eve`] applies.
    pub fn is_bounded(&self) -> bool {
        let s = |v: &Option<String>| v.as_ref().is_none_or(|x| x.len() <= MAX_STR);
        self.detections.len() <= MAX_DETECTIONS
            && self.feeds.len() <= MAX_FEEDS
            && self.feeds.iter().all(|f| f.len() <= 64)
            && self.proto.len() <= 16
            && s(&self.community_id)
            && s(&self.network_direction)
            && s(&self.ja4)
            && s(&self.hassh)
            && s(&self.src_peer.as_organization)
            && s(&self.dest_peer.as_organization)
            && self
                .src_peer
                .country_iso
                .as_ref()
                .is_none_or(|c| c.len() == 2)
            && self
                .dest_peer
                .country_iso
                .as_ref()
                .is_none_or(|c| c.len() == 2)
            && self.dns.as_ref().is_none_or(|d| {
                d.rrname.len() <= MAX_DNS_NAME && d.rrtype.as_ref().is_none_or(|t| t.len() <= 16)
            })
            && self.remote_session.as_ref().is_none_or(|r| s(&r.direction))
            && self.detections.iter().all(|d| {
                d.category.len() <= 64
                    && d.protocol.len() <= 64
                    && d.basis.len() <= MAX_STR
                    && d.evidence.len() <= MAX_EVIDENCE
                    && d.evidence
                        .iter()
                        .all(|(k, v)| k.len() <= 64 && v.len() <= MAX_STR)
            })
    }

    /// A copy cut to the input limits (see [`Observation::is_bounded`]);
    /// copies only what it keeps.
    pub fn clamped(&self) -> Observation {
        let s = |v: &Option<String>| v.as_deref().map(|x| truncate(x, MAX_STR));
        let peer = |p: &PeerInfo| PeerInfo {
            country_iso: p.country_iso.as_ref().filter(|c| c.len() == 2).cloned(),
            as_number: p.as_number,
            as_organization: s(&p.as_organization),
            latitude: p.latitude,
            longitude: p.longitude,
        };
        Observation {
            event_type: self.event_type,
            start_us: self.start_us,
            end_us: self.end_us,
            flow_id: self.flow_id,
            community_id: s(&self.community_id),
            src_ip: self.src_ip,
            src_port: self.src_port,
            dest_ip: self.dest_ip,
            dest_port: self.dest_port,
            proto: truncate(&self.proto, 16),
            network_direction: s(&self.network_direction),
            detections: self
                .detections
                .iter()
                .take(MAX_DETECTIONS)
                .map(|d| ObsDetection {
                    category: truncate(&d.category, 64),
                    protocol: truncate(&d.protocol, 64),
                    confidence: d.confidence,
                    basis: truncate(&d.basis, MAX_STR),
                    evidence: d
                        .evidence
                        .iter()
                        .take(MAX_EVIDENCE)
                        .map(|(k, v)| (truncate(k, 64), truncate(v, MAX_STR)))
                        .collect(),
                })
                .collect(),
            src_peer: peer(&self.src_peer),
            dest_peer: peer(&self.dest_peer),
            feeds: self
                .feeds
                .iter()
                .take(MAX_FEEDS)
                .map(|f| truncate(f, 64))
                .collect(),
            remote_session: self.remote_session.as_ref().map(|r| RemoteSessionInfo {
                direction: s(&r.direction),
                ..r.clone()
            }),
            rtt: self.rtt.clone(),
            ja4: s(&self.ja4),
            hassh: s(&self.hassh),
            dns: self.dns.as_ref().map(|d| DnsInfo {
                rrname: truncate(&d.rrname, MAX_DNS_NAME),
                rrtype: d.rrtype.as_deref().map(|t| truncate(t, 16)),
                answers: d.answers,
                response_bytes: d.response_bytes,
            }),
            bytes_toserver: self.bytes_toserver,
            bytes_toclient: self.bytes_toclient,
            pkts_toserver: self.pkts_toserver,
            pkts_toclient: self.pkts_toclient,
        }
    }

    /// True when a detection of `category` at `min` confidence or above is
    /// present.
    pub fn has_category(&self, category: &str, min: Confidence) -> bool {
        self.detections
            .iter()
            .any(|d| d.category == category && d.confidence >= min)
    }

    /// Detections at `min` confidence or above.
    pub fn detections_at(&self, min: Confidence) -> impl Iterator<Item = &ObsDetection> {
        self.detections.iter().filter(move |d| d.confidence >= min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_flow(file: &str) -> Observation {
        let path = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("golden file");
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event_type"] == "flow")
            .find_map(|v| Observation::from_eve(&v))
            .expect("a flow record")
    }

    fn flow_to(file: &str, dest: &str) -> Observation {
        let path = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("golden file");
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event_type"] == "flow" && v["dest_ip"] == dest)
            .find_map(|v| Observation::from_eve(&v))
            .expect("a flow record")
    }

    #[test]
    fn reads_an_rdp_flow() {
        let o = first_flow("recorded__rdp-xfreerdp.pcap.jsonl");
        assert_eq!(o.event_type, EventKind::Flow);
        assert_eq!(o.flow_id, 1_575_516_253_527_602);
        assert_eq!(o.src_ip, "10.99.0.2".parse().ok());
        assert_eq!(o.dest_port, Some(3389));
        assert_eq!(o.proto, "TCP");
        assert_eq!(
            o.community_id.as_deref(),
            Some("1:Pj5vPSndgDj5qlUwStSrEJ2g97o=")
        );
        assert_eq!(o.network_direction.as_deref(), Some("outbound"));
        assert_eq!(
            super::super::time::format_eve_time(o.start_us),
            "2026-11-21T02:36:38.141133+0000"
        );
        assert_eq!(
            super::super::time::format_eve_time(o.end_us),
            "2026-11-21T02:36:52.792051+0000"
        );
        let d = &o.detections[0];
        assert_eq!(
            (d.category.as_str(), d.protocol.as_str()),
            ("remote_access", "rdp")
        );
        assert_eq!(d.confidence, Confidence::Certain);
        assert_eq!(
            d.evidence.get("cookie_user").map(String::as_str),
            Some("alice")
        );
        let rs = o.remote_session.as_ref().expect("remote_session");
        assert_eq!(rs.inside_ip, "10.99.0.2".parse().ok());
        assert_eq!(rs.interactive, Some(false));
        assert_eq!(rs.duration_s, Some(14.651));
        let rtt = o.rtt.as_ref().expect("rtt");
        assert_eq!((rtt.tcp_ms, rtt.app_ms), (Some(0.042), Some(0.021)));
        assert_eq!((o.pkts_toserver, o.bytes_toclient), (44, 22313));
    }

    #[test]
    fn reads_vpn_sanctioned_dns_and_ssh_flows() {
        let o = first_flow("recorded__openvpn-udp-plain.pcap.jsonl");
        assert_eq!(o.detections[0].protocol, "openvpn");
        assert_eq!(o.proto, "UDP");
        assert!(o.remote_session.is_none());

        let o = flow_to("sanctioned.pcap.enrich.jsonl", "175.45.176.1");
        assert_eq!(o.dest_peer.country_iso.as_deref(), Some("KP"));
        assert_eq!(o.dest_peer.as_number, Some(131_279));
        assert_eq!(
            o.ja4.as_deref(),
            Some("t13d1715h2_5b57614c22b0_3d5424432f57")
        );
        assert!(o.has_category("sanctioned_region", Confidence::High));

        let o = first_flow("dns.pcap.jsonl");
        let d = o.dns.as_ref().expect("dns");
        assert_eq!(d.rrname, "www.l.google.com");
        assert_eq!(d.rrtype.as_deref(), Some("AAAA"));

        let o = first_flow("recorded__iodine-dns.pcap.jsonl");
        assert_eq!(
            o.dns.as_ref().and_then(|d| d.rrtype.as_deref()),
            Some("NULL")
        );

        let o = first_flow("recorded__ssh-interactive.pcap.jsonl");
        assert_eq!(o.hassh.as_deref(), Some("472b5de333ad665af5cbf10ff892c4df"));
    }

    #[test]
    fn every_golden_line_parses_without_panic() {
        let dir = format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"));
        let mut flows = 0;
        for entry in std::fs::read_dir(dir).expect("golden dir").flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                if let Ok(v) = serde_json::from_str::<Value>(line)
                    && let Some(o) = Observation::from_eve(&v)
                {
                    assert!(o.end_us >= o.start_us);
                    flows += 1;
                }
            }
        }
        assert!(flows > 100, "{flows}");
    }

    #[test]
    fn hostile_input_is_refused_or_truncated() {
        for v in [
            serde_json::json!(null),
            serde_json::json!([1, 2]),
            serde_json::json!({"event_type": "flow"}),
            serde_json::json!({"event_type": "flow", "src_ip": 5, "dest_ip": "1.2.3.4", "flow_id": 1, "timestamp": "2026-11-21T02:36:38+0000"}),
            serde_json::json!({"event_type": "stats"}),
        ] {
            assert!(Observation::from_eve(&v).is_none());
        }
        let huge = "é".repeat(100_000);
        let v = serde_json::json!({
            "event_type": "flow", "src_ip": "10.0.0.1", "dest_ip": "1.2.3.4", "flow_id": 1,
            "src_port": 70000, "timestamp": "2026-11-21T02:36:38+0000",
            "community_id": huge, "detections": vec![serde_json::json!({"category": "vpn", "protocol": huge, "confidence": 7, "evidence": {"k": huge}}); 100],
            "dns": {"queries": [{"rrname": huge}]}, "rtt": {"app_ms": "x"}, "remote_session": 3,
            "dest_geo": {"country_iso": huge, "latitude": 1000.0}
        });
        let o = Observation::from_eve(&v).expect("parses");
        assert!(o.community_id.as_ref().is_some_and(|c| c.len() <= MAX_STR));
        assert_eq!(o.detections.len(), MAX_DETECTIONS);
        assert!(o.detections[0].protocol.len() <= 64);
        assert_eq!(o.detections[0].confidence, Confidence::Low);
        assert!(
            o.dns
                .as_ref()
                .is_some_and(|d| d.rrname.len() <= MAX_DNS_NAME)
        );
        assert_eq!(o.src_port, None);
        assert!(o.remote_session.is_none());
        assert_eq!(o.rtt.as_ref().and_then(|r| r.app_ms), None);
        assert_eq!(o.dest_peer.country_iso, None);
        assert_eq!(o.dest_peer.latitude, None);
        assert!(o.is_bounded());
        let mut big = o.clone();
        big.ja4 = Some(huge.clone());
        big.feeds = vec![huge.clone(); 100];
        assert!(!big.is_bounded());
        let c = big.clamped();
        assert!(c.is_bounded());
        assert_eq!(c.feeds.len(), MAX_FEEDS);
    }

    #[test]
    fn reads_coordinates_only_as_a_pair() {
        let base = serde_json::json!({
            "event_type": "alert", "src_ip": "203.0.113.9", "dest_ip": "10.0.0.1", "flow_id": 7,
            "timestamp": "2026-11-21T02:36:38.141133+0000",
            "src_geo": {"country_iso": "de", "latitude": 52.5, "longitude": 13.4},
            "dest_geo": {"location": {"lat": 40.7}},
            "src_as": {"number": 24940, "organization": "Hetzner Online GmbH"}
        });
        let o = Observation::from_eve(&base).expect("parses");
        assert_eq!(o.event_type, EventKind::Alert);
        assert_eq!(o.end_us, o.start_us);
        assert_eq!(
            (o.src_peer.latitude, o.src_peer.longitude),
            (Some(52.5), Some(13.4))
        );
        assert_eq!(o.src_peer.country_iso.as_deref(), Some("DE"));
        assert_eq!(o.src_peer.as_number, Some(24_940));
        assert_eq!((o.dest_peer.latitude, o.dest_peer.longitude), (None, None));
    }

    #[test]
    fn every_field_of_real_lines_with_the_wrong_type_never_panics() {
        let path = format!(
            "{}/tests/golden/recorded__rdp-xfreerdp.pcap.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).expect("golden file");
        let line: Value = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["event_type"] == "flow")
            .expect("a flow line");
        let wrong = [
            Value::Null,
            serde_json::json!(-1),
            serde_json::json!(1e300),
            serde_json::json!("x"),
            serde_json::json!([]),
            serde_json::json!({}),
            Value::String("9".repeat(5000)),
        ];
        let mut paths: Vec<Vec<String>> = Vec::new();
        if let Some(obj) = line.as_object() {
            for (k, v) in obj {
                paths.push(vec![k.clone()]);
                if let Some(inner) = v.as_object() {
                    paths.extend(inner.keys().map(|k2| vec![k.clone(), k2.clone()]));
                }
            }
        }
        paths.push(vec!["detections".into(), "0".into()]);
        for path in &paths {
            for w in &wrong {
                let mut v = line.clone();
                let slot = path
                    .iter()
                    .try_fold(&mut v, |cur, p| match p.parse::<usize>() {
                        Ok(i) => cur.get_mut(i),
                        Err(_) => cur.get_mut(p.as_str()),
                    });
                if let Some(slot) = slot {
                    *slot = w.clone();
                }
                if let Some(o) = Observation::from_eve(&v) {
                    assert!(o.is_bounded(), "{path:?}");
                }
            }
        }
    }
}
