//! Proxies and anonymisers (Tor, Psiphon, UltraSurf) and fully encrypted or
//! TLS-wrapped proxies (Shadowsocks, VMess, obfs4, Trojan).
//!
//! SOCKS and HTTP CONNECT / forward-proxy handshakes are read from the
//! dissectors by the engine (`engine::proxy_handshake`), not here. One file
//! per detector, each a small fixed-size state machine driven by plain
//! field calls; see docs/detect-proxy.md for what each checks.

mod encap;
mod fully_encrypted;
mod psiphon;
#[cfg(test)]
mod testdata;
mod tls_in_tls;
mod tor;
mod ultrasurf;
mod websocket;

use super::{Detection, FlowFacts, PacketView};
use serde::Deserialize;
use std::path::PathBuf;

/// The `[detect.proxy]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// Tor relay addresses: the Tor Project's exit list format
    /// (`ExitAddress 1.2.3.4 2024-...` lines) or one address per line, `#`
    /// comments allowed. A listed server address is reported as Tor (High,
    /// Address basis). Default: none (no file is read).
    pub tor_relays_file: Option<PathBuf>,
    /// Most addresses accepted from `tor_relays_file`; a longer file is a
    /// configuration error. Default 500000 (the whole relay consensus is
    /// under 10000).
    pub tor_relays_max: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            tor_relays_file: None,
            tor_relays_max: 500_000,
        }
    }
}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug, Default)]
pub struct ProxyCtx {
    tor_relays: Option<tor::RelayList>,
}

impl ProxyCtx {
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(cfg: &ProxyConfig) -> Result<Self, String> {
        let tor_relays = match &cfg.tor_relays_file {
            Some(p) => Some(tor::RelayList::load(p, cfg.tor_relays_max)?),
            None => None,
        };
        Ok(ProxyCtx { tor_relays })
    }

    /// Number of Tor relay addresses loaded (0 without a feed).
    pub fn tor_relays(&self) -> usize {
        self.tor_relays.as_ref().map_or(0, tor::RelayList::len)
    }
}

/// Per-flow state of this family's detectors (fixed size, no allocation).
#[derive(Debug, Default)]
pub struct ProxyDetectors {
    tor: tor::Tor,
    psiphon: psiphon::Psiphon,
    ultrasurf: ultrasurf::UltraSurf,
    fully_encrypted: fully_encrypted::FullyEncrypted,
    tls_in_tls: tls_in_tls::TlsInTls,
    websocket: websocket::WebSocketProxy,
}

impl ProxyDetectors {
    /// One payload packet of the flow's inspection window; findings go to `out`.
    pub fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        facts: &FlowFacts<'_>,
        ctx: &ProxyCtx,
        out: &mut Vec<Detection>,
    ) {
        if !self.tor.done() {
            self.tor.on_packet(p, facts, ctx.tor_relays.as_ref(), out);
        }
        if !self.fully_encrypted.done() {
            self.fully_encrypted.on_packet(p, facts, out);
        }
        if !self.tls_in_tls.done() {
            self.tls_in_tls.on_packet(p, facts, out);
        }
        if !self.websocket.done() {
            self.websocket.on_packet(p, facts, out);
        }
    }

    /// The dissectors may have learnt something (a hello, a certificate,
    /// an HTTP head, a DNS answer); findings go to `out`.
    pub fn on_facts(&mut self, facts: &FlowFacts<'_>, _ctx: &ProxyCtx, out: &mut Vec<Detection>) {
        if !self.tor.done() {
            self.tor.on_facts(facts, out);
        }
        if !self.psiphon.done() {
            self.psiphon.on_facts(facts, out);
        }
        if !self.ultrasurf.done() {
            self.ultrasurf.on_facts(facts, out);
        }
    }

    /// The flow ended (or was evicted): last look at the whole window.
    pub fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &ProxyCtx, out: &mut Vec<Detection>) {
        self.on_facts(facts, ctx, out);
    }

    /// True when no detector of this family wants more packets or facts.
    pub fn done(&self) -> bool {
        self.tor.done()
            && self.psiphon.done()
            && self.ultrasurf.done()
            && self.fully_encrypted.done()
            && self.tls_in_tls.done()
            && self.websocket.done()
    }
}

#[cfg(test)]
pub(crate) mod tests_util {
    //! Builders for the detectors' unit tests.
    use crate::decode::Addr;
    use crate::detect::{FlowFacts, PacketView};
    use crate::dissect::Direction;
    use crate::dissect::tls::{CertInfo, ClientHelloInfo, Ja3, Ja4};

    /// Hex text (whitespace ignored) to bytes.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    /// Facts of a TCP flow 10.0.0.1:40000 -> 10.0.0.2:1234 with no dissector.
    pub(crate) fn facts() -> FlowFacts<'static> {
        FlowFacts {
            proto: crate::decode::IpProto::TCP,
            client: (Addr::v4([10, 0, 0, 1]), 40000),
            server: (Addr::v4([10, 0, 0, 2]), 1234),
            packets: &[],
            app: None,
            dns_name: None,
            tunnel: None,
            pkts: [0, 0],
            bytes: [0, 0],
            duration_us: 0,
        }
    }

    /// A TCP payload packet view.
    pub(crate) fn view(index: u16, dir: Direction, payload: &[u8]) -> PacketView<'_> {
        PacketView {
            dir,
            index,
            offset_us: u64::from(index) * 1000,
            proto: crate::decode::IpProto::TCP,
            client_port: 40000,
            server_port: 1234,
            tcp_flags: 0x18,
            icmp: None,
            payload,
        }
    }

    /// A ClientHello's facts.
    pub(crate) fn hello(
        sni: Option<&str>,
        alpn: &[&str],
        extensions: &[u16],
        max_version: u16,
    ) -> ClientHelloInfo {
        ClientHelloInfo {
            legacy_version: max_version.min(0x0303),
            max_version,
            supported_versions: Vec::new(),
            sni: sni.map(str::to_string),
            alpn: alpn.iter().map(|a| a.as_bytes().to_vec()).collect(),
            cipher_suites: Vec::new(),
            extensions: extensions.to_vec(),
            supported_groups: Vec::new(),
            ec_point_formats: Vec::new(),
            signature_algorithms: Vec::new(),
            ja3: Ja3 {
                hash: String::new(),
                string: String::new(),
            },
            ja4: Ja4 {
                ja4: String::new(),
                ja4_r: String::new(),
            },
        }
    }

    /// A leaf certificate's facts.
    pub(crate) fn cert(subject: &str, issuer: &str) -> CertInfo {
        CertInfo {
            subject: subject.into(),
            issuerdn: issuer.into(),
            serial: String::new(),
            fingerprint: String::new(),
            notbefore: "2020-08-09T00:00:00".into(),
            notafter: "2021-08-09T12:00:00".into(),
            notbefore_unix: 1_596_931_200,
            notafter_unix: 1_628_510_400,
            self_signed: false,
            san: Vec::new(),
        }
    }
}
