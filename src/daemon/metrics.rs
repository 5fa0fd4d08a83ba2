//! Prometheus text exposition (format 0.0.4) of a live run's counters, and
//! a minimal HTTP/1.0 server for `GET /metrics` on `daemon.metrics_listen`.

use crate::decode::DecodeError;
use crate::pipeline::LiveSnapshot;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP gateward_{name} {help}");
    let _ = writeln!(out, "# TYPE gateward_{name} {kind}");
    for (labels, v) in samples {
        let _ = writeln!(out, "gateward_{name}{labels} {v}");
    }
}

fn one(v: u64) -> [(String, u64); 1] {
    [(String::new(), v)]
}

fn label_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `/metrics` body.
pub fn render_metrics(s: &LiveSnapshot) -> String {
    let w = &s.workers;
    let mut o = String::new();
    metric(
        &mut o,
        "uptime_seconds",
        "gauge",
        "Seconds since the capture started.",
        &one(s.uptime_secs),
    );
    metric(
        &mut o,
        "packets_total",
        "counter",
        "Frames processed by the workers.",
        &one(w.packets),
    );
    metric(
        &mut o,
        "bytes_total",
        "counter",
        "Frame bytes (wire length) processed.",
        &one(w.bytes),
    );
    let per_if = |f: &dyn Fn(&crate::capture::CaptureStats, u64) -> u64| -> Vec<(String, u64)> {
        s.interfaces
            .iter()
            .map(|(n, st, read)| {
                (
                    format!("{{interface=\"{}\"}}", label_value(n)),
                    f(st, *read),
                )
            })
            .collect()
    };
    metric(
        &mut o,
        "capture_kernel_packets_total",
        "counter",
        "Frames the kernel handed to the capture (pcap_stats ps_recv).",
        &per_if(&|st, _| st.received),
    );
    metric(
        &mut o,
        "capture_kernel_drops_total",
        "counter",
        "Frames dropped because the capture buffer was full (ps_drop).",
        &per_if(&|st, _| st.dropped),
    );
    metric(
        &mut o,
        "capture_kernel_ifdrops_total",
        "counter",
        "Frames dropped by the interface or driver (ps_ifdrop).",
        &per_if(&|st, _| st.if_dropped),
    );
    metric(
        &mut o,
        "capture_packets_read_total",
        "counter",
        "Frames read from the capture.",
        &per_if(&|_, r| r),
    );
    let decode: Vec<(String, u64)> = DecodeError::ALL
        .iter()
        .map(|e| (format!("{{reason=\"{}\"}}", e.name()), w.decode.get(*e)))
        .collect();
    metric(
        &mut o,
        "decode_errors_total",
        "counter",
        "Frames not decoded, by reason.",
        &decode,
    );
    metric(
        &mut o,
        "decapsulated_total",
        "counter",
        "Encapsulated packets decoded.",
        &one(w.decapsulated),
    );
    metric(
        &mut o,
        "reassembled_total",
        "counter",
        "Datagrams rebuilt from fragments.",
        &one(w.reassembled),
    );
    metric(
        &mut o,
        "buffer_refused_total",
        "counter",
        "Dissector/stream buffer growths refused: flow.buffer_memcap reached.",
        &one(w.buffer_refused),
    );
    metric(
        &mut o,
        "buffer_peak_bytes",
        "gauge",
        "Most bytes held in dissector/stream buffers at once.",
        &one(w.buffer_peak_bytes),
    );
    metric(
        &mut o,
        "flows_total",
        "counter",
        "Flows created.",
        &one(w.flows),
    );
    metric(
        &mut o,
        "flows_active",
        "gauge",
        "Flows held now.",
        &one(s.open_flows),
    );
    let ended = [
        ("{reason=\"timeout\"}".to_string(), w.flows_timed_out),
        ("{reason=\"evicted\"}".to_string(), w.flows_evicted),
        ("{reason=\"shutdown\"}".to_string(), w.flows_at_shutdown),
    ];
    metric(
        &mut o,
        "flows_ended_total",
        "counter",
        "Flows ended, by reason.",
        &ended,
    );
    metric(
        &mut o,
        "flow_interim_records_total",
        "counter",
        "Interim records of long flows.",
        &one(w.interim_records),
    );
    metric(
        &mut o,
        "alerts_total",
        "counter",
        "Alerts written.",
        &one(w.alerts),
    );
    metric(
        &mut o,
        "detections_suppressed_total",
        "counter",
        "Detections approved by an allow rule.",
        &one(w.detections_suppressed),
    );
    metric(
        &mut o,
        "events_total",
        "counter",
        "Flow and alert events written.",
        &one(w.events),
    );
    metric(
        &mut o,
        "stream_gaps_total",
        "counter",
        "TCP gaps the assembler could not fill.",
        &one(w.inspect.stream_gaps),
    );
    metric(
        &mut o,
        "reloads_total",
        "counter",
        "Successful reloads (SIGUSR2).",
        &one(s.reloads),
    );
    metric(
        &mut o,
        "reload_failures_total",
        "counter",
        "Reloads refused; old settings kept.",
        &one(s.reload_failures),
    );
    let mut names: Vec<&str> = s.outputs.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let samples: Vec<(String, u64)> = s
            .outputs
            .iter()
            .filter(|c| c.name == name)
            .map(|c| {
                (
                    format!("{{output=\"{}\"}}", label_value(&c.output)),
                    c.value,
                )
            })
            .collect();
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        metric(
            &mut o,
            &format!("output_{clean}_total"),
            "counter",
            &format!("Output events {name}, by output."),
            &samples,
        );
    }
    if let Some(c) = &s.correlate {
        for (name, kind, help, v) in [
            (
                "host_alerts_total",
                "counter",
                "Host alerts written by the correlation stage.",
                c.alerts,
            ),
            (
                "host_alerts_held_back_total",
                "counter",
                "Host alerts held back by the per-host rate limit.",
                c.alerts_held_back,
            ),
            (
                "correlate_observations_total",
                "counter",
                "Finished flows fed to the correlation stage.",
                c.observations,
            ),
            (
                "correlate_hosts",
                "gauge",
                "Internal hosts the correlation stage tracks now.",
                c.hosts_tracked,
            ),
            (
                "correlate_hosts_evicted_total",
                "counter",
                "Hosts evicted to stay within correlate.max_hosts.",
                c.hosts_evicted,
            ),
            (
                "correlate_truncated_total",
                "counter",
                "Per-host sessions, fingerprints and findings dropped at their caps.",
                c.sessions_truncated + c.fingerprints_truncated + c.findings_truncated,
            ),
        ] {
            metric(&mut o, name, kind, help, &one(v));
        }
    }
    o
}

