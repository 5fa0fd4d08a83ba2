//! Tests with bytes from the corpus captures (hex pasted; the captures are
//! not read at test time).

use super::*;
use crate::detect::detector::Family;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn view(
    payload: &[u8],
    dir: Direction,
    index: u16,
    proto: u8,
    icmp: Option<(u8, u8)>,
) -> PacketView<'_> {
    let dns = proto == 17 || proto == 6;
    PacketView {
        dir,
        index,
        offset_us: u64::from(index) * 1000,
        proto: IpProto(proto),
        client_port: if dns { 44639 } else { 0 },
        server_port: if dns { 53 } else { 0 },
        tcp_flags: 0,
        icmp,
        payload,
    }
}

// dns-tunnel-iodine.pcap frames 3, 7, 13, 15: iodine NULL queries under
// pirate.sea (base32 handshake, then raw 8-bit labels).
const IODINE: [&str; 4] = [
    "30df01000001000000000000206c61656770756d69706c6868707a3132796e643165666c6a776c6b6a63677779067069726174650373656100000a0001",
    "6d3d01000001000000000001297a69303361412d4161616868682d4472696e6b2d6d616c2d65696e2d4ae46765726d6569737465722d067069726174650373656100000a00010000291000000080000000",
    "c7ca01000001000000000001247a693161614130313233343536373839bcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf067069726174650373656100000a00010000291000000080000000",
    "e5f901000001000000000001347a6931626141d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfd067069726174650373656100000a00010000291000000080000000",
];

// dns_exfiltration.pcap frames 1, 3, 5, 7: dnscat2 hex-encoded names
// (TXT, CNAME, MX, TXT queries).
const DNSCAT: [&str; 4] = [
    "391d0100000100000000000006646e736361743c3534366230336635303030303030303030306136303233656434646631383464366163356332363238623437373134666465653538346665643733393c3561303362356231653161613866386664623162626538643565303439353231343166376434663832633765336230366463633862383766616437611a313965346430393864633863363138663864383163666562303200000f0001",
    "7d1a0100000100000000000006646e736361743c3931663030336635303066363132323138313061656130303030303438363363363931353830656361643636663634616337646462383762383963372639323030383231653532376434653137363332353363323565323937653261613431313364300000050001",
    "473e0100000100000000000006646e736361743c61333563303066353030353730336338623162386364303030313138623532333437616562316437333334306339376363613433633334623237636608656466306462646100000f0001",
    "1b5d0100000100000000000006646e7363617422663937633031663530303663373938623864366539393030303265333737326263380000100001",
];

// dropbox.pcap frame 813: an ordinary A query for log.getdropbox.com.
const DROPBOX: &str = "17e601000001000000000000036c6f670a67657464726f70626f7803636f6d0000010001";

/// A test packet: payload, direction, protocol, ICMP type/code.
type Pkt = (Vec<u8>, Direction, u8, Option<(u8, u8)>);

fn run(ctx: &TunnelCtx, pkts: &[Pkt]) -> Vec<Detection> {
    let mut t = TunnelDetectors::default();
    let mut out = Vec::new();
    let a = crate::decode::Addr {
        bits: 0x0a00_021e,
        v6: false,
    };
    let b = crate::decode::Addr {
        bits: 0x0a00_0214,
        v6: false,
    };
    let facts = FlowFacts {
        proto: IpProto(pkts.first().map_or(17, |p| p.2)),
        client: (a, 44639),
        server: (b, 53),
        ..crate::detect::testutil::facts()
    };
    for (i, (p, dir, proto, icmp)) in pkts.iter().enumerate() {
        if t.done() {
            break;
        }
        t.on_packet(
            &view(p, *dir, i as u16, *proto, *icmp),
            &facts,
            ctx,
            &mut out,
        );
    }
    t.on_end(&facts, ctx, &mut out);
    out
}

fn dns_pkts(qs: &[&str]) -> Vec<Pkt> {
    qs.iter()
        .map(|q| (hex(q), Direction::ToServer, 17, None))
        .collect()
}

#[test]
fn iodine_is_a_dns_tunnel_with_high_confidence() {
    let ctx = TunnelCtx::default();
    let out = run(&ctx, &dns_pkts(&IODINE));
    assert_eq!(out.len(), 1, "{out:?}");
    let d = &out[0];
    assert_eq!(
        (d.category, d.protocol.name()),
        (Category::Tunnel, "dns_tunnel")
    );
    // Encoded labels, raw bytes, NULL queries, one base domain.
    assert_eq!(d.confidence, Confidence::High);
    assert_eq!(d.evidence.get("tunnel_rrtype_queries"), Some("4"));
    assert!(d.evidence.get("example").unwrap().ends_with(".pirate.sea"));
}

#[test]
fn dnscat_exfiltration_is_a_dns_tunnel() {
    let ctx = TunnelCtx::default();
    let out = run(&ctx, &dns_pkts(&DNSCAT));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].protocol.name(), "dns_tunnel");
    assert!(out[0].confidence >= Confidence::Medium);
}

