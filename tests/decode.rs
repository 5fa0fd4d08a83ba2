//! Containers, link types, tunnels and fragments, on the bundled captures
//! (`captures/README.md` says where each one comes from).

mod common;

use common::*;
use gateward::capture::{CaptureFormat, FileSource, LinkType, PacketSource};
use serde_json::Value;
use std::collections::HashMap;

/// One bundled capture and what its headers say. Packet counts and first
/// timestamps were measured with tshark 4.0.17 (`tshark -r F | wc -l`,
/// `tshark -r F -c1 -T fields -e frame.time_epoch`, truncated to µs).
struct Known {
    file: &'static str,
    format: CaptureFormat,
    link: LinkType,
    packets: u64,
    first_ts_us: u64,
}

const fn k(
    file: &'static str,
    format: CaptureFormat,
    link: LinkType,
    packets: u64,
    first_ts_us: u64,
) -> Known {
    Known {
        file,
        format,
        link,
        packets,
        first_ts_us,
    }
}

use CaptureFormat::{Pcap, Pcapng};
use LinkType::{
    CiscoHdlc, Ethernet, Ieee80211, LinuxSll, LinuxSll2, Null, Ppi, Ppp, Radiotap, Raw,
};

// One capture a line: a table to read down, so kept out of rustfmt.
#[rustfmt::skip]
const KNOWN: &[Known] = &[
    // pcap, little endian, microseconds
    k("4in4tunnel.pcap", Pcap, Ethernet, 5, 1_537_044_271_794_779),
    k("4in6tunnel.pcap", Pcap, Ethernet, 4, 1_543_235_434_019_243),
    k("6in4tunnel.pcap", Pcap, Ethernet, 127, 1_444_236_893_450_580),
    k("6in6tunnel.pcap", Pcap, Ethernet, 2, 1_335_197_872_162_188),
    k("capwap.pcap", Pcap, Ethernet, 422, 1_422_328_949_167_396),
    k("teredo.pcap", Pcap, Ethernet, 24, 1_438_853_615_305_874),
    k("tcpdump-geneve.pcap", Pcap, Ethernet, 39, 1_422_828_273_817_203),
    k("gre-sample.pcap", Pcap, Ethernet, 40, 1_055_289_968_793_044),
    k("soap.pcap", Pcap, Ethernet, 20, 946_731_321_416_000),
    k("kerberos.pcap", Pcap, Ethernet, 77, 1_549_337_929_790_448),
    k("whatsapp.pcap", Pcap, Ethernet, 679, 1_655_030_801_747_000),
    k("gtpu.pcap", Pcap, Ethernet, 10, 1_643_129_441_023_341),
    k("fragments.pcap", Pcap, Ethernet, 12, 1_704_067_200_000_000),
    // enrichment (tests/enrichment.rs): tls12.pcap's flow replayed to five
    // rewritten server addresses, one second apart
    k("sanctioned.pcap", Pcap, Ethernet, 5, 1_703_606_032_925_092),
    // the laptop-farm demo (tests/host_view.rs): real recorded sessions,
    // addresses and times rewritten by make-demo.py
    k("demo-laptop-farm.pcap", Pcap, Ethernet, 791, 1_795_419_000_000_000),
    // application-layer captures (tests/dissectors.rs)
    k("tls12.pcap", Pcap, Ethernet, 1, 1_703_606_032_925_092),
    k("tls12-port8443.pcap", Pcap, Ethernet, 1, 1_703_606_032_925_092),
    k("badcurveball.pcap", Pcap, Ethernet, 12, 1_579_293_816_559_976),
    k("dtls-udp.notest.cap", Pcap, Ethernet, 7, 1_404_648_102_097_932),
    k("https-connect.pcap", Pcap, Ethernet, 18, 1_567_450_613_383_129),
    k("socks-https-example.pcap", Pcap, Ethernet, 93, 1_386_004_472_572_394),
    k("ssh2-malformed.pcap", Pcap, Ethernet, 22, 1_387_565_111_946_720),
    k("quic-29.pcap", Pcap, Ethernet, 15, 1_592_171_671_664_832),
    k("http_connect.pcap", Pcap, Ethernet, 100, 1_631_454_722_864_133),
    // pcap, BIG endian
    k("sctp.cap", Pcap, Ethernet, 4, 1_088_696_689_784_578),
    // pcap, nanosecond magic
    k("vxlan.pcap", Pcap, Ethernet, 10, 1_643_129_441_023_341),
    // pcap, LINKTYPE_RAW (101)
    k("bjnp.pcap", Pcap, Raw, 10, 1_467_725_378_685_790),
    // pcap, LINKTYPE_LINUX_SLL (113)
    k("quickplay.pcap", Pcap, LinuxSll, 155, 1_429_000_030_398_627),
    // pcap, LINKTYPE_NULL (0) despite the name
    k("ipv6.pcapng", Pcap, Null, 9, 1_593_980_608_621_087),
    // pcapng, little endian
    k("dns.pcap", Pcapng, Ethernet, 5, 1_112_172_654_366_527),
    k("gre.pcapng", Pcapng, Ethernet, 1, 1_483_501_349_095_788),
    k("tls-non-ascii-alpn.pcapng", Pcapng, Ethernet, 2, 1_675_707_151_805_776),
    k("quic-tls-handshake.pcapng", Pcapng, Ethernet, 1, 1_675_707_151_936_380),
    k("http-proxy.pcapng", Pcapng, Ethernet, 11, 1_631_403_550_651_097),
    // pcapng despite the name
    k("quic_0RTT.pcap", Pcapng, Ethernet, 17, 1_603_888_789_791_229),
    k("socks.pcap", Pcapng, Ethernet, 60, 1_385_474_294_492_448),
    // pcapng, if_tsresol = 9 (nanoseconds)
    k("doq.pcapng", Pcapng, Ethernet, 20, 1_606_056_093_199_591),
    k("http.pcapng", Pcapng, Ethernet, 10, 1_643_129_441_023_341),
    k("anydesk.pcapng", Pcapng, Ethernet, 174, 1_591_342_198_821_353),
    // pcapng, LINKTYPE_LINUX_SLL2 (276), if_tsresol = 9
    k("sll2.pcapng", Pcapng, LinuxSll2, 10, 1_643_129_441_023_341),
    // pcapng, BIG endian, LINKTYPE_NULL (0)
    k("null.pcapng", Pcapng, Null, 10, 1_643_129_441_023_341),
    // make-encaps.py: link types and encapsulations (capinfos -c)
    k("wifi-radiotap.pcap", Pcap, Radiotap, 4, 1_700_000_000_000_000),
    k("wifi-ppi.pcap", Pcap, Ppi, 2, 1_700_000_000_000_000),
    k("wifi-80211.pcap", Pcap, Ieee80211, 3, 1_700_000_000_000_000),
    k("cisco-hdlc.pcap", Pcap, CiscoHdlc, 3, 1_700_000_000_000_000),
    k("ppp.pcap", Pcap, Ppp, 3, 1_700_000_000_000_000),
    k("erspan1.pcap", Pcap, Ethernet, 2, 1_700_000_000_000_000),
    k("pptp-encrypted.pcap", Pcap, Ethernet, 6, 1_700_000_000_000_000),
    k("ayiya.pcap", Pcap, Ethernet, 1, 1_700_000_000_000_000),
    k("teredo-relay.pcap", Pcap, Ethernet, 2, 1_700_000_000_000_000),
    k("l2tpv3-ip.pcap", Pcap, Ethernet, 2, 1_700_000_000_000_000),
    k("gre-udp.pcap", Pcap, Ethernet, 2, 1_700_000_000_000_000),
];

