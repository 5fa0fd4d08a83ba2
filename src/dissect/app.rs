//! The per-flow set of candidate dissectors and how payload reaches them.
//!
//! Candidates are chosen from the transport (and, for DNS only, well-known
//! ports); every other protocol is recognised by content on any port. A
//! candidate that answers `NotMine` is dropped at once; once one protocol is
//! confirmed the others are dropped too. After an HTTP CONNECT or a SOCKS
//! handshake opens a tunnel, a fresh TLS dissector reads what follows.

use super::dns::{DnsState, Transport as DnsTransport};
use super::http::HttpState;
use super::quic::QuicState;
use super::socks::SocksState;
use super::ssh::SshState;
use super::tls::TlsState;
use super::{Direction, Verdict};

/// Ports where DNS is expected (DNS, mDNS, LLMNR). DNS is the one protocol
/// chosen by port: its header has too little structure to claim arbitrary
/// UDP traffic by content alone.
const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

/// Dissector states of one flow. Each is boxed and created only for flows
/// whose transport allows it, so an idle flow costs one pointer.
#[derive(Debug, Default)]
pub struct Dissectors {
    /// TLS over TCP (also after a proxy handshake) or DTLS over UDP.
    pub tls: Option<Box<TlsState>>,
    /// QUIC Initial packets and the TLS handshake inside them.
    pub quic: Option<Box<(QuicState, TlsState)>>,
    /// SSH banners and KEXINIT.
    pub ssh: Option<Box<SshState>>,
    /// HTTP/1.x request and response heads.
    pub http: Option<Box<HttpState>>,
    /// DNS messages.
    pub dns: Option<Box<DnsState>>,
    /// SOCKS4/5 handshake.
    pub socks: Option<Box<SocksState>>,
    /// Bit per dissector still being fed (see the `BIT_*` constants).
    active: u8,
    /// Set once a tunnel (CONNECT, SOCKS) opened and TLS was started on it.
    tunnel_tls: bool,
}

const BIT_TLS: u8 = 1;
const BIT_QUIC: u8 = 2;
const BIT_SSH: u8 = 4;
const BIT_HTTP: u8 = 8;
const BIT_DNS: u8 = 16;
const BIT_SOCKS: u8 = 32;

impl Dissectors {
    /// The candidates for a flow's transport and ports.
    pub fn for_transport(tcp: bool, ports: (u16, u16)) -> Self {
        let dns_port = DNS_PORTS.contains(&ports.0) || DNS_PORTS.contains(&ports.1);
        let mut d = Dissectors::default();
        if tcp {
            d.tls = Some(Box::new(TlsState::new()));
            d.ssh = Some(Box::new(SshState::new()));
            d.http = Some(Box::new(HttpState::new()));
            d.socks = Some(Box::new(SocksState::new()));
            d.active = BIT_TLS | BIT_SSH | BIT_HTTP | BIT_SOCKS;
            if dns_port {
                d.dns = Some(Box::new(DnsState::with_transport(DnsTransport::Tcp)));
                d.active |= BIT_DNS;
            }
        } else {
            d.tls = Some(Box::new(TlsState::new_dtls()));
            d.quic = Some(Box::new((QuicState::new(), TlsState::new_quic())));
            d.active = BIT_TLS | BIT_QUIC;
            if dns_port {
                d.dns = Some(Box::new(DnsState::new()));
                d.active |= BIT_DNS;
            }
        }
        d
    }

    /// The TLS (or DTLS) handshake metadata, once a hello was read.
    pub fn tls_event(&self) -> Option<&super::tls::TlsEvent> {
        self.tls.as_ref().and_then(|t| t.event())
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
        self.ssh.as_ref().and_then(|s| s.event())
    }

    /// The HTTP request/response heads, once read.
    pub fn http_event(&self) -> Option<&super::http::HttpEvent> {
        self.http.as_ref().and_then(|h| h.event())
    }

    /// The DNS messages, once read.
    pub fn dns_event(&self) -> Option<&super::dns::DnsEvent> {
        self.dns.as_ref().and_then(|d| d.event())
    }

    /// The SOCKS handshake, once read.
    pub fn socks_event(&self) -> Option<&super::socks::SocksEvent> {
        self.socks.as_ref().and_then(|s| s.event())
    }

    /// True while any dissector still wants bytes.
    pub fn active(&self) -> bool {
        self.active != 0
    }

