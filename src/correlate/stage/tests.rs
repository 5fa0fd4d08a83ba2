//! Scenario tests of the whole stage: a laptop farm beside an approved
//! support tool, a DNS tunnel spread over one-query flows, host-count
//! bounds, concentrator sessions, determinism.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;
use crate::correlate::config::{AllowRule, Location};
use crate::correlate::observation::DnsInfo;
use crate::correlate::observation::{Confidence, RemoteSessionInfo, RttInfo};

const T0: u64 = 1_795_000_000 * US_PER_S; // 2026-11-18, a Wednesday

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn det(category: &str, protocol: &str) -> ObsDetection {
    ObsDetection {
        category: category.into(),
        protocol: protocol.into(),
        confidence: Confidence::High,
        basis: "structure".into(),
        evidence: BTreeMap::new(),
    }
}

fn flow(
    id: u64,
    t_s: u64,
    src: &str,
    dest: &str,
    dport: u16,
    dets: Vec<ObsDetection>,
) -> Observation {
    Observation {
        start_us: T0 + t_s * US_PER_S,
        end_us: T0 + (t_s + 600) * US_PER_S,
        flow_id: id,
        community_id: Some(format!("1:test{id}=")),
        src_ip: Some(ip(src)),
        src_port: Some(40_000),
        dest_ip: Some(ip(dest)),
        dest_port: Some(dport),
        proto: "TCP".into(),
        detections: dets,
        ..Observation::default()
    }
}

/// An inbound interactive RDP session to `host` from a hosting address
/// that claims to be 50 km from the sensor, with a 180 ms application RTT.
fn inbound_rdp(id: u64, t_s: u64, peer: &str, host: &str) -> Observation {
    let mut o = flow(
        id,
        t_s,
        peer,
        host,
        3389,
        vec![det("remote_access", "rdp"), det("hosting", "hosting_asn")],
    );
    o.network_direction = Some("inbound".into());
    o.src_peer.country_iso = Some("US".into());
    o.src_peer.latitude = Some(40.95);
    o.src_peer.longitude = Some(-74.0);
    o.remote_session = Some(RemoteSessionInfo {
        direction: Some("inbound".into()),
        inside_ip: Some(ip(host)),
        duration_s: Some(600.0),
        interactive: Some(true),
    });
    o.rtt = Some(RttInfo {
        tcp_ms: Some(2.0),
        app_ms: Some(180.0),
        ratio: Some(90.0),
    });
    o
}

fn farm_config() -> CorrelateConfig {
    let mut c = CorrelateConfig {
        sensor_location: Some(Location {
            latitude: 40.71,
            longitude: -74.01,
        }),
        ..Default::default()
    };
    c.allow.push(AllowRule {
        protocol: "teamviewer".into(),
        hosts: vec!["10.2.0.0/16".parse().expect("cidr")],
        ..AllowRule::default()
    });
    c
}

/// The laptop farm: three company laptops (10.1.0.5-7) driven over RDP
/// from one residential /24; 10.1.0.5 also leaves through Astrill VPN and
/// runs AnyDesk. Beside them 10.2.0.9 uses the approved TeamViewer, and
/// 10.3.0.4 browses the web.
fn farm() -> Vec<Observation> {
    let mut v = vec![
        inbound_rdp(1, 0, "203.0.113.50", "10.1.0.5"),
        flow(
            2,
            60,
            "10.1.0.5",
            "198.18.7.7",
            443,
            vec![det("vpn", "astrill")],
        ),
        flow(
            3,
            120,
            "10.1.0.5",
            "198.18.9.9",
            443,
            vec![det("remote_access", "anydesk")],
        ),
        inbound_rdp(4, 200, "203.0.113.51", "10.1.0.6"),
        inbound_rdp(5, 300, "203.0.113.50", "10.1.0.7"),
        flow(
            6,
            30,
            "10.2.0.9",
            "198.18.1.1",
            5938,
            vec![det("remote_access", "teamviewer")],
        ),
        flow(
            7,
            400,
            "10.2.0.9",
            "198.18.1.1",
            5938,
            vec![det("remote_access", "teamviewer")],
        ),
        flow(8, 50, "10.3.0.4", "198.18.2.2", 443, vec![]),
    ];
    v.sort_by_key(|o| (o.end_us, o.flow_id));
    v
}