/// The expected numbers in these tests belong to these exact bytes:
/// `captures/SHA256SUMS` lists every bundled capture, and nothing else is there.
#[test]
fn bundled_captures_match_their_checksums() {
    let dir = capture("http.pcapng").parent().unwrap().to_path_buf();
    let listed = check_sha256sums(
        &dir,
        &[".pcap", ".pcapng", ".cap"],
        "update SHA256SUMS, README.md and the tests",
    );
    assert_eq!(listed.len(), KNOWN.len());
}

#[test]
fn reader_identifies_container_link_type_and_timestamps() {
    for c in KNOWN {
        let mut src =
            FileSource::open(&capture(c.file)).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert_eq!(src.format(), c.format, "{}: container", c.file);
        let mut n = 0u64;
        while let Some(p) = src
            .next_packet()
            .unwrap_or_else(|e| panic!("{}: {e}", c.file))
        {
            if n == 0 {
                assert_eq!(p.ts.0, c.first_ts_us, "{}: first timestamp", c.file);
            }
            assert_eq!(p.link, c.link, "{}: link type of packet {n}", c.file);
            n += 1;
        }
        assert_eq!(n, c.packets, "{}: packet count", c.file);
    }
}

#[test]
fn every_bundled_capture_decodes_without_errors() {
    for c in KNOWN {
        let run = analyze(&[c.file], 1, &[]);
        run.assert_ok();
        assert_eq!(run.stat("decode errors"), 0, "{}:\n{}", c.file, run.stderr);
        assert_eq!(run.packets(), c.packets, "{}: packets in summary", c.file);
        let records = run.records();
        assert!(!records.is_empty(), "{}: no flow reported", c.file);
        assert_eq!(
            records.len() as u64,
            run.stat("flows") + run.stat("interim records"),
            "{}: --all-flows writes every flow",
            c.file
        );
    }
}

