//! Per-flow SOCKS handshake tracking.

use super::parser::{self, NotSocks, Target};
use super::{Direction, Verdict};
use serde::Serialize;

/// Handshake bytes buffered per direction while a message is incomplete.
pub const MAX_MESSAGE: usize = 600;

/// What the flow's JSON carries under `socks` (a gateward extension: EVE
/// has no SOCKS logger).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SocksEvent {
    /// 4 or 5.
    pub version: u8,
    /// `connect`, `bind` or `udp_associate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'static str>,
    /// Requested host (address or domain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Requested port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// SOCKS5 authentication method chosen by the proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<u8>,
    /// True once the proxy granted the request.
    pub granted: bool,
    /// Reverse SOCKS: the TCP responder sent the SOCKS5 greeting, so the
    /// proxy is the side that opened the connection (a tool such as
    /// `ssh -R PORT` or a reverse-proxy implant dials out, then serves SOCKS
    /// to the side it reached). Absent when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reverse: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Greeting,
    Method,
    Auth,
    AuthReply,
    Request,
    Reply,
    Done,
}

/// SOCKS handshake state of one flow.
#[derive(Debug)]
pub struct SocksState {
    step: Step,
    buf: [Vec<u8>; 2],
    event: Option<SocksEvent>,
    /// The proxy answered with a valid SOCKS message at least once: only
    /// then is the flow reported as SOCKS.
    confirmed: bool,
    /// The TCP responder greeted (reverse SOCKS): directions are swapped
    /// before parsing.
    reversed: bool,
}

impl Default for SocksState {
    fn default() -> Self {
        Self::new()
    }
}

fn command_name(c: u8) -> &'static str {
    match c {
        1 => "connect",
        2 => "bind",
        _ => "udp_associate",
    }
}

fn target_text(t: &Target) -> String {
    match t {
        Target::Addr(a) => a.to_string(),
        Target::Domain(d) => d.clone(),
    }
}

impl SocksState {
    /// A flow that has not spoken yet.
    pub fn new() -> Self {
        SocksState {
            step: Step::Greeting,
            buf: [Vec::new(), Vec::new()],
            event: None,
            confirmed: false,
            reversed: false,
        }
    }

    /// The handshake so far, once the proxy has answered.
    pub fn event(&self) -> Option<&SocksEvent> {
        self.event.as_ref().filter(|_| self.confirmed)
    }

    /// True once the proxy granted a CONNECT: later bytes are the tunnel.
    /// Not for reverse SOCKS, whose tunnel runs against the TCP roles the
    /// other dissectors assume (its client speaks from the TCP server).
    pub fn tunnel_open(&self) -> bool {
        self.step == Step::Done && !self.reversed && self.event.as_ref().is_some_and(|e| e.granted)
    }

    /// Feeds in-order stream bytes.
    pub fn feed(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        if self.step == Step::Done {
            return Verdict::Done;
        }
        // The responder speaking first with a SOCKS5 greeting (version 5,
        // method count, methods: RFC 1928 section 3) is reverse SOCKS: from
        // here on its side is the SOCKS client.
        if self.step == Step::Greeting
            && dir == Direction::ToClient
            && self.buf[0].is_empty()
            && self.buf[1].is_empty()
            && data.first() == Some(&5)
        {
            self.reversed = true;
        }
        let dir = if self.reversed { dir.reverse() } else { dir };
        let d = usize::from(dir == Direction::ToClient);
        if self.buf[d].len() + data.len() > MAX_MESSAGE {
            return self.stop();
        }
        self.buf[d].extend_from_slice(data);
        loop {
            if self.buf[d].is_empty() {
                return Verdict::NeedMore;
            }
            match self.step_on(dir) {
                Err(NotSocks) => return self.stop(),
                Ok(None) => return Verdict::NeedMore,
                Ok(Some(n)) => {
                    self.buf[d].drain(..n.min(self.buf[d].len()));
                    if self.step == Step::Done {
                        self.buf = [Vec::new(), Vec::new()];
                        return Verdict::Done;
                    }
                }
            }
        }
    }

    fn stop(&mut self) -> Verdict {
        self.buf = [Vec::new(), Vec::new()];
        if self.confirmed {
            self.step = Step::Done;
            Verdict::Done
        } else {
            self.event = None;
            Verdict::NotMine
        }
    }

