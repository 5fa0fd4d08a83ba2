//! The wire schema: EVE-shaped JSON objects, one per line. Field meanings
//! are documented in `docs/events.md`; keep the two in step.

use crate::capture::Timestamp;
use crate::decode::{Addr, IpProto};
use crate::detect::Detection;
use crate::detect::engine::FlowDetect;
use crate::detect::rtt::Rtt;
use crate::detect::signature::{AlertSection, alert_section};
use crate::dissect::FlowApp;
use crate::dissect::dns::DnsEvent;
use crate::dissect::http::HttpEvent;
use crate::dissect::quic::QuicEvent;
use crate::dissect::socks::SocksEvent;
use crate::dissect::ssh::SshEvent;
use crate::dissect::tls::TlsEvent;
use crate::dissect::tls::fingerprint::Ja3;
use crate::enrich::home::Direction;
use crate::enrich::{AsView, GeoView, IpInfo};
use crate::flow::{EndReason, Flow, TO_CLIENT, TO_SERVER};
use crate::output::community_id;
use crate::output::time::EveTime;
use crate::output::types::{EventType, EventTypes};
use serde::Serialize;
use std::net::IpAddr;

pub mod anomaly;
pub mod protocol;

/// What an event is written from: one tracked flow with its inspection and
/// detection state.
#[derive(Clone, Copy)]
pub struct FlowView<'a> {
    /// Key, counters, TCP state.
    pub flow: &'a Flow,
    /// Packet summaries and dissector metadata.
    pub app: &'a FlowApp,
    /// Detections.
    pub detect: &'a FlowDetect,
    /// Name the client resolved for the server's address.
    pub dns_name: Option<&'a str>,
}

/// Facts about a flow that are not in its state, computed by the worker
/// once per event: the writer only formats.
pub struct EventFacts {
    /// Both endpoints' enrichment (client, server), when the snapshot
    /// knows anything of them.
    pub infos: Option<[IpInfo; 2]>,
    /// Direction relative to `home_net`.
    pub direction: Direction,
    /// Round trips, when [`shows_rtt`] says the event carries them.
    pub rtt: Option<Rtt>,
    /// Interface, file, packet number, sensor name, MACs.
    pub origin: Origin,
}

/// True when an event of this flow carries an `rtt` section: remote-access
/// sessions and TLS flows.
pub fn shows_rtt(v: &FlowView<'_>) -> bool {
    v.detect
        .detections
        .iter()
        .any(|d| d.category == crate::detect::Category::RemoteAccess)
        || v.app.app_proto() == Some(crate::dissect::AppProto::Tls)
}

/// Suricata's name for an IP protocol (`crate::output::proto`): always a
/// string, the number as a string where the registry has no keyword.
#[derive(Clone, Copy, Debug)]
pub struct Proto(pub IpProto);

impl Proto {
    /// The name as written (Suricata's), or the number as a string.
    pub fn name(&self) -> &'static str {
        crate::output::proto::name(self.0.0)
    }
}

impl Serialize for Proto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Where the packets of an event came from and who saw them, as Suricata
/// writes it in every event header: the capture interface (`in_iface`,
/// live), the capture file and packet number (`pcap_filename`,
/// `pcap_cnt`, offline), the sensor's name (`host`, configured) and the
/// Ethernet addresses (`ether`, when configured). Built by the worker;
/// `None` fields are not written.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// Interface the flow's first packet was captured on (live runs).
    pub in_iface: Option<std::sync::Arc<str>>,
    /// Capture file the flow's first packet was read from (offline runs).
    pub pcap_filename: Option<std::sync::Arc<str>>,
    /// Position of the deciding packet in the offline run's input (1 =
    /// the first packet read), written on alerts as Suricata does.
    pub pcap_cnt: Option<u64>,
    /// `output.host`: the sensor's name.
    pub host: Option<std::sync::Arc<str>>,
    /// Client and server MAC addresses of the flow's first frame (with
    /// `output.ether`).
    pub ether: Option<Ether>,
}

/// MAC addresses of a flow's first Ethernet frame, client side first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ether {
    /// The client's address (source of a client-to-server frame).
    pub client: [u8; 6],
    /// The server's address.
    pub server: [u8; 6],
}

