//! The SSH dissector (`dissect::ssh`). Input: records (see `src/lib.rs`),
//! each a run of the TCP stream in its direction, fed to one `SshState` in
//! pieces of `ctl >> 1` bytes. Then `event()` (serialised), `negotiated()`,
//! `banner()`, `kexinit()`, `protocol_version()`, `dropped_bytes()`.
//!
//! Each record also goes through the pure parsers: every line through
//! `trim_line_end` + `parse_banner_line`; from every offset just after a
//! line, binary packets through `frame_packet`, each payload through
//! `parse_kexinit`, `hassh_string` (both sides), `hassh_hash`, and
//! `negotiate` of its own lists against each other.
#![no_main]

use gateward::dissect::ssh::parser::{
    PacketFrame, Side, frame_packet, hassh_hash, hassh_string, negotiate, packet_total_len,
    parse_banner_line, parse_kexinit, trim_line_end,
};
use gateward::dissect::ssh::{MAX_KEXINIT_PACKET, SshState};
use gateward::dissect::{Direction, Verdict};
use gateward_fuzz::{records, touch_json};
use libfuzzer_sys::fuzz_target;

fn packets(mut buf: &[u8]) {
    let _ = packet_total_len(buf, MAX_KEXINIT_PACKET);
    for _ in 0..64 {
        match frame_packet(buf, MAX_KEXINIT_PACKET) {
            PacketFrame::Complete { payload, consumed } => {
                if let Ok(k) = parse_kexinit(payload) {
                    for side in [Side::Client, Side::Server] {
                        std::hint::black_box(hassh_hash(&hassh_string(&k, side)));
                    }
                    std::hint::black_box(negotiate(k.kex_algorithms, k.server_host_key_algorithms));
                    std::hint::black_box(k.encryption_c2s.names().count());
                    std::hint::black_box(k.mac_s2c.contains(b"hmac-sha2-256"));
                }
                buf = buf.get(consumed..).unwrap_or_default();
            }
            _ => return,
        }
    }
}

fn parsers(data: &[u8]) {
    let _ = parse_kexinit(data);
    let mut rest = data;
    let mut lines = 0;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let (line, after) = rest.split_at(nl + 1);
        if let Some(b) = parse_banner_line(trim_line_end(line)) {
            std::hint::black_box((b.is_ssh1_only(), b.speaks_ssh2(), b.comments));
        }
        rest = after;
        lines += 1;
        if lines > 32 {
            break;
        }
    }
    if let Some(b) = parse_banner_line(trim_line_end(rest)) {
        std::hint::black_box(b.software_version);
    }
    packets(rest);
}

fuzz_target!(|data: &[u8]| {
    let mut st = SshState::new();
    let mut live = true;
    for rec in records(data) {
        if live {
            for piece in rec.pieces() {
                if st.feed(rec.dir(), piece) != Verdict::NeedMore {
                    live = false;
                    break;
                }
            }
        }
        parsers(rec.data);
    }
    if let Some(ev) = st.event() {
        touch_json(ev);
    }
    std::hint::black_box(st.negotiated());
    std::hint::black_box(st.protocol_version());
    for d in [Direction::ToServer, Direction::ToClient] {
        std::hint::black_box(st.banner(d));
        std::hint::black_box(st.kexinit(d).map(|k| k.kex_algorithms.len()));
        std::hint::black_box(st.dropped_bytes(d));
    }
});
