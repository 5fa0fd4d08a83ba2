//! UltraSurf: a browser-mimicking TLS 1.3 hello to a bare server address.
//!
//! UltraSurf's client ships with (and refreshes over its own channel) a
//! list of server IP addresses and connects to them directly, on ports of
//! their own, with no DNS name (nDPI issue #1610 and its captures; the
//! 2022 capture ultrasurf.pcap: 65.49.68.25:50053). Its ClientHello copies
//! an older Chrome (GREASE values, padding extension, ALPN `h2`) but
//! names no server. A real browser names every host it fetches, and a
//! browser fetching `https://<ip>:<port>/` offers today's extension set
//! (ALPS 17513, ECH GREASE 65037). So the check is: TLS 1.3 negotiated,
//! hello with GREASE and padding, ALPN `h2`, no server_name, none of the
//! current-Chrome extensions, server port not 443. Behavioural evidence
//! only: Medium.

use crate::detect::Protocol;
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts};
use crate::dissect::tls::fingerprint::is_grease;
use crate::dissect::verdict::Verdict;
use crate::detect::detector::{detector_head, Detector};

/// TLS padding extension (RFC 7685).
const EXT_PADDING: u16 = 21;
/// Extensions today's Chrome adds: ALPS (application_settings, old and new
/// code points) and encrypted_client_hello (its GREASE form).
const EXT_MODERN_CHROME: [u16; 3] = [17513, 17613, 65037];

/// Per-flow state of the UltraSurf detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct UltraSurf {
    done: bool,
}

impl Detector for UltraSurf {
    detector_head! { ctx: super::ProxyCtx, protocol: UltraSurf, done: done }

    /// The TLS facts may now hold both hellos.
    fn on_facts(&mut self, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let Some((tls, f, ch)) = super::client_hello(facts, &mut self.done) else {
            return;
        };
        let mimic = ch.sni.is_none()
            && ch.alpn.first().is_some_and(|a| a == b"h2")
            && ch.extensions.iter().any(|&e| is_grease(e))
            && ch.extensions.contains(&EXT_PADDING)
            && !ch.extensions.iter().any(|e| EXT_MODERN_CHROME.contains(e))
            && facts.server.1 != 443;
        if !mimic {
            self.done = true;
            return;
        }
        let Some(sh) = f.server_hello.as_ref() else {
            self.done |= tls.verdict() != Verdict::NeedMore;
            return;
        };
        self.done = true;
        if sh.negotiated_version() != 0x0304 {
            return;
        }
        out.push(
            Detection::new(
                Category::Proxy,
                Protocol::UltraSurf,
                Confidence::Medium,
                Basis::Behaviour,
                "browser-mimicking TLS 1.3 hello (GREASE, padding, h2, older Chrome extension set) without SNI to a bare address on a non-HTTPS port, as UltraSurf connects to its built-in server list",
            )
            .with("sni", "absent")
            .with("server_port", facts.server.1)
            .with("ja4", &ch.ja4().ja4),
        );
    }

    /// The flow ended: a last look at the facts.
    fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        self.on_facts(facts, ctx, out);
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::proxy::testdata::{ULTRASURF_CLIENT_HELLO, ULTRASURF_SERVER_FIRST};
    use crate::detect::proxy::tests_util::{facts, hex};
    use crate::dissect::{Direction, Dissectors};

    fn run(server_port: u16) -> Vec<Detection> {
        let mut app = Dissectors::for_transport(true, (38120, server_port));
        app.feed(Direction::ToServer, &hex(ULTRASURF_CLIENT_HELLO));
        app.feed(Direction::ToClient, &hex(ULTRASURF_SERVER_FIRST));
        let mut f = facts();
        f.server.1 = server_port;
        f.app = Some(&app);
        let mut d = UltraSurf::default();
        let mut out = Vec::new();
        d.on_facts(&f, &Default::default(), &mut out);
        assert!(d.done());
        out
    }

    #[test]
    fn ultrasurf_hello() {
        let out = run(50053);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].protocol.name(), "ultrasurf");
        assert_eq!(out[0].evidence.get("server_port"), Some("50053"));
    }

    #[test]
    fn same_hello_on_https_port_is_clean() {
        assert!(run(443).is_empty());
    }
}
