//! Pure, zero-copy parsers for the SSH protocol version exchange (RFC 4253
//! section 4.2), the binary packet framing (RFC 4253 section 6) and the
//! SSH_MSG_KEXINIT message (RFC 4253 section 7.1), plus the HASSH strings
//! (salesforce/hassh, BSD-3-Clause) derived from a KEXINIT.
//!
//! Everything here borrows the input and never panics on hostile bytes.

use md5::{Digest, Md5};

/// Longest identification line RFC 4253 section 4.2 allows, CR LF included.
/// Lines longer than this are refused instead of buffered without end.
pub const MAX_BANNER_LINE: usize = 255;

/// SSH_MSG_KEXINIT message number (RFC 4253 section 12).
pub const SSH_MSG_KEXINIT: u8 = 20;

/// An SSH identification string (`SSH-protoversion-softwareversion SP comments`),
/// borrowed from the line it was parsed from, kept apart so detectors can
/// match on the software version without re-splitting the banner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Banner<'a> {
    /// The whole line without the trailing CR LF (or bare LF).
    pub raw: &'a [u8],
    /// `protoversion`, e.g. `2.0`, `1.99` or `1.5`.
    pub proto_version: &'a [u8],
    /// `softwareversion`, everything up to the first space.
    pub software_version: &'a [u8],
    /// The optional comments after the first space.
    pub comments: Option<&'a [u8]>,
}

impl Banner<'_> {
    /// True for SSH-1 only peers (`1.x` other than `1.99`); such a peer never
    /// sends a KEXINIT, which tells the state machine to stop waiting for one.
    pub fn is_ssh1_only(&self) -> bool {
        self.proto_version.starts_with(b"1.") && self.proto_version != b"1.99"
    }

    /// True when the peer can speak SSH-2 (`2.0`, or the compatibility
    /// version `1.99` of RFC 4253 section 5.1).
    pub fn speaks_ssh2(&self) -> bool {
        self.proto_version == b"2.0" || self.proto_version == b"1.99"
    }
}

/// Parses one identification line (already stripped of CR LF). Returns
/// `None` when the line is not an `SSH-` banner, which for the server side
/// just means "a pre-banner line" (RFC 4253 section 4.2).
pub fn parse_banner_line(line: &[u8]) -> Option<Banner<'_>> {
    let rest = line.strip_prefix(b"SSH-")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (proto_version, after) = rest.split_at(dash);
    let after = after.get(1..)?;
    if proto_version.is_empty() {
        return None;
    }
    let (software_version, comments) = match after.iter().position(|&b| b == b' ') {
        Some(sp) => (
            after.get(..sp).unwrap_or_default(),
            after.get(sp + 1..).filter(|c| !c.is_empty()),
        ),
        None => (after, None),
    };
    Some(Banner {
        raw: line,
        proto_version,
        software_version,
        comments,
    })
}

/// Strips a trailing LF and, when present, the CR before it, so lines
/// ended by a bare LF (which real servers send) are accepted too.
pub fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Outcome of looking for one framed binary packet at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketFrame<'a> {
    /// A complete packet: its payload (message number first) and how many
    /// bytes of the buffer the whole packet used.
    Complete {
        /// The packet payload, padding removed.
        payload: &'a [u8],
        /// Bytes consumed: 4 + packet_length.
        consumed: usize,
    },
    /// Not enough bytes yet; `total` is the full packet size when the length
    /// field was readable (so a caller can buffer exactly that much).
    Incomplete {
        /// Total packet size (4 + packet_length), if known.
        total: Option<usize>,
    },
    /// The framing is impossible (too short, too long, padding larger than
    /// the packet): the stream is not SSH-2 cleartext or is corrupt.
    Invalid,
}

/// Reads the total size of the packet starting at `buf` (4 + packet_length)
/// from its length field, refusing sizes outside `5..=max_total`.
pub fn packet_total_len(buf: &[u8], max_total: usize) -> Option<Result<usize, ()>> {
    let len_bytes: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let packet_length = u32::from_be_bytes(len_bytes) as usize;
    // RFC 4253 6: at least padding_length byte + 4 bytes of padding.
    if packet_length < 5 || packet_length > max_total.saturating_sub(4) {
        return Some(Err(()));
    }
    Some(Ok(packet_length + 4))
}

