//! The detection model every detector reports in: what was found, how sure,
//! on what basis, and the evidence an analyst can check.
//!
//! Detectors themselves arrive with the VPN/proxy/tunnel and remote-access
//! capabilities; this module fixes the schema the event writer and the
//! scorer rely on.

use serde::Serialize;

/// What kind of hiding or remote control a detection is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A VPN tunnel.
    Vpn,
    /// A proxy (SOCKS, HTTP CONNECT, Tor, obfuscating proxies).
    Proxy,
    /// A covert or transition tunnel (DNS/ICMP tunnels, IP-in-IP, Teredo).
    Tunnel,
    /// A remote-desktop or remote-control session.
    RemoteAccess,
    /// The remote side is a hosting/VPS provider.
    Hosting,
    /// The remote side is in a sanctioned region.
    SanctionedRegion,
    /// Evidence that a session is relayed.
    Relay,
}

/// How sure a detection is. A port number alone never exceeds `Low`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Port or name only.
    Low,
    /// Partial structure or behaviour.
    Medium,
    /// Structure verified in one direction, or strong behaviour.
    High,
    /// Protocol structure verified in both directions.
    Certain,
}

/// What a decision rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Message formats verified.
    Structure,
    /// Sizes, timing, entropy.
    Behaviour,
    /// SNI/DNS/certificate matched a list.
    Name,
    /// An address feed.
    Address,
    /// A port number.
    Port,
}

/// One finding about a flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    /// What was found.
    pub category: Category,
    /// Lower-case protocol or tool name (`openvpn`, `wireguard`, `rdp`, ...).
    pub protocol: &'static str,
    /// How sure.
    pub confidence: Confidence,
    /// On what basis.
    pub basis: Basis,
    /// EVE severity: 1 (highest) to 3.
    pub severity: u8,
    /// One sentence an analyst can read.
    pub reason: String,
    /// Facts that support it (names, values, sizes), as key/value strings.
    pub evidence: Vec<(String, String)>,
}
