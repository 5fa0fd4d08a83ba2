//! TLS, DTLS and QUIC-handshake dissector: reads the cleartext part of the
//! handshake (ClientHello, ServerHello, and for TLS <= 1.2 the server's leaf
//! certificate) and derives JA3, JA3S and JA4 fingerprints.
//!
//! Why: encrypted tunnels, VPNs and proxies mostly look alike on the wire
//! except for these handshake facts, so they are what the sensor's detectors
//! key on. Layout:
//! * [`parser`]: zero-copy record / handshake / hello parsers;
//! * [`fingerprint`]: JA3 / JA3S / JA4 (BSD-3-Clause methods only);
//! * [`cert`]: leaf-certificate facts in Suricata's formats;
//! * [`state`]: the per-flow [`TlsState`] the engine drives;
//! * [`event`]: the EVE `tls` object [`TlsEvent`] (documented in docs/tls.md).

pub mod cert;
pub mod event;
pub mod fingerprint;
pub mod parser;
pub mod state;
#[cfg(test)]
mod testdata;

pub(crate) use super::verdict::{Direction, Verdict};

pub use cert::CertInfo;
pub use event::TlsEvent;
pub use fingerprint::{Ja3, Ja4, Ja4Original, Transport};
pub use state::{ClientHelloInfo, ServerHelloInfo, TlsFacts, TlsState};

use super::dissector::{AppProto, Dissector, FlowStart, OnTunnel, feed_and_event_are_inherent};

/// TLS on any TCP port (by content), DTLS on any UDP port; restarted on a
/// proxy tunnel, whose bytes are usually TLS.
impl Dissector for TlsState {
    type Event = TlsEvent;
    const PROTO: AppProto = AppProto::Tls;
    const ON_TUNNEL: OnTunnel<Self> = OnTunnel::Restart(TlsState::new);

    fn candidate(flow: &FlowStart) -> Option<Self> {
        Some(if flow.tcp {
            TlsState::new()
        } else {
            TlsState::new_dtls()
        })
    }

    feed_and_event_are_inherent!();

    fn confirmed(&self) -> Option<AppProto> {
        self.proto()
    }

    /// A handshake already read stays (TLS inside a confirmed protocol).
    fn kept_beside_other(&self) -> bool {
        self.has_event()
    }
}
