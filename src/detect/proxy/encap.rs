//! The shape of a TLS handshake carried inside another encrypted channel.
//!
//! Xue et al., "Fingerprinting Obfuscated Proxy Traffic with Encapsulated
//! TLS Handshakes" (USENIX Security 2024) observe that a proxy which relays
//! the user's own TLS connection (Trojan, VMess, VLESS, Shadowsocks, HTTPS
//! proxies) cannot hide the message sequence of that inner handshake: once
//! the carrier is up, the client sends one ClientHello-sized burst, the
//! server answers with a ServerHello + certificate flight of a kilobyte or
//! more, and the client closes the handshake with a Finished message whose
//! size is fixed by the inner cipher suite. [`Shape`] follows those three
//! phases over carrier-level packet sizes; each carrier's detector decides
//! what the closing client packet must look like (its framing overhead).

use crate::dissect::Direction;

/// Smallest client burst taken for an inner ClientHello plus carrier
/// framing: even a minimal OpenSSL or Go hello is above 200 bytes, and
/// browsers pad theirs to 517 (RFC 7685 padding).
pub(super) const C1_MIN: u32 = 250;
/// Largest such burst: post-quantum key shares push browser hellos to
/// about 1.8 KB.
pub(super) const C1_MAX: u32 = 2600;
/// Smallest server burst taken for an inner ServerHello and certificate
/// flight (a one-certificate chain is already above a kilobyte).
pub(super) const S1_MIN: u32 = 900;

/// Sizes of the client's closing handshake flight, before any carrier
/// framing (RFC 8446 §4.4.4, RFC 5246 §7.4.9):
/// * TLS 1.3 Finished record (5 + 4 + 32 + 1 + 16 = 58 for SHA-256 suites,
///   74 for SHA-384), optionally preceded by the 6-byte compatibility
///   ChangeCipherSpec (64, 80);
/// * TLS 1.2 ClientKeyExchange (X25519 42, P-256 75 bytes as a record) +
///   ChangeCipherSpec (6) + AES-GCM Finished (45) or ChaCha20 (37).
pub(super) const INNER_FINISHED: [u32; 8] = [58, 64, 74, 80, 85, 93, 118, 126];

/// Where the three phases stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Waiting for the client's first message on the carrier.
    #[default]
    Start,
    /// Client burst (inner ClientHello) under way.
    ClientHello,
    /// Server burst (inner ServerHello flight) under way.
    ServerFlight,
    /// The client's closing packet was seen.
    Closed,
}

/// Carrier-level sizes of an encapsulated handshake's three phases.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Shape {
    phase: Phase,
    /// Client bytes before the server's first answer.
    pub c1: u32,
    /// Server bytes before the client spoke again.
    pub s1: u32,
    /// Size of the client's first packet after the server burst.
    pub c2: u32,
}

/// What one more packet did to the shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Keep feeding.
    More,
    /// This packet is the client's closing packet: the caller now checks
    /// its size and framing against [`Shape::c1`] and [`Shape::s1`].
    Closing,
    /// The phases cannot match any more.
    NoMatch,
}

impl Shape {
    /// Feeds one carrier packet's size (the carrier has started).
    pub(super) fn push(&mut self, dir: Direction, len: usize) -> Step {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        match (self.phase, dir) {
            (Phase::Start, Direction::ToClient) => Step::More,
            (Phase::Start | Phase::ClientHello, Direction::ToServer) => {
                self.phase = Phase::ClientHello;
                self.c1 = self.c1.saturating_add(len);
                if self.c1 > C1_MAX {
                    Step::NoMatch
                } else {
                    Step::More
                }
            }
            (Phase::ClientHello, Direction::ToClient) => {
                if self.c1 < C1_MIN {
                    return Step::NoMatch;
                }
                self.phase = Phase::ServerFlight;
                self.s1 = len;
                Step::More
            }
            (Phase::ServerFlight, Direction::ToClient) => {
                self.s1 = self.s1.saturating_add(len);
                Step::More
            }
            (Phase::ServerFlight, Direction::ToServer) => {
                self.phase = Phase::Closed;
                self.c2 = len;
                if self.s1 < S1_MIN {
                    Step::NoMatch
                } else {
                    Step::Closing
                }
            }
            (Phase::Closed, _) => Step::NoMatch,
        }
    }
}

/// True when `n` is an inner closing flight plus exactly `overhead` bytes of
/// carrier framing.
pub(super) fn is_inner_finished(n: u32, overhead: u32) -> bool {
    n.checked_sub(overhead)
        .is_some_and(|inner| INNER_FINISHED.contains(&inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ToClient as S, ToServer as C};

    #[test]
    fn trojan_sizes_close() {
        // tls_heur__trojan-tcp-tls.pcapng frames 36..67 (carrier packet sizes).
        let mut s = Shape::default();
        assert_eq!(s.push(C, 607), Step::More);
        for n in [1208, 884, 2070, 2070, 479] {
            assert_eq!(s.push(S, n), Step::More);
        }
        assert_eq!(s.push(C, 102), Step::Closing);
        assert_eq!((s.c1, s.s1, s.c2), (607, 6711, 102));
        assert!(is_inner_finished(97, 17));
    }

    #[test]
    fn small_request_small_answer_fails() {
        let mut s = Shape::default();
        assert_eq!(s.push(C, 120), Step::More);
        assert_eq!(s.push(S, 5000), Step::NoMatch);
        let mut s = Shape::default();
        s.push(C, 600);
        s.push(S, 300);
        assert_eq!(s.push(C, 86), Step::NoMatch);
    }
}
