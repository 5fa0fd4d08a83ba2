//! Pure, zero-copy parsers for an HTTP/1.x message head (RFC 9112 sections
//! 2-5): request line, status line and header fields. Nothing here
//! allocates except [`escape`]; nothing panics on hostile bytes.

/// Methods accepted without the "plausible token" heuristic: RFC 9110
/// section 9, WebDAV (RFC 4918, 3253, 5323) and a few common extensions.
pub const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"PURGE",
    b"M-SEARCH",
    b"PRI",
];

/// Longest method token considered plausible; longer tokens are not HTTP
/// (and are not worth buffering to find out).
pub const MAX_METHOD_LEN: usize = 20;

/// Verdict on the first bytes of a client stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefix {
    /// `METHOD SP target-start` seen: worth buffering the head.
    Plausible,
    /// Consistent so far but too short to decide.
    NeedMore,
    /// Cannot be an HTTP/1.x request line.
    NotHttp,
}

fn is_method_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'-' || b == b'_'
}

/// Spaces tolerated between the request line's words: RFC 9112 section 3
/// lets a recipient split on runs of whitespace, and some clients and
/// proxies send more than one.
const MAX_GAP: usize = 8;

/// True for a method token accepted as HTTP: any known method (in any case:
/// RFC 9110 9.1 makes methods case-sensitive, but clients such as scripted
/// `connect host:443 HTTP/1.1` probes send lower case and proxies accept
/// it), or an all-uppercase token of 3..=[`MAX_METHOD_LEN`] bytes.
fn method_ok(method: &[u8]) -> bool {
    is_known_method(method)
        || ((3..=MAX_METHOD_LEN).contains(&method.len())
            && method
                .iter()
                .all(|&b| b.is_ascii_uppercase() || b == b'-' || b == b'_'))
}

/// A method of [`KNOWN_METHODS`], compared case-insensitively.
fn is_known_method(method: &[u8]) -> bool {
    KNOWN_METHODS.iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// Decides from the first bytes whether a client stream can be HTTP/1.x:
/// a method accepted by [`method_ok`], then up to [`MAX_GAP`] spaces or
/// tabs, then a visible target byte. Lets the engine drop non-HTTP flows
/// after the first packet.
pub fn check_request_prefix(buf: &[u8]) -> Prefix {
    let Some(sp) = buf.iter().position(|&b| !is_method_byte(b)) else {
        return if buf.len() <= MAX_METHOD_LEN {
            Prefix::NeedMore
        } else {
            Prefix::NotHttp
        };
    };
    let method = buf.get(..sp).unwrap_or_default();
    if !matches!(buf.get(sp), Some(b' ' | b'\t')) || !method_ok(method) {
        return Prefix::NotHttp;
    }
    let rest = buf.get(sp..).unwrap_or_default();
    let gap = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    if gap > MAX_GAP {
        return Prefix::NotHttp;
    }
    match rest.get(gap) {
        None => Prefix::NeedMore,
        Some(&b) if (0x21..0x7f).contains(&b) => Prefix::Plausible,
        Some(_) => Prefix::NotHttp,
    }
}

/// Finds the end of a message head (just past the empty line, accepting
/// bare LF endings) searching from `from`, so a caller that appends data
/// can resume where the last search stopped instead of rescanning.
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.min(buf.len());
    let tail = buf.get(start..)?;
    let mut i = 0;
    while let Some(p) = tail.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = start + i + p;
        // Previous line ended at nl: is the line before it empty?
        let before = buf.get(..nl).unwrap_or_default();
        let before = before.strip_suffix(b"\r").unwrap_or(before);
        if before.ends_with(b"\n") {
            return Some(nl + 1);
        }
        i += p + 1;
    }
    None
}

/// Splits off the first line (without CR LF) and returns it with the rest.
pub fn split_line(buf: &[u8]) -> (&[u8], &[u8]) {
    match buf.iter().position(|&b| b == b'\n') {
        Some(p) => {
            let line = buf.get(..p).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, buf.get(p + 1..).unwrap_or_default())
        }
        None => (buf, &[]),
    }
}

