//! The analyst's report (issue 11 item 4) built from real EVE output (the
//! golden files): the JSON form validates against docs/report.schema.json
//! and every field is documented in docs/report.md, the text form fits 80
//! columns, strings from packets are escaped in every form, and the HTML
//! renders in headless Chromium to a non-blank page.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gateward::correlate::observation::{Confidence, ObsDetection};
use gateward::correlate::time::format_eve_time;
use gateward::correlate::{CorrelateConfig, Correlator, HostSummary, Observation, RuleHit};
use gateward::report::{Report, ReportBuilder, ReportFormat, ReportLimits, RunSummary};
use serde_json::Value;

/// Captures whose flows make hosts score (sanctioned contact, remote
/// control, VPN egress) or fill the kind counts.
const GOLDEN: &[&str] = &[
    "sanctioned.pcap.jsonl",
    "sanctioned.pcap.enrich.jsonl",
    "anydesk.pcapng.jsonl",
    "recorded__rdp-xfreerdp.pcap.jsonl",
    "recorded__vnc-tigervnc.pcap.jsonl",
    "recorded__ssh-interactive.pcap.jsonl",
    "recorded__wireguard.pcap.jsonl",
    "recorded__openvpn-udp-plain.pcap.jsonl",
    "recorded__openvpn-tcp-tlscrypt.pcap.jsonl",
    "recorded__tor-bridge.pcap.jsonl",
    "recorded__socks5-curl.pcap.jsonl",
    "recorded__iodine-dns.pcap.jsonl",
    "recorded__ptunnel-icmp.pcap.jsonl",
    "socks.pcap.jsonl",
    "teredo.pcap.jsonl",
    "dns.pcap.jsonl",
];

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Every `flow` line of the golden files, as observations sorted the way
/// the stage wants them: (end time, flow id).
fn golden_observations() -> Vec<Observation> {
    observations(GOLDEN)
}

/// Every `flow` line of `files`, sorted by (end time, flow id).
fn observations(files: &[&str]) -> Vec<Observation> {
    let mut obs = Vec::new();
    for name in files {
        let text = std::fs::read_to_string(repo("tests/golden").join(name)).expect("golden file");
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("golden line is JSON");
            if v["event_type"] == "flow"
                && let Some(o) = Observation::from_eve(&v)
            {
                obs.push(o);
            }
        }
    }
    obs.sort_by_key(|o| (o.end_us, o.flow_id));
    obs
}

/// The report of the golden flows, built the way the pipeline does.
fn golden_report() -> Report {
    let obs = golden_observations();
    assert!(obs.len() > 20, "golden files give {} flows", obs.len());
    let mut c = Correlator::new(CorrelateConfig::default()).expect("valid config");
    let mut b = ReportBuilder::new(ReportLimits::default());
    let mut alerts = Vec::new();
    for o in &obs {
        c.observe(o, &mut alerts);
        b.add_observation(o);
    }
    c.finish(&mut alerts);
    let run = RunSummary {
        inputs: GOLDEN.iter().map(|s| s.to_string()).collect(),
        packets: obs.iter().map(|o| o.pkts_toserver + o.pkts_toclient).sum(),
        bytes: obs
            .iter()
            .map(|o| o.bytes_toserver + o.bytes_toclient)
            .sum(),
        flows: obs.len() as u64,
        alerts: 0,
        host_alerts: alerts.len() as u64,
        elapsed_s: 0.25,
        first_capture_time: obs.iter().map(|o| o.start_us).min().map(format_eve_time),
        last_capture_time: obs.last().map(|o| format_eve_time(o.end_us)),
    };
    // The captures span years, so the 24 h window keeps only the latest
    // ones' hosts; the sanctioned capture's host comes from a stage of its
    // own (as from a second sensor), so the report shows more than one.
    let mut hosts = c.hosts_ranked();
    let extra: Vec<HostSummary> = sanctioned_hosts()
        .into_iter()
        .filter(|s| hosts.iter().all(|h| h.ip != s.ip))
        .collect();
    hosts.extend(extra);
    b.finish(hosts, c.stats(), run)
}

/// The hosts of sanctioned.pcap alone.
fn sanctioned_hosts() -> Vec<HostSummary> {
    let mut c = Correlator::new(CorrelateConfig::default()).expect("valid config");
    let mut alerts = Vec::new();
    for o in &observations(&["sanctioned.pcap.jsonl"]) {
        c.observe(o, &mut alerts);
    }
    c.finish(&mut alerts);
    c.hosts_ranked()
}

