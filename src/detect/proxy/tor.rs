//! Tor: its link handshake's TLS naming, its fixed-size cells, and an
//! optional relay-address feed.
//!
//! Tor's link TLS (tor-spec.txt §2 "Connections", and `tortls.c`, which
//! builds the names with `crypto_random_hostname`) uses throw-away names:
//! * the link certificate's subject CN is `www.<random>.net` and its issuer
//!   CN `www.<random>.com` (the "identity" name), each the only attribute
//!   of its DN, different from each other, with `<random>` drawn from the
//!   base32 alphabet `a-z2-7`; the chain is not sent, so the certificate is
//!   neither self-signed nor anchored; its validity starts at midnight;
//! * the client's SNI is another random `www.<random>.com`, and it offers
//!   no ALPN;
//! * after the handshake, cells have a fixed size (512 bytes, 514 with
//!   4-byte circuit IDs), so many records in both directions have the same
//!   length.
//!
//! Confidence: the certificate's naming alone is High (no public CA issues
//! such pairs); SNI shape alone needs the fixed-size records to reach
//! Medium (TLS 1.3 hides the certificate). A server address listed in the
//! operator's relay feed (`tor_relays_file`, the Tor Project's exit list
//! format or one address per line) is High on the Address basis.

use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::detector::Detector;
use crate::detect::{Basis, Category, Confidence, Detection, FlowFacts, PacketView};
use crate::dissect::Direction;
use crate::dissect::tls::{TlsFacts, TlsState};
use crate::dissect::verdict::Verdict;
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;

/// Random-label lengths accepted (Tor has used 4..25 and 8..20 over the
/// years).
const LABEL_MIN: usize = 4;
const LABEL_MAX: usize = 25;

/// Cell-carrying record sizes looked for: a 512/514-byte cell plus TLS
/// framing and MAC/tag, possibly split 1/n-1 (TLS 1.0 CBC).
const CELL_RECORD_MIN: usize = 520;
const CELL_RECORD_MAX: usize = 600;
/// Same-size cell packets needed per direction.
const CELLS_PER_DIRECTION: u8 = 2;
/// Payload packets after which the cell count gives up.
const WINDOW: u16 = 32;

/// A label Tor's random hostname generator could have produced.
fn random_label(s: &str) -> bool {
    (LABEL_MIN..=LABEL_MAX).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

/// The random label of `www.<label>.<tld>`.
fn tor_host<'a>(name: &'a str, tld: &str) -> Option<&'a str> {
    let label = name
        .strip_prefix("www.")?
        .strip_suffix(tld)?
        .strip_suffix('.')?;
    random_label(label).then_some(label)
}

/// The random label of a DN made of exactly one CN `www.<label>.<tld>`.
fn tor_dn<'a>(dn: &'a str, tld: &str) -> Option<&'a str> {
    tor_host(dn.strip_prefix("CN=")?, tld)
}

/// The operator's Tor relay addresses.
#[derive(Debug, Default)]
pub(super) struct RelayList {
    addrs: HashSet<IpAddr>,
    source: String,
}

impl RelayList {
    /// Reads a relay list: Tor exit-list lines (`ExitAddress <ip> <date>`),
    /// plain one-address-per-line, `#` comments; other exit-list fields
    /// (`ExitNode`, `Published`, `LastStatus`) are skipped. More than `max`
    /// addresses is an error, as is an unreadable file.
    pub(super) fn load(path: &Path, max: usize) -> Result<Self, String> {
        let text = crate::files::read_bounded_text(path, crate::files::MAX_LIST_BYTES)
            .map_err(|e| format!("tor_relays_file {}: {e}", path.display()))?;
        Self::parse(&text, max)
            .map(|addrs| RelayList {
                addrs,
                source: path.display().to_string(),
            })
            .map_err(|e| format!("tor_relays_file {}: {e}", path.display()))
    }

    fn parse(text: &str, max: usize) -> Result<HashSet<IpAddr>, String> {
        let mut addrs = HashSet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or("");
            let token = if first == "ExitAddress" {
                match words.next() {
                    Some(t) => t,
                    None => return Err(format!("line {}: ExitAddress without address", n + 1)),
                }
            } else if let Ok(ip) = first.parse::<IpAddr>() {
                addrs.insert(ip);
                if addrs.len() > max {
                    return Err(format!("more than tor_relays_max = {max} addresses"));
                }
                continue;
            } else {
                continue;
            };
            let ip = token
                .parse::<IpAddr>()
                .map_err(|_| format!("line {}: bad address {token:?}", n + 1))?;
            addrs.insert(ip);
            if addrs.len() > max {
                return Err(format!("more than tor_relays_max = {max} addresses"));
            }
        }
        Ok(addrs)
    }

    /// Number of addresses loaded.
    pub(super) fn len(&self) -> usize {
        self.addrs.len()
    }
}