/// An HTTP/1.x request line, borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// The method token.
    pub method: &'a [u8],
    /// The request target as sent.
    pub target: &'a [u8],
    /// `HTTP/1.1`, `HTTP/1.0`...; empty for an HTTP/0.9 simple request.
    pub version: &'a [u8],
}

/// Parses `method SP request-target [SP HTTP-version]` (RFC 9112 section
/// 3), splitting on runs of spaces and tabs as section 3 allows; words
/// after the version are ignored. A method that is not all upper case must
/// be a known one and come with an `HTTP/` version (no HTTP/0.9 form), so
/// lower-case text protocols (`ehlo host`) are not taken for HTTP.
pub fn parse_request_line(line: &[u8]) -> Option<RequestLine<'_>> {
    let mut parts = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty());
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next().unwrap_or_default();
    if !method.iter().all(|&b| is_method_byte(b)) {
        return None;
    }
    // RTSP/1.0 and SIP/2.0 share HTTP's request syntax but are not HTTP.
    let http_version = version.len() >= 5 && version[..5].eq_ignore_ascii_case(b"HTTP/");
    if !version.is_empty() && !http_version {
        return None;
    }
    let upper = method
        .iter()
        .all(|&b| b.is_ascii_uppercase() || b == b'-' || b == b'_');
    if !(upper || (is_known_method(method) && http_version)) {
        return None;
    }
    Some(RequestLine {
        method,
        target,
        version,
    })
}

/// An HTTP/1.x status line, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLine<'a> {
    /// `HTTP/1.1` etc.
    pub version: &'a [u8],
    /// The three-digit status code.
    pub code: u16,
    /// The reason phrase (may be empty).
    pub reason: &'a [u8],
}

/// Parses `HTTP-version SP status-code SP [reason]` (RFC 9112 section 4).
pub fn parse_status_line(line: &[u8]) -> Option<StatusLine<'_>> {
    if !line.starts_with(b"HTTP/") {
        return None;
    }
    let mut parts = line.splitn(3, |&b| b == b' ');
    let version = parts.next()?;
    let code = parts.next()?;
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    Some(StatusLine {
        version,
        code,
        reason: parts.next().unwrap_or_default(),
    })
}

/// Only the status line's prefix check, for responses split mid-line:
/// false when the bytes can no longer become `HTTP/`.
pub fn could_be_status_line(buf: &[u8]) -> bool {
    let n = buf.len().min(5);
    buf.get(..n) == b"HTTP/".get(..n)
}

/// One header field, borrowed; the value has surrounding whitespace trimmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Field name as sent (compare case-insensitively).
    pub name: &'a [u8],
    /// Field value.
    pub value: &'a [u8],
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Iterates the header fields of a head whose first line was already split
/// off, stopping at the empty line or at a final incomplete line (a head
/// truncated by the cap still yields its complete fields). Lines without a
/// colon are skipped. Obsolete line folding (RFC 9112 section 5.2: a line
/// starting with a space or tab continues the field above): a field whose
/// value is empty on its own line takes its first continuation as value
/// (`Host:` CRLF SP `example.com`); other continuations are skipped, since
/// joining them would mean copying.
pub fn headers(mut rest: &[u8]) -> impl Iterator<Item = Header<'_>> {
    fn next_line<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let line = rest.get(..nl).unwrap_or_default();
        *rest = rest.get(nl + 1..).unwrap_or_default();
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
    let folded = |l: &[u8]| l.first().is_some_and(|&b| b == b' ' || b == b'\t');
    std::iter::from_fn(move || {
        loop {
            let line = next_line(&mut rest)?;
            if line.is_empty() {
                rest = &[];
                return None;
            }
            if folded(line) {
                continue;
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let mut value = trim(line.get(colon + 1..).unwrap_or_default());
                if value.is_empty() {
                    let mut peek = rest;
                    if let Some(next) = next_line(&mut peek).filter(|l| folded(l)) {
                        value = trim(next);
                        rest = peek;
                    }
                }
                return Some(Header {
                    name: trim(line.get(..colon).unwrap_or_default()),
                    value,
                });
            }
        }
    })
}

