//! VPN protocols recognised by their structure (OpenVPN, WireGuard, IPsec, L2TP, PPTP, SSTP, SoftEther, AnyConnect, Fortinet, Tailscale, ZeroTier, Cloudflare WARP, tinc).
//!
//! One file per protocol, each a small fixed-size state machine fed the
//! flow's first payload packets; ports never decide anything. The detectors
//! and their confidence rules are documented in `docs/detect-vpn.md`.

#[cfg(test)]
use super::PacketView;
use super::{Basis, Category, Confidence, Detection, FlowFacts, Protocol};
use crate::decode::IpProto;
use crate::detect::related::Related;
use crate::detect::wire::{be32, le64, side};
use serde::Deserialize;

/// The `[detect.vpn]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VpnConfig {
    /// Report sessions whose handshake was not captured (OpenVPN
    /// `P_DATA_V2`, WireGuard transport, ESP) from their data packets alone
    /// (at most `high`). Default: true.
    pub midstream: bool,
}

impl Default for VpnConfig {
    fn default() -> Self {
        VpnConfig { midstream: true }
    }
}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug)]
pub struct VpnCtx {
    midstream: bool,
}

impl Default for VpnCtx {
    fn default() -> Self {
        VpnCtx { midstream: true }
    }
}

impl VpnCtx {
    /// Builds the shared settings (every value is valid: no error).
    pub fn from_config(cfg: &VpnConfig) -> Self {
        VpnCtx {
            midstream: cfg.midstream,
        }
    }
}

crate::detect::detector::family! {
    /// Per-flow state of this family's detectors.
    pub struct VpnDetectors: VpnCtx;
    mod openvpn { openvpn: OpenVpn }
    mod openvpn_static { openvpn_static: OpenVpnStatic }
    mod wireguard { wireguard: WireGuard }
    mod ipsec { ipsec: Ipsec }
    mod l2tp { l2tp: L2tp }
    mod pptp { pptp: Pptp }
    mod tinc { tinc: Tinc }
    mod softether { softether: SoftEther }
    mod anyconnect { anyconnect: AnyConnect }
    mod fortinet { fortinet: Fortinet }
    keep = keep_finding;
}

/// Findings made from data packets alone are kept only with
/// `[detect.vpn] midstream = true`.
fn keep_finding(ctx: &VpnCtx, d: &Detection) -> bool {
    ctx.midstream || !d.midstream
}

impl VpnDetectors {
    /// The flow ended and other flows between the same two hosts had
    /// confident VPN findings: tie this flow to them where the protocol
    /// says it runs a second channel.
    /// - tinc: its UDP data channel uses the port of its TCP meta
    ///   connection (tinc.conf(5): `Port`, default 655, for both), and
    ///   carries only encrypted packets; a UDP flow between the same hosts on
    ///   that port is that channel.
    /// - AnyConnect/OpenConnect: the client first opens a TLS (CSTP) tunnel
    ///   to the gateway, then a DTLS channel to the same address and port
    ///   (OpenConnect protocol draft, draft-mavrogiannopoulos-openconnect);
    ///   a TLS flow from the same client to that address and port is CSTP.
    pub fn on_related(
        &mut self,
        related: &[Related],
        facts: &FlowFacts<'_>,
        ctx: &VpnCtx,
        out: &mut Vec<Detection>,
    ) {
        if self.off || !ctx.midstream {
            return;
        }
        let server = facts.server;
        for r in related {
            let same_server = r.server == server.0 && r.server_port == server.1;
            // tinc daemons talk to each other both ways: the UDP channel may
            // be opened by either end, towards or from the meta port.
            let either_end =
                same_server || (r.server == facts.client.0 && r.server_port == facts.client.1);
            let tie = match r.protocol {
                Protocol::Tinc => facts.proto == IpProto::UDP && r.l4 == IpProto::TCP && either_end,
                Protocol::AnyConnect => {
                    facts.proto == IpProto::TCP
                        && r.l4 == IpProto::UDP
                        && same_server
                        && facts
                            .app
                            .is_some_and(|a| a.tls.as_ref().is_some_and(|t| t.event().is_some()))
                }
                _ => false,
            };
            if tie {
                out.push(
                    Detection::new(
                        Category::Vpn,
                        r.protocol,
                        Confidence::High,
                        Basis::Behaviour,
                        format!(
                            "second channel of a {} session between the same hosts",
                            r.protocol.display_name()
                        ),
                    )
                    .with("related_flow_id", r.flow_id),
                );
            }
        }
    }
}

/// A VPN finding resting on verified message structure.
fn structure(protocol: Protocol, confidence: Confidence, reason: &'static str) -> Detection {
    Detection::new(
        Category::Vpn,
        protocol,
        confidence,
        Basis::Structure,
        reason,
    )
}

/// Lower-case hex of a short byte string (evidence values).
fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::detector::Detector;
    use crate::detect::testutil;
    pub use crate::detect::testutil::hex as unhex;

    /// Feeds (to_server, hex) packets to a detector's own `on_packet` (test
    /// facts, default context) while it is not done, as its family does;
    /// returns its findings.
    pub fn feed<D: Detector>(det: &mut D, proto: u8, pk: &[(bool, &str)]) -> Vec<Detection>
    where
        D::Ctx: Default,
    {
        feed_ports(det, proto, 40000, 40001, pk)
    }

    /// The confidence of the last finding a fresh `D` reports on `pk`
    /// (see [`feed`]); `None` when it reports nothing.
    pub fn last_confidence<D: Detector>(proto: u8, pk: &[(bool, &str)]) -> Option<Confidence>
    where
        D::Ctx: Default,
    {
        feed(&mut D::default(), proto, pk)
            .last()
            .map(|d| d.confidence)
    }

    /// As [`feed`] with explicit ports.
    pub fn feed_ports<D: Detector>(
        det: &mut D,
        proto: u8,
        client_port: u16,
        server_port: u16,
        pk: &[(bool, &str)],
    ) -> Vec<Detection>
    where
        D::Ctx: Default,
    {
        let ctx = D::Ctx::default();
        let facts = testutil::facts();
        run_ports(proto, client_port, server_port, pk, |p, o| {
            if !det.done() {
                det.on_packet(p, &facts, &ctx, o);
            }
        })
    }

    /// Feeds (to_server, hex) packets between the given ports to `f`;
    /// returns the findings.
    pub fn run_ports(
        proto: u8,
        client_port: u16,
        server_port: u16,
        pk: &[(bool, &str)],
        mut f: impl FnMut(&PacketView<'_>, &mut Vec<Detection>),
    ) -> Vec<Detection> {
        let mut out = Vec::new();
        for (i, (to_server, h)) in pk.iter().enumerate() {
            let bytes = unhex(h);
            let dir = if *to_server { testutil::C } else { testutil::S };
            let ports = (client_port, server_port);
            let p = testutil::packet(IpProto(proto), ports, dir, i as u16, &bytes);
            f(&p, &mut out);
        }
        out
    }
}
