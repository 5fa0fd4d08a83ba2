//! The application-layer dissectors end to end: real captures through the
//! binary (`analyze --all-flows`), one flow at a time, matched by 5-tuple.
//!
//! Expected values are hard-coded, each with its source:
//! * `expected.jsonl`, `ja3.jsonl`, `hassh.jsonl`: the JA4 / JA3 / HASSH
//!   reference files of the FoxIO-LLC/ja4 conformance corpus (JA4 from
//!   FoxIO's reference outputs at commit 0e54bc83; JA3/JA3S and HASSH computed
//!   with tshark 4.0.17). The tests never read those files.
//! * certificate fields, HTTP, SOCKS and DNS values:
//!   `tshark -r <capture> -V` (tshark 4.0.17), as noted per test.
//! * JA4 of the nDPI captures, which have no FoxIO reference: recomputed from
//!   tshark's dissected ClientHello fields (cipher suites, extension types,
//!   supported_versions, signature_algorithms, ALPN, SNI) following
//!   FoxIO's `technical_details/JA4.md`, the same way the corpus recomputed
//!   its QUIC rows; their JA3/JA3S are tshark's `tls.handshake.ja3`/`ja3s`.
//!
//! Every capture runs with `-w 1` and `-w 4`; the two outputs must be the
//! same lines, and every assertion is checked on both.

mod common;

use common::*;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Runs `capture` with one and with four workers. Both runs must succeed,
/// decode every packet and write the same lines. Returns the records of each
/// run, labelled with the capture and the worker count (`tls12.pcap -w 4`):
/// the case that [`assert_fields!`] names when a field is wrong.
fn runs(capture: &str) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let mut first: Option<Vec<String>> = None;
    for workers in [1u16, 4] {
        let run = analyze(&[capture], workers, &[]);
        run.assert_ok();
        assert_eq!(run.stat("decode errors"), 0, "{capture}:\n{}", run.stderr);
        let lines = run.sorted_lines();
        match &first {
            None => first = Some(lines),
            Some(one) => assert_eq!(one, &lines, "{capture}: -w 1 and -w {workers} differ"),
        }
        out.push((format!("{capture} -w {workers}"), run.records()));
    }
    out
}

/// The one record of this 5-tuple, with `client` as its source: the
/// orientation is part of what is checked.
fn flow<'a>(recs: &'a [Value], proto: &str, client: (&str, u16), server: (&str, u16)) -> &'a Value {
    let f = one_flow(recs, proto, client, server);
    assert_eq!(
        (s(f, "src_ip"), port(f, "src_port")),
        client,
        "client side of {f}"
    );
    f
}

/// [`flow`] for TCP.
fn tcp<'a>(recs: &'a [Value], client: (&str, u16), server: (&str, u16)) -> &'a Value {
    flow(recs, "TCP", client, server)
}

/// [`flow`] for UDP.
fn udp<'a>(recs: &'a [Value], client: (&str, u16), server: (&str, u16)) -> &'a Value {
    flow(recs, "UDP", client, server)
}

// ---------------------------------------------------------------------------
// TLS over TCP
// ---------------------------------------------------------------------------

/// tls12.pcap: one ClientHello and nothing else. Without a ServerHello the
/// version is the client's highest offer (docs/tls.md), and there is no
/// JA3S and no certificate.
#[test]
fn tls_client_hello_alone() {
    for (case, recs) in runs("tls12.pcap") {
        let f = tcp(&recs, ("192.168.133.129", 36372), ("34.117.237.239", 443));
        check_tls12_client_hello(&case, f);
        assert_fields!(case, f, {
            "dest_port": 443,
        });
    }
}

/// The tls fields of tls12.pcap's ClientHello, also expected on port 8443.
fn check_tls12_client_hello(case: &str, f: &Value) {
    assert_fields!(case, f, {
        "app_proto": "tls",
        // expected.jsonl (tls12.pcap, stream 0)
        "tls.sni": "contile.services.mozilla.com",
        "tls.ja4": "t13d1715h2_5b57614c22b0_3d5424432f57",
        // ja3.jsonl (tls12.pcap, stream 0): ja3, ja3_full; ja3s is null there
        "tls.ja3.hash": "579ccef312d18482fc42e2b822ca2430",
        "tls.ja3.string": "771,4865-4867-4866-49195-49199-52393-52392-49196-49200-49162-49161-49171-49172-156-157-47-53,\
            0-23-65281-10-11-35-16-5-34-51-43-13-45-28-21,29-23-24-25-256-257,0",
        "tls.ja3s": null,
        // supported_versions offers 0x0304 first (tshark)
        "tls.version": "TLS 1.3",
        "tls.client_alpns": ["h2", "http/1.1"],
        "tls.subject": null,
    });
}

