//! Pure parsers of the SOCKS handshake messages. Each returns the message
//! length on success, `Ok(None)` when more bytes are needed, `Err(NotSocks)` when
//! the bytes cannot be this message.

/// Where the client asked to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An IPv4 or IPv6 address.
    Addr(std::net::IpAddr),
    /// A domain name (SOCKS4a, SOCKS5 ATYP 3), non-printable bytes escaped.
    Domain(String),
}

/// A parsed client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE.
    pub command: u8,
    /// Destination.
    pub target: Target,
    /// Destination port.
    pub port: u16,
    /// Message length in bytes.
    pub len: usize,
}

/// The bytes cannot be the expected SOCKS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotSocks;

/// Result of parsing one message.
pub type Parsed<T> = Result<Option<T>, NotSocks>;

/// SOCKS5 greeting (RFC 1928 3): VER=5, NMETHODS, METHODS.
pub fn v5_greeting(b: &[u8]) -> Parsed<usize> {
    if b.first() != Some(&5) {
        return Err(NotSocks);
    }
    let Some(&n) = b.get(1) else { return Ok(None) };
    if n == 0 {
        return Err(NotSocks);
    }
    let len = 2 + n as usize;
    complete(b, len)
}

/// SOCKS5 method selection reply: VER=5, METHOD (0 none, 2 user/pass, 0xff refused).
pub fn v5_method(b: &[u8]) -> Parsed<u8> {
    match b {
        [5, m, ..] if matches!(m, 0..=3 | 0x80..=0xff) => Ok(Some(*m)),
        [5] | [] => Ok(None),
        _ => Err(NotSocks),
    }
}

/// RFC 1929 user/password request: VER=1, ULEN, UNAME, PLEN, PASSWD.
pub fn v5_auth(b: &[u8]) -> Parsed<usize> {
    if b.first().is_some_and(|v| *v != 1) {
        return Err(NotSocks);
    }
    let Some(&ulen) = b.get(1) else {
        return Ok(None);
    };
    let Some(&plen) = b.get(2 + ulen as usize) else {
        return Ok(None);
    };
    let len = 3 + ulen as usize + plen as usize;
    complete(b, len)
}

/// RFC 1929 reply: VER=1, STATUS (0 = success).
pub fn v5_auth_reply(b: &[u8]) -> Parsed<u8> {
    match b {
        [1, st, ..] => Ok(Some(*st)),
        [1] | [] => Ok(None),
        _ => Err(NotSocks),
    }
}