/// EVE's `ether` object: `src_mac` / `dest_mac` as Suricata writes them on
/// alerts and protocol events (`aa:bb:cc:dd:ee:ff`).
#[derive(Clone, Copy, Serialize)]
pub struct EtherSection {
    /// Client MAC.
    pub src_mac: Mac,
    /// Server MAC.
    pub dest_mac: Mac,
}

impl From<Ether> for EtherSection {
    fn from(e: Ether) -> Self {
        EtherSection {
            src_mac: Mac(e.client),
            dest_mac: Mac(e.server),
        }
    }
}

/// A MAC address written as six lower-case hex pairs joined by `:`.
#[derive(Clone, Copy, Debug)]
pub struct Mac(pub [u8; 6]);

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut b = [b':'; 17];
        for (i, x) in self.0.iter().enumerate() {
            b[i * 3] = HEX[usize::from(x >> 4)];
            b[i * 3 + 1] = HEX[usize::from(x & 0x0f)];
        }
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("00:00:00:00:00:00"))
    }
}

/// `flow` section of a flow or alert event.
#[derive(Serialize)]
pub struct FlowSection {
    /// Packets client to server.
    pub pkts_toserver: u64,
    /// Packets server to client.
    pub pkts_toclient: u64,
    /// Frame bytes client to server.
    pub bytes_toserver: u64,
    /// Frame bytes server to client.
    pub bytes_toclient: u64,
    /// Transport payload bytes client to server (gateward extension).
    pub payload_bytes_toserver: u64,
    /// Transport payload bytes server to client (gateward extension).
    pub payload_bytes_toclient: u64,
    /// First packet.
    pub start: EveTime,
    /// Last packet.
    pub end: EveTime,
    /// `end` seconds minus `start` seconds, whole seconds truncated each
    /// (Suricata's `flow.age`: 10.9 s to 11.1 s is 1).
    pub age: u64,
    /// `new`, `established` or `closed`.
    pub state: &'static str,
    /// `timeout`, `forced` (evicted), `shutdown` (end of input) or
    /// `active_timeout` (interim record of a flow that goes on); absent on
    /// alerts, which are written while the flow goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// True if any detection was raised.
    pub alerted: bool,
}

/// `tcp` section (Suricata's flow log shape).
#[derive(Serialize)]
pub struct TcpSection {
    /// All flags seen, hex.
    pub tcp_flags: Hex2,
    /// Flags client to server, hex.
    pub tcp_flags_ts: Hex2,
    /// Flags server to client, hex.
    pub tcp_flags_tc: Hex2,
    /// SYN seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub syn: bool,
    /// FIN seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fin: bool,
    /// RST seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rst: bool,
    /// PSH seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub psh: bool,
    /// ACK seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ack: bool,
    /// Connection state.
    pub state: &'static str,
}

/// The outer flow of a decapsulated flow.
#[derive(Serialize)]
pub struct TunnelParentSection {
    /// Outer flow's `flow_id`.
    pub flow_id: u64,
    /// The outer flow's endpoints and protocol.
    #[serde(flatten)]
    pub endpoints: Endpoints,
    /// Encapsulation (`gre`, `vxlan`, `gtp_u`, `teredo`, `ipip`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Nesting depth of this flow (1 = inside a top-level flow).
    pub depth: u8,
}

/// A flow's two ends as EVE names them: the client is `src`, the server
/// `dest`; ports only for transports that have them.
#[derive(Clone, Copy, Serialize)]
pub struct Endpoints {
    /// Client address.
    pub src_ip: IpAddr,
    /// Client port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Server address.
    pub dest_ip: IpAddr,
    /// Server port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// Transport protocol.
    pub proto: Proto,
}

impl Endpoints {
    /// The endpoints of `proto` between `src` and `dst`.
    pub fn new(src: (Addr, u16), dst: (Addr, u16), proto: IpProto) -> Self {
        Endpoints {
            src_ip: src.0.ip(),
            src_port: port(proto, src.1),
            dest_ip: dst.0.ip(),
            dest_port: port(proto, dst.1),
            proto: Proto(proto),
        }
    }
}