/// The same ten real packets (http.pcapng) behind four different link layers
/// give the same flow: same id, same endpoints, same packet counts; the frame
/// bytes differ exactly by the link-header size (Ethernet 14, SLL2 20, NULL 4).
#[test]
fn same_packets_over_ethernet_sll2_and_null_give_the_same_flow() {
    let mut seen = Vec::new();
    for (file, header) in [
        ("http.pcapng", 14u64),
        ("sll2.pcapng", 20),
        ("null.pcapng", 4),
    ] {
        let run = analyze(&[file], 1, &[]);
        run.assert_ok();
        let records = run.records();
        assert_eq!(records.len(), 1, "{file}");
        let r = records[0].clone();
        assert_eq!(s(&r, "src_ip"), "192.168.1.128", "{file}");
        assert_eq!(port(&r, "src_port"), 42170, "{file}");
        assert_eq!(u(&r, "flow.pkts_toserver"), 6, "{file}");
        assert_eq!(u(&r, "flow.pkts_toclient"), 4, "{file}");
        // IP bytes (tshark: sum of ip.len) are 394 to the server, 744 to the client.
        assert_eq!(u(&r, "flow.bytes_toserver"), 394 + 6 * header, "{file}");
        assert_eq!(u(&r, "flow.bytes_toclient"), 744 + 4 * header, "{file}");
        seen.push((
            u(&r, "flow_id"),
            s(&r, "community_id").to_owned(),
            s(&r, "timestamp").to_owned(),
        ));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

/// The frames of `captures/http.pcapng` rewritten into a little-endian pcapng
/// whose interface has `if_tsresol` = 0x94, i.e. 2^-20 s units
/// (draft-ietf-opsawg-pcapng 4.2: the most significant bit set means a
/// negative power of two). Each timestamp is rounded up to the next tick, so
/// converting back (floor of ticks * 10^6 / 2^20) gives the original µs.
fn binary_resolution_pcapng() -> (Vec<u8>, Vec<u64>) {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&total.to_le_bytes());
    }
    let mut out = Vec::new();
    // SHB 4.1: byte-order magic, version 1.0, section length unknown (-1).
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    // IDB 4.2: Ethernet, snaplen 0, if_tsresol (code 9, length 1) = 0x94, end.
    let idb = [
        1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 0x94, 0, 0, 0, 0, 0, 0, 0,
    ];
    block(&mut out, 1, &idb);
    let mut src = FileSource::open(&capture("http.pcapng")).unwrap();
    let mut micros = Vec::new();
    while let Some(p) = src.next_packet().unwrap() {
        let (secs, us) = (p.ts.0 / 1_000_000, p.ts.0 % 1_000_000);
        let ticks = (secs << 20) | (us << 20).div_ceil(1_000_000);
        // EPB 4.3: interface 0, timestamp high and low words, lengths, data.
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ticks as u32).to_le_bytes());
        epb.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(p.data);
        block(&mut out, 6, &epb);
        micros.push(p.ts.0);
    }
    (out, micros)
}

#[test]
fn pcapng_binary_timestamp_resolution_is_converted_exactly() {
    let (bytes, expected) = binary_resolution_pcapng();
    let mut src = FileSource::new(&bytes[..]).unwrap();
    let mut got = Vec::new();
    while let Some(p) = src.next_packet().unwrap() {
        got.push(p.ts.0);
    }
    assert_eq!(got, expected);
}