const HOSTILE: &str =
    "<script>alert(\"x\")</script>' onmouseover='x' \u{1b}[31m\u{7}\u{0}\r\n\u{202e}evil";

/// A report whose every string field that traffic can fill is hostile.
fn hostile_report() -> Report {
    let mut b = ReportBuilder::new(ReportLimits::default());
    let mut o = golden_observations()
        .into_iter()
        .find(|o| !o.detections.is_empty())
        .expect("a flagged golden flow");
    o.proto = HOSTILE.into();
    o.community_id = Some(HOSTILE.into());
    o.src_peer.country_iso = Some(HOSTILE.into());
    o.detections.push(ObsDetection {
        category: HOSTILE.into(),
        protocol: HOSTILE.into(),
        confidence: Confidence::Certain,
        basis: HOSTILE.into(),
        evidence: [(HOSTILE.to_owned(), HOSTILE.repeat(3))].into(),
    });
    b.add_observation(&o);
    let mut hosts = golden_report().hosts;
    assert!(!hosts.is_empty(), "the golden flows make a host score");
    let h: &mut HostSummary = &mut hosts[0];
    let mut hit: RuleHit = h.rules[0].clone();
    hit.reason = format!("{HOSTILE} {}", "word ".repeat(40));
    hit.community_ids.push(HOSTILE.into());
    h.rules.push(hit);
    h.first_seen = HOSTILE.into();
    h.controlling_countries.push(HOSTILE.into());
    h.ja4.push(HOSTILE.into());
    if let Some(t) = h.timeline.first_mut() {
        t.protocol = HOSTILE.into();
        t.category = HOSTILE.into();
        t.peer_country = Some(HOSTILE.into());
        t.community_id = Some(HOSTILE.into());
    }
    let run = RunSummary {
        inputs: vec![HOSTILE.into(), "x".repeat(300)],
        first_capture_time: Some(HOSTILE.into()),
        ..RunSummary::default()
    };
    b.finish(hosts, &Default::default(), run)
}