/// One flow record (or alert) as written.
#[derive(Serialize)]
pub struct FlowEvent<'a> {
    /// Flow start (EVE format, UTC).
    pub timestamp: EveTime,
    /// Stable flow identifier below 2^51.
    pub flow_id: u64,
    /// Capture interface of the flow's first packet (live runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_iface: Option<&'a str>,
    /// `flow`, or `alert` when detections exist.
    pub event_type: &'static str,
    /// Position of the deciding packet in the input (offline alerts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    /// VLAN ids, outer first (both of QinQ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<crate::output::vlan::VlanIds>,
    /// Client and server, and the transport.
    #[serde(flatten)]
    pub endpoints: Endpoints,
    /// ICMP type of the first packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP code of the first packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// Application protocol, when identified (see [`app_proto`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'static str>,
    /// The protocol before a change (`http` for TLS through a CONNECT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto_orig: Option<&'static str>,
    /// Community ID v1.
    pub community_id: String,
    /// Capture file of the flow's first packet (offline runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_filename: Option<&'a str>,
    /// The sensor's name (`output.host`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    /// MAC addresses of the flow's first frame (`output.ether`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ether: Option<EtherSection>,
    /// ECS `network.direction` from `home_net`: inbound, outbound, internal
    /// or external.
    pub network_direction: &'static str,
    /// Client location (enrichment databases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_geo: Option<GeoView<'a>>,
    /// Server location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_geo: Option<GeoView<'a>>,
    /// Client autonomous system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_as: Option<AsView<'a>>,
    /// Server autonomous system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_as: Option<AsView<'a>>,
    /// Names of the feeds and AS lists either endpoint is in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<&'static str>,
    /// Name the client resolved for the server's address (DNS cache; gateward extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<&'a str>,
    /// Set on flows found inside a tunnel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_parent: Option<TunnelParentSection>,
    /// Counters and times.
    pub flow: FlowSection,
    /// TCP flags and state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpSection>,
    /// TLS/DTLS handshake facts (docs/tls.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<&'a TlsEvent>,
    /// QUIC facts with the TLS handshake they carried (docs/quic.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quic: Option<QuicSection<'a>>,
    /// SSH banners and HASSH (docs/ssh.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<&'a SshEvent>,
    /// HTTP request/response heads (docs/http.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<&'a HttpEvent>,
    /// DNS query and answers (docs/dns.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<&'a DnsEvent>,
    /// SOCKS handshake (gateward extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socks: Option<&'a SocksEvent>,
    /// Round trips to the remote side (TLS and remote-access TCP flows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<RttSection>,
    /// Remote-control session summary (flows with a remote-access finding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_session: Option<RemoteSession>,
    /// Suricata's alert object, from the most severe detection (alerts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertSection<'a>>,
    /// Findings (empty for an unflagged flow).
    pub detections: &'a [Detection],
    /// Findings an allow rule approved: reported, never alerted.
    #[serde(skip_serializing_if = "<[Detection]>::is_empty")]
    pub suppressed: &'a [Detection],
}

/// Cross-layer round trips of a TCP flow (docs/events.md).
#[derive(Serialize)]
pub struct RttSection {
    /// `server` (outbound or undetermined) or `client` (inbound session).
    pub side: &'static str,
    /// Transport round trip, ms.
    pub tcp_ms: f64,
    /// Smallest application round trip, ms.
    pub app_ms: f64,
    /// `app_ms / tcp_ms`.
    pub ratio: f64,
    /// Exchanges measured.
    pub exchanges: u32,
}

/// Who was driving whom, for how long, and how.
#[derive(Serialize)]
pub struct RemoteSession {
    /// ECS direction: `inbound` means control of an internal host from outside.
    pub direction: &'static str,
    /// The internal side's address, when exactly one side is inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_ip: Option<IpAddr>,
    /// Seconds between the first and the last packet.
    pub duration_s: f64,
    /// Frame bytes client to server.
    pub bytes_toserver: u64,
    /// Frame bytes server to client.
    pub bytes_toclient: u64,
    /// Small client payloads at a human pace; absent when too few packets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// EVE's `quic` object: QUIC's own facts plus the handshake's SNI, ALPN and
/// fingerprints, as Suricata writes them.
#[derive(Serialize)]
pub struct QuicSection<'a> {
    /// QUIC version, packet facts.
    #[serde(flatten)]
    pub quic: &'a QuicEvent,
    /// Server name from the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<&'a str>,
    /// JA3 of the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<&'a Ja3>,
    /// JA3S of the ServerHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<&'a Ja3>,
    /// JA4 (`q` prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<&'a str>,
    /// ALPN values the client offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_alpns: Option<&'a [String]>,
    /// TLS version negotiated inside QUIC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<&'a str>,
}