    /// Parses the next message expected from `dir`; returns bytes consumed.
    fn step_on(&mut self, dir: Direction) -> parser::Parsed<usize> {
        let d = usize::from(dir == Direction::ToClient);
        let b = &self.buf[d];
        let to_server = dir == Direction::ToServer;
        match (self.step, to_server) {
            (Step::Greeting, true) => {
                if b.first() == Some(&4) {
                    let Some(r) = parser::v4_request(b)? else {
                        return Ok(None);
                    };
                    self.event = Some(SocksEvent {
                        version: 4,
                        command: Some(command_name(r.command)),
                        target: Some(target_text(&r.target)),
                        port: Some(r.port),
                        ..SocksEvent::default()
                    });
                    self.step = Step::Reply;
                    return Ok(Some(r.len));
                }
                let Some(n) = parser::v5_greeting(b)? else {
                    return Ok(None);
                };
                self.event = Some(SocksEvent {
                    version: 5,
                    reverse: self.reversed,
                    ..SocksEvent::default()
                });
                self.step = Step::Method;
                Ok(Some(n))
            }
            (Step::Method, false) => {
                let Some(m) = parser::v5_method(b)? else {
                    return Ok(None);
                };
                if let Some(e) = self.event.as_mut() {
                    e.auth_method = Some(m);
                }
                self.confirmed = true;
                self.step = match m {
                    0 => Step::Request,
                    2 => Step::Auth,
                    _ => Step::Done,
                };
                Ok(Some(2))
            }
            (Step::Auth, true) => {
                let Some(n) = parser::v5_auth(b)? else {
                    return Ok(None);
                };
                self.step = Step::AuthReply;
                Ok(Some(n))
            }
            (Step::AuthReply, false) => {
                let Some(st) = parser::v5_auth_reply(b)? else {
                    return Ok(None);
                };
                self.step = if st == 0 { Step::Request } else { Step::Done };
                Ok(Some(2))
            }
            (Step::Request, true) => {
                let Some(r) = parser::v5_request(b)? else {
                    return Ok(None);
                };
                if let Some(e) = self.event.as_mut() {
                    e.command = Some(command_name(r.command));
                    e.target = Some(target_text(&r.target));
                    e.port = Some(r.port);
                }
                self.step = Step::Reply;
                Ok(Some(r.len))
            }
            (Step::Reply, false) => {
                let v4 = self.event.as_ref().is_some_and(|e| e.version == 4);
                let (granted, n) = if v4 {
                    let Some(c) = parser::v4_reply(b)? else {
                        return Ok(None);
                    };
                    (c == 0x5a, 8)
                } else {
                    let Some((c, n)) = parser::v5_reply(b)? else {
                        return Ok(None);
                    };
                    (c == 0, n)
                };
                if let Some(e) = self.event.as_mut() {
                    e.granted = granted;
                }
                self.confirmed = true;
                self.step = Step::Done;
                Ok(Some(n))
            }
            // The server speaking first, or out of turn: not a SOCKS handshake.
            _ => Err(NotSocks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socks5_connect_handshake_opens_tunnel() {
        let mut s = SocksState::new();
        assert_eq!(s.feed(Direction::ToServer, &[5, 1, 0]), Verdict::NeedMore);
        assert_eq!(s.feed(Direction::ToClient, &[5, 0]), Verdict::NeedMore);
        let mut req = vec![5, 1, 0, 1, 93, 184, 216, 34];
        req.extend_from_slice(&443u16.to_be_bytes());
        assert_eq!(s.feed(Direction::ToServer, &req), Verdict::NeedMore);
        assert_eq!(
            s.feed(Direction::ToClient, &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
            Verdict::Done
        );
        assert!(s.tunnel_open());
        let e = s.event().unwrap();
        assert_eq!(e.target.as_deref(), Some("93.184.216.34"));
        assert_eq!(e.port, Some(443));
    }

    #[test]
    /// Reverse SOCKS (hand-built, RFC 1928 sections 3-6): the TCP responder
    /// greets and requests, the TCP initiator answers as the proxy.
    fn reverse_socks5_from_the_responder() {
        let mut s = SocksState::new();
        assert_eq!(s.feed(Direction::ToClient, &[5, 1, 0]), Verdict::NeedMore);
        assert_eq!(s.feed(Direction::ToServer, &[5, 0]), Verdict::NeedMore);
        let mut req = vec![5, 1, 0, 3, 11];
        req.extend_from_slice(b"example.com");
        req.extend_from_slice(&443u16.to_be_bytes());
        assert_eq!(s.feed(Direction::ToClient, &req), Verdict::NeedMore);
        assert_eq!(
            s.feed(Direction::ToServer, &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
            Verdict::Done
        );
        let e = s.event().unwrap();
        assert!(e.reverse && e.granted);
        assert_eq!(
            (e.target.as_deref(), e.port),
            (Some("example.com"), Some(443))
        );
        // The tunnel's bytes run against the TCP roles: not handed on.
        assert!(!s.tunnel_open());
        // A responder's first byte 5 that never gets a SOCKS answer is not SOCKS.
        let mut s = SocksState::new();
        s.feed(Direction::ToClient, &[5, 1, 0]);
        assert_eq!(
            s.feed(Direction::ToServer, b"GET / HTTP/1.1\r\n"),
            Verdict::NotMine
        );
    }

    #[test]
    fn server_first_or_http_is_not_socks() {
        let cases: [(Direction, &[u8]); 2] = [
            (Direction::ToClient, b"SSH-2.0-OpenSSH\r\n"),
            (Direction::ToServer, b"GET / HTTP/1.1\r\n"),
        ];
        for (dir, first) in cases {
            let mut s = SocksState::new();
            assert_eq!(s.feed(dir, first), Verdict::NotMine, "{first:?}");
        }
    }
}
