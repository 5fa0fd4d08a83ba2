//! Psiphon's meek transport fronted through a CDN without SNI.
//!
//! Psiphon tunnels its SSH-based protocol through HTTP requests relayed by
//! CDNs ("meek" domain fronting); its server entries can ask the client to
//! omit the TLS server_name entirely (psiphon-tunnel-core, server entry
//! field `meekFrontingDisableSNI`), and its ClientHellos come from uTLS
//! presets mimicking mobile HTTP stacks, TLS 1.2-only ones among them.
//! Browsers and HTTP libraries always name the host they fetch, so a
//! hello that offers ALPN (an HTTP client) but no server name, answered by
//! a CDN's default certificate, is what fronting-without-SNI looks like
//! (psiphon3.pcap: OkHttp-like TLS 1.2 hello, ALPN `h2`/`http/1.1`, no
//! SNI, Cloudflare's `sni.cloudflaressl.com`). The evidence is the
//! certificate name list below, so the basis is Name and confidence
//! Medium. TLS 1.3 hides the certificate: such flows are not judged here.

use crate::detect::Protocol;
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts};
use crate::dissect::tls::TlsFacts;
use crate::dissect::verdict::Verdict;
use crate::detect::detector::{detector_head, Detector};

/// Default certificates CDNs present to a hello without SNI, as subject
/// CN suffixes (label boundary): Cloudflare, Amazon CloudFront, Fastly,
/// Akamai, Azure CDN.
const CDN_DEFAULT_CERT_SUFFIXES: [&str; 6] = [
    "cloudflaressl.com",
    "cloudfront.net",
    "global.ssl.fastly.net",
    "akamai.net",
    "akamaized.net",
    "azureedge.net",
];

/// Per-flow state of the Psiphon detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Psiphon {
    done: bool,
}

impl Detector for Psiphon {
    detector_head! { ctx: super::ProxyCtx, protocol: Psiphon, done: done }

    /// The TLS facts may now hold the hello and the certificate.
    fn on_facts(&mut self, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let Some((tls, f, ch)) = super::client_hello(facts, &mut self.done) else {
            return;
        };
        if ch.sni.is_some() || ch.alpn.is_empty() || ch.max_version > 0x0303 {
            self.done = true;
            return;
        }
        if f.cert.is_none() {
            self.done |= tls.verdict() != Verdict::NeedMore;
            return;
        }
        self.done = true;
        if let Some(d) = finding(f) {
            out.push(d);
        }
    }

    /// The flow ended: a last look at the facts.
    fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        self.on_facts(facts, ctx, out);
    }
}


/// The subject CN of a DN string (`..., CN=name`).
pub(super) fn subject_cn(dn: &str) -> Option<&str> {
    dn.split(", ").filter_map(|p| p.strip_prefix("CN=")).last()
}

fn cdn_default(cn: &str) -> Option<&'static str> {
    let cn = cn.strip_prefix("*.").unwrap_or(cn);
    CDN_DEFAULT_CERT_SUFFIXES
        .iter()
        .copied()
        .find(|s| cn == *s || cn.strip_suffix(s).is_some_and(|head| head.ends_with('.')))
}

fn finding(f: &TlsFacts) -> Option<Detection> {
    let ch = f.client_hello()?;
    let cert = f.cert.as_ref()?;
    let cn = subject_cn(&cert.subject)?;
    let cdn = cdn_default(cn)?;
    let alpn: Vec<String> = ch
        .alpn
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(
        Detection::new(
            Category::Proxy,
            Protocol::Psiphon,
            Confidence::Medium,
            Basis::Name,
            "HTTP client TLS 1.2 hello without SNI answered by a CDN's default certificate (meek fronting without SNI, as Psiphon does)",
        )
        .with("sni", "absent")
        .with("client_alpn", alpn.join(","))
        .with("cert_cn", cn)
        .with("cdn_list_entry", cdn),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::proxy::tests_util::{cert, hello};

    /// psiphon3.pcap flow 192.168.0.103:40557 -> 104.18.151.190:443.
    fn psiphon_facts(sni: Option<&str>) -> TlsFacts {
        TlsFacts {
            client_hellos: vec![hello(
                sni,
                &["h2", "http/1.1"],
                &[23, 65281, 10, 11, 35, 16, 5, 13],
                0x0303,
            )],
            cert: Some(cert(
                "C=US, ST=CA, L=San Francisco, O=Cloudflare, Inc., CN=sni.cloudflaressl.com",
                "C=US, O=Cloudflare, Inc., CN=Cloudflare Inc ECC CA-3",
            )),
            ..Default::default()
        }
    }

    #[test]
    fn psiphon_fronting() {
        let d = finding(&psiphon_facts(None)).unwrap();
        assert_eq!(d.protocol.name(), "psiphon");
        assert_eq!(d.evidence.get("cert_cn"), Some("sni.cloudflaressl.com"));
    }

    #[test]
    fn names() {
        assert_eq!(subject_cn("C=US, O=X, CN=a.b"), Some("a.b"));
        assert_eq!(cdn_default("d1234.cloudfront.net"), Some("cloudfront.net"));
        assert_eq!(cdn_default("evilcloudfront.net"), None);
        // dns_dot.pcap: Google's DoT certificate is no CDN default.
        assert_eq!(cdn_default("dns.google"), None);
    }
}
