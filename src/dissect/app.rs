//! The per-flow set of candidate dissectors and how payload reaches them.
//!
//! Candidates are chosen by each dissector's [`Dissector::candidate`] from
//! the transport (and, for DNS only, well-known ports); every other protocol
//! is recognised by content on any port. A candidate that answers `NotMine`
//! is dropped at once; once one protocol is confirmed the others are dropped
//! too (unless [`Dissector::kept_beside_other`]). After an HTTP CONNECT or a
//! SOCKS handshake opens a tunnel, each dissector's [`Dissector::ON_TUNNEL`]
//! says what becomes of it (TLS restarts and reads the tunnel).
//!
//! The table below is the only place that lists the dissectors: adding one
//! is a new folder implementing [`Dissector`] plus one line here.

use super::dissector::{AppProto, Dissector, FlowStart, OnTunnel};
use super::dns::DnsState;
use super::http::HttpState;
use super::quic::QuicTls;
use super::socks::SocksState;
use super::ssh::SshState;
use super::tls::TlsState;
use super::{Direction, Verdict};

/// Generates [`Dissectors`] from the table: one boxed slot per dissector,
/// an active bit per slot, and the per-slot loops of `for_transport`,
/// `app_proto`, `feed` and `after_feed`. Slots are listed in the order the
/// flow's `app_proto` is chosen when several confirmed.
macro_rules! dissector_table {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty, )*) => {
        /// Dissector states of one flow. Each is boxed and created only for
        /// flows whose transport allows it, so an idle flow costs one pointer.
        #[derive(Debug, Default)]
        pub struct Dissectors {
            $( $(#[$doc])* pub $field: Option<Box<$ty>>, )*
            /// Bit per dissector still being fed (see [`Slot`]).
            active: u8,
            /// Set once a tunnel (CONNECT, SOCKS) opened and its dissectors
            /// were restarted.
            tunnel_tls: bool,
        }

        /// Slot numbers: `1 << Slot::x` is the slot's bit in `active`.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Slot { $($field,)* }

        impl Dissectors {
            /// The candidates for a flow's transport and ports.
            pub fn for_transport(tcp: bool, ports: (u16, u16)) -> Self {
                let start = FlowStart { tcp, ports };
                let mut d = Dissectors::default();
                $( d.active |= start_slot(&mut d.$field, Slot::$field, &start); )*
                d
            }

            /// The application protocol, once a dissector has confirmed one.
            /// After a granted HTTP CONNECT it is the tunnelled TLS, as
            /// Suricata writes it (the CONNECT stays in the `http` object).
            pub fn app_proto(&self) -> Option<AppProto> {
                if self.tunnel_tls && self.http.as_ref().is_some_and(|h| h.tunnel_open()) {
                    if let Some(p) = self.tls.as_ref().and_then(|s| s.confirmed()) {
                        return Some(p);
                    }
                }
                None $( .or_else(|| self.$field.as_ref().and_then(|s| s.confirmed())) )*
            }

            /// Feeds one in-order stream chunk (TCP) or one datagram (UDP).
            pub fn feed(&mut self, dir: Direction, data: &[u8]) {
                $( feed_slot(&mut self.$field, &mut self.active, Slot::$field, dir, data); )*
                self.after_feed();
            }

            /// Drops candidates once one protocol is confirmed, and applies
            /// `ON_TUNNEL` once a proxy tunnel opens.
            fn after_feed(&mut self) {
                let tunnel_open = false $( || self.$field.as_ref().is_some_and(|s| s.tunnel_open()) )*;
                if tunnel_open && !self.tunnel_tls {
                    self.tunnel_tls = true;
                    self.active = 0;
                    $( self.active |= tunnel_slot(&mut self.$field, Slot::$field); )*
                    return;
                }
                if self.tunnel_tls {
                    return;
                }
                let confirmed = None
                    $( .or_else(|| self.$field.as_ref().and_then(|s| s.confirmed()).map(|_| Slot::$field)) )*;
                if let Some(winner) = confirmed {
                    $( drop_beside(&mut self.$field, &mut self.active, Slot::$field, winner); )*
                }
            }
        }

        $( impl InTable for $ty {
            fn slot(d: &Dissectors) -> &Option<Box<Self>> {
                &d.$field
            }
        } )*
    };
}

dissector_table! {
    /// QUIC Initial packets and the TLS handshake inside them.
    quic: QuicTls,
    /// HTTP/1.x request and response heads.
    http: HttpState,
    /// SOCKS4/5 handshake.
    socks: SocksState,
    /// SSH banners and KEXINIT.
    ssh: SshState,
    /// DNS messages.
    dns: DnsState,
    /// TLS over TCP (also after a proxy handshake) or DTLS over UDP.
    tls: TlsState,
}

/// A dissector type listed in the table: where its state lives in
/// [`Dissectors`], so callers can ask for `event::<D>()` by type.
pub trait InTable: Dissector + 'static {
    /// This dissector's slot.
    fn slot(d: &Dissectors) -> &Option<Box<Self>>;
}