/// badcurveball.pcap: a TLS 1.3-capable client, a TLS 1.2 server that sends
/// its certificate chain in clear.
#[test]
fn tls12_handshake_with_certificate() {
    for (case, recs) in runs("badcurveball.pcap") {
        let f = tcp(&recs, ("172.130.128.76", 55318), ("54.226.182.138", 443));
        assert_fields!(case, f, {
            "app_proto": "tls",
            // expected.jsonl (badcurveball.pcap, stream 0)
            "tls.sni": "bad.curveballtest.com",
            "tls.ja4": "t13d1615h2_46e7e9700bed_45f260be83e2",
            // ja3.jsonl (badcurveball.pcap, stream 0)
            "tls.ja3.hash": "66918128f1b9b03303d77c6f2eefd128",
            "tls.ja3.string": "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53-10,\
                0-23-65281-10-11-35-16-5-13-18-51-45-43-27-21,29-23-24,0",
            "tls.ja3s.hash": "2d1eb5817ece335c24904f516ad5da12",
            "tls.ja3s.string": "771,49195,0-65281-11-35-16",
            // The ServerHello has no supported_versions: its version 0x0303 counts.
            "tls.version": "TLS 1.2",
            "tls.client_alpns": ["h2", "http/1.1"],
            "tls.server_alpns": ["http/1.1"],
            "tls.cipher_suite": 49195,
            // Leaf certificate, from `tshark -r badcurveball.pcap -Y
            // tls.handshake.certificate -V` (issuer/subject RDNSequence items in
            // order, validity utcTime); fingerprint = sha1 of the leaf DER that
            // tshark's `tls.handshake.certificate` field holds.
            "tls.subject": "C=US, O=SANS Internet Storm Center, CN=SANS ISC DShield Test",
            "tls.issuerdn": "C=HR, ST=Zagreb, O=INFIGO IS, CN=INFIGO",
            "tls.notbefore": "2018-03-24T07:15:42",
            "tls.notafter": "2020-03-23T07:15:42",
            "tls.serial": "5E:CB:7C:EE:8C:A2:06:BF:9E:C0:07:28:88:9A:D9:9F:43:62:CF:D9",
            "tls.fingerprint": "af:cc:00:61:95:f8:2b:59:cf:4a:d2:3b:34:d7:b8:a2:1a:b7:4d:af",
            "tls.self_signed": false,
        });
    }
}

/// ipv6.pcapng (already bundled): TLS 1.2 over IPv6 on BSD loopback framing.
#[test]
fn tls12_over_ipv6_with_certificate() {
    for (case, recs) in runs("ipv6.pcapng") {
        let f = tcp(
            &recs,
            ("2001:4998:ef83:14:8000::100d", 64034),
            ("2606:4700::6811:d209", 443),
        );
        assert_fields!(case, f, {
            "app_proto": "tls",
            // expected.jsonl (ipv6.pcapng, stream 0)
            "tls.sni": "www.cloudflare.com",
            "tls.ja4": "t12d4605h2_85626a9a5f7f_aaf95bb78ec9",
            // ja3.jsonl (ipv6.pcapng, stream 0)
            "tls.ja3.hash": "3faa4ad39f690c4ef1c3160caa375465",
            "tls.ja3s.hash": "7f76f3e952a1bc7d407366fafe1db7ed",
            "tls.ja3s.string": "771,52393,0-65281-11-16",
            "tls.version": "TLS 1.2",
            "tls.client_alpns": ["h2", "http/1.1"],
            "tls.server_alpns": ["h2"],
            // tshark -r ipv6.pcapng -Y tls.handshake.certificate -V
            "tls.issuerdn": "C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert ECC Extended Validation Server CA",
            "tls.notbefore": "2018-10-30T00:00:00",
            "tls.notafter": "2020-11-03T12:00:00",
            "tls.fingerprint": "6a:4c:b2:49:b7:1b:66:59:da:bb:96:01:15:fd:7a:01:bf:c9:96:8c",
        });
    }
}

/// tls-non-ascii-alpn.pcapng: the first ALPN value is the two bytes
/// 0xba 0xad. docs/tls.md ("JA4 choices", ALPN that is not alphanumeric):
/// gateward follows FoxIO's spec text, first hex digit of the first byte and
/// last hex digit of the last byte, so `bd`. FoxIO's implementations, and
/// so `ja4` in expected.jsonl, give `t13d151699_…`; expected.jsonl lists the
/// spec value under `ja4_alternatives`.
#[test]
fn tls_non_ascii_alpn_follows_the_spec_text() {
    for (case, recs) in runs("tls-non-ascii-alpn.pcapng") {
        let f = tcp(&recs, ("192.168.1.168", 50112), ("142.251.16.94", 443));
        assert_fields!(case, f, {
            "app_proto": "tls",
            // expected.jsonl (tls-non-ascii-alpn.pcapng): ja4_alternatives[0]
            "tls.ja4": "t13d1516bd_8daaf6152771_e5627efa2ab1",
            "tls.sni": "clientservices.googleapis.com",
            // ja3.jsonl (tls-non-ascii-alpn.pcapng, stream 0)
            "tls.ja3.hash": "1c258ebef8eee2dfa3df6d8d07285af9",
            "tls.ja3s.hash": "eb1d94daa7e0344597e756a1fb6e7054",
            "tls.ja3s.string": "771,4865,51-43",
            "tls.version": "TLS 1.3",
            // docs/tls.md: invalid bytes are written \xNN
            "tls.client_alpns": ["\\xba\\xad", "http/1.1"],
            // TLS 1.3 encrypts the certificate
            "tls.subject": null,
        });
    }
}

