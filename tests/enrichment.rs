//! Enrichment end to end: flows to sanctioned jurisdictions alert with the
//! matched rule as evidence; the same capture's other flows do not.
//! captures/sanctioned.pcap is made by captures/make-sanctioned.py from a
//! real TLS flow; the tiny databases in captures/enrich/ are made by
//! captures/enrich/make-mmdb.py.

mod common;

use common::*;
use serde_json::Value;

fn run_with(config: &str) -> Run {
    let mut f = tempfile::NamedTempFile::new().expect("temp config");
    let dir = capture("enrich/geoip2-city.mmdb");
    let dir = dir.parent().expect("captures/enrich").display().to_string();
    std::io::Write::write_all(&mut f, config.replace("DIR", &dir).as_bytes())
        .expect("write config");
    let path = f.path().display().to_string();
    let pcap = capture("sanctioned.pcap").display().to_string();
    let run = gateward(&["analyze", "-w", "2", "-c", &path, &pcap], None);
    run.assert_ok();
    run
}

fn sanction_alert<'a>(alerts: &'a [Value], dest: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| {
        s(a, "dest_ip") == dest
            && a["detections"]
                .as_array()
                .is_some_and(|ds| ds.iter().any(|d| d["category"] == "sanctioned_region"))
    })
}

fn sanction(a: &Value) -> &Value {
    a["detections"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["category"] == "sanctioned_region"))
        .expect("a sanctioned_region detection")
}

#[test]
fn sanctioned_destinations_alert_with_the_matched_rule() {
    let run = run_with(
        "[enrich]\ncity_db = \"DIR/geoip2-city.mmdb\"\nasn_db = \"DIR/geoip2-asn.mmdb\"\n",
    );
    let alerts = run.alerts();

    let kp = sanction_alert(&alerts, "175.45.176.1").expect("DPRK alert");
    assert_eq!(u(kp, "alert.severity"), 1);
    assert_eq!(s(sanction(kp), "evidence.country_iso"), "KP");
    assert_eq!(s(sanction(kp), "evidence.rule"), "KP");
    assert_eq!(s(kp, "alert.metadata.dest_country.0"), "KP");
    assert_eq!(s(kp, "dest_geo.country_iso"), "KP");
    assert_eq!(u(kp, "dest_as.number"), 131279);

    let ir = sanction_alert(&alerts, "2.144.0.1").expect("Iran alert");
    assert_eq!(s(sanction(ir), "evidence.country_iso"), "IR");

    let crimea = sanction_alert(&alerts, "46.172.192.9").expect("Crimea alert");
    let d = sanction(crimea);
    assert_eq!(s(d, "evidence.subdivision_iso"), "UA-43");
    assert_eq!(s(d, "evidence.rule"), "UA-43");
    assert_eq!(s(d, "evidence.approximate"), "false");
    assert_eq!(s(crimea, "dest_geo.subdivision_iso"), "UA-43");

    // The controls: Google DNS (US) and Yandex (Moscow) raise nothing.
    for dest in ["8.8.8.8", "77.88.8.8"] {
        assert!(
            run.events().iter().all(|e| e["dest_ip"] != dest),
            "control {dest} was reported:\n{}",
            run.stdout
        );
    }
    assert_eq!(run.stat("alerts"), 3);
}

#[test]
fn country_only_database_says_subdivision_rules_are_inactive() {
    let run = run_with("[enrich]\ncountry_db = \"DIR/geoip2-country.mmdb\"\n");
    assert!(
        run.stderr.contains("gateward: warning:")
            && run.stderr.to_lowercase().contains("subdivision"),
        "no warning about subdivision rules:\n{}",
        run.stderr
    );
    let alerts = run.alerts();
    // Country rules still work; Crimea needs a region database.
    assert!(sanction_alert(&alerts, "2.144.0.1").is_some());
    assert!(sanction_alert(&alerts, "46.172.192.9").is_none());
}

#[test]
fn dprk_allocation_is_known_without_any_database() {
    let run = run_with("");
    let alerts = run.alerts();
    let kp = sanction_alert(&alerts, "175.45.176.1").expect("built-in DPRK allocation");
    assert_eq!(s(sanction(kp), "evidence.country_iso"), "KP");
    assert!(
        sanction_alert(&alerts, "2.144.0.1").is_none(),
        "no database: Iran cannot be known"
    );
}

#[test]
fn broken_database_is_a_clear_config_error() {
    let mut f = tempfile::NamedTempFile::new().expect("temp");
    std::io::Write::write_all(&mut f, b"not an mmdb").expect("write");
    let db = f.path().display().to_string();
    let mut cfg = tempfile::NamedTempFile::new().expect("temp config");
    std::io::Write::write_all(
        &mut cfg,
        format!("[enrich]\ncountry_db = \"{db}\"\n").as_bytes(),
    )
    .expect("write");
    let cfg_path = cfg.path().display().to_string();
    let run = analyze_with_config(&cfg_path, "dns.pcap");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&db),
        "error must name the file:\n{}",
        run.stderr
    );
}
