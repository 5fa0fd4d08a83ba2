//! What a flow record says: direction, counts, state, time and identifiers,
//! and how the flow-table settings (timeouts, active timeout, capacity)
//! change which records are written.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// http.pcapng: one complete HTTP/1.1 connection, SYN to last ACK, 10 frames.
/// Expected numbers measured with tshark 4.0.17:
///   tshark -r http.pcapng -q -z conv,tcp
///     192.168.1.128:42170 <-> 216.58.208.142:80: 6 frames / 478 bytes from the
///     client, 4 frames / 800 bytes from the server;
///   tshark -r http.pcapng -T fields -e ip.src -e tcp.len: payload 74 bytes from
///     the client (the GET), 528 from the server (the 301);
///   frame.time_epoch of frames 1 and 10: 1643129441.023341461 and .065505469.
/// The Community ID was computed separately from the spec (v1, seed 0:
/// base64(sha1(seed . saddr . daddr . proto . 0 . sport . dport)), endpoints
/// ordered) with Python's hashlib.
#[test]
fn tcp_flow_record_matches_tshark() {
    let run = analyze(&["http.pcapng"], 1, &[]);
    run.assert_ok();
    let records = run.records();
    assert_eq!(records.len(), 1);
    let f = &records[0];
    assert_fields!("http.pcapng", f, {
        "event_type": "flow",
        "proto": "TCP",
        "src_ip": "192.168.1.128",
        "src_port": 42170,
        "dest_ip": "216.58.208.142",
        "dest_port": 80,
        "flow.pkts_toserver": 6,
        "flow.pkts_toclient": 4,
        "flow.bytes_toserver": 478,
        "flow.bytes_toclient": 800,
        "flow.payload_bytes_toserver": 74,
        "flow.payload_bytes_toclient": 528,
        // Logged at the end of the capture (its last packet), as Suricata's
        // flow timestamp is the log time.
        "timestamp": "2022-01-25T16:50:41.065505+0000",
        "flow.start": "2022-01-25T16:50:41.023341+0000",
        "flow.end": "2022-01-25T16:50:41.065505+0000",
        "flow.age": 0,
        "flow.state": "closed",
        "flow.reason": "shutdown",
        "tcp.state": "closed",
        // SYN, FIN, PSH and ACK both ways: 0x1b.
        "tcp.tcp_flags": "1b",
        "tcp.tcp_flags_ts": "1b",
        "tcp.tcp_flags_tc": "1b",
        "tcp.syn": true,
        "tcp.fin": true,
        "community_id": "1:ChtQBb0nIUQTz2pZmhZr/bVgsZI=",
    });
}

/// soap.pcap's second connection starts with the server's SYN/ACK (the SYN
/// was not captured): the receiver of that SYN/ACK is the client.
/// tshark -r soap.pcap -q -z conv,tcp: 185.32.192.30:80 <-> 85.154.114.113:56028,
/// 3 frames / 2487 bytes from 185.32.192.30, 2 frames / 1457 bytes from the client.
#[test]
fn syn_ack_seen_first_makes_its_receiver_the_client() {
    let run = analyze(&["soap.pcap"], 1, &[]);
    run.assert_ok();
    let records = run.records();
    let f = one_tcp(&records, ("85.154.114.113", 56028), ("185.32.192.30", 80));
    assert_eq!(client_of(f), ("85.154.114.113", 56028));
    assert_eq!(
        (s(f, "dest_ip"), port(f, "dest_port")),
        ("185.32.192.30", 80)
    );
    assert_eq!((pkts(f), bytes(f)), ((2, 3), (1457, 2487)));
    // The first connection of the same capture has its SYN: normal direction.
    // tshark: 192.168.2.100:50100 -> 23.2.213.165:80, 7 frames / 4746 bytes out,
    // 7 frames / 752 bytes back, FIN both ways.
    let g = one_tcp(&records, ("192.168.2.100", 50100), ("23.2.213.165", 80));
    assert_eq!(s(g, "src_ip"), "192.168.2.100");
    assert_eq!((pkts(g), bytes(g)), ((7, 7), (4746, 752)));
    assert_eq!(s(g, "flow.state"), "closed");
    assert_eq!(s(g, "tcp.state"), "closed");
}

