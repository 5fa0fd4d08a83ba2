//! `gateward correlate` (the correlation stage on EVE JSON Lines) writes
//! the same host alerts as the stage inside `gateward analyze` on that
//! run's own output, and survives hostile input.

mod common;

use common::*;
use std::io::Write;

/// The sanctioned-region capture's enrichment configuration (tiny test
/// databases, a home network), written to a temporary file.
fn enrich_config(dir: &tempfile::TempDir) -> String {
    let enrich = capture("enrich/geoip2-city.mmdb");
    let text = format!(
        "home_net = [\"10.0.0.0/8\", \"192.168.0.0/16\"]\n[enrich]\ncity_db = \"{}\"\n",
        enrich.display()
    );
    let p = dir.path().join("enrich.toml");
    std::fs::write(&p, text).expect("write config");
    p.display().to_string()
}

fn sorted(lines: &str) -> Vec<String> {
    let mut v: Vec<String> = lines.lines().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn correlate_on_a_sensors_output_gives_the_sensors_host_alerts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = enrich_config(&dir);
    for workers in [1, 3] {
        let run = analyze(&["sanctioned.pcap"], workers, &["-c", &cfg]);
        run.assert_ok();
        let in_process: Vec<String> = run.host_alerts().iter().map(|v| v.to_string()).collect();
        assert!(
            !in_process.is_empty(),
            "the sanctioned capture raises a host alert"
        );
        let eve = dir.path().join("eve.json");
        std::fs::write(&eve, &run.stdout).expect("write eve");
        let c = gateward(&["correlate", "-c", &cfg, &eve.display().to_string()], None);
        c.assert_ok();
        let from_eve: Vec<String> = sorted(&c.stdout)
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .expect("JSON")
                    .to_string()
            })
            .collect();
        let mut want = in_process.clone();
        want.sort();
        let mut got = from_eve.clone();
        got.sort();
        assert_eq!(got, want, "-w {workers}");
    }
}

#[test]
fn correlate_reads_standard_input_and_skips_hostile_lines() {
    let mut input = b"garbage\n{\"event_type\":\"flow\",\"detections\":[1]}\n".to_vec();
    input.extend(std::iter::repeat_n(b'{', 2 << 20));
    input.extend(b"\n[]\n");
    let run = gateward(&["correlate", "-"], Some(&input));
    run.assert_ok();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("(2 not JSON, 1 too long)"),
        "{}",
        run.stderr
    );
}

#[test]
fn correlate_refuses_a_missing_file_with_one_line() {
    let run = gateward(&["correlate", "/nonexistent/eve.json"], None);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    let mut f = tempfile::NamedTempFile::new().expect("temp");
    f.write_all(b"[correlate]\nwindow_s = \"x\"\n")
        .expect("write");
    let run = gateward(
        &["correlate", "-c", &f.path().display().to_string(), "-"],
        Some(b""),
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("correlate.window_s"), "{}", run.stderr);
}

#[test]
fn correlate_on_the_demo_captures_output_gives_its_host_alerts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = capture("demo.toml").display().to_string();
    // The demo configuration names its feed relative to the repository.
    let root = env!("CARGO_MANIFEST_DIR");
    let run = {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateward"))
            .current_dir(root)
            .args(["analyze", "-q", "--all-flows", "-w", "2", "-c", &cfg])
            .arg(capture("demo-laptop-farm.pcap"))
            .output()
            .expect("run analyze");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let want: Vec<String> = sorted(&run)
        .into_iter()
        .filter(|l| l.contains("\"host_risk\":{"))
        .collect();
    assert!(want.len() >= 3, "the demo raises host alerts: {want:?}");
    let eve = dir.path().join("eve.json");
    std::fs::write(&eve, &run).expect("write eve");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateward"))
        .current_dir(root)
        .args(["correlate", "-q", "-c", &cfg])
        .arg(&eve)
        .output()
        .expect("run correlate");
    assert!(out.status.success());
    assert_eq!(sorted(&String::from_utf8(out.stdout).expect("UTF-8")), want);
}
