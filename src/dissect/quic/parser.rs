//! Pure, zero-copy parsers for the QUIC wire image that matters to a passive
//! sensor: long headers (RFC 9000 section 17.2, RFC 9369 section 3.2 for the
//! v2 type bits), coalesced packets in one datagram (RFC 9000 section 12.2),
//! variable-length integers (RFC 9000 section 16) and the frames allowed in
//! Initial packets (RFC 9000 section 19).
//!
//! Nothing here decrypts: a parsed [`LongPacket`] still has its first byte and
//! packet number protected; `super::crypto` removes that.

use core::fmt;

/// Largest connection ID QUIC v1/v2 (and drafts 27-32) allow in a long
/// header (RFC 9000 section 17.2); longer ones mean "not a packet of a version
/// we know", and bounding it lets the state keep CIDs in fixed arrays.
pub const MAX_CID_LEN: usize = 20;

/// A QUIC version number; a newtype so the sensor can print it the way
/// Suricata does and classify it without scattering magic numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version(pub u32);

impl Version {
    /// Version 0 marks a Version Negotiation packet (RFC 9000 section 17.2.1).
    pub const NEGOTIATION: Version = Version(0);
    /// QUIC version 1 (RFC 9000).
    pub const V1: Version = Version(0x0000_0001);
    /// QUIC version 2 (RFC 9369 section 3.1).
    pub const V2: Version = Version(0x6b33_43cf);
    /// IETF draft-29, the most widely deployed pre-RFC version.
    pub const DRAFT_29: Version = Version(0xff00_001d);

    /// Which key schedule and header layout this version uses, or `None` for
    /// versions the dissector cannot decrypt (gQUIC, unknown, negotiation).
    pub fn family(self) -> Option<Family> {
        match self.0 {
            0x0000_0001 => Some(Family::V1),
            0x6b33_43cf => Some(Family::V2),
            // draft-ietf-quic-tls-27 and -28 section 5.2 keep the salt that
            // draft-23 introduced; draft-29 changed it and drafts 30-32 kept it.
            0xff00_001b..=0xff00_001c => Some(Family::Draft27),
            0xff00_001d..=0xff00_0020 => Some(Family::Draft29),
            _ => None,
        }
    }

    /// True for versions whose Initial packets this dissector can decrypt,
    /// which is what makes a first datagram worth following.
    pub fn is_known(self) -> bool {
        self.family().is_some()
    }
}

impl fmt::Display for Version {
    /// Suricata's EVE `quic.version` spelling: lowercase hex without leading
    /// zeros ("1", "6b3343cf", "ff00001d"), except the four gQUIC versions it
    /// names in ASCII.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0x5130_3433 => f.write_str("Q043"),
            0x5130_3434 => f.write_str("Q044"),
            0x5130_3435 => f.write_str("Q045"),
            0x5130_3436 => f.write_str("Q046"),
            v => write!(f, "{v:x}"),
        }
    }
}

/// Groups of versions that share the Initial key schedule and header layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// RFC 9000/9001 version 1.
    V1,
    /// RFC 9369 version 2: new salt, "quicv2" labels, rotated type bits.
    V2,
    /// Drafts 27 and 28 (draft-23 salt).
    Draft27,
    /// Drafts 29 to 32 (draft-29 salt).
    Draft29,
}

/// Long-header packet types, already mapped from the version-specific type
/// bits so callers never need to know that v2 rotated them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongType {
    /// Initial: carries the ClientHello/ServerHello under keys anyone can derive.
    Initial,
    /// 0-RTT early data (keys unknown to a passive observer).
    ZeroRtt,
    /// Handshake packets (keys unknown to a passive observer).
    Handshake,
    /// Retry: the server asks the client to start over with a new DCID.
    Retry,
}

impl LongType {
    /// Maps the two type bits of the first byte for `family` (RFC 9000
    /// section 17.2 table 5; RFC 9369 section 3.2 for v2).
    pub fn from_bits(family: Family, bits: u8) -> LongType {
        match (family, bits & 0x03) {
            (Family::V2, 0) => LongType::Retry,
            (Family::V2, 1) => LongType::Initial,
            (Family::V2, 2) => LongType::ZeroRtt,
            (Family::V2, _) => LongType::Handshake,
            (_, 0) => LongType::Initial,
            (_, 1) => LongType::ZeroRtt,
            (_, 2) => LongType::Handshake,
            (_, _) => LongType::Retry,
        }
    }
}

