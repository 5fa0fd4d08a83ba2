//! Zero-copy parsers for the TLS and DTLS record layer and for the handshake
//! messages gateward fingerprints (ClientHello, ServerHello, Certificate).
//!
//! Every function takes a borrowed byte slice and returns views into it; a
//! parser never allocates and never panics, whatever the input. Unknown code
//! points (versions, cipher suites, extension types) are data, not errors.
//!
//! References: RFC 5246 (TLS 1.2) §6.2 and §7.4, RFC 8446 (TLS 1.3) §4 and
//! §5.1, RFC 6347 (DTLS 1.2) §4.1 and §4.2.2, RFC 6066 §3 (server_name),
//! RFC 7301 §3.1 (ALPN), RFC 8701 (GREASE).

use std::fmt;

/// Record content type `change_cipher_spec` (RFC 5246 §6.2.1); after it the
/// sender's records are encrypted, which is when we stop reading.
pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
/// Record content type `alert`; a fatal alert ends the handshake we watch.
pub const CT_ALERT: u8 = 21;
/// Record content type `handshake`: the only one whose payload we parse.
pub const CT_HANDSHAKE: u8 = 22;
/// Record content type `application_data`: encrypted payload, nothing to read.
pub const CT_APPLICATION_DATA: u8 = 23;

/// Handshake type `client_hello` (RFC 8446 §4).
pub const HS_CLIENT_HELLO: u8 = 1;
/// Handshake type `server_hello` (also carries HelloRetryRequest in TLS 1.3).
pub const HS_SERVER_HELLO: u8 = 2;
/// Handshake type `hello_verify_request` (DTLS cookie exchange, RFC 6347 §4.2.1).
pub const HS_HELLO_VERIFY_REQUEST: u8 = 3;
/// Handshake type `certificate`: the server's chain, readable only in TLS <= 1.2.
pub const HS_CERTIFICATE: u8 = 11;
/// Handshake type `server_hello_done`: the TLS <= 1.2 server's flight is over.
pub const HS_SERVER_HELLO_DONE: u8 = 14;

/// Extension `server_name` (RFC 6066 §3).
pub const EXT_SERVER_NAME: u16 = 0;
/// Extension `supported_groups` (RFC 8422 §5.1.1, formerly elliptic_curves).
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
/// Extension `ec_point_formats` (RFC 8422 §5.1.2).
pub const EXT_EC_POINT_FORMATS: u16 = 11;
/// Extension `signature_algorithms` (RFC 8446 §4.2.3).
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
/// Extension `application_layer_protocol_negotiation` (RFC 7301).
pub const EXT_ALPN: u16 = 16;
/// Extension `supported_versions` (RFC 8446 §4.2.1).
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Length of a TLS record header: type(1) version(2) length(2).
pub const TLS_RECORD_HEADER_LEN: usize = 5;
/// Length of a DTLS record header: type(1) version(2) epoch(2) seq(6) length(2).
pub const DTLS_RECORD_HEADER_LEN: usize = 13;
/// Length of a TLS handshake header: type(1) length(3).
pub const HANDSHAKE_HEADER_LEN: usize = 4;
/// Length of a DTLS handshake header: type(1) length(3) message_seq(2)
/// fragment_offset(3) fragment_length(3).
pub const DTLS_HANDSHAKE_HEADER_LEN: usize = 12;
/// Largest legal record payload: 2^14 plaintext + 2048 expansion (RFC 5246 §6.2.3).
pub const MAX_RECORD_PAYLOAD: usize = 16384 + 2048;

