//! Property tests: no input makes the engine panic. Random and mutated bytes
//! go (a) through the capture reader as whole files and (b) as frames of every
//! link type, through the reader's routing and a whole worker (link, IP,
//! fragments, tunnels, flow table, dissectors, EVE output). Every record the
//! worker writes must still be one line of valid JSON.
//!
//! The cargo-fuzz targets in `fuzz/` explore the same entry points for longer;
//! these run on every `cargo test`, in well under a second each.

use gateward::capture::{FileSource, LinkType, PacketSource, RawPacket, Timestamp};
use gateward::config::Config;
use gateward::pipeline::batch::{Batch, DNS_RESPONSE};
use gateward::pipeline::shard;
use gateward::pipeline::worker::Worker;
use gateward::stats::WorkerStats;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// One frame and its link type.
type Frame = (LinkType, Vec<u8>);
/// Groups of frames (one frame, or a fragment train), each after a gap in µs.
type Sequence = Vec<(Vec<Frame>, u64)>;

const LINKS: [LinkType; 14] = [
    LinkType::Null,
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Loop,
    LinkType::LinuxSll,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll2,
    LinkType::Ppp,
    LinkType::PppHdlc,
    LinkType::CiscoHdlc,
    LinkType::Ieee80211,
    LinkType::Radiotap,
    LinkType::Ppi,
];

/// A small config so limits are hit: a 4-flow table, little reassembly memory,
/// a short active timeout, every flow written.
fn config() -> Config {
    let mut cfg = Config::default();
    cfg.output.all_flows = true;
    cfg.flow.max_flows = 4;
    cfg.flow.active_timeout = 2;
    cfg.defrag.max_datagrams = 2;
    cfg.defrag.memcap = 4096;
    cfg.defrag.max_fragments = 4;
    cfg
}

/// Feeds frames through routing and one worker, the way the pipeline does,
/// then checks the output.
fn run_worker(frames: &[RawPacket<'_>]) -> WorkerStats {
    let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let mut worker = Worker::new(&config(), 1, tx).expect("test configuration");
    let mut batch = Batch::with_capacity(frames.len());
    for p in frames {
        let route = shard::route(p.link, p.data, 3, 4);
        assert!(route.worker < 3);
        batch.push(p, if route.dns_response { DNS_RESPONSE } else { 0 });
        batch.now = batch.now.max(p.ts);
    }
    worker.run_batch(&batch);
    let stats = worker.finish();
    assert_eq!(stats.packets, frames.len() as u64);
    let out: Vec<u8> = rx.try_iter().flatten().collect();
    let text = std::str::from_utf8(&out).expect("output is UTF-8");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("invalid JSON ({e}): {line}"));
    }
    stats
}

/// Reads a capture from bytes to its end or first error, processing every
/// packet read before it.
fn run_capture(bytes: &[u8]) {
    let Ok(mut src) = FileSource::new(bytes) else {
        return;
    };
    let mut owned: Vec<(Timestamp, u32, LinkType, Vec<u8>)> = Vec::new();
    while let Ok(Some(p)) = src.next_packet() {
        owned.push((p.ts, p.wire_len, p.link, p.data.to_vec()));
        assert!(owned.len() <= bytes.len(), "more packets than bytes");
    }
    let frames: Vec<RawPacket<'_>> = owned
        .iter()
        .map(|(ts, wire_len, link, data)| RawPacket {
            ts: *ts,
            wire_len: *wire_len,
            link: *link,
            data,
        })
        .collect();
    run_worker(&frames);
}

// ---------------------------------------------------------------------------
// (a) whole capture files
// ---------------------------------------------------------------------------

/// File starts that get past the magic-number check: pcap little/big endian,
/// µs/ns, and a pcapng Section Header Block (little and big endian).
fn capture_prefix() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0,
            0
        ]),
        Just(vec![
            0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0,
            101
        ]),
        Just(vec![
            0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 113, 0,
            0, 0
        ]),
        Just(vec![
            0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0
        ]),
        Just(vec![
            0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28
        ]),
    ]
}

