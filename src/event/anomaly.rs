//! `anomaly` events: a packet gateward could not decode, as Suricata's
//! decoder anomalies (`anomaly.type: decode`, `anomaly.event:
//! decoder.<reason>`). Written per packet when an output takes the type;
//! the same reasons are counted in the run summary and the stats event.

use super::Origin;
use crate::capture::Timestamp;
use crate::decode::DecodeError;
use crate::output::time::EveTime;
use serde::Serialize;

#[derive(Serialize)]
struct AnomalyEvent<'a> {
    timestamp: EveTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_iface: Option<&'a str>,
    event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_cnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_filename: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    anomaly: Anomaly,
}

#[derive(Serialize)]
struct Anomaly {
    #[serde(rename = "type")]
    kind: &'static str,
    event: String,
}

/// Whether `e` is about a packet (an anomaly), not about the sensor's own
/// limits or a frame that is simply not IP (ARP, LLDP, ...).
pub fn is_anomaly(e: DecodeError) -> bool {
    !matches!(
        e,
        DecodeError::NotIp
            | DecodeError::FragmentTimeout
            | DecodeError::FragmentEvicted
            | DecodeError::TunnelTooDeep
    )
}

/// Appends the anomaly event of a packet at `at` that failed with `e`.
pub fn write(out: &mut Vec<u8>, at: Timestamp, e: DecodeError, origin: &Origin) {
    let ev = AnomalyEvent {
        timestamp: EveTime(at),
        in_iface: origin.in_iface.as_deref(),
        event_type: "anomaly",
        pcap_cnt: origin.pcap_cnt.filter(|n| *n > 0),
        pcap_filename: origin.pcap_filename.as_deref(),
        host: origin.host.as_deref(),
        anomaly: Anomaly {
            kind: "decode",
            event: format!("decoder.{}", e.name()),
        },
    };
    let len = out.len();
    if crate::output::json::write(&mut *out, &ev).is_ok() {
        out.push(b'\n');
    } else {
        out.truncate(len);
    }
}