#[test]
fn tcp_dns_is_read_after_its_length_prefix() {
    let ctx = TunnelCtx::default();
    let pkts: Vec<_> = IODINE
        .iter()
        .map(|q| {
            let m = hex(q);
            let mut v = (m.len() as u16).to_be_bytes().to_vec();
            v.extend_from_slice(&m);
            (v, Direction::ToServer, 6, None)
        })
        .collect();
    assert_eq!(run(&ctx, &pkts).len(), 1);
}

#[test]
fn ordinary_dns_stays_clean() {
    let ctx = TunnelCtx::default();
    // The same ordinary query repeated (retries), then many of them.
    assert!(run(&ctx, &dns_pkts(&[DROPBOX; 16])).is_empty());
    // Three tunnel queries among ordinary ones: below the threshold.
    let mut qs = vec![DROPBOX; 10];
    qs.extend_from_slice(&IODINE[..3]);
    assert!(run(&ctx, &dns_pkts(&qs)).is_empty());
    // Tunnel-like names as a minority of a busy shared flow.
    let mut qs = vec![DROPBOX; 12];
    qs.extend_from_slice(&DNSCAT);
    assert!(run(&ctx, &dns_pkts(&qs)).is_empty());
    // Responses are not queries.
    let mut pkts = dns_pkts(&IODINE);
    for p in &mut pkts {
        p.1 = Direction::ToClient;
    }
    assert!(run(&ctx, &pkts).is_empty());
}

#[test]
fn cdn_and_ordinary_labels_are_not_encoded() {
    for l in [
        "e1234",
        "d1a2b3c4d5e6f7",
        "internal-my-load-balancer-1234567890",
        "www",
        "googlevideo",
        "r1---sn-a5meknsl",
        "thisisaverylonghostnamewithoutdigits",
        "xn--bcher-kva",
    ] {
        assert!(!label_encoded(l.as_bytes()), "{l}");
    }
    for l in [
        "laegpumiplhhpz12ynd1efljwlkjcgwy",
        "546b03f50000000000a6023ed4df184d6ac5c2628b47714fdee584fed739",
        "f97c01f5006c798b8d6e990002e3772bc8",
    ] {
        assert!(label_encoded(l.as_bytes()), "{l}");
    }
}

// icmp-tunnel.pcap frames 3 (echo request) and 18 (echo reply): icmptunnel,
// id 0xfeff seq 0, each carrying a whole IPv4 packet (a ping inside).
const ICMPTUNNEL_REQ: &str = "feff00004500005400004000400123e90a5f01010a5f010208005beb3d0800012d6e13512d49060008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637";
const ICMPTUNNEL_REP: &str = "feff000045000054601d0000400103cc0a5f01020a5f0101000002df3d08000f3b6e13518047060008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637";

// googledns_android10.pcap frames 81, 83, 87, 88: Linux ping (timestamp
// then 0x10..0x37), replies echoing the data.
const PING: [&str; 2] = [
    "000200017a6dec5e00000000eac7070000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
    "000300017b6dec5e00000000496b070000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
];

#[test]
fn icmptunnel_carries_ip_packets_both_ways() {
    let ctx = TunnelCtx::default();
    let pkts = vec![
        (hex(ICMPTUNNEL_REQ), Direction::ToServer, 1, Some((8, 0))),
        (hex(ICMPTUNNEL_REQ), Direction::ToServer, 1, Some((8, 0))),
        (hex(ICMPTUNNEL_REP), Direction::ToClient, 1, Some((0, 0))),
    ];
    let out = run(&ctx, &pkts);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].protocol.name(), "icmp_tunnel");
    assert_eq!(out[0].confidence, Confidence::Certain);
    assert_eq!(out[0].basis, Basis::Structure);
    assert_eq!(out[0].evidence.get("signature"), Some("ip_in_icmp"));
}

#[test]
fn ordinary_ping_stays_clean() {
    let ctx = TunnelCtx::default();
    let mut pkts = Vec::new();
    for _ in 0..4 {
        for p in PING {
            pkts.push((hex(p), Direction::ToServer, 1, Some((8, 0))));
            pkts.push((hex(p), Direction::ToClient, 1, Some((0, 0))));
        }
    }
    assert!(run(&ctx, &pkts).is_empty());
    // Windows ping data, no replies.
    let mut win = vec![0, 1, 0, 9];
    win.extend_from_slice(b"abcdefghijklmnopqrstuvwabcdefghi");
    let pkts: Vec<_> = (0..6)
        .map(|_| (win.clone(), Direction::ToServer, 1, Some((8, 0))))
        .collect();
    assert!(run(&ctx, &pkts).is_empty());
}