/// The `random` value a ServerHello carries when it is really a
/// HelloRetryRequest (RFC 8446 §4.1.3: SHA-256 of "HelloRetryRequest").
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Why a parse did not produce a value; callers treat both as "no data".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The input ends before the structure does: more bytes may fix it.
    Incomplete,
    /// The bytes can not be this structure, whatever follows.
    Invalid,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Incomplete => f.write_str("incomplete TLS structure"),
            ParseError::Invalid => f.write_str("invalid TLS structure"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Bounds-checked big-endian reader over a borrowed slice, so that no parser
/// below ever indexes out of range.
#[derive(Clone, Copy, Debug)]
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn rest(&self) -> &'a [u8] {
        self.buf
    }
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.buf.len() < n {
            return Err(ParseError::Incomplete);
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Result<u32, ParseError> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    /// A hello's legacy session id: at most 32 bytes (RFC 8446 4.1.2).
    fn session_id(&mut self) -> Result<&'a [u8], ParseError> {
        let id = self.vec8()?;
        if id.len() > 32 {
            return Err(ParseError::Invalid);
        }
        Ok(id)
    }

    /// A hello's optional extensions block (absent when the body ends):
    /// a truncated block is reported up to what is there.
    fn extensions_block(&mut self) -> Result<Option<&'a [u8]>, ParseError> {
        if self.is_empty() {
            return Ok(None);
        }
        let n = self.u16()? as usize;
        let rest = self.rest();
        Ok(Some(rest.get(..n).unwrap_or(rest)))
    }

    fn vec8(&mut self) -> Result<&'a [u8], ParseError> {
        let n = self.u8()? as usize;
        self.take(n)
    }
    fn vec16(&mut self) -> Result<&'a [u8], ParseError> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

/// Iterates big-endian `u16` values of a list (cipher suites, groups,
/// versions, signature schemes); a trailing odd byte is ignored.
#[derive(Clone, Debug)]
pub struct U16List<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl<'a> U16List<'a> {
    /// Wraps the raw list body (without its length prefix).
    pub fn new(raw: &'a [u8]) -> Self {
        U16List {
            chunks: raw.chunks_exact(2),
        }
    }
}

impl Iterator for U16List<'_> {
    type Item = u16;
    fn next(&mut self) -> Option<u16> {
        self.chunks.next().map(|c| u16::from_be_bytes([c[0], c[1]]))
    }
}

/// One TLS record header and payload (RFC 5246 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsRecord<'a> {
    /// Content type (20..=24 defined).
    pub content_type: u8,
    /// Record-layer protocol version (0x0301 typical for the first hello).
    pub version: u16,
    /// Record payload.
    pub fragment: &'a [u8],
}

/// Checks the 5-byte TLS record header prefix `hdr` and returns the total
/// record length (header included). Used by the streaming de-framer, which
/// must reject garbage before buffering anything.
pub fn tls_record_total_len(hdr: &[u8]) -> Result<usize, ParseError> {
    let mut r = Reader::new(hdr);
    let ct = r.u8()?;
    if !(CT_CHANGE_CIPHER_SPEC..=24).contains(&ct) {
        return Err(ParseError::Invalid);
    }
    let major = r.u8()?;
    if major != 3 {
        return Err(ParseError::Invalid);
    }
    let _minor = r.u8()?;
    let len = r.u16()? as usize;
    if len > MAX_RECORD_PAYLOAD {
        return Err(ParseError::Invalid);
    }
    Ok(TLS_RECORD_HEADER_LEN + len)
}

/// Parses one complete TLS record from the front of `data`, returning it and
/// the bytes after it.
pub fn parse_tls_record(data: &[u8]) -> Result<(TlsRecord<'_>, &[u8]), ParseError> {
    let total = tls_record_total_len(data)?;
    if data.len() < total {
        return Err(ParseError::Incomplete);
    }
    let (rec, rest) = data.split_at(total);
    Ok((
        TlsRecord {
            content_type: rec[0],
            version: u16::from_be_bytes([rec[1], rec[2]]),
            fragment: &rec[TLS_RECORD_HEADER_LEN..],
        },
        rest,
    ))
}

/// One DTLS record (RFC 6347 §4.1). Records never span datagrams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtlsRecord<'a> {
    /// Content type.
    pub content_type: u8,
    /// Record version (0xfeff DTLS 1.0, 0xfefd DTLS 1.2).
    pub version: u16,
    /// Epoch: 0 while the handshake is in clear; anything else is encrypted.
    pub epoch: u16,
    /// 48-bit record sequence number.
    pub sequence: u64,
    /// Record payload.
    pub fragment: &'a [u8],
}

