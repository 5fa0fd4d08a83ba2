//! Per-protocol events (`dns`, `tls`, `http`, `ssh`, `quic`, `rdp`, `rfb`),
//! as Suricata's eve-log writes them beside alerts and flows: the event
//! header (time, flow id, endpoints, interface or file, sensor name) and
//! one protocol object, the same object the flow record carries. A SIEM's
//! Suricata dashboards filter on these event types.
//!
//! They are written once per flow, with its first record (interim or
//! final) or when it ends unreported, and only for the types an output
//! takes, so a run that selects none pays nothing.

use super::{EtherSection, FlowEvent, FlowView, QuicSection};
use crate::detect::{Basis, Detection, Protocol};
use crate::dissect::dns::DnsEvent;
use crate::dissect::http::HttpEvent;
use crate::dissect::ssh::SshEvent;
use crate::dissect::tls::TlsEvent;
use crate::output::time::EveTime;
use crate::output::types::{EventType, EventTypes};
use serde::Serialize;

/// One protocol event. `timestamp` is the time of the last payload packet
/// the dissectors read (the transaction's last packet they saw), or the
/// flow's first packet when none carried payload.
#[derive(Serialize)]
struct ProtoEvent<'a> {
    timestamp: EveTime,
    flow_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_iface: Option<&'a str>,
    event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vlan: Option<crate::output::vlan::VlanIds>,
    #[serde(flatten)]
    endpoints: super::Endpoints,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto: Option<&'static str>,
    community_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_filename: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ether: Option<EtherSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_id: Option<u64>,
    #[serde(flatten)]
    body: Body<'a>,
}

/// The protocol object of a [`ProtoEvent`], under its protocol's key.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Body<'a> {
    Dns(&'a DnsEvent),
    Tls(&'a TlsEvent),
    Http(&'a HttpEvent),
    Ssh(&'a SshEvent),
    Quic(&'a QuicSection<'a>),
    Rdp(RdpSection<'a>),
    Rfb(RfbSection<'a>),
}

/// Suricata's `rdp` object for the two X.224 messages gateward reads.
#[derive(Serialize)]
struct RdpSection<'a> {
    tx_id: u64,
    /// `initial_request` or `initial_response`.
    event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie: Option<&'a str>,
}

/// Suricata's `rfb` object: the two ProtocolVersion messages.
#[derive(Serialize)]
struct RfbSection<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    server_protocol_version: Option<RfbVersion<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_protocol_version: Option<RfbVersion<'a>>,
}

/// `major` and `minor` of `RFB 003.008`, as strings.
#[derive(Serialize)]
struct RfbVersion<'a> {
    major: &'a str,
    minor: &'a str,
}

fn rfb_version(v: &str) -> Option<RfbVersion<'_>> {
    let (major, minor) = v.split_once('.')?;
    Some(RfbVersion { major, minor })
}

/// The verified finding of `protocol`, if the detectors made one from the
/// bytes.
fn structural(ds: &[Detection], protocol: Protocol) -> Option<&Detection> {
    ds.iter()
        .find(|d| d.protocol == protocol && d.basis == Basis::Structure)
}

/// Whether the flow has anything to write as one of the protocol events in
/// `types` (checked before an event is built, so flows without protocol
/// metadata cost nothing).
pub fn has_any(v: &FlowView<'_>, types: EventTypes) -> bool {
    let d = v.app.dissectors.as_ref();
    let ds = &v.detect.detections[..];
    (types.has(EventType::Dns) && d.is_some_and(|d| d.dns_event().is_some()))
        || (types.has(EventType::Tls) && d.is_some_and(|d| d.has_tls_event()))
        || (types.has(EventType::Http) && d.is_some_and(|d| d.http_event().is_some()))
        || (types.has(EventType::Ssh) && d.is_some_and(|d| d.ssh_event().is_some()))
        || (types.has(EventType::Quic)
            && d.is_some_and(|d| d.quic.as_ref().is_some_and(|q| q.0.event().is_some())))
        || (types.has(EventType::Rdp) && structural(ds, Protocol::Rdp).is_some())
        || (types.has(EventType::Rfb) && structural(ds, Protocol::Vnc).is_some())
}

/// Appends the protocol events of the flow `ev` was built from, for the
/// types in `types`; returns lines written. `retry` is the second TLS
/// handshake of a flow that saw a HelloRetryRequest (its own `tls` event).
pub fn write(
    out: &mut Vec<u8>,
    v: &FlowView<'_>,
    ev: &FlowEvent<'_>,
    retry: Option<&TlsEvent>,
    types: EventTypes,
) -> u64 {
    if !types.any_protocol() {
        return 0;
    }
    let f = v.flow;
    let at = v
        .app
        .packets
        .last()
        .map_or(f.first_ts, |p| {
            crate::capture::Timestamp(f.first_ts.0.saturating_add(u64::from(p.offset_us)))
        })
        .min(f.last_ts.max(f.first_ts));
    let mut lines = 0;
    let mut put = |event_type: &'static str, tx_id: Option<u64>, body: Body<'_>| {
        let e = ProtoEvent {
            timestamp: EveTime(at),
            flow_id: ev.flow_id,
            in_iface: ev.in_iface,
            event_type,
            vlan: ev.vlan,
            endpoints: ev.endpoints,
            app_proto: ev.app_proto,
            community_id: &ev.community_id,
            pcap_filename: ev.pcap_filename,
            host: ev.host,
            ether: ev.ether,
            tx_id,
            body,
        };
        let len = out.len();
        // Serialising plain data into a Vec cannot fail; if it did, the
        // partial line is taken back.
        if crate::output::json::write(&mut *out, &e).is_ok() {
            out.push(b'\n');
            lines += 1;
        } else {
            out.truncate(len);
        }
    };
    if types.has(EventType::Dns)
        && let Some(d) = ev.dns
    {
        put("dns", None, Body::Dns(d));
    }
    if types.has(EventType::Tls) {
        if let Some(t) = ev.tls {
            put("tls", None, Body::Tls(t));
        }
        if let Some(t) = retry {
            put("tls", None, Body::Tls(t));
        }
    }
    if types.has(EventType::Http)
        && let Some(h) = ev.http
    {
        put("http", Some(0), Body::Http(h));
    }
    if types.has(EventType::Ssh)
        && let Some(s) = ev.ssh
    {
        put("ssh", None, Body::Ssh(s));
    }
    if types.has(EventType::Quic)
        && let Some(q) = ev.quic.as_ref()
    {
        put("quic", None, Body::Quic(q));
    }
    let ds = &v.detect.detections[..];
    if types.has(EventType::Rdp)
        && let Some(d) = structural(ds, Protocol::Rdp)
    {
        put(
            "rdp",
            Some(0),
            Body::Rdp(RdpSection {
                tx_id: 0,
                event_type: "initial_request",
                cookie: d.evidence.get("cookie_user"),
            }),
        );
        if d.evidence.get("selected_protocol").is_some()
            || d.evidence.get("negotiation_failure").is_some()
        {
            put(
                "rdp",
                Some(1),
                Body::Rdp(RdpSection {
                    tx_id: 1,
                    event_type: "initial_response",
                    cookie: None,
                }),
            );
        }
    }
    if types.has(EventType::Rfb)
        && let Some(d) = structural(ds, Protocol::Vnc)
    {
        put(
            "rfb",
            Some(0),
            Body::Rfb(RfbSection {
                server_protocol_version: d.evidence.get("server_version").and_then(rfb_version),
                client_protocol_version: d.evidence.get("client_version").and_then(rfb_version),
            }),
        );
    }
    lines
}
