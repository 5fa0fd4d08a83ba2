//! Helpers shared by the integration tests: run the `gateward` binary on the
//! bundled captures (`captures/`, never anything outside the repository) and
//! read back its JSON Lines and its stderr summary; check checksum lists;
//! assert tables of expected fields; report skipped tests.
//!
//! # Skipped tests
//!
//! A test that cannot run here (no root, no `ip netns`, no rsyslogd,
//! tcpreplay, ping, curl, ...) calls [`skip`] (or [`or_skip`]) and returns;
//! libtest still reports it `ok`, so `skip` makes the skip visible twice:
//! - it writes `SKIPPED <binary>::<test>: <reason>` straight to the process's
//!   standard error handle. libtest captures only what goes through
//!   `print!`/`eprint!` (its output-capture hook), not writes to the handle
//!   itself, so the line appears in plain `cargo test` output, without
//!   `--show-output` or `--nocapture`;
//! - it appends the same line, with the Unix time, to
//!   `target/tmp/test-skips.txt` (`CARGO_TARGET_TMPDIR`), for CI to show or
//!   to fail on after the run.
//!
//! Tests are never `#[ignore]`d for a missing tool: they run, and say so.

#![allow(dead_code)] // each test binary uses a different subset

pub mod daemon;
pub mod netns;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Path of a bundled capture.
pub fn capture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    assert!(p.is_file(), "missing bundled capture {}", p.display());
    p
}

/// What one run of the binary produced.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Every stdout line parsed as JSON (panics on a line that is not JSON).
    pub fn records(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|v| v["event_type"] == "flow")
            .collect()
    }

    /// Every JSON line of stdout (flow records, alerts, tls records).
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// The alerts of single flows in stdout.
    pub fn alerts(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|v| v["event_type"] == "alert" && v.get("host_risk").is_none())
            .collect()
    }

    /// The host alerts (`GATEWARD HOST …`) of the correlation stage.
    pub fn host_alerts(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|v| v["event_type"] == "alert" && v.get("host_risk").is_some())
            .collect()
    }

    /// Stdout lines, sorted: the order of records depends on worker timing.
    pub fn sorted_lines(&self) -> Vec<String> {
        let mut v: Vec<String> = self.stdout.lines().map(str::to_owned).collect();
        v.sort();
        v
    }

    /// [`Run::sorted_lines`] without `pcap_filename`, for comparing runs
    /// of the same packets read from differently named inputs (standard
    /// input, a copy).
    pub fn sorted_lines_without_file(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .stdout
            .lines()
            .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
                Ok(mut o) => {
                    if let Some(m) = o.as_object_mut() {
                        m.remove("pcap_filename");
                    }
                    o.to_string()
                }
                Err(_) => l.to_owned(),
            })
            .collect();
        v.sort();
        v
    }

    /// The number after `label` in the stderr summary, e.g. `stat("evicted")`.
    pub fn stat(&self, label: &str) -> u64 {
        let needle = format!("{label} ");
        let at = self
            .stderr
            .find(&needle)
            .unwrap_or_else(|| panic!("no `{label}` in summary:\n{}", self.stderr));
        self.stderr[at + needle.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("no number after `{label}`:\n{}", self.stderr))
    }

    /// Packets read, from the summary's first line (`gateward: N packets, ...`).
    pub fn packets(&self) -> u64 {
        self.stat("gateward:")
    }

    /// Lines of stderr that report an error.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("gateward: error:"))
            .collect()
    }

    /// Asserts a clean exit and no panic.
    pub fn assert_ok(&self) -> &Self {
        assert_no_panic(&self.stderr);
        assert_eq!(self.code, Some(0), "exit status; stderr:\n{}", self.stderr);
        self
    }
}

pub fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic on stderr:\n{stderr}");
}

