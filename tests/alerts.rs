//! Alerts: written as soon as a detection is made, shaped like Suricata's
//! EVE alerts, repeated in the flow's end record, and silenced (but
//! reported) by allow-list rules.

mod common;

use common::*;
use serde_json::Value;

fn run_default(file: &str, extra: &[&str]) -> Run {
    let path = capture(file).display().to_string();
    let mut args = vec!["analyze", "-w", "2"];
    args.extend_from_slice(extra);
    args.push(&path);
    let run = gateward(&args, None);
    run.assert_ok();
    run
}

fn config(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp config");
    std::io::Write::write_all(&mut f, text.as_bytes()).expect("write config");
    f
}

/// socks.pcap: a SOCKS5 session to 10.180.156.249:1080 (nDPI test capture).
#[test]
fn socks_handshake_alerts_before_the_flow_ends() {
    let run = run_default("socks.pcap", &[]);
    let alerts = run.alerts();
    let socks: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["detections"][0]["protocol"] == "socks")
        .collect();
    assert!(!socks.is_empty(), "no SOCKS alert:\n{}", run.stdout);
    for a in &socks {
        let flow_id = u(a, "flow_id");
        let end = run
            .records()
            .into_iter()
            .find(|r| u(r, "flow_id") == flow_id)
            .expect("the flagged flow's end record");
        // The alert went out mid-flow: fewer packets than at the end, and
        // no end reason.
        let at_alert = u(a, "flow.pkts_toserver") + u(a, "flow.pkts_toclient");
        let at_end = u(&end, "flow.pkts_toserver") + u(&end, "flow.pkts_toclient");
        assert!(
            at_alert < at_end,
            "alert after the whole flow: {at_alert} vs {at_end}"
        );
        assert!(a["flow"].get("reason").is_none());
        assert!(s(a, "timestamp") >= s(&end, "flow.start"));
        // Suricata's alert object.
        assert_eq!(s(a, "alert.action"), "allowed");
        assert_eq!(u(a, "alert.gid"), 1);
        assert_eq!(
            s(a, "alert.signature"),
            "GATEWARD PROXY SOCKS (TCP, structure)"
        );
        assert_eq!(s(a, "alert.category"), "Proxy or anonymiser");
        let sid = u(a, "alert.signature_id");
        assert!(
            (9_200_000..9_300_000).contains(&sid),
            "proxy sid range: {sid}"
        );
        assert_eq!(a["alert"]["metadata"]["gateward_protocol"][0], "socks");
        assert_eq!(s(a, "detections.0.category"), "proxy");
        assert_eq!(s(a, "detections.0.basis"), "structure");
        // One alert per flow and signature: the SOCKS handshake alerts when
        // the proxy answers (high); its grant makes the finding certain but
        // the severity stays, so no second alert. The end record carries
        // the strongest finding.
        assert_eq!(s(&end, "event_type"), "flow");
        assert_eq!(end["flow"]["alerted"], true);
        let of_flow = socks.iter().filter(|x| u(x, "flow_id") == flow_id).count();
        assert_eq!(of_flow, 1, "one alert for flow {flow_id}");
        let rank = |c: &str| {
            ["low", "medium", "high", "certain"]
                .iter()
                .position(|x| *x == c)
        };
        assert!(
            rank(s(&end, "detections.0.confidence")) >= rank(s(a, "detections.0.confidence")),
            "the end record carries the strongest finding"
        );
        assert!(u(a, "pcap_cnt") > 0, "an alert names its deciding packet");
    }
    assert_eq!(run.stat("alerts"), alerts.len() as u64);
}

/// `output.alert_repeat = "upgrade"`: every more confident finding alerts
/// (the behaviour before one-alert-per-signature): high, then certain.
#[test]
fn alert_repeat_upgrade_alerts_each_upgrade() {
    let cfg = config("[output]\nalert_repeat = \"upgrade\"\n");
    let c = cfg.path().display().to_string();
    let run = run_default("socks.pcap", &["-c", &c]);
    let socks: Vec<Value> = run
        .alerts()
        .into_iter()
        .filter(|a| a["detections"][0]["protocol"] == "socks")
        .collect();
    let upgraded = socks.iter().any(|a| {
        s(a, "detections.0.confidence") == "certain"
            && socks.iter().any(|b| {
                u(b, "flow_id") == u(a, "flow_id") && s(b, "detections.0.confidence") == "high"
            })
    });
    assert!(
        upgraded,
        "no flow alerted high, then certain:\n{}",
        run.stdout
    );
    let once = run_default("socks.pcap", &[]).alerts().len();
    assert!(
        once < run.alerts().len(),
        "{once} vs {}",
        run.alerts().len()
    );
}

#[test]
fn without_all_flows_only_flagged_flows_are_written() {
    let run = run_default("socks.pcap", &[]);
    for r in run.records() {
        assert!(
            !r["detections"]
                .as_array()
                .expect("detections array")
                .is_empty(),
            "unflagged flow written: {r}"
        );
    }
    let quiet = run_default("dns.pcap", &[]);
    assert_eq!(quiet.stdout, "", "plain DNS raised something");
}

#[test]
fn allow_rule_suppresses_the_alert_but_reports_and_counts_it() {
    let cfg = config("[[allow.rule]]\nkinds = [\"proxy/socks\"]\ncomment = \"lab proxy\"\n");
    let path = cfg.path().display().to_string();
    let run = run_default("socks.pcap", &["-c", &path]);
    assert!(
        run.alerts().is_empty(),
        "allowed finding alerted:\n{}",
        run.stdout
    );
    let records = run.records();
    assert!(!records.is_empty(), "approved flows must still be reported");
    for r in &records {
        assert!(r["detections"].as_array().expect("array").is_empty());
        assert_eq!(s(r, "suppressed.0.protocol"), "socks");
        assert_eq!(s(r, "suppressed.0.evidence.allowed_by"), "allow.rule[0]");
    }
    assert_eq!(run.stat("suppressed by allow-list"), records.len() as u64);
}

#[test]
fn allow_rule_for_another_network_does_not_suppress() {
    let cfg = config("[[allow.rule]]\nnetworks = [\"192.0.2.0/24\"]\n");
    let path = cfg.path().display().to_string();
    let run = run_default("socks.pcap", &["-c", &path]);
    assert!(!run.alerts().is_empty());
}

#[test]
fn allow_rule_without_any_list_is_refused() {
    let cfg = config("[[allow.rule]]\ncomment = \"everything\"\n");
    let path = cfg.path().display().to_string();
    let run = analyze_with_config(&path, "dns.pcap");
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("allow.rule[0]"), "{}", run.stderr);
}

/// 4in4tunnel.pcap: IPv4-in-IPv4 (nDPI test capture): the outer flow is a
/// tunnel, certain, because the inner header decodes.
#[test]
fn outer_ip_in_ip_flow_is_a_certain_tunnel() {
    let run = run_default("4in4tunnel.pcap", &[]);
    let alerts = run.alerts();
    assert!(!alerts.is_empty());
    for a in alerts {
        assert_eq!(s(&a, "proto"), "IP-in-IP");
        assert_eq!(s(&a, "detections.0.category"), "tunnel");
        assert_eq!(s(&a, "detections.0.protocol"), "ipip");
        assert_eq!(s(&a, "detections.0.confidence"), "certain");
        assert_eq!(s(&a, "detections.0.evidence.encapsulation"), "ipip");
    }
}
