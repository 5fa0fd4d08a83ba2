//! QUIC Initial dissector: recognises QUIC long headers (v1, v2, drafts
//! 27-32), derives the Initial keys every on-path observer can compute
//! (RFC 9001 section 5, RFC 9369 section 3.3), decrypts Initial packets in
//! both directions and reassembles their CRYPTO frames into the TLS
//! handshake byte stream (ClientHello / ServerHello), which the engine hands
//! to the TLS dissector for SNI, ALPN, JA3/JA3S and JA4.
//!
//! Layout:
//! - [`parser`]: zero-copy long-header, coalesced-packet and frame parsers;
//! - [`crypto`]: key schedule, header protection removal, AEAD open;
//! - [`reassembly`]: bounded out-of-order CRYPTO stream reassembly;
//! - [`state`]: the per-flow [`QuicState`] the engine drives;
//! - [`event`]: the [`QuicEvent`] written under `"quic"` (docs/quic.md).
//!
//! Wiring to TLS: call [`QuicState::feed_with`] with a closure that passes
//! each `(direction, bytes)` run to the TLS state's handshake feeder; the
//! bytes arrive in order, each exactly once, per direction.

use super::verdict::{Direction, Verdict};

pub mod crypto;
pub mod event;
pub mod parser;
pub mod reassembly;
pub mod state;
#[cfg(test)]
mod test_vectors;

pub use event::QuicEvent;
pub use parser::Version;
pub use reassembly::MAX_CRYPTO_BYTES;
pub use state::QuicState;

use super::dissector::{AppProto, Dissector, FlowStart};
use super::tls::TlsState;

/// QUIC with the TLS handshake its CRYPTO frames carry: the pair is one
/// dissector, the QUIC state feeding the inner TLS state.
pub type QuicTls = (QuicState, TlsState);

/// QUIC on any UDP port, recognised by its long header.
impl Dissector for QuicTls {
    type Event = QuicEvent;
    const PROTO: AppProto = AppProto::Quic;

    fn candidate(flow: &FlowStart) -> Option<Self> {
        (!flow.tcp).then(|| (QuicState::new(), TlsState::new_quic()))
    }

    fn feed(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        let (quic, tls) = self;
        quic.feed_with(dir, data, &mut |d, b| {
            tls.feed_handshake(d, b);
        })
    }

    fn event(&self) -> Option<&QuicEvent> {
        self.0.event()
    }
}