/// Why a packet could not be parsed; the caller treats all of them as "stop
/// walking this datagram", so they carry only enough detail for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The input ended inside a field.
    Truncated,
    /// A connection ID longer than [`MAX_CID_LEN`] in a known version.
    CidTooLong,
    /// A version the dissector has no header layout for.
    UnknownVersion(Version),
}

/// What follows the connection IDs in a long header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongKind<'a> {
    /// An Initial packet with its (possibly empty) address-validation token.
    Initial {
        /// Token from a Retry or NEW_TOKEN frame; empty on a fresh connection.
        token: &'a [u8],
    },
    /// A 0-RTT packet (payload opaque to us).
    ZeroRtt,
    /// A Handshake packet (payload opaque to us).
    Handshake,
    /// A Retry packet; `body` is everything after the SCID (token and, from
    /// draft-29 on, the 16-byte integrity tag).
    Retry {
        /// Raw Retry body, version-specific layout.
        body: &'a [u8],
    },
    /// A Version Negotiation packet; `versions` is the list of 4-byte
    /// supported versions (possibly with a trailing partial entry, ignored).
    VersionNegotiation {
        /// Raw supported-versions list.
        versions: &'a [u8],
    },
}

/// One long-header packet, borrowed from the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongPacket<'a> {
    /// The still-protected first byte (header form, fixed bit and type bits
    /// are not protected; the low four bits are).
    pub first: u8,
    /// The version field.
    pub version: Version,
    /// Destination connection ID.
    pub dcid: &'a [u8],
    /// Source connection ID.
    pub scid: &'a [u8],
    /// Type-specific fields.
    pub kind: LongKind<'a>,
    /// The whole packet, from the first byte to the end of its Length field's
    /// extent (or the end of the datagram for Retry / Version Negotiation).
    pub bytes: &'a [u8],
    /// Offset in `bytes` where the protected packet number starts (0 for
    /// Retry and Version Negotiation, which have none).
    pub pn_offset: usize,
}

impl<'a> LongPacket<'a> {
    /// Iterates the versions of a Version Negotiation packet (empty for
    /// other kinds), so callers can log what the server offered.
    pub fn negotiated_versions(&self) -> impl Iterator<Item = Version> + 'a {
        let list: &'a [u8] = match self.kind {
            LongKind::VersionNegotiation { versions } => versions,
            _ => &[],
        };
        list.chunks_exact(4)
            .map(|c| Version(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }
}

/// One packet found while walking a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A long-header packet.
    Long(LongPacket<'a>),
    /// A short-header (1-RTT) packet: the rest of the datagram, opaque.
    Short(&'a [u8]),
}

/// Decodes a QUIC variable-length integer (RFC 9000 section 16) at the start
/// of `data`, returning the value and the number of bytes it used.
pub fn read_varint(data: &[u8]) -> Option<(u64, usize)> {
    let first = *data.first()?;
    let len = 1usize << (first >> 6);
    let bytes = data.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for b in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(*b);
    }
    Some((v, len))
}

/// A tiny cursor so the parsers read fields without manual index arithmetic.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }
    fn u8(&mut self) -> Result<u8, ParseError> {
        let b = *self.data.get(self.pos).ok_or(ParseError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(ParseError::Truncated)?;
        let s = self.data.get(self.pos..end).ok_or(ParseError::Truncated)?;
        self.pos = end;
        Ok(s)
    }
    fn varint(&mut self) -> Result<u64, ParseError> {
        let rest = self.data.get(self.pos..).ok_or(ParseError::Truncated)?;
        let (v, n) = read_varint(rest).ok_or(ParseError::Truncated)?;
        self.pos += n;
        Ok(v)
    }
    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
    /// A connection ID with its length byte, refused beyond `max` bytes.
    fn cid(&mut self, max: usize) -> Result<&'a [u8], ParseError> {
        let len = usize::from(self.u8()?);
        if len > max {
            return Err(ParseError::CidTooLong);
        }
        self.take(len)
    }
}