/// Small real captures of every container and link type, to mutate.
const SEEDS: &[&[u8]] = &[
    include_bytes!("../captures/http.pcapng"),
    include_bytes!("../captures/dns.pcap"),
    include_bytes!("../captures/sctp.cap"),
    include_bytes!("../captures/bjnp.pcap"),
    include_bytes!("../captures/gre.pcapng"),
    include_bytes!("../captures/4in6tunnel.pcap"),
    include_bytes!("../captures/6in6tunnel.pcap"),
    include_bytes!("../captures/teredo.pcap"),
    include_bytes!("../captures/tcpdump-geneve.pcap"),
    include_bytes!("../captures/vxlan.pcap"),
    include_bytes!("../captures/gtpu.pcap"),
    include_bytes!("../captures/fragments.pcap"),
    include_bytes!("../captures/sll2.pcapng"),
    include_bytes!("../captures/null.pcapng"),
    include_bytes!("../captures/ipv6.pcapng"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_capture_files_never_panic(
        prefix in capture_prefix(),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = prefix;
        bytes.extend_from_slice(&body);
        run_capture(&bytes);
    }

    #[test]
    fn mutated_real_captures_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        keep in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = SEEDS[seed].to_vec();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(keep.index(bytes.len() + 1));
        }
        run_capture(&bytes);
    }
}

// ---------------------------------------------------------------------------
// (b) frames of every link type
// ---------------------------------------------------------------------------

/// Transport and tunnel headers worth reaching: each entry is an IP protocol
/// and the bytes that follow the IP header before the payload.
fn l4_header() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let udp = |dport: u16, tunnel: Vec<u8>| {
        let mut h = vec![0xc3, 0x50];
        h.extend_from_slice(&dport.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.extend_from_slice(&tunnel);
        (17u8, h)
    };
    let eth_ipv4 = || {
        let mut e = vec![0u8; 12];
        e.extend_from_slice(&[0x08, 0x00]);
        e
    };
    prop_oneof![
        // TCP (RFC 9293 3.1): ports, seq, ack, offset 5, random flags.
        any::<u8>().prop_map(|flags| (
            6u8,
            vec![
                0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0
            ]
        )),
        Just(udp(53, vec![])),
        // A DNS response (RFC 1035 4.1: source port 53, QR set, question `a.`
        // type A, one answer pointing back to it: 10.0.0.9, TTL 300): every
        // worker learns names from these.
        Just((
            17u8,
            vec![
                0, 53, 0xc3, 0x50, 0, 0, 0, 0, 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1,
                b'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 9,
            ]
        )),
        // GTP-U G-PDU (TS 29.281 5.1), with and without the optional fields.
        Just(udp(2152, vec![0x30, 0xff, 0, 0, 0, 0, 0, 1])),
        Just(udp(
            2152,
            vec![0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0]
        )),
        // VXLAN (RFC 7348 5) + inner Ethernet.
        Just(udp(
            4789,
            [vec![0x08, 0, 0, 0, 0, 0, 1, 0], eth_ipv4()].concat()
        )),
        // Geneve (RFC 8926 3.4), Ethernet and IPv4 payloads.
        Just(udp(
            6081,
            [vec![0, 0, 0x65, 0x58, 0, 0, 1, 0], eth_ipv4()].concat()
        )),
        Just(udp(6081, vec![0, 0, 0x08, 0x00, 0, 0, 1, 0])),
        // CAPWAP data (RFC 5415 4.3), 802.3 and native 802.11 payloads.
        Just(udp(5247, vec![0, 0x10, 0, 0, 0, 0, 0, 0])),
        Just(udp(5247, vec![0, 0x10, 0x03, 0, 0, 0, 0, 0])),
        // Teredo (RFC 4380 5.1.1) origin indication before the IPv6 packet.
        Just(udp(3544, vec![0, 0, 0, 0, 0, 0, 0, 0])),
        Just((4u8, vec![])),
        Just((41u8, vec![])),
        // GRE (RFC 2784) with IPv4, Ethernet (0x6558) and ERSPAN II payloads.
        Just((47u8, vec![0, 0, 0x08, 0x00])),
        Just((47u8, [vec![0, 0, 0x65, 0x58], eth_ipv4()].concat())),
        Just((
            47u8,
            vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        )),
        // PPTP enhanced GRE (RFC 2637 4.1) + PPP IPv4.
        Just((
            47u8,
            vec![
                0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0x00, 0x21
            ]
        )),
        Just((1u8, vec![8, 0, 0, 0])),
        Just((58u8, vec![128, 0, 0, 0])),
        Just((132u8, vec![0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0])),
        any::<u8>().prop_map(|p| (p, vec![])),
    ]
}

