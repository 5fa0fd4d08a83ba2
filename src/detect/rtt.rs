//! Cross-layer round trips: the transport round trip to the remote side of
//! a TCP session against the application round trip to the same side.
//!
//! A relay or proxy that terminates TCP near the sensor answers the TCP
//! handshake quickly, while every application exchange still travels to the
//! real peer and back: the application round trip then far exceeds the TCP
//! one (the cross-layer RTT idea of Xue et al., NDSS 2025; this is our own
//! method, not FoxIO's JA4L). Minima over several exchanges discount think
//! time, prompts and server processing.
//!
//! - Remote side is the server (outbound session, or no inside/outside
//!   distinction): TCP RTT = SYN → SYN/ACK; application RTT = a client
//!   payload → the next server payload.
//! - Remote side is the client (inbound session): TCP RTT = SYN/ACK → the
//!   client's ACK; application RTT = a server payload → the client's next
//!   payload.

use crate::decode::IpProto;
use crate::dissect::{Direction, PacketSummary};

/// Which side the round trips were measured to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The server (the client is the sensor's side).
    Server,
    /// The client (an inbound session).
    Client,
}

impl Side {
    /// Event name.
    pub fn name(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

pub use crate::flow::tcp::Handshake;

/// Round trips measured on one flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rtt {
    /// Towards which side.
    pub side: Side,
    /// Transport round trip, µs.
    pub tcp_us: u64,
    /// Smallest application round trip, µs.
    pub app_us: u64,
    /// Request/response exchanges the minimum was taken over.
    pub exchanges: u32,
}

impl Rtt {
    /// Application RTT over TCP RTT (the TCP RTT floored at 50 µs so a
    /// loopback handshake does not divide by zero).
    pub fn ratio(&self) -> f64 {
        self.app_us as f64 / self.tcp_us.max(50) as f64
    }
}

/// Exchanges needed before a relay is claimed.
pub const MIN_EXCHANGES: u32 = 3;
/// The application RTT must exceed the TCP one by this factor...
pub const MIN_RATIO: f64 = 3.0;
/// ...and by at least this much (µs): a LAN server's processing time is
/// not a relay.
pub const MIN_EXTRA_US: u64 = 20_000;

/// Measures the round trips of a TCP flow; `None` without a handshake or
/// without any exchange.
pub fn measure(h: &Handshake, packets: &[PacketSummary], side: Side) -> Option<Rtt> {
    let tcp_us = match side {
        Side::Server => h.syn_ack?.micros_since(h.syn?),
        Side::Client => h.ack?.micros_since(h.syn_ack?),
    };
    let (ask, answer) = match side {
        Side::Server => (Direction::ToServer, Direction::ToClient),
        Side::Client => (Direction::ToClient, Direction::ToServer),
    };
    // Packet offsets are relative to the flow's first packet, which may be
    // the SYN: only their differences are used.
    let mut last_ask: Option<u32> = None;
    let mut best = u64::MAX;
    let mut exchanges = 0u32;
    for p in packets {
        if p.dir == ask {
            last_ask = Some(p.offset_us);
        } else if p.dir == answer
            && let Some(t) = last_ask.take()
        {
            exchanges += 1;
            best = best.min(u64::from(p.offset_us.saturating_sub(t)));
        }
    }
    (exchanges > 0).then_some(Rtt {
        side,
        tcp_us,
        app_us: best,
        exchanges,
    })
}

/// Round trips to the remote side of a TCP flow with a seen handshake: the
/// client for an inbound session (per `home`), else the server.
pub fn of_flow(
    flow: &crate::flow::Flow,
    packets: &[PacketSummary],
    home: &crate::enrich::home::HomeNet,
) -> Option<Rtt> {
    if flow.key.proto != IpProto::TCP {
        return None;
    }
    let side = match home.direction(flow.client().0, flow.server().0) {
        crate::enrich::home::Direction::Inbound => Side::Client,
        _ => Side::Server,
    };
    measure(&flow.handshake, packets, side)
}

/// True when the round trips say a relay terminates TCP near the sensor.
pub fn looks_relayed(r: &Rtt) -> bool {
    r.exchanges >= MIN_EXCHANGES && r.ratio() >= MIN_RATIO && r.app_us >= r.tcp_us + MIN_EXTRA_US
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    fn pkt(ms: u32, dir: Direction) -> PacketSummary {
        PacketSummary {
            offset_us: ms * 1000,
            len: 100,
            dir,
            tcp_flags: 0x18,
        }
    }

    fn hs(syn_ack_ms: u64) -> Handshake {
        Handshake {
            syn: Some(Timestamp(0)),
            syn_ack: Some(Timestamp(syn_ack_ms * 1000)),
            ack: Some(Timestamp(syn_ack_ms * 1000 + 100)),
        }
    }

    #[test]
    fn relayed_session_has_slow_application_round_trips() {
        use Direction::*;
        // TCP answered in 1 ms by a nearby relay; every exchange takes 81 ms.
        let pkts = [
            pkt(2, ToServer),
            pkt(83, ToClient),
            pkt(100, ToServer),
            pkt(181, ToClient),
            pkt(300, ToServer),
            pkt(390, ToClient),
        ];
        let r = measure(&hs(1), &pkts, Side::Server).unwrap();
        assert_eq!(r.tcp_us, 1000);
        assert_eq!(r.app_us, 81_000);
        assert_eq!(r.exchanges, 3);
        assert!(looks_relayed(&r));
    }

    #[test]
    fn distant_direct_peer_is_not_a_relay() {
        use Direction::*;
        // 80 ms each way for both layers: far away, but not relayed.
        let pkts = [
            pkt(82, ToServer),
            pkt(163, ToClient),
            pkt(200, ToServer),
            pkt(281, ToClient),
            pkt(400, ToServer),
            pkt(480, ToClient),
        ];
        let r = measure(&hs(80), &pkts, Side::Server).unwrap();
        assert!(!looks_relayed(&r), "{r:?}");
    }

    #[test]
    fn lan_server_processing_is_not_a_relay() {
        use Direction::*;
        // 0.2 ms handshake, 5 ms server think time: ratio is large, the
        // extra time is not.
        let pkts = [
            pkt(1, ToServer),
            pkt(6, ToClient),
            pkt(10, ToServer),
            pkt(15, ToClient),
            pkt(20, ToServer),
            pkt(25, ToClient),
        ];
        let mut h = hs(0);
        h.syn_ack = Some(Timestamp(200));
        let r = measure(&h, &pkts, Side::Server).unwrap();
        assert!(!looks_relayed(&r), "{r:?}");
    }

    #[test]
    fn inbound_measures_towards_the_client() {
        use Direction::*;
        let pkts = [
            pkt(2, ToClient),
            pkt(60, ToServer),
            pkt(70, ToClient),
            pkt(130, ToServer),
        ];
        let r = measure(&hs(1), &pkts, Side::Client).unwrap();
        assert_eq!(r.tcp_us, 100);
        assert_eq!(r.app_us, 58_000);
        assert_eq!(r.exchanges, 2);
    }
}