/// Parses the packet at the start of `data` and returns it with the bytes
/// that follow it in the datagram (non-empty only for coalesced packets).
pub fn parse_packet(data: &[u8]) -> Result<(Packet<'_>, &[u8]), ParseError> {
    let first = *data.first().ok_or(ParseError::Truncated)?;
    if first & 0x80 == 0 {
        return Ok((Packet::Short(data), &[]));
    }
    let mut c = Cursor::new(data);
    c.pos = 1;
    let v = c.take(4)?;
    let version = Version(u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
    // Version Negotiation and Retry packets fill the rest of the datagram
    // and carry no packet number.
    let long = |dcid, scid, kind, bytes, pn_offset| {
        let pkt = LongPacket {
            first,
            version,
            dcid,
            scid,
            kind,
            bytes,
            pn_offset,
        };
        Packet::Long(pkt)
    };
    if version == Version::NEGOTIATION {
        // RFC 9000 17.2.1: CIDs may be up to 255 bytes here, and the fixed
        // bit is unspecified.
        let dcid = c.cid(255)?;
        let scid = c.cid(255)?;
        let versions = c.rest();
        let kind = LongKind::VersionNegotiation { versions };
        return Ok((long(dcid, scid, kind, data, 0), &[]));
    }
    // The fixed bit is not checked here: RFC 9287 lets peers grease it
    // (the server in ndpi quic_0RTT.pcap frame 2 clears it), so only the
    // state's first-datagram heuristic insists on it.
    let family = version
        .family()
        .ok_or(ParseError::UnknownVersion(version))?;
    let dcid = c.cid(MAX_CID_LEN)?;
    let scid = c.cid(MAX_CID_LEN)?;
    let ty = LongType::from_bits(family, (first >> 4) & 0x03);
    let kind = match ty {
        LongType::Retry => {
            let kind = LongKind::Retry { body: c.rest() };
            return Ok((long(dcid, scid, kind, data, 0), &[]));
        }
        LongType::Initial => {
            let tlen = c.varint()?;
            let tlen = usize::try_from(tlen).map_err(|_| ParseError::Truncated)?;
            LongKind::Initial {
                token: c.take(tlen)?,
            }
        }
        LongType::ZeroRtt => LongKind::ZeroRtt,
        LongType::Handshake => LongKind::Handshake,
    };
    let len = c.varint()?;
    let len = usize::try_from(len).map_err(|_| ParseError::Truncated)?;
    let pn_offset = c.pos;
    let end = pn_offset.checked_add(len).ok_or(ParseError::Truncated)?;
    let bytes = data.get(..end).ok_or(ParseError::Truncated)?;
    let rest = data.get(end..).unwrap_or(&[]);
    Ok((long(dcid, scid, kind, bytes, pn_offset), rest))
}

/// Walks the coalesced packets of one UDP datagram (RFC 9000 section 12.2),
/// stopping at the first malformed packet, at a short header (which always
/// extends to the end), or at Retry / Version Negotiation (which have no
/// Length field). Trailing zero bytes some stacks pad datagrams with end the
/// walk silently.
#[derive(Clone, Debug)]
pub struct Packets<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Packets<'a> {
    /// Starts a walk over `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Packets {
            rest: datagram,
            failed: false,
        }
    }
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<Packet<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        // A coalesced packet can only be followed by more long headers or
        // one short header; zero padding after the last packet is common.
        if self.rest.iter().all(|b| *b == 0) {
            self.rest = &[];
            return None;
        }
        match parse_packet(self.rest) {
            Ok((p, rest)) => {
                self.rest = rest;
                Some(Ok(p))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Frames of the kinds RFC 9000 section 12.4 allows in Initial packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A run of PADDING (0x00) bytes, coalesced so padding costs one item.
    Padding(usize),
    /// PING (0x01).
    Ping,
    /// ACK (0x02) or ACK with ECN counts (0x03); ranges are validated and
    /// skipped since the sensor has no use for them.
    Ack {
        /// Largest Acknowledged.
        largest: u64,
        /// ACK Delay (encoded units).
        delay: u64,
        /// First ACK Range.
        first_range: u64,
        /// Number of additional (Gap, Length) pairs.
        range_count: u64,
        /// ECT(0), ECT(1), ECN-CE counts for type 0x03.
        ecn: Option<[u64; 3]>,
    },
    /// CRYPTO (0x06): a piece of the TLS handshake byte stream.
    Crypto {
        /// Byte offset in the handshake stream.
        offset: u64,
        /// The handshake bytes.
        data: &'a [u8],
    },
    /// CONNECTION_CLOSE (0x1c transport, 0x1d application).
    ConnectionClose {
        /// True for 0x1d.
        application: bool,
        /// Error code.
        error_code: u64,
        /// Frame type that triggered the error (0x1c only).
        frame_type: Option<u64>,
        /// Reason phrase bytes (not necessarily UTF-8).
        reason: &'a [u8],
    },
}

/// Why a frame walk stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A field ran past the end of the payload.
    Truncated,
    /// A frame type not allowed in Initial packets (RFC 9000 section 12.4);
    /// the rest of the payload cannot be interpreted.
    Unexpected(u64),
}

