//! Facts about the server's leaf certificate (TLS <= 1.2 and DTLS only: TLS
//! 1.3 encrypts the Certificate message), in the formats Suricata's EVE
//! `tls` event uses, so that existing EVE tooling reads them unchanged.
//!
//! Parsing is done by `x509-parser`; any DER error just yields `None`.

use std::fmt::Write as _;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

/// Certificates parsed per thread and remembered by their DER bytes:
/// servers present the same certificate to every client, and parsing X.509
/// (and its SHA-1 fingerprint) is the dearest step of a TLS handshake. The
/// cache is looked up by a fast keyed hash of the DER and an entry is used
/// only when its DER is equal byte for byte, so a cache hit costs a hash and
/// a comparison, not a SHA-1. When full (entries or bytes) it starts over.
const CACHE_ENTRIES: usize = 4096;
/// Most DER bytes the cache holds per thread.
const CACHE_BYTES: usize = 8 << 20;
/// Certificates longer than this are parsed every time, never cached.
const CACHE_MAX_DER: usize = 16 << 10;

/// The per-thread certificate cache: DER hash to (DER, parsed facts).
#[derive(Default)]
struct Cache {
    map: hashbrown::HashMap<u64, (Box<[u8]>, Option<CertInfo>)>,
    bytes: usize,
    hasher: foldhash::fast::RandomState,
}

thread_local! {
    static CACHE: std::cell::RefCell<Cache> = std::cell::RefCell::new(Cache::default());
}

/// Most subjectAltName DNS names kept from one certificate (shared CDN
/// certificates can list hundreds; the first ones are enough to name a
/// service).
pub const MAX_SAN: usize = 32;
/// Longest subjectAltName DNS name kept, in bytes (RFC 1035 names are at
/// most 253 characters; anything longer is not a host name).
pub const MAX_SAN_LEN: usize = 255;

/// What gateward keeps from the leaf certificate. Owned, because it outlives
/// the packet that carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject DN, RFC 4514-like in certificate order: `C=US, O=Let's Encrypt, CN=R3`.
    pub subject: String,
    /// Issuer DN, same format.
    pub issuerdn: String,
    /// Serial number as colon-separated upper-case hex bytes (Suricata's `serial`).
    pub serial: String,
    /// SHA-1 of the DER, colon-separated lower-case hex (Suricata's `fingerprint`).
    pub fingerprint: String,
    /// notBefore, UTC, `YYYY-MM-DDTHH:MM:SS`.
    pub notbefore: String,
    /// notAfter, UTC, `YYYY-MM-DDTHH:MM:SS`.
    pub notafter: String,
    /// notBefore as a Unix timestamp, for detectors (expired / not yet valid).
    pub notbefore_unix: i64,
    /// notAfter as a Unix timestamp.
    pub notafter_unix: i64,
    /// Self-signed: issuer DN equals subject DN and, where both key
    /// identifiers are present, authorityKeyIdentifier equals
    /// subjectKeyIdentifier. Self-signed leaves are typical of ad-hoc VPN
    /// and proxy servers, which is why the sensor reports it.
    pub self_signed: bool,
    /// dNSName entries of the subjectAltName extension, in certificate
    /// order, at most [`MAX_SAN`] of them, each at most [`MAX_SAN_LEN`]
    /// bytes (longer ones are skipped). Not written to events (it can be
    /// long and is not part of Suricata's `tls` record); the name-based
    /// detectors match it against their lists.
    pub san: Vec<String>,
}

fn colon_hex(b: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = if upper {
            write!(s, "{x:02X}")
        } else {
            write!(s, "{x:02x}")
        };
    }
    s
}

