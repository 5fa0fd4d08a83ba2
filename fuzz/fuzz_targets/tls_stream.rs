//! The TLS dissector state machine (`dissect::tls::TlsState`) in its three
//! modes. Input: `[mode: u8]` then records (see `src/lib.rs`):
//!
//! * `mode % 3 == 0`: TLS over TCP (`TlsState::new`): each record is a run of
//!   the stream in its direction, fed in pieces of `ctl >> 1` bytes.
//! * `mode % 3 == 1`: DTLS (`TlsState::new_dtls`): each record is one whole
//!   UDP datagram.
//! * `mode % 3 == 2`: QUIC (`TlsState::new_quic`): each record is a run of
//!   CRYPTO-stream handshake bytes, fed in pieces with `feed_handshake`.
//!
//! Afterwards every accessor is read: `event()`, `retry_event()`, `facts()`
//! (each field), `verdict()`, and the events are serialised to JSON.
#![no_main]

use gateward::dissect::Verdict;
use gateward::dissect::tls::{TlsFacts, TlsState};
use gateward_fuzz::{records, touch_json};
use libfuzzer_sys::fuzz_target;

fn read_facts(f: &TlsFacts) {
    let _ = f.version();
    if let Some(ch) = f.client_hello() {
        std::hint::black_box((&ch.ja3().hash, &ch.ja4().ja4, &ch.sni, ch.max_version));
    }
    for ch in &f.client_hellos {
        std::hint::black_box((ch.cipher_suites.len(), ch.extensions.len(), ch.alpn.len()));
    }
    if let Some(sh) = &f.server_hello {
        std::hint::black_box((sh.negotiated_version(), &sh.ja3s().string));
    }
    if let Some(c) = &f.cert {
        std::hint::black_box((&c.subject, &c.notafter, c.notbefore_unix, c.self_signed));
    }
    std::hint::black_box((f.client_hello_count, f.hello_retry_request, f.alert_seen));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut st = match mode % 3 {
        0 => TlsState::new(),
        1 => TlsState::new_dtls(),
        _ => TlsState::new_quic(),
    };
    'outer: for rec in records(rest) {
        let dir = rec.dir();
        if mode % 3 == 1 {
            // DTLS: one call per datagram, even an empty one.
            if st.feed(dir, rec.data) != Verdict::NeedMore {
                break;
            }
            continue;
        }
        for piece in rec.pieces() {
            let v = if mode % 3 == 0 {
                st.feed(dir, piece)
            } else {
                st.feed_handshake(dir, piece)
            };
            if v != Verdict::NeedMore {
                break 'outer;
            }
        }
    }
    // Once decided, more input must be ignored without panicking.
    let _ = st.feed(gateward::dissect::Direction::ToClient, &[0x16, 0x03, 0x03, 0x00, 0x01, 0x02]);
    if let Some(ev) = st.event() {
        touch_json(ev);
    }
    if let Some(ev) = st.retry_event() {
        touch_json(ev);
    }
    if let Some(f) = st.facts() {
        read_facts(f);
    }
    std::hint::black_box((st.verdict(), st.dropped_bytes));
});
