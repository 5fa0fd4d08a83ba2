//! Facts about the server's leaf certificate (TLS <= 1.2 and DTLS only: TLS
//! 1.3 encrypts the Certificate message), in the formats Suricata's EVE
//! `tls` event uses, so that existing EVE tooling reads them unchanged.
//!
//! Parsing is done by `x509-parser`; any DER error just yields `None`.

use sha1::{Digest as _, Sha1};
use std::fmt::Write as _;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

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
/// Gregorian (Howard Hinnant's days-to-civil algorithm), without a date crate.
pub fn format_unix_time(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
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
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let tbs = &cert.tbs_certificate;
        let sha = Sha1::digest(der);
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
            fingerprint: colon_hex(&sha, false),
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

    #[test]
    fn time_format() {
        assert_eq!(format_unix_time(0), "1970-01-01T00:00:00");
        assert_eq!(format_unix_time(1_695_017_621), "2023-09-18T06:13:41");
        assert_eq!(format_unix_time(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(format_unix_time(-1), "1969-12-31T23:59:59");
    }

    #[test]
    fn bad_der_is_none() {
        assert!(CertInfo::from_der(&[]).is_none());
        assert!(CertInfo::from_der(&[0x30, 0x82, 0xff, 0xff, 0]).is_none());
        let mut x = 0x1234_5678u32;
        for len in 0..200 {
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = CertInfo::from_der(&v);
        }
    }
}
