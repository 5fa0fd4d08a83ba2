//! Helpers shared by the integration tests: run the `gateward` binary on the
//! bundled captures (`captures/`, never anything outside the repository) and
//! read back its JSON Lines and its stderr summary.

#![allow(dead_code)] // each test binary uses a different subset

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
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

    /// The alerts of stdout.
    #[allow(dead_code)]
    pub fn alerts(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|v| v["event_type"] == "alert")
            .collect()
    }

    /// Stdout lines, sorted: the order of records depends on worker timing.
    pub fn sorted_lines(&self) -> Vec<String> {
        let mut v: Vec<String> = self.stdout.lines().map(str::to_owned).collect();
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
pub mod netns;
