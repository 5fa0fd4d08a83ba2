//! Fortinet SSL-VPN gateways, by the certificate a FortiGate presents out of
//! the box.
//!
//! A FortiGate serves its SSL-VPN portal (default port 10443, or 443) with
//! the factory certificate `Fortinet_Factory` unless the administrator
//! installs another one: subject `O=Fortinet, OU=FortiGate` (FortiWiFi:
//! `OU=FortiWiFi`) with the unit's serial number as CN, issued by
//! `O=Fortinet, OU=Certificate Authority` (Fortinet documentation, "Replacing
//! the Fortinet_Factory certificate"; the serial formats FGT…/FG…/FWF… are
//! printed on every unit). The certificate names the appliance, not the
//! service, so the finding is `Medium` on a certificate name: an
//! administrator's web GUI on the same unit presents it too.

use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts};
use crate::detect::detector::{detector_head, Detector};

/// Decided once the server's certificate (or its absence) is known.
#[derive(Debug, Default)]
pub struct Fortinet {
    done: bool,
}

fn field<'a>(dn: &'a str, key: &str) -> Option<&'a str> {
    dn.split(", ")
        .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

/// A FortiGate/FortiWiFi serial number: an `F` product prefix, then
/// upper-case letters and digits, 12 to 20 characters in all.
fn looks_like_serial(cn: &str) -> bool {
    (12..=20).contains(&cn.len())
        && cn.starts_with('F')
        && cn
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && cn.bytes().any(|b| b.is_ascii_digit())
}

impl Detector for Fortinet {
    detector_head! { ctx: super::VpnCtx, protocol: Fortinet, transports: [TCP], done: done }

    /// Reads the TLS certificate facts when they arrive.
    fn on_facts(&mut self, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if self.done {
            return;
        }
        let Some(tls) = facts.app.and_then(|a| a.tls.as_ref()) else {
            self.done = facts.proto != IpProto::TCP || facts.app.is_some();
            return;
        };
        let Some(f) = tls.facts() else { return };
        if f.server_hello.is_some() && f.cert.is_none() && !f.certificate_seen {
            // TLS 1.3 hides the certificate; nothing more will come.
            // (Read from the facts: building the EVE object would compute
            // fingerprints this flow may never need.)
            self.done = f
                .server_hello
                .as_ref()
                .is_some_and(|s| s.negotiated_version() == 0x0304);
            return;
        }
        let Some(cert) = f.cert.as_ref() else { return };
        self.done = true;
        let (subject, issuer) = (cert.subject.as_str(), cert.issuerdn.as_str());
        let unit = field(subject, "OU");
        let is_factory = field(subject, "O") == Some("Fortinet")
            && matches!(unit, Some("FortiGate") | Some("FortiWiFi"))
            && field(subject, "CN").is_some_and(looks_like_serial)
            && field(issuer, "O") == Some("Fortinet")
            && field(issuer, "OU") == Some("Certificate Authority");
        if is_factory {
            out.push(
                Detection::new(
                    Category::Vpn,
                    Protocol::Fortinet,
                    Confidence::Medium,
                    Basis::Name,
                    "TLS server presents a FortiGate factory certificate (Fortinet SSL-VPN gateway)",
                )
                .with("cert_subject", subject)
                .with("cert_issuer", issuer),
            );
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factory_certificate_fields() {
        // forticlient.pcap (nDPI test capture): the server's leaf certificate.
        let subject = "C=US, ST=California, L=Sunnyvale, O=Fortinet, OU=FortiGate, CN=FWF60E4Q16012050, Email=support@fortinet.com";
        assert_eq!(field(subject, "OU"), Some("FortiGate"));
        assert!(field(subject, "CN").is_some_and(looks_like_serial));
        assert!(!looks_like_serial("www.example.com"));
        assert!(!looks_like_serial("FORTINETDEFAULT"));
    }
}