/// Parses one DTLS record with the 13-byte plaintext header from the front
/// of `data`. DTLS 1.3 unified headers (first byte `001xxxxx`) are encrypted
/// and reported as [`ParseError::Invalid`]; callers check for them first.
pub fn parse_dtls_record(data: &[u8]) -> Result<(DtlsRecord<'_>, &[u8]), ParseError> {
    let mut r = Reader::new(data);
    let content_type = r.u8()?;
    if !(CT_CHANGE_CIPHER_SPEC..=25).contains(&content_type) {
        return Err(ParseError::Invalid);
    }
    let version = r.u16()?;
    if version >> 8 != 0xfe {
        return Err(ParseError::Invalid);
    }
    let epoch = r.u16()?;
    let seq = r.take(6)?;
    let sequence = seq.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
    let fragment = r.vec16()?;
    Ok((
        DtlsRecord {
            content_type,
            version,
            epoch,
            sequence,
            fragment,
        },
        r.rest(),
    ))
}

/// One complete TLS (or QUIC CRYPTO-stream) handshake message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// Handshake message type.
    pub msg_type: u8,
    /// Message body (after the 4-byte header).
    pub body: &'a [u8],
}

/// Total length (header included) of the handshake message whose header is at
/// the front of `hdr`.
pub fn handshake_total_len(hdr: &[u8]) -> Result<usize, ParseError> {
    let mut r = Reader::new(hdr);
    let _t = r.u8()?;
    Ok(HANDSHAKE_HEADER_LEN + r.u24()? as usize)
}

/// Parses one complete handshake message from the front of `data`.
pub fn parse_handshake(data: &[u8]) -> Result<(Handshake<'_>, &[u8]), ParseError> {
    let mut r = Reader::new(data);
    let msg_type = r.u8()?;
    let len = r.u24()? as usize;
    let body = r.take(len)?;
    Ok((Handshake { msg_type, body }, r.rest()))
}

/// One DTLS handshake fragment (RFC 6347 §4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtlsHandshake<'a> {
    /// Handshake message type.
    pub msg_type: u8,
    /// Length of the whole (reassembled) message body.
    pub length: u32,
    /// Per-direction message sequence number; retransmissions repeat it.
    pub message_seq: u16,
    /// Where this fragment starts inside the message body.
    pub fragment_offset: u32,
    /// Length of this fragment.
    pub fragment_length: u32,
    /// The fragment bytes.
    pub fragment: &'a [u8],
}

impl DtlsHandshake<'_> {
    /// True when this fragment is the whole message, the common case that
    /// needs no reassembly buffer.
    pub fn is_complete(&self) -> bool {
        self.fragment_offset == 0 && self.fragment_length == self.length
    }
}

/// Parses one DTLS handshake fragment from the front of a record payload.
pub fn parse_dtls_handshake(data: &[u8]) -> Result<(DtlsHandshake<'_>, &[u8]), ParseError> {
    let mut r = Reader::new(data);
    let msg_type = r.u8()?;
    let length = r.u24()?;
    let message_seq = r.u16()?;
    let fragment_offset = r.u24()?;
    let fragment_length = r.u24()?;
    if u64::from(fragment_offset) + u64::from(fragment_length) > u64::from(length) {
        return Err(ParseError::Invalid);
    }
    let fragment = r.take(fragment_length as usize)?;
    Ok((
        DtlsHandshake {
            msg_type,
            length,
            message_seq,
            fragment_offset,
            fragment_length,
            fragment,
        },
        r.rest(),
    ))
}

/// One extension: type and opaque data, in wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    /// Extension type code point.
    pub ext_type: u16,
    /// Extension data (after the 2-byte length).
    pub data: &'a [u8],
}

/// Iterates an extension block in wire order; stops at the first truncated
/// entry (what is before it is still reported, as tshark and FoxIO do).
#[derive(Clone, Debug)]
pub struct Extensions<'a> {
    r: Reader<'a>,
}

