//! Services recognised by name: curated, sourced lists of VPN and proxy service domains matched against SNI, resolved names, HTTP hosts and certificate names; extended from the config.

use super::{Detection, FlowFacts, PacketView};
use serde::Deserialize;

/// The `[detect.names]` configuration section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NamesConfig {}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug, Default)]
pub struct NamesCtx {}

impl NamesCtx {
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(_cfg: &NamesConfig) -> Result<Self, String> {
        Ok(NamesCtx {})
    }
}

/// Per-flow state of this family's detectors.
#[derive(Debug, Default)]
pub struct NamesDetectors {}

impl NamesDetectors {
    /// One payload packet of the flow's inspection window; findings go to `out`.
    pub fn on_packet(
        &mut self,
        _p: &PacketView<'_>,
        _facts: &FlowFacts<'_>,
        _ctx: &NamesCtx,
        _out: &mut Vec<Detection>,
    ) {
    }

    /// The dissectors may have learnt something (a hello, a certificate,
    /// an HTTP head, a DNS answer); findings go to `out`.
    pub fn on_facts(&mut self, _facts: &FlowFacts<'_>, _ctx: &NamesCtx, _out: &mut Vec<Detection>) {
    }

    /// The flow ended (or was evicted): last look at the whole window.
    pub fn on_end(&mut self, _facts: &FlowFacts<'_>, _ctx: &NamesCtx, _out: &mut Vec<Detection>) {}

    /// True when no detector of this family wants more packets or facts.
    pub fn done(&self) -> bool {
        true
    }
}