/// Runs `gateward` with `args`, stdin from `stdin` (empty if `None`).
pub fn gateward(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateward"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gateward");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.map(<[u8]>::to_vec).unwrap_or_default();
    let feeder = std::thread::spawn(move || {
        // The binary may exit before reading everything (bad input): ignore EPIPE.
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for gateward");
    feeder.join().expect("stdin feeder");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// `gateward analyze --all-flows -w WORKERS [extra...] CAPTURES...` on bundled captures.
pub fn analyze(captures: &[&str], workers: u16, extra: &[&str]) -> Run {
    let w = workers.to_string();
    let paths: Vec<String> = captures
        .iter()
        .map(|c| capture(c).display().to_string())
        .collect();
    let mut args = vec!["analyze", "--all-flows", "-w", &w];
    args.extend_from_slice(extra);
    args.extend(paths.iter().map(String::as_str));
    gateward(&args, None)
}

/// Field access with a readable failure; numeric path parts index arrays
/// (`detections.0.protocol`).
pub fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for k in path.split('.') {
        let next = match (cur, k.parse::<usize>()) {
            (Value::Array(a), Ok(i)) => a.get(i),
            _ => cur.get(k),
        };
        cur = next.unwrap_or_else(|| panic!("no `{path}` in {v}"));
    }
    cur
}

pub fn u(v: &Value, path: &str) -> u64 {
    field(v, path)
        .as_u64()
        .unwrap_or_else(|| panic!("`{path}` is not an unsigned integer in {v}"))
}

pub fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    field(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("`{path}` is not a string in {v}"))
}

/// `src_port`/`dest_port` as u16, 0 when absent (portless protocols).
pub fn port(v: &Value, key: &str) -> u16 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0) as u16
}

/// `(flow.pkts_toserver, flow.pkts_toclient)`: one value to compare, for
/// the many tests that check both directions' counts together.
pub fn pkts(v: &Value) -> (u64, u64) {
    (u(v, "flow.pkts_toserver"), u(v, "flow.pkts_toclient"))
}

/// `(flow.bytes_toserver, flow.bytes_toclient)`, as [`pkts`].
pub fn bytes(v: &Value) -> (u64, u64) {
    (u(v, "flow.bytes_toserver"), u(v, "flow.bytes_toclient"))
}

/// `(src_ip, src_port)`: the side the record calls the client.
pub fn client_of(v: &Value) -> (&str, u16) {
    (s(v, "src_ip"), port(v, "src_port"))
}

/// The records whose 5-tuple matches, in either orientation.
pub fn find_flows<'a>(
    records: &'a [Value],
    proto: &str,
    a: (&str, u16),
    b: (&str, u16),
) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["proto"] == proto)
        .filter(|r| {
            let src = (s(r, "src_ip"), port(r, "src_port"));
            let dst = (s(r, "dest_ip"), port(r, "dest_port"));
            (src == a && dst == b) || (src == b && dst == a)
        })
        .collect()
}

/// [`one_flow`] for TCP: short enough to keep a lookup on one line.
pub fn one_tcp<'a>(records: &'a [Value], a: (&str, u16), b: (&str, u16)) -> &'a Value {
    one_flow(records, "TCP", a, b)
}

/// [`one_flow`] for UDP.
pub fn one_udp<'a>(records: &'a [Value], a: (&str, u16), b: (&str, u16)) -> &'a Value {
    one_flow(records, "UDP", a, b)
}

/// Exactly one record for this 5-tuple.
pub fn one_flow<'a>(
    records: &'a [Value],
    proto: &str,
    a: (&str, u16),
    b: (&str, u16),
) -> &'a Value {
    let found = find_flows(records, proto, a, b);
    assert_eq!(
        found.len(),
        1,
        "expected one {proto} flow {a:?} <-> {b:?}, got {found:#?}"
    );
    found[0]
}

/// Where [`skip`] records skipped tests: `target/tmp/test-skips.txt`.
pub const SKIPS_FILE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/test-skips.txt");

/// Reports that the running test skips for `reason` (see the module
/// documentation: visible in plain `cargo test` output and recorded in
/// [`SKIPS_FILE`]). The caller returns right after. The test is named by
/// its thread, which libtest names after the test.
pub fn skip(reason: &str) {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| {
            s.rsplit_once('-')
                .map_or(s.clone(), |(name, _hash)| name.to_owned())
        })
        .unwrap_or_default();
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let line = format!("SKIPPED {binary}::{test}: {reason}\n");
    // Not eprint!: libtest would capture it.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(SKIPS_FILE)
    {
        let _ = write!(f, "{now} {line}");
    }
}

/// `Some(value)`, or `None` after reporting the error as the reason the test
/// skips: `let Some(ns) = or_skip(Netns::create(..)) else { return };`
/// keeps every skip point one line and reported the same way.
pub fn or_skip<T>(r: Result<T, String>) -> Option<T> {
    r.map_err(|why| skip(&why)).ok()
}