/// An IP header (RFC 791 3.1 / RFC 8200 3) over a transport header and a
/// payload, with fields drawn from small pools so that packets share flows and
/// fragments share datagrams; the length fields are right or wrong at random.
fn ip_packet(inner: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        l4_header(),
        inner,
        0u8..4,
        prop_oneof![
            Just(0u16),
            Just(0x2000),
            Just(0x2001),
            Just(0x0003),
            Just(0x4000),
            any::<u16>()
        ],
        any::<bool>(),
        0u16..3,
    )
        .prop_map(|(v6, (proto, l4), payload, host, frag, good_len, id)| {
            let body = [l4, payload].concat();
            let a = [10, 0, 0, 1 + host];
            let b = [10, 0, 0, 9];
            if v6 {
                let len = if good_len { body.len() as u16 } else { frag };
                let mut h = vec![0x60, 0, 0, 0];
                h.extend_from_slice(&len.to_be_bytes());
                let fragmented = frag & 0x2000 != 0 || frag & 0x1fff != 0;
                h.extend_from_slice(&[if fragmented { 44 } else { proto }, 64]);
                h.extend_from_slice(&[
                    0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, a[0], a[1], a[2], a[3],
                ]);
                h.extend_from_slice(&[
                    0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3],
                ]);
                if fragmented {
                    // RFC 8200 4.5 Fragment header: offset in 8-octet units, M flag.
                    let off_m = ((frag & 0x1fff) << 3) | ((frag >> 13) & 1);
                    h.extend_from_slice(&[proto, 0]);
                    h.extend_from_slice(&off_m.to_be_bytes());
                    h.extend_from_slice(&(id as u32).to_be_bytes());
                }
                [h, body].concat()
            } else {
                let total = if good_len {
                    20 + body.len() as u16
                } else {
                    frag ^ 0x55
                };
                let mut h = vec![0x45, 0];
                h.extend_from_slice(&total.to_be_bytes());
                h.extend_from_slice(&id.to_be_bytes());
                h.extend_from_slice(&frag.to_be_bytes());
                h.extend_from_slice(&[64, proto, 0, 0]);
                h.extend_from_slice(&a);
                h.extend_from_slice(&b);
                [h, body].concat()
            }
        })
}

/// Random bytes, or an IP packet that may itself carry an IP packet (tunnels
/// nest), cut short at random.
fn network_bytes() -> impl Strategy<Value = Vec<u8>> {
    let leaf = proptest::collection::vec(any::<u8>(), 0..96);
    let nested = leaf.prop_recursive(3, 16, 1, |inner| ip_packet(inner).boxed());
    (nested, any::<prop::sample::Index>(), 0u8..4).prop_map(|(mut b, cut, p)| {
        if p == 0 {
            b.truncate(cut.index(b.len() + 1));
        }
        b
    })
}

