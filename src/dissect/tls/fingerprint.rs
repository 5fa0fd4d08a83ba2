//! Client and server hello fingerprints: JA3 / JA3S (salesforce, BSD-3-Clause)
//! and JA4 with its raw and original-order forms (FoxIO, BSD-3-Clause,
//! `technical_details/JA4.md`). JA4S and the other JA4+ methods are under the
//! FoxIO License 1.1 and are deliberately NOT implemented here.
//!
//! These functions run at most once per hello, so they allocate their output
//! strings freely. They read a hello through [`HelloFields`]: the borrowed
//! parse, or the owned facts a flow keeps (so a flow's fingerprints are
//! computed only when an event or a detector first asks for them).

use md5::{Digest as _, Md5};

use super::parser::{ClientHello, EXT_ALPN, EXT_SERVER_NAME, EXT_SUPPORTED_VERSIONS, ServerHello};

/// True for the 16 reserved GREASE values `0x?a?a` (RFC 8701 §2), which
/// clients insert at random and every fingerprint must ignore to be stable.
pub fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// What JA3 and JA4 read of a ClientHello. An absent extension reads as an
/// empty list (both fingerprints write it as empty).
pub trait HelloFields {
    /// The `legacy_version` field.
    fn legacy_version(&self) -> u16;
    /// The JA4 version: highest non-GREASE supported_versions value, else
    /// `legacy_version` ([`client_max_version`]).
    fn max_version(&self) -> u16;
    /// Cipher suites, wire order, GREASE included.
    fn cipher_suites(&self) -> impl Iterator<Item = u16> + '_;
    /// Extension types, wire order, GREASE included.
    fn extension_types(&self) -> impl Iterator<Item = u16> + '_;
    /// supported_groups values, wire order.
    fn supported_groups(&self) -> impl Iterator<Item = u16> + '_;
    /// ec_point_formats values.
    fn ec_point_formats(&self) -> &[u8];
    /// signature_algorithms values, wire order.
    fn signature_algorithms(&self) -> impl Iterator<Item = u16> + '_;
    /// The first ALPN protocol name.
    fn first_alpn(&self) -> Option<&[u8]>;
}

impl HelloFields for ClientHello<'_> {
    fn legacy_version(&self) -> u16 {
        self.legacy_version
    }
    fn max_version(&self) -> u16 {
        client_max_version(self)
    }
    fn cipher_suites(&self) -> impl Iterator<Item = u16> + '_ {
        ClientHello::cipher_suites(self)
    }
    fn extension_types(&self) -> impl Iterator<Item = u16> + '_ {
        self.extensions().map(|e| e.ext_type)
    }
    fn supported_groups(&self) -> impl Iterator<Item = u16> + '_ {
        ClientHello::supported_groups(self).into_iter().flatten()
    }
    fn ec_point_formats(&self) -> &[u8] {
        ClientHello::ec_point_formats(self).unwrap_or_default()
    }
    fn signature_algorithms(&self) -> impl Iterator<Item = u16> + '_ {
        ClientHello::signature_algorithms(self)
            .into_iter()
            .flatten()
    }
    fn first_alpn(&self) -> Option<&[u8]> {
        self.alpn().next()
    }
}

/// The transport a hello travelled on; it is the first character of JA4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    /// TLS over TCP (`t`).
    #[default]
    Tcp,
    /// TLS inside QUIC CRYPTO frames (`q`).
    Quic,
    /// DTLS over UDP (`d`).
    Dtls,
}

impl Transport {
    fn ja4_char(self) -> char {
        match self {
            Transport::Tcp => 't',
            Transport::Quic => 'q',
            Transport::Dtls => 'd',
        }
    }
}

/// A JA3 or JA3S fingerprint: the MD5 and the string it hashes (both are
/// logged, as Suricata does, so analysts can see what differs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ja3 {
    /// Lower-case hex MD5 of `string`.
    pub hash: String,
    /// The decimal, comma/dash separated JA3(S) input string.
    pub string: String,
}

impl Ja3 {
    fn from_string(string: String) -> Self {
        let digest = Md5::digest(string.as_bytes());
        Ja3 {
            hash: hex_lower(&digest),
            string,
        }
    }
}

/// The JA4 fingerprint of one ClientHello and its debugging forms.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ja4 {
    /// `a_b_c`, sorted lists hashed: the value to log and match.
    pub ja4: String,
    /// Raw (unhashed) sorted form: shows which cipher/extension differs.
    pub ja4_r: String,
}

