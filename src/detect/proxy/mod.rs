//! Proxies and anonymisers (Tor, Psiphon, UltraSurf) and fully encrypted or
//! TLS-wrapped proxies (Shadowsocks, VMess, obfs4, Trojan).
//!
//! SOCKS and HTTP CONNECT / forward-proxy handshakes are read from the
//! dissectors by the engine (`engine::proxy_handshake`), not here. One file
//! per detector, each a small fixed-size state machine driven by plain
//! field calls; see docs/detect-proxy.md for what each checks.

mod encap;
#[cfg(test)]
mod testdata;

use super::FlowFacts;
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

/// The TLS state, facts and ClientHello of a TCP flow, once the dissector has
/// them; sets `done` when none will come (not TCP, not TLS, or the TLS
/// dissector gave up). Shared by the detectors that judge the hello.
fn client_hello<'a>(
    facts: &FlowFacts<'a>,
    done: &mut bool,
) -> Option<(
    &'a crate::dissect::tls::TlsState,
    &'a crate::dissect::tls::TlsFacts,
    &'a crate::dissect::tls::ClientHelloInfo,
)> {
    if facts.proto != crate::decode::IpProto::TCP {
        // TLS over TCP only.
        *done = true;
        return None;
    }
    let tls = facts.app?.tls.as_deref();
    let Some(tls) = tls else {
        *done = true;
        return None;
    };
    let Some(f) = tls.facts() else {
        *done |= tls.verdict() != crate::dissect::verdict::Verdict::NeedMore;
        return None;
    };
    Some((tls, f, f.client_hello()?))
}

crate::detect::detector::family! {
    /// Per-flow state of this family's detectors (fixed size, no allocation).
    pub struct ProxyDetectors: ProxyCtx;
    mod tor { tor: Tor }
    mod psiphon { psiphon: Psiphon }
    mod ultrasurf { ultrasurf: UltraSurf }
    mod fully_encrypted { fully_encrypted: FullyEncrypted }
    mod tls_in_tls { tls_in_tls: TlsInTls }
    mod websocket { websocket: WebSocketProxy }
    mod vless { vless: Vless }
    mod simple_obfs { simple_obfs: SimpleObfs }
}

#[cfg(test)]
pub(crate) mod tests_util {
    //! Builders for the detectors' unit tests.
    use crate::detect::PacketView;
    use crate::dissect::Direction;
    use crate::dissect::tls::{CertInfo, ClientHelloInfo};

    pub(crate) use crate::detect::testutil::{facts, hex};

    /// A TCP payload packet view (ports 40000 -> 1234, as [`facts`]).
    pub(crate) fn view(index: u16, dir: Direction, payload: &[u8]) -> PacketView<'_> {
        crate::detect::testutil::packet(
            crate::decode::IpProto::TCP,
            (40000, 1234),
            dir,
            index,
            payload,
        )
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
            transport: Default::default(),
            ja3: Default::default(),
            ja4: Default::default(),
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
