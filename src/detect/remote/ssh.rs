//! SSH sessions, from the SSH dissector's banners (RFC 4253 section 4.2),
//! with a note on how the session was used.
//!
//! The dissector verifies each side's identification string
//! (`SSH-protoversion-softwareversion`); both seen: `Certain`; only one
//! (the other direction lost): `High`, reported at the flow's end.
//!
//! The session's shape is added as evidence, read from the sizes and timing
//! of the inspection window's packets after the first six of each
//! direction (roughly, after the key exchange): many small client packets
//! at human-scale gaps are keystrokes (`interactive`); runs of large packets
//! one way are a file transfer or forwarding (`bulk_to_client`,
//! `bulk_to_server`); too few packets: `undetermined`. This is a plain
//! summary of counts, not a fingerprint format. The finding waits until the
//! window has 24 payload packets (or 64 packets in all, or the flow ends) so
//! the shape can be included.

use super::{found, text};
use crate::detect::detector::{detector_head, Detector};
use crate::detect::{Basis, Confidence, Detection, FlowFacts, Protocol};
use crate::dissect::PacketSummary;
use crate::dissect::verdict::Direction;

/// Payload packets per direction treated as handshake.
const HANDSHAKE_PACKETS: usize = 6;
/// Largest client payload counted as a keystroke packet.
const SMALL: u16 = 128;
/// Smallest payload counted as bulk.
const LARGE: u16 = 1000;
/// Smallest median gap between client packets that looks typed (µs).
const HUMAN_GAP_US: u32 = 20_000;

/// The session's shape and the counts it rests on.
fn shape(packets: &[PacketSummary]) -> (&'static str, String) {
    let mut seen = [0usize; 2];
    let (mut c_small, mut c_large, mut s_large, mut post) = (0, 0, 0, [0usize; 2]);
    let mut gaps = [0u32; 32];
    let mut ngaps = 0;
    let mut last_client: Option<u32> = None;
    for p in packets {
        let d = usize::from(p.dir == Direction::ToClient);
        seen[d] += 1;
        if seen[d] <= HANDSHAKE_PACKETS {
            continue;
        }
        post[d] += 1;
        if d == 0 {
            if p.len <= SMALL {
                c_small += 1;
            }
            if p.len >= LARGE {
                c_large += 1;
            }
            if let Some(t) = last_client
                && ngaps < gaps.len() {
                    gaps[ngaps] = p.offset_us.saturating_sub(t);
                    ngaps += 1;
                }
            last_client = Some(p.offset_us);
        } else if p.len >= LARGE {
            s_large += 1;
        }
    }
    let gaps = &mut gaps[..ngaps];
    gaps.sort_unstable();
    let median = gaps.get(ngaps / 2).copied().unwrap_or(0);
    let summary = format!(
        "{}+{} packets after the handshake: {c_small} client <= {SMALL} B, {c_large} client >= {LARGE} B, \
         {s_large} server >= {LARGE} B, median client gap {} ms",
        post[0],
        post[1],
        median / 1000
    );
    let shape = if post[0] + post[1] < 4 {
        "undetermined"
    } else if s_large >= 3 && 2 * s_large >= post[1] {
        "bulk_to_client"
    } else if c_large >= 3 && 2 * c_large >= post[0] {
        "bulk_to_server"
    } else if c_small >= 3 && 2 * c_small >= post[0] && median >= HUMAN_GAP_US {
        "interactive"
    } else {
        "undetermined"
    };
    (shape, summary)
}

/// SSH state.
#[derive(Debug, Default)]
pub struct Ssh {
    /// Decided.
    done: bool,
}

impl Detector for Ssh {
    detector_head! { ctx: super::RemoteCtx, protocol: Ssh, transports: [TCP], done: done }

    /// Reads the banners, unless SSH is not reported (`[detect.remote]
    /// ssh = false`).
    fn on_facts(&mut self, f: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if ctx.ssh {
            self.look(f, false, out);
        } else {
            self.done = true;
        }
    }

    /// The flow ended: the finding goes out even with one banner.
    fn on_end(&mut self, f: &FlowFacts<'_>, ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        if ctx.ssh {
            self.look(f, true, out);
        }
    }
}

impl Ssh {
    /// Reads the dissector's banners; `end` on the flow's last look.
    fn look(&mut self, f: &FlowFacts<'_>, end: bool, out: &mut Vec<Detection>) {
        let Some(app) = f.app else {
            self.done |= end;
            return;
        };
        let Some(ssh) = app.ssh.as_ref() else {
            self.done = true;
            return;
        };
        let c = ssh.banner(Direction::ToServer);
        let s = ssh.banner(Direction::ToClient);
        if c.is_none() && s.is_none() {
            self.done |= end || f.packets.len() >= 6;
            return;
        }
        let both = c.is_some() && s.is_some();
        let ready = end || f.packets.len() >= 24 || f.pkts[0] + f.pkts[1] >= 64;
        if !ready {
            return;
        }
        self.done = true;
        let mut d = found(
            Protocol::Ssh,
            Confidence::certain_if(both),
            Basis::Structure,
            if both {
                "SSH identification strings from both sides"
            } else {
                "SSH identification string from one side"
            },
        );
        if let Some(b) = c {
            d = d.with("client_banner", text(b.raw.as_bytes()));
        }
        if let Some(b) = s {
            d = d.with("server_banner", text(b.raw.as_bytes()));
        }
        if let Some(v) = ssh.protocol_version() {
            d = d.with("protocol_version", v);
        }
        let (shape, summary) = shape(f.packets);
        out.push(d.with("session_shape", shape).with("shape_basis", summary));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ms: u32, len: u16, dir: Direction) -> PacketSummary {
        PacketSummary {
            offset_us: ms * 1000,
            len,
            dir,
            tcp_flags: 0x18,
        }
    }

    fn handshake() -> Vec<PacketSummary> {
        let mut v = Vec::new();
        for i in 0..6 {
            v.push(p(i * 10, 600, Direction::ToServer));
            v.push(p(i * 10 + 5, 800, Direction::ToClient));
        }
        v
    }

    #[test]
    fn keystrokes_are_interactive() {
        let mut v = handshake();
        for i in 0..8 {
            v.push(p(1000 + i * 180, 36, Direction::ToServer));
            v.push(p(1000 + i * 180 + 2, 36, Direction::ToClient));
        }
        assert_eq!(shape(&v).0, "interactive");
    }

    #[test]
    fn large_server_runs_are_bulk() {
        let mut v = handshake();
        for i in 0..8 {
            v.push(p(1000 + i, 1448, Direction::ToClient));
        }
        v.push(p(1010, 52, Direction::ToServer));
        assert_eq!(shape(&v).0, "bulk_to_client");
    }

    #[test]
    fn short_window_is_undetermined() {
        assert_eq!(shape(&handshake()).0, "undetermined");
    }
}