/// tls12-port8443.pcap (made by captures/make-port-moved.py): tls12.pcap with
/// the server port moved from 443 to 8443. TLS is found by content, so the
/// flow gets the same `tls` object as on port 443.
#[test]
fn tls_on_a_non_standard_port_is_found_by_content() {
    let on_443 = runs("tls12.pcap");
    for ((case, recs), (_, recs_443)) in runs("tls12-port8443.pcap").iter().zip(&on_443) {
        let f = tcp(recs, ("192.168.133.129", 36372), ("34.117.237.239", 8443));
        check_tls12_client_hello(case, f);
        let g = tcp(
            recs_443,
            ("192.168.133.129", 36372),
            ("34.117.237.239", 443),
        );
        assert_eq!(f["tls"], g["tls"], "{case}: port 8443 vs 443");
    }
}

// ---------------------------------------------------------------------------
// DTLS
// ---------------------------------------------------------------------------

/// dtls-udp.notest.cap: a DTLS 1.0 handshake on UDP 6000 -> 7000 (no
/// well-known port), with a self-signed certificate.
#[test]
fn dtls_handshake_fingerprints_and_certificate() {
    for (case, recs) in runs("dtls-udp.notest.cap") {
        let f = udp(&recs, ("192.168.178.20", 6000), ("188.40.206.23", 7000));
        // docs/events.md: app_proto is `dtls` for DTLS; the object is `tls`.
        assert_fields!(case, f, {
            "app_proto": "dtls",
            "tls.version": "DTLS 1.0",
            // No FoxIO reference for this capture (it is a `.notest` file): JA4
            // recomputed from tshark's dtls.handshake.* fields per JA4.md
            // (`d`, version 0xfeff = `d1`, no SNI, 44 ciphers, 2 extensions, no ALPN).
            "tls.ja4": "dd1i440200_49bcda3e7ebf_18d1e47e0978",
            // ja3.jsonl: the one DTLS row (dtls-udp.notest.cap, stream 0)
            "tls.ja3.hash": "1f12ed4be0b680eb539364fa1b55b8d4",
            "tls.ja3.string": "65279,49172-49162-49186-49185-57-56-136-135-49167-49157-53-132-49170-49160-49180-49179-\
                22-19-49165-49155-10-49171-49161-49183-49182-51-50-154-153-69-68-49166-49156-47-150-65-\
                21-18-9-20-17-8-6-255,35-15,,",
            "tls.ja3s.hash": "d45798bc098cd930de7eb2f5f866e994",
            "tls.ja3s.string": "65279,53,65281-35-15",
            "tls.sni": null,
            // tshark -r dtls-udp.notest.cap -Y dtls.handshake.certificate -V
            "tls.subject": "C=XX, ST=Some-State, O=Internet Widgits Pty Ltd",
            "tls.issuerdn": "C=XX, ST=Some-State, O=Internet Widgits Pty Ltd",
            "tls.notbefore": "2014-07-06T11:56:07",
            "tls.notafter": "2024-07-03T11:56:07",
            "tls.serial": "00:F1:96:5D:11:E3:FF:07:EE",
            "tls.fingerprint": "df:59:fa:ee:21:8a:ee:0b:99:b4:25:40:4a:78:e1:f9:16:20:9e:5c",
            "tls.self_signed": true,
        });
    }
}

// ---------------------------------------------------------------------------
// QUIC
// ---------------------------------------------------------------------------

/// quic-tls-handshake.pcapng: one QUIC v1 client Initial.
#[test]
fn quic_v1_client_initial() {
    for (case, recs) in runs("quic-tls-handshake.pcapng") {
        let f = udp(&recs, ("192.168.1.168", 59102), ("142.251.163.147", 443));
        assert_fields!(case, f, {
            "app_proto": "quic",
            "quic.version": "1",
            "quic.decrypted": true,
            // expected.jsonl (quic-tls-handshake.pcapng, stream 0)
            "quic.sni": "www.google.com",
            "quic.ja4": "q13d0310h3_55b375c5d22e_cd85d2d88918",
            // ja3.jsonl (quic-tls-handshake.pcapng, stream 0; ja3s null: no server packet)
            "quic.ja3.hash": "0cda1bd7f270e894ed5de2af2f06cb80",
            "quic.ja3.string": "771,4865-4866-4867,45-27-17513-13-43-0-10-57-16-51,29-23-24,",
            "quic.ja3s": null,
            "quic.client_alpns": ["h3"],
            "tls": null,
        });
    }
}