/// A byte written as two lower-case hex digits, without allocating.
#[derive(Clone, Copy, Debug)]
pub struct Hex2(pub u8);

impl Serialize for Hex2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let b = [
            HEX[usize::from(self.0 >> 4)],
            HEX[usize::from(self.0 & 0x0f)],
        ];
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("00"))
    }
}

fn hex(b: u8) -> Hex2 {
    Hex2(b)
}

fn port(proto: IpProto, p: u16) -> Option<u16> {
    proto.has_ports().then_some(p)
}

impl<'a> FlowEvent<'a> {
    /// Builds the record of a flow (`reason` is `None` for an interim
    /// record), or, with `alert_at`, the alert written when a detection was
    /// made at that time.
    /// `logged` is when the record is written, in capture time (a flow
    /// record's `timestamp`, as Suricata's); an alert's is `alert_at`.
    pub fn from_flow(
        v: &FlowView<'a>,
        reason: Option<EndReason>,
        alert_at: Option<Timestamp>,
        logged: Timestamp,
        seed: u16,
        facts: &'a EventFacts,
    ) -> Self {
        let f = v.flow;
        let app = v.app;
        let detections = &v.detect.detections[..];
        let direction = facts.direction;
        let infos = facts.infos.as_ref();
        let remote = detections
            .iter()
            .any(|d| d.category == crate::detect::Category::RemoteAccess);
        let rtt = facts.rtt.map(|r| RttSection {
            side: r.side.name(),
            tcp_ms: round3(r.tcp_us as f64 / 1000.0),
            app_ms: round3(r.app_us as f64 / 1000.0),
            ratio: (r.ratio() * 10.0).round() / 10.0,
            exchanges: r.exchanges,
        });
        let remote_session = remote.then(|| RemoteSession {
            direction: direction.name(),
            inside_ip: match direction {
                Direction::Outbound => Some(f.client().0.ip()),
                Direction::Inbound => Some(f.server().0.ip()),
                _ => None,
            },
            duration_s: round3(f.last_ts.micros_since(f.first_ts) as f64 / 1e6),
            bytes_toserver: f.bytes[TO_SERVER],
            bytes_toclient: f.bytes[TO_CLIENT],
            interactive: crate::detect::session::interactive(&app.packets),
        });
        let (src, sport) = f.client();
        let (dst, dport) = f.server();
        let proto = f.key.proto;
        let community_id = match (proto, f.icmp) {
            (IpProto::ICMP | IpProto::ICMPV6, Some((t, c))) => {
                community_id::icmp(src, dst, proto.0, t, c, seed)
            }
            _ => community_id::compute(
                src,
                dst,
                proto.0,
                port(proto, 0).map(|_| (sport, dport)),
                false,
                seed,
            ),
        };
        let tcp = (proto == IpProto::TCP).then(|| {
            let all = f.tcp_flags[TO_SERVER] | f.tcp_flags[TO_CLIENT];
            TcpSection {
                tcp_flags: hex(all),
                tcp_flags_ts: hex(f.tcp_flags[TO_SERVER]),
                tcp_flags_tc: hex(f.tcp_flags[TO_CLIENT]),
                syn: all & 0x02 != 0,
                fin: all & 0x01 != 0,
                rst: all & 0x04 != 0,
                psh: all & 0x08 != 0,
                ack: all & 0x10 != 0,
                state: f.tcp_state.name(),
            }
        });
        let (app_proto, app_proto_orig) = app_proto(v);
        let origin = &facts.origin;
        FlowEvent {
            timestamp: EveTime(alert_at.unwrap_or(logged.max(f.last_ts))),
            flow_id: f.flow_id,
            in_iface: origin.in_iface.as_deref(),
            event_type: if alert_at.is_some() { "alert" } else { "flow" },
            pcap_cnt: alert_at.and(origin.pcap_cnt),
            vlan: crate::output::vlan::VlanIds::of(f.key.vlan),
            endpoints: Endpoints::new((src, sport), (dst, dport), proto),
            icmp_type: f.icmp.map(|i| i.0),
            icmp_code: f.icmp.map(|i| i.1),
            app_proto,
            app_proto_orig,
            community_id,
            pcap_filename: origin.pcap_filename.as_deref(),
            host: origin.host.as_deref(),
            ether: origin.ether.map(EtherSection::from),
            network_direction: direction.name(),
            src_geo: infos.and_then(|i| i[0].geo_view()),
            dest_geo: infos.and_then(|i| i[1].geo_view()),
            src_as: infos.and_then(|i| i[0].as_view()),
            dest_as: infos.and_then(|i| i[1].as_view()),
            feeds: infos.map_or_else(Vec::new, |i| {
                let mut v: Vec<&'static str> = i[0].feed_names().chain(i[1].feed_names()).collect();
                v.dedup();
                v
            }),
            dns_name: v.dns_name,
            tunnel_parent: f.tunnel.as_ref().map(|t| TunnelParentSection {
                flow_id: t.flow_id,
                endpoints: Endpoints::new((t.src, t.src_port), (t.dst, t.dst_port), t.proto),
                kind: t.kind.name(),
                depth: t.depth,
            }),
            flow: FlowSection {
                pkts_toserver: f.pkts[TO_SERVER],
                pkts_toclient: f.pkts[TO_CLIENT],
                bytes_toserver: f.bytes[TO_SERVER],
                bytes_toclient: f.bytes[TO_CLIENT],
                payload_bytes_toserver: f.payload_bytes[TO_SERVER],
                payload_bytes_toclient: f.payload_bytes[TO_CLIENT],
                start: EveTime(f.first_ts),
                end: EveTime(f.last_ts),
                age: (f.last_ts.0 / 1_000_000).saturating_sub(f.first_ts.0 / 1_000_000),
                state: f.state_name(),
                reason: if alert_at.is_some() {
                    None
                } else {
                    Some(reason.map_or(INTERIM, EndReason::name))
                },
                alerted: !detections.is_empty(),
            },
            tcp,
            tls: app.dissectors.as_ref().and_then(|d| d.tls_event()),
            quic: app
                .dissectors
                .as_ref()
                .and_then(|d| d.quic_events())
                .map(|(quic, tls)| QuicSection {
                    quic,
                    sni: tls.and_then(|t| t.sni.as_deref()),
                    ja3: tls.and_then(|t| t.ja3.as_ref()),
                    ja3s: tls.and_then(|t| t.ja3s.as_ref()),
                    ja4: tls.and_then(|t| t.ja4.as_deref()),
                    client_alpns: tls.map(|t| &t.client_alpns[..]).filter(|a| !a.is_empty()),
                    tls_version: tls.map(|t| t.version.as_str()),
                }),
            ssh: app.dissectors.as_ref().and_then(|d| d.ssh_event()),
            http: app.dissectors.as_ref().and_then(|d| d.http_event()),
            dns: app.dissectors.as_ref().and_then(|d| d.dns_event()),
            socks: app.dissectors.as_ref().and_then(|d| d.socks_event()),
            rtt,
            remote_session,
            alert: alert_at.and_then(|_| {
                alert_section(detections, transport_name(proto)).map(|mut a| {
                    if let Some(i) = infos {
                        a.metadata.add_enrichment(i);
                    }
                    a
                })
            }),
            detections,
            suppressed: &v.detect.suppressed,
        }
    }
}

