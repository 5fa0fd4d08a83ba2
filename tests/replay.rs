//! Live replay (issue 7 acceptance): recorded VPN and remote-desktop captures
//! are sent with `tcpreplay` onto one end of a veth pair (namespace B) while
//! `gateward run` captures on the other end (namespace A).
//!
//! - alert latency: from the kernel capture of the deciding packet (the
//!   alert's `timestamp`) and from its estimated send time, to the alert line
//!   read from the daemon's stdout; p50/p99 are printed, only a generous
//!   bound is asserted;
//! - restart mid-replay: the daemon is stopped (SIGTERM) after the handshake
//!   part of a UDP VPN session and a new one sees the rest (transport data
//!   only); the first keeps its alert, the second detects the session
//!   mid-stream.
//!
//! Needs root, network namespaces and `tcpreplay`; otherwise reports
//! `SKIPPED` with the reason (`common::skip`) and passes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::daemon::Daemon as Running;
use common::netns::Netns;
use common::{or_skip, tool};

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/recorded");

/// Namespaces for a replay test, once tcpreplay is known to be there;
/// `None` after reporting why the test skips.
fn netns_with_tcpreplay() -> Option<Netns> {
    or_skip(tool("tcpreplay").and_then(|_| Netns::create("rep", false)))
}

/// Sends `pcap` from namespace B at `pps` packets per second; returns the
/// wall time just before tcpreplay was started.
fn replay(ns: &Netns, pcap: &Path, pps: u32) -> SystemTime {
    let start = SystemTime::now();
    let out = ns
        .exec(&ns.b)
        .args(["tcpreplay", "-q", "-i", "gw0", "--pps", &pps.to_string()])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tcpreplay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start
}

