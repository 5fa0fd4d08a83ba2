//! [`HostSummary`]: a host's score, reasons and session timeline, shaped
//! for the analyst's report (written later by a report writer); bounded by
//! `max_timeline` entries and the per-host caps.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;

use super::config::CorrelateConfig;
use super::host::{HostState, SessionKind};
use super::rules::RuleHit;
use super::time::format_eve_time;

/// One session on a host's timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// First packet (EVE time format).
    pub start: String,
    /// Last packet (EVE time format).
    pub end: String,
    /// First packet, µs (for charting).
    pub start_us: u64,
    /// Last packet, µs.
    pub end_us: u64,
    /// The host's role.
    pub kind: SessionKind,
    /// Detection category.
    pub category: String,
    /// Tool or protocol.
    pub protocol: String,
    /// The other end.
    pub peer: IpAddr,
    /// Its country, when known.
    pub peer_country: Option<String>,
    /// A human at the keyboard.
    pub interactive: Option<bool>,
    /// gateward flow id.
    pub flow_id: u64,
    /// Community ID.
    pub community_id: Option<String>,
}

/// A host as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostSummary {
    /// The host.
    pub ip: IpAddr,
    /// Score over the window at the end of input.
    pub score: u32,
    /// Rules that make the score, with reasons and evidence.
    pub rules: Vec<RuleHit>,
    /// Host alerts written for it.
    pub alerts: u64,
    /// First seen (EVE time format).
    pub first_seen: String,
    /// Last seen (EVE time format).
    pub last_seen: String,
    /// Sessions in the window, oldest first (the last `max_timeline`).
    pub timeline: Vec<TimelineEntry>,
    /// Outside peers that remote-controlled it, sorted.
    pub controlling_peers: Vec<IpAddr>,
    /// Their countries, sorted.
    pub controlling_countries: Vec<String>,
    /// JA4 client fingerprints seen from it.
    pub ja4: Vec<String>,
    /// HASSH client fingerprints seen from it.
    pub hassh: Vec<String>,
    /// UTC hours of day with activity in the window.
    pub active_hours_utc: Vec<u8>,
}

/// Builds a host's summary from its (window-pruned) state and hits.
pub fn summarize(
    cfg: &CorrelateConfig,
    h: &HostState,
    hits: Vec<RuleHit>,
    cutoff_us: u64,
) -> HostSummary {
    let mut entries: Vec<TimelineEntry> = h
        .sessions
        .iter()
        .map(|s| TimelineEntry {
            start: format_eve_time(s.start_us),
            end: format_eve_time(s.end_us),
            start_us: s.start_us,
            end_us: s.end_us,
            kind: s.kind,
            category: s.category.clone(),
            protocol: s.protocol.clone(),
            peer: s.peer,
            peer_country: s.peer_info.country_iso.clone(),
            interactive: s.interactive,
            flow_id: s.flow_id,
            community_id: s.community_id.clone(),
        })
        .collect();
    entries.sort_by_key(|a| (a.start_us, a.flow_id, a.kind));
    let skip = entries.len().saturating_sub(cfg.max_timeline);
    let control = h
        .sessions
        .iter()
        .filter(|s| s.kind == SessionKind::RemoteIn && s.peer_external);
    let peers: BTreeSet<IpAddr> = control.clone().map(|s| s.peer).collect();
    let countries: BTreeSet<String> = control
        .filter_map(|s| s.peer_info.country_iso.clone())
        .collect();
    HostSummary {
        ip: h.ip,
        score: super::rules::total(&hits),
        rules: hits,
        alerts: h.alerts,
        first_seen: format_eve_time(h.first_seen_us),
        last_seen: format_eve_time(h.last_seen_us),
        timeline: entries.into_iter().skip(skip).collect(),
        controlling_peers: peers.into_iter().collect(),
        controlling_countries: countries.into_iter().collect(),
        ja4: h.ja4.iter().cloned().collect(),
        hassh: h.hassh.iter().cloned().collect(),
        active_hours_utc: h.active_hours(cutoff_us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::host::Session;
    use crate::correlate::observation::PeerInfo;

    #[test]
    fn timeline_is_sorted_capped_to_the_most_recent_and_lists_controllers() {
        let cfg = CorrelateConfig {
            max_timeline: 3,
            ..Default::default()
        };
        let mut h = HostState::new("10.0.0.1".parse().expect("ip"), 0);
        for (i, start) in [50u64, 10, 40, 20, 30].into_iter().enumerate() {
            let peer = format!("198.51.100.{i}");
            h.sessions.push_back(Session {
                server_port: Some(5900),
                peer_info: PeerInfo {
                    country_iso: Some(if i % 2 == 0 { "DE" } else { "FR" }.into()),
                    ..PeerInfo::default()
                },
                start_us: start,
                end_us: start + 5,
                ..Session::sample(SessionKind::RemoteIn, "vnc", &peer, i as u64)
            });
        }
        let s = summarize(&cfg, &h, Vec::new(), 0);
        let starts: Vec<u64> = s.timeline.iter().map(|t| t.start_us).collect();
        assert_eq!(starts, vec![30, 40, 50]);
        assert_eq!(s.controlling_peers.len(), 5);
        assert_eq!(
            s.controlling_countries,
            vec!["DE".to_owned(), "FR".to_owned()]
        );
        assert_eq!(s.score, 0);
    }
}
