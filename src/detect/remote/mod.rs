//! Remote-desktop and remote-control tools recognised by structure (RDP, VNC/RFB, TeamViewer, AnyDesk, RustDesk, NoMachine/NX, Radmin, Citrix ICA, X11/XDMCP, Telnet, rsh/rlogin/rexec, SSH, ...).
//!
//! One file per protocol, each a small fixed-size state machine fed the
//! flow's first payload packets (or, for AnyDesk and SSH, the dissectors'
//! facts); ports never decide anything. Remote-service domain names are the
//! `names` family's business. The detectors, their confidence rules and
//! evidence keys are documented in `docs/detect-remote.md`.

use crate::decode::IpProto;
mod anydesk;
mod citrix;
mod nomachine;
mod radmin;
mod rdp;
mod rsh;
mod rustdesk;
mod ssh;
mod teamviewer;
mod telnet;
mod vnc;
mod x11;
mod xdmcp;

use super::{Basis, Category, Confidence, Detection, FlowFacts, PacketView, Protocol};
use crate::dissect::verdict::Direction;
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
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(cfg: &RemoteConfig) -> Result<Self, String> {
        Ok(RemoteCtx { ssh: cfg.ssh })
    }
}

/// Per-flow state of this family's detectors.
#[derive(Debug, Default)]
pub struct RemoteDetectors {
    rdp: rdp::RdpTcp,
    rdp_udp: rdp::RdpUdp,
    vnc: vnc::Vnc,
    teamviewer: teamviewer::TeamViewerTcp,
    teamviewer_udp: teamviewer::TeamViewerUdp,
    nomachine: nomachine::NxTcp,
    nomachine_udp: nomachine::NxUdp,
    radmin: radmin::Radmin,
    citrix: citrix::Ica,
    x11: x11::X11,
    xdmcp: xdmcp::Xdmcp,
    telnet: telnet::Telnet,
    rsh: rsh::Rsh,
    rustdesk: rustdesk::RustDesk,
    anydesk: anydesk::AnyDesk,
    ssh: ssh::Ssh,
    /// Set once the flow's transport rules every detector out.
    off: bool,
}

impl RemoteDetectors {
    /// One payload packet of the flow's inspection window; findings go to `out`.
    pub fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        facts: &FlowFacts<'_>,
        _ctx: &RemoteCtx,
        out: &mut Vec<Detection>,
    ) {
        match p.proto {
            IpProto::TCP => {
                if !self.rdp.done {
                    self.rdp.on_packet(p, out);
                }
                if !self.vnc.done {
                    self.vnc.on_packet(p, out);
                }
                if !self.teamviewer.done {
                    self.teamviewer.on_packet(p, out);
                }
                if !self.nomachine.done {
                    self.nomachine.on_packet(p, out);
                }
                if !self.radmin.done {
                    self.radmin.on_packet(p, out);
                }
                if !self.citrix.done {
                    self.citrix.on_packet(p, out);
                }
                if !self.x11.done {
                    self.x11.on_packet(p, out);
                }
                if !self.telnet.done {
                    self.telnet.on_packet(p, out);
                }
                if !self.rsh.done {
                    self.rsh.on_packet(p, out);
                }
                if !self.rustdesk.done {
                    self.rustdesk.on_packet(p, out);
                }
            }
            IpProto::UDP => {
                if !self.rdp_udp.done {
                    self.rdp_udp.on_packet(p, out);
                }
                if !self.teamviewer_udp.done {
                    self.teamviewer_udp.on_packet(p, facts, out);
                }
                if !self.nomachine_udp.done {
                    self.nomachine_udp.on_packet(p, out);
                }
                if !self.xdmcp.done {
                    self.xdmcp.on_packet(p, out);
                }
                if !self.rustdesk.done {
                    self.rustdesk.on_packet(p, out);
                }
            }
            _ => self.off = true,
        }
    }

    /// The dissectors may have learnt something; findings go to `out`.
    pub fn on_facts(&mut self, facts: &FlowFacts<'_>, ctx: &RemoteCtx, out: &mut Vec<Detection>) {
        if facts.proto != IpProto::TCP {
            return;
        }
        if !self.anydesk.done {
            self.anydesk.on_facts(facts, out);
        }
        if !self.ssh.done {
            if ctx.ssh {
                self.ssh.on_facts(facts, false, out);
            } else {
                self.ssh.done = true;
            }
        }
    }

    /// The flow ended (or was evicted): last look at the whole window.
    pub fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &RemoteCtx, out: &mut Vec<Detection>) {
        if facts.proto == IpProto::TCP {
            if !self.anydesk.done {
                self.anydesk.on_facts(facts, out);
            }
            if ctx.ssh && !self.ssh.done {
                self.ssh.on_facts(facts, true, out);
            }
        }
        if !self.vnc.done {
            self.vnc.flush(out);
        }
        if !self.rsh.done {
            self.rsh.flush(out);
        }
    }

    /// True when no detector of this family wants more packets or facts.
    pub fn done(&self) -> bool {
        self.off
            || (self.rdp.done
                && self.rdp_udp.done
                && self.vnc.done
                && self.teamviewer.done
                && self.teamviewer_udp.done
                && self.nomachine.done
                && self.nomachine_udp.done
                && self.radmin.done
                && self.citrix.done
                && self.x11.done
                && self.xdmcp.done
                && self.telnet.done
                && self.rsh.done
                && self.rustdesk.done
                && self.anydesk.done
                && self.ssh.done)
    }
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

/// 0 for client-to-server, 1 for server-to-client.
fn di(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
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
    use super::*;

    /// Hex text to bytes (whitespace ignored).
    pub fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    /// A packet view of `payload` sent in `dir`.
    pub fn pkt(proto: u8, dir: Direction, index: u16, payload: &[u8]) -> PacketView<'_> {
        PacketView {
            dir,
            index,
            offset_us: u64::from(index) * 1000,
            proto: IpProto(proto),
            client_port: 50000,
            server_port: 40000,
            tcp_flags: if proto == 6 { 0x18 } else { 0 },
            icmp: None,
            payload,
        }
    }

    /// Client-to-server.
    pub const C: Direction = Direction::ToServer;
    /// Server-to-client.
    pub const S: Direction = Direction::ToClient;
}

#[cfg(test)]
mod tests {
    use super::testutil::{C, S, pkt};
    use super::*;

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
                    let dir = if (k + i as u16) % 2 == 0 { C } else { S };
                    let p = pkt(proto, dir, k, &buf);
                    r.rdp.on_packet(&p, &mut out);
                    r.rdp_udp.on_packet(&p, &mut out);
                    r.vnc.on_packet(&p, &mut out);
                    r.teamviewer.on_packet(&p, &mut out);
                    r.nomachine.on_packet(&p, &mut out);
                    r.nomachine_udp.on_packet(&p, &mut out);
                    r.radmin.on_packet(&p, &mut out);
                    r.citrix.on_packet(&p, &mut out);
                    r.x11.on_packet(&p, &mut out);
                    r.xdmcp.on_packet(&p, &mut out);
                    r.telnet.on_packet(&p, &mut out);
                    r.rsh.on_packet(&p, &mut out);
                    r.rustdesk.on_packet(&p, &mut out);
                }
            }
        }
    }
}