fn run(cfg: CorrelateConfig, obs: &[Observation]) -> (Correlator, Vec<HostAlert>) {
    let mut c = Correlator::new(cfg).expect("valid config");
    let mut out = Vec::new();
    for o in obs {
        c.observe(o, &mut out);
    }
    c.finish(&mut out);
    (c, out)
}

#[test]
fn laptop_farm_ranks_first_with_the_expected_rules() {
    let (c, alerts) = run(farm_config(), &farm());
    let ranked = c.hosts_ranked();
    let first = ranked.first().expect("ranked hosts");
    assert_eq!(first.ip, ip("10.1.0.5"));
    // 45 + 10 + 35 + 30 + 25 + 30 + 10, as in docs/host.md.
    assert_eq!(first.score, 185);
    let names: Vec<Rule> = first.rules.iter().map(|r| r.name).collect();
    for r in [
        Rule::InboundRemoteControl,
        Rule::RemoteToolInUse,
        Rule::RemoteControlWithVpnEgress,
        Rule::SharedEgress,
        Rule::ControllerDistance,
        Rule::AdvisoryVpnService,
        Rule::AnonymiserEgress,
    ] {
        assert!(names.contains(&r), "{r:?} missing from {names:?}");
    }
    let with_vpn = first
        .rules
        .iter()
        .find(|r| r.name == Rule::RemoteControlWithVpnEgress)
        .expect("rule");
    assert!(
        with_vpn.flow_ids.contains(&1) && with_vpn.flow_ids.contains(&2),
        "{:?}",
        with_vpn.flow_ids
    );
    assert!(with_vpn.attack.contains(&"T1572"));
    assert!(first.timeline.len() >= 3);
    // The other two laptops share the egress and rank next.
    let ips: Vec<IpAddr> = ranked.iter().map(|h| h.ip).collect();
    assert_eq!(&ips[1..3], &[ip("10.1.0.6"), ip("10.1.0.7")]);
    // The approved TeamViewer host and the web host do not even score.
    assert!(!ips.contains(&ip("10.2.0.9")) && !ips.contains(&ip("10.3.0.4")));
    assert!(alerts.iter().all(|a| a.src_ip != ip("10.2.0.9")));
    assert_eq!(c.stats().suppressed_allowed_tool, 2);
    // Host alerts are written for the farm laptops.
    let alerted: Vec<IpAddr> = alerts.iter().map(|a| a.src_ip).collect();
    assert!(alerted.contains(&ip("10.1.0.5")), "{alerted:?}");
    let a = alerts
        .iter()
        .rev()
        .find(|a| a.src_ip == ip("10.1.0.5"))
        .expect("alert");
    assert!(a.alert.signature.starts_with("GATEWARD HOST "));
    assert!(a.host.score >= c.config().alert_threshold);
    assert_eq!(a.alert.severity, 1);
    let mut line = Vec::new();
    a.to_json_line(&mut line);
    let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
    assert_eq!(v["event_type"], "alert");
    assert_eq!(v["src_ip"], "10.1.0.5");
    assert!(
        v["host_risk"]["rules"]
            .as_array()
            .is_some_and(|r| r.len() >= 5)
    );
}

#[test]
fn output_is_deterministic() {
    let render = || {
        let (c, alerts) = run(farm_config(), &farm());
        let mut out = Vec::new();
        alerts.iter().for_each(|a| a.to_json_line(&mut out));
        out.extend(serde_json::to_vec(&c.hosts_ranked()).expect("json"));
        out.extend(serde_json::to_vec(c.stats()).expect("json"));
        out
    };
    assert_eq!(render(), render());
}

#[test]
fn approved_rmm_host_does_not_alert_even_when_busy() {
    let mut obs = Vec::new();
    for i in 0..50u64 {
        obs.push(flow(
            i,
            i * 60,
            "10.2.0.9",
            "198.18.1.1",
            5938,
            vec![det("remote_access", "teamviewer")],
        ));
    }
    let (c, alerts) = run(farm_config(), &obs);
    assert!(alerts.is_empty());
    assert!(c.hosts_ranked().is_empty());
    assert_eq!(c.stats().suppressed_allowed_tool, 50);
    // Without the allow rule the same host scores (remote_tool_in_use).
    let (c, _) = run(CorrelateConfig::default(), &obs);
    assert_eq!(c.hosts_ranked().first().map(|h| h.ip), Some(ip("10.2.0.9")));
}

