//! The host view on the laptop-farm demo (`captures/demo-laptop-farm.pcap`,
//! built by `captures/make-demo.py` from real recorded sessions; the story
//! and the address mapping are in `captures/README.md`, "Demo capture"),
//! analysed with `captures/demo.toml`:
//!
//! * 10.20.0.23, the laptop-farm host, is driven over RDP, VNC and SSH from
//!   three outside addresses (two in the demo's hosting/VPS feed) while its
//!   own traffic leaves through OpenVPN; two sibling laptops are driven from
//!   the same outside /24. It must alert and rank first, with the rules and
//!   ATT&CK ids that say so.
//! * 10.20.0.40 is supported with approved tools (AnyDesk through the vendor
//!   relay, RDP from the IT provider's jump host; both allow-listed in
//!   `[correlate]`): its flows are still flagged, but the host never alerts.
//! * The host alerts are identical whatever the worker count.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const CAPTURE: &str = "demo-laptop-farm.pcap";
const FARM: &str = "10.20.0.23";
const SIBLINGS: [&str; 2] = ["10.20.0.24", "10.20.0.25"];
const SUPPORT: &str = "10.20.0.40";
const ORDINARY: [&str; 3] = ["10.20.0.51", "10.20.0.52", "10.20.0.53"];

fn config() -> String {
    capture("demo.toml").display().to_string()
}

/// The demo run with `workers` workers (from the repository root, where the
/// config's relative feed path points).
fn run(workers: u16) -> Run {
    let cfg = config();
    let r = analyze(&[CAPTURE], workers, &["-c", &cfg]);
    r.assert_ok();
    assert_eq!(r.stat("decode errors"), 0, "{}", r.stderr);
    r
}

/// The last (highest) host alert of each host.
fn last_alert_per_host(alerts: &[Value]) -> BTreeMap<String, Value> {
    let mut by_host: BTreeMap<String, Value> = BTreeMap::new();
    for a in alerts {
        let ip = s(a, "host_risk.ip").to_owned();
        let newer = by_host
            .get(&ip)
            .is_none_or(|old| u(a, "host_risk.score") >= u(old, "host_risk.score"));
        if newer {
            by_host.insert(ip, a.clone());
        }
    }
    by_host
}

fn rule<'a>(alert: &'a Value, name: &str) -> Option<&'a Value> {
    field(alert, "host_risk.rules")
        .as_array()
        .expect("host_risk.rules is an array")
        .iter()
        .find(|r| r["name"] == name)
}

fn strings(v: &Value, path: &str) -> BTreeSet<String> {
    field(v, path)
        .as_array()
        .unwrap_or_else(|| panic!("`{path}` is not an array in {v}"))
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect()
}

#[test]
fn laptop_farm_host_alerts_and_ranks_first() {
    let r = run(2);
    let alerts = r.host_alerts();
    assert!(!alerts.is_empty(), "no host alert:\n{}", r.stderr);
    for a in &alerts {
        assert_eq!(s(a, "event_type"), "alert");
        assert!(s(a, "alert.signature").starts_with("GATEWARD HOST "), "{a}");
        assert_eq!(s(a, "src_ip"), s(a, "host_risk.ip"), "{a}");
    }
    let last = last_alert_per_host(&alerts);

    // Ranked by score: the laptop-farm host first, strictly above every other.
    let mut ranked: Vec<(&String, u64)> = last
        .iter()
        .map(|(ip, a)| (ip, u(a, "host_risk.score")))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    assert_eq!(ranked[0].0, FARM, "ranking: {ranked:?}");
    assert!(ranked.len() < 2 || ranked[1].1 < ranked[0].1, "{ranked:?}");

    let farm = &last[FARM];
    // 45 (RDP from a VPS) + 35 (VPN egress) + 20 (3 controllers) + 30 (shared
    // egress) + 10 (OpenVPN) + 5 (02:30 local time, context).
    assert_eq!(u(farm, "host_risk.score"), 145, "{farm}");
    assert_eq!(u(farm, "alert.signature_id"), 8_700_001, "{farm}");
    assert_eq!(
        s(farm, "alert.signature"),
        "GATEWARD HOST inbound_remote_control"
    );
    assert_eq!(u(farm, "alert.severity"), 1, "{farm}");

    let names: BTreeSet<String> = field(farm, "host_risk.rules")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| s(r, "name").to_owned())
        .collect();
    let want: BTreeSet<String> = [
        "inbound_remote_control",
        "remote_control_with_vpn_egress",
        "multiple_controllers",
        "shared_egress",
        "anonymiser_egress",
        "off_hours_activity",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, want, "{farm}");
    assert_eq!(strings(farm, "alert.metadata.gateward_rule"), want);

    // Each rule's own ATT&CK ids, score and evidence.
    let expect = [
        ("inbound_remote_control", 45, &["T1133", "T1219"][..]),
        (
            "remote_control_with_vpn_egress",
            35,
            &["T1090", "T1219", "T1572"],
        ),
        ("multiple_controllers", 20, &["T1133", "T1219"]),
        ("shared_egress", 30, &["T1090", "T1133"]),
        ("anonymiser_egress", 10, &["T1090", "T1572"]),
        ("off_hours_activity", 5, &[]),
    ];
    for (name, score, attack) in expect {
        let r = rule(farm, name).unwrap_or_else(|| panic!("no {name} in {farm}"));
        assert_eq!(u(r, "score"), score, "{name}: {r}");
        let want: BTreeSet<String> = attack.iter().map(|x| x.to_string()).collect();
        assert_eq!(strings(r, "attack"), want, "{name}: {r}");
        assert_eq!(r["context"], name == "off_hours_activity", "{name}: {r}");
        assert!(
            !field(r, "flow_ids").as_array().unwrap().is_empty(),
            "{name} without evidence: {r}"
        );
    }
    let attack = strings(farm, "alert.metadata.attack_id");
    for id in ["T1219", "T1133", "T1572", "T1090"] {
        assert!(attack.contains(id), "{id} missing: {attack:?}");
    }

    // The reasons name what the capture holds.
    let inbound = s(rule(farm, "inbound_remote_control").unwrap(), "reason");
    for part in ["rdp", "vnc", "ssh", "203.0.113.66", "hosting/VPS"] {
        assert!(inbound.contains(part), "{part} not in {inbound}");
    }
    let vpn = s(
        rule(farm, "remote_control_with_vpn_egress").unwrap(),
        "reason",
    );
    assert!(vpn.contains("openvpn"), "{vpn}");
    let shared = s(rule(farm, "shared_egress").unwrap(), "reason");
    assert!(shared.contains("203.0.113.0/24"), "{shared}");
    for h in SIBLINGS {
        assert!(shared.contains(h), "{h} not in {shared}");
    }

    // The siblings alert too (shared egress), below the farm host.
    for h in SIBLINGS {
        let a = last
            .get(h)
            .unwrap_or_else(|| panic!("no host alert for {h}"));
        assert!(rule(a, "shared_egress").is_some(), "{a}");
        assert!(rule(a, "remote_control_with_vpn_egress").is_none(), "{a}");
    }
    // Nothing else alerts: not the approved support host, not the browsers.
    let hosts: BTreeSet<&str> = last.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [FARM, SIBLINGS[0], SIBLINGS[1]].into();
    assert_eq!(hosts, expected);
}

