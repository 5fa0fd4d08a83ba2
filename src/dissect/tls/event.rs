//! The `tls` object of a flow's EVE record (also used for DTLS, and as the
//! data behind the `quic` object), named as Suricata's EVE `tls` event names
//! its fields so existing EVE tooling works, plus documented gateward
//! extensions. See docs/tls.md.

use serde::Serialize;

use super::fingerprint::Ja3;

/// EVE-shaped summary of one TLS/DTLS/QUIC handshake. `None` / empty fields
/// are omitted from the JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsEvent {
    /// Server name from the first ClientHello (non-UTF-8 bytes as `\xNN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Negotiated version in Suricata's spelling ("TLS 1.2", "TLSv1", ...).
    pub version: String,
    /// JA3 of the first ClientHello: `{hash, string}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<Ja3>,
    /// JA3S of the ServerHello: `{hash, string}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<Ja3>,
    /// JA4 of the first ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// gateward extension: JA4 of the second ClientHello (after a
    /// HelloRetryRequest or a DTLS HelloVerifyRequest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4_retry: Option<String>,
    /// ALPN protocols offered by the client, wire order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_alpns: Vec<String>,
    /// ALPN protocol selected by the server.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_alpns: Vec<String>,
    /// gateward extension: cipher suite selected by the server (IANA number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<u16>,
    /// Leaf certificate subject DN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Leaf certificate issuer DN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuerdn: Option<String>,
    /// Leaf certificate serial, `AA:BB:..` upper-case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// SHA-1 of the leaf certificate DER, `aa:bb:..` lower-case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Leaf notBefore, `YYYY-MM-DDTHH:MM:SS` UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notbefore: Option<String>,
    /// Leaf notAfter, `YYYY-MM-DDTHH:MM:SS` UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notafter: Option<String>,
    /// gateward extension: the leaf is self-signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<bool>,
    /// gateward extension: number of ClientHello messages seen.
    #[serde(skip_serializing_if = "is_zero")]
    pub client_hellos: u32,
    /// gateward extension: the server sent a TLS 1.3 HelloRetryRequest.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hello_retry_request: bool,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Suricata's name for a protocol version (`SSLVersionToString`), extended
/// with DTLS; `None` (no hello yet) or 0 gives "UNDETERMINED". Note that
/// Suricata spells TLS 1.0 "TLSv1"; we keep that for EVE compatibility.
pub fn version_name(v: Option<u16>) -> String {
    let Some(v) = v else {
        return "UNDETERMINED".into();
    };
    match v {
        0 => "UNDETERMINED".into(),
        0x0002 | 0x0200 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f00..=0x7fff => format!("TLS 1.3 draft-{}", v & 0xff),
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        0xfefc => "DTLS 1.3".into(),
        _ => format!("0x{v:04x}"),
    }
}

/// Renders bytes from the wire (SNI, ALPN) as a JSON-safe string: valid
/// UTF-8 is kept, every invalid byte becomes `\xNN`, and a literal backslash
/// becomes `\x5c` so the escaping is unambiguous. Attackers choose these
/// bytes, so they must never be passed through lossily or unescaped.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                s.push_str("\\x5c");
            } else {
                s.push(c);
            }
        }
        for x in chunk.invalid() {
            s.push_str(&format!("\\x{x:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_bytes(b"h2"), "h2");
        assert_eq!(escape_bytes(&[0xba, 0xad]), "\\xba\\xad");
        assert_eq!(escape_bytes(b"a\\b"), "a\\x5cb");
        assert_eq!(escape_bytes("é".as_bytes()), "é");
    }

    #[test]
    fn versions() {
        assert_eq!(version_name(None), "UNDETERMINED");
        assert_eq!(version_name(Some(0x0303)), "TLS 1.2");
        assert_eq!(version_name(Some(0x0301)), "TLSv1");
        assert_eq!(version_name(Some(0xfeff)), "DTLS 1.0");
        assert_eq!(version_name(Some(0x7f1c)), "TLS 1.3 draft-28");
        assert_eq!(version_name(Some(0x1234)), "0x1234");
    }

    #[test]
    fn skips_empty_fields() {
        let e = TlsEvent {
            version: "TLS 1.2".into(),
            ..TlsEvent::default()
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"version":"TLS 1.2"}"#
        );
    }
}