/// quic-29.pcap (nDPI): draft-29, a Retry, then a HelloRetryRequest in the
/// server's Initial (tshark: the first ServerHello's random is RFC 8446's
/// HRR value), so the client sends a second ClientHello.
#[test]
fn quic_draft29_with_retry_is_decrypted() {
    for (case, recs) in runs("quic-29.pcap") {
        let f = udp(&recs, ("10.9.0.1", 36588), ("10.9.0.2", 443));
        assert_fields!(case, f, {
            "app_proto": "quic",
            // tshark: quic.version 0xff00001d
            "quic.version": "ff00001d",
            "quic.decrypted": true,
            "quic.retry": true,
            "quic.hello_retry": true,
            "quic.decrypt_failures": null,
            // tshark -e tls.handshake.extensions_server_name
            "quic.sni": "localhost",
            // recomputed from tshark fields (JA4.md); ALPN "h3-29" gives `h9`
            "quic.ja4": "q13d0512h9_d55e91d5c3b2_cd318bf3b157",
            // tshark -e tls.handshake.ja3 / ja3s (frames 1 and 4)
            "quic.ja3.hash": "b3e43d74f4b790abca2f5fe7dd06e7cf",
            "quic.ja3s.hash": "475c9302dc42b2751db9edcac3b74891",
            "quic.ja3s.string": "771,4867,43-51",
            "quic.client_alpns": ["h3-29"],
        });
    }
}

/// quic_0RTT.pcap (nDPI, pcapng despite the name): a draft-28 handshake on
/// ::1 port 4443 with the server's Initial, and a v1 flow whose first client
/// packets are 0-RTT (long header type 1) before its Initial.
#[test]
fn quic_draft28_and_v1_starting_with_0rtt() {
    for (case, recs) in runs("quic_0RTT.pcap") {
        let f = udp(&recs, ("::1", 60459), ("::1", 4443));
        assert_fields!(case, f, {
            "app_proto": "quic",
            "quic.version": "ff00001c",
            "quic.decrypted": true,
            "quic.sni": "abcd",
            // Recomputed from tshark fields per JA4.md. supported_versions is
            // 0x0304, 0x7f1c, 0x7f1b, 0x7f1a: the highest value, 0x7f1c (TLS 1.3
            // draft 28), has no JA4 code, hence `00`. FoxIO's Rust also takes the
            // highest value and maps it to `00`.
            "quic.ja4": "q00d0310h2_55b375c5d22e_060ec1c6a056",
            "quic.ja3.hash": "a7b629a5bd67bfc25e2c78b3daa4c12f",
            "quic.ja3s.hash": "fcb2d4d0991292272fcb1e464eedfd43",
            "quic.client_alpns": ["h3-32"],
        });

        let f = udp(&recs, ("192.168.2.100", 51972), ("142.250.181.227", 443));
        assert_fields!(case, f, {
            "app_proto": "quic",
            // docs/quic.md: the version of the client's first long-header packet,
            // here a 0-RTT packet
            "quic.version": "1",
            "quic.decrypted": true,
            "quic.sni": "ssl.gstatic.com",
            "quic.ja4": "q13d0312h3_55b375c5d22e_73e2d9e6cde6",
            "quic.ja3.hash": "06b6b2a2cba0b7deeaaa6a3d8374d627",
            "quic.ja3s.hash": "2b0648ab686ee45e0e7c35fcfb0eea7e",
            "quic.ja3s.string": "771,4865,41-51-43",
        });
    }
}

/// doq.pcapng (nDPI): DNS over QUIC, draft-32, on UDP 784, without SNI.
#[test]
fn quic_draft32_dns_over_quic() {
    for (case, recs) in runs("doq.pcapng") {
        let f = udp(&recs, ("::1", 47826), ("::1", 784));
        assert_fields!(case, f, {
            "app_proto": "quic",
            "quic.version": "ff000020",
            "quic.decrypted": true,
            "quic.sni": null,
            // recomputed from tshark fields: no SNI (`i`), ALPN "doq-i00" (`d0`),
            // draft versions in supported_versions (`00`, as above)
            "quic.ja4": "q00i0307d0_55b375c5d22e_23ed935430f2",
            "quic.ja3.hash": "c0ce40fbb78cbf86a14e6a38b26d6ede",
            "quic.ja3s.hash": "f4febc55ea12b31ae17cfb7e614afda8",
            "quic.client_alpns": ["doq-i00"],
        });
    }
}

// ---------------------------------------------------------------------------
// TLS inside proxy tunnels
// ---------------------------------------------------------------------------

/// https-connect.pcap: `CONNECT ts01-b.cloudsink.net:443 HTTP/1.0` to a proxy
/// on 8080, `200`, then a TLS 1.2 handshake through the tunnel.
#[test]
fn tls_after_http_connect() {
    for (case, recs) in runs("https-connect.pcap") {
        let f = tcp(&recs, ("10.11.12.13", 54723), ("10.9.8.7", 8080));
        // The HTTP dissector confirmed the flow first; the TLS read through
        // the tunnel makes it `tls`, as Suricata's protocol change does.
        assert_fields!(case, f, {
            "app_proto": "tls",
            "app_proto_orig": "http",
            // tshark -Y http: request line, User-Agent, no Host header, 200
            "http.http_method": "CONNECT",
            "http.url": "ts01-b.cloudsink.net:443",
            "http.hostname": "ts01-b.cloudsink.net",
            "http.http_port": 443,
            "http.http_user_agent": "CrowdStrike Falcon Sensor",
            "http.protocol": "HTTP/1.0",
            "http.status": 200,
            "http.connect_target": "ts01-b.cloudsink.net:443",
            "http.connect_established": true,
            // The tunnelled handshake. expected.jsonl (https-connect.pcap, stream 0):
            // no SNI
            "tls.ja4": "t12i860500_e18388e7f3a3_a1e935682795",
            "tls.sni": null,
            // ja3.jsonl (https-connect.pcap, stream 0)
            "tls.ja3.hash": "b288289af2999820648eb3ca4d8304c5",
            "tls.ja3s.hash": "b7bd51222a09f3ad66a340710ae9c01a",
            "tls.ja3s.string": "771,49200,35-65281",
            "tls.version": "TLS 1.2",
            // tshark -r https-connect.pcap -Y tls.handshake.certificate -V
            "tls.subject": "C=US, ST=California, L=Irvine, O=CrowdStrike, Inc., CN=lfoup01-b.cloudsink.net",
            "tls.issuerdn": "C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert SHA2 High Assurance Server CA",
            "tls.notbefore": "2017-05-25T00:00:00",
            "tls.notafter": "2020-05-29T12:00:00",
            "tls.fingerprint": "1c:8a:39:c5:f7:18:dd:cb:6c:e0:da:9c:53:f9:c1:36:d2:37:15:07",
        });
    }
}