/// Checks `YYYY-MM-DDTHH:MM:SS.ffffff+0000` without a regex crate.
fn is_eve_time(t: &str) -> bool {
    // `d`: any ASCII digit; every other byte stands for itself.
    const PATTERN: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddddd+0000";
    t.len() == PATTERN.len()
        && t.bytes().zip(PATTERN).all(|(c, &p)| match p {
            b'd' => c.is_ascii_digit(),
            _ => c == p,
        })
}

#[test]
fn every_record_has_eve_timestamps_small_flow_ids_and_community_ids() {
    for file in [
        "kerberos.pcap",
        "teredo.pcap",
        "6in4tunnel.pcap",
        "capwap.pcap",
        "sctp.cap",
        "fragments.pcap",
        "ipv6.pcapng",
    ] {
        let run = analyze(&[file], 1, &[]);
        run.assert_ok();
        let records = run.records();
        let mut ids = BTreeSet::new();
        for r in &records {
            for key in ["timestamp", "flow.start", "flow.end"] {
                assert!(is_eve_time(s(r, key)), "{file}: {key} in {r}");
            }
            assert!(s(r, "flow.start") <= s(r, "flow.end"), "{file}: {r}");
            // Logged when the flow ended or was reported: never before its last packet.
            assert!(s(r, "timestamp") >= s(r, "flow.end"), "{file}: {r}");
            let id = u(r, "flow_id");
            assert!(id > 0 && id < 1 << 51, "{file}: flow_id {id}");
            ids.insert(id);
            let cid = s(r, "community_id");
            // "1:" + base64 of a 20-byte SHA-1 = 28 characters.
            assert!(cid.starts_with("1:") && cid.len() == 30, "{file}: {cid}");
        }
        assert_eq!(ids.len(), records.len(), "{file}: flow_id not unique");
    }
}

#[test]
fn eve_time_check_rejects_other_formats() {
    assert!(is_eve_time("2022-01-25T16:50:41.023341+0000"));
    assert!(!is_eve_time("2022-01-25T16:50:41.023341Z"));
    assert!(!is_eve_time("2022-01-25T16:50:41.023+0000"));
    assert!(!is_eve_time("2022-01-25 16:50:41.023341+0000"));
}