/// The link-layer header of each link type in front of network bytes.
fn frame() -> impl Strategy<Value = Frame> {
    (
        0..LINKS.len(),
        network_bytes(),
        any::<bool>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(l, net, v6ish, junk)| {
            let link = LINKS[l];
            let ethertype: [u8; 2] = if v6ish { [0x86, 0xdd] } else { [0x08, 0x00] };
            let mut f = match link {
                // tcpdump.org/linktypes.html
                LinkType::Null => {
                    if v6ish {
                        vec![30, 0, 0, 0]
                    } else {
                        vec![2, 0, 0, 0]
                    }
                }
                LinkType::Loop => {
                    if v6ish {
                        vec![0, 0, 0, 24]
                    } else {
                        vec![0, 0, 0, 2]
                    }
                }
                LinkType::Ethernet => {
                    let mut e = vec![0u8; 12];
                    if junk[0] & 1 == 1 {
                        e.extend_from_slice(&[0x81, 0x00, junk[1] & 0x0f, junk[2]]); // 802.1Q
                    }
                    if junk[0] & 2 == 2 {
                        e.extend_from_slice(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 0]); // PPPoE session
                        e.extend_from_slice(if v6ish { &[0x00, 0x57] } else { &[0x00, 0x21] });
                        e
                    } else {
                        [e, ethertype.to_vec()].concat()
                    }
                }
                LinkType::LinuxSll => [vec![0u8; 14], ethertype.to_vec()].concat(),
                LinkType::LinuxSll2 => [ethertype.to_vec(), vec![0u8; 18]].concat(),
                LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => vec![],
                // RFC 1662 3.1 address/control, RFC 1661 protocol field.
                LinkType::Ppp | LinkType::PppHdlc => {
                    vec![0xff, 0x03, 0x00, if v6ish { 0x57 } else { 0x21 }]
                }
                LinkType::CiscoHdlc => [vec![0x0f, 0x00], ethertype.to_vec()].concat(),
                // IEEE 802.11-2020 9.3.2.1 QoS data frame, flags from `junk`
                // (protected, DS bits, +HTC), then LLC/SNAP (RFC 1042).
                LinkType::Ieee80211 | LinkType::Radiotap | LinkType::Ppi => {
                    let mut w = match link {
                        // radiotap.org: version 0, length 8, nothing present.
                        LinkType::Radiotap => vec![0, 0, 8, 0, 0, 0, 0, 0],
                        // PPI 1.0.10: version 0, length 8, DLT 105.
                        LinkType::Ppi => vec![0, 0, 8, 0, 105, 0, 0, 0],
                        _ => vec![],
                    };
                    w.extend_from_slice(&[0x88, junk[1] & 0xc3, 0, 0]);
                    w.extend_from_slice(&[0u8; 20]);
                    if junk[1] & 0x03 == 0x03 {
                        w.extend_from_slice(&[0u8; 6]);
                    }
                    w.extend_from_slice(&[0, 0]);
                    if junk[1] & 0x80 != 0 {
                        w.extend_from_slice(&[0u8; 4]);
                    }
                    w.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
                    w.extend_from_slice(&ethertype);
                    w
                }
            };
            if junk[3] == 0 {
                f.clear(); // a frame with a missing or short link header
            }
            f.extend_from_slice(&net);
            (link, f)
        })
}

