//! EVE as Suricata writes it: `proto` always a string, per-protocol events
//! selected by `output.types`, the optional header fields (`host`,
//! `ether`, `pcap_filename`), and `gateward correlate` reading output that
//! carries the extra event types.

mod common;

use common::*;
use serde_json::Value;

fn config(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp config");
    std::io::Write::write_all(&mut f, text.as_bytes()).expect("write config");
    f
}

fn events(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn of_type<'a>(evs: &'a [Value], t: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["event_type"] == t).collect()
}

/// teredo.pcap carries IPv6 packets with No Next Header (59): Suricata
/// writes `"IPv6-NoNxt"`, never the number.
#[test]
fn proto_is_always_a_string_with_suricatas_names() {
    let run = analyze(&["teredo.pcap"], 2, &[]);
    run.assert_ok();
    let evs = events(&run);
    assert!(evs.iter().all(|e| e["proto"].is_string()), "{}", run.stdout);
    assert!(
        evs.iter().any(|e| e["proto"] == "IPv6-NoNxt"),
        "{}",
        run.stdout
    );
    let run = analyze(&["4in4tunnel.pcap"], 2, &[]);
    assert!(events(&run).iter().any(|e| e["proto"] == "IP-in-IP"));
}

/// By default `analyze` writes alerts and flow records only (protocol
/// metadata inside the flow records); `types` adds per-protocol events,
/// one per flow and protocol, with the same object the record carries.
#[test]
fn types_select_per_protocol_events() {
    let plain = analyze(&["recorded/ssh-interactive.pcap"], 2, &[]);
    plain.assert_ok();
    let evs = events(&plain);
    assert!(
        evs.iter()
            .all(|e| e["event_type"] == "flow" || e["event_type"] == "alert"),
        "{}",
        plain.stdout
    );
    let cfg = config("[output]\ntypes = [\"flow\", \"ssh\", \"dns\", \"tls\"]\n");
    let c = cfg.path().display().to_string();
    let run = analyze(&["recorded/ssh-interactive.pcap"], 2, &["-c", &c]);
    run.assert_ok();
    let evs = events(&run);
    assert!(of_type(&evs, "alert").is_empty(), "alerts not selected");
    let ssh = of_type(&evs, "ssh");
    assert!(!ssh.is_empty(), "{}", run.stdout);
    for e in ssh {
        let flow = of_type(&evs, "flow")
            .into_iter()
            .find(|f| f["flow_id"] == e["flow_id"] && f["flow"]["reason"] != "active_timeout")
            .expect("the ssh event's flow record");
        assert_eq!(e["ssh"], flow["ssh"]);
        assert_eq!(e["community_id"], flow["community_id"]);
        assert_eq!(e["src_ip"], flow["src_ip"]);
        assert!(e.get("detections").is_none());
    }
}

/// Without `--all-flows` a DNS flow has no flow record, but a `dns`
/// event when the type is selected (a SIEM's DNS dashboard sees every
/// lookup); the event carries Suricata's `dns.queries[].rrname`.
#[test]
fn dns_events_do_not_need_all_flows() {
    let cfg = config("[output]\ntypes = [\"alert\", \"flow\", \"dns\"]\n");
    let c = cfg.path().display().to_string();
    let run = gateward(
        &[
            "analyze",
            "-w",
            "1",
            "-c",
            &c,
            &capture("dns.pcap").display().to_string(),
        ],
        None,
    );
    run.assert_ok();
    let evs = events(&run);
    assert!(of_type(&evs, "flow").is_empty(), "{}", run.stdout);
    let dns = of_type(&evs, "dns");
    assert!(!dns.is_empty(), "{}", run.stdout);
    assert!(
        dns.iter()
            .any(|e| e["dns"]["queries"][0]["rrname"] == "www.example.com"),
        "{}",
        run.stdout
    );
}

/// `output.host` names the sensor in every event; `output.ether` adds the
/// first frame's MAC addresses; `pcap_filename` is the file as given.
#[test]
fn header_fields_host_ether_and_pcap_filename() {
    let cfg = config("[output]\nhost = \"edge-1\"\nether = true\ntypes = [\"flow\", \"dns\"]\n");
    let c = cfg.path().display().to_string();
    let run = analyze(&["dns.pcap"], 2, &["-c", &c]);
    run.assert_ok();
    let evs = events(&run);
    assert!(!evs.is_empty());
    let path = capture("dns.pcap").display().to_string();
    for e in &evs {
        assert_eq!(e["host"], "edge-1", "{e}");
        assert_eq!(e["pcap_filename"], path.as_str(), "{e}");
        let mac = e["ether"]["src_mac"].as_str().expect("src_mac");
        assert_eq!(mac.len(), 17, "{mac}");
        assert_eq!(mac.matches(':').count(), 5, "{mac}");
    }
}

/// `gateward correlate` reads output with every event type and a sensor
/// name and raises the same host alerts as on alerts and flows alone.
#[test]
fn correlate_reads_output_with_protocol_events() {
    let all = config(
        "[output]\nhost = \"edge-1\"\ntypes = [\"alert\", \"flow\", \"dns\", \"tls\", \"http\", \"ssh\", \"quic\", \"rdp\", \"rfb\", \"anomaly\"]\n",
    );
    let c = all.path().display().to_string();
    let with = analyze(&["demo-laptop-farm.pcap"], 2, &["-c", &c]);
    let without = analyze(&["demo-laptop-farm.pcap"], 2, &[]);
    with.assert_ok();
    let host_alerts = |run: &Run| {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("eve.json");
        std::fs::write(&p, &run.stdout).expect("write eve");
        let out = gateward(&["correlate", "-q", &p.display().to_string()], None);
        out.assert_ok();
        out.stdout
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("host alert");
                (v["src_ip"].clone(), v["host_risk"]["score"].clone())
            })
            .collect::<Vec<_>>()
    };
    let a = host_alerts(&with);
    assert!(!a.is_empty(), "no host alert from the demo capture");
    assert_eq!(a, host_alerts(&without));
}