#[test]
fn replies_that_do_not_echo_are_a_tunnel() {
    let ctx = TunnelCtx::default();
    let mut pkts = Vec::new();
    for i in 0u8..4 {
        let mut req = vec![0x12, 0x34, 0, i];
        req.extend((0..40 + 30 * usize::from(i)).map(|k| (k as u8).wrapping_mul(37) ^ i));
        let mut rep = vec![0x12, 0x34, 0, i];
        rep.extend((0..90).map(|k| (k as u8).wrapping_mul(91) ^ i));
        pkts.push((req, Direction::ToServer, 1, Some((8, 0))));
        pkts.push((rep, Direction::ToClient, 1, Some((0, 0))));
    }
    let out = run(&ctx, &pkts);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].basis, Basis::Behaviour);
    assert_eq!(out[0].confidence, Confidence::High);
}

#[test]
fn ptunnel_magic() {
    let ctx = TunnelCtx::default();
    let mut m = vec![0x12, 0x34, 0, 1];
    m.extend_from_slice(&PTUNNEL_MAGICS[0]);
    m.extend_from_slice(&[0; 24]);
    let pkts = vec![
        (m.clone(), Direction::ToServer, 1, Some((8, 0))),
        (m, Direction::ToClient, 1, Some((0, 0))),
    ];
    let out = run(&ctx, &pkts);
    assert_eq!(out[0].confidence, Confidence::Certain);
}

#[test]
fn hostile_input_does_not_panic() {
    let ctx = TunnelCtx::default();
    let mut x = 0x9e37_79b9u32;
    for len in 0..300usize {
        let v: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let _ = run(&ctx, &[(v.clone(), Direction::ToServer, 17, None)]);
        let _ = run(&ctx, &[(v.clone(), Direction::ToServer, 6, None)]);
        let _ = run(&ctx, &[(v.clone(), Direction::ToClient, 1, Some((0, 0)))]);
        let _ = run(&ctx, &[(v, Direction::ToServer, 58, Some((128, 0)))]);
    }
    assert!(!is_ip_packet(&[0x45]));
}

#[test]
fn config_is_validated() {
    let c: TunnelConfig = toml::from_str("dns_min_queries = 1").unwrap();
    assert!(TunnelCtx::from_config(&c).is_err());
    let c: TunnelConfig = toml::from_str("dns = false\nicmp = false").unwrap();
    let ctx = TunnelCtx::from_config(&c).unwrap();
    assert!(run(&ctx, &dns_pkts(&IODINE)).is_empty());
    assert!(toml::from_str::<TunnelConfig>("bogus = 1").is_err());
}

#[test]
fn ptunnel_header_under_any_magic() {
    let ctx = TunnelCtx::default();
    // echo id 0x7a21, seq 0; ptunnel header with magic 5eed1e55, user
    // flag + state 0, data length 0, identifier 0x7a21.
    let mut m = vec![0x7a, 0x21, 0, 0];
    m.extend_from_slice(&[0x5e, 0xed, 0x1e, 0x55, 127, 0, 0, 1, 0, 0, 0x1f, 0x90]);
    m.extend_from_slice(&[
        0x40, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x7a, 0x21,
    ]);
    let out = run(&ctx, &[(m.clone(), Direction::ToServer, 1, Some((8, 0)))]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].confidence, Confidence::High);
    assert_eq!(out[0].evidence.get("ptunnel_header"), Some("1"));
    // A length field that disagrees, or another echo id: not ptunnel.
    let mut bad = m.clone();
    bad[27] = 1;
    assert!(run(&ctx, &[(bad, Direction::ToServer, 1, Some((8, 0)))]).is_empty());
    let mut other_id = m;
    other_id[0] = 0x11;
    assert!(run(&ctx, &[(other_id, Direction::ToServer, 1, Some((8, 0)))]).is_empty());
}

#[test]
fn hans_header() {
    let ctx = TunnelCtx::default();
    let mut req = vec![0x12, 0x34, 0, 1];
    req.extend_from_slice(b"9967\x02");
    req.extend_from_slice(&[10, 0, 0, 0, 0]);
    let mut rep = vec![0x12, 0x34, 0, 1];
    rep.extend_from_slice(b"hans\x03");
    rep.extend_from_slice(&[7; 16]);
    let out = run(
        &ctx,
        &[
            (req.clone(), Direction::ToServer, 1, Some((8, 0))),
            (rep, Direction::ToClient, 1, Some((0, 0))),
        ],
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].confidence, Confidence::Certain);
    assert_eq!(out[0].evidence.get("signature"), Some("hans"));
    let mut not_type = req;
    not_type[8] = 0x30;
    assert!(run(&ctx, &[(not_type, Direction::ToServer, 1, Some((8, 0)))]).is_empty());
}

#[test]
fn one_ip_packet_in_an_echo_is_medium() {
    let ctx = TunnelCtx::default();
    let out = run(
        &ctx,
        &[(hex(ICMPTUNNEL_REQ), Direction::ToServer, 1, Some((8, 0)))],
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].confidence, Confidence::Medium);
    assert_eq!(out[0].evidence.get("signature"), Some("ip_in_icmp"));
}
