//! VPN protocols recognised by their structure (OpenVPN, WireGuard, IPsec, L2TP, PPTP, SSTP, SoftEther, AnyConnect, Fortinet, Tailscale, ZeroTier, Cloudflare WARP, tinc).

use super::{Detection, FlowFacts, PacketView};
use serde::Deserialize;

/// The `[detect.vpn]` configuration section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VpnConfig {}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug, Default)]
pub struct VpnCtx {}

impl VpnCtx {
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(_cfg: &VpnConfig) -> Result<Self, String> {
        Ok(VpnCtx {})
    }
}

/// Per-flow state of this family's detectors.
#[derive(Debug, Default)]
pub struct VpnDetectors {}

impl VpnDetectors {
    /// One payload packet of the flow's inspection window; findings go to `out`.
    pub fn on_packet(
        &mut self,
        _p: &PacketView<'_>,
        _facts: &FlowFacts<'_>,
        _ctx: &VpnCtx,
        _out: &mut Vec<Detection>,
    ) {
    }

    /// The dissectors may have learnt something (a hello, a certificate,
    /// an HTTP head, a DNS answer); findings go to `out`.
    pub fn on_facts(&mut self, _facts: &FlowFacts<'_>, _ctx: &VpnCtx, _out: &mut Vec<Detection>) {}

    /// The flow ended (or was evicted): last look at the whole window.
    pub fn on_end(&mut self, _facts: &FlowFacts<'_>, _ctx: &VpnCtx, _out: &mut Vec<Detection>) {}

    /// True when no detector of this family wants more packets or facts.
    pub fn done(&self) -> bool {
        true
    }
}