/// Frames one unencrypted binary packet (RFC 4253 section 6):
/// `uint32 packet_length, byte padding_length, payload, padding` (no MAC
/// before the first NEWKEYS). Packets larger than `max_total` are `Invalid`.
pub fn frame_packet(buf: &[u8], max_total: usize) -> PacketFrame<'_> {
    let total = match packet_total_len(buf, max_total) {
        None => return PacketFrame::Incomplete { total: None },
        Some(Err(())) => return PacketFrame::Invalid,
        Some(Ok(t)) => t,
    };
    let Some(packet) = buf.get(4..total) else {
        return PacketFrame::Incomplete { total: Some(total) };
    };
    let Some((&padding_length, rest)) = packet.split_first() else {
        return PacketFrame::Invalid;
    };
    let Some(payload_len) = rest.len().checked_sub(padding_length as usize) else {
        return PacketFrame::Invalid;
    };
    match rest.get(..payload_len) {
        Some(payload) if !payload.is_empty() => PacketFrame::Complete {
            payload,
            consumed: total,
        },
        _ => PacketFrame::Invalid,
    }
}

/// One RFC 4251 section 5 `name-list`, borrowed: comma-separated ASCII names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NameList<'a>(pub &'a [u8]);

impl<'a> NameList<'a> {
    /// The raw list bytes as sent (what HASSH hashes).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Iterates the individual names, used for algorithm negotiation.
    pub fn names(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.split(|&b| b == b',').filter(|n| !n.is_empty())
    }

    /// Whether `name` is one of the names in the list.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.names().any(|n| n == name)
    }
}

/// Why a KEXINIT payload could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KexInitError {
    /// The first payload byte is not SSH_MSG_KEXINIT.
    #[error("not a KEXINIT message")]
    NotKexInit,
    /// A field runs past the end of the payload.
    #[error("truncated KEXINIT")]
    Truncated,
}

/// A decoded SSH_MSG_KEXINIT (RFC 4253 section 7.1), borrowing the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KexInit<'a> {
    /// The 16 random cookie bytes.
    pub cookie: &'a [u8],
    /// kex_algorithms.
    pub kex_algorithms: NameList<'a>,
    /// server_host_key_algorithms.
    pub server_host_key_algorithms: NameList<'a>,
    /// encryption_algorithms_client_to_server.
    pub encryption_c2s: NameList<'a>,
    /// encryption_algorithms_server_to_client.
    pub encryption_s2c: NameList<'a>,
    /// mac_algorithms_client_to_server.
    pub mac_c2s: NameList<'a>,
    /// mac_algorithms_server_to_client.
    pub mac_s2c: NameList<'a>,
    /// compression_algorithms_client_to_server.
    pub compression_c2s: NameList<'a>,
    /// compression_algorithms_server_to_client.
    pub compression_s2c: NameList<'a>,
    /// languages_client_to_server.
    pub languages_c2s: NameList<'a>,
    /// languages_server_to_client.
    pub languages_s2c: NameList<'a>,
    /// first_kex_packet_follows.
    pub first_kex_packet_follows: bool,
}

fn take_name_list<'a>(buf: &mut &'a [u8]) -> Result<NameList<'a>, KexInitError> {
    let len_bytes: [u8; 4] = buf
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(KexInitError::Truncated)?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let end = 4usize.checked_add(len).ok_or(KexInitError::Truncated)?;
    let list = buf.get(4..end).ok_or(KexInitError::Truncated)?;
    *buf = buf.get(end..).unwrap_or_default();
    Ok(NameList(list))
}

/// Decodes a KEXINIT payload (starting with the message number byte 20).
pub fn parse_kexinit(payload: &[u8]) -> Result<KexInit<'_>, KexInitError> {
    let (&msg, rest) = payload.split_first().ok_or(KexInitError::Truncated)?;
    if msg != SSH_MSG_KEXINIT {
        return Err(KexInitError::NotKexInit);
    }
    let cookie = rest.get(..16).ok_or(KexInitError::Truncated)?;
    let mut buf = rest.get(16..).unwrap_or_default();
    let kex_algorithms = take_name_list(&mut buf)?;
    let server_host_key_algorithms = take_name_list(&mut buf)?;
    let encryption_c2s = take_name_list(&mut buf)?;
    let encryption_s2c = take_name_list(&mut buf)?;
    let mac_c2s = take_name_list(&mut buf)?;
    let mac_s2c = take_name_list(&mut buf)?;
    let compression_c2s = take_name_list(&mut buf)?;
    let compression_s2c = take_name_list(&mut buf)?;
    let languages_c2s = take_name_list(&mut buf)?;
    let languages_s2c = take_name_list(&mut buf)?;
    // The boolean and the reserved uint32 are sometimes missing in broken
    // implementations; HASSH does not need them, so be lenient.
    let first_kex_packet_follows = buf.first().is_some_and(|&b| b != 0);
    Ok(KexInit {
        cookie,
        kex_algorithms,
        server_host_key_algorithms,
        encryption_c2s,
        encryption_s2c,
        mac_c2s,
        mac_s2c,
        compression_c2s,
        compression_s2c,
        languages_c2s,
        languages_s2c,
        first_kex_packet_follows,
    })
}

