//! SOCKS4, SOCKS4a (no RFC; the NEC protocol notes) and SOCKS5 (RFC 1928,
//! RFC 1929 user/password) handshakes: which target the client asked for and
//! whether the proxy accepted, so the engine can inspect the tunnelled bytes
//! (typically TLS) and detectors can flag the proxy.

pub mod parser;
pub mod state;

pub(crate) use super::verdict::{Direction, Verdict};
pub use state::{SocksEvent, SocksState};
