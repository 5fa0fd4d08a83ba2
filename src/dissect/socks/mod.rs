//! SOCKS4, SOCKS4a (no RFC; the NEC protocol notes) and SOCKS5 (RFC 1928,
//! RFC 1929 user/password) handshakes: which target the client asked for and
//! whether the proxy accepted, so the engine can inspect the tunnelled bytes
//! (typically TLS) and detectors can flag the proxy.

pub mod parser;
pub mod state;

pub(crate) use super::verdict::{Direction, Verdict};
pub use state::{SocksEvent, SocksState};

use super::dissector::{AppProto, Dissector, FlowStart, OnTunnel, feed_and_event_are_inherent};

/// SOCKS4/5 on any TCP port; a granted CONNECT opens a tunnel.
impl Dissector for SocksState {
    type Event = SocksEvent;
    const PROTO: AppProto = AppProto::Socks;
    const ON_TUNNEL: OnTunnel<Self> = OnTunnel::Keep;

    fn candidate(flow: &FlowStart) -> Option<Self> {
        flow.tcp.then(SocksState::new)
    }

    feed_and_event_are_inherent!();

    fn tunnel_open(&self) -> bool {
        SocksState::tunnel_open(self)
    }
}
