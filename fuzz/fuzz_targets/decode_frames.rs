//! Several frames through one worker, so state across packets is exercised:
//! TCP handshakes and reuse, fragment reassembly, flow timeouts, dissectors
//! that need more than one packet. Input: records of
//! `[ctl: u8][len: u16 LE][len bytes of frame]`. The low 3 bits of `ctl` pick
//! the link type; the high 5 bits `s` advance the capture clock by 0 ms
//! (s = 0) or 2^(s-1) ms (up to ~12 days), to reach every timeout.
#![no_main]

use gateward::capture::{LinkType, RawPacket, Timestamp};
use gateward::config::Config;
use gateward::pipeline::worker::Worker;
use libfuzzer_sys::fuzz_target;

const LINKS: [LinkType; 8] = [
    LinkType::Null,
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Loop,
    LinkType::LinuxSll,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll2,
];
const MAX_FRAMES: usize = 256;

fuzz_target!(|data: &[u8]| {
    let mut cfg = Config::default();
    cfg.output.all_flows = true;
    let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let mut worker = Worker::new(&cfg, 1, tx).expect("default configuration");
    let mut ts = 1_700_000_000_000_000u64;
    let mut rest = data;
    for _ in 0..MAX_FRAMES {
        let [ctl, lo, hi, tail @ ..] = rest else {
            break;
        };
        let len = (u16::from_le_bytes([*lo, *hi]) as usize).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        let step = ctl >> 3;
        if step > 0 {
            ts += 1000u64 << (step - 1);
        }
        worker.process(&RawPacket {
            ts: Timestamp(ts),
            wire_len: frame.len() as u32,
            link: LINKS[(ctl & 7) as usize],
            data: frame,
        });
    }
    let _ = worker.finish();
    for chunk in rx.try_iter() {
        std::hint::black_box(chunk);
    }
});