impl FlowEvent<'_> {
    /// What the correlation stage reads of this record, built from the
    /// record's own fields (no JSON in between). It equals what
    /// [`crate::correlate::Observation::from_eve`] reads from the written
    /// line; debug builds check that on every record they build.
    pub fn observation(&self) -> Option<crate::correlate::Observation> {
        use crate::correlate::observation::{
            Confidence, DnsInfo, EventKind, ObsDetection, Observation, PeerInfo, RemoteSessionInfo,
            RttInfo,
        };
        let name = |v: &dyn erased::Name| v.name();
        let peer = |g: &Option<GeoView<'_>>, a: &Option<AsView<'_>>| PeerInfo {
            country_iso: g
                .as_ref()
                .and_then(|g| g.country_iso)
                .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
                .map(|c| c.to_ascii_uppercase()),
            as_number: a.as_ref().and_then(|a| a.number),
            as_organization: a.as_ref().and_then(|a| a.organization).map(str::to_owned),
            latitude: None,
            longitude: None,
        };
        let finite = |x: f64| (x.is_finite() && x >= 0.0).then_some(x);
        let o = Observation {
            event_type: if self.event_type == "alert" {
                EventKind::Alert
            } else {
                EventKind::Flow
            },
            start_us: self.flow.start.0.0,
            end_us: self.flow.end.0.0.max(self.flow.start.0.0),
            flow_id: self.flow_id,
            community_id: Some(self.community_id.clone()),
            src_ip: Some(self.endpoints.src_ip),
            src_port: self.endpoints.src_port,
            dest_ip: Some(self.endpoints.dest_ip),
            dest_port: self.endpoints.dest_port,
            proto: self.endpoints.proto.name().to_owned(),
            network_direction: Some(self.network_direction.to_owned()),
            detections: self
                .detections
                .iter()
                .map(|d| ObsDetection {
                    category: name(&d.category).to_ascii_lowercase(),
                    protocol: name(&d.protocol).to_ascii_lowercase(),
                    confidence: Confidence::parse(&name(&d.confidence)).unwrap_or_default(),
                    basis: name(&d.basis),
                    evidence: d
                        .evidence
                        .0
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect(),
                })
                .collect(),
            src_peer: peer(&self.src_geo, &self.src_as),
            dest_peer: peer(&self.dest_geo, &self.dest_as),
            feeds: self.feeds.iter().map(|f| (*f).to_owned()).collect(),
            remote_session: self.remote_session.as_ref().map(|r| RemoteSessionInfo {
                direction: Some(r.direction.to_owned()),
                inside_ip: r.inside_ip,
                duration_s: finite(r.duration_s),
                interactive: r.interactive,
            }),
            rtt: self.rtt.as_ref().map(|r| RttInfo {
                tcp_ms: finite(r.tcp_ms),
                app_ms: finite(r.app_ms),
                ratio: finite(r.ratio),
            }),
            ja4: self.tls.and_then(|t| t.ja4.clone()),
            hassh: self
                .ssh
                .and_then(|s| s.client.as_ref())
                .and_then(|c| c.hassh.as_ref())
                .map(|h| h.hash.clone()),
            dns: self.dns.and_then(|d| {
                let q = d.queries.first()?;
                let n = q.rrname.strip_suffix('.').unwrap_or(&q.rrname);
                if n.is_empty() {
                    return None;
                }
                let response = d.kind == "response";
                let answers = u32::try_from(d.answers.len()).unwrap_or(u32::MAX);
                Some(DnsInfo {
                    rrname: crate::correlate::observation::truncate_name(n).to_ascii_lowercase(),
                    rrtype: Some(q.rrtype.clone()),
                    answers: (response || !d.answers.is_empty()).then_some(answers),
                    response_bytes: response.then_some(self.flow.payload_bytes_toclient),
                })
            }),
            bytes_toserver: self.flow.bytes_toserver,
            bytes_toclient: self.flow.bytes_toclient,
            pkts_toserver: self.flow.pkts_toserver,
            pkts_toclient: self.flow.pkts_toclient,
        }
        .clamped();
        debug_assert_eq!(
            Some(&o),
            serde_json::to_value(self)
                .ok()
                .as_ref()
                .and_then(Observation::from_eve)
                .as_ref(),
            "in-process observation differs from the one read from the record"
        );
        Some(o)
    }
}

