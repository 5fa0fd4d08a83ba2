//! First byte picks the link type, the rest is one frame. The frame goes
//! through a whole worker (link, IP, fragments, tunnels, flow table,
//! dissectors, EVE output), which is then finished so every flow is written.
#![no_main]

use gateward::capture::{LinkType, RawPacket, Timestamp};
use gateward::config::Config;
use gateward::pipeline::worker::Worker;
use libfuzzer_sys::fuzz_target;

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

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let mut cfg = Config::default();
    cfg.output.all_flows = true;
    // Unbounded, so the worker never blocks on a full output queue.
    let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let mut worker = Worker::new(&cfg, 1, tx).expect("default configuration");
    let raw = RawPacket {
        ts: Timestamp(1_700_000_000_000_000),
        wire_len: frame.len() as u32,
        link: LINKS[pick as usize % LINKS.len()],
        data: frame,
    };
    worker.process(&raw);
    let _ = worker.finish();
    for chunk in rx.try_iter() {
        std::hint::black_box(chunk);
    }
});