impl<'a> Extensions<'a> {
    /// Wraps the raw extension block (without its 2-byte length prefix).
    pub fn new(raw: &'a [u8]) -> Self {
        Extensions {
            r: Reader::new(raw),
        }
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;
    fn next(&mut self) -> Option<Extension<'a>> {
        if self.r.is_empty() {
            return None;
        }
        let mut r = self.r;
        let ext_type = r.u16().ok()?;
        let data = match r.vec16() {
            Ok(d) => d,
            Err(_) => {
                self.r = Reader::new(&[]);
                return None;
            }
        };
        self.r = r;
        Some(Extension { ext_type, data })
    }
}

/// A parsed ClientHello (RFC 8446 §4.1.2; DTLS adds the cookie, RFC 6347
/// §4.2.1). Everything borrows the message body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// `legacy_version` (client_version): what JA3 reports.
    pub legacy_version: u16,
    /// 32-byte client random.
    pub random: &'a [u8],
    /// Legacy session id.
    pub session_id: &'a [u8],
    /// DTLS cookie (`None` for TLS and QUIC).
    pub cookie: Option<&'a [u8]>,
    /// Raw cipher suite list, wire order.
    pub cipher_suites_raw: &'a [u8],
    /// Compression methods.
    pub compression_methods: &'a [u8],
    /// Raw extension block; `None` when the hello ends after compression
    /// (allowed before TLS 1.3).
    pub extensions_raw: Option<&'a [u8]>,
}

impl<'a> ClientHello<'a> {
    /// Parses a ClientHello body; `dtls` selects the DTLS layout with a cookie.
    pub fn parse(body: &'a [u8], dtls: bool) -> Result<Self, ParseError> {
        let mut r = Reader::new(body);
        let legacy_version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.session_id()?;
        let cookie = if dtls { Some(r.vec8()?) } else { None };
        let cipher_suites_raw = r.vec16()?;
        let compression_methods = r.vec8()?;
        let extensions_raw = r.extensions_block()?;
        Ok(ClientHello {
            legacy_version,
            random,
            session_id,
            cookie,
            cipher_suites_raw,
            compression_methods,
            extensions_raw,
        })
    }

    /// Cipher suites in wire order (GREASE included).
    pub fn cipher_suites(&self) -> U16List<'a> {
        U16List::new(self.cipher_suites_raw)
    }

    /// Extensions in wire order (GREASE included).
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions::new(self.extensions_raw.unwrap_or(&[]))
    }

    /// Data of the first extension of type `t`.
    pub fn extension(&self, t: u16) -> Option<&'a [u8]> {
        self.extensions().find(|e| e.ext_type == t).map(|e| e.data)
    }

    /// The first `host_name` entry of server_name (RFC 6066 §3), raw bytes.
    pub fn sni(&self) -> Option<&'a [u8]> {
        let data = self.extension(EXT_SERVER_NAME)?;
        let mut r = Reader::new(data);
        let mut list = Reader::new(r.vec16().ok()?);
        while !list.is_empty() {
            let name_type = list.u8().ok()?;
            let name = list.vec16().ok()?;
            if name_type == 0 {
                return Some(name);
            }
        }
        None
    }

    /// ALPN protocol names (RFC 7301 §3.1), raw bytes, wire order.
    pub fn alpn(&self) -> AlpnList<'a> {
        AlpnList::from_extension(self.extension(EXT_ALPN))
    }

    /// supported_versions values (1-byte-length list of u16).
    pub fn supported_versions(&self) -> Option<U16List<'a>> {
        let data = self.extension(EXT_SUPPORTED_VERSIONS)?;
        Reader::new(data).vec8().ok().map(U16List::new)
    }

    /// supported_groups values (2-byte-length list of u16).
    pub fn supported_groups(&self) -> Option<U16List<'a>> {
        let data = self.extension(EXT_SUPPORTED_GROUPS)?;
        Reader::new(data).vec16().ok().map(U16List::new)
    }

    /// ec_point_formats values (1-byte-length list of u8).
    pub fn ec_point_formats(&self) -> Option<&'a [u8]> {
        let data = self.extension(EXT_EC_POINT_FORMATS)?;
        Reader::new(data).vec8().ok()
    }

    /// signature_algorithms values, wire order.
    pub fn signature_algorithms(&self) -> Option<U16List<'a>> {
        let data = self.extension(EXT_SIGNATURE_ALGORITHMS)?;
        Reader::new(data).vec16().ok().map(U16List::new)
    }
}