/// Serde names of the detection model's enums, as written in EVE.
mod erased {
    /// A value that serialises as one string.
    pub trait Name {
        /// That string.
        fn name(&self) -> String;
    }

    impl<T: serde::Serialize> Name for T {
        fn name(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => s,
                _ => String::new(),
            }
        }
    }
}

/// EVE `app_proto` (and `app_proto_orig`) of a flow: the dissector's
/// protocol; `tls` with `app_proto_orig: http` when TLS was read through an
/// HTTP CONNECT tunnel (Suricata's protocol change); for a flow no
/// dissector claimed, `rdp` or `rfb` when the remote-access detectors
/// verified the RDP connection request or the RFB version exchange from
/// the bytes (a port-only finding names nothing).
pub fn app_proto(v: &FlowView<'_>) -> (Option<&'static str>, Option<&'static str>) {
    use crate::detect::{Basis, Protocol};
    use crate::dissect::AppProto;
    let found = v.app.app_proto();
    // The dissector names `tls` once a granted CONNECT hands the stream on
    // (older states may still say `http`).
    // The CONNECT test first: building the TLS event computes its
    // fingerprints, which most flows never need.
    if matches!(found, Some(AppProto::Http | AppProto::Tls))
        && let Some(d) = v.app.dissectors.as_ref()
        && d.http_event()
            .is_some_and(|h| h.http_method.eq_ignore_ascii_case("CONNECT"))
        && d.has_tls_event()
    {
        return (Some("tls"), Some("http"));
    }
    if let Some(p) = found {
        return (Some(p.as_str()), None);
    }
    let by_structure = |p: Protocol| {
        v.detect
            .detections
            .iter()
            .any(|d| d.protocol == p && d.basis == Basis::Structure)
    };
    if by_structure(Protocol::Rdp) {
        (Some("rdp"), None)
    } else if by_structure(Protocol::Vnc) {
        (Some("rfb"), None)
    } else {
        (None, None)
    }
}