/// Per-flow state of the Tor detector.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Tor {
    addr_done: bool,
    names_done: bool,
    /// SNI had Tor's shape but no certificate was seen: count cells.
    sni_only: bool,
    cell_len: u16,
    cells: [u8; 2],
}

impl Detector for Tor {
    type Ctx = super::ProxyCtx;
    const PROTOCOL: Protocol = Protocol::Tor;

    /// True once every check has concluded.
    fn done(&self) -> bool {
        self.addr_done && self.names_done && !self.sni_only
    }

    /// One payload packet: the relay feed on the first, cells later.
    fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        facts: &FlowFacts<'_>,
        ctx: &super::ProxyCtx,
        out: &mut Vec<Detection>,
    ) {
        let relays = ctx.tor_relays.as_ref();
        if !self.addr_done {
            self.addr_done = true;
            if let Some(list) = relays {
                let server = facts.server.0.ip();
                if list.addrs.contains(&server) {
                    out.push(
                        Detection::new(
                            Category::Proxy,
                            Protocol::Tor,
                            Confidence::High,
                            Basis::Address,
                            "server address is a listed Tor relay",
                        )
                        .with("server", server)
                        .with("list", &list.source),
                    );
                }
            }
        }
        if self.sni_only {
            self.count_cell(p, out);
        }
    }

    /// The TLS facts may now hold the hello and the certificate.
    fn on_facts(&mut self, facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if self.names_done {
            return;
        }
        if facts.proto != IpProto::TCP {
            // TLS over TCP only.
            self.names_done = true;
            return;
        }
        let Some(app) = facts.app else {
            return;
        };
        let Some(tls) = app.tls.as_deref() else {
            self.names_done = true;
            return;
        };
        let Some(f) = tls.facts() else {
            if tls.verdict() != Verdict::NeedMore {
                self.names_done = true;
            }
            return;
        };
        if f.client_hello().is_none() || !(f.cert.is_some() || settled(tls, f)) {
            return;
        }
        self.names_done = true;
        if let Some(d) = names_finding(f) {
            out.push(d);
        } else if sni_shape(f).is_some() {
            self.sni_only = true;
        }
    }

    /// The flow ended: a last look at the facts.
    fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        self.on_facts(facts, ctx, out);
    }
}

impl Tor {

    fn count_cell(&mut self, p: &PacketView<'_>, out: &mut Vec<Detection>) {
        if p.index >= WINDOW {
            self.sni_only = false;
            return;
        }
        let n = p.payload.len();
        if !(CELL_RECORD_MIN..=CELL_RECORD_MAX).contains(&n) || p.payload[0] != 23 {
            return;
        }
        let n = n as u16;
        if self.cell_len == 0 {
            self.cell_len = n;
        }
        if n != self.cell_len {
            return;
        }
        let d = usize::from(p.dir == Direction::ToClient);
        self.cells[d] = self.cells[d].saturating_add(1);
        if self.cells.iter().all(|&c| c >= CELLS_PER_DIRECTION) {
            self.sni_only = false;
            out.push(
                Detection::new(
                    Category::Proxy,
                    Protocol::Tor,
                    Confidence::Medium,
                    Basis::Behaviour,
                    "TLS with a Tor-style random SNI and no ALPN, then fixed-size cell records both ways",
                )
                .with("cell_record_bytes", n),
            );
        }
    }

}


/// Nothing more will come from the handshake: TLS 1.3 (certificate
/// encrypted) or the dissector stopped.
fn settled(tls: &TlsState, f: &TlsFacts) -> bool {
    tls.verdict() != Verdict::NeedMore
        || f.server_hello
            .as_ref()
            .is_some_and(|s| s.negotiated_version() == 0x0304)
}

/// The client's SNI label when it has Tor's shape and no ALPN is offered.
fn sni_shape(f: &TlsFacts) -> Option<&str> {
    let ch = f.client_hello()?;
    if !ch.alpn.is_empty() {
        return None;
    }
    tor_host(ch.sni.as_deref()?, "com")
}