#[test]
fn farm_host_alert_grows_as_the_story_unfolds() {
    let r = run(1);
    let scores: Vec<(u64, Option<u64>)> = r
        .host_alerts()
        .iter()
        .filter(|a| s(a, "host_risk.ip") == FARM)
        .map(|a| {
            (
                u(a, "host_risk.score"),
                a["host_risk"]
                    .get("previous_alert_score")
                    .and_then(Value::as_u64),
            )
        })
        .collect();
    // RDP from the VPS crosses the threshold (50); the OpenVPN flow adds the
    // laptop-farm rule (95); the sibling laptops add shared egress (145).
    assert_eq!(
        scores,
        vec![(50, None), (95, Some(50)), (145, Some(95))],
        "{}",
        r.stdout
    );
}

#[test]
fn allow_listed_support_host_is_seen_but_does_not_alert() {
    let r = run(2);
    // The AnyDesk and RDP flows are still detected and written...
    let mut protocols = BTreeSet::new();
    for f in r.records() {
        if f["src_ip"] == SUPPORT || f["dest_ip"] == SUPPORT {
            for d in field(&f, "detections").as_array().unwrap() {
                protocols.insert(s(d, "protocol").to_owned());
            }
        }
    }
    let want: BTreeSet<String> = ["anydesk", "rdp", "hosting_feed"].map(String::from).into();
    assert_eq!(protocols, want);
    // ...the correlation stage suppressed both by the allow rules...
    assert!(
        r.stderr.contains("suppressed by allow-list 2, truncated"),
        "{}",
        r.stderr
    );
    // ...and neither it nor the ordinary web/DNS hosts get a host alert.
    for a in r.host_alerts() {
        let ip = s(&a, "host_risk.ip");
        assert_ne!(ip, SUPPORT, "allow-listed host alerted: {a}");
        assert!(!ORDINARY.contains(&ip), "ordinary host alerted: {a}");
    }
}

/// Without the allow rules the same sessions count and 10.20.0.40 alerts:
/// proof that the rules (not a missing detection) keep it quiet.
#[test]
fn without_the_allow_rule_the_support_tool_is_scored() {
    let text = std::fs::read_to_string(capture("demo.toml")).unwrap();
    let at = text
        .find("[[correlate.allow]]")
        .expect("allow rule in demo.toml");
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("no-allow.toml");
    std::fs::write(&cfg, &text[..at]).unwrap();
    let cfg = cfg.display().to_string();
    let r = analyze(&[CAPTURE], 2, &["-c", &cfg]);
    r.assert_ok();
    assert!(
        r.stderr.contains("suppressed by allow-list 0, truncated"),
        "{}",
        r.stderr
    );
    let last = last_alert_per_host(&r.host_alerts());
    let support = last
        .get(SUPPORT)
        .unwrap_or_else(|| panic!("no alert for {SUPPORT} without the allow rules"));
    let inbound = rule(support, "inbound_remote_control").expect("inbound rule");
    assert!(s(inbound, "reason").contains("198.51.100.10"), "{inbound}");
    // The farm host is unaffected and still first.
    assert_eq!(u(&last[FARM], "host_risk.score"), 145);
    assert!(u(support, "host_risk.score") < 145);
}

#[test]
fn output_is_identical_with_1_2_and_4_workers() {
    let one = run(1);
    let want = one.sorted_lines();
    assert!(!one.host_alerts().is_empty());
    for w in [2, 4] {
        let got = run(w).sorted_lines();
        assert_eq!(got.len(), want.len(), "-w {w}: line count");
        for (g, e) in got.iter().zip(&want) {
            assert_eq!(g, e, "-w {w}");
        }
    }
}