/// The four request-target forms of RFC 9112 section 3.2; the absolute and
/// authority forms are what a client sends to a forward proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetForm {
    /// `/path?query`: a request to an origin server.
    Origin,
    /// `scheme://authority/path`: a request to a forward proxy.
    Absolute,
    /// `host:port`: the target of a CONNECT.
    Authority,
    /// `*`: server-wide OPTIONS.
    Asterisk,
}

/// Classifies a request target (RFC 9112 section 3.2).
pub fn target_form(method: &[u8], target: &[u8]) -> TargetForm {
    if method.eq_ignore_ascii_case(b"CONNECT") {
        TargetForm::Authority
    } else if target == b"*" {
        TargetForm::Asterisk
    } else if target.starts_with(b"/") {
        TargetForm::Origin
    } else if let Some(p) = target.windows(3).position(|w| w == b"://") {
        let scheme = target.get(..p).unwrap_or_default();
        if !scheme.is_empty()
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        {
            TargetForm::Absolute
        } else {
            TargetForm::Origin
        }
    } else {
        TargetForm::Origin
    }
}

/// The authority (`host[:port]`) of an absolute-form target, so a proxied
/// request without a Host header still yields a hostname.
pub fn absolute_authority(target: &[u8]) -> Option<&[u8]> {
    let p = target.windows(3).position(|w| w == b"://")?;
    let rest = target.get(p + 3..)?;
    let end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?' || b == b'#')
        .unwrap_or(rest.len());
    let auth = rest.get(..end)?;
    // Drop any userinfo.
    let auth = match auth.iter().rposition(|&b| b == b'@') {
        Some(at) => auth.get(at + 1..)?,
        None => auth,
    };
    Some(auth).filter(|a| !a.is_empty())
}

/// Splits `host[:port]` / `[v6]:port` into host and port (a port that is
/// not a number is left in the host).
pub fn split_host_port(auth: &[u8]) -> (&[u8], Option<u16>) {
    if let Some(rest) = auth.strip_prefix(b"[") {
        if let Some(close) = rest.iter().position(|&b| b == b']') {
            let host = rest.get(..close).unwrap_or_default();
            let port = rest
                .get(close + 1..)
                .and_then(|p| p.strip_prefix(b":"))
                .and_then(parse_port);
            return (host, port);
        }
        return (auth, None);
    }
    match auth.iter().rposition(|&b| b == b':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some(c) if auth.iter().filter(|&&b| b == b':').count() == 1 => {
            match auth.get(c + 1..).and_then(parse_port) {
                Some(port) => (auth.get(..c).unwrap_or_default(), Some(port)),
                None => (auth, None),
            }
        }
        _ => (auth, None),
    }
}

fn parse_port(p: &[u8]) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(p).ok()?.parse().ok()
}

/// Makes arbitrary bytes safe and unambiguous for a JSON log: valid UTF-8
/// printable characters are kept, everything else (invalid UTF-8, control
/// characters, and the backslash itself) is written `\xNN`; output stops
/// after `max_bytes` input bytes. Keeps attacker-chosen bytes from forging
/// log content.
pub fn escape(bytes: &[u8], max_bytes: usize) -> String {
    let bytes = bytes.get(..max_bytes.min(bytes.len())).unwrap_or_default();
    let mut s = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    push_hex(&mut s, b);
                }
            } else {
                s.push(c);
            }
        }
        for &b in chunk.invalid() {
            push_hex(&mut s, b);
        }
    }
    s
}