#[test]
fn dns_tunnel_spread_over_200_one_query_flows_alerts_with_the_domain() {
    let mut obs = Vec::new();
    let mut x: u64 = 0x1234_5678_9abc_def0;
    for i in 0..200u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut o = flow(10_000 + i, i, "10.4.0.2", "10.4.0.1", 53, vec![]);
        o.proto = "UDP".into();
        o.end_us = o.start_us + 20_000;
        o.dns = Some(DnsInfo {
            rrname: format!("{x:016x}{:08x}.t.exfil-example.net", i),
            rrtype: Some("TXT".into()),
            answers: Some(1),
            response_bytes: Some(180),
        });
        obs.push(o);
    }
    let (c, alerts) = run(CorrelateConfig::default(), &obs);
    let a = alerts.first().expect("a DNS alert");
    assert_eq!(a.src_ip, ip("10.4.0.2"));
    assert_eq!(a.alert.signature, "GATEWARD HOST dns_tunnel_spread");
    assert_eq!(a.alert.signature_id, 8_700_012);
    let r = &a.host.rules[0];
    assert!(r.reason.contains("exfil-example.net"), "{}", r.reason);
    assert!(r.attack.contains(&"T1071.004") && r.attack.contains(&"T1048"));
    assert_eq!(r.flow_ids.len(), c.config().max_evidence);
    // The resolver answering is not the client.
    assert!(c.hosts_ranked().iter().all(|h| h.ip != ip("10.4.0.1")));
    // One alert, not one per query.
    assert_eq!(alerts.len(), 1);
}

#[test]
fn host_count_stays_bounded_and_evictions_are_counted() {
    let cfg = CorrelateConfig {
        max_hosts: 1000,
        ..Default::default()
    };
    let mut c = Correlator::new(cfg).expect("valid");
    let mut out = Vec::new();
    for i in 0..100_000u32 {
        let host = IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        let mut o = flow(
            u64::from(i),
            0,
            "10.0.0.0",
            "198.18.0.1",
            1194,
            vec![det("vpn", "openvpn")],
        );
        o.src_ip = Some(host);
        o.start_us = T0 + u64::from(i);
        o.end_us = o.start_us;
        c.observe(&o, &mut out);
    }
    assert_eq!(c.stats().hosts_tracked, 1000);
    assert_eq!(c.stats().hosts_peak, 1000);
    assert_eq!(c.stats().hosts_evicted, 99_000);
    assert_eq!(c.hosts_ranked().len(), 1000);
    assert!(out.is_empty(), "VPN use alone does not alert");
}

#[test]
fn concentrator_sessions_from_one_address_are_shared_egress() {
    let cfg = CorrelateConfig {
        vpn_concentrators: vec![ip("192.0.2.10")],
        ..Default::default()
    };
    let obs: Vec<Observation> = (0..3u64)
        .map(|i| {
            let mut o = flow(
                i,
                i * 10,
                "198.51.100.7",
                "192.0.2.10",
                443,
                vec![det("vpn", "anyconnect")],
            );
            o.src_port = Some(50_000 + i as u16);
            o
        })
        .collect();
    let (c, _) = run(cfg, &obs);
    let ranked = c.hosts_ranked();
    let h = ranked.first().expect("concentrator scored");
    assert_eq!(h.ip, ip("192.0.2.10"));
    assert_eq!(h.rules[0].name, Rule::SharedEgress);
    assert!(
        h.rules[0].reason.contains("3 concurrent VPN sessions"),
        "{}",
        h.rules[0].reason
    );
    // Corporate VPN use from inside is not anonymiser egress.
    let (c, _) = run(
        CorrelateConfig {
            vpn_concentrators: vec![ip("192.0.2.10")],
            ..CorrelateConfig::default()
        },
        &[flow(
            9,
            0,
            "10.5.0.1",
            "192.0.2.10",
            443,
            vec![det("vpn", "anyconnect")],
        )],
    );
    assert!(c.hosts_ranked().is_empty());
    assert_eq!(c.stats().suppressed_concentrator, 1);
}