fn answer(mut conn: TcpStream, snapshot: &Mutex<LiveSnapshot>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while len < buf.len() {
        match conn.read(&mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                len += n;
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n")
                    || buf[..len].windows(2).any(|w| w == b"\n\n")
                {
                    break;
                }
            }
        }
    }
    let req = String::from_utf8_lossy(&buf[..len]);
    let mut parts = req.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) =
        if method == "GET" && (path == "/metrics" || path.starts_with("/metrics?")) {
            let s = snapshot.lock().unwrap_or_else(|e| e.into_inner()).clone();
            (
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                render_metrics(&s),
            )
        } else {
            (
                "404 Not Found",
                "text/plain; charset=utf-8",
                "not found\n".to_string(),
            )
        };
    let _ = write!(
        conn,
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Serves `/metrics` from the snapshot the daemon refreshes, one
/// connection at a time (a scraper, not the public), on its own thread.
pub(super) fn serve(listener: TcpListener, snapshot: Arc<Mutex<LiveSnapshot>>) {
    let _ = std::thread::Builder::new()
        .name("gw-metrics".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                answer(conn, &snapshot);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_have_help_type_and_values() {
        let mut s = LiveSnapshot::default();
        s.workers.packets = 42;
        s.interfaces.push(("eth\"0".into(), Default::default(), 0));
        let m = render_metrics(&s);
        assert!(
            m.contains("# TYPE gateward_packets_total counter\ngateward_packets_total 42\n"),
            "{m}"
        );
        assert!(
            m.contains("gateward_capture_kernel_drops_total{interface=\"eth\\\"0\"} 0"),
            "{m}"
        );
        assert!(m.contains("# HELP gateward_alerts_total"));
    }
}
