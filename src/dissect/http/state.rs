//! Per-flow HTTP/1.x state: buffers the first request head and the first
//! response head (each capped), builds the event, then stops.

use super::event::HttpEvent;
use super::parser::{self, Prefix, TargetForm};
use super::verdict::{Direction, Verdict};
use crate::budget::BudgetVec;

/// Largest request or response head buffered. Real heads are well under
/// this; a longer one is parsed as far as it got and flagged `truncated`.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Longest header-derived string (Host, User-Agent...) kept, in input bytes.
pub const MAX_STRING_BYTES: usize = 512;

/// Longest request target kept, in input bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// Headers whose presence suggests a proxy on the path, with the names the
/// event reports them under.
const PROXY_HEADERS: &[&str] = &[
    "proxy-authorization",
    "proxy-connection",
    "x-forwarded-for",
    "via",
    "forwarded",
];

/// A message head being accumulated. Only allocates when a head is split
/// across chunks; the search for the blank line resumes where it stopped.
#[derive(Debug, Default)]
struct HeadBuf {
    /// Charged to the worker's byte budget (crate::budget).
    buf: BudgetVec,
    /// Total bytes offered in this direction (for the first-bytes checks).
    seen: usize,
}

/// A complete (or cap-truncated) head, and whether it was truncated.
type Head<'a> = (&'a [u8], bool);

impl HeadBuf {
    fn push<'a>(&'a mut self, data: &'a [u8], dropped: &mut u64) -> Option<Head<'a>> {
        self.seen = self.seen.saturating_add(data.len());
        if self.buf.is_empty() {
            if let Some(end) = parser::find_head_end(data, 0) {
                return data.get(..end).map(|h| (h, false));
            }
            if data.len() >= MAX_HEAD_BYTES {
                *dropped += (data.len() - MAX_HEAD_BYTES) as u64;
                return data.get(..MAX_HEAD_BYTES).map(|h| (h, true));
            }
        }
        let from = self.buf.len();
        let room = MAX_HEAD_BYTES.saturating_sub(from);
        let take = room.min(data.len());
        let kept = self.buf.extend_capped(data, MAX_HEAD_BYTES);
        *dropped += (data.len() - kept) as u64;
        if let Some(end) = parser::find_head_end(self.buf.as_slice(), from) {
            return self.buf.as_slice().get(..end).map(|h| (h, false));
        }
        // At the cap, or refused by the budget: the head as far as it got.
        if self.buf.len() >= MAX_HEAD_BYTES || kept < take {
            return Some((self.buf.as_slice(), true));
        }
        None
    }
}

/// Per-flow HTTP state. Idle size is a few words; the head buffers are
/// allocated only for heads split across chunks and freed when done.
#[derive(Debug, Default)]
pub struct HttpState {
    req: HeadBuf,
    resp: HeadBuf,
    prefix_ok: bool,
    event: Option<HttpEvent>,
    verdict: Option<Verdict>,
    dropped_bytes: u64,
}

impl HttpState {
    /// A fresh state for a new flow.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next in-order chunk of the TCP stream in direction `dir`.
    /// `NotMine` as soon as the client's first bytes are not
    /// `METHOD SP target`, or the server speaks first; `Done` once the first
    /// response head (status line and headers) was read.
    pub fn feed(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        if let Some(v) = self.verdict {
            return v;
        }
        if data.is_empty() {
            return Verdict::NeedMore;
        }
        let v = match dir {
            Direction::ToServer => self.feed_request(data),
            Direction::ToClient => self.feed_response(data),
        };
        if v != Verdict::NeedMore {
            self.req = HeadBuf::default();
            self.resp = HeadBuf::default();
            self.verdict = Some(v);
            if v == Verdict::NotMine {
                self.event = None;
            }
        }
        v
    }

