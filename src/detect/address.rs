//! Address findings: turns the enrichment service's answers about a
//! flow's endpoints (sanctions rules, hosting AS lists, VPN/proxy/Tor feeds)
//! into detections. Enrichment only answers look-ups; deciding what they
//! mean is detection's job.

use super::{Basis, Category, Confidence, Detection, Protocol};
use crate::enrich::feeds::{FeedCategory, FeedConfidence, FeedKind};
use crate::enrich::sanctions::SanctionMatch;
use crate::enrich::*;

impl From<FeedConfidence> for Confidence {
    fn from(c: FeedConfidence) -> Self {
        match c {
            FeedConfidence::Low => Confidence::Low,
            FeedConfidence::Medium => Confidence::Medium,
            FeedConfidence::High => Confidence::High,
        }
    }
}

fn side_name(server: bool) -> &'static str {
    if server { "server" } else { "client" }
}

/// The address-based detections of a flow, from its endpoints' look-ups.
///
/// Only endpoints outside `home_net` count (`client_inside` /
/// `server_inside`). At most one detection per (category, protocol):
///
/// * `sanctioned_region` (protocol `sanctions`, severity 1; `watch_list`,
///   severity 3) when a remote endpoint matches a rule. Confidence: high for
///   a country, medium for a subdivision (region geolocation is coarser;
///   `approximate` says when the rule covers only part of it).
/// * `hosting` (basis address) only when `flow_is_suspicious` (the flow
///   already has a VPN, proxy or remote-access detection) and a remote
///   endpoint is in a hosting AS list or feed: plain web traffic to a cloud
///   provider never alerts.
/// * `vpn` / `proxy` (basis address) when a remote endpoint is in a feed or
///   AS list of category `vpn`, `proxy` or `tor`; `custom` feeds only
///   appear in the event's feed list.
pub fn detections(
    client: &IpInfo,
    server: &IpInfo,
    client_inside: bool,
    server_inside: bool,
    flow_is_suspicious: bool,
) -> Vec<Detection> {
    let mut out: Vec<Detection> = Vec::new();
    let remotes: [(&IpInfo, bool); 2] = [(server, true), (client, false)];
    let remotes = remotes.into_iter().filter(|(_, is_server)| {
        !if *is_server {
            server_inside
        } else {
            client_inside
        }
    });

    // Sanctions: the strongest match of either remote side.
    let mut best: Option<(&IpInfo, bool, SanctionMatch)> = None;
    for (info, is_server) in remotes.clone() {
        if let Some(m) = info.sanction
            && best.is_none_or(|(_, _, b)| b.watch && !m.watch)
        {
            best = Some((info, is_server, m));
        }
    }
    if let Some((info, is_server, m)) = best {
        out.push(sanction_detection(info, is_server, m));
    }

    for (info, is_server) in remotes {
        for hit in info.feeds.iter() {
            let f = hit.feed;
            let (category, protocol) = match (f.category, f.kind) {
                (FeedCategory::Hosting, _) if !flow_is_suspicious => continue,
                (FeedCategory::Hosting, FeedKind::Asn) => (Category::Hosting, Protocol::HostingAsn),
                (FeedCategory::Hosting, FeedKind::Prefix) => {
                    (Category::Hosting, Protocol::HostingFeed)
                }
                (FeedCategory::Vpn, _) => (Category::Vpn, Protocol::VpnFeed),
                (FeedCategory::Proxy, _) => (Category::Proxy, Protocol::ProxyFeed),
                (FeedCategory::Tor, _) => (Category::Proxy, Protocol::Tor),
                (FeedCategory::Custom, _) => continue,
            };
            if out
                .iter()
                .any(|d| d.category == category && d.protocol == protocol)
            {
                continue;
            }
            out.push(feed_detection(info, is_server, hit, category, protocol));
        }
    }
    out
}

fn sanction_detection(info: &IpInfo, is_server: bool, m: SanctionMatch) -> Detection {
    let side = side_name(is_server);
    let (confidence, what) = match m.kind {
        sanctions::RuleKind::Country => (Confidence::High, "country"),
        sanctions::RuleKind::Subdivision => (Confidence::Medium, "region"),
    };
    let source = if info.sanction_via_hint {
        "the built-in registry allocation".to_string()
    } else {
        info.geo.map_or_else(
            || "geolocation".to_string(),
            |g| format!("{} ({})", g.db, g.layout),
        )
    };
    let mut reason = if m.watch {
        format!(
            "{side} {} is in watch-listed {what} {}, per {source}",
            info.ip, m.rule
        )
    } else {
        format!(
            "{side} {} is in sanctioned {what} {} ({}), per {source}",
            info.ip, m.rule, m.programme
        )
    };
    if m.approximate {
        reason.push_str(&format!(
            "; approximate: the rule covers only part of {}",
            m.rule
        ));
    }
    let protocol = if m.watch {
        Protocol::WatchList
    } else {
        Protocol::Sanctions
    };
    let mut d = Detection::new(
        Category::SanctionedRegion,
        protocol,
        confidence,
        Basis::Address,
        reason,
    )
    .with("side", side)
    .with("ip", info.ip)
    .with("rule", m.rule)
    .with("programme", m.programme)
    .with("approximate", m.approximate)
    .with("watch", m.watch);
    if let Some(c) = info.country_iso {
        d = d.with("country_iso", c);
    }
    if let Some(s) = info.subdivision_iso {
        d = d.with("subdivision_iso", s);
    }
    if info.sanction_via_hint {
        d = d.with("db", "builtin");
    } else if let Some(g) = info.geo {
        d = d
            .with("db", g.db)
            .with("db_layout", g.layout)
            .with("precision", g.precision.name());
        if g.subdivision_from_name {
            d = d.with("subdivision_from_name", true);
        }
    }
    d.severity = if m.watch { 3 } else { 1 };
    d
}