/// The certificate-naming finding.
fn names_finding(f: &TlsFacts) -> Option<Detection> {
    let cert = f.cert.as_ref()?;
    let subject = tor_dn(&cert.subject, "net")?;
    let issuer = tor_dn(&cert.issuerdn, "com")?;
    if subject == issuer || cert.self_signed {
        return None;
    }
    let mut d = Detection::new(
        Category::Proxy,
        Protocol::Tor,
        Confidence::High,
        Basis::Name,
        "Tor link certificate: random www.<base32>.net subject issued by a different random www.<base32>.com name",
    )
    .with("cert_subject", &cert.subject)
    .with("cert_issuer", &cert.issuerdn)
    .with("not_before", &cert.notbefore);
    if cert.notbefore_unix.rem_euclid(86_400) == 0 {
        d = d.with("not_before_midnight", true);
    }
    if let Some(sni) = sni_shape(f) {
        d = d.with("sni", format!("www.{sni}.com"));
        d.reason
            .push_str("; the client's SNI is another random www.<base32>.com name without ALPN");
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::proxy::tests_util::hello;
    use crate::dissect::tls::CertInfo;

    /// Names from tor.pcap (flow 192.168.1.252:51110 -> 91.143.93.242:443).
    fn tor_facts(alpn: bool) -> TlsFacts {
        let alpn: &[&str] = if alpn { &["h2"] } else { &[] };
        let ch = hello(Some("www.ct7ctrgb6cr7.com"), alpn, &[0, 11, 10], 0x0301);
        TlsFacts {
            client_hellos: vec![ch],
            cert: Some(CertInfo {
                subject: "CN=www.g6ghvisevf3ibuu5.net".into(),
                issuerdn: "CN=www.xkgk7fdx362yyyxib.com".into(),
                serial: "4D:1E:67:75:ED:96:31:84".into(),
                fingerprint: String::new(),
                notbefore: "2013-10-03T00:00:00".into(),
                notafter: "2013-11-18T23:59:59".into(),
                notbefore_unix: 1_380_758_400,
                notafter_unix: 1_384_819_199,
                self_signed: false,
                san: Vec::new(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn tor_names() {
        assert_eq!(tor_host("www.t3i3ru.com", "com"), Some("t3i3ru"));
        assert_eq!(
            tor_host("www.q4cyamnc6mtokjurvdclt.com", "com"),
            Some("q4cyamnc6mtokjurvdclt")
        );
        assert!(tor_host("www.youtube.com", "com").is_some()); // shape only
        assert!(tor_host("www.abc1.com", "com").is_none()); // '1' is not base32
        assert!(tor_host("mail.abcdef.com", "com").is_none());
        assert!(tor_dn("C=US, CN=www.abcdef.net", "net").is_none());
        let d = names_finding(&tor_facts(false)).unwrap();
        assert_eq!(d.confidence, Confidence::High);
        assert_eq!(d.evidence.get("sni"), Some("www.ct7ctrgb6cr7.com"));
        assert_eq!(d.evidence.get("not_before_midnight"), Some("true"));
        // With ALPN the SNI is not Tor's, the certificate still is.
        assert!(
            names_finding(&tor_facts(true))
                .unwrap()
                .evidence
                .get("sni")
                .is_none()
        );
    }

    #[test]
    fn ordinary_certificate_is_clean() {
        // reddit.pcap: www.redditstatic.com from DigiCert.
        let mut f = tor_facts(true);
        let c = f.cert.as_mut().unwrap();
        c.subject =
            "C=US, ST=California, L=San Francisco, O=Reddit Inc., CN=www.redditstatic.com".into();
        c.issuerdn = "C=US, O=DigiCert Inc, CN=DigiCert SHA2 Secure Server CA".into();
        assert!(names_finding(&f).is_none());
        assert!(sni_shape(&f).is_none());
    }

    #[test]
    fn relay_list_formats() {
        let text = "# Tor exit list\nExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n\
                    Published 2024-05-01 10:00:00\nLastStatus 2024-05-01 11:00:00\n\
                    ExitAddress 162.247.74.201 2024-05-01 11:01:44\n\
                    185.220.101.1\n2001:db8::7 # a comment\n\n";
        let s = RelayList::parse(text, 10).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.contains(&"162.247.74.201".parse::<IpAddr>().unwrap()));
        assert!(s.contains(&"2001:db8::7".parse::<IpAddr>().unwrap()));
        assert!(RelayList::parse(text, 2).is_err());
        assert!(RelayList::parse("ExitAddress nonsense 2024", 10).is_err());
    }

    #[test]
    fn relay_list_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("exits.txt");
        std::fs::write(&p, "ExitAddress 91.143.93.242 2013-11-07 10:00:00\n").unwrap();
        let l = RelayList::load(&p, 100).unwrap();
        assert_eq!(l.len(), 1);
        assert!(RelayList::load(&dir.path().join("missing"), 100).is_err());
    }
}