fn render(r: &Report, f: ReportFormat) -> String {
    let mut out = Vec::new();
    r.write(f, &mut out).expect("write to a Vec");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn golden_flows_rank_hosts_with_reasons_timelines_and_counts() {
    let r = golden_report();
    assert!(!r.hosts.is_empty());
    let scores: Vec<u32> = r.hosts.iter().map(|h| h.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let sanctioned = r
        .hosts
        .iter()
        .find(|h| h.ip.to_string() == "192.168.133.129")
        .expect("the sanctioned.pcap host scores");
    assert!(
        sanctioned
            .rules
            .iter()
            .any(|h| h.name.name() == "sanctioned_contact")
    );
    assert!(r.hosts.iter().any(|h| !h.timeline.is_empty()));
    assert!(!r.top_flows.is_empty());
    assert!(
        r.detection_kinds
            .iter()
            .any(|k| k.kind == "remote_access/rdp")
    );
    assert!(r.detection_kinds.iter().any(|k| k.kind == "vpn/wireguard"));
    assert_eq!(r.correlation.observations, r.totals.observations);
    let text = render(&r, ReportFormat::Text);
    assert!(text.contains("192.168.133.129") && text.contains("sanctioned_contact"));
    let html = render(&r, ReportFormat::Html);
    assert!(html.contains("<svg") && html.contains("sanctioned contact"));
}

/// A validator for the subset of JSON Schema 2020-12 that
/// docs/report.schema.json uses: `type` (one or a list), `properties`,
/// `required`, `additionalProperties` (false or a schema), `items`,
/// `enum`, `const`, `minimum`, `maximum`, `$ref` to `#/$defs/...`.
/// Any other keyword fails, so the schema cannot silently outgrow it.
mod schema {
    use serde_json::Value;

    const KNOWN: &[&str] = &[
        "$schema",
        "$id",
        "$defs",
        "title",
        "description",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minimum",
        "maximum",
        "$ref",
    ];

    fn type_ok(t: &str, v: &Value) -> bool {
        match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            _ => false,
        }
    }

    pub fn validate(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
        let Some(s) = s.as_object() else {
            errs.push(format!("{path}: schema is not an object"));
            return;
        };
        for k in s.keys() {
            if !KNOWN.contains(&k.as_str()) {
                errs.push(format!("{path}: unsupported keyword {k}"));
            }
        }
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/$defs/").unwrap_or("?");
            match root["$defs"].get(name) {
                Some(d) => validate(root, d, v, path, errs),
                None => errs.push(format!("{path}: unresolved {r}")),
            }
        }
        if let Some(t) = s.get("type") {
            let ok = match t {
                Value::String(t) => type_ok(t, v),
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)),
                _ => false,
            };
            if !ok {
                errs.push(format!("{path}: {v} is not of type {t}"));
                return;
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errs.push(format!("{path}: {v} not in {e:?}"));
        }
        if let Some(c) = s.get("const")
            && c != v
        {
            errs.push(format!("{path}: {v} is not {c}"));
        }
        if let (Some(m), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
            && x < m
        {
            errs.push(format!("{path}: {x} < {m}"));
        }
        if let (Some(m), Some(x)) = (s.get("maximum").and_then(Value::as_f64), v.as_f64())
            && x > m
        {
            errs.push(format!("{path}: {x} > {m}"));
        }
        if let Some(o) = v.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            for r in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = r.as_str()
                    && !o.contains_key(r)
                {
                    errs.push(format!("{path}: missing {r}"));
                }
            }
            for (k, x) in o {
                let p = format!("{path}.{k}");
                match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                    (Some(ps), _) => validate(root, ps, x, &p, errs),
                    (None, Some(Value::Bool(false))) => {
                        errs.push(format!("{p}: not in the schema"))
                    }
                    (None, Some(a @ Value::Object(_))) => validate(root, a, x, &p, errs),
                    (None, _) => {}
                }
            }
        }
        if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
            for (i, x) in a.iter().enumerate() {
                validate(root, items, x, &format!("{path}[{i}]"), errs);
            }
        }
    }

    /// Every property name the schema defines, for the documentation check.
    pub fn property_names(s: &Value, out: &mut Vec<String>) {
        match s {
            Value::Object(m) => {
                if let Some(Value::Object(p)) = m.get("properties") {
                    out.extend(p.keys().cloned());
                }
                m.values().for_each(|v| property_names(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| property_names(v, out)),
            _ => {}
        }
    }
}

fn load_schema() -> Value {
    let text = std::fs::read_to_string(repo("docs/report.schema.json")).expect("schema file");
    let s: Value = serde_json::from_str(&text).expect("schema is JSON");
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    s
}

fn schema_errors(s: &Value, report: &Report) -> Vec<String> {
    let v: Value = serde_json::from_str(&render(report, ReportFormat::Json)).expect("JSON form");
    let mut errs = Vec::new();
    schema::validate(s, s, &v, "$", &mut errs);
    errs
}

#[test]
fn json_form_validates_against_the_schema() {
    let s = load_schema();
    for (name, r) in [("golden", golden_report()), ("hostile", hostile_report())] {
        let errs = schema_errors(&s, &r);
        assert!(errs.is_empty(), "{name}: {errs:#?}");
    }
    let empty = ReportBuilder::new(ReportLimits::default()).finish(
        Vec::new(),
        &Default::default(),
        RunSummary::default(),
    );
    assert!(schema_errors(&s, &empty).is_empty());
    // The validator is not vacuous: a wrong report fails.
    let mut v: Value =
        serde_json::from_str(&render(&golden_report(), ReportFormat::Json)).expect("JSON");
    v["hosts"][0]["score"] = Value::from("high");
    v["totals"]["surprise"] = Value::from(1);
    if let Some(o) = v.as_object_mut() {
        o.remove("run");
    }
    let mut errs = Vec::new();
    schema::validate(&s, &s, &v, "$", &mut errs);
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

#[test]
fn every_schema_field_is_documented() {
    let doc = std::fs::read_to_string(repo("docs/report.md")).expect("docs/report.md");
    let mut names = Vec::new();
    schema::property_names(&load_schema(), &mut names);
    names.sort();
    names.dedup();
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !doc.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "fields not in docs/report.md: {missing:?}"
    );
}

#[test]
fn text_form_fits_80_columns_and_has_no_control_characters() {
    for (name, r) in [("golden", golden_report()), ("hostile", hostile_report())] {
        let text = render(&r, ReportFormat::Text);
        for (i, line) in text.lines().enumerate() {
            assert!(
                line.chars().count() <= 80,
                "{name} line {}: {} columns: {line}",
                i + 1,
                line.chars().count()
            );
            assert!(
                !line
                    .chars()
                    .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
                "{name} line {}: control character: {line:?}",
                i + 1
            );
        }
        assert!(text.ends_with('\n'));
    }
    let text = render(&hostile_report(), ReportFormat::Text);
    assert!(text.contains("\\u{1b}[31m"), "escapes stay visible");
}

/// Tags and attributes an HTML report may contain: anything else (a
/// `<script>`, an `on…=` handler, an external URL) is an escaping bug.
const TAGS: &[&str] = &[
    "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span",
    "b", "br", "table", "tr", "th", "td", "article", "details", "summary", "svg", "defs",
    "pattern", "rect", "path", "circle", "line", "text",
];

#[test]
fn html_form_escapes_hostile_strings_and_is_self_contained() {
    let html = render(&hostile_report(), ReportFormat::Html);
    assert!(html.contains(
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39;"
    ));
    assert!(html.contains("\\u{1b}[31m\\u{7}\\u{0}\\u{d}\\u{a}\\u{202e}evil"));
    assert!(
        !html.chars().any(|c| c.is_control() && c != '\n'),
        "raw control character"
    );
    assert!(!html.contains('\u{202e}'));
    let mut rest = html.as_str();
    while let Some(at) = rest.find('<') {
        let tag_end = rest[at..].find('>').map(|e| at + e).expect("tag closes");
        let tag = &rest[at + 1..tag_end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        let name = if name.eq_ignore_ascii_case("!doctype") {
            "!DOCTYPE".into()
        } else {
            name
        };
        assert!(TAGS.contains(&name.as_str()), "unexpected tag <{tag}>");
        assert!(!tag.contains(" on"), "event handler in <{tag}>");
        assert!(
            !tag.contains('\''.to_string().as_str()) || name == "meta",
            "quote in <{tag}>"
        );
        rest = &rest[tag_end + 1..];
    }
    for bad in [
        "<script", "<img", "<link", "@import", "src=", "href=", "https://", "url(h",
    ] {
        assert!(!html.contains(bad), "HTML contains {bad}");
    }
    let external = html.matches("http://").count();
    assert_eq!(
        external,
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
}

#[test]
fn every_form_writes_an_empty_report() {
    let r = ReportBuilder::new(ReportLimits::default()).finish(
        Vec::new(),
        &Default::default(),
        RunSummary::default(),
    );
    for f in [ReportFormat::Text, ReportFormat::Json, ReportFormat::Html] {
        assert!(!render(&r, f).is_empty());
    }
    assert_eq!(
        ReportFormat::from_path(Path::new("out/r.htm")),
        Some(ReportFormat::Html)
    );
}

/// Runs `cmd` for at most `limit`, killing it after: a hung browser must
/// fail the test, not hang it.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Result<(bool, String), String> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start chromium: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Ok((status.success(), err));
            }
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("chromium did not finish within {limit:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Distinct colours and non-white pixels of an RGB(A) PNG, and whether a
/// colour close to each of `wanted` is present.
fn png_stats(path: &Path, wanted: &[[u8; 3]]) -> (usize, usize, usize, Vec<bool>) {
    let file = std::fs::File::open(path).expect("screenshot exists");
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let mut colours = std::collections::HashSet::new();
    let mut non_white = 0;
    let mut found = vec![false; wanted.len()];
    let px = &buf[..info.buffer_size()];
    for p in px.chunks_exact(channels) {
        let rgb = [p[0], p[1], p[2]];
        colours.insert(rgb);
        if rgb != [255, 255, 255] {
            non_white += 1;
        }
        for (i, w) in wanted.iter().enumerate() {
            if (0..3).all(|c| rgb[c].abs_diff(w[c]) <= 6) {
                found[i] = true;
            }
        }
    }
    (px.len() / channels, non_white, colours.len(), found)
}

#[test]
fn html_renders_in_headless_chromium_to_a_non_blank_page() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|t| common::tool(t).ok())
    else {
        common::skip("`chromium` not installed (.ci/install-deps.sh installs it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    let shot = dir.path().join("shot.png");
    std::fs::write(&page, render(&golden_report(), ReportFormat::Html)).expect("write page");
    let profile = dir.path().join("profile");
    let mut cmd = Command::new(&chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--screenshot={}", shot.display()))
    .arg("--window-size=1200,900")
    .arg(format!("file://{}", page.display()))
    .env("HOME", dir.path());
    let (ok, stderr) = run_with_timeout(&mut cmd, Duration::from_secs(120)).expect("chromium runs");
    assert!(ok && shot.is_file(), "chromium failed:\n{stderr}");
    // Kept for a look (and as a CI artifact): target/tmp/report-*.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let _ = std::fs::copy(&shot, keep.join("report-screenshot.png"));
    let _ = std::fs::copy(&page, keep.join("report-golden.html"));
    // The score badge, a table header and the first host's timeline bar
    // (sanctioned contact) must be on screen.
    let (pixels, non_white, colours, found) = png_stats(
        &shot,
        &[[0xb9, 0x1c, 0x1c], [0xe5, 0xe7, 0xeb], [0xcc, 0x79, 0xa7]],
    );
    assert_eq!(pixels, 1200 * 900);
    assert!(
        non_white * 50 > pixels,
        "{non_white} of {pixels} pixels not white"
    );
    assert!(colours >= 16, "only {colours} colours");
    assert!(
        found.iter().all(|f| *f),
        "expected colours on screen: {found:?}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any strings and times from the traffic: no writer panics, the text
    /// stays within 80 columns, the HTML has no raw `<` from the input.
    #[test]
    fn any_observation_writes_in_every_form(
        cat in "\\PC{0,80}",
        proto in ".{0,300}",
        key in ".{0,40}",
        val in ".{0,400}",
        start in proptest::num::u64::ANY,
        end in proptest::num::u64::ANY,
        id in proptest::num::u64::ANY,
    ) {
        let o = Observation {
            flow_id: id,
            start_us: start,
            end_us: end,
            proto: proto.clone(),
            community_id: Some(val.clone()),
            detections: vec![ObsDetection {
                category: cat,
                protocol: proto,
                confidence: Confidence::High,
                basis: key.clone(),
                evidence: [(key, val)].into(),
            }],
            ..Observation::default()
        };
        let mut b = ReportBuilder::new(ReportLimits::default());
        b.add_observation(&o);
        let r = b.finish(Vec::new(), &Default::default(), RunSummary::default());
        let text = render(&r, ReportFormat::Text);
        proptest::prop_assert!(text.lines().all(|l| l.chars().count() <= 80));
        let html = render(&r, ReportFormat::Html);
        proptest::prop_assert!(!html.contains("<<") && !html.chars().any(|c| c.is_control() && c != '\n'));
        let json: Value = serde_json::from_str(&render(&r, ReportFormat::Json)).expect("JSON");
        let s = load_schema();
        let mut errs = Vec::new();
        schema::validate(&s, &s, &json, "$", &mut errs);
        proptest::prop_assert!(errs.is_empty(), "{:?}", errs);
    }
}

/// `gateward analyze --report` on the laptop-farm demo: the JSON report
/// validates, ranks the farm host first with its rules, and `correlate
/// --report` on the same run's EVE gives the same ranking.
#[test]
fn analyze_and_correlate_write_the_demo_report_with_the_farm_host_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("report.json");
    let eve = dir.path().join("eve.json");
    let run = Command::new(env!("CARGO_BIN_EXE_gateward"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "analyze",
            "-q",
            "--all-flows",
            "-c",
            "captures/demo.toml",
            "--report",
        ])
        .arg(&json)
        .arg("-o")
        .arg(&eve)
        .arg("captures/demo-laptop-farm.pcap")
        .output()
        .expect("run analyze");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");
    let s = load_schema();
    let mut errs = Vec::new();
    schema::validate(&s, &s, &v, "$", &mut errs);
    assert!(errs.is_empty(), "{errs:#?}");
    let hosts = v["hosts"].as_array().expect("hosts");
    assert_eq!(hosts[0]["ip"], "10.20.0.23", "{:#}", v["hosts"]);
    let rules: Vec<&str> = hosts[0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(rules.contains(&"inbound_remote_control"), "{rules:?}");
    assert!(
        rules.contains(&"remote_control_with_vpn_egress"),
        "{rules:?}"
    );
    assert!(
        hosts.iter().all(|h| h["ip"] != "10.20.0.40"),
        "the approved host scores nothing"
    );

    let again = dir.path().join("again.json");
    let c = Command::new(env!("CARGO_BIN_EXE_gateward"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["correlate", "-q", "-c", "captures/demo.toml", "--report"])
        .arg(&again)
        .arg(&eve)
        .output()
        .expect("run correlate");
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    let w: Value =
        serde_json::from_str(&std::fs::read_to_string(&again).expect("report")).expect("JSON");
    assert_eq!(w["hosts"], v["hosts"]);
}

#[test]
fn a_report_name_without_a_known_extension_is_refused_before_the_run() {
    let run = common::gateward(
        &[
            "analyze",
            "--report",
            "/tmp/report.pdf",
            "captures/none.pcap",
        ],
        None,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--report-format"), "{}", run.stderr);
}