/// 802.1Q / 802.1ad: the flow key and `vlan` hold both tags of QinQ, outer
/// first, as Suricata writes them; flows found inside a tunnel keep the
/// outer frame's VLAN.
/// tshark -Y vlan -T fields -e vlan.id: dns.pcap frames 4-5 are QinQ 421,785;
/// soap.pcap frames 16-20 are tagged 808; gre.pcapng's frame is tagged 142.
#[test]
fn vlan_holds_both_qinq_tags_and_inner_flows_keep_it() {
    let run = analyze(&["dns.pcap"], 1, &[]);
    let records = run.records();
    let q = one_udp(&records, ("82.178.113.245", 47255), ("82.178.158.181", 53));
    assert_eq!(q["vlan"], serde_json::json!([421, 785]));
    let untagged = find_flows(
        &records,
        "UDP",
        ("192.168.170.8", 32795),
        ("192.168.170.20", 53),
    );
    assert!(untagged.iter().all(|r| r.get("vlan").is_none()));

    let run = analyze(&["soap.pcap"], 1, &[]);
    let records = run.records();
    let f = one_tcp(&records, ("85.154.114.113", 56028), ("185.32.192.30", 80));
    assert_eq!(f["vlan"], serde_json::json!([808]));

    let run = analyze(&["gre.pcapng"], 1, &[]);
    let records = run.records();
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r["vlan"] == serde_json::json!([142])),
        "{records:?}"
    );
}

// ---------------------------------------------------------------------------
// Tunnels
// ---------------------------------------------------------------------------

/// Checks every decapsulated flow of a capture: its `tunnel_parent.type` is
/// `kind`, and its `tunnel_parent.flow_id` names a flow reported in the same
/// output whose endpoints and protocol are the ones `tunnel_parent` gives.
/// Returns the inner flows.
fn check_tunnel(file: &str, kind: &str) -> Vec<Value> {
    let run = analyze(&[file], 1, &[]);
    run.assert_ok();
    assert_eq!(run.stat("decode errors"), 0, "{file}:\n{}", run.stderr);
    assert!(run.stat("decapsulated") > 0, "{file}: nothing decapsulated");
    let records = run.records();
    let by_id: HashMap<u64, &Value> = records.iter().map(|r| (u(r, "flow_id"), r)).collect();
    assert_eq!(by_id.len(), records.len(), "{file}: duplicate flow_id");
    let inner: Vec<Value> = records
        .iter()
        .filter(|r| r.get("tunnel_parent").is_some())
        .cloned()
        .collect();
    assert!(!inner.is_empty(), "{file}: no inner flow");
    assert!(
        records.len() > inner.len(),
        "{file}: the outer flows are not reported"
    );
    for r in &inner {
        let tp = &r["tunnel_parent"];
        assert_eq!(s(tp, "type"), kind, "{file}: {r}");
        let outer = by_id
            .get(&u(tp, "flow_id"))
            .unwrap_or_else(|| panic!("{file}: parent of {r} is not in the output"));
        assert_eq!(outer["proto"], tp["proto"], "{file}: {r}");
        assert_eq!(outer["src_ip"], tp["src_ip"], "{file}: {r}");
        assert_eq!(outer["dest_ip"], tp["dest_ip"], "{file}: {r}");
        assert_eq!(port(outer, "src_port"), port(tp, "src_port"), "{file}: {r}");
        assert_eq!(
            port(outer, "dest_port"),
            port(tp, "dest_port"),
            "{file}: {r}"
        );
        assert_eq!(u(tp, "depth"), 1, "{file}: {r}");
    }
    inner
}

#[test]
fn ipip_4in4_inner_flows_name_their_outer_flow() {
    // Five lone packets hours apart: five outer and five inner flows.
    let inner = check_tunnel("4in4tunnel.pcap", "ipip");
    assert_eq!(inner.len(), 5);
    assert!(inner.iter().all(|r| s(r, "src_ip") == "10.10.100.25"));
}

#[test]
fn ipv6_in_ipv4_inner_flows_name_their_outer_flow() {
    let inner = check_tunnel("6in4tunnel.pcap", "6in4");
    // tshark -z conv,tcp: 2001:470:1f17:13f:3e97:eff:fe73:4dec:53234 <->
    // 2a03:2880:1010:6f03:face:b00c:0:2:443, 18 frames one way, 15 the other.
    let f = one_tcp(
        &inner,
        ("2001:470:1f17:13f:3e97:eff:fe73:4dec", 53234),
        ("2a03:2880:1010:6f03:face:b00c:0:2", 443),
    );
    assert_eq!(s(f, "src_ip"), "2001:470:1f17:13f:3e97:eff:fe73:4dec");
    assert_eq!(pkts(f), (18, 15));
}