#[test]
fn repeated_fully_encrypted_destination_and_exempt_hosts() {
    let obs: Vec<Observation> = (0..6u64)
        .map(|i| {
            flow(
                i,
                i * 30,
                "10.6.0.2",
                "198.18.50.5",
                8388,
                vec![det("proxy", "shadowsocks")],
            )
        })
        .collect();
    let (c, _) = run(CorrelateConfig::default(), &obs);
    let h = c.hosts_ranked();
    let rules: Vec<Rule> = h[0].rules.iter().map(|r| r.name).collect();
    assert_eq!(
        rules,
        vec![Rule::AnonymiserEgress, Rule::RepeatedFullyEncrypted]
    );
    let cfg = CorrelateConfig {
        exempt_hosts: vec!["10.6.0.0/24".parse().expect("cidr")],
        ..CorrelateConfig::default()
    };
    let (c, _) = run(cfg, &obs);
    assert!(c.hosts_ranked().is_empty());
    assert_eq!(c.stats().exempt_skipped, 6);
}

#[test]
fn the_window_forgets() {
    let (mut c, _) = run(farm_config(), &farm());
    c.advance(T0 + 3 * 86_400 * US_PER_S);
    assert!(c.hosts_ranked().is_empty());
    assert!(c.stats().hosts_expired >= 4);
}

fn golden(file: &str) -> Vec<Observation> {
    let path = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event_type"] == "flow")
        .filter_map(|v| Observation::from_eve(&v))
        .collect()
}

#[test]
fn golden_lines_run_through_the_stage() {
    let dir = format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("golden dir")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut obs: Vec<Observation> = names.iter().flat_map(|n| golden(n)).collect();
    obs.sort_by_key(|o| (o.end_us, o.flow_id));
    let (c, _) = run(CorrelateConfig::default(), &obs);
    assert_eq!(c.stats().observations as usize, obs.len());

    // The sanctioned capture alone: its host alerts for sanctioned contact.
    let mut obs = golden("sanctioned.pcap.enrich.jsonl");
    obs.sort_by_key(|o| (o.end_us, o.flow_id));
    let (c, alerts) = run(CorrelateConfig::default(), &obs);
    let ranked = c.hosts_ranked();
    let h = ranked.first().expect("a ranked host");
    assert_eq!(h.ip, ip("192.168.133.129"));
    assert_eq!(h.rules[0].name, Rule::SanctionedContact);
    assert!(
        h.rules[0].reason.contains("KP") && h.rules[0].reason.contains("IR"),
        "{}",
        h.rules[0].reason
    );
    assert_eq!(
        alerts.first().map(|a| a.alert.signature_id),
        Some(8_700_008)
    );
}

#[test]
fn several_controllers_relay_and_advisory_names() {
    let mut a = inbound_rdp(1, 0, "203.0.113.50", "10.7.0.2");
    a.src_peer.country_iso = Some("CN".into());
    a.detections.push(det("relay", "relay"));
    let b = inbound_rdp(2, 60, "198.51.100.20", "10.7.0.2");
    let c = inbound_rdp(3, 120, "192.0.2.99", "10.7.0.2");
    let mut v = det("vpn", "vpn_service");
    v.evidence.insert("name".into(), "eu7.astrill.com".into());
    let d = flow(4, 130, "10.7.0.2", "198.18.3.3", 443, vec![v]);
    let mut not = det("vpn", "vpn_service");
    not.evidence
        .insert("name".into(), "astrillion.example".into());
    let e = flow(5, 140, "10.7.0.3", "198.18.3.4", 443, vec![not]);
    let (c, _) = run(CorrelateConfig::default(), &[a, b, c, d, e]);
    let ranked = c.hosts_ranked();
    let h = &ranked[0];
    assert_eq!(h.ip, ip("10.7.0.2"));
    let names: Vec<Rule> = h.rules.iter().map(|r| r.name).collect();
    for r in [
        Rule::MultipleControllers,
        Rule::RelayOnControl,
        Rule::AdvisoryVpnService,
    ] {
        assert!(names.contains(&r), "{r:?} missing from {names:?}");
    }
    assert_eq!(
        h.controlling_countries,
        vec!["CN".to_owned(), "US".to_owned()]
    );
    let other = ranked
        .iter()
        .find(|x| x.ip == ip("10.7.0.3"))
        .expect("scored");
    assert!(
        other
            .rules
            .iter()
            .all(|r| r.name != Rule::AdvisoryVpnService)
    );
}

