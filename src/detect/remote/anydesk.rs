//! AnyDesk sessions inside TLS, by what AnyDesk itself puts in the
//! handshake.
//!
//! - The client's ALPN list carries `anydesk/<version>/<os>` (anydesk.pcapng:
//!   `anydesk/6.2.0/linux`): AnyDesk announces itself in the protocol field
//!   of the handshake. `High`, basis Structure.
//! - Direct (peer-to-peer, TCP 7070) sessions: each AnyDesk install
//!   generates a self-signed certificate whose subject and issuer are both
//!   exactly `CN=AnyDesk Client`. Requiring the exact DN *and* self-signing
//!   keeps ordinary self-signed certificates out. `High`, basis Name.
//! - Relayed sessions: AnyDesk's relays present `CN=AnyNet Relay`,
//!   `O=philandro Software GmbH` issued by `CN=AnyNet Root CA` (philandro is
//!   AnyDesk's publisher). `High`, basis Name.
//!
//! ALPN and certificate together (both directions identify AnyDesk):
//! `Certain`. Certificates are only visible up to TLS 1.2.

use super::{found, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, FlowFacts};
use crate::detect::detector::{detector_head, Detector};

/// Which AnyDesk certificate a DN pair is.
fn certificate(subject: &str, issuer: &str, self_signed: bool) -> Option<&'static str> {
    if subject == "CN=AnyDesk Client" && issuer == "CN=AnyDesk Client" && self_signed {
        return Some("peer (self-signed CN=AnyDesk Client)");
    }
    let relay = subject.split(", ").any(|p| p == "CN=AnyNet Relay")
        && subject
            .split(", ")
            .any(|p| p == "O=philandro Software GmbH")
        && issuer.split(", ").any(|p| p == "CN=AnyNet Root CA");
    relay.then_some("relay (CN=AnyNet Relay, issued by AnyNet Root CA)")
}

/// AnyDesk state.
#[derive(Debug, Default)]
pub struct AnyDesk {
    /// Decided.
    done: bool,
    reported: Option<Confidence>,
}

impl Detector for AnyDesk {
    detector_head! { ctx: super::RemoteCtx, protocol: AnyDesk, transports: [TCP], done: done }

    /// Reads the TLS facts as the handshake progresses.
    fn on_facts(&mut self, f: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let Some(t) = f.app.and_then(|a| a.tls.as_ref()).and_then(|t| t.facts()) else {
            if f.packets.len() >= 4 || f.app.is_some_and(|a| a.tls.is_none()) {
                self.done = true;
            }
            return;
        };
        let Some(ch) = t.client_hello() else {
            if f.packets.len() >= 6 {
                self.done = true;
            }
            return;
        };
        let alpn = ch.alpn.iter().find(|a| a.starts_with(b"anydesk/"));
        let cert = t
            .cert
            .as_ref()
            .and_then(|c| certificate(&c.subject, &c.issuerdn, c.self_signed));
        let finished = t.cert.is_some()
            || t.certificate_seen
            || t.server_hello
                .as_ref()
                .is_some_and(|s| s.negotiated_version() >= 0x0304)
            || f.packets.len() >= 12;
        if finished {
            self.done = true;
        }
        let conf = match (alpn.is_some(), cert.is_some()) {
            (true, true) => Confidence::Certain,
            (false, false) => return,
            _ => Confidence::High,
        };
        if self.reported.is_some_and(|r| r >= conf) {
            return;
        }
        self.reported = Some(conf);
        let mut d = found(
            Protocol::AnyDesk,
            conf,
            if alpn.is_some() {
                Basis::Structure
            } else {
                Basis::Name
            },
            match (alpn.is_some(), cert.is_some()) {
                (true, true) => {
                    "AnyDesk ALPN from the client and an AnyDesk certificate from the server"
                }
                (true, false) => "TLS ClientHello announces AnyDesk in its ALPN list",
                _ => "TLS server presents an AnyDesk certificate",
            },
        );
        if let Some(a) = alpn {
            d = d.with("alpn", text(a));
        }
        if let (Some(kind), Some(c)) = (cert, t.cert.as_ref()) {
            d = d
                .with("certificate", kind)
                .with("subject", &c.subject)
                .with("issuer", &c.issuerdn)
                .with("cert_fingerprint", &c.fingerprint);
        }
        d = d.with("ja4", &ch.ja4().ja4);
        out.push(d);
    }

    /// The flow ended: a last look at the facts.
    fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        self.on_facts(facts, ctx, out);
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates() {
        // Subjects and issuers as anydesk.pcapng's server certificates print.
        assert!(certificate("CN=AnyDesk Client", "CN=AnyDesk Client", true).is_some());
        assert!(certificate("CN=AnyDesk Client", "CN=AnyDesk Client", false).is_none());
        assert!(
            certificate(
                "C=DE, O=philandro Software GmbH, CN=AnyNet Relay",
                "CN=AnyNet Root CA, O=philandro Software GmbH, C=DE",
                false
            )
            .is_some()
        );
        // Ordinary self-signed certificates.
        assert!(certificate("CN=localhost", "CN=localhost", true).is_none());
        assert!(certificate("CN=AnyDesk Client Portal", "CN=Let's Encrypt R3", false).is_none());
    }
}