    /// The application protocol, once a dissector has confirmed one.
    pub fn app_proto(&self) -> Option<&'static str> {
        if self.quic.as_ref().is_some_and(|q| q.0.event().is_some()) {
            Some("quic")
        } else if self.http.as_ref().is_some_and(|h| h.event().is_some()) {
            Some("http")
        } else if self.socks.as_ref().is_some_and(|s| s.event().is_some()) {
            Some("socks")
        } else if self.ssh.as_ref().is_some_and(|s| s.event().is_some()) {
            Some("ssh")
        } else if self.dns.as_ref().is_some_and(|d| d.event().is_some()) {
            Some("dns")
        } else if let Some(t) = self.tls.as_ref().and_then(|t| t.event()) {
            Some(if t.version.starts_with("DTLS") {
                "dtls"
            } else {
                "tls"
            })
        } else {
            None
        }
    }

    /// Feeds one in-order stream chunk (TCP) or one datagram (UDP).
    pub fn feed(&mut self, dir: Direction, data: &[u8]) {
        if self.active & BIT_TLS != 0
            && let Some(t) = self.tls.as_mut()
        {
            let v = t.feed(dir, data);
            self.settle(BIT_TLS, v);
        }
        if self.active & BIT_QUIC != 0
            && let Some(q) = self.quic.as_mut()
        {
            let (quic, tls) = &mut **q;
            let v = quic.feed_with(dir, data, &mut |d, b| {
                tls.feed_handshake(d, b);
            });
            self.settle(BIT_QUIC, v);
        }
        if self.active & BIT_SSH != 0
            && let Some(s) = self.ssh.as_mut()
        {
            let v = s.feed(dir, data);
            self.settle(BIT_SSH, v);
        }
        if self.active & BIT_HTTP != 0
            && let Some(h) = self.http.as_mut()
        {
            let v = h.feed(dir, data);
            self.settle(BIT_HTTP, v);
        }
        if self.active & BIT_DNS != 0
            && let Some(d) = self.dns.as_mut()
        {
            let v = d.feed(dir, data);
            self.settle(BIT_DNS, v);
        }
        if self.active & BIT_SOCKS != 0
            && let Some(s) = self.socks.as_mut()
        {
            let v = s.feed(dir, data);
            self.settle(BIT_SOCKS, v);
        }
        self.after_feed();
    }

    fn settle(&mut self, bit: u8, v: Verdict) {
        match v {
            Verdict::NeedMore => {}
            Verdict::Done => self.active &= !bit,
            Verdict::NotMine => {
                self.active &= !bit;
                match bit {
                    BIT_TLS => self.tls = None,
                    BIT_QUIC => self.quic = None,
                    BIT_SSH => self.ssh = None,
                    BIT_HTTP => self.http = None,
                    BIT_DNS => self.dns = None,
                    _ => self.socks = None,
                }
            }
        }
    }

    /// Drops candidates once one protocol is confirmed, and starts TLS on a
    /// proxy tunnel once it opens.
    fn after_feed(&mut self) {
        let tunnel_open = self.http.as_ref().is_some_and(|h| {
            h.event()
                .is_some_and(|e| e.connect_established == Some(true))
        }) || self.socks.as_ref().is_some_and(|s| s.tunnel_open());
        if tunnel_open && !self.tunnel_tls {
            self.tunnel_tls = true;
            self.tls = Some(Box::new(TlsState::new()));
            self.active = BIT_TLS;
            self.ssh = None;
            self.dns = None;
            return;
        }
        if self.tunnel_tls {
            return;
        }
        let confirmed = self.app_proto();
        if let Some(proto) = confirmed {
            let keep = |name: &str| proto == name || (name == "tls" && proto == "dtls");
            if !keep("tls") && self.tls.as_ref().is_some_and(|t| t.event().is_none()) {
                self.tls = None;
                self.active &= !BIT_TLS;
            }
            if !keep("ssh") {
                self.ssh = None;
                self.active &= !BIT_SSH;
            }
            if !keep("dns") {
                self.dns = None;
                self.active &= !BIT_DNS;
            }
            if !keep("quic") {
                self.quic = None;
                self.active &= !BIT_QUIC;
            }
            if !keep("http") && !keep("socks") {
                self.http = None;
                self.socks = None;
                self.active &= !(BIT_HTTP | BIT_SOCKS);
            } else if keep("http") {
                self.socks = None;
                self.active &= !BIT_SOCKS;
            } else {
                self.http = None;
                self.active &= !BIT_HTTP;
            }
        }
    }
}