/// http_connect.pcap (nDPI): a browser CONNECTs to apache.org:443 through a
/// proxy (192.168.1.146:8080); the proxy resolves apache.org and opens its own
/// connection, relaying the browser's ClientHello. tshark gives the same
/// JA3 for both ClientHellos (frames 12 and 14) and the same JA3S (16, 24).
#[test]
fn tls_after_http_connect_and_on_the_proxy_upstream() {
    const JA4: &str = "t13d1813h2_e8a523a41297_f81080dfc557"; // recomputed, JA4.md
    const JA3: &str = "c834494f5948ae026d160656c93c8871"; // tshark
    const JA3S: &str = "f4febc55ea12b31ae17cfb7e614afda8"; // tshark
    for (case, recs) in runs("http_connect.pcap") {
        let f = tcp(&recs, ("192.168.1.103", 1714), ("192.168.1.146", 8080));
        assert_fields!(case, f, {
            "app_proto": "tls",
            "app_proto_orig": "http",
            // tshark -Y http (frames 4 and 11)
            "http.http_method": "CONNECT",
            "http.url": "apache.org:443",
            "http.hostname": "apache.org",
            "http.http_user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:92.0) Gecko/20100101 Firefox/92.0",
            "http.status": 200,
            "http.connect_established": true,
            "http.proxy_headers": ["proxy-connection"],
            "tls.sni": "apache.org",
            "tls.ja4": JA4,
            "tls.ja3.hash": JA3,
            "tls.ja3s.hash": JA3S,
            "tls.version": "TLS 1.3",
        });

        let up = tcp(&recs, ("192.168.1.146", 35968), ("151.101.2.132", 443));
        assert_fields!(case, up, {
            "app_proto": "tls",
            "tls.sni": "apache.org",
            "tls.ja4": JA4,
            "tls.ja3.hash": JA3,
            "tls.ja3s.hash": JA3S,
            "http": null,
        });
    }
}

/// socks-https-example.pcap: three HTTPS requests through a SOCKS proxy on
/// 1080: SOCKS4 to an address, SOCKS4a to a name, SOCKS5 to an address
/// (tshark -O socks). The same client and server every time.
#[test]
fn tls_after_socks4_socks4a_and_socks5() {
    for (case, recs) in runs("socks-https-example.pcap") {
        for (sport, version, target) in [
            (53554, 4, "93.184.216.119"),
            (53555, 4, "www.example.com"),
            (53556, 5, "93.184.216.119"),
        ] {
            let f = tcp(&recs, ("10.180.156.185", sport), ("10.180.156.249", 1080));
            assert_fields!(case, f, {
                "app_proto": "socks",
                "socks.version": version,
                "socks.command": "connect",
                "socks.target": target,
                "socks.port": 443,
                "socks.granted": true,
                // expected.jsonl (socks-https-example.pcap, streams 0, 2, 4)
                "tls.sni": "www.example.com",
                "tls.ja4": "t10d230100_6a57a6f57151_000000000000",
                // ja3.jsonl (same streams)
                "tls.ja3.hash": "06a92bf69b367389d2feb0d70501ddfe",
                "tls.ja3.string": "769,57-56-53-22-19-10-51-50-47-154-153-150-5-4-21-18-9-20-17-8-6-3-255,0,,",
                "tls.ja3s.hash": "280ca4511bfaa384b2e931c058e8816e",
                "tls.version": "TLSv1",
                // tshark -r socks-https-example.pcap -Y tls.handshake.certificate -V
                "tls.subject": "C=US, ST=California, L=Santa Monica, O=EdgeCast Networks, Inc., CN=gp1.wac.edgecastcdn.net",
                "tls.issuerdn": "C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert High Assurance CA-3",
                "tls.notbefore": "2011-10-03T00:00:00",
                "tls.notafter": "2014-12-10T12:00:00",
            });
        }
    }
}

