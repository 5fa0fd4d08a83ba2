//! The QUIC-specific part of a flow's `quic` EVE object. The engine merges
//! the TLS-derived fields (`sni`, `ja3`, `ja3s`, `ja4`, `alpn`) from the TLS
//! state fed with the CRYPTO bytes; this struct holds what only the QUIC
//! layer knows. Field meanings are documented in docs/quic.md.

use serde::{Serialize, Serializer};

use super::parser::Version;

impl Serialize for Version {
    /// Serialised as Suricata does (`"1"`, `"6b3343cf"`, `"ff00001d"`), so
    /// existing EVE consumers and rules keep working.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// What the QUIC layer learned about one flow; shaped like Suricata's EVE
/// `quic` object (`version`) plus gateward extensions that say how much of
/// the handshake the sensor could actually see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuicEvent {
    /// Version of the client's first long-header packet.
    pub version: Version,
    /// True once at least one Initial packet (either direction) was
    /// decrypted and authenticated.
    pub decrypted: bool,
    /// Initial packets that failed header-protection removal or AEAD
    /// authentication (wrong keys, corruption, forgery, missed first packet).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub decrypt_failures: u32,
    /// Length of the client's original Destination Connection ID (the key
    /// material); RFC 9000 requires at least 8 from a client.
    pub dcid_len: u8,
    /// Length of the client's Source Connection ID.
    pub scid_len: u8,
    /// Length of the server's Source Connection ID, once a server long
    /// header was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_scid_len: Option<u8>,
    /// The server answered with a Retry packet.
    #[serde(skip_serializing_if = "is_false")]
    pub retry: bool,
    /// The server answered with a Version Negotiation packet.
    #[serde(skip_serializing_if = "is_false")]
    pub version_negotiation: bool,
    /// The TLS handshake used a HelloRetryRequest.
    #[serde(skip_serializing_if = "is_false")]
    pub hello_retry: bool,
    /// CRYPTO bytes discarded because of reassembly bounds (both directions).
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub crypto_dropped_bytes: u64,
}

impl QuicEvent {
    /// A fresh event for a flow whose first long header carried `version`.
    pub fn new(version: Version) -> Self {
        QuicEvent {
            version,
            decrypted: false,
            decrypt_failures: 0,
            dcid_len: 0,
            scid_len: 0,
            server_scid_len: None,
            retry: false,
            version_negotiation: false,
            hello_retry: false,
            crypto_dropped_bytes: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_like_suricata() {
        let mut e = QuicEvent::new(Version::DRAFT_29);
        e.dcid_len = 8;
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(
            j,
            r#"{"version":"ff00001d","decrypted":false,"dcid_len":8,"scid_len":0}"#
        );
        e.version = Version::V1;
        e.retry = true;
        e.decrypt_failures = 2;
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["version"], "1");
        assert_eq!(j["retry"], true);
        assert_eq!(j["decrypt_failures"], 2);
    }
}