/// A `gateward run` in namespace A; stdout lines are collected with the
/// wall time each was read.
struct Daemon {
    run: Running,
    lines: Arc<Mutex<Vec<(SystemTime, String)>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    fn start(ns: &Netns, dir: &Path, name: &str) -> Daemon {
        let cfg = dir.join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            "[capture]\ninterfaces = [\"gw0\"]\n\n[daemon]\nshutdown_deadline = 5\n",
        )
        .unwrap();
        let err_path = dir.join(format!("{name}.err"));
        // Stdout is read only once the daemon is capturing: it writes
        // nothing before, so the pipe cannot fill up meanwhile.
        let mut run = Running::start(ns, &cfg, Stdio::piped(), err_path);
        let stdout = run.child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let now = SystemTime::now();
                sink.lock().unwrap().push((now, line));
            }
        });
        Daemon {
            run,
            lines,
            reader: Some(reader),
        }
    }

    fn stderr(&self) -> String {
        self.run.stderr()
    }

    /// Alerts read so far, with their arrival time.
    fn alerts(&self) -> Vec<(SystemTime, serde_json::Value)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(t, l)| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["event_type"] == "alert").then_some((*t, v))
            })
            .collect()
    }

    /// Waits until `pred` holds for some alert, up to `limit`.
    fn wait_alert(&self, limit: Duration, pred: impl Fn(&serde_json::Value) -> bool) -> bool {
        let until = Instant::now() + limit;
        loop {
            if self.alerts().iter().any(|(_, a)| pred(a)) {
                return true;
            }
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, wait for exit 0 (every flow flushed), return all events.
    fn stop(mut self) -> Vec<serde_json::Value> {
        let status = self.run.stop(Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "stderr: {}", self.stderr());
        self.reader.take().unwrap().join().unwrap();
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// A classic pcap file: the global header and each record (header + data)
/// with its timestamp in seconds.
struct Pcap {
    header: Vec<u8>,
    records: Vec<(f64, Vec<u8>)>,
}

fn read_pcap(path: &Path) -> Pcap {
    let b = std::fs::read(path).unwrap();
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let (le, nanos) = match magic {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        _ => panic!("{}: not a classic pcap file", path.display()),
    };
    let u32_at = |i: usize| {
        let a: [u8; 4] = b[i..i + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut records = Vec::new();
    let mut i = 24;
    while i + 16 <= b.len() {
        let frac = f64::from(u32_at(i + 4)) / if nanos { 1e9 } else { 1e6 };
        let ts = f64::from(u32_at(i)) + frac;
        let end = i + 16 + u32_at(i + 8) as usize;
        records.push((ts, b[i..end].to_vec()));
        i = end;
    }
    Pcap {
        header: b[..24].to_vec(),
        records,
    }
}

/// Writes records `range` of `p` to a new file (frames unchanged).
fn write_part(p: &Pcap, range: std::ops::Range<usize>, out: &Path) {
    let mut b = p.header.clone();
    for (_, r) in &p.records[range] {
        b.extend_from_slice(r);
    }
    std::fs::write(out, b).unwrap();
}

/// "2026-11-21T02:20:02.585620+0000" -> seconds since the epoch.
fn parse_ts(s: &str) -> f64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
    let frac_end = s[19..].find(['+', '-', 'Z']).map_or(s.len(), |i| 19 + i);
    let frac: f64 = format!("0{}", &s[19..frac_end]).parse().unwrap_or(0.0);
    let sign = if &s[frac_end..frac_end + 1] == "-" {
        -1
    } else {
        1
    };
    let off = if s.len() >= frac_end + 5 {
        sign * (n(frac_end + 1, frac_end + 3) * 3600 + n(frac_end + 3, frac_end + 5) * 60)
    } else {
        0
    };
    (secs - off) as f64 + frac
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn protocol(a: &serde_json::Value) -> &str {
    a["detections"][0]["protocol"].as_str().unwrap_or("")
}

#[test]
fn parse_ts_matches_known_instants() {
    assert_eq!(parse_ts("1970-01-01T00:00:00.000000+0000"), 0.0);
    let t = parse_ts("2026-11-21T02:20:02.585620+0000");
    assert!((t - 1_795_227_602.585_62).abs() < 1e-6, "{t}");
    assert!((parse_ts("2026-11-21T03:20:02.5+0100") - (t - 0.08562)).abs() < 1e-6);
}

/// Each capture is a single session: the deciding packet of an alert is
/// the n-th packet of the capture, n = the alert's packet count.
#[test]
fn replayed_sessions_alert_promptly() {
    let Some(ns) = netns_with_tcpreplay() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    const PPS: u32 = 200;
    const RUNS: usize = 3;
    let captures = [
        ("wireguard.pcap", "wireguard"),
        ("openvpn-udp-tlscrypt.pcap", "openvpn"),
        ("rdp-xfreerdp.pcap", "rdp"),
        ("vnc-tigervnc.pcap", "vnc"),
    ];
    // From the kernel's capture of the deciding packet, and from its
    // estimated send time (tcpreplay start + index / pps: an upper bound,
    // it includes tcpreplay's start-up).
    let mut from_capture = Vec::new();
    let mut from_send = Vec::new();
    for run in 0..RUNS {
        // A new daemon per run: the same five-tuples again would be the
        // same, already alerted flows.
        let gw = Daemon::start(&ns, dir.path(), &format!("run{run}"));
        for (file, proto) in captures {
            let path = Path::new(RECORDED).join(file);
            let seen = gw.alerts().len();
            let start = replay(&ns, &path, PPS);
            assert!(
                gw.wait_alert(Duration::from_secs(10), |a| protocol(a) == proto),
                "run {run}: no {proto} alert for {file}: stderr {}",
                gw.stderr()
            );
            // Let an upgraded alert (e.g. high -> certain) come too.
            std::thread::sleep(Duration::from_millis(300));
            for (arrived, a) in gw.alerts().into_iter().skip(seen) {
                let decided = parse_ts(a["timestamp"].as_str().unwrap());
                let f = &a["flow"];
                let n = f["pkts_toserver"].as_u64().unwrap() + f["pkts_toclient"].as_u64().unwrap();
                let sent = epoch(start) + (n - 1) as f64 / f64::from(PPS);
                let lc = epoch(arrived) - decided;
                let ls = epoch(arrived) - sent;
                println!(
                    "run {run} {file}: {} {} after packet {n}: {:.1} ms from capture, {:.1} ms from send",
                    protocol(&a),
                    a["detections"][0]["confidence"].as_str().unwrap_or(""),
                    lc * 1e3,
                    ls * 1e3
                );
                from_capture.push(lc);
                from_send.push(ls);
            }
        }
        let events = gw.stop();
        let flagged = events
            .iter()
            .filter(|e| e["event_type"] == "flow" && e["flow"]["alerted"] == true)
            .count();
        assert!(
            flagged >= captures.len(),
            "run {run}: {flagged} flagged flows"
        );
    }
    for (what, v) in [("capture", &mut from_capture), ("send", &mut from_send)] {
        v.sort_by(f64::total_cmp);
        println!(
            "alert latency from {what} ({} alerts, {RUNS} runs, --pps {PPS}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            v.len(),
            percentile(v, 0.5) * 1e3,
            percentile(v, 0.99) * 1e3,
            v.last().unwrap() * 1e3
        );
        // Generous: catches an alert held until flow end or shutdown, not a
        // slow machine.
        assert!(
            *v.last().unwrap() < 5.0,
            "an alert took more than 5 s from {what}"
        );
    }
}

/// Stop the daemon after a UDP VPN session's handshake, start a new one for
/// the rest: the first keeps the handshake alert, the second detects the
/// session from transport data alone (mid-stream).
#[test]
fn restart_mid_replay_redetects_udp_vpn_sessions() {
    let Some(ns) = netns_with_tcpreplay() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // (capture, protocol, packets before the restart): WireGuard's handshake
    // and first transport packets; OpenVPN's whole TLS handshake.
    let sessions = [
        ("wireguard.pcap", "wireguard", 6),
        ("openvpn-udp-tlscrypt.pcap", "openvpn", 19),
    ];
    let mut parts = Vec::new();
    for (file, proto, cut) in sessions {
        let p = read_pcap(&Path::new(RECORDED).join(file));
        let head = dir.path().join(format!("{proto}-head.pcap"));
        let tail = dir.path().join(format!("{proto}-tail.pcap"));
        write_part(&p, 0..cut, &head);
        write_part(&p, cut..p.records.len(), &tail);
        parts.push((proto, head, tail));
    }

    let first = Daemon::start(&ns, dir.path(), "first");
    for (proto, head, _) in &parts {
        replay(&ns, head, 20);
        assert!(
            first.wait_alert(Duration::from_secs(10), |a| protocol(a) == *proto),
            "first daemon: no {proto} alert from the handshake: {}",
            first.stderr()
        );
    }
    let events1 = first.stop();

    let second = Daemon::start(&ns, dir.path(), "second");
    for (proto, _, tail) in &parts {
        replay(&ns, tail, 20);
        let _ = second.wait_alert(Duration::from_secs(10), |a| protocol(a) == *proto);
    }
    let events2 = second.stop();

    for (proto, _, _) in &parts {
        // Nothing of the finished part lost: its alert and its flow record
        // (flushed at SIGTERM) are in the first daemon's output.
        let a1: Vec<_> = events1
            .iter()
            .filter(|e| e["event_type"] == "alert" && protocol(e) == *proto)
            .collect();
        assert!(!a1.is_empty(), "first daemon lost the {proto} alert");
        assert!(
            events1.iter().any(|e| e["event_type"] == "flow"
                && protocol(e) == *proto
                && e["flow"]["alerted"] == true),
            "first daemon did not flush the {proto} flow"
        );
        println!(
            "first daemon: {proto}: {}",
            a1[0]["detections"][0]["reason"]
        );
        // The rest alone: detected again, from the data channel.
        let a2: Vec<_> = events2
            .iter()
            .filter(|e| e["event_type"] == "alert" && protocol(e) == *proto)
            .collect();
        assert!(
            !a2.is_empty(),
            "second daemon did not re-detect {proto} mid-stream: {events2:?}"
        );
        let d = &a2[0]["detections"][0];
        let reason = d["reason"].as_str().unwrap_or("");
        assert!(
            reason.contains("handshake not seen") || d["evidence"]["midstream"] == "true",
            "{proto}: not a mid-stream detection: {d}"
        );
        println!("second daemon: {proto}: {reason}");
    }
}
