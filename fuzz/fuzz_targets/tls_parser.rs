//! The pure TLS parsers (`dissect::tls::parser`), fingerprints
//! (`dissect::tls::fingerprint`) and certificate reader
//! (`dissect::tls::cert`), without the state machine. Input:
//! `[selector: u8]` then the bytes handed to one entry point:
//!
//! | `selector % 8` | entry point |
//! |---|---|
//! | 0 | TLS records (`parse_tls_record` loop), handshake messages inside handshake records (`parse_handshake` loop), each message as below |
//! | 1 | DTLS records (`parse_dtls_record` loop), handshake fragments (`parse_dtls_handshake` loop), complete ones as below |
//! | 2 | a ClientHello body (`ClientHello::parse`, TLS layout) |
//! | 3 | a ClientHello body (DTLS layout, with cookie) |
//! | 4 | a ServerHello body (`ServerHello::parse`) |
//! | 5 | a Certificate message body (`leaf_certificate`, both layouts) then `CertInfo::from_der` |
//! | 6 | raw DER for `CertInfo::from_der` |
//! | 7 | handshake messages (`parse_handshake` loop) as QUIC CRYPTO delivers them |
//!
//! Every hello that parses is fingerprinted with `ja3` / `ja3s` / `ja4` /
//! `ja4_original` (all three transports) and all its accessors are iterated.
#![no_main]

use gateward::dissect::tls::cert::{CertInfo, format_unix_time};
use gateward::dissect::tls::event::{escape_bytes, version_name};
use gateward::dissect::tls::fingerprint::{
    self, Transport, client_max_version, is_grease, ja4_alpn_chars, ja4_version_code,
};
use gateward::dissect::tls::parser::{
    self, AlpnList, ClientHello, Extensions, HS_CERTIFICATE, HS_CLIENT_HELLO, HS_SERVER_HELLO,
    ServerHello, U16List,
};
use libfuzzer_sys::fuzz_target;

fn client_hello(body: &[u8], dtls: bool) {
    let Ok(ch) = ClientHello::parse(body, dtls) else {
        return;
    };
    std::hint::black_box(ch.cipher_suites().filter(|c| is_grease(*c)).count());
    for e in ch.extensions() {
        std::hint::black_box((e.ext_type, e.data.len()));
    }
    std::hint::black_box(ch.extension(0xff01));
    if let Some(sni) = ch.sni() {
        std::hint::black_box(escape_bytes(sni));
    }
    std::hint::black_box(ch.alpn().count());
    std::hint::black_box(ja4_alpn_chars(ch.alpn().next()));
    std::hint::black_box(ch.supported_versions().map(|l| l.count()));
    std::hint::black_box(ch.supported_groups().map(|l| l.count()));
    std::hint::black_box(ch.ec_point_formats());
    std::hint::black_box(ch.signature_algorithms().map(|l| l.count()));
    let max = client_max_version(&ch);
    std::hint::black_box((ja4_version_code(max), version_name(Some(max))));
    std::hint::black_box(fingerprint::ja3(&ch));
    for t in [Transport::Tcp, Transport::Quic, Transport::Dtls] {
        std::hint::black_box(fingerprint::ja4(&ch, t));
        std::hint::black_box(fingerprint::ja4_original(&ch, t));
    }
}

fn server_hello(body: &[u8]) {
    let Ok(sh) = ServerHello::parse(body) else {
        return;
    };
    std::hint::black_box(sh.extensions().count());
    std::hint::black_box((sh.is_hello_retry_request(), sh.selected_version()));
    std::hint::black_box(sh.alpn().count());
    std::hint::black_box(version_name(sh.selected_version().or(Some(sh.version))));
    std::hint::black_box(fingerprint::ja3s(&sh));
}

fn certificate(body: &[u8]) {
    for tls13 in [false, true] {
        if let Some(der) = parser::leaf_certificate(body, tls13) {
            std::hint::black_box(CertInfo::from_der(der));
        }
    }
}

fn handshake_message(msg_type: u8, body: &[u8], dtls: bool) {
    match msg_type {
        HS_CLIENT_HELLO => client_hello(body, dtls),
        HS_SERVER_HELLO => server_hello(body),
        HS_CERTIFICATE => certificate(body),
        _ => {}
    }
}

fn handshakes(mut data: &[u8], dtls: bool) {
    let _ = parser::handshake_total_len(data);
    while let Ok((hs, rest)) = parser::parse_handshake(data) {
        handshake_message(hs.msg_type, hs.body, dtls);
        if rest.len() == data.len() {
            break;
        }
        data = rest;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 8 {
        0 => {
            let _ = parser::tls_record_total_len(rest);
            let mut d = rest;
            while let Ok((rec, next)) = parser::parse_tls_record(d) {
                std::hint::black_box((rec.version, rec.content_type));
                if rec.content_type == parser::CT_HANDSHAKE {
                    handshakes(rec.fragment, false);
                }
                if next.len() == d.len() {
                    break;
                }
                d = next;
            }
        }
        1 => {
            let mut d = rest;
            while let Ok((rec, next)) = parser::parse_dtls_record(d) {
                std::hint::black_box((rec.epoch, rec.sequence));
                if rec.content_type == parser::CT_HANDSHAKE && rec.epoch == 0 {
                    let mut f = rec.fragment;
                    while let Ok((hs, more)) = parser::parse_dtls_handshake(f) {
                        std::hint::black_box((hs.message_seq, hs.length));
                        if hs.is_complete() {
                            handshake_message(hs.msg_type, hs.fragment, true);
                        }
                        if more.len() == f.len() {
                            break;
                        }
                        f = more;
                    }
                }
                if next.len() == d.len() {
                    break;
                }
                d = next;
            }
        }
        2 => client_hello(rest, false),
        3 => client_hello(rest, true),
        4 => server_hello(rest),
        5 => certificate(rest),
        6 => {
            if let Some(c) = CertInfo::from_der(rest) {
                std::hint::black_box((format_unix_time(c.notbefore_unix), format_unix_time(c.notafter_unix)));
            }
            // The small helpers, on whatever the bytes say.
            if let Some(b) = rest.get(..8) {
                let ts = i64::from_le_bytes(b.try_into().unwrap_or_default());
                std::hint::black_box(format_unix_time(ts));
            }
            std::hint::black_box(escape_bytes(rest));
            std::hint::black_box(U16List::new(rest).count());
            std::hint::black_box(Extensions::new(rest).count());
            std::hint::black_box(AlpnList::from_extension(Some(rest)).count());
        }
        _ => handshakes(rest, false),
    }
});