/// Formats a Unix timestamp as `YYYY-MM-DDTHH:MM:SS` (UTC), proleptic
/// Gregorian, with the calendar conversion the EVE timestamps use.
pub fn format_unix_time(ts: i64) -> String {
    let (y, m, d) = crate::output::time::civil_from_days(ts.div_euclid(86_400));
    let secs = ts.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

impl CertInfo {
    /// Parses the leaf certificate DER; `None` on any DER error (hostile
    /// input must never take the sensor down).
    pub fn from_der(der: &[u8]) -> Option<CertInfo> {
        if der.len() > CACHE_MAX_DER {
            return Self::parse(der);
        }
        let key = CACHE.with(|c| {
            use std::hash::BuildHasher as _;
            c.borrow().hasher.hash_one(der)
        });
        let hit = CACHE.with(|c| {
            c.borrow()
                .map
                .get(&key)
                .filter(|(d, _)| **d == *der)
                .map(|(_, info)| info.clone())
        });
        if let Some(hit) = hit {
            return hit;
        }
        let info = Self::parse(der);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.map.len() >= CACHE_ENTRIES || c.bytes + der.len() > CACHE_BYTES {
                c.map.clear();
                c.bytes = 0;
            }
            let old = c.map.insert(key, (der.into(), info.clone()));
            c.bytes += der.len();
            if let Some((d, _)) = old {
                c.bytes -= d.len();
            }
        });
        info
    }

    fn parse(der: &[u8]) -> Option<CertInfo> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let tbs = &cert.tbs_certificate;
        let nb = tbs.validity.not_before.timestamp();
        let na = tbs.validity.not_after.timestamp();
        let mut ski = None;
        let mut aki = None;
        let mut san = Vec::new();
        for ext in tbs.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|k| k.0)
                }
                ParsedExtension::SubjectAlternativeName(names) if san.is_empty() => {
                    san = names
                        .general_names
                        .iter()
                        .filter_map(|n| match n {
                            GeneralName::DNSName(d) if !d.is_empty() && d.len() <= MAX_SAN_LEN => {
                                Some((*d).to_owned())
                            }
                            _ => None,
                        })
                        .take(MAX_SAN)
                        .collect();
                }
                _ => {}
            }
        }
        let same_name = tbs.subject.as_raw() == tbs.issuer.as_raw();
        let keys_agree = match (ski, aki) {
            (Some(s), Some(a)) => s == a,
            _ => true,
        };
        Some(CertInfo {
            subject: tbs.subject.to_string(),
            issuerdn: tbs.issuer.to_string(),
            serial: colon_hex(tbs.raw_serial(), true),
            // ring's SHA-1 (the certificate's identity as Suricata writes
            // it, not used for security).
            fingerprint: colon_hex(
                ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref(),
                false,
            ),
            notbefore: format_unix_time(nb),
            notafter: format_unix_time(na),
            notbefore_unix: nb,
            notafter_unix: na,
            self_signed: same_name && keys_agree,
            san,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testutil::{spread, unhex, xorshift};

    #[test]
    fn time_format() {
        assert_eq!(format_unix_time(0), "1970-01-01T00:00:00");
        assert_eq!(format_unix_time(1_695_017_621), "2023-09-18T06:13:41");
        assert_eq!(format_unix_time(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(format_unix_time(-1), "1969-12-31T23:59:59");
    }

    /// Leaf certificate of psiphon3.pcap frame 12 (nDPI test capture, the
    /// TLS.Psiphon flow): Cloudflare's shared `sni.cloudflaressl.com`
    /// certificate listing the Psiphon domains in its subjectAltName.
    const PSIPHON_LEAF_HEX: &str = concat!(
        "308204c230820468a00302010202100c28dd0e1f3f704175cc796c320dba1f300a06082a8648ce3d040302304a310b30",
        "0906035504061302555331193017060355040a1310436c6f7564666c6172652c20496e632e3120301e06035504031317",
        "436c6f7564666c61726520496e63204543432043412d33301e170d3230303830393030303030305a170d323130383039",
        "3132303030305a306d310b3009060355040613025553310b3009060355040813024341311630140603550407130d5361",
        "6e204672616e636973636f31193017060355040a1310436c6f7564666c6172652c20496e632e311e301c060355040313",
        "15736e692e636c6f7564666c61726573736c2e636f6d3059301306072a8648ce3d020106082a8648ce3d030107034200",
        "04357fb3d19a4b05ad12a5fe63c256966e66f2c3db26a699061085aa0936f6dedee4ca3941c2d5793a128a03f4268590",
        "c4c601c7485de79fcf0c291d1d254c731ea382030b30820307301f0603551d23041830168014a5ce37eaebb0750e9467",
        "88b445fad9241087961f301d0603551d0e04160414959739e9ff67c517e99d5b8fe4c58f96a20fbeb4303e0603551d11",
        "043730358215736e692e636c6f7564666c61726573736c2e636f6d820c70736970686f6e332e6e6574820e2a2e707369",
        "70686f6e332e6e6574300e0603551d0f0101ff040403020780301d0603551d250416301406082b060105050703010608",
        "2b06010505070302307b0603551d1f047430723037a035a0338631687474703a2f2f63726c332e64696769636572742e",
        "636f6d2f436c6f7564666c617265496e6345434343412d332e63726c3037a035a0338631687474703a2f2f63726c342e",
        "64696769636572742e636f6d2f436c6f7564666c617265496e6345434343412d332e63726c304c0603551d2004453043",
        "303706096086480186fd6c0101302a302806082b06010505070201161c68747470733a2f2f7777772e64696769636572",
        "742e636f6d2f4350533008060667810c010202307606082b06010505070101046a3068302406082b0601050507300186",
        "18687474703a2f2f6f6373702e64696769636572742e636f6d304006082b060105050730028634687474703a2f2f6361",
        "63657274732e64696769636572742e636f6d2f436c6f7564666c617265496e6345434343412d332e637274300c060355",
        "1d130101ff0402300030820103060a2b06010401d6790204020481f40481f100ef007600f65c942fd177302214541808",
        "3094568ee34d131933bfdf0c2f200bcc4ef164e300000173d3b8d2b5000004030047304502200bb80d50475b9d446783",
        "1936c2583006b956dfd4200ae3a5c9269037ad136e7b02210098b9be9af968362a053e9acbec1bbd4daa9f82ddcca9e9",
        "a45a74a466ff2f93910075005cdc4392fee6ab4544b15e9ad456e61037fbd5fa47dca17394b25ee6f6c70eca00000173",
        "d3b8d2db00000403004630440220173b859d29bcfa0af37973f0b3d11deb0c2be9abb9709f6a43b4e616eaea35ae0220",
        "21b587aa7d5738a462b9857437afbbae18d3f031b3a004221eaa17c078154402300a06082a8648ce3d04030203480030",
        "4502201cbd78392e71c89476066090c199e46c2ad6fb8f5fd4bc859d8bf8ceb6c6dfbf022100fd0a5aaf017324c06e0c",
        "1ec46e9203167d13684b598b573b59ac81c66ee87546",
    );

    #[test]
    fn subject_alt_names_are_kept() {
        let c = CertInfo::from_der(&unhex(PSIPHON_LEAF_HEX)).expect("real certificate parses");
        assert!(
            c.subject.ends_with("CN=sni.cloudflaressl.com"),
            "{}",
            c.subject
        );
        assert_eq!(
            c.san,
            ["sni.cloudflaressl.com", "psiphon3.net", "*.psiphon3.net"]
        );
        assert!(!c.self_signed);
    }

    #[test]
    fn bad_der_is_none() {
        assert!(CertInfo::from_der(&[]).is_none());
        assert!(CertInfo::from_der(&[0x30, 0x82, 0xff, 0xff, 0]).is_none());
        let mut x = 0x1234_5678u64;
        for len in 0..200 {
            x = xorshift(x);
            let _ = CertInfo::from_der(&spread(x, len));
        }
    }
}