/// socks.pcap (nDPI, pcapng despite the name): plain HTTP through SOCKS,
/// one SOCKS5 flow through a proxy on port 21477, three through one on 1080.
#[test]
fn socks_handshakes_without_tls() {
    for (case, recs) in runs("socks.pcap") {
        assert_eq!(recs.len(), 4);
        // tshark -O socks, frames 4-7: SOCKS5, no auth, CONNECT www.google.com:80
        let f = tcp(&recs, ("10.0.0.1", 1637), ("10.0.0.2", 21477));
        assert_fields!(case, f, {
            "app_proto": "socks",
            "socks.version": 5,
            "socks.target": "www.google.com",
            "socks.port": 80,
            "socks.auth_method": 0,
            "socks.granted": true,
            "tls": null,
        });
        for (sport, version, target) in [
            (53533, 4, "93.184.216.119"),
            (53534, 4, "www.example.com"),
            (53535, 5, "93.184.216.119"),
        ] {
            let f = tcp(&recs, ("10.180.156.185", sport), ("10.180.156.249", 1080));
            assert_fields!(case, f, {
                "app_proto": "socks",
                "socks.version": version,
                "socks.target": target,
                "socks.port": 80,
                "socks.granted": true,
            });
        }
    }
}

// ---------------------------------------------------------------------------
// SSH
// ---------------------------------------------------------------------------