fn bit(slot: Slot) -> u8 {
    1 << slot as u8
}

/// Creates the slot's state if the flow is a candidate; returns its bit.
fn start_slot<D: Dissector>(s: &mut Option<Box<D>>, slot: Slot, start: &FlowStart) -> u8 {
    *s = D::candidate(start).map(Box::new);
    if s.is_some() { bit(slot) } else { 0 }
}

/// Feeds an active slot and settles its verdict: `Done` stops feeding,
/// `NotMine` drops the state.
fn feed_slot<D: Dissector>(
    s: &mut Option<Box<D>>,
    active: &mut u8,
    slot: Slot,
    dir: Direction,
    data: &[u8],
) {
    if *active & bit(slot) == 0 {
        return;
    }
    let Some(state) = s.as_mut() else { return };
    match state.feed(dir, data) {
        Verdict::NeedMore => {}
        Verdict::Done => *active &= !bit(slot),
        Verdict::NotMine => {
            *active &= !bit(slot);
            *s = None;
        }
    }
}

/// Applies `D::ON_TUNNEL`; returns the slot's bit if it is fed on.
fn tunnel_slot<D: Dissector>(s: &mut Option<Box<D>>, slot: Slot) -> u8 {
    match D::ON_TUNNEL {
        OnTunnel::Drop => *s = None,
        OnTunnel::Keep => {}
        OnTunnel::Restart(new) => {
            *s = Some(Box::new(new()));
            return bit(slot);
        }
    }
    0
}

/// Drops a slot that lost to the confirmed `winner`, unless it asks to stay.
fn drop_beside<D: Dissector>(s: &mut Option<Box<D>>, active: &mut u8, slot: Slot, winner: Slot) {
    if slot != winner && !s.as_ref().is_some_and(|d| d.kept_beside_other()) {
        *s = None;
        *active &= !bit(slot);
    }
}

impl Dissectors {
    /// The event of dissector `D`, once it has one: the generic accessor
    /// the named ones below wrap.
    pub fn event<D: InTable>(&self) -> Option<&D::Event> {
        D::slot(self).as_deref()?.event()
    }

    /// The TLS (or DTLS) handshake metadata, once a hello was read.
    pub fn tls_event(&self) -> Option<&super::tls::TlsEvent> {
        self.event::<TlsState>()
    }

    /// True once [`Dissectors::tls_event`] has an event, without building
    /// it (its fingerprints are computed only for events that are written).
    pub fn has_tls_event(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.has_event())
    }

    /// The QUIC Initial metadata and the TLS handshake inside it.
    pub fn quic_events(&self) -> Option<(&super::quic::QuicEvent, Option<&super::tls::TlsEvent>)> {
        let q = self.quic.as_ref()?;
        q.0.event().map(|e| (e, q.1.event()))
    }

    /// The TLS handshake carried in QUIC CRYPTO frames.
    pub fn quic_tls_event(&self) -> Option<&super::tls::TlsEvent> {
        self.quic.as_ref().and_then(|q| q.1.event())
    }

    /// The SSH banners and key exchange, once read.
    pub fn ssh_event(&self) -> Option<&super::ssh::SshEvent> {
        self.event::<SshState>()
    }

    /// The HTTP request/response heads, once read.
    pub fn http_event(&self) -> Option<&super::http::HttpEvent> {
        self.event::<HttpState>()
    }

    /// The DNS messages, once read.
    pub fn dns_event(&self) -> Option<&super::dns::DnsEvent> {
        self.event::<DnsState>()
    }

    /// The SOCKS handshake, once read.
    pub fn socks_event(&self) -> Option<&super::socks::SocksEvent> {
        self.event::<SocksState>()
    }

    /// True while any dissector still wants bytes.
    pub fn active(&self) -> bool {
        self.active != 0
    }
}