/// The path of `tool` on `PATH` (then `/usr/sbin`, `/sbin`, where rsyslogd
/// lives but a non-root `PATH` may not look), or why the test cannot run:
/// a missing tool must skip the test, not fail it with `exec failed`.
pub fn tool(tool: &str) -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!("`{tool}` not installed (.ci/install-deps.sh installs the test tools)")
        })
}

/// [`tool`] for several tools at once: Ok when all of them are there.
pub fn tools(names: &[&str]) -> Result<(), String> {
    names.iter().try_for_each(|t| tool(t).map(drop))
}

/// Lowercase hex of the SHA-256 of `bytes`, as `sha256sum` writes it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks `dir/SHA256SUMS` (`HASH  NAME` lines, as `sha256sum` writes them):
/// every listed file has its digest (`hint` says what to update when not),
/// and every file of `dir` ending in one of `extensions` is listed. Returns
/// the `(name, hash)` pairs. Both capture directories are guarded this way,
/// so the expected values in the tests belong to exactly those bytes.
pub fn check_sha256sums(dir: &Path, extensions: &[&str], hint: &str) -> Vec<(String, String)> {
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let mut listed = Vec::new();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").expect("`HASH  NAME` lines");
        let hex = sha256_hex(&std::fs::read(dir.join(name)).unwrap());
        assert_eq!(hex, hash, "{name} changed: {hint}");
        listed.push((name.to_owned(), hash.to_owned()));
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if extensions.iter().any(|e| name.ends_with(e)) {
            assert!(
                listed.iter().any(|(n, _)| *n == name),
                "{name} is not in SHA256SUMS"
            );
        }
    }
    listed
}

/// Table-driven field check: `assert_fields!(case, record, { "path": value,
/// ... })` checks each dotted path (numeric parts index arrays,
/// `dns.answers.0.rdata`) for the exact JSON value written after it; `null`
/// means the field must be absent (EVE never writes `null`). One table per
/// record reads like the record itself and replaces a call per field; a
/// failure names the case (e.g. `tls12.pcap -w 4`), the path, both values,
/// and shows the whole record. Expands to [`fields`].
#[allow(unused_macros)]
macro_rules! assert_fields {
    ($case:expr, $v:expr, { $($table:tt)* }) => {
        $crate::common::fields(&$case, $v, &serde_json::json!({ $($table)* }))
    };
}
#[allow(unused_imports)]
pub(crate) use assert_fields;

/// The check behind [`assert_fields!`]: every `path -> value` of the JSON
/// object `want` holds in `v` (`null`: the path is absent).
#[track_caller]
pub fn fields(case: &str, v: &Value, want: &Value) {
    let want = want.as_object().expect("expected fields: a JSON object");
    for (path, expected) in want {
        let got = v.pointer(&format!("/{}", path.replace('.', "/")));
        if expected.is_null() {
            assert_eq!(got, None, "{case}: `{path}` should be absent in {v}");
        } else {
            assert_eq!(got, Some(expected), "{case}: `{path}` in {v}");
        }
    }
}

/// `gateward analyze -c CONFIG CAPTURE` on a bundled capture: how the
/// config-error tests run the binary.
pub fn analyze_with_config(config: &str, capture_name: &str) -> Run {
    let pcap = capture(capture_name).display().to_string();
    gateward(&["analyze", "-c", config, &pcap], None)
}

/// An alert-shaped EVE line carrying sequence number `seq` (and `flow_id`):
/// what the sink tests send, so a receiver can check order and loss.
pub fn alert_line(flow_id: usize, seq: usize) -> String {
    format!(
        r#"{{"timestamp":"2024-01-01T00:00:00.000000+0000","flow_id":{flow_id},"event_type":"alert","src_ip":"10.0.0.1","alert":{{"action":"allowed","signature":"GATEWARD VPN OpenVPN (UDP, structure)","severity":2}},"seq":{seq}}}"#
    )
}

/// [`alert_line`]s `from..to`, newline-terminated, flow ids offset by
/// `flow_id_base`: one batch for `SinkSet::send`.
pub fn alert_lines(from: usize, to: usize, flow_id_base: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in from..to {
        out.extend_from_slice(alert_line(flow_id_base + i, i).as_bytes());
        out.push(b'\n');
    }
    out
}

/// Polls `f` every 10 ms until it holds; fails naming `what` after `limit`.
/// For the sink tests, whose receivers get lines asynchronously.
pub fn wait_until(what: &str, limit: std::time::Duration, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
