//! Proxies and anonymisers (Tor, Psiphon, UltraSurf) and fully encrypted or TLS-wrapped proxies (Shadowsocks, VMess, obfs4, Trojan).

use super::{Detection, FlowFacts, PacketView};
use serde::Deserialize;

/// The `[detect.proxy]` configuration section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug, Default)]
pub struct ProxyCtx {}

impl ProxyCtx {
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(_cfg: &ProxyConfig) -> Result<Self, String> {
        Ok(ProxyCtx {})
    }
}

/// Per-flow state of this family's detectors.
#[derive(Debug, Default)]
pub struct ProxyDetectors {}

impl ProxyDetectors {
    /// One payload packet of the flow's inspection window; findings go to `out`.
    pub fn on_packet(
        &mut self,
        _p: &PacketView<'_>,
        _facts: &FlowFacts<'_>,
        _ctx: &ProxyCtx,
        _out: &mut Vec<Detection>,
    ) {
    }

    /// The dissectors may have learnt something (a hello, a certificate,
    /// an HTTP head, a DNS answer); findings go to `out`.
    pub fn on_facts(&mut self, _facts: &FlowFacts<'_>, _ctx: &ProxyCtx, _out: &mut Vec<Detection>) {
    }

    /// The flow ended (or was evicted): last look at the whole window.
    pub fn on_end(&mut self, _facts: &FlowFacts<'_>, _ctx: &ProxyCtx, _out: &mut Vec<Detection>) {}

    /// True when no detector of this family wants more packets or facts.
    pub fn done(&self) -> bool {
        true
    }
}