#[test]
fn ipv4_in_ipv6_inner_flows_name_their_outer_flow() {
    let inner = check_tunnel("4in6tunnel.pcap", "4in6");
    let f = one_flow(&inner, "TCP", ("192.168.0.1", 64455), ("10.10.10.1", 443));
    assert_eq!(pkts(f), (2, 2));
}

#[test]
fn ipv6_in_ipv6_inner_flows_name_their_outer_flow() {
    let inner = check_tunnel("6in6tunnel.pcap", "6in6");
    assert_eq!(inner.len(), 2);
}

#[test]
fn pptp_enhanced_gre_inner_flow_names_its_outer_flow() {
    let inner = check_tunnel("gre.pcapng", "pptp_gre");
    one_udp(&inner, ("192.168.10.210", 5060), ("192.168.103.40", 5060));
}

#[test]
fn plain_gre_inner_flows_name_their_outer_flow() {
    let inner = check_tunnel("gre-sample.pcap", "gre");
    let ssh = one_flow(&inner, "TCP", ("66.59.111.190", 40264), ("172.28.2.3", 22));
    assert_eq!(s(ssh, "tcp.state"), "closed");
}

#[test]
fn capwap_data_inner_flows_name_their_outer_flow() {
    let inner = check_tunnel("capwap.pcap", "capwap");
    one_flow(&inner, "UDP", ("0.0.0.0", 68), ("255.255.255.255", 67));
}

#[test]
fn teredo_inner_flows_name_their_outer_flow() {
    let inner = check_tunnel("teredo.pcap", "teredo");
    let echo = one_flow(
        &inner,
        "IPv6-ICMP",
        ("2001:0:c288:1c4c:20f3:359b:46f9:3f46", 0),
        ("2002:c288:1c4c::c288:1c4c", 0),
    );
    assert_eq!(pkts(echo), (3, 3));
}

/// Asserts that an inner TCP connection is one flow although its two
/// directions travel in outer UDP flows with different source ports.
fn assert_one_inner_connection(
    inner: &[Value],
    client: (&str, u16),
    server: (&str, u16),
    want_pkts: (u64, u64),
) {
    let f = one_flow(inner, "TCP", client, server);
    assert_eq!(client_of(f), client);
    assert_eq!(pkts(f), want_pkts);
}

/// Regression: inner flows were once keyed by the outer flow's whole key,
/// ports included, so the two directions of a connection inside a tunnel that
/// picks a source port per direction became two flows: here the SSH session
/// of tcpdump-geneve.pcap (outer source ports 43443 one way, 22540 the other).
#[test]
fn geneve_inner_tcp_directions_meet_in_one_flow_despite_per_direction_outer_ports() {
    let inner = check_tunnel("tcpdump-geneve.pcap", "geneve");
    // tshark -z conv,tcp: 30.0.0.2:51225 <-> 30.0.0.1:22, 17 frames / 3809 bytes
    // from the client, 16 frames / 4559 bytes back (outer frame sizes). The
    // inner flow counts from its own IP header, as Suricata does: tshark
    // `-T fields -e ip.len` (inner header) sums to 2721 and 3407.
    assert_one_inner_connection(&inner, ("30.0.0.2", 51225), ("30.0.0.1", 22), (17, 16));
    let f = one_flow(&inner, "TCP", ("30.0.0.2", 51225), ("30.0.0.1", 22));
    assert_eq!(bytes(f), (2721, 3407));
}

#[test]
fn vxlan_inner_tcp_directions_meet_in_one_flow_despite_per_direction_outer_ports() {
    let inner = check_tunnel("vxlan.pcap", "vxlan");
    assert_one_inner_connection(
        &inner,
        ("192.168.1.128", 42170),
        ("216.58.208.142", 80),
        (6, 4),
    );
    let f = &inner[0];
    assert_eq!(s(f, "tcp.state"), "closed");
    // The nanosecond pcap's first timestamp (…023341461) truncated to µs.
    assert_eq!(s(f, "flow.start"), "2022-01-25T16:50:41.023341+0000");
}

