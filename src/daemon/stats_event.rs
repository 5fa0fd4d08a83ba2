//! The periodic EVE `stats` event, shaped like Suricata's
//! (`{"event_type":"stats","stats":{"uptime":..,"capture":{..},..}}`).

use crate::capture::Timestamp;
use crate::decode::DecodeError;
use crate::pipeline::LiveSnapshot;
use serde_json::{Map, Value, json};

/// One JSON line (newline-terminated) with the counters of `s`, stamped
/// with wall time `now`, naming the sensor `host` (`output.host`) when set.
pub fn stats_event(s: &LiveSnapshot, now: Timestamp, host: Option<&str>) -> Vec<u8> {
    let w = &s.workers;
    let cap = s.capture_totals();
    let mut decoder = Map::new();
    decoder.insert("pkts".into(), json!(w.packets));
    decoder.insert("bytes".into(), json!(w.bytes));
    decoder.insert("invalid".into(), json!(w.decode.errors()));
    decoder.insert("decapsulated".into(), json!(w.decapsulated));
    decoder.insert("reassembled".into(), json!(w.reassembled));
    decoder.insert("buffer_refused".into(), json!(w.buffer_refused));
    decoder.insert("buffer_peak_bytes".into(), json!(w.buffer_peak_bytes));
    for e in DecodeError::ALL {
        decoder.insert(e.name().into(), json!(w.decode.get(e)));
    }
    let mut interfaces = Map::new();
    for (name, st, read) in &s.interfaces {
        interfaces.insert(
            name.clone(),
            json!({
                "kernel_packets": st.received,
                "kernel_drops": st.dropped,
                "kernel_ifdrops": st.if_dropped,
                "packets_read": read,
            }),
        );
    }
    let mut outputs = Map::new();
    for c in &s.outputs {
        let entry = outputs
            .entry(c.output.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(c.name.clone(), json!(c.value));
        }
    }
    let stats = json!({
            "uptime": s.uptime_secs,
            "capture": {
                "kernel_packets": cap.received,
                "kernel_drops": cap.dropped,
                "kernel_ifdrops": cap.if_dropped,
                "interfaces": interfaces,
            },
            "decoder": decoder,
            "flow": {
                "total": w.flows,
                "active": s.open_flows,
                "timed_out": w.flows_timed_out,
                "evicted": w.flows_evicted,
                "at_shutdown": w.flows_at_shutdown,
                "interim_records": w.interim_records,
                "peak": w.peak_flows,
            },
            "inspect": {
                "stream_gaps": w.inspect.stream_gaps,
                "budget_exhausted": w.inspect.budget_exhausted,
            },
            "dns": {
                "names_learned": w.dns_names_learned,
                "cache_evictions": w.dns_cache_evictions,
            },
            "correlate": s.correlate,
            "detect": {
                "alert": w.alerts,
                "suppressed": w.detections_suppressed,
                "events": w.events,
                "reloads": s.reloads,
                "reload_failures": s.reload_failures,
            },
            "output": outputs,
            "workers": s.worker_count,
    });
    // A struct, so `timestamp` and `event_type` lead as in every event.
    #[derive(serde::Serialize)]
    struct Event<'a> {
        timestamp: String,
        event_type: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<&'a str>,
        stats: Value,
    }
    let ev = Event {
        timestamp: crate::output::time::eve(now),
        event_type: "stats",
        host,
        stats,
    };
    let mut line = serde_json::to_vec(&ev).unwrap_or_default();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureStats;
    use crate::pipeline::OutputCounter;

    #[test]
    fn stats_event_has_suricata_shape() {
        let mut s = LiveSnapshot {
            uptime_secs: 7,
            ..Default::default()
        };
        s.workers.packets = 10;
        s.workers.alerts = 2;
        s.interfaces.push((
            "eth0".into(),
            CaptureStats {
                received: 12,
                dropped: 1,
                if_dropped: 0,
            },
            11,
        ));
        s.outputs.push(OutputCounter {
            output: "stdout".into(),
            name: "sent".into(),
            value: 3,
        });
        let line = stats_event(&s, Timestamp(1_700_000_000_000_000), Some("edge-1"));
        assert!(line.ends_with(b"\n"));
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["event_type"], "stats");
        assert_eq!(v["host"], "edge-1");
        assert_eq!(v["stats"]["uptime"], 7);
        assert_eq!(v["stats"]["capture"]["kernel_packets"], 12);
        assert_eq!(v["stats"]["capture"]["kernel_drops"], 1);
        assert_eq!(v["stats"]["decoder"]["pkts"], 10);
        assert_eq!(v["stats"]["detect"]["alert"], 2);
        assert_eq!(v["stats"]["output"]["stdout"]["sent"], 3);
    }
}
