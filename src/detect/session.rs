//! The shape of a remote-control session: was someone typing and clicking
//! (interactive), or was it moving data (bulk)? Reported beside
//! remote-access detections as evidence for the analyst; not a fingerprint.

use crate::dissect::{Direction, PacketSummary};

/// Client payloads this small are keystrokes, clicks and pointer moves.
const SMALL: u16 = 160;
/// Client payload packets needed before judging.
const MIN_PACKETS: usize = 4;
/// Median gap between client payloads that looks like a human pace (µs).
const HUMAN_GAP_US: u32 = 30_000;

/// `Some(true)` when the client sent mostly small payloads at a human pace,
/// `Some(false)` when it did not (bulk transfer or machine-driven), `None`
/// with too few client packets to tell.
pub fn interactive(packets: &[PacketSummary]) -> Option<bool> {
    let client: Vec<&PacketSummary> = packets
        .iter()
        .filter(|p| p.dir == Direction::ToServer)
        .collect();
    if client.len() < MIN_PACKETS {
        return None;
    }
    let small = client.iter().filter(|p| p.len <= SMALL).count();
    let mut gaps: Vec<u32> = client
        .windows(2)
        .map(|w| w[1].offset_us.saturating_sub(w[0].offset_us))
        .collect();
    gaps.sort_unstable();
    let median_gap = gaps[gaps.len() / 2];
    Some(small * 10 >= client.len() * 6 && median_gap >= HUMAN_GAP_US)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(ms: u32, len: u16) -> PacketSummary {
        PacketSummary {
            offset_us: ms * 1000,
            len,
            dir: Direction::ToServer,
            tcp_flags: 0x18,
        }
    }

    #[test]
    fn typing_is_interactive_and_upload_is_not() {
        let typing = [c(0, 36), c(180, 36), c(400, 36), c(650, 52), c(900, 36)];
        assert_eq!(interactive(&typing), Some(true));
        let upload = [c(0, 1448), c(1, 1448), c(2, 1448), c(3, 1448), c(4, 1448)];
        assert_eq!(interactive(&upload), Some(false));
        assert_eq!(interactive(&typing[..2]), None);
    }
}