#[test]
fn gtp_u_inner_tcp_directions_meet_in_one_flow_despite_per_direction_outer_ports() {
    let inner = check_tunnel("gtpu.pcap", "gtp_u");
    assert_one_inner_connection(
        &inner,
        ("192.168.1.128", 42170),
        ("216.58.208.142", 80),
        (6, 4),
    );
    assert_eq!(s(&inner[0], "tcp.state"), "closed");
}

#[test]
fn decapsulate_false_reports_only_outer_flows() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[decode]\ndecapsulate = false\n").unwrap();
    let run = analyze(&["vxlan.pcap"], 1, &["-c", cfg.to_str().unwrap()]);
    run.assert_ok();
    let records = run.records();
    assert_eq!(run.stat("decapsulated"), 0);
    assert!(records.iter().all(|r| r.get("tunnel_parent").is_none()));
    assert!(records.iter().all(|r| r["proto"] == "UDP"), "{records:?}");
}

// ---------------------------------------------------------------------------
// Fragments (captures/fragments.pcap, built by make-synthetic.py)
// ---------------------------------------------------------------------------

const V4_CLIENT: &str = "192.0.2.10";
const V4_SERVER: &str = "192.0.2.53";
const V6_CLIENT: &str = "2001:db8::10";
const V6_SERVER: &str = "2001:db8::53";

#[test]
fn fragmented_datagrams_are_reassembled_into_one_flow_each() {
    let run = analyze(&["fragments.pcap"], 1, &[]);
    run.assert_ok();
    assert_eq!(run.stat("reassembled datagrams"), 3);
    assert_eq!(run.stat("decode errors"), 0, "{}", run.stderr);
    let records = run.records();
    // Three datagrams, three flows: no flow for a lone fragment.
    assert_eq!(records.len(), 3, "{records:#?}");
    for (client, sport, server, reply_frame) in [
        (V4_CLIENT, 40000, V4_SERVER, 145), // IPv4, fragments out of order
        (V4_CLIENT, 40001, V4_SERVER, 145), // IPv4, in order
        (V6_CLIENT, 40002, V6_SERVER, 162), // IPv6, last fragment first
    ] {
        let f = one_flow(&records, "UDP", (client, sport), (server, 9000));
        assert_eq!(s(f, "src_ip"), client, "{f}");
        // The whole 3000-byte UDP payload was put back together.
        assert_eq!(u(f, "flow.payload_bytes_toserver"), 3000, "{f}");
        assert_eq!(u(f, "flow.pkts_toclient"), 1, "{f}");
        assert_eq!(u(f, "flow.bytes_toclient"), reply_frame, "{f}");
        assert_eq!(s(f, "flow.state"), "established", "{f}");
    }
}

/// The same datagram (same fragment sizes) must be counted the same whether
/// its fragments arrive in order (port 40001) or not (port 40000).
/// Regression: a reassembled datagram was counted as one packet with the wire
/// length of whichever fragment completed it (1514 bytes out of order, 82 in
/// order).
#[test]
fn fragment_arrival_order_does_not_change_flow_counts() {
    let run = analyze(&["fragments.pcap"], 1, &[]);
    let records = run.records();
    let a = one_flow(&records, "UDP", (V4_CLIENT, 40000), (V4_SERVER, 9000));
    let b = one_flow(&records, "UDP", (V4_CLIENT, 40001), (V4_SERVER, 9000));
    for key in ["flow.pkts_toserver", "flow.bytes_toserver"] {
        assert_eq!(u(a, key), u(b, key), "{key}");
    }
}

/// Flow bytes are frame bytes (event.rs: "Frame bytes client to server"), so a
/// fragmented datagram accounts for every frame that carried it: three frames
/// of 1514 + 1514 + 82 bytes (IPv4) and 1510 + 1510 + 174 bytes (IPv6); then the
/// per-flow bytes add up to the summary's total (docs/events.md: "an IP
/// datagram reassembled from fragments counts each fragment").
/// Regression: only the completing fragment's frame was counted.
#[test]
fn fragmented_datagram_counts_every_fragment_frame() {
    let run = analyze(&["fragments.pcap"], 1, &[]);
    let records = run.records();
    for (client, sport, server, bytes) in [
        (V4_CLIENT, 40000, V4_SERVER, 3110),
        (V4_CLIENT, 40001, V4_SERVER, 3110),
        (V6_CLIENT, 40002, V6_SERVER, 3194),
    ] {
        let f = one_flow(&records, "UDP", (client, sport), (server, 9000));
        assert_eq!(u(f, "flow.pkts_toserver"), 3, "{f}");
        assert_eq!(u(f, "flow.bytes_toserver"), bytes, "{f}");
    }
    let total: u64 = records
        .iter()
        .map(|r| u(r, "flow.bytes_toserver") + u(r, "flow.bytes_toclient"))
        .sum();
    assert_eq!(total, total_bytes(&run));
}

