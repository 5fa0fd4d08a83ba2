//! The seam every protocol dissector plugs into: the [`AppProto`] names a
//! flow can be labelled with, and the [`Dissector`] trait (probe, parse,
//! log — Suricata's `RustParser` table in Rust generics) that
//! [`super::app::Dissectors`] drives for every candidate of a flow.
//!
//! Dispatch is static: the table in `app.rs` names each dissector's concrete
//! type, so the hot path calls `feed` without a vtable.

use super::{Direction, Verdict};
use serde::{Serialize, Serializer};

/// The application protocol a flow is labelled with once a dissector has
/// confirmed it: one enum instead of string names, so the engine and the
/// detectors compare values and the EVE `app_proto` strings live in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppProto {
    /// TLS over TCP (also inside an HTTP CONNECT or SOCKS tunnel).
    Tls,
    /// DTLS over UDP.
    Dtls,
    /// QUIC (its TLS handshake is read by an inner TLS state).
    Quic,
    /// SSH.
    Ssh,
    /// HTTP/1.x.
    Http,
    /// DNS over UDP or TCP.
    Dns,
    /// SOCKS4/5.
    Socks,
}

impl AppProto {
    /// The EVE `app_proto` string (Suricata's names); serialization uses it.
    pub const fn as_str(self) -> &'static str {
        match self {
            AppProto::Tls => "tls",
            AppProto::Dtls => "dtls",
            AppProto::Quic => "quic",
            AppProto::Ssh => "ssh",
            AppProto::Http => "http",
            AppProto::Dns => "dns",
            AppProto::Socks => "socks",
        }
    }
}

impl std::fmt::Display for AppProto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AppProto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a dissector may look at when the flow's first payload arrives, to
/// decide whether it is a candidate (the "probe" by transport and port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowStart {
    /// True for TCP (stream chunks), false for UDP (whole datagrams).
    pub tcp: bool,
    /// (client, server) ports.
    pub ports: (u16, u16),
}

impl FlowStart {
    /// True when either port is in `ports`: for the few protocols that are
    /// chosen by port rather than content.
    pub fn on_port(&self, ports: &[u16]) -> bool {
        ports.contains(&self.ports.0) || ports.contains(&self.ports.1)
    }
}

/// What becomes of a dissector when an HTTP CONNECT or SOCKS tunnel opens
/// on its flow: the bytes that follow are the tunnelled protocol's.
pub enum OnTunnel<T> {
    /// Dropped: its state means nothing for the tunnel.
    Drop,
    /// Kept with its event, but no longer fed (the tunnel's opener).
    Keep,
    /// Replaced by a fresh state that reads the tunnel.
    Restart(fn() -> T),
}

/// One protocol's per-flow state, as the dissector table drives it: probe
/// ([`Dissector::candidate`]), parse ([`Dissector::feed`]), log
/// ([`Dissector::event`]). The hooks with defaults describe how it takes
/// part in choosing the flow's protocol; most dissectors keep them.
pub trait Dissector: Sized {
    /// What goes under the protocol's key in the flow's EVE record.
    type Event;

    /// The protocol this dissector confirms.
    const PROTO: AppProto;

    /// What happens to this state when a proxy tunnel opens on the flow.
    const ON_TUNNEL: OnTunnel<Self> = OnTunnel::Drop;

    /// A fresh state if the flow could carry this protocol, else `None`
    /// (decided from transport and ports before any byte is read).
    fn candidate(flow: &FlowStart) -> Option<Self>;

    /// Reads the next in-order stream chunk (TCP) or one datagram (UDP).
    fn feed(&mut self, dir: Direction, data: &[u8]) -> Verdict;

    /// The metadata extracted so far, once there is any worth logging.
    fn event(&self) -> Option<&Self::Event>;

    /// The protocol, once the bytes seen prove it: by default, as soon as
    /// there is an event.
    fn confirmed(&self) -> Option<AppProto> {
        self.event().map(|_| Self::PROTO)
    }

    /// True if this state stays when another protocol is confirmed for the
    /// flow (normally every other candidate is dropped then).
    fn kept_beside_other(&self) -> bool {
        false
    }

    /// True once this protocol opened a tunnel (CONNECT granted): the
    /// following bytes belong to another protocol, see [`Dissector::ON_TUNNEL`].
    fn tunnel_open(&self) -> bool {
        false
    }
}

/// Implements [`Dissector::feed`] and [`Dissector::event`] by the state's
/// inherent `feed` and `event`, which callers outside the table (tests, fuzz
/// targets, detectors) use without importing the trait.
macro_rules! feed_and_event_are_inherent {
    () => {
        fn feed(
            &mut self,
            dir: $crate::dissect::Direction,
            data: &[u8],
        ) -> $crate::dissect::Verdict {
            Self::feed(self, dir, data)
        }

        fn event(&self) -> Option<&Self::Event> {
            Self::event(self)
        }
    };
}
pub(crate) use feed_and_event_are_inherent;