/// JA4's original-order forms, computed only on request (they are not
/// logged, and hashing them doubled the cost of every handshake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ja4Original {
    /// Original (wire) order, SNI and ALPN kept, hashed.
    pub ja4_o: String,
    /// Raw original-order form.
    pub ja4_ro: String,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex, table-driven: fingerprints are computed for every
/// handshake, and `fmt` machinery dominated their cost.
fn hex_lower(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(HEX[usize::from(x >> 4)]));
        s.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    s
}

/// Appends `v` in decimal.
fn push_dec(s: &mut String, mut v: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &c in &buf[i..] {
        s.push(char::from(c));
    }
}

/// Appends `v` as 4 lower-case hex digits.
fn push_hex4(s: &mut String, v: u16) {
    for shift in [12u16, 8, 4, 0] {
        s.push(char::from(HEX[usize::from((v >> shift) & 0x0f)]));
    }
}

fn join_dec<I: IntoIterator<Item = u32>>(it: I) -> String {
    let mut s = String::new();
    for (i, v) in it.into_iter().enumerate() {
        if i > 0 {
            s.push('-');
        }
        push_dec(&mut s, v);
    }
    s
}

/// JA3 of a ClientHello: `SSLVersion,Ciphers,Extensions,EllipticCurves,
/// EllipticCurvePointFormats` with GREASE removed. SSLVersion is the
/// hello's `legacy_version` (not supported_versions), as tshark and the
/// salesforce reference do, so TLS 1.3 clients report 771.
pub fn ja3(ch: &impl HelloFields) -> Ja3 {
    let ciphers = join_dec(ch.cipher_suites().filter(|&c| !is_grease(c)).map(u32::from));
    let exts = join_dec(
        ch.extension_types()
            .filter(|&t| !is_grease(t))
            .map(u32::from),
    );
    let curves = join_dec(
        ch.supported_groups()
            .filter(|&c| !is_grease(c))
            .map(u32::from),
    );
    let formats = join_dec(ch.ec_point_formats().iter().map(|&b| u32::from(b)));
    Ja3::from_string(format!(
        "{},{ciphers},{exts},{curves},{formats}",
        ch.legacy_version()
    ))
}

/// JA3S of a ServerHello: `SSLVersion,Cipher,Extensions` (GREASE removed).
pub fn ja3s(sh: &ServerHello<'_>) -> Ja3 {
    ja3s_of(
        sh.version,
        sh.cipher_suite,
        sh.extensions().map(|e| e.ext_type),
    )
}

/// JA3S from the ServerHello's fields: its version field, the chosen cipher
/// suite and the extension types in wire order (GREASE removed here).
pub fn ja3s_of(version: u16, cipher_suite: u16, extensions: impl Iterator<Item = u16>) -> Ja3 {
    let exts = join_dec(extensions.filter(|&t| !is_grease(t)).map(u32::from));
    Ja3::from_string(format!("{version},{cipher_suite},{exts}"))
}

/// Orders versions so that "newer" compares greater, DTLS included (DTLS
/// code points count downwards: 0xfeff 1.0, 0xfefd 1.2, 0xfefc 1.3).
fn version_rank(v: u16) -> u32 {
    if v >> 8 == 0xfe {
        0x1_0000 - u32::from(v)
    } else {
        u32::from(v)
    }
}

