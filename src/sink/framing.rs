//! How lines become bytes on the wire: one place decides the frame of
//! every sink kind, so the sink thread only moves bytes.

use super::syslog;
use std::sync::Arc;

/// The frame around each line, chosen by the sink kind and protocol.
#[derive(Clone)]
pub(super) enum Framing {
    /// `LINE\n` on a stream or file.
    Newline,
    /// The line alone, one datagram.
    Datagram,
    /// RFC 5424 message, one datagram, capped.
    SyslogUdp(Arc<syslog::Header>),
    /// RFC 6587 octet counting: `LEN SP MSG`.
    SyslogOctet(Arc<syslog::Header>),
}

impl Framing {
    /// Whether each frame is one datagram (sent whole or not at all).
    pub(super) fn datagram(&self) -> bool {
        matches!(self, Framing::Datagram | Framing::SyslogUdp(_))
    }

    /// Appends the framed line; true when it had to be truncated.
    pub(super) fn frame(&self, line: &[u8], out: &mut Vec<u8>) -> bool {
        match self {
            Framing::Newline => {
                out.extend_from_slice(line);
                out.push(b'\n');
                false
            }
            Framing::Datagram => {
                out.extend_from_slice(line);
                false
            }
            Framing::SyslogUdp(h) => {
                let start = out.len();
                h.write(line, out);
                if out.len() - start > syslog::MAX_UDP_MESSAGE {
                    out.truncate(start + syslog::MAX_UDP_MESSAGE);
                    return true;
                }
                false
            }
            Framing::SyslogOctet(h) => {
                let mut msg = Vec::with_capacity(line.len() + 96);
                h.write(line, &mut msg);
                out.extend_from_slice(msg.len().to_string().as_bytes());
                out.push(b' ');
                out.extend_from_slice(&msg);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octet_counting_counts_the_message() {
        let h = Arc::new(syslog::Header {
            facility: 16,
            hostname: "h".into(),
            app_name: "a".into(),
            procid: "1".into(),
        });
        let mut out = Vec::new();
        Framing::SyslogOctet(h).frame(b"{\"event_type\":\"flow\"}", &mut out);
        let s = String::from_utf8(out).unwrap();
        let (len, msg) = s.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        assert!(msg.starts_with("<134>1 "), "{msg}");
    }
}