/// Iterates the frames of a decrypted Initial payload; yields at most one
/// error, then stops.
#[derive(Clone, Debug)]
pub struct Frames<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Frames<'a> {
    /// Starts a walk over a decrypted payload.
    pub fn new(payload: &'a [u8]) -> Self {
        Frames {
            data: payload,
            pos: 0,
            failed: false,
        }
    }

    fn parse_one(&mut self) -> Result<Frame<'a>, FrameError> {
        let mut c = Cursor::new(self.data);
        c.pos = self.pos;
        let tr = |_| FrameError::Truncated;
        let ty = c.varint().map_err(tr)?;
        let frame = match ty {
            0x00 => {
                let run = c.rest().iter().take_while(|b| **b == 0).count();
                c.pos += run;
                Frame::Padding(run + 1)
            }
            0x01 => Frame::Ping,
            0x02 | 0x03 => {
                let largest = c.varint().map_err(tr)?;
                let delay = c.varint().map_err(tr)?;
                let range_count = c.varint().map_err(tr)?;
                let first_range = c.varint().map_err(tr)?;
                // Each pair consumes at least two bytes, so this loop is
                // bounded by the payload length whatever the count claims.
                let mut i = 0u64;
                while i < range_count {
                    c.varint().map_err(tr)?;
                    c.varint().map_err(tr)?;
                    i += 1;
                }
                let ecn = if ty == 0x03 {
                    Some([
                        c.varint().map_err(tr)?,
                        c.varint().map_err(tr)?,
                        c.varint().map_err(tr)?,
                    ])
                } else {
                    None
                };
                Frame::Ack {
                    largest,
                    delay,
                    first_range,
                    range_count,
                    ecn,
                }
            }
            0x06 => {
                let offset = c.varint().map_err(tr)?;
                let len = c.varint().map_err(tr)?;
                let len = usize::try_from(len).map_err(|_| FrameError::Truncated)?;
                let data = c.take(len).map_err(tr)?;
                Frame::Crypto { offset, data }
            }
            0x1c | 0x1d => {
                let error_code = c.varint().map_err(tr)?;
                let frame_type = if ty == 0x1c {
                    Some(c.varint().map_err(tr)?)
                } else {
                    None
                };
                let len = c.varint().map_err(tr)?;
                let len = usize::try_from(len).map_err(|_| FrameError::Truncated)?;
                let reason = c.take(len).map_err(tr)?;
                Frame::ConnectionClose {
                    application: ty == 0x1d,
                    error_code,
                    frame_type,
                    reason,
                }
            }
            other => return Err(FrameError::Unexpected(other)),
        };
        self.pos = c.pos;
        Ok(frame)
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let r = self.parse_one();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_vectors::{hex, *};
    use super::*;
    use crate::dissect::testutil::xorshift;

    #[test]
    fn varints_rfc9000_a1() {
        // RFC 9000 appendix A.1 sample encodings.
        assert_eq!(
            read_varint(&hex("c2197c5eff14e88c")),
            Some((151_288_809_941_952_652, 8))
        );
        assert_eq!(read_varint(&hex("9d7f3e7d")), Some((494_878_333, 4)));
        assert_eq!(read_varint(&hex("7bbd")), Some((15_293, 2)));
        assert_eq!(read_varint(&hex("25")), Some((37, 1)));
        assert_eq!(read_varint(&hex("4025")), Some((37, 2)));
        assert_eq!(read_varint(&hex("c2197c")), None);
        assert_eq!(read_varint(&[]), None);
    }

    #[test]
    fn version_strings_match_suricata() {
        assert_eq!(Version::V1.to_string(), "1");
        assert_eq!(Version::V2.to_string(), "6b3343cf");
        assert_eq!(Version::DRAFT_29.to_string(), "ff00001d");
        assert_eq!(Version(0x5130_3436).to_string(), "Q046");
        assert_eq!(Version(0x5130_3530).to_string(), "51303530");
        assert_eq!(Version(0xff00_001b).family(), Some(Family::Draft27));
        assert_eq!(Version(0xff00_0020).family(), Some(Family::Draft29));
        assert_eq!(Version(0xff00_001a).family(), None);
    }

    #[test]
    fn rfc9001_a2_client_initial_header() {
        // RFC 9001 appendix A.2, protected client Initial.
        let d = hex(RFC9001_A2_CLIENT);
        assert_eq!(d.len(), 1200);
        let mut it = Packets::new(&d);
        let Some(Ok(Packet::Long(p))) = it.next() else {
            panic!("no packet")
        };
        assert_eq!(p.version, Version::V1);
        assert_eq!(p.dcid, &hex("8394c8f03e515708")[..]);
        assert!(p.scid.is_empty());
        assert_eq!(p.kind, LongKind::Initial { token: &[] });
        assert_eq!(p.pn_offset, 18);
        assert_eq!(p.bytes.len(), 1200);
        assert!(it.next().is_none());
    }

    #[test]
    fn rfc9369_a_v2_type_bits() {
        // RFC 9369 appendix A.2 / A.3: 0xd7 and 0xdc are Initial in v2.
        for h in [RFC9369_A2_CLIENT, RFC9369_A3_SERVER] {
            let d = hex(h);
            let (Packet::Long(p), rest) = parse_packet(&d).unwrap() else {
                panic!()
            };
            assert_eq!(p.version, Version::V2);
            assert!(matches!(p.kind, LongKind::Initial { .. }));
            assert!(rest.is_empty());
        }
        assert_eq!(LongType::from_bits(Family::V2, 0), LongType::Retry);
        assert_eq!(LongType::from_bits(Family::V1, 3), LongType::Retry);
    }

    #[test]
    fn coalesced_initial_and_handshake() {
        // ndpi quic-29.pcap frame 6 (server): Initial + Handshake, draft-29.
        let d = hex(Q29_F6_SERVER);
        let ps: Vec<_> = Packets::new(&d).collect();
        assert_eq!(ps.len(), 2, "{ps:?}");
        let Ok(Packet::Long(a)) = ps[0] else { panic!() };
        let Ok(Packet::Long(b)) = ps[1] else { panic!() };
        assert_eq!(a.version, Version::DRAFT_29);
        assert!(matches!(a.kind, LongKind::Initial { .. }));
        assert_eq!(b.kind, LongKind::Handshake);
        assert_eq!(a.bytes.len() + b.bytes.len(), d.len());
        assert_eq!(a.scid, &hex("b8e844a59dba1b56a9c136266fcc82bda97f")[..]);
    }

    #[test]
    fn retry_draft29() {
        // ndpi quic-29.pcap frame 2: a Retry from the server.
        let d = hex(Q29_F2_RETRY);
        let (Packet::Long(p), _) = parse_packet(&d).unwrap() else {
            panic!()
        };
        assert!(matches!(p.kind, LongKind::Retry { .. }));
        assert_eq!(p.scid, &hex("2e9a32ed45c9066ad4f9ac32c1d23c19e480")[..]);
    }

    #[test]
    fn zero_rtt_coalesced_draft28() {
        // ndpi quic_0RTT.pcap frame 1: Initial + 0-RTT, draft-28.
        let d = hex(Q0RTT_F1_CLIENT);
        let kinds: Vec<_> = Packets::new(&d)
            .map(|p| match p {
                Ok(Packet::Long(l)) => Some(l.kind),
                _ => None,
            })
            .collect();
        assert_eq!(kinds.len(), 2);
        assert!(matches!(kinds[0], Some(LongKind::Initial { .. })));
        assert_eq!(kinds[1], Some(LongKind::ZeroRtt));
    }

    #[test]
    fn version_negotiation() {
        // RFC 9000 17.2.1 layout, hand-built: DCID 2 bytes, SCID 1 byte,
        // versions 1 and a grease value.
        let d = hex("80000000000201020103000000010a1a2a3a");
        let (Packet::Long(p), rest) = parse_packet(&d).unwrap() else {
            panic!()
        };
        assert!(rest.is_empty());
        assert_eq!(p.version, Version::NEGOTIATION);
        let v: Vec<_> = p.negotiated_versions().collect();
        assert_eq!(v, vec![Version::V1, Version(0x0a1a_2a3a)]);
    }

    #[test]
    fn rejects_gquic_and_bad_cids() {
        // ndpi gquic.pcap uses Q050 (0x51303530): unknown to this parser.
        let d = hex("c3513035300855d1f1a2b3c4d5e600");
        assert_eq!(
            parse_packet(&d).unwrap_err(),
            ParseError::UnknownVersion(Version(0x5130_3530))
        );
        let mut long_cid = hex("c00000000115");
        long_cid.extend_from_slice(&[0u8; 40]);
        assert_eq!(parse_packet(&long_cid).unwrap_err(), ParseError::CidTooLong);
    }

    #[test]
    fn frames_walk() {
        // Hand-built per RFC 9000 19.1/19.2/19.3/19.6/19.19: PADDING x3,
        // PING, ACK with one range, ACK_ECN, CRYPTO "abc", CONNECTION_CLOSE.
        let p = hex("000000010205000102010103010000000102030600036162631c0a06027878");
        let f: Vec<_> = Frames::new(&p).collect::<Result<_, _>>().unwrap();
        assert_eq!(f[0], Frame::Padding(3));
        assert_eq!(f[1], Frame::Ping);
        assert!(matches!(
            f[2],
            Frame::Ack {
                largest: 5,
                range_count: 1,
                ecn: None,
                ..
            }
        ));
        assert!(matches!(
            f[3],
            Frame::Ack {
                ecn: Some([1, 2, 3]),
                ..
            }
        ));
        assert_eq!(
            f[4],
            Frame::Crypto {
                offset: 0,
                data: b"abc"
            }
        );
        assert!(matches!(
            f[5],
            Frame::ConnectionClose {
                error_code: 10,
                frame_type: Some(6),
                reason: b"xx",
                ..
            }
        ));
        let bad_bytes = hex("01080000");
        let bad: Vec<_> = Frames::new(&bad_bytes).collect();
        assert_eq!(bad, vec![Ok(Frame::Ping), Err(FrameError::Unexpected(8))]);
        let trunc_bytes = hex("0600ff");
        let trunc: Vec<_> = Frames::new(&trunc_bytes).collect();
        assert_eq!(trunc, vec![Err(FrameError::Truncated)]);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut buf = [0u8; 300];
        for round in 0..20_000 {
            for b in buf.iter_mut() {
                seed = xorshift(seed);
                *b = seed as u8;
            }
            let n = (seed as usize) % buf.len();
            let d = &mut buf[..n];
            // Make half of the inputs look like known long headers.
            if round % 2 == 0 && d.len() > 5 {
                d[0] |= 0xc0;
                d[1..5].copy_from_slice(&[0, 0, 0, 1]);
            }
            for p in Packets::new(d) {
                let _ = p;
            }
            for f in Frames::new(d) {
                let _ = f;
            }
        }
    }
}
