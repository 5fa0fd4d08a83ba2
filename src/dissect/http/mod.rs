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