/// Iterates the protocol names of an ALPN extension; stops at truncation.
#[derive(Clone, Debug)]
pub struct AlpnList<'a> {
    r: Reader<'a>,
}

impl<'a> AlpnList<'a> {
    /// Builds the iterator from the extension data (`None`: empty list).
    pub fn from_extension(data: Option<&'a [u8]>) -> Self {
        let inner = data
            .and_then(|d| Reader::new(d).vec16().ok())
            .unwrap_or(&[]);
        AlpnList {
            r: Reader::new(inner),
        }
    }
}

impl<'a> Iterator for AlpnList<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.r.is_empty() {
            return None;
        }
        match self.r.vec8() {
            Ok(p) => Some(p),
            Err(_) => {
                self.r = Reader::new(&[]);
                None
            }
        }
    }
}

/// A parsed ServerHello (RFC 8446 §4.1.3) or DTLS ServerHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// `legacy_version` / server_version.
    pub version: u16,
    /// 32-byte server random (HelloRetryRequest has a fixed value).
    pub random: &'a [u8],
    /// Echoed session id.
    pub session_id: &'a [u8],
    /// Selected cipher suite.
    pub cipher_suite: u16,
    /// Selected compression method.
    pub compression_method: u8,
    /// Raw extension block, if present.
    pub extensions_raw: Option<&'a [u8]>,
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body (same layout for TLS, DTLS and QUIC).
    pub fn parse(body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body);
        let version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.session_id()?;
        let cipher_suite = r.u16()?;
        let compression_method = r.u8()?;
        let extensions_raw = r.extensions_block()?;
        Ok(ServerHello {
            version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions_raw,
        })
    }

    /// Extensions in wire order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions::new(self.extensions_raw.unwrap_or(&[]))
    }

    /// True when this is a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3): the
    /// client will send a second ClientHello.
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }

    /// The version chosen in supported_versions (a single u16 in a
    /// ServerHello), i.e. the real TLS 1.3 negotiation result.
    pub fn selected_version(&self) -> Option<u16> {
        let data = self
            .extensions()
            .find(|e| e.ext_type == EXT_SUPPORTED_VERSIONS)?
            .data;
        Reader::new(data).u16().ok()
    }

    /// The protocol the server picked with ALPN.
    pub fn alpn(&self) -> AlpnList<'a> {
        AlpnList::from_extension(
            self.extensions()
                .find(|e| e.ext_type == EXT_ALPN)
                .map(|e| e.data),
        )
    }
}