fn feed_detection(
    info: &IpInfo,
    is_server: bool,
    hit: &FeedHit,
    category: Category,
    protocol: Protocol,
) -> Detection {
    let side = side_name(is_server);
    let f = hit.feed;
    let via = match (f.kind, info.asn) {
        (FeedKind::Asn, Some(asn)) => match info.as_org.as_deref() {
            Some(org) => format!("AS{asn} ({org})"),
            None => format!("AS{asn}"),
        },
        _ => "an address".to_string(),
    };
    let what = match f.category {
        FeedCategory::Hosting => "a hosting/VPS provider",
        FeedCategory::Vpn => "a VPN provider",
        FeedCategory::Proxy => "a proxy",
        FeedCategory::Tor => "Tor",
        FeedCategory::Custom => "a custom list",
    };
    let reason = if category == Category::Hosting {
        format!(
            "the flow's {side} {} is in {via} of {what} (list {}); the flow already has a VPN, proxy or remote-access finding",
            info.ip, f.name
        )
    } else {
        format!(
            "{side} {} is in {via} listed as {what} by feed {}",
            info.ip, f.name
        )
    };
    let mut d = Detection::new(
        category,
        protocol,
        f.confidence.into(),
        Basis::Address,
        reason,
    )
    .with("side", side)
    .with("ip", info.ip)
    .with("feed", f.name)
    .with("feed_category", f.category.name())
    .with("feed_source", f.source);
    if let Some(l) = &hit.label {
        d = d.with("label", l);
    }
    if let Some(a) = info.asn {
        d = d.with("asn", a);
    }
    if let Some(o) = &info.as_org {
        d = d.with("as_org", o);
    }
    d.severity = f.severity;
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::feeds::FeedConfig;
    use crate::enrich::fixtures::*;

    fn find(ds: &[Detection], cat: Category) -> Option<&Detection> {
        ds.iter().find(|d| d.category == cat)
    }

    #[test]
    fn sanctioned_region_detection_carries_its_evidence() {
        let e = geoip2();
        let client = e.lookup(ip("192.168.1.10"));
        let server = e.lookup(ip("46.172.192.9"));
        let ds = detections(&client, &server, true, false, false);
        assert_eq!(ds.len(), 1, "{ds:?}");
        let d = &ds[0];
        assert_eq!(d.category, Category::SanctionedRegion);
        assert_eq!(d.protocol, Protocol::Sanctions);
        assert_eq!(d.basis, Basis::Address);
        assert_eq!(d.severity, 1);
        assert_eq!(d.confidence, Confidence::Medium);
        let ev = |k| d.evidence.get(k);
        assert_eq!(ev("rule"), Some("UA-43"));
        assert_eq!(ev("side"), Some("server"));
        assert_eq!(ev("ip"), Some("46.172.192.9"));
        assert_eq!(ev("country_iso"), Some("UA"));
        assert_eq!(ev("subdivision_iso"), Some("UA-43"));
        assert_eq!(ev("approximate"), Some("false"));
        assert_eq!(ev("db"), Some("GeoLite2-City"));
        assert_eq!(ev("db_layout"), Some("geoip2"));
        assert!(ev("programme").unwrap().contains("EO 13685"));
        assert!(d.reason.contains("UA-43"), "{}", d.reason);

        let kp = e.lookup(ip("175.45.176.1"));
        let d = &detections(&client, &kp, true, false, false)[0];
        assert_eq!((d.confidence, d.severity), (Confidence::High, 1));
        assert_eq!(d.evidence.get("rule"), Some("KP"));
    }

    #[test]
    fn approximate_matches_say_so() {
        let e = dbip();
        let inside = e.lookup(ip("10.0.0.1"));
        let dnr = e.lookup(ip("5.153.172.9"));
        let d = &detections(&inside, &dnr, true, false, false)[0];
        assert_eq!(d.evidence.get("rule"), Some("UA-14"));
        assert_eq!(d.evidence.get("approximate"), Some("true"));
        assert_eq!(d.evidence.get("subdivision_from_name"), Some("true"));
        assert_eq!(d.evidence.get("db"), Some("city ipv4"));
        assert_eq!(d.evidence.get("db_layout"), Some("ip-location-db"));
        assert!(d.reason.contains("approximate"), "{}", d.reason);
    }

    #[test]
    fn inbound_flows_check_the_client_and_inside_ends_never_count() {
        let e = geoip2();
        let iran = e.lookup(ip("2.144.0.5"));
        let server = e.lookup(ip("10.1.1.1"));
        let d = &detections(&iran, &server, false, true, false)[0];
        assert_eq!(d.evidence.get("side"), Some("client"));
        // The same addresses with both ends inside (a wrong home_net): nothing.
        assert!(detections(&iran, &server, true, true, true).is_empty());
        // External flow: both ends are remote; the sanctioned one is reported.
        let us = e.lookup(ip("8.8.8.8"));
        let ds = detections(&us, &iran, false, false, false);
        assert_eq!(ds[0].evidence.get("side"), Some("server"));
    }

    #[test]
    fn watch_list_is_severity_three() {
        let mut cfg = EnrichConfig {
            city_db: vec![data("geoip2-city.mmdb")],
            ..Default::default()
        };
        cfg.sanctions.watch_countries = vec!["RU".into()];
        let e = Enricher::load(&cfg).unwrap();
        let inside = e.lookup(ip("10.0.0.1"));
        let moscow = e.lookup(ip("77.88.8.8"));
        let d = &detections(&inside, &moscow, true, false, false)[0];
        assert_eq!(d.protocol, Protocol::WatchList);
        assert_eq!(d.severity, 3);
        assert_eq!(d.evidence.get("watch"), Some("true"));
        // A sanctioned match on the other side wins over the watch list.
        let crimea = e.lookup(ip("46.172.192.9"));
        let ds = detections(&moscow, &crimea, false, false, false);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].protocol, Protocol::Sanctions);
    }

    #[test]
    fn hosting_only_on_suspicious_flows() {
        let e = geoip2();
        let inside = e.lookup(ip("192.168.0.2"));
        let hetzner = e.lookup(ip("195.201.4.1"));
        assert!(detections(&inside, &hetzner, true, false, false).is_empty());
        let ds = detections(&inside, &hetzner, true, false, true);
        let d = find(&ds, Category::Hosting).unwrap();
        assert_eq!(d.protocol, Protocol::HostingAsn);
        assert_eq!(d.basis, Basis::Address);
        assert_eq!(d.severity, 3);
        assert_eq!(d.confidence, Confidence::Medium);
        assert_eq!(d.evidence.get("asn"), Some("24940"));
        assert_eq!(d.evidence.get("as_org"), Some("Hetzner Online GmbH"));
        assert_eq!(d.evidence.get("feed"), Some(BUILTIN_HOSTING));
        assert!(
            d.reason.contains("AS24940 (Hetzner Online GmbH)"),
            "{}",
            d.reason
        );
        // Hosting on the inside end (home_net covering a cloud VPC) does not count.
        assert!(detections(&hetzner, &inside, true, true, true).is_empty());
    }

    #[test]
    fn vpn_and_tor_feeds_alert_custom_feeds_do_not() {
        let vpn = file("203.0.113.0/24\n");
        let tor = file("198.51.100.77\n");
        let custom = file("192.0.2.0/24\n");
        let feed = |name: &str, f: &tempfile::NamedTempFile, category| FeedConfig {
            name: name.into(),
            path: f.path().into(),
            category,
            severity: None,
            confidence: None,
        };
        let e = Enricher::load(&EnrichConfig {
            feed: vec![
                feed("vpns", &vpn, FeedCategory::Vpn),
                feed("tor", &tor, FeedCategory::Tor),
                feed("mine", &custom, FeedCategory::Custom),
            ],
            ..Default::default()
        })
        .unwrap();
        let inside = e.lookup(ip("10.0.0.1"));
        let ds = detections(&inside, &e.lookup(ip("203.0.113.9")), true, false, false);
        let d = find(&ds, Category::Vpn).unwrap();
        assert_eq!(
            (d.protocol, d.severity, d.basis),
            (Protocol::VpnFeed, 2, Basis::Address)
        );
        // Tor: an inbound connection from an exit.
        let ds = detections(&e.lookup(ip("198.51.100.77")), &inside, false, true, false);
        let d = find(&ds, Category::Proxy).unwrap();
        assert_eq!(d.protocol, Protocol::Tor);
        assert_eq!(d.evidence.get("feed"), Some("tor"));
        let mine = e.lookup(ip("192.0.2.1"));
        assert_eq!(mine.feed_names().collect::<Vec<_>>(), ["mine"]);
        assert!(detections(&inside, &mine, true, false, true).is_empty());
    }
}