fn push_hex(s: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    s.push_str("\\x");
    s.push(char::from(HEX[usize::from(b >> 4)]));
    s.push(char::from(HEX[usize::from(b & 0xf)]));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dissect::testutil::{unhex, xorshift};

    // ndpi/pcap/http-proxy.pcapng, frame 4: forward-proxy GET, absolute-form target.
    pub(crate) const PROXY_GET: &str = concat!(
        "47455420687474703a2f2f687474702e636f6d2f20485454502f312e310d0a486f73743a20687474",
        "702e636f6d0d0a557365722d4167656e743a204d6f7a696c6c612f352e30202857696e646f777320",
        "4e542031302e303b2057696e36343b207836343b2072763a39312e3029204765636b6f2f32303130",
        "303130312046697265666f782f39312e300d0a4163636570743a202a2f2a0d0a4163636570742d4c",
        "616e67756167653a20656e2d55532c656e3b713d302e350d0a4163636570742d456e636f64696e67",
        "3a20677a69702c206465666c6174650d0a444e543a20310d0a436f6e6e656374696f6e3a206b6565",
        "702d616c6976650d0a507261676d613a206e6f2d63616368650d0a43616368652d436f6e74726f6c",
        "3a206e6f2d63616368650d0a0d0a",
    );

    #[test]
    fn prefix_checks() {
        assert_eq!(check_request_prefix(b"GET / HTTP/1.1"), Prefix::Plausible);
        assert_eq!(check_request_prefix(b"GE"), Prefix::NeedMore);
        assert_eq!(check_request_prefix(b"GET "), Prefix::NeedMore);
        assert_eq!(check_request_prefix(b"FOOBAR /x"), Prefix::Plausible);
        // A known method in lower case may be HTTP (parse_request_line then
        // wants an HTTP version); an unknown lower-case word is not.
        assert_eq!(check_request_prefix(b"get / HTTP/1.1"), Prefix::Plausible);
        assert_eq!(check_request_prefix(b"foobar /x"), Prefix::NotHttp);
        assert_eq!(check_request_prefix(b"SSH-2.0-OpenSSH"), Prefix::NotHttp);
        assert_eq!(check_request_prefix(&[0x16, 0x03, 0x01]), Prefix::NotHttp);
        assert_eq!(check_request_prefix(b"GET  /"), Prefix::Plausible);
        assert_eq!(check_request_prefix(b"AB /"), Prefix::NotHttp);
    }

    #[test]
    fn rtsp_and_sip_request_lines_are_not_http() {
        // RFC 2326 6.1 / RFC 3261 7.1: same shape, other protocol names.
        assert!(parse_request_line(b"DESCRIBE rtsp://10.2.2.2:8554/ RTSP/1.0").is_none());
        assert!(parse_request_line(b"INVITE sip:bob@example.com SIP/2.0").is_none());
        assert!(parse_request_line(b"GET / HTTP/1.0").is_some());
    }

    #[test]
    fn request_line_and_forms() {
        let bytes = unhex(PROXY_GET);
        let (line, _) = split_line(&bytes);
        let r = parse_request_line(line).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"http://http.com/");
        assert_eq!(r.version, b"HTTP/1.1");
        assert_eq!(target_form(r.method, r.target), TargetForm::Absolute);
        assert_eq!(absolute_authority(r.target), Some(&b"http.com"[..]));
        assert_eq!(
            target_form(b"CONNECT", b"apache.org:443"),
            TargetForm::Authority
        );
        assert_eq!(target_form(b"OPTIONS", b"*"), TargetForm::Asterisk);
        assert_eq!(target_form(b"GET", b"/a?u=http://x"), TargetForm::Origin);
    }

    /// Request lines off the textbook (hand-built; RFC 9112 section 3 lets
    /// a recipient split on whitespace runs; the lower-case `connect` is
    /// what scripted clients send and proxies such as Squid accept).
    #[test]
    fn tolerant_request_lines() {
        for (line, method, target, version) in [
            (
                &b"connect example.com:443 HTTP/1.1"[..],
                &b"connect"[..],
                &b"example.com:443"[..],
                &b"HTTP/1.1"[..],
            ),
            (
                b"Connect  example.com:443   HTTP/1.0",
                b"Connect",
                b"example.com:443",
                b"HTTP/1.0",
            ),
            (
                b"CONNECT\texample.com:443\tHTTP/1.1 extra",
                b"CONNECT",
                b"example.com:443",
                b"HTTP/1.1",
            ),
            (
                b"CONNECT https://example.com:443/ HTTP/1.1",
                b"CONNECT",
                b"https://example.com:443/",
                b"HTTP/1.1",
            ),
            (b"get /  http/1.1", b"get", b"/", b"http/1.1"),
        ] {
            let r = parse_request_line(line).unwrap_or_else(|| panic!("{}", line.escape_ascii()));
            assert_eq!((r.method, r.target, r.version), (method, target, version));
            assert_eq!(
                check_request_prefix(line),
                Prefix::Plausible,
                "{}",
                line.escape_ascii()
            );
        }
        assert_eq!(
            target_form(b"connect", b"example.com:443"),
            TargetForm::Authority
        );
        // Lower-case words that are not HTTP methods, or a known method
        // without an HTTP version (SMTP/IMAP-like lines), stay out.
        assert!(parse_request_line(b"ehlo mail.example.com").is_none());
        assert!(parse_request_line(b"get /").is_none());
        assert_eq!(
            check_request_prefix(b"ehlo mail.example.com"),
            Prefix::NotHttp
        );
        assert_eq!(check_request_prefix(b"GET          /"), Prefix::NotHttp);
    }

    #[test]
    fn folded_host_header_is_read() {
        // RFC 9112 5.2: obs-fold.
        let rest = b"Host:\r\n example.com:443\r\nUser-Agent: a\r\n b\r\n\r\n";
        let h: Vec<_> = headers(rest).collect();
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].name, h[0].value),
            (&b"Host"[..], &b"example.com:443"[..])
        );
        assert_eq!(h[1].value, b"a");
    }

    #[test]
    fn head_end_and_headers() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\nX:  y \r\n\r\nbody";
        assert_eq!(find_head_end(head, 0), Some(head.len() - 4));
        assert_eq!(find_head_end(b"GET /\n\nx", 0), Some(7));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
        let (_, rest) = split_line(head);
        let h: Vec<_> = headers(rest).collect();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].name, b"X");
        assert_eq!(h[1].value, b"y");
    }

    #[test]
    fn host_port_and_escape() {
        assert_eq!(split_host_port(b"a.b:8080"), (&b"a.b"[..], Some(8080)));
        assert_eq!(split_host_port(b"[::1]:443"), (&b"::1"[..], Some(443)));
        assert_eq!(split_host_port(b"::1"), (&b"::1"[..], None));
        assert_eq!(split_host_port(b"a:b"), (&b"a:b"[..], None));
        assert_eq!(
            escape(b"a\\b\x00\xffc\xc3\xa9", 100),
            "a\\x5cb\\x00\\xffc\u{e9}"
        );
        assert_eq!(escape(b"abcdef", 3), "abc");
    }

    #[test]
    fn status_line() {
        let s = parse_status_line(b"HTTP/1.0 200 Connection established").unwrap();
        assert_eq!(s.code, 200);
        assert_eq!(s.reason, b"Connection established");
        assert!(parse_status_line(b"HTTP/1.1 2000 x").is_none());
        assert!(could_be_status_line(b"HTT"));
        assert!(!could_be_status_line(b"SSH-2.0"));
    }

    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        for _ in 0..20_000 {
            x = xorshift(x);
            let buf: Vec<u8> = (0..(x % 120) as usize)
                .map(|i| {
                    let r = (x.rotate_left((i % 64) as u32) & 0xff) as u8;
                    // Bias towards structural bytes.
                    match r % 8 {
                        0 => b'\n',
                        1 => b':',
                        2 => b' ',
                        _ => r,
                    }
                })
                .collect();
            let _ = check_request_prefix(&buf);
            let _ = find_head_end(&buf, (x % 7) as usize);
            let (line, rest) = split_line(&buf);
            let _ = parse_request_line(line);
            let _ = parse_status_line(line);
            let _ = headers(rest).count();
            let _ = absolute_authority(&buf);
            let _ = split_host_port(&buf);
            let _ = escape(&buf, 64);
        }
    }
}