/// JA4's two-character version code (JA4.md "TLS and DTLS Version").
pub fn ja4_version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The version JA4 uses: the highest non-GREASE supported_versions value,
/// else `legacy_version`. Exposed so detectors see the same value.
pub fn client_max_version(ch: &ClientHello<'_>) -> u16 {
    ch.supported_versions()
        .and_then(|l| {
            l.filter(|&v| !is_grease(v))
                .max_by_key(|&v| version_rank(v))
        })
        .unwrap_or(ch.legacy_version)
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The two ALPN characters of JA4 part a, from the first ALPN value.
///
/// Choice for non-alphanumeric bytes: we follow the **spec text** of
/// `technical_details/JA4.md` (since August 2024): when the first or the last
/// byte is not `[0-9A-Za-z]`, print the first hex digit of the first byte and
/// the last hex digit of the last byte (`0xba 0xad` gives `bd`). FoxIO's Rust
/// and Python reference implementations print `99` for that capture
/// (tls-non-ascii-alpn.pcapng); we prefer the normative text because it is
/// the published definition, it keeps distinct values distinct, and a
/// fingerprint that depends on an implementation quirk could change under
/// us when FoxIO fixes it. Non-ASCII ALPN values essentially never occur in
/// legitimate traffic, so database matching is not affected in practice.
pub fn ja4_alpn_chars(first: Option<&[u8]>) -> [char; 2] {
    let Some(v) = first else { return ['0', '0'] };
    let (Some(&f), Some(&l)) = (v.first(), v.last()) else {
        return ['0', '0'];
    };
    if is_alnum(f) && is_alnum(l) {
        [char::from(f), char::from(l)]
    } else {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        [
            char::from(HEX[usize::from(f >> 4)]),
            char::from(HEX[usize::from(l & 0x0f)]),
        ]
    }
}

fn hex4_list(v: &[u16]) -> String {
    let mut s = String::with_capacity(v.len() * 5);
    for (i, &x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_hex4(&mut s, x);
    }
    s
}

fn sha12(s: &str) -> String {
    // ring's SHA-256 (assembly with the CPU's vector units): the same
    // digest in well under half the instructions of the portable one.
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    hex_lower(&d.as_ref()[..6])
}

/// The lists JA4 is computed from (GREASE removed), in wire order.
struct Ja4Lists {
    a: String,
    ciphers: Vec<u16>,
    exts: Vec<u16>,
    sigs: Vec<u16>,
}

fn ja4_lists(ch: &impl HelloFields, transport: Transport) -> Ja4Lists {
    let ciphers: Vec<u16> = ch.cipher_suites().filter(|&c| !is_grease(c)).collect();
    let exts: Vec<u16> = ch.extension_types().filter(|&t| !is_grease(t)).collect();
    let sigs: Vec<u16> = ch
        .signature_algorithms()
        .filter(|&s| !is_grease(s))
        .collect();
    let has_sni = exts.contains(&EXT_SERVER_NAME);
    let alpn = ja4_alpn_chars(ch.first_alpn());
    let version = if exts.contains(&EXT_SUPPORTED_VERSIONS) {
        ch.max_version()
    } else {
        ch.legacy_version()
    };
    let mut a = String::with_capacity(10);
    a.push(transport.ja4_char());
    a.push_str(ja4_version_code(version));
    a.push(if has_sni { 'd' } else { 'i' });
    for n in [ciphers.len().min(99), exts.len().min(99)] {
        a.push(char::from(b'0' + (n / 10) as u8));
        a.push(char::from(b'0' + (n % 10) as u8));
    }
    a.push(alpn[0]);
    a.push(alpn[1]);
    Ja4Lists {
        a,
        ciphers,
        exts,
        sigs,
    }
}

fn ja4_c_raw(exts: &[u16], sigs: &[u16]) -> String {
    let mut s = hex4_list(exts);
    if !sigs.is_empty() {
        s.push('_');
        s.push_str(&hex4_list(sigs));
    }
    s
}

fn hash_or_zero(list_empty: bool, raw: &str) -> String {
    if list_empty {
        "000000000000".to_string()
    } else {
        sha12(raw)
    }
}

/// Computes JA4 and `ja4_r` of a ClientHello seen on `transport`, following
/// FoxIO's JA4.md: `a_b_c` where a = transport, version, SNI d/i, cipher
/// count, extension count, ALPN chars; b = sha256 of the sorted cipher list;
/// c = sha256 of the sorted extension list without SNI and ALPN, then `_`
/// and the signature algorithms in wire order. Empty lists hash to
/// `000000000000`.
pub fn ja4(ch: &impl HelloFields, transport: Transport) -> Ja4 {
    let l = ja4_lists(ch, transport);
    let mut sorted_ciphers = l.ciphers;
    sorted_ciphers.sort_unstable();
    let mut sorted_exts: Vec<u16> = l
        .exts
        .iter()
        .copied()
        .filter(|&t| t != EXT_SERVER_NAME && t != EXT_ALPN)
        .collect();
    sorted_exts.sort_unstable();
    let b_r = hex4_list(&sorted_ciphers);
    let c_r = ja4_c_raw(&sorted_exts, &l.sigs);
    let a = &l.a;
    Ja4 {
        ja4: format!(
            "{a}_{}_{}",
            hash_or_zero(sorted_ciphers.is_empty(), &b_r),
            hash_or_zero(sorted_exts.is_empty(), &c_r)
        ),
        ja4_r: format!("{a}_{b_r}_{c_r}"),
    }
}

/// JA4's original-order forms (`ja4_o`, `ja4_ro`): lists in wire order,
/// SNI and ALPN kept.
pub fn ja4_original(ch: &impl HelloFields, transport: Transport) -> Ja4Original {
    let l = ja4_lists(ch, transport);
    let b_ro = hex4_list(&l.ciphers);
    let c_ro = ja4_c_raw(&l.exts, &l.sigs);
    let a = &l.a;
    Ja4Original {
        ja4_o: format!(
            "{a}_{}_{}",
            hash_or_zero(l.ciphers.is_empty(), &b_ro),
            hash_or_zero(l.exts.is_empty(), &c_ro)
        ),
        ja4_ro: format!("{a}_{b_ro}_{c_ro}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::{
        ClientHello, ServerHello, parse_dtls_handshake, parse_dtls_record, parse_handshake,
        parse_tls_record,
    };
    use super::super::testdata::*;
    use super::*;

    /// Reference rows (JA4 from FoxIO's snapshots in expected.jsonl, JA3 from
    /// tshark 4.0.17 in ja3.jsonl), hard-coded so tests need no corpus.
    struct Row {
        name: &'static str,
        bytes: &'static str,
        kind: u8, // 0 TLS record, 1 bare handshake (QUIC), 2 DTLS datagram
        transport: Transport,
        ja4: &'static str,
        ja3: &'static str,
    }

    const ROWS: &[Row] = &[
        Row {
            name: "browsers-x509 #0 (GREASE)",
            bytes: CHROME_GREASE_CH,
            kind: 0,
            transport: Transport::Tcp,
            ja4: "t13d1516h2_8daaf6152771_e5627efa2ab1",
            ja3: "34fcb8e0ef812f18e760b52314a54fd0",
        },
        Row {
            name: "latest #3 (TLS 1.2)",
            bytes: TLS12_CH,
            kind: 0,
            transport: Transport::Tcp,
            ja4: "t12d190800_d83cc789557e_7af1ed941c26",
            ja3: "a0e9f5d64349fb13191bc781f81f42e1",
        },
        // Spec-text value; FoxIO's implementations give t13d151699_... (see ja4_alpn_chars).
        Row {
            name: "non-ascii-alpn #0",
            bytes: NON_ASCII_ALPN_CH,
            kind: 0,
            transport: Transport::Tcp,
            ja4: "t13d1516bd_8daaf6152771_e5627efa2ab1",
            ja3: "1c258ebef8eee2dfa3df6d8d07285af9",
        },
        Row {
            name: "https-connect #0 (no SNI)",
            bytes: SNILESS_CH,
            kind: 0,
            transport: Transport::Tcp,
            ja4: "t12i860500_e18388e7f3a3_a1e935682795",
            ja3: "b288289af2999820648eb3ca4d8304c5",
        },
        Row {
            name: "quic-tls-handshake (QUIC)",
            bytes: QUIC_CH_MSG,
            kind: 1,
            transport: Transport::Quic,
            ja4: "q13d0310h3_55b375c5d22e_cd85d2d88918",
            ja3: "0cda1bd7f270e894ed5de2af2f06cb80",
        },
        // No upstream JA4 reference for DTLS; JA3 is tshark's.
        Row {
            name: "dtls-udp (DTLS 1.0)",
            bytes: DTLS_CH_DGRAM,
            kind: 2,
            transport: Transport::Dtls,
            ja4: "dd1i440200_49bcda3e7ebf_18d1e47e0978",
            ja3: "1f12ed4be0b680eb539364fa1b55b8d4",
        },
        Row {
            name: "tls-handshake #38 first hello",
            bytes: HRR_CH1,
            kind: 0,
            transport: Transport::Tcp,
            ja4: "t13d1516h2_8daaf6152771_e5627efa2ab1",
            ja3: "9e7fd085859af4550bd92586d02652e2",
        },
    ];

    fn body_of(bytes: &[u8], kind: u8) -> Vec<u8> {
        match kind {
            0 => {
                let (rec, _) = parse_tls_record(bytes).unwrap();
                parse_handshake(rec.fragment).unwrap().0.body.to_vec()
            }
            1 => parse_handshake(bytes).unwrap().0.body.to_vec(),
            _ => {
                let (rec, _) = parse_dtls_record(bytes).unwrap();
                parse_dtls_handshake(rec.fragment)
                    .unwrap()
                    .0
                    .fragment
                    .to_vec()
            }
        }
    }

    #[test]
    fn reference_rows() {
        for row in ROWS {
            let body = body_of(&hex(row.bytes), row.kind);
            let ch = ClientHello::parse(&body, row.kind == 2).unwrap();
            assert_eq!(ja4(&ch, row.transport).ja4, row.ja4, "{}", row.name);
            assert_eq!(ja3(&ch).hash, row.ja3, "{}", row.name);
        }
    }

    #[test]
    fn second_hello_after_hrr() {
        // The CCS record (6 bytes) precedes the second ClientHello record.
        let d = hex(HRR_CLIENT2);
        let (ccs, rest) = parse_tls_record(&d).unwrap();
        assert_eq!(ccs.content_type, 20);
        let (rec, _) = parse_tls_record(rest).unwrap();
        let (hs, _) = parse_handshake(rec.fragment).unwrap();
        let ch = ClientHello::parse(hs.body, false).unwrap();
        let j = ja4(&ch, Transport::Tcp);
        assert_eq!(j.ja4, "t13d1515h2_8daaf6152771_f37e75b10bcc");
        assert_eq!(
            j.ja4_r,
            "t13d1515h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_\
             0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,4469,ff01_\
             0403,0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(ja3(&ch).hash, "989457eb4c148cbbe80b7799ac9aef59");
    }

    #[test]
    fn raw_forms_and_strings() {
        let body = body_of(&hex(CHROME_GREASE_CH), 0);
        let ch = ClientHello::parse(&body, false).unwrap();
        let j = ja4(&ch, Transport::Tcp);
        assert_eq!(
            j.ja4_r,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_\
             0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_\
             0403,0804,0401,0503,0805,0501,0806,0601"
        );
        let o = ja4_original(&ch, Transport::Tcp);
        assert_eq!(
            o.ja4_ro,
            "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_\
             000d,0000,000a,0005,000b,002b,001b,ff01,0033,4469,002d,0023,0017,0012,0010,0015_\
             0403,0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(o.ja4_o, "t13d1516h2_acb858a92679_4237572e953b");
        assert_eq!(
            ja3(&ch).string,
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             13-0-10-5-11-43-27-65281-51-17513-45-35-23-18-16-21,29-23-24,0"
        );
    }

    #[test]
    fn ja3s_of_server_hellos() {
        let d = hex(HRR_SH);
        let (rec, _) = parse_tls_record(&d).unwrap();
        let sh = ServerHello::parse(parse_handshake(rec.fragment).unwrap().0.body).unwrap();
        assert_eq!(ja3s(&sh).hash, "15af977ce25de452b96affa2addb1036");
        let d = hex(DTLS_SERVER_DGRAM);
        let (rec, _) = parse_dtls_record(&d).unwrap();
        let sh =
            ServerHello::parse(parse_dtls_handshake(rec.fragment).unwrap().0.fragment).unwrap();
        assert_eq!(ja3s(&sh).string, "65279,53,65281-35-15");
        assert_eq!(ja3s(&sh).hash, "d45798bc098cd930de7eb2f5f866e994");
    }

    #[test]
    fn grease_values() {
        let all: Vec<u16> = (0..=0xffffu16).filter(|&v| is_grease(v)).collect();
        assert_eq!(all.len(), 16);
        assert!(all.iter().all(|v| v & 0x0f0f == 0x0a0a));
        assert!(!is_grease(0x0a1a));
    }

    #[test]
    fn alpn_chars_spec_examples() {
        let f = |b: &[u8]| ja4_alpn_chars(Some(b)).iter().collect::<String>();
        assert_eq!(f(b"h2"), "h2");
        assert_eq!(f(b"http/1.1"), "h1");
        assert_eq!(f(b"h"), "hh");
        assert_eq!(f(&[0xab]), "ab");
        assert_eq!(f(&[0xab, 0xcd]), "ad");
        assert_eq!(f(&[0x30, 0xab]), "3b");
        assert_eq!(f(&[0x30, 0x31, 0xab, 0xcd]), "3d");
        assert_eq!(f(&[0x30, 0xab, 0xcd, 0x31]), "01");
        assert_eq!(f(&[]), "00");
        assert_eq!(ja4_alpn_chars(None), ['0', '0']);
    }

    #[test]
    fn version_codes() {
        assert_eq!(ja4_version_code(0xfefc), "d3");
        assert_eq!(ja4_version_code(0x0002), "s2");
        assert_eq!(ja4_version_code(0x1234), "00");
        // DTLS 1.3 is "higher" than DTLS 1.2 although numerically smaller.
        assert!(version_rank(0xfefc) > version_rank(0xfefd));
        assert!(version_rank(0xfefd) > version_rank(0xfeff));
    }
}