/// `flow.reason` of an interim record (active timeout).
const INTERIM: &str = "active_timeout";

/// Transport name used in signatures.
fn transport_name(proto: IpProto) -> &'static str {
    match proto.0 {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "ICMPv6",
        47 => "GRE",
        50 => "ESP",
        4 => "IPIP",
        41 => "IPv6",
        132 => "SCTP",
        _ => "IP",
    }
}

/// A Suricata-style `tls` event for a second ClientHello (after a
/// HelloRetryRequest): its fingerprints differ from the first hello's, and
/// EVE logs one `tls` record per handshake. Written beside the flow record
/// when the output does not take `tls` events (which then carry it).
#[derive(Serialize)]
pub struct TlsRetryEvent<'a> {
    /// The flow record's `timestamp`.
    pub timestamp: EveTime,
    /// The flow's id.
    pub flow_id: u64,
    /// Capture interface (live runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_iface: Option<&'a str>,
    /// Always `tls`.
    pub event_type: &'static str,
    /// The flow's client, server and transport.
    #[serde(flatten)]
    pub endpoints: Endpoints,
    /// Capture file (offline runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_filename: Option<&'a str>,
    /// The sensor's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    /// The second handshake.
    pub tls: &'a TlsEvent,
}

/// Appends the JSON lines of a flow's record to `out`, for the types in
/// `types`: the `flow` record, then, with `protocol_events` (once per flow,
/// see [`protocol`]), its per-protocol events; the `tls` record of a
/// retried handshake goes with them, or beside the flow record when `tls`
/// events are not taken. Returns lines written.
pub fn write_flow(
    out: &mut Vec<u8>,
    v: &FlowView<'_>,
    ev: &FlowEvent<'_>,
    types: EventTypes,
    protocol_events: bool,
) -> u64 {
    let f = v.flow;
    let final_record = ev.flow.reason.is_some_and(|r| r != INTERIM);
    let mut lines = 0;
    if types.has(EventType::Flow) {
        // Serialising plain data into a Vec cannot fail.
        let _ = crate::output::json::write(&mut *out, ev);
        out.push(b'\n');
        lines += 1;
    }
    let retry = v
        .app
        .dissectors
        .as_ref()
        .and_then(|d| d.tls.as_ref())
        .and_then(|t| t.retry_event());
    if protocol_events {
        lines += protocol::write(out, v, ev, retry, types);
    }
    let companion = types.has(EventType::Flow) && !types.has(EventType::Tls) && final_record;
    let Some(tls) = retry.filter(|_| companion) else {
        return lines;
    };
    let retry = TlsRetryEvent {
        timestamp: ev.timestamp,
        flow_id: f.flow_id,
        in_iface: ev.in_iface,
        event_type: "tls",
        endpoints: ev.endpoints,
        pcap_filename: ev.pcap_filename,
        host: ev.host,
        tls,
    };
    let _ = crate::output::json::write(&mut *out, &retry);
    out.push(b'\n');
    lines + 1
}

/// Appends an alert for `f`'s detections, made at `at`.
pub fn write_alert(
    out: &mut Vec<u8>,
    v: &FlowView<'_>,
    at: Timestamp,
    seed: u16,
    facts: &EventFacts,
) {
    let ev = FlowEvent::from_flow(v, None, Some(at), at, seed, facts);
    let _ = crate::output::json::write(&mut *out, &ev);
    out.push(b'\n');
}
