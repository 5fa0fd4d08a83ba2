//! The `[detect]` configuration section: one sub-section per detector family.

use serde::Deserialize;

/// Detector settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// VPN protocol detectors.
    pub vpn: super::vpn::VpnConfig,
    /// Proxy detectors.
    pub proxy: super::proxy::ProxyConfig,
    /// Covert-tunnel detectors.
    pub tunnel: super::tunnel::TunnelConfig,
    /// Service-name lists.
    pub names: super::names::NamesConfig,
    /// Remote-access detectors.
    pub remote: super::remote::RemoteConfig,
}
