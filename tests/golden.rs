//! Golden outputs: every bundled capture (`captures/`, `captures/recorded/`)
//! run through `gateward analyze --all-flows` must produce exactly the EVE
//! lines stored under `tests/golden/`. Offline output depends only on the
//! capture (the clock is capture time), so nothing is redacted; lines are
//! compared sorted, so the worker count does not matter.
//!
//! After an intended change, re-bless with `scripts/bless-golden.sh`
//! (`GATEWARD_BLESS=1 cargo test --test golden`) and review the diff of
//! `tests/golden/` in the commit.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// One golden case: a capture, the extra arguments, and its golden file.
struct Case {
    capture: String,
    extra: Vec<String>,
    golden: PathBuf,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Capture files directly inside `dir` (relative to `captures/`), by name.
fn captures_in(dir: &str) -> Vec<String> {
    let base = root().join("captures").join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .unwrap_or_else(|e| panic!("read {}: {e}", base.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".cap"))
        .map(|n| {
            if dir.is_empty() {
                n
            } else {
                format!("{dir}/{n}")
            }
        })
        .collect();
    names.sort();
    names
}

/// The enrichment configuration of the sanctioned-region capture: the tiny
/// databases of `captures/enrich/` and a home network.
fn enrich_config(dir: &Path) -> PathBuf {
    let enrich = root().join("captures/enrich");
    let text = format!(
        "home_net = [\"10.0.0.0/8\", \"192.168.0.0/16\"]\n[enrich]\n\
         city_db = \"{0}/geoip2-city.mmdb\"\nasn_db = \"{0}/geoip2-asn.mmdb\"\n",
        enrich.display()
    );
    let p = dir.join("enrich.toml");
    std::fs::write(&p, text).expect("write enrich config");
    p
}

fn cases(tmp: &Path) -> Vec<Case> {
    let golden = root().join("tests/golden");
    let mut out = Vec::new();
    for c in captures_in("").into_iter().chain(captures_in("recorded")) {
        out.push(Case {
            golden: golden.join(format!("{}.jsonl", c.replace('/', "__"))),
            capture: c,
            extra: Vec::new(),
        });
    }
    let cfg = enrich_config(tmp).display().to_string();
    out.push(Case {
        capture: "sanctioned.pcap".into(),
        extra: vec!["-c".into(), cfg],
        golden: golden.join("sanctioned.pcap.enrich.jsonl"),
    });
    out
}

fn output_of(case: &Case, workers: u16) -> String {
    let extra: Vec<&str> = case.extra.iter().map(String::as_str).collect();
    let run = analyze(&[&case.capture], workers, &extra);
    assert_no_panic(&run.stderr);
    let mut text = run.sorted_lines().join("\n");
    text.push('\n');
    // `pcap_filename` is the path as given (absolute here): stored
    // relative to the checkout so the golden files do not depend on it.
    text.replace(&format!("\"{}/", root().display()), "\"")
}

#[test]
fn every_capture_matches_its_golden_output() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bless = std::env::var_os("GATEWARD_BLESS").is_some();
    let mut failed = Vec::new();
    for case in cases(tmp.path()) {
        let got = output_of(&case, 2);
        if bless {
            std::fs::create_dir_all(case.golden.parent().expect("golden dir")).expect("mkdir");
            std::fs::write(&case.golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&case.golden).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run scripts/bless-golden.sh to create it)",
                case.golden.display()
            )
        });
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failed.push(format!(
                "{} ({} lines, golden {}): first difference at sorted line {}\n  got:  {}\n  want: {}",
                case.capture,
                got.lines().count(),
                want.lines().count(),
                first + 1,
                got.lines().nth(first).unwrap_or("<none>"),
                want.lines().nth(first).unwrap_or("<none>"),
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} capture(s) differ from tests/golden/ (re-bless with scripts/bless-golden.sh if intended):\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn golden_outputs_do_not_depend_on_the_worker_count() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for case in cases(tmp.path())
        .into_iter()
        .filter(|c| c.capture.starts_with("recorded/") || c.capture.contains("tunnel"))
    {
        assert_eq!(
            output_of(&case, 1),
            output_of(&case, 3),
            "{}: 1 and 3 workers differ",
            case.capture
        );
    }
}

#[test]
fn every_golden_file_has_a_capture() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let expected: Vec<PathBuf> = cases(tmp.path()).into_iter().map(|c| c.golden).collect();
    for entry in std::fs::read_dir(root().join("tests/golden")).expect("tests/golden") {
        let p = entry.expect("entry").path();
        assert!(
            expected.contains(&p),
            "{} has no capture (stale golden file: delete it)",
            p.display()
        );
    }
}
