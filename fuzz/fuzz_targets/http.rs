//! The HTTP/1.x dissector (`dissect::http`). Input: records (see
//! `src/lib.rs`), each a run of the TCP stream in its direction, fed to one
//! `HttpState` in pieces of `ctl >> 1` bytes. Then `event()` (serialised)
//! and `dropped_bytes()`.
//!
//! Each record also goes through the pure parsers: `check_request_prefix`,
//! `could_be_status_line`, `find_head_end`, `split_line`,
//! `parse_request_line` / `parse_status_line`, `headers`, `target_form`,
//! `absolute_authority`, `split_host_port` and `escape`.
#![no_main]

use gateward::dissect::Verdict;
use gateward::dissect::http::HttpState;
use gateward::dissect::http::parser::{
    absolute_authority, check_request_prefix, could_be_status_line, escape, find_head_end,
    headers, parse_request_line, parse_status_line, split_host_port, split_line, target_form,
};
use gateward_fuzz::{records, touch_json};
use libfuzzer_sys::fuzz_target;

fn parsers(data: &[u8], from: usize) {
    std::hint::black_box(check_request_prefix(data));
    std::hint::black_box(could_be_status_line(data));
    std::hint::black_box(find_head_end(data, from));
    let (line, rest) = split_line(data);
    if let Some(r) = parse_request_line(line) {
        std::hint::black_box(target_form(r.method, r.target));
        if let Some(a) = absolute_authority(r.target) {
            std::hint::black_box(split_host_port(a));
        }
        std::hint::black_box(split_host_port(r.target));
        std::hint::black_box(escape(r.target, 64));
    }
    if let Some(s) = parse_status_line(line) {
        std::hint::black_box((s.code, s.reason));
    }
    for h in headers(rest).take(128) {
        std::hint::black_box(escape(h.value, 512));
        if h.name.eq_ignore_ascii_case(b"host") {
            std::hint::black_box(split_host_port(h.value));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut st = HttpState::new();
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
        parsers(rec.data, usize::from(rec.ctl));
    }
    if let Some(ev) = st.event() {
        touch_json(ev);
    }
    std::hint::black_box(st.dropped_bytes());
});