/// A transport header and payload cut into valid fragments (RFC 791 3.2 for
/// IPv4, RFC 8200 4.5 for IPv6: 8-byte multiples, M flag on all but the
/// last), delivered in a random order, some fragments possibly lost or sent
/// twice. Raw IP link type.
fn fragment_train() -> impl Strategy<Value = Vec<Frame>> {
    (
        l4_header(),
        proptest::collection::vec(any::<u8>(), 0..400),
        1usize..24,
        any::<bool>(),
        0u8..8,
    )
        .prop_flat_map(|((proto, l4), payload, units, v6, mishap)| {
            let body = [l4, payload].concat();
            let size = units * 8;
            let mut frames = Vec::new();
            let mut off = 0;
            while off < body.len() || off == 0 {
                let end = (off + size).min(body.len());
                let more = end < body.len();
                let chunk = &body[off..end];
                let field = ((off / 8) as u16) << 3 | more as u16; // IPv6 layout
                let frame = if v6 {
                    let mut h = vec![0x60, 0, 0, 0];
                    h.extend_from_slice(&(8 + chunk.len() as u16).to_be_bytes());
                    h.extend_from_slice(&[44, 64]);
                    h.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
                    h.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
                    h.extend_from_slice(&[proto, 0]);
                    h.extend_from_slice(&field.to_be_bytes());
                    h.extend_from_slice(&77u32.to_be_bytes());
                    [h, chunk.to_vec()].concat()
                } else {
                    let flags = (off / 8) as u16 | if more { 0x2000 } else { 0 };
                    let mut h = vec![0x45, 0];
                    h.extend_from_slice(&(20 + chunk.len() as u16).to_be_bytes());
                    h.extend_from_slice(&77u16.to_be_bytes());
                    h.extend_from_slice(&flags.to_be_bytes());
                    h.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
                    [h, chunk.to_vec()].concat()
                };
                frames.push((LinkType::Raw, frame));
                off = end;
                if end == body.len() {
                    break;
                }
            }
            match mishap {
                0 => {
                    frames.pop();
                }
                1 => {
                    let first = frames[0].clone();
                    frames.push(first);
                }
                _ => {}
            }
            Just(frames).prop_shuffle()
        })
}

/// Frame sequences: single frames and fragment trains, with gaps of up to
/// 5 s of capture time, so idle and active timeouts and the expiry sweeps run.
fn frame_sequence() -> impl Strategy<Value = Sequence> {
    let item = prop_oneof![
        4 => frame().prop_map(|f| vec![f]),
        1 => fragment_train(),
    ];
    proptest::collection::vec((item, 0u64..5_000_000), 1..12)
}

fn run_sequence(items: &Sequence) -> WorkerStats {
    let mut ts = 1_700_000_000_000_000u64;
    let mut packets: Vec<RawPacket<'_>> = Vec::new();
    for (frames, gap) in items {
        ts += gap;
        for (link, data) in frames {
            ts += 1;
            packets.push(RawPacket {
                ts: Timestamp(ts),
                wire_len: data.len() as u32,
                link: *link,
                data,
            });
        }
    }
    run_worker(&packets)
}

/// The structured generator is only worth running if it gets past the
/// headers: over a fixed sample it must create flows, decapsulate tunnels of
/// several kinds and hand fragments to reassembly.
#[test]
fn structured_frames_reach_flows_tunnels_and_fragments() {
    let mut runner = TestRunner::deterministic();
    let strategy = frame_sequence();
    let mut total = WorkerStats::default();
    for _ in 0..200 {
        let frames = strategy.new_tree(&mut runner).expect("sample").current();
        total.merge(&run_sequence(&frames));
    }
    assert!(total.flows > 100, "flows {}", total.flows);
    assert!(
        total.decapsulated > 20,
        "decapsulated {}",
        total.decapsulated
    );
    assert!(total.reassembled > 10, "reassembled {}", total.reassembled);
    assert!(
        total.dns_names_learned > 0,
        "no DNS response reached the name cache"
    );
    assert!(total.flows_evicted > 0, "the 4-flow table never filled");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_frames_of_every_link_type_never_panic(
        link in 0..LINKS.len(),
        data in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let p = RawPacket { ts: Timestamp(1_700_000_000_000_000), wire_len: data.len() as u32, link: LINKS[link], data: &data };
        run_worker(&[p]);
    }

    #[test]
    fn structured_frame_sequences_never_panic(frames in frame_sequence()) {
        run_sequence(&frames);
    }
}
