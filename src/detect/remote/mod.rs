//! Remote-desktop and remote-control tools recognised by structure (RDP, VNC/RFB, TeamViewer, AnyDesk, RustDesk, NoMachine/NX, Radmin, Citrix ICA, X11/XDMCP, Telnet, rsh/rlogin/rexec, SSH, ...).

use super::{Detection, FlowFacts, PacketView};
use serde::Deserialize;

/// The `[detect.remote]` configuration section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteConfig {}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug, Default)]
pub struct RemoteCtx {}

impl RemoteCtx {
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(_cfg: &RemoteConfig) -> Result<Self, String> {
        Ok(RemoteCtx {})
    }
}

/// Per-flow state of this family's detectors.
#[derive(Debug, Default)]
pub struct RemoteDetectors {}

impl RemoteDetectors {
    /// One payload packet of the flow's inspection window; findings go to `out`.
    pub fn on_packet(
        &mut self,
        _p: &PacketView<'_>,
        _facts: &FlowFacts<'_>,
        _ctx: &RemoteCtx,
        _out: &mut Vec<Detection>,
    ) {
    }

    /// The dissectors may have learnt something; findings go to `out`.
    pub fn on_facts(
        &mut self,
        _facts: &FlowFacts<'_>,
        _ctx: &RemoteCtx,
        _out: &mut Vec<Detection>,
    ) {
    }

    /// The flow ended (or was evicted): last look at the whole window.
    pub fn on_end(&mut self, _facts: &FlowFacts<'_>, _ctx: &RemoteCtx, _out: &mut Vec<Detection>) {}

    /// True when no detector of this family wants more packets or facts.
    pub fn done(&self) -> bool {
        true
    }
}
