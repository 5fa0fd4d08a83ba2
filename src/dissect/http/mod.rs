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

use super::dissector::{AppProto, Dissector, FlowStart, OnTunnel, feed_and_event_are_inherent};

/// HTTP/1.x on any TCP port; a granted CONNECT opens a tunnel.
impl Dissector for HttpState {
    type Event = HttpEvent;
    const PROTO: AppProto = AppProto::Http;
    const ON_TUNNEL: OnTunnel<Self> = OnTunnel::Keep;

    fn candidate(flow: &FlowStart) -> Option<Self> {
        flow.tcp.then(HttpState::new)
    }

    feed_and_event_are_inherent!();

    fn tunnel_open(&self) -> bool {
        self.event()
            .is_some_and(|e| e.connect_established == Some(true))
    }
}