/// Which side sent a KEXINIT; selects the HASSH (client) or HASSHServer
/// (server) field choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The connection initiator: HASSH uses the client-to-server lists.
    Client,
    /// The responder: HASSHServer uses the server-to-client lists.
    Server,
}

/// Builds the HASSH input string `kex;enc;mac;comp` (client-to-server lists
/// for a client, server-to-client lists for a server), byte for byte as the
/// lists were sent. Non-UTF-8 bytes (never legal in a name-list) are
/// replaced lossily so the string stays printable.
pub fn hassh_string(kex: &KexInit<'_>, side: Side) -> String {
    let (enc, mac, comp) = match side {
        Side::Client => (kex.encryption_c2s, kex.mac_c2s, kex.compression_c2s),
        Side::Server => (kex.encryption_s2c, kex.mac_s2c, kex.compression_s2c),
    };
    let mut s = String::with_capacity(
        kex.kex_algorithms.0.len() + enc.0.len() + mac.0.len() + comp.0.len() + 3,
    );
    for (i, part) in [kex.kex_algorithms, enc, mac, comp].iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(&String::from_utf8_lossy(part.0));
    }
    s
}

/// Lowercase hex MD5 of a HASSH string: the HASSH / HASSHServer value.
pub fn hassh_hash(hassh_string: &str) -> String {
    let digest = Md5::digest(hassh_string.as_bytes());
    let mut out = String::with_capacity(32);
    for b in digest.iter() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// RFC 4253 section 7.1 negotiation for one list: the first client
/// algorithm the server also offers. Lets detectors see what was chosen
/// without waiting for encrypted traffic.
pub fn negotiate<'a>(client: NameList<'a>, server: NameList<'_>) -> Option<&'a [u8]> {
    client.names().find(|c| server.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testutil::{unhex, xorshift};

    // ssh-r.pcap, tcp.stream 1, first client payload (frame with the banner).
    const CLIENT_BANNER_HEX: &str = "5353482d322e302d4f70656e5353485f372e340d0a";

    #[test]
    fn banner_openssh() {
        let bytes = unhex(CLIENT_BANNER_HEX);
        let b = parse_banner_line(trim_line_end(&bytes)).unwrap();
        assert_eq!(b.proto_version, b"2.0");
        assert_eq!(b.software_version, b"OpenSSH_7.4");
        assert_eq!(b.comments, None);
        assert!(b.speaks_ssh2());
    }

    #[test]
    fn banner_with_comments_and_ssh1() {
        // RFC 4253 4.2 format, banner text from ssh.pcapng stream 0 (server).
        let b = parse_banner_line(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1").unwrap();
        assert_eq!(b.software_version, b"OpenSSH_8.9p1");
        assert_eq!(b.comments, Some(&b"Ubuntu-3ubuntu0.1"[..]));
        // sshv1.pcap stream 0: "SSH-1.5-1.2.26".
        let b = parse_banner_line(b"SSH-1.5-1.2.26").unwrap();
        assert!(b.is_ssh1_only());
        let b = parse_banner_line(b"SSH-1.99-OpenSSH_3.1p1").unwrap();
        assert!(!b.is_ssh1_only());
        assert!(b.speaks_ssh2());
        assert!(parse_banner_line(b"SSH-").is_none());
        assert!(parse_banner_line(b"HTTP/1.1 200 OK").is_none());
        assert_eq!(trim_line_end(b"SSH-2.0-x\n"), b"SSH-2.0-x");
    }

    #[test]
    fn framing_rejects_garbage() {
        assert_eq!(
            frame_packet(&[0, 0, 0], 16384),
            PacketFrame::Incomplete { total: None }
        );
        assert_eq!(frame_packet(&[0, 0, 0, 1, 0], 16384), PacketFrame::Invalid);
        assert_eq!(
            frame_packet(&[0xff, 0, 0, 1, 0], 16384),
            PacketFrame::Invalid
        );
        // padding_length larger than the packet
        assert_eq!(
            frame_packet(&[0, 0, 0, 5, 9, 1, 2, 3, 4], 16384),
            PacketFrame::Invalid
        );
        assert_eq!(
            frame_packet(&[0, 0, 0, 8, 4, 20], 16384),
            PacketFrame::Incomplete { total: Some(12) }
        );
    }

    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut buf = Vec::new();
        for _ in 0..20_000 {
            buf.clear();
            x = xorshift(x);
            let len = (x % 200) as usize;
            for i in 0..len {
                buf.push((x.rotate_left(i as u32 % 64) & 0xff) as u8);
            }
            if len > 0 && x & 1 == 0 {
                buf[0] = SSH_MSG_KEXINIT;
            }
            let _ = parse_banner_line(&buf);
            let _ = frame_packet(&buf, 16384);
            if let Ok(k) = parse_kexinit(&buf) {
                let _ = hassh_string(&k, Side::Client);
            }
        }
    }
}