/// Bytes read, from the summary's first line (`N packets, B bytes in ...`).
fn total_bytes(run: &Run) -> u64 {
    run.stat("packets,")
}

// ---------------------------------------------------------------------------
// Link types and encapsulations written by captures/make-encaps.py (no real
// Wi-Fi radio, router WAN link or PPTP server here; each header cites its
// specification in the script).
// ---------------------------------------------------------------------------

/// Radiotap (with TSFT and an FCS), PPI (4-address frame), plain 802.11,
/// Cisco HDLC and PPP: the DNS query and its answer meet in one flow; the
/// beacon, protected frame, SLARP keepalive and LCP frame are counted
/// `not_ip`, not errors.
#[test]
fn wifi_hdlc_and_ppp_link_types_reach_ip() {
    for (file, not_ip) in [
        ("wifi-radiotap.pcap", 2),
        ("wifi-ppi.pcap", 0),
        ("wifi-80211.pcap", 1),
        ("cisco-hdlc.pcap", 1),
        ("ppp.pcap", 1),
    ] {
        let run = analyze(&[file], 1, &[]);
        run.assert_ok();
        assert_eq!(run.stat("decode errors"), 0, "{file}:\n{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("not_ip={not_ip}")) || not_ip == 0,
            "{file}:\n{}",
            run.stderr
        );
        let records = run.records();
        let f = one_udp(&records, ("192.168.1.20", 40000), ("192.168.1.1", 53));
        assert_eq!(pkts(f), (1, 1), "{file}");
        assert_eq!(s(f, "app_proto"), "dns", "{file}");
    }
}

/// ERSPAN type I, L2TPv3 over IP (cookie + sublayer), GRE in UDP, Teredo
/// through a relay on a non-3544 port, and AYIYA: the inner flow names its
/// outer flow, which is reported as a verified tunnel.
#[test]
fn new_encapsulations_decapsulate_and_flag_the_outer_flow() {
    for (file, kind, protocol) in [
        ("erspan1.pcap", "erspan", "gre"),
        ("l2tpv3-ip.pcap", "l2tpv3", "l2tp"),
        ("gre-udp.pcap", "gre_udp", "gre"),
        ("teredo-relay.pcap", "teredo", "teredo"),
        ("ayiya.pcap", "ayiya", "ayiya"),
    ] {
        let inner = check_tunnel(file, kind);
        // Inner bytes start at the inner IP header (60 = IPv6/TCP SYN or
        // IPv4/UDP DNS query sizes of the script).
        assert!(
            inner.iter().all(|f| u(f, "flow.bytes_toserver") <= 60),
            "{file}"
        );
        let run = analyze(&[file], 1, &[]);
        let outer: Vec<_> = run
            .records()
            .into_iter()
            .filter(|r| r.get("tunnel_parent").is_none())
            .collect();
        assert!(
            outer.iter().all(|r| r["detections"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["protocol"] == protocol && d["confidence"] == "certain")),
            "{file}: {outer:?}"
        );
    }
}

/// PPTP data (enhanced GRE, MPPE-compressed PPP 0x00FD) without its TCP 1723
/// control connection: a VPN detection of medium confidence on structure.
#[test]
fn pptp_data_without_control_connection_is_a_medium_vpn_detection() {
    let run = analyze(&["pptp-encrypted.pcap"], 1, &[]);
    run.assert_ok();
    let records = run.records();
    let f = records
        .iter()
        .find(|r| r["event_type"] == "flow" && r["proto"] == "GRE")
        .expect("GRE flow");
    let d = &f["detections"][0];
    assert_eq!(d["category"], "vpn");
    assert_eq!(d["protocol"], "pptp");
    assert_eq!(d["confidence"], "medium");
    assert_eq!(d["basis"], "structure");
    assert_eq!(d["evidence"]["ppp_compressed"], "3");
}
