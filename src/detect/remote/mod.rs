//! Remote-desktop and remote-control tools recognised by structure (RDP, VNC/RFB, TeamViewer, AnyDesk, RustDesk, NoMachine/NX, Radmin, Citrix ICA, X11/XDMCP, Telnet, rsh/rlogin/rexec, SSH, ...).
//!
//! One file per protocol, each a small fixed-size state machine fed the
//! flow's first payload packets (or, for AnyDesk and SSH, the dissectors'
//! facts); ports never decide anything. Remote-service domain names are the
//! `names` family's business. The detectors, their confidence rules and
//! evidence keys are documented in `docs/detect-remote.md`.

use super::{Basis, Category, Confidence, Detection, Protocol};
use crate::detect::wire::{be16, be32, le16, le32, side as di};
use serde::Deserialize;

/// The `[detect.remote]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteConfig {
    /// Report SSH sessions (the class table counts SSH as remote access;
    /// networks where SSH is routine may turn it off rather than allow-list
    /// every host). Default: true.
    pub ssh: bool,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig { ssh: true }
    }
}

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug)]
pub struct RemoteCtx {
    ssh: bool,
}

impl Default for RemoteCtx {
    fn default() -> Self {
        RemoteCtx { ssh: true }
    }
}

impl RemoteCtx {
    /// Builds the shared settings (every value is valid: no error).
    pub fn from_config(cfg: &RemoteConfig) -> Self {
        RemoteCtx { ssh: cfg.ssh }
    }
}

crate::detect::detector::family! {
    /// Per-flow state of this family's detectors.
    pub struct RemoteDetectors: RemoteCtx;
    mod rdp { rdp: RdpTcp, rdp_udp: RdpUdp }
    mod anydesk { anydesk: AnyDesk }
    mod ssh { ssh: Ssh }
    mod vnc { vnc: Vnc }
    mod teamviewer { teamviewer: TeamViewerTcp, teamviewer_udp: TeamViewerUdp }
    mod nomachine { nomachine: NxTcp, nomachine_udp: NxUdp }
    mod radmin { radmin: Radmin }
    mod citrix { citrix: Ica }
    mod x11 { x11: X11 }
    mod xdmcp { xdmcp: Xdmcp }
    mod telnet { telnet: Telnet }
    mod rsh { rsh: Rsh }
    mod rustdesk { rustdesk: RustDesk }
}

/// A remote-access detection of `protocol`.
fn found(
    protocol: Protocol,
    confidence: Confidence,
    basis: Basis,
    reason: impl Into<String>,
) -> Detection {
    Detection::new(Category::RemoteAccess, protocol, confidence, basis, reason)
}

/// Bytes as evidence text: printable ASCII kept, anything else escaped.
fn text(b: &[u8]) -> String {
    let b = &b[..b.len().min(crate::detect::MAX_EVIDENCE_VALUE)];
    b.escape_ascii().to_string()
}

/// True when every byte is printable ASCII (space included).
fn printable(b: &[u8]) -> bool {
    b.iter().all(|c| (0x20..0x7f).contains(c))
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for the detectors' unit tests.
    use crate::decode::IpProto;
    use crate::detect::detector::Detector;
    pub use crate::detect::testutil::{C, S, hex};
    use crate::detect::{Detection, PacketView};
    use crate::dissect::verdict::Direction;

    /// A packet view of `payload` sent in `dir` (ports 50000 -> 40000).
    pub fn pkt(proto: u8, dir: Direction, index: u16, payload: &[u8]) -> PacketView<'_> {
        crate::detect::testutil::packet(IpProto(proto), (50000, 40000), dir, index, payload)
    }

    /// Feeds [`pkt`]`(proto, dir, index, payload)` to a detector's own
    /// `on_packet` (test facts, default context); findings go to `out`.
    pub fn send<D: Detector>(
        det: &mut D,
        proto: u8,
        dir: Direction,
        index: u16,
        payload: &[u8],
        out: &mut Vec<Detection>,
    ) where
        D::Ctx: Default,
    {
        let p = pkt(proto, dir, index, payload);
        det.on_packet(
            &p,
            &crate::detect::testutil::facts(),
            &D::Ctx::default(),
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{C, S, pkt};
    use super::*;
    use crate::detect::detector::Detector;

    /// Hostile input: pseudo-random payloads (and every truncation of a
    /// few real heads) through every packet-level detector must not panic.
    #[test]
    fn random_payloads_do_not_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let seeds: [&[u8]; 6] = [
            b"\x03\x00\x00\x2f\x2a\xe0\x00\x00\x00\x00\x00Cookie: mstshash=a\r\n",
            b"RFB 003.008\n",
            b"\x11\x30\x3c\x00\x18\x00\x00\x00",
            b"\xff\xfa\x18\x00",
            b"l\x00\x0b\x00\x00\x00\x04\x00\x04\x00",
            b"\x32\x0d\x0a\x09",
        ];
        for round in 0..3000u32 {
            let len = (next() % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 3 == 0 {
                let s = seeds[(round as usize / 3) % seeds.len()];
                buf = s[..s.len().min(len)].to_vec();
                buf.extend((0..(next() % 8)).map(|_| next() as u8));
            }
            let mut out = Vec::new();
            for (i, proto) in [6u8, 17].into_iter().enumerate() {
                let mut r = RemoteDetectors::default();
                for k in 0..6u16 {
                    let dir = if (k + i as u16).is_multiple_of(2) {
                        C
                    } else {
                        S
                    };
                    let p = pkt(proto, dir, k, &buf);
                    r.rdp.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.rdp_udp.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.vnc.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.teamviewer.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.nomachine.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.nomachine_udp.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.radmin.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.citrix.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.x11.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.xdmcp.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.telnet.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.rsh.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                    r.rustdesk.on_packet(
                        &p,
                        &crate::detect::testutil::facts(),
                        &Default::default(),
                        &mut out,
                    );
                }
            }
        }
    }
}