/// Community ID v1 of a flow of every kind: the expected values were computed
/// separately by a Python port of the key logic of the reference
/// implementation (corelight/community-id-spec, `community-id.py`): ordered
/// endpoints, ICMP type/code as ports with the request/reply counterpart
/// table, one-way ICMP types kept in packet order, no ports for portless
/// protocols.
#[test]
fn community_ids_match_the_reference_implementation() {
    /// Capture, protocol, client, server, expected Community ID.
    type Case = (
        &'static str,
        &'static str,
        (&'static str, u16),
        (&'static str, u16),
        &'static str,
    );
    let cases: &[Case] = &[
        // UDP, IPv4 (DNS query and answer)
        (
            "dns.pcap",
            "UDP",
            ("82.178.113.245", 47255),
            ("82.178.158.181", 53),
            "1:3vrWjKl9r4Bq49HEzssis7bm9ng=",
        ),
        // TCP, IPv6
        (
            "ipv6.pcapng",
            "TCP",
            ("2001:4998:ef83:14:8000::100d", 64034),
            ("2606:4700::6811:d209", 443),
            "1:/wxqZ626SZRx3CanjPRZ6tl4iH8=",
        ),
        // ICMP echo (two-way: type 8 <-> 0)
        (
            "gre-sample.pcap",
            "ICMP",
            ("66.59.111.190", 0),
            ("172.28.2.3", 0),
            "1:4qiuUiapfKrMDVDHhw0iOgvogqI=",
        ),
        // ICMPv6 echo (128 <-> 129), inside Teredo
        (
            "teredo.pcap",
            "IPv6-ICMP",
            ("2001:0:c288:1c4c:20f3:359b:46f9:3f46", 0),
            ("2002:c288:1c4c::c288:1c4c", 0),
            "1:BwZXoURsUNOcOZNy/im/8WRWd8U=",
        ),
        // ICMPv6 MLDv2 report (143): one-way, type and code as ports
        (
            "capwap.pcap",
            "IPv6-ICMP",
            ("fe80::fd:7a4c:8d72:7710", 0),
            ("ff02::16", 0),
            "1:JvWN1FrNxtiDE6GgqwhRK5WqJsI=",
        ),
        // portless: GRE, IP-in-IP, IPv6-in-IPv4
        (
            "gre-sample.pcap",
            "GRE",
            ("172.27.1.66", 0),
            ("66.59.109.137", 0),
            "1:oOTmg3Toi6uG7waixDkGLxx1ZnI=",
        ),
        (
            "6in4tunnel.pcap",
            "IPv6",
            ("174.3.73.24", 0),
            ("184.105.255.26", 0),
            "1:vYEoKbT/EMHF25XzldMbsqqIqAU=",
        ),
    ];
    for (file, proto, a, b, expected) in cases {
        let run = analyze(&[file], 1, &[]);
        run.assert_ok();
        let records = run.records();
        let f = one_flow(&records, proto, *a, *b);
        assert_eq!(s(f, "community_id"), *expected, "{file}: {f}");
    }
    let run = analyze(&["4in4tunnel.pcap"], 1, &[]);
    let records = run.records();
    let ipip = find_flows(
        &records,
        "IP-in-IP",
        ("69.67.35.146", 0),
        ("41.202.46.110", 0),
    );
    assert_eq!(ipip.len(), 5);
    for f in ipip {
        assert_eq!(s(f, "community_id"), "1:fPq9JDpGkWbz5DKZ3hVHpAHSO/M=");
    }
}

/// SCTP has ports (RFC 9260 3.1), and Community ID v1 hashes them for SCTP.
/// tshark -r sctp.cap -T fields -e sctp.srcport -e sctp.dstport: the first
/// association is 10.28.6.43:16384 -> 10.28.6.44:2944 (MEGACO), the second
/// 10.28.6.42:2905 <-> 10.28.6.44:2905 (heartbeats). Community IDs computed
/// with Python's hashlib per the spec.
#[test]
fn sctp_flows_carry_their_ports() {
    let run = analyze(&["sctp.cap"], 1, &[]);
    run.assert_ok();
    let records = run.records();
    let megaco = one_flow(
        &records,
        "SCTP",
        ("10.28.6.43", 16384),
        ("10.28.6.44", 2944),
    );
    assert_eq!(s(megaco, "community_id"), "1:MXX0xGhlFTg9LIa95QSVNd/KYD0=");
    let hb = one_flow(&records, "SCTP", ("10.28.6.42", 2905), ("10.28.6.44", 2905));
    assert_eq!(s(hb, "community_id"), "1:WBSG0+wm951ttgzgfkvDBPV9uSE=");
}

// ---------------------------------------------------------------------------
// Flow-table configuration
// ---------------------------------------------------------------------------

fn config_file(dir: &tempfile::TempDir, text: &str) -> String {
    let p = dir.path().join("gateward.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const BROADCAST_DNS: (&str, u16) = ("192.168.10.10", 49259);
const BROADCAST: (&str, u16) = ("255.255.255.255", 53);

/// capwap.pcap has a one-way UDP conversation, 192.168.10.10:49259 ->
/// 255.255.255.255:53, whose two packets are 3.00 s apart (tshark
/// frame.time_delta within udp.stream 1). The idle timeout is capture time,
/// so a 1 s `new` timeout splits it and the 30 s default does not.
#[test]
fn udp_new_timeout_in_capture_time_splits_a_conversation_with_a_gap() {
    let run = analyze(&["capwap.pcap"], 1, &[]);
    run.assert_ok();
    let records = run.records();
    let f = one_flow(&records, "UDP", BROADCAST_DNS, BROADCAST);
    assert_eq!(u(f, "flow.pkts_toserver"), 2);

    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(&dir, "[flow.timeouts.udp]\nnew = 1\n");
    let run = analyze(&["capwap.pcap"], 1, &["-c", &cfg]);
    run.assert_ok();
    let records = run.records();
    let parts = find_flows(&records, "UDP", BROADCAST_DNS, BROADCAST);
    assert_eq!(parts.len(), 2, "{parts:#?}");
    assert!(parts.iter().all(|p| u(p, "flow.pkts_toserver") == 1));
    assert!(parts.iter().all(|p| s(p, "flow.state") == "new"));
    let reasons: BTreeSet<&str> = parts.iter().map(|p| s(p, "flow.reason")).collect();
    assert!(reasons.contains("timeout"), "{reasons:?}");
    assert_ne!(u(parts[0], "flow_id"), u(parts[1], "flow_id"));
}

/// capwap.pcap's CAPWAP control flow 192.168.10.9:5246 <-> 192.168.10.10:12380
/// lasts 169 s (217 packets). With a 60 s active timeout it is reported while
/// it goes on (same flow_id, counts so far), then once more at the end with
/// the same totals as without an active timeout.
#[test]
fn active_timeout_writes_interim_records_of_a_long_flow() {
    let control = (("192.168.10.9", 5246), ("192.168.10.10", 12380));
    let run = analyze(&["capwap.pcap"], 1, &[]);
    run.assert_ok();
    assert_eq!(run.stat("interim records"), 0);
    let records = run.records();
    let whole = one_flow(&records, "UDP", control.0, control.1).clone();
    assert_eq!(u(&whole, "flow.age"), 169);

    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(&dir, "[flow]\nactive_timeout = 60\n");
    let run = analyze(&["capwap.pcap"], 1, &["-c", &cfg]);
    run.assert_ok();
    let records = run.records();
    let parts = find_flows(&records, "UDP", control.0, control.1);
    let (interim, last): (Vec<&Value>, Vec<&Value>) = parts
        .iter()
        .partition(|r| s(r, "flow.reason") == "active_timeout");
    assert_eq!(interim.len(), 2, "169 s / 60 s: {parts:#?}");
    assert_eq!(last.len(), 1);
    assert!(run.stat("interim records") >= 2);
    let last = last[0];
    for key in [
        "flow_id",
        "flow.pkts_toserver",
        "flow.pkts_toclient",
        "flow.bytes_toserver",
        "flow.bytes_toclient",
    ] {
        assert_eq!(field(last, key), field(&whole, key), "{key}");
    }
    let mut prev = 0;
    for r in &interim {
        assert_eq!(u(r, "flow_id"), u(last, "flow_id"));
        let pkts = u(r, "flow.pkts_toserver") + u(r, "flow.pkts_toclient");
        assert!(pkts > 0 && pkts < 217, "{r}");
        assert_ne!(pkts, prev);
        prev = pkts;
    }
}

/// Packets per 5-tuple over all records of a run.
fn packets_by_tuple(records: &[Value]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in records {
        let mut ends = [
            format!("{}:{}", s(r, "src_ip"), port(r, "src_port")),
            format!("{}:{}", s(r, "dest_ip"), port(r, "dest_port")),
        ];
        ends.sort();
        let key = format!("{} {} {}", r["proto"], ends[0], ends[1]);
        *m.entry(key).or_default() += u(r, "flow.pkts_toserver") + u(r, "flow.pkts_toclient");
    }
    m
}

/// kerberos.pcap has 36 flows; a two-flow table must evict (and count it),
/// and still report every flow and every packet.
#[test]
fn full_flow_table_evicts_counts_and_still_reports_every_flow() {
    let run = analyze(&["kerberos.pcap"], 1, &[]);
    run.assert_ok();
    assert_eq!(run.stat("evicted"), 0);
    let unlimited = packets_by_tuple(&run.records());
    assert_eq!(unlimited.len(), 36);

    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(&dir, "[flow]\nmax_flows = 2\n");
    let run = analyze(&["kerberos.pcap"], 1, &["-c", &cfg]);
    run.assert_ok();
    let evicted = run.stat("evicted");
    assert!(evicted >= 34, "evicted {evicted}:\n{}", run.stderr);
    let records = run.records();
    let forced = records
        .iter()
        .filter(|r| s(r, "flow.reason") == "forced")
        .count() as u64;
    assert_eq!(forced, evicted, "one `forced` record per eviction");
    assert_eq!(records.len() as u64, run.stat("flows"));
    assert_eq!(packets_by_tuple(&records), unlimited);
}