#[test]
fn hand_built_hostile_observations_are_bounded() {
    let huge = "x".repeat(1 << 16);
    let mut o = flow(
        1,
        0,
        "10.8.0.1",
        "198.18.0.9",
        443,
        vec![det("vpn", &huge); 200],
    );
    o.ja4 = Some(huge.clone());
    o.community_id = Some(huge.clone());
    o.rtt = Some(RttInfo {
        tcp_ms: Some(f64::NAN),
        app_ms: Some(f64::INFINITY),
        ratio: None,
    });
    o.dns = Some(DnsInfo {
        rrname: format!("{huge}.example.com"),
        ..DnsInfo::default()
    });
    let (c, _) = run(CorrelateConfig::default(), &[o]);
    let ranked = c.hosts_ranked();
    let h = ranked.first().expect("scored");
    assert!(
        h.ja4
            .iter()
            .all(|j| j.len() <= crate::correlate::observation::MAX_STR)
    );
    assert!(h.timeline.iter().all(|t| t.protocol.len() <= 64));
    assert!(serde_json::to_vec(&ranked).is_ok());
}

#[test]
fn real_anydesk_line_plus_a_real_openvpn_line_moved_onto_the_same_host() {
    let host = ip("192.168.149.129");
    // The file holds three captures of different years: keep the first.
    let mut obs: Vec<Observation> = golden("anydesk.pcapng.jsonl")
        .into_iter()
        .filter(|o| o.src_ip == Some(host))
        .collect();
    let anydesk_end = obs
        .iter()
        .filter(|o| o.src_ip == Some(host) && o.detections.iter().any(|d| d.protocol == "anydesk"))
        .map(|o| o.end_us)
        .max()
        .expect("an AnyDesk flow");
    // The recorded OpenVPN handshake, as if the same laptop made it a minute
    // after the AnyDesk session, to an outside server.
    let mut vpn = golden("recorded__openvpn-udp-plain.pcap.jsonl")
        .into_iter()
        .find(|o| !o.detections.is_empty())
        .expect("an OpenVPN flow");
    let duration = vpn.end_us - vpn.start_us;
    vpn.start_us = anydesk_end + 60 * US_PER_S;
    vpn.end_us = vpn.start_us + duration;
    vpn.src_ip = Some(host);
    vpn.dest_ip = Some(ip("198.18.20.20"));
    obs.push(vpn);
    obs.sort_by_key(|o| (o.end_us, o.flow_id));
    let (c, alerts) = run(CorrelateConfig::default(), &obs);
    let ranked = c.hosts_ranked();
    let h = ranked
        .iter()
        .find(|h| h.ip == host)
        .expect("the laptop scores");
    let names: Vec<Rule> = h.rules.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        vec![
            Rule::RemoteToolInUse,
            Rule::RemoteControlWithVpnEgress,
            Rule::AnonymiserEgress
        ]
    );
    assert_eq!(h.score, 55);
    let a = alerts
        .iter()
        .find(|a| a.src_ip == host)
        .expect("host alert");
    assert_eq!(
        a.alert.signature,
        "GATEWARD HOST remote_control_with_vpn_egress"
    );
    assert_eq!(a.alert.signature_id, 8_700_003);
    assert!(
        h.timeline
            .iter()
            .any(|t| t.protocol == "anydesk" && t.kind == SessionKind::RemoteTool)
    );
}

#[test]
fn per_host_and_cross_flow_caps_are_counted() {
    let cfg = CorrelateConfig {
        max_sessions_per_host: 64,
        max_fingerprints_per_host: 4,
        dns: crate::correlate::config::DnsConfig {
            max_domains: 100,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut c = Correlator::new(cfg).expect("valid");
    let mut out = Vec::new();
    for i in 0..10_000u64 {
        let mut o = flow(
            i,
            i,
            "10.9.0.1",
            "198.18.0.1",
            1194,
            vec![det("vpn", "openvpn")],
        );
        o.ja4 = Some(format!("t13d_{i}"));
        c.observe(&o, &mut out);
    }
    for i in 0..1_000u64 {
        let mut o = flow(20_000 + i, 10_000 + i, "10.9.0.2", "10.9.0.53", 53, vec![]);
        o.dns = Some(DnsInfo {
            rrname: format!("www.domain{i}.example"),
            ..DnsInfo::default()
        });
        c.observe(&o, &mut out);
    }
    let s = c.stats();
    assert_eq!(s.sessions_truncated, 10_000 - 64);
    assert_eq!(s.fingerprints_truncated, 10_000 - 4);
    assert_eq!(s.dns_pairs_evicted, 1_000 - 100);
    let ranked = c.hosts_ranked();
    let h = ranked
        .iter()
        .find(|h| h.ip == ip("10.9.0.1"))
        .expect("scored");
    assert_eq!(h.timeline.len(), 64);
    assert_eq!(h.ja4.len(), 4);
}