    fn feed_request(&mut self, data: &[u8]) -> Verdict {
        if self.event.is_some() {
            // Later requests (pipelining, keep-alive) are not inspected.
            return Verdict::NeedMore;
        }
        if !self.prefix_ok {
            let mut probe = [0u8; parser::MAX_METHOD_LEN + 2];
            let have = self.req.buf.len().min(probe.len());
            let n = (probe.len() - have).min(data.len());
            probe[..have].copy_from_slice(&self.req.buf.as_slice()[..have]);
            probe[have..have + n].copy_from_slice(&data[..n]);
            match parser::check_request_prefix(&probe[..have + n]) {
                Prefix::NotHttp => return Verdict::NotMine,
                Prefix::Plausible => self.prefix_ok = true,
                Prefix::NeedMore => {}
            }
        }
        let mut dropped = 0;
        let built = self
            .req
            .push(data, &mut dropped)
            .and_then(|(head, truncated)| build_request(head, truncated));
        self.dropped_bytes += dropped;
        if let Some(ev) = built {
            self.event = Some(ev);
            self.req = HeadBuf::default();
        } else if self.req.seen >= MAX_HEAD_BYTES {
            // A full buffer whose first line is not a request line.
            return Verdict::NotMine;
        }
        Verdict::NeedMore
    }

    fn feed_response(&mut self, data: &[u8]) -> Verdict {
        if self.event.is_none() {
            if !self.prefix_ok {
                // Nothing plausible from the client yet: HTTP servers do not
                // speak first.
                return Verdict::NotMine;
            }
            // The server answered a request whose head we never completed
            // (e.g. a 400 for oversized headers): log what we have.
            let partial = std::mem::take(&mut self.req.buf);
            self.event = build_request(&partial, true);
            if self.event.is_none() {
                return Verdict::NotMine;
            }
        }
        let start = self.resp.buf.len();
        if start < 5 {
            let mut probe = [0u8; 5];
            let n = (5 - start).min(data.len());
            probe[..start].copy_from_slice(&self.resp.buf[..start]);
            probe[start..start + n].copy_from_slice(&data[..n]);
            if !parser::could_be_status_line(&probe[..start + n]) {
                // Not an HTTP response: keep the request facts, stop here.
                return Verdict::Done;
            }
        }
        let mut dropped = 0;
        let head = self.resp.push(data, &mut dropped);
        let Some(ev) = self.event.as_mut() else {
            return Verdict::Done;
        };
        match head {
            Some((head, _truncated)) => {
                apply_response(ev, head);
                self.dropped_bytes += dropped;
                Verdict::Done
            }
            None => {
                // Status line alone may already be complete.
                if ev.status.is_none() && self.resp.buf.contains(&b'\n') {
                    let (line, _) = parser::split_line(&self.resp.buf);
                    if let Some(s) = parser::parse_status_line(line) {
                        set_status(ev, s.code);
                    }
                }
                self.dropped_bytes += dropped;
                Verdict::NeedMore
            }
        }
    }

    /// The EVE `http` object, once the first request head was read.
    pub fn event(&self) -> Option<&HttpEvent> {
        self.event.as_ref()
    }

    /// Bytes not buffered because a head exceeded [`MAX_HEAD_BYTES`].
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }
}

fn set_status(ev: &mut HttpEvent, code: u16) {
    ev.status = Some(code);
    if ev.uri_form == TargetForm::Authority {
        ev.connect_established = Some((200..300).contains(&code));
    }
}

fn apply_response(ev: &mut HttpEvent, head: &[u8]) {
    let (line, rest) = parser::split_line(head);
    let Some(status) = parser::parse_status_line(line) else {
        return;
    };
    set_status(ev, status.code);
    for h in parser::headers(rest) {
        if h.name.eq_ignore_ascii_case(b"content-length") {
            ev.length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.parse().ok());
        } else if h.name.eq_ignore_ascii_case(b"content-type") {
            ev.http_content_type = Some(parser::escape(h.value, MAX_STRING_BYTES));
        }
    }
}