/// One SSH flow's banners and HASSH values (hassh.jsonl).
struct Ssh {
    capture: &'static str,
    client: (&'static str, u16),
    server: (&'static str, u16),
    client_proto: &'static str,
    client_software: &'static str,
    server_proto: &'static str,
    server_software: &'static str,
    hassh: &'static str,
    hassh_string: &'static str,
    hassh_server: &'static str,
    hassh_server_string: &'static str,
}

/// hassh.jsonl rows: `ssh_protocol_client`/`_server` give the banners,
/// `hassh`/`hassh_algorithms` and `hassh_server`/`hassh_server_algorithms`
/// the fingerprints.
const SSH_FLOWS: &[Ssh] = &[
    Ssh {
        capture: "ssh2-malformed.pcap",
        client: ("10.0.0.1", 61672),
        server: ("10.0.0.2", 22),
        client_proto: "2.0",
        client_software: "OpenSSH_5.3",
        server_proto: "1.99",
        server_software: "OpenSSH_3.9p1",
        hassh: "21b457a327ce7a2d4fce5ef2c42400bd",
        hassh_string: "diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,\
            diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;aes128-ctr,aes192-ctr,aes256-ctr,\
            arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,\
            arcfour,rijndael-cbc@lysator.liu.se;hmac-md5,hmac-sha1,umac-64@openssh.com,hmac-ripemd160,\
            hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib@openssh.com,zlib",
        hassh_server: "f430cd6761697a6a658ee1d45ed22e49",
        hassh_server_string: "diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1,\
            diffie-hellman-group1-sha1;aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,arcfour,\
            aes192-cbc,aes256-cbc,rijndael-cbc@lysator.liu.se,aes128-ctr,aes192-ctr,aes256-ctr;\
            hmac-md5,hmac-sha1,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;\
            none,zlib",
    },
    // Inside GRE (already bundled)
    Ssh {
        capture: "gre-sample.pcap",
        client: ("66.59.111.190", 40264),
        server: ("172.28.2.3", 22),
        client_proto: "2.0",
        client_software: "OpenSSH_3.6.1p1",
        server_proto: "1.99",
        server_software: "OpenSSH_3.1p1",
        hassh: "5ef6678a6b060094834599ca16581b05",
        hassh_string: "diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1;blowfish-cbc,\
            aes128-cbc,3des-cbc,cast128-cbc,arcfour,aes192-cbc,aes256-cbc;hmac-md5,hmac-sha1,\
            hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;zlib,none",
        hassh_server: "6e3242d64766f4154c11858bbd654415",
        hassh_server_string: "diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1;\
            aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,arcfour,aes192-cbc,aes256-cbc;hmac-md5,\
            hmac-sha1,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib",
    },
    // Inside Geneve (already bundled); the server banner has a comment
    Ssh {
        capture: "tcpdump-geneve.pcap",
        client: ("30.0.0.2", 51225),
        server: ("30.0.0.1", 22),
        client_proto: "2.0",
        client_software: "OpenSSH_5.3",
        server_proto: "2.0",
        server_software: "OpenSSH_5.9p1",
        hassh: "21b457a327ce7a2d4fce5ef2c42400bd",
        hassh_string: "diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,\
            diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;aes128-ctr,aes192-ctr,aes256-ctr,\
            arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,\
            arcfour,rijndael-cbc@lysator.liu.se;hmac-md5,hmac-sha1,umac-64@openssh.com,hmac-ripemd160,\
            hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib@openssh.com,zlib",
        hassh_server: "ce3c327f37ea2ec21f317fbc3fd1ea43",
        hassh_server_string: "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,\
            diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,\
            diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;aes128-ctr,aes192-ctr,aes256-ctr,\
            arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,\
            arcfour,rijndael-cbc@lysator.liu.se;hmac-md5,hmac-sha1,umac-64@openssh.com,hmac-sha2-256,\
            hmac-sha2-256-96,hmac-sha2-512,hmac-sha2-512-96,hmac-ripemd160,hmac-ripemd160@openssh.com,\
            hmac-sha1-96,hmac-md5-96;none,zlib@openssh.com",
    },
];

#[test]
fn ssh_banners_and_hassh() {
    for x in SSH_FLOWS {
        for (case, recs) in runs(x.capture) {
            let f = tcp(&recs, x.client, x.server);
            assert_fields!(case, f, {
                "app_proto": "ssh",
                "ssh.client.proto_version": x.client_proto,
                "ssh.client.software_version": x.client_software,
                "ssh.server.proto_version": x.server_proto,
                "ssh.server.software_version": x.server_software,
                "ssh.client.hassh.hash": x.hassh,
                "ssh.client.hassh.string": x.hassh_string,
                "ssh.server.hassh.hash": x.hassh_server,
                "ssh.server.hassh.string": x.hassh_server_string,
            });
        }
    }
}

/// hassh.jsonl: the Geneve server banner is `SSH-2.0-OpenSSH_5.9p1
/// Debian-5ubuntu1`; docs/ssh.md puts the text after the first space in
/// `comments`.
#[test]
fn ssh_banner_comments() {
    for (case, recs) in runs("tcpdump-geneve.pcap") {
        let f = tcp(&recs, ("30.0.0.2", 51225), ("30.0.0.1", 22));
        assert_fields!(case, f, {
            "ssh.server.comments": "Debian-5ubuntu1",
            "ssh.client.comments": null,
        });
    }
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

/// http.pcapng (already bundled): an origin-form GET. Values from
/// `tshark -r http.pcapng -Y http -T fields -e http.request.method -e
/// http.request.uri -e http.host -e http.user_agent -e http.response.code
/// -e http.content_type -e http.content_length_header`.
#[test]
fn http_origin_form_request_and_response() {
    for (case, recs) in runs("http.pcapng") {
        let f = tcp(&recs, ("192.168.1.128", 42170), ("216.58.208.142", 80));
        assert_fields!(case, f, {
            "app_proto": "http",
            "http.http_method": "GET",
            "http.url": "/",
            "http.hostname": "google.com",
            "http.http_user_agent": "curl/7.68.0",
            "http.protocol": "HTTP/1.1",
            "http.status": 301,
            "http.http_content_type": "text/html; charset=UTF-8",
            "http.length": 219,
            "http.uri_form": "origin",
            "http.proxy_headers": null,
        });
    }
}

/// http-proxy.pcapng (nDPI): an absolute-form GET to a forward proxy on 8080
/// (same tshark fields as above).
#[test]
fn http_absolute_form_request_to_a_proxy() {
    for (case, recs) in runs("http-proxy.pcapng") {
        let f = tcp(&recs, ("192.168.1.103", 1241), ("192.168.1.146", 8080));
        assert_fields!(case, f, {
            "app_proto": "http",
            "http.http_method": "GET",
            "http.url": "http://http.com/",
            "http.hostname": "http.com",
            "http.http_user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:91.0) Gecko/20100101 Firefox/91.0",
            "http.status": 200,
            "http.http_content_type": "text/html; charset=UTF-8",
            "http.length": 268,
            "http.uri_form": "absolute",
            "tls": null,
        });
    }
}

// ---------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------

/// http_connect.pcap: the proxy resolves apache.org (tshark frames 6-7:
/// flags 0x8180, A 151.101.2.132, TTL 842), then connects to that address,
/// and that later flow carries the name (`dns_name`).
#[test]
fn dns_answer_names_a_later_flow() {
    for (case, recs) in runs("http_connect.pcap") {
        let d = udp(&recs, ("192.168.1.146", 47767), ("192.168.1.2", 53));
        assert_fields!(case, d, {
            "app_proto": "dns",
            "dns.type": "response",
            "dns.id": 0xf5b7,
            "dns.flags": "8180",
            "dns.rcode": "NOERROR",
            "dns.request_seen": true,
            "dns.queries": [{"rrname": "apache.org", "rrtype": "A"}],
            "dns.answers": [
                {"rrname": "apache.org", "rrtype": "A", "ttl": 842, "rdata": "151.101.2.132"}
            ],
            "dns_name": null,
        });

        let later = tcp(&recs, ("192.168.1.146", 35968), ("151.101.2.132", 443));
        assert_fields!(case, later, {
            "dns_name": "apache.org",
        });
        // The browser's flow to the proxy was not resolved in the capture.
        let proxied = tcp(&recs, ("192.168.1.103", 1714), ("192.168.1.146", 8080));
        assert_fields!(case, proxied, {
            "dns_name": null,
        });
    }
}

/// dns.pcap (already bundled): tshark -r dns.pcap -T fields -e dns.flags -e
/// dns.qry.type -e dns.a -e dns.resp.ttl.
#[test]
fn dns_queries_answers_and_unanswered_responses() {
    for (case, recs) in runs("dns.pcap") {
        // Frames 4-5 (QinQ): A e7.whatsapp.net, eight answers, TTL 491.
        let f = udp(&recs, ("82.178.113.245", 47255), ("82.178.158.181", 53));
        assert_fields!(case, f, {
            "app_proto": "dns",
            "dns.rcode": "NOERROR",
            "dns.queries.0.rrname": "e7.whatsapp.net",
            "dns.queries.0.rrtype": "A",
        });
        let want = [
            "169.45.219.235",
            "169.47.40.142",
            "169.45.248.121",
            "108.168.176.234",
            "169.45.248.189",
            "169.45.248.180",
            "169.53.81.79",
            "169.45.219.232",
        ];
        let answers = field(f, "dns.answers").as_array().unwrap();
        assert_eq!(answers.len(), want.len(), "{f}");
        for (a, rdata) in answers.iter().zip(want) {
            assert_eq!(
                a,
                &serde_json::json!({"rrname": "e7.whatsapp.net", "rrtype": "A", "ttl": 491, "rdata": rdata})
            );
        }
        // Frames 2-3: AAAA www.example.com, query and response, no answer record.
        let found = find_flows(
            &recs,
            "UDP",
            ("192.168.170.8", 32795),
            ("192.168.170.20", 53),
        );
        let asked = found
            .iter()
            .find(|r| r["src_port"] == 32795)
            .expect("the query's flow");
        assert_fields!(case, asked, {
            "dns.queries.0.rrname": "www.example.com",
            "dns.queries.0.rrtype": "AAAA",
            "dns.request_seen": true,
            "dns.answers": null,
        });
    }
}

/// dtls-udp.notest.cap, frames 6-7: `NS <Root>`, answered with 13 NS
/// records (TTL 518400) and an RRSIG, authoritative (flags 0x8500).
#[test]
fn dns_root_names_and_records_without_rdata() {
    for (case, recs) in runs("dtls-udp.notest.cap") {
        let f = udp(&recs, ("192.168.178.20", 60170), ("193.0.14.129", 53));
        assert_fields!(case, f, {
            "app_proto": "dns",
            "dns.flags": "8500",
            "dns.aa": true,
            "dns.rcode": "NOERROR",
            "dns.queries.0.rrname": "<root>",
            "dns.queries.0.rrtype": "NS",
        });
        let answers = field(f, "dns.answers").as_array().unwrap();
        assert_eq!(answers.len(), 14, "{f}");
        for (i, a) in answers[..13].iter().enumerate() {
            let ns = format!("{}.root-servers.net", char::from(b'a' + i as u8));
            assert_eq!(
                a,
                &serde_json::json!({"rrname": "<root>", "rrtype": "NS", "ttl": 518400, "rdata": ns})
            );
        }
        // docs/dns.md: no rdata for types other than A, AAAA, CNAME, NS, PTR
        assert_eq!(
            answers[13],
            serde_json::json!({"rrname": "<root>", "rrtype": "RRSIG", "ttl": 518400})
        );
    }
}

/// 6in4tunnel.pcap (already bundled): inside the 6in4 tunnel, a DNS server
/// answers `AAAA star.c10r.facebook.com` with 2a03:2880:1010:6f03:face:b00c:0:2
/// (TTL 60) at 16:55:00.826; 0.1 s later a TLS flow, also inside the tunnel,
/// opens to that address. docs/events.md: `dns_name` comes from a cache "fed
/// by every UDP DNS response".
#[test]
fn dns_answer_inside_a_tunnel_names_a_later_inner_flow() {
    for (case, recs) in runs("6in4tunnel.pcap") {
        let d = udp(
            &recs,
            ("2001:470:1f16:13f::2", 53959),
            ("2a03:2880:fffe:b:face:b00c:0:99", 53),
        );
        assert_fields!(case, d, {
            "dns.answers.0.rdata": "2a03:2880:1010:6f03:face:b00c:0:2",
        });
        let f = tcp(
            &recs,
            ("2001:470:1f17:13f:3e97:eff:fe73:4dec", 53234),
            ("2a03:2880:1010:6f03:face:b00c:0:2", 443),
        );
        assert_fields!(case, f, {
            "tls.sni": "www.facebook.com",
            "dns_name": "star.c10r.facebook.com",
        });
    }
}

// ---------------------------------------------------------------------------
// Worker count
// ---------------------------------------------------------------------------

/// All the new captures in one run: `-w 1` and `-w 4` write the same lines.
/// `runs` checks each capture alone; here the flows of every file share the
/// workers and the DNS-name cache.
#[test]
fn all_dissector_captures_together_do_not_depend_on_worker_count() {
    const ALL: &[&str] = &[
        "tls12.pcap",
        "tls12-port8443.pcap",
        "badcurveball.pcap",
        "tls-non-ascii-alpn.pcapng",
        "dtls-udp.notest.cap",
        "quic-tls-handshake.pcapng",
        "quic-29.pcap",
        "quic_0RTT.pcap",
        "doq.pcapng",
        "https-connect.pcap",
        "http_connect.pcap",
        "socks-https-example.pcap",
        "socks.pcap",
        "ssh2-malformed.pcap",
        "http-proxy.pcapng",
    ];
    let one = analyze(ALL, 1, &[]);
    one.assert_ok();
    let four = analyze(ALL, 4, &[]);
    four.assert_ok();
    assert_eq!(one.sorted_lines(), four.sorted_lines());
    let recs = one.records();
    let with_app = recs.iter().filter(|r| r.get("app_proto").is_some()).count();
    // Every flow but doq.pcapng's ICMPv6 errors has an application protocol.
    assert_eq!(with_app, recs.len() - 1, "{recs:#?}");
}
