use super::*;
use crate::correlate::observation::ObsDetection;

fn det(category: &str, protocol: &str, confidence: Confidence) -> ObsDetection {
    ObsDetection {
        category: category.into(),
        protocol: protocol.into(),
        confidence,
        basis: "structure".into(),
        evidence: BTreeMap::new(),
    }
}

fn obs(flow_id: u64, start_us: u64, dets: Vec<ObsDetection>) -> Observation {
    Observation {
        flow_id,
        start_us,
        end_us: start_us.saturating_add(10),
        src_ip: Some("10.0.0.1".parse().expect("ip")),
        dest_ip: Some("192.0.2.1".parse().expect("ip")),
        detections: dets,
        ..Observation::default()
    }
}

fn limits(max_flows: usize, max_kinds: usize) -> ReportLimits {
    ReportLimits {
        max_flows,
        max_kinds,
        max_hosts: 2,
    }
}

fn finish(b: ReportBuilder) -> Report {
    b.finish(
        Vec::new(),
        &CorrelateStats::default(),
        RunSummary::default(),
    )
}

#[test]
fn keeps_the_strongest_flows_by_confidence_then_category() {
    let mut b = ReportBuilder::new(limits(3, 16));
    b.add_observation(&obs(
        1,
        100,
        vec![det("vpn", "openvpn", Confidence::Medium)],
    ));
    b.add_observation(&obs(
        2,
        200,
        vec![det("remote_access", "rdp", Confidence::High)],
    ));
    b.add_observation(&obs(
        3,
        300,
        vec![det("vpn", "wireguard", Confidence::High)],
    ));
    b.add_observation(&obs(4, 400, vec![det("proxy", "socks5", Confidence::Low)]));
    b.add_observation(&obs(
        5,
        500,
        vec![det("sanctioned_region", "ir", Confidence::High)],
    ));
    b.add_observation(&obs(6, 600, Vec::new()));
    let r = finish(b);
    let ids: Vec<u64> = r.top_flows.iter().map(|f| f.flow_id).collect();
    assert_eq!(ids, vec![5, 2, 3]);
    assert_eq!(r.totals.flagged_flows, 5);
    assert_eq!(r.totals.unflagged_flows, 1);
    assert_eq!(r.totals.flows_listed, 3);
    assert_eq!(r.totals.flows_not_listed, 2);
    assert_eq!(r.detection_kinds.len(), 5);
}

#[test]
fn one_entry_per_flow_and_kinds_count_flow_records_only() {
    let mut b = ReportBuilder::new(limits(10, 16));
    let mut alert = obs(9, 100, vec![det("remote_access", "vnc", Confidence::High)]);
    alert.event_type = EventKind::Alert;
    b.add_observation(&alert);
    let mut flow = obs(9, 100, vec![det("remote_access", "vnc", Confidence::High)]);
    flow.bytes_toserver = 1000;
    b.add_observation(&flow);
    b.add_observation(&alert);
    let r = finish(b);
    assert_eq!(r.top_flows.len(), 1);
    assert_eq!(r.top_flows[0].bytes, 1000, "the flow record wins a tie");
    assert_eq!(r.totals.alert_observations, 2);
    assert_eq!(r.detection_kinds[0].kind, "remote_access/vnc");
    assert_eq!(r.detection_kinds[0].flows, 1);
}

#[test]
fn kinds_are_bounded_and_the_rest_counted() {
    let mut b = ReportBuilder::new(limits(0, 2));
    for i in 0..10u64 {
        let d = det("vpn", &format!("p{i}"), Confidence::Medium);
        b.add_observation(&obs(i, i, vec![d.clone(), d]));
    }
    let r = finish(b);
    assert_eq!(r.detection_kinds.len(), 2);
    assert_eq!(r.totals.kinds_truncated, 8);
    assert!(r.top_flows.is_empty());
}

#[test]
fn memory_stays_bounded_over_many_hostile_flows() {
    let mut b = ReportBuilder::new(limits(5, 4));
    let long = "\u{1b}<x>".repeat(200);
    let mut d = det(&long, &long, Confidence::Certain);
    for k in 0..40 {
        d.evidence.insert(format!("{k}{long}"), long.clone());
    }
    let heavy = vec![d; 20];
    for i in 0..20_000u64 {
        let dets = if i % 100 == 0 {
            heavy.clone()
        } else {
            vec![det("vpn", &format!("p{i}"), Confidence::High)]
        };
        b.add_observation(&obs(i, u64::MAX - i, dets));
    }
    assert!(b.top.len() <= 5 && b.by_id.len() <= 5 && b.kinds.len() <= 4);
    let r = finish(b);
    let f = &r.top_flows[0];
    assert_eq!(f.detections.len(), MAX_FLOW_DETECTIONS);
    assert!(f.detections[0].evidence.len() <= MAX_FLOW_EVIDENCE);
    assert!(f.detections[0].protocol.len() <= 64);
    assert!(
        f.detections[0]
            .evidence
            .values()
            .all(|v| v.len() <= MAX_EVIDENCE_VALUE)
    );
    assert!(r.totals.detail_truncated > 0);
}

#[test]
fn finish_ranks_and_caps_hosts_and_sanitises_the_run() {
    use crate::correlate::HostSummary;
    let host = |ip: &str, score| HostSummary {
        ip: ip.parse().expect("ip"),
        score,
        rules: Vec::new(),
        alerts: 0,
        first_seen: String::new(),
        last_seen: String::new(),
        timeline: Vec::new(),
        controlling_peers: Vec::new(),
        controlling_countries: Vec::new(),
        ja4: Vec::new(),
        hassh: Vec::new(),
        active_hours_utc: Vec::new(),
    };
    let b = ReportBuilder::new(limits(1, 1));
    let run = RunSummary {
        elapsed_s: f64::NAN,
        ..RunSummary::default()
    };
    let r = b.finish(
        vec![
            host("10.0.0.3", 10),
            host("10.0.0.2", 90),
            host("10.0.0.1", 10),
        ],
        &CorrelateStats::default(),
        run,
    );
    let ips: Vec<String> = r.hosts.iter().map(|h| h.ip.to_string()).collect();
    assert_eq!(ips, vec!["10.0.0.2", "10.0.0.1"]);
    assert_eq!((r.totals.hosts_scored, r.totals.hosts_listed), (3, 2));
    assert_eq!(r.run.elapsed_s, 0.0);
    assert_eq!(r.report_version, REPORT_VERSION);
}
