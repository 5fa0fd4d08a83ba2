//! The SOCKS4/4a/5 dissector (`dissect::socks`). Input: records (see
//! `src/lib.rs`), each a run of the TCP stream in its direction, fed to one
//! `SocksState` in pieces of `ctl >> 1` bytes; `tunnel_open()` is read after
//! every piece. Then `event()` (serialised).
//!
//! Each record also goes through every pure parser (`v5_greeting`,
//! `v5_method`, `v5_auth`, `v5_auth_reply`, `v5_request`, `v5_reply`,
//! `v4_request`, `v4_reply`), whatever its direction.
#![no_main]

use gateward::dissect::Verdict;
use gateward::dissect::socks::SocksState;
use gateward::dissect::socks::parser;
use gateward_fuzz::{records, touch_json};
use libfuzzer_sys::fuzz_target;

fn parsers(b: &[u8]) {
    std::hint::black_box(parser::v5_greeting(b).ok());
    std::hint::black_box(parser::v5_method(b).ok());
    std::hint::black_box(parser::v5_auth(b).ok());
    std::hint::black_box(parser::v5_auth_reply(b).ok());
    std::hint::black_box(parser::v5_request(b).ok());
    std::hint::black_box(parser::v5_reply(b).ok());
    std::hint::black_box(parser::v4_request(b).ok());
    std::hint::black_box(parser::v4_reply(b).ok());
}

fuzz_target!(|data: &[u8]| {
    let mut st = SocksState::new();
    let mut live = true;
    let mut opened = false;
    for rec in records(data) {
        if live {
            for piece in rec.pieces() {
                let v = st.feed(rec.dir(), piece);
                // Once open, a tunnel stays open.
                let open = st.tunnel_open();
                assert!(!opened || open, "tunnel_open() went back to false");
                opened = open;
                if v != Verdict::NeedMore {
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
    std::hint::black_box(st.tunnel_open());
});