fn escape(name: &[u8]) -> String {
    let mut s = String::with_capacity(name.len());
    for &c in name {
        if c.is_ascii_graphic() {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

/// SOCKS5 request (RFC 1928 4): VER CMD RSV ATYP DST.ADDR DST.PORT.
pub fn v5_request(b: &[u8]) -> Parsed<Request> {
    let h = match b.get(..4) {
        Some(h) => h,
        None => {
            return if b.first().is_none_or(|v| *v == 5) {
                Ok(None)
            } else {
                Err(NotSocks)
            };
        }
    };
    if h[0] != 5 || !(1..=3).contains(&h[1]) || h[2] != 0 {
        return Err(NotSocks);
    }
    let (target, addr_len) = match h[3] {
        1 => match b.get(4..8) {
            Some(a) => (
                Target::Addr(std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).into()),
                4,
            ),
            None => return Ok(None),
        },
        4 => match b.get(4..20) {
            Some(a) => {
                let mut o = [0u8; 16];
                o.copy_from_slice(a);
                (Target::Addr(std::net::Ipv6Addr::from(o).into()), 16)
            }
            None => return Ok(None),
        },
        3 => {
            let Some(&n) = b.get(4) else { return Ok(None) };
            if n == 0 {
                return Err(NotSocks);
            }
            match b.get(5..5 + n as usize) {
                Some(name) => (Target::Domain(escape(name)), 1 + n as usize),
                None => return Ok(None),
            }
        }
        _ => return Err(NotSocks),
    };
    let len = 4 + addr_len + 2;
    let Some(p) = b.get(len - 2..len) else {
        return Ok(None);
    };
    Ok(Some(Request {
        command: h[1],
        target,
        port: u16::from_be_bytes([p[0], p[1]]),
        len,
    }))
}

/// SOCKS5 reply (RFC 1928 6): the REP code (0 = succeeded) and length.
pub fn v5_reply(b: &[u8]) -> Parsed<(u8, usize)> {
    let Some(h) = b.get(..4) else {
        return if b.first().is_none_or(|v| *v == 5) {
            Ok(None)
        } else {
            Err(NotSocks)
        };
    };
    if h[0] != 5 || h[1] > 8 || h[2] != 0 {
        return Err(NotSocks);
    }
    let addr_len = match h[3] {
        1 => 4,
        4 => 16,
        3 => 1 + *b.get(4).ok_or(NotSocks)? as usize,
        _ => return Err(NotSocks),
    };
    if b.len() < 4 + addr_len + 2 {
        return Ok(None);
    }
    Ok(Some((h[1], 4 + addr_len + 2)))
}

/// SOCKS4/4a request: VN=4, CD, DSTPORT, DSTIP, USERID NUL [, DOMAIN NUL].
pub fn v4_request(b: &[u8]) -> Parsed<Request> {
    if b.first() != Some(&4) {
        return Err(NotSocks);
    }
    let Some(h) = b.get(..8) else { return Ok(None) };
    if !(1..=2).contains(&h[1]) {
        return Err(NotSocks);
    }
    let port = u16::from_be_bytes([h[2], h[3]]);
    let ip = [h[4], h[5], h[6], h[7]];
    let Some(user_end) = b[8..].iter().position(|&c| c == 0) else {
        return if b.len() > 8 + 255 {
            Err(NotSocks)
        } else {
            Ok(None)
        };
    };
    let mut len = 8 + user_end + 1;
    let target = if ip[..3] == [0, 0, 0] && ip[3] != 0 {
        let Some(dom_end) = b[len..].iter().position(|&c| c == 0) else {
            return if b.len() > len + 255 {
                Err(NotSocks)
            } else {
                Ok(None)
            };
        };
        let t = Target::Domain(escape(&b[len..len + dom_end]));
        len += dom_end + 1;
        t
    } else {
        Target::Addr(std::net::Ipv4Addr::from(ip).into())
    };
    Ok(Some(Request {
        command: h[1],
        target,
        port,
        len,
    }))
}

/// SOCKS4 reply: VN=0, CD (0x5a granted, 0x5b-0x5d refused), 6 ignored bytes.
pub fn v4_reply(b: &[u8]) -> Parsed<u8> {
    match b.len() {
        0..=7 => {
            if b.first().is_some_and(|v| *v != 0)
                || b.get(1).is_some_and(|c| !(0x5a..=0x5d).contains(c))
            {
                Err(NotSocks)
            } else {
                Ok(None)
            }
        }
        _ if b[0] == 0 && (0x5a..=0x5d).contains(&b[1]) => Ok(Some(b[1])),
        _ => Err(NotSocks),
    }
}

/// `Some(len)` once `b` holds a whole `len`-byte message, else `None`
/// (wait for more bytes).
fn complete(b: &[u8], len: usize) -> Parsed<usize> {
    Ok((b.len() >= len).then_some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_domain_request() {
        // RFC 1928 4: CONNECT example.com:443
        let mut b = vec![5, 1, 0, 3, 11];
        b.extend_from_slice(b"example.com");
        b.extend_from_slice(&443u16.to_be_bytes());
        let r = v5_request(&b).unwrap().unwrap();
        assert_eq!(r.target, Target::Domain("example.com".into()));
        assert_eq!(r.port, 443);
        assert_eq!(v5_request(&b[..7]), Ok(None));
    }

    #[test]
    fn v4a_request_and_reply() {
        let mut b = vec![4, 1, 0, 80, 0, 0, 0, 1];
        b.extend_from_slice(b"user\0host.example\0");
        let r = v4_request(&b).unwrap().unwrap();
        assert_eq!(r.target, Target::Domain("host.example".into()));
        assert_eq!(v4_reply(&[0, 0x5a, 0, 0, 0, 0, 0, 0]), Ok(Some(0x5a)));
        assert!(v4_reply(&[0x16, 3, 1]).is_err());
    }

    #[test]
    fn tls_is_not_socks() {
        assert!(v5_greeting(&[0x16, 3, 1, 0, 5]).is_err());
        assert!(v4_request(&[0x16, 3, 1, 0, 5]).is_err());
    }
}