fn build_request(head: &[u8], truncated: bool) -> Option<HttpEvent> {
    let (line, rest) = parser::split_line(head);
    let req = parser::parse_request_line(line)?;
    let form = parser::target_form(req.method, req.target);
    let mut ev = HttpEvent {
        hostname: None,
        http_port: None,
        url: parser::escape(req.target, MAX_URL_BYTES),
        http_user_agent: None,
        http_content_type: None,
        http_method: parser::escape(req.method, MAX_STRING_BYTES),
        protocol: parser::escape(req.version, MAX_STRING_BYTES),
        status: None,
        length: None,
        uri_form: form,
        connect_target: None,
        connect_established: None,
        proxy_headers: Vec::new(),
        truncated,
    };
    for h in parser::headers(rest) {
        if h.name.eq_ignore_ascii_case(b"host") && ev.hostname.is_none() {
            let (host, port) = parser::split_host_port(h.value);
            ev.hostname = Some(parser::escape(host, MAX_STRING_BYTES));
            ev.http_port = port;
        } else if h.name.eq_ignore_ascii_case(b"user-agent") && ev.http_user_agent.is_none() {
            ev.http_user_agent = Some(parser::escape(h.value, MAX_STRING_BYTES));
        } else if let Some(&name) = PROXY_HEADERS
            .iter()
            .find(|n| h.name.eq_ignore_ascii_case(n.as_bytes()))
            && !ev.proxy_headers.contains(&name)
        {
            ev.proxy_headers.push(name);
        }
    }
    let authority = match form {
        TargetForm::Authority => {
            // Some clients send CONNECT with an absolute-form target
            // (`CONNECT https://host:443/ HTTP/1.1`); the tunnel goes to
            // its authority.
            let auth = if req.target.windows(3).any(|w| w == b"://") {
                parser::absolute_authority(req.target).unwrap_or(req.target)
            } else {
                req.target
            };
            ev.connect_target = Some(parser::escape(auth, MAX_STRING_BYTES));
            Some(auth)
        }
        TargetForm::Absolute => parser::absolute_authority(req.target),
        _ => None,
    };
    if let Some(auth) = authority {
        let (host, port) = parser::split_host_port(auth);
        if ev.hostname.is_none() {
            ev.hostname = Some(parser::escape(host, MAX_STRING_BYTES));
        }
        if ev.http_port.is_none() {
            ev.http_port = port;
        }
    }
    Some(ev)
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::PROXY_GET;
    use super::*;
    use crate::dissect::testutil::{C, S, unhex, xorshift};

    // Real bytes from the captures named above each constant (tcp.payload).
    // ndpi/pcap/http-proxy.pcapng, frame 6: first 460 bytes of the response (the
    // 448-byte head and the start of the gzip body).
    const PROXY_RESPONSE_HEAD: &str = concat!(
        "485454502f312e3120323030204f4b0d0a446174653a205361742c20313120536570203230323120",
        "32333a33393a313020474d540d0a5365727665723a204170616368652f322e342e34312028556275",
        "6e7475290d0a43616368652d436f6e74726f6c3a207075626c69632c206d7573742d726576616c69",
        "646174652c2070726f78792d726576616c69646174652c206d61782d6167653d333630300d0a436f",
        "6e74656e742d747970653a20746578742f68746d6c3b20636861727365743d5554462d380d0a582d",
        "49504c422d526571756573742d49443a2034383535333435303a453434345f33363234333835373a",
        "303035305f36313344334531455f323930323741443a31303946460d0a582d49504c422d496e7374",
        "616e63653a2033353638380d0a5669613a20312e31203139322e3136382e312e3134363a38303830",
        "0d0a566172793a204163636570742d456e636f64696e670d0a436f6e74656e742d456e636f64696e",
        "673a20677a69700d0a436f6e74656e742d4c656e6774683a203236380d0a4b6565702d416c697665",
        "3a2074696d656f75743d352c206d61783d3130300d0a436f6e6e656374696f6e3a204b6565702d41",
        "6c6976650d0a0d0a1f8b08000000000000037d51",
    );
    // ndpi/pcap/http_connect.pcap, frame 4: CONNECT with Proxy-Connection.
    const CONNECT_REQ: &str = concat!(
        "434f4e4e454354206170616368652e6f72673a34343320485454502f312e310d0a557365722d4167",
        "656e743a204d6f7a696c6c612f352e30202857696e646f7773204e542031302e303b2057696e3634",
        "3b207836343b2072763a39322e3029204765636b6f2f32303130303130312046697265666f782f39",
        "322e300d0a50726f78792d436f6e6e656374696f6e3a206b6565702d616c6976650d0a436f6e6e65",
        "6374696f6e3a206b6565702d616c6976650d0a486f73743a206170616368652e6f72673a3434330d",
        "0a0d0a",
    );
    // ja4/pcap/https-connect.pcap, frame 4: HTTP/1.0 CONNECT.
    const CS_CONNECT_REQ: &str = concat!(
        "434f4e4e45435420747330312d622e636c6f756473696e6b2e6e65743a34343320485454502f312e",
        "300d0a557365722d4167656e743a2043726f7764537472696b652046616c636f6e2053656e736f72",
        "0d0a0d0a",
    );
    // ja4/pcap/https-connect.pcap, frame 6: the proxy's 200 reply.
    const CS_CONNECT_200: &str = concat!(
        "485454502f312e3020323030204f4b0d0a446174653a204d6f6e2c20303220536570203230313920",
        "31383a35363a353320474d540d0a5669613a20687474702f312e312070726f786965732e78787878",
        "78787878782e78787878782e636f6d202858585858585858585858585858585858585858290d0a53",
        "65727665723a205858580d0a0d0a",
    );
    // ndpi/pcap/http.pcapng, frame 4: curl GET /.
    const CURL_GET: &str = concat!(
        "474554202f20485454502f312e310d0a486f73743a20676f6f676c652e636f6d0d0a557365722d41",
        "67656e743a206375726c2f372e36382e300d0a4163636570743a202a2f2a0d0a0d0a",
    );

    #[test]
    fn forward_proxy_get() {
        let mut st = HttpState::new();
        assert_eq!(st.feed(C, &unhex(PROXY_GET)), Verdict::NeedMore);
        assert_eq!(st.feed(S, &unhex(PROXY_RESPONSE_HEAD)), Verdict::Done);
        let ev = st.event().unwrap();
        assert_eq!(ev.http_method, "GET");
        assert_eq!(ev.url, "http://http.com/");
        assert_eq!(ev.hostname.as_deref(), Some("http.com"));
        assert_eq!(ev.uri_form, TargetForm::Absolute);
        assert_eq!(ev.status, Some(200));
        assert_eq!(ev.length, Some(268));
        assert_eq!(
            ev.http_content_type.as_deref(),
            Some("text/html; charset=UTF-8")
        );
        assert!(
            ev.http_user_agent
                .as_deref()
                .unwrap()
                .contains("Firefox/91.0")
        );
        assert!(ev.connect_established.is_none());
    }

    #[test]
    fn connect_with_proxy_connection() {
        let mut st = HttpState::new();
        assert_eq!(st.feed(C, &unhex(CONNECT_REQ)), Verdict::NeedMore);
        let ev = st.event().unwrap();
        assert_eq!(ev.connect_target.as_deref(), Some("apache.org:443"));
        assert_eq!(ev.hostname.as_deref(), Some("apache.org"));
        assert_eq!(ev.http_port, Some(443));
        assert_eq!(ev.proxy_headers, vec!["proxy-connection"]);
        let json = serde_json::to_value(ev).unwrap();
        assert_eq!(json["uri_form"], "authority");
        assert!(json.get("status").is_none());
    }

    #[test]
    fn connect_established_split_segments() {
        let mut st = HttpState::new();
        let req = unhex(CS_CONNECT_REQ);
        // Split the request mid-method and mid-header.
        assert_eq!(st.feed(C, &req[..3]), Verdict::NeedMore);
        assert_eq!(st.feed(C, &req[3..50]), Verdict::NeedMore);
        assert!(st.event().is_none());
        assert_eq!(st.feed(C, &req[50..]), Verdict::NeedMore);
        let resp = unhex(CS_CONNECT_200);
        assert_eq!(st.feed(S, &resp[..20]), Verdict::NeedMore);
        assert_eq!(st.event().unwrap().status, Some(200));
        assert_eq!(st.feed(S, &resp[20..]), Verdict::Done);
        let ev = st.event().unwrap();
        assert_eq!(
            ev.connect_target.as_deref(),
            Some("ts01-b.cloudsink.net:443")
        );
        assert_eq!(ev.protocol, "HTTP/1.0");
        assert_eq!(ev.connect_established, Some(true));
        assert_eq!(
            ev.http_user_agent.as_deref(),
            Some("CrowdStrike Falcon Sensor")
        );
    }

    #[test]
    fn odd_connect_requests_open_the_tunnel() {
        for req in [
            &b"connect example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"[..],
            b"CONNECT  https://example.com:443/  HTTP/1.1\r\n\r\n",
            b"Connect example.com:443 HTTP/1.0\r\nHost:\r\n example.com:443\r\n\r\n",
        ] {
            let mut st = HttpState::new();
            assert_eq!(st.feed(C, req), Verdict::NeedMore, "{}", req.escape_ascii());
            st.feed(S, b"HTTP/1.1 200 Connection established\r\n\r\n");
            let ev = st.event().unwrap();
            assert_eq!(ev.uri_form, TargetForm::Authority);
            assert_eq!(ev.connect_target.as_deref(), Some("example.com:443"));
            assert_eq!(ev.hostname.as_deref(), Some("example.com"));
            assert_eq!(ev.http_port, Some(443));
            assert_eq!(ev.connect_established, Some(true));
        }
    }

    #[test]
    fn plain_get() {
        let mut st = HttpState::new();
        st.feed(C, &unhex(CURL_GET));
        let ev = st.event().unwrap();
        assert_eq!(ev.hostname.as_deref(), Some("google.com"));
        assert_eq!(ev.http_user_agent.as_deref(), Some("curl/7.68.0"));
        assert_eq!(ev.uri_form, TargetForm::Origin);
        assert!(ev.proxy_headers.is_empty());
    }

    #[test]
    fn not_mine_fast() {
        let mut st = HttpState::new();
        assert_eq!(
            st.feed(C, &[0x16, 0x03, 0x01, 0x02, 0x00]),
            Verdict::NotMine
        );
        let mut st = HttpState::new();
        assert_eq!(st.feed(S, b"220 smtp ready\r\n"), Verdict::NotMine);
        let mut st = HttpState::new();
        assert_eq!(st.feed(C, b"SSH-2.0-x\r\n"), Verdict::NotMine);
    }

    #[test]
    fn oversized_head_is_truncated_and_escaped() {
        let mut st = HttpState::new();
        let mut req = b"GET /\xff\\ HTTP/1.1\r\nUser-Agent: a\x01b\r\nX: ".to_vec();
        req.resize(MAX_HEAD_BYTES + 100, b'a');
        assert_eq!(st.feed(C, &req), Verdict::NeedMore);
        let ev = st.event().unwrap();
        assert!(ev.truncated);
        assert_eq!(ev.url, "/\\xff\\x5c");
        assert_eq!(ev.http_user_agent.as_deref(), Some("a\\x01b"));
        assert_eq!(st.dropped_bytes(), 100);
    }

    #[test]
    fn random_streams_never_panic() {
        let mut x: u64 = 0x0bad_c0de_1234_5678;
        for round in 0..2000 {
            let mut st = HttpState::new();
            for step in 0..10 {
                x = xorshift(x);
                let mut chunk: Vec<u8> = (0..(x % 200) as usize)
                    .map(|i| match (x.rotate_left((i % 64) as u32) & 0xff) as u8 {
                        r if r % 7 == 0 => b'\n',
                        r => r,
                    })
                    .collect();
                if step == 0 && round % 2 == 0 {
                    chunk.splice(0..0, b"GET /".iter().copied());
                }
                let dir = if step > 0 && x & 4 == 0 { S } else { C };
                let _ = st.feed(dir, &chunk);
                let _ = st.event();
            }
        }
    }
}