/// Returns the DER of the first (leaf) certificate of a TLS <= 1.2
/// Certificate message body (RFC 5246 §7.4.2). `tls13` selects the TLS 1.3
/// layout with a request context (only relevant to unencrypted test data).
/// A body cut short by the buffer cap still yields the leaf if it is whole.
pub fn leaf_certificate(body: &[u8], tls13: bool) -> Option<&[u8]> {
    let mut r = Reader::new(body);
    if tls13 {
        r.vec8().ok()?;
    }
    let _list_len = r.u24().ok()?;
    let len = r.u24().ok()? as usize;
    let der = r.take(len).ok()?;
    if der.is_empty() { None } else { Some(der) }
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;

    fn client_hello_of_record(rec: &[u8]) -> Vec<u8> {
        let (r, rest) = parse_tls_record(rec).unwrap();
        assert!(rest.is_empty());
        assert_eq!(r.content_type, CT_HANDSHAKE);
        let (hs, _) = parse_handshake(r.fragment).unwrap();
        assert_eq!(hs.msg_type, HS_CLIENT_HELLO);
        hs.body.to_vec()
    }

    #[test]
    fn record_header_checks() {
        assert_eq!(tls_record_total_len(&[22, 3, 1, 0, 5]), Ok(10));
        assert_eq!(tls_record_total_len(&[22, 3]), Err(ParseError::Incomplete));
        assert_eq!(tls_record_total_len(b"GET /"), Err(ParseError::Invalid));
        assert_eq!(tls_record_total_len(b"SSH-2"), Err(ParseError::Invalid));
        assert_eq!(
            tls_record_total_len(&[22, 3, 1, 0xff, 0xff]),
            Err(ParseError::Invalid)
        );
    }

    #[test]
    fn chrome_client_hello_fields() {
        let body = client_hello_of_record(&hex(CHROME_GREASE_CH));
        let ch = ClientHello::parse(&body, false).unwrap();
        assert_eq!(ch.legacy_version, 0x0303);
        assert_eq!(ch.random.len(), 32);
        assert_eq!(ch.session_id.len(), 32);
        assert_eq!(ch.cookie, None);
        let ciphers: Vec<u16> = ch.cipher_suites().collect();
        assert_eq!(ciphers.len(), 16);
        assert_eq!(ciphers[0] & 0x0f0f, 0x0a0a, "GREASE first");
        assert_eq!(ciphers[1], 0x1301);
        assert_eq!(ch.sni(), Some(&b"edge.microsoft.com"[..]));
        let alpn: Vec<&[u8]> = ch.alpn().collect();
        assert_eq!(alpn, vec![&b"h2"[..], &b"http/1.1"[..]]);
        assert!(ch.supported_versions().unwrap().any(|v| v == 0x0304));
        assert_eq!(
            ch.supported_groups()
                .unwrap()
                .filter(|g| g & 0x0f0f != 0x0a0a)
                .collect::<Vec<_>>(),
            vec![29, 23, 24]
        );
        assert_eq!(ch.ec_point_formats(), Some(&[0u8][..]));
        assert_eq!(ch.signature_algorithms().unwrap().next(), Some(0x0403));
        assert_eq!(ch.extensions().count(), 18, "16 + 2 GREASE");
    }

    #[test]
    fn dtls_client_hello_with_cookie() {
        let d = hex(DTLS_CH_DGRAM);
        let (rec, rest) = parse_dtls_record(&d).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            (rec.content_type, rec.version, rec.epoch, rec.sequence),
            (22, 0xfeff, 0, 0)
        );
        let (hs, _) = parse_dtls_handshake(rec.fragment).unwrap();
        assert_eq!(hs.msg_type, HS_CLIENT_HELLO);
        assert!(hs.is_complete());
        assert_eq!(hs.message_seq, 0);
        let ch = ClientHello::parse(hs.fragment, true).unwrap();
        assert_eq!(ch.legacy_version, 0xfeff);
        assert_eq!(ch.cookie, Some(&[][..]));
        assert_eq!(ch.cipher_suites().next(), Some(49172));
        assert_eq!(ch.sni(), None);
        // Parsed as TLS (no cookie byte) the same body must not yield the same ciphers.
        assert_ne!(
            ClientHello::parse(hs.fragment, false).map(|c| c.cipher_suites().next()),
            Ok(Some(49172))
        );
    }

    #[test]
    fn dtls_server_flight_has_leaf_certificate() {
        let d = hex(DTLS_SERVER_DGRAM);
        let mut rest = &d[..];
        let mut types = Vec::new();
        let mut leaf = None;
        while !rest.is_empty() {
            let (rec, r) = parse_dtls_record(rest).unwrap();
            rest = r;
            let (hs, _) = parse_dtls_handshake(rec.fragment).unwrap();
            types.push(hs.msg_type);
            if hs.msg_type == HS_SERVER_HELLO {
                let sh = ServerHello::parse(hs.fragment).unwrap();
                assert_eq!((sh.version, sh.cipher_suite), (0xfeff, 53));
                assert!(!sh.is_hello_retry_request());
            }
            if hs.msg_type == HS_CERTIFICATE {
                leaf = leaf_certificate(hs.fragment, false).map(<[u8]>::len);
            }
        }
        assert_eq!(
            types,
            vec![HS_SERVER_HELLO, HS_CERTIFICATE, HS_SERVER_HELLO_DONE]
        );
        assert!(leaf.unwrap() > 300);
    }

    #[test]
    fn hello_retry_request_is_recognised() {
        let d = hex(HRR_SERVER1);
        let (rec, rest) = parse_tls_record(&d).unwrap();
        let (hs, _) = parse_handshake(rec.fragment).unwrap();
        assert_eq!(hs.msg_type, HS_SERVER_HELLO);
        let sh = ServerHello::parse(hs.body).unwrap();
        assert!(sh.is_hello_retry_request());
        assert_eq!(sh.selected_version(), Some(0x0304));
        let (ccs, _) = parse_tls_record(rest).unwrap();
        assert_eq!(ccs.content_type, CT_CHANGE_CIPHER_SPEC);

        let d = hex(HRR_SH);
        let (rec, _) = parse_tls_record(&d).unwrap();
        let (hs, _) = parse_handshake(rec.fragment).unwrap();
        let sh = ServerHello::parse(hs.body).unwrap();
        assert!(!sh.is_hello_retry_request());
        assert_eq!(sh.version, 0x0303);
        assert_eq!(sh.selected_version(), Some(0x0304));
    }

    #[test]
    fn quic_handshake_message() {
        let d = hex(QUIC_CH_MSG);
        let (hs, rest) = parse_handshake(&d).unwrap();
        assert!(rest.is_empty());
        let ch = ClientHello::parse(hs.body, false).unwrap();
        assert_eq!(ch.sni(), Some(&b"www.google.com"[..]));
        assert_eq!(ch.alpn().next(), Some(&b"h3"[..]));
    }

    #[test]
    fn hrr_random_is_sha256_of_label() {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(b"HelloRetryRequest");
        assert_eq!(d.as_slice(), &HELLO_RETRY_REQUEST_RANDOM);
    }

    #[test]
    fn truncations_never_panic() {
        for sample in [
            CHROME_GREASE_CH,
            TLS12_CH,
            DTLS_CH_DGRAM,
            DTLS_SERVER_DGRAM,
            QUIC_CH_MSG,
        ] {
            let d = hex(sample);
            for n in 0..d.len() {
                let p = &d[..n];
                let _ = parse_tls_record(p);
                let _ = parse_dtls_record(p);
                let _ = parse_handshake(p);
                let _ = parse_dtls_handshake(p);
                for skip in [0, 4, 5, 9, 13, 25] {
                    let q = p.get(skip..).unwrap_or(&[]);
                    for dtls in [false, true] {
                        if let Ok(ch) = ClientHello::parse(q, dtls) {
                            let _ = (ch.sni(), ch.alpn().count(), ch.extensions().count());
                            let _ = (
                                ch.supported_versions().map(Iterator::count),
                                ch.ec_point_formats(),
                            );
                        }
                    }
                    if let Ok(sh) = ServerHello::parse(q) {
                        let _ = (sh.selected_version(), sh.alpn().count());
                    }
                    let _ = leaf_certificate(q, false);
                    let _ = leaf_certificate(q, true);
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse_tls_record(&data);
            let _ = parse_dtls_record(&data);
            let _ = parse_handshake(&data);
            let _ = parse_dtls_handshake(&data);
            for dtls in [false, true] {
                if let Ok(ch) = ClientHello::parse(&data, dtls) {
                    let _ = (ch.sni(), ch.alpn().count(), ch.extensions().count(), ch.cipher_suites().count());
                    let _ = (ch.supported_groups().map(Iterator::count), ch.signature_algorithms().map(Iterator::count));
                }
            }
            if let Ok(sh) = ServerHello::parse(&data) {
                let _ = (sh.selected_version(), sh.alpn().count(), sh.is_hello_retry_request());
            }
            let _ = leaf_certificate(&data, false);
        }
    }
}
