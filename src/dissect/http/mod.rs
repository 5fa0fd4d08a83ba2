//! HTTP/1.x dissector: the first request head of a flow (method, target,
//! Host, User-Agent, proxy headers) and the status of its response.
//!
//! Forward proxies (absolute-form targets, `Proxy-*` headers) and CONNECT
//! tunnels are how much traffic leaves a network edge without looking like
//! what it carries; the request head says where it really goes.
//!
//! Feed it with [`HttpState::feed`]; read the EVE `http` object with
//! [`HttpState::event`].

pub mod event;
pub mod parser;
pub mod state;

pub use event::HttpEvent;
pub use parser::TargetForm;
pub use state::{HttpState, MAX_HEAD_BYTES, MAX_STRING_BYTES};

use super::verdict;

use super::dissector::{AppProto, Dissector, FlowStart, OnTunnel};

/// HTTP/1.x on any TCP port; a granted CONNECT opens a tunnel.
impl Dissector for HttpState {
    type Event = HttpEvent;
    const ON_TUNNEL: OnTunnel<Self> = OnTunnel::Keep;

    fn candidate(flow: &FlowStart) -> Option<Self> {
        flow.tcp.then(HttpState::new)
    }

    fn feed(&mut self, dir: verdict::Direction, data: &[u8]) -> verdict::Verdict {
        HttpState::feed(self, dir, data)
    }

    fn event(&self) -> Option<&HttpEvent> {
        HttpState::event(self)
    }

    fn confirmed(&self) -> Option<AppProto> {
        self.event().map(|_| AppProto::Http)
    }

    fn tunnel_open(&self) -> bool {
        self.event()
            .is_some_and(|e| e.connect_established == Some(true))
    }
}
