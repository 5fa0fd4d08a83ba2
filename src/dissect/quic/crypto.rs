//! Initial packet protection (RFC 9001 section 5; RFC 9369 section 3.3 for
//! v2): anyone who sees the client's first Initial can derive its keys, which
//! is what lets a passive sensor read the ClientHello and ServerHello.
//!
//! The keys come from the client's *original* Destination Connection ID;
//! both directions use it (RFC 9001 section 5.2).

use ring::aead::quic::{AES_128, HeaderProtectionKey};
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;

use super::parser::{Family, LongPacket, Version};

/// HKDF-Extract salt for v1 (RFC 9001 section 5.2).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// HKDF-Extract salt for v2 (RFC 9369 section 3.3.1).
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// Salt of draft-ietf-quic-tls-23 to -28 section 5.2.
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];
/// Salt of draft-ietf-quic-tls-29 to -32 section 5.2.
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];

/// AES-128-GCM key length.
pub const KEY_LEN: usize = 16;
/// AEAD nonce / IV length (RFC 9001 section 5.3).
pub const IV_LEN: usize = 12;
/// AEAD tag length; also the minimum ciphertext an Initial can carry.
pub const TAG_LEN: usize = 16;
/// Header protection sample length (RFC 9001 section 5.4.2).
pub const SAMPLE_LEN: usize = 16;

/// Why an Initial packet could not be opened; the state only counts these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The version has no Initial key schedule known here.
    UnsupportedVersion,
    /// The packet is too short to hold a sample, packet number and tag.
    TooShort,
    /// The packet is not an Initial (no packet number to unprotect).
    NotInitial,
    /// AEAD authentication failed: wrong keys or a corrupted/forged packet.
    Aead,
}

/// The salt and HKDF labels one version family uses.
struct Schedule {
    salt: &'static [u8; 20],
    key: &'static [u8],
    iv: &'static [u8],
    hp: &'static [u8],
}

fn schedule(family: Family) -> Schedule {
    let (salt, v2) = match family {
        Family::V1 => (&SALT_V1, false),
        Family::V2 => (&SALT_V2, true),
        Family::Draft27 => (&SALT_DRAFT23, false),
        Family::Draft29 => (&SALT_DRAFT29, false),
    };
    if v2 {
        // RFC 9369 section 3.3.2.
        Schedule {
            salt,
            key: b"quicv2 key",
            iv: b"quicv2 iv",
            hp: b"quicv2 hp",
        }
    } else {
        Schedule {
            salt,
            key: b"quic key",
            iv: b"quic iv",
            hp: b"quic hp",
        }
    }
}

/// An output length for ring's HKDF, which wants a `KeyType`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context, into `out`.
fn expand_label(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) {
    // u16 length, u8 label length, "tls13 " + label, u8 context length (0).
    let mut info = [0u8; 2 + 1 + 6 + 32 + 1];
    let label_len = 6 + label.len();
    let out_len = u16::try_from(out.len()).unwrap_or(u16::MAX);
    info[..2].copy_from_slice(&out_len.to_be_bytes());
    info[2] = label_len as u8;
    info[3..9].copy_from_slice(b"tls13 ");
    info[9..9 + label.len()].copy_from_slice(label);
    let used = 3 + label_len + 1;
    // Lengths here are fixed by this module (<= 32 bytes), so expansion
    // cannot fail; a failure would leave `out` zeroed, which only yields
    // keys that never authenticate.
    if let Ok(okm) = prk.expand(&[&info[..used]], Len(out.len())) {
        let _ = okm.fill(out);
    }
}

/// Derives `client_initial_secret` and `server_initial_secret` from the
/// client's original DCID (RFC 9001 section 5.2); exposed for the RFC
/// appendix A tests and for tooling that wants to print them.
pub fn initial_secrets(version: Version, dcid: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let sched = schedule(version.family()?);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, sched.salt).extract(dcid);
    let mut client = [0u8; 32];
    let mut server = [0u8; 32];
    expand_label(&prk, b"client in", &mut client);
    expand_label(&prk, b"server in", &mut server);
    Some((client, server))
}

/// Expands one direction's secret into its AEAD key, IV and header
/// protection key (RFC 9001 section 5.1, RFC 9369 section 3.3.2 labels).
pub fn key_iv_hp(
    family: Family,
    secret: &[u8; 32],
) -> ([u8; KEY_LEN], [u8; IV_LEN], [u8; KEY_LEN]) {
    let sched = schedule(family);
    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, secret);
    let mut key = [0u8; KEY_LEN];
    let mut iv = [0u8; IV_LEN];
    let mut hp = [0u8; KEY_LEN];
    expand_label(&prk, sched.key, &mut key);
    expand_label(&prk, sched.iv, &mut iv);
    expand_label(&prk, sched.hp, &mut hp);
    (key, iv, hp)
}

/// One direction's ready-to-use Initial keys, kept so each packet costs only
/// an AES block and a GCM open, not a fresh key schedule.
pub struct DirectionKeys {
    aead: LessSafeKey,
    iv: [u8; IV_LEN],
    hp: HeaderProtectionKey,
}

impl DirectionKeys {
    /// Builds the ring key objects for one direction's secret.
    pub fn new(family: Family, secret: &[u8; 32]) -> Option<Self> {
        let (key, iv, hp) = key_iv_hp(family, secret);
        let aead = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).ok()?);
        let hp = HeaderProtectionKey::new(&AES_128, &hp).ok()?;
        Some(DirectionKeys { aead, iv, hp })
    }
}

impl core::fmt::Debug for DirectionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DirectionKeys { .. }")
    }
}

/// Both directions' Initial keys for one (version, original DCID) pair.
#[derive(Debug)]
pub struct InitialKeys {
    /// Protects client-to-server Initial packets.
    pub client: DirectionKeys,
    /// Protects server-to-client Initial packets.
    pub server: DirectionKeys,
}

impl InitialKeys {
    /// Derives both directions' keys; `None` if the version has no known
    /// schedule.
    pub fn derive(version: Version, dcid: &[u8]) -> Option<Self> {
        let family = version.family()?;
        let (c, s) = initial_secrets(version, dcid)?;
        Some(InitialKeys {
            client: DirectionKeys::new(family, &c)?,
            server: DirectionKeys::new(family, &s)?,
        })
    }
}

/// Recovers a full packet number from its truncated encoding (RFC 9000
/// appendix A.3); `largest` is the largest number successfully opened so far
/// in this packet number space and direction.
pub fn decode_packet_number(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let bits = (pn_len.clamp(1, 4) * 8) as u32;
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | (truncated & mask);
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Removes header protection from an Initial packet and decrypts its payload
/// into `buf` (cleared and reused: one allocation per flow, not per packet).
/// Returns the packet number and the plaintext frames.
pub fn open_initial<'b>(
    keys: &DirectionKeys,
    pkt: &LongPacket<'_>,
    largest: Option<u64>,
    buf: &'b mut Vec<u8>,
) -> Result<(u64, &'b [u8]), CryptoError> {
    if pkt.pn_offset == 0 {
        return Err(CryptoError::NotInitial);
    }
    let bytes = pkt.bytes;
    let sample_at = pkt.pn_offset + 4;
    let sample = bytes
        .get(sample_at..sample_at + SAMPLE_LEN)
        .ok_or(CryptoError::TooShort)?;
    let mask = keys.hp.new_mask(sample).map_err(|_| CryptoError::Aead)?;
    let first = pkt.first ^ (mask[0] & 0x0f);
    let pn_len = usize::from(first & 0x03) + 1;
    let header_len = pkt.pn_offset + pn_len;
    if bytes.len() < header_len + TAG_LEN {
        return Err(CryptoError::TooShort);
    }
    buf.clear();
    buf.extend_from_slice(bytes);
    let (header, body) = buf.split_at_mut(header_len);
    let Some(h0) = header.first_mut() else {
        return Err(CryptoError::TooShort);
    };
    *h0 = first;
    let mut truncated = 0u64;
    for (i, b) in header[pkt.pn_offset..].iter_mut().enumerate() {
        *b ^= mask[1 + i];
        truncated = (truncated << 8) | u64::from(*b);
    }
    let pn = decode_packet_number(largest, truncated, pn_len);
    let mut nonce = keys.iv;
    for (n, p) in nonce[IV_LEN - 8..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let plain = keys
        .aead
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&header[..]),
            body,
        )
        .map_err(|_| CryptoError::Aead)?;
    Ok((pn, plain))
}

/// Test-only inverse of [`open_initial`], so tests can build multi-packet
/// handshakes (e.g. a ClientHello split over several Initials) that no
/// capture in the corpus contains.
#[cfg(test)]
pub fn seal_initial(
    keys: &DirectionKeys,
    header: &[u8],
    pn_offset: usize,
    pn: u64,
    payload: &[u8],
) -> Vec<u8> {
    let mut nonce = keys.iv;
    for (n, p) in nonce[IV_LEN - 8..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let mut body = payload.to_vec();
    keys.aead
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(header),
            &mut body,
        )
        .unwrap();
    let mut out = header.to_vec();
    out.extend_from_slice(&body);
    let pn_len = header.len() - pn_offset;
    let sample = &out[pn_offset + 4..pn_offset + 4 + SAMPLE_LEN];
    let mask = keys.hp.new_mask(sample).unwrap();
    out[0] ^= mask[0] & 0x0f;
    for i in 0..pn_len {
        out[pn_offset + i] ^= mask[1 + i];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::parser::{Frame, Frames, LongKind, Packet, Packets};
    use super::super::test_vectors::*;
    use super::*;

    fn first_long(d: &[u8]) -> LongPacket<'_> {
        match Packets::new(d).next() {
            Some(Ok(Packet::Long(p))) => p,
            other => panic!("{other:?}"),
        }
    }

    /// The Initial secrets and (key, iv, hp) per side for the RFC example
    /// DCID 8394c8f03e515708, version by version.
    #[test]
    fn rfc_initial_keys() {
        type Side<'a> = [&'a str; 3];
        let cases: [(Version, [&str; 2], [Side; 2]); 2] = [
            // RFC 9001 appendix A.1.
            (
                Version::V1,
                [
                    "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
                    "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b",
                ],
                [
                    [
                        "1f369613dd76d5467730efcbe3b1a22d",
                        "fa044b2f42a3fd3b46fb255c",
                        "9f50449e04a0e810283a1e9933adedd2",
                    ],
                    [
                        "cf3a5331653c364c88f0f379b6067e37",
                        "0ac1493ca1905853b0bba03e",
                        "c206b8d9b9f0f37644430b490eeaa314",
                    ],
                ],
            ),
            // RFC 9369 appendix A.1.
            (
                Version::V2,
                [
                    "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
                    "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1",
                ],
                [
                    [
                        "8b1a0bc121284290a29e0971b5cd045d",
                        "91f73e2351d8fa91660e909f",
                        "45b95e15235d6f45a6b19cbcb0294ba9",
                    ],
                    [
                        "82db637861d55e1d011f19ea71d5d2a7",
                        "dd13c276499c0249d3310652",
                        "edf6d05c83121201b436e16877593c3a",
                    ],
                ],
            ),
        ];
        let dcid = hex("8394c8f03e515708");
        for (version, secrets, keys) in cases {
            let (c, s) = initial_secrets(version, &dcid).unwrap();
            let family = version.family().unwrap();
            for ((secret, want_secret), want) in [c, s].iter().zip(secrets).zip(keys) {
                assert_eq!(secret.to_vec(), hex(want_secret), "{version:?}");
                let (k, iv, hp) = key_iv_hp(family, secret);
                let got = [k.to_vec(), iv.to_vec(), hp.to_vec()];
                assert_eq!(got, want.map(hex), "{version:?}");
            }
        }
    }

    /// The plaintext CRYPTO frame both RFC appendices A.2 carry (a
    /// ClientHello for example.com), then 917 bytes of PADDING.
    const A2_CRYPTO_PREFIX: &str =
        "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868";

    fn check_client(vector: &str, version: Version) {
        let d = hex(vector);
        let p = first_long(&d);
        let keys = InitialKeys::derive(version, p.dcid).unwrap();
        let mut buf = Vec::new();
        let (pn, plain) = open_initial(&keys.client, &p, None, &mut buf).unwrap();
        assert_eq!(pn, 2);
        assert_eq!(plain.len(), 1162);
        assert!(plain.starts_with(&hex(A2_CRYPTO_PREFIX)));
        assert!(plain[245..].iter().all(|b| *b == 0));
        // Header protection removed: first byte and 4-byte PN are restored.
        let want = if version == Version::V1 {
            "c300000001088394c8f03e5157080000449e00000002"
        } else {
            "d36b3343cf088394c8f03e5157080000449e00000002"
        };
        assert_eq!(buf[..22].to_vec(), hex(want));
        let frames: Vec<_> = Frames::new(&buf[22..22 + 1162]).collect();
        let Ok(Frame::Crypto { offset: 0, data }) = frames[0] else {
            panic!()
        };
        assert_eq!(data.len(), 241);
        assert_eq!(data[0], 0x01);
        assert!(data.windows(11).any(|w| w == b"example.com"));
        // The server keys must not open the client's packet.
        let mut b2 = Vec::new();
        assert_eq!(
            open_initial(&keys.server, &p, None, &mut b2).unwrap_err(),
            CryptoError::Aead
        );
    }

    fn check_server(vector: &str, version: Version) {
        let d = hex(vector);
        let p = first_long(&d);
        // Server Initials use keys from the client's original DCID.
        let keys = InitialKeys::derive(version, &hex("8394c8f03e515708")).unwrap();
        let mut buf = Vec::new();
        let (pn, plain) = open_initial(&keys.server, &p, None, &mut buf).unwrap();
        assert_eq!(pn, 1);
        let frames: Vec<_> = Frames::new(plain).collect::<Result<_, _>>().unwrap();
        assert!(matches!(frames[0], Frame::Ack { largest: 0, .. }));
        let Frame::Crypto { offset: 0, data } = frames[1] else {
            panic!()
        };
        assert_eq!(data[0], 0x02);
        assert_eq!(data.len(), 90);
    }

    #[test]
    fn rfc9001_a2_a3_packets() {
        check_client(RFC9001_A2_CLIENT, Version::V1);
        check_server(RFC9001_A3_SERVER, Version::V1);
    }

    #[test]
    fn rfc9369_a2_a3_packets() {
        check_client(RFC9369_A2_CLIENT, Version::V2);
        check_server(RFC9369_A3_SERVER, Version::V2);
    }

    #[test]
    fn draft_salts_open_real_captures() {
        // draft-28 (quic_0RTT.pcap), draft-29 (quic-29.pcap), draft-32
        // (doq.pcapng): the client's first Initial opens with its own DCID.
        for (v, want) in [
            (Q0RTT_F1_CLIENT, 0xff00_001c),
            (Q29_F1_CLIENT, 0xff00_001d),
            (DOQ_F1_CLIENT, 0xff00_0020),
        ] {
            let d = hex(v);
            let p = first_long(&d);
            assert_eq!(p.version, Version(want));
            assert!(matches!(p.kind, LongKind::Initial { .. }));
            let keys = InitialKeys::derive(p.version, p.dcid).unwrap();
            let mut buf = Vec::new();
            let (_, plain) = open_initial(&keys.client, &p, None, &mut buf).unwrap();
            assert!(Frames::new(plain).any(|f| matches!(f, Ok(Frame::Crypto { .. }))));
        }
    }

    #[test]
    fn packet_number_decoding() {
        // RFC 9000 appendix A.3 example.
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 2),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 0, 1), 0);
        assert_eq!(decode_packet_number(None, 2, 4), 2);
        assert_eq!(decode_packet_number(Some(0xff), 0x01, 1), 0x101);
    }

    #[test]
    fn seal_roundtrip() {
        let keys = InitialKeys::derive(Version::V1, b"abcdefgh").unwrap();
        let header = hex("c100000001086162636465666768000040290005");
        let mut payload = vec![0x01];
        payload.resize(23, 0);
        let pkt = seal_initial(&keys.client, &header, 18, 5, &payload);
        let p = first_long(&pkt);
        let mut buf = Vec::new();
        let (pn, plain) = open_initial(&keys.client, &p, Some(3), &mut buf).unwrap();
        assert_eq!(pn, 5);
        assert_eq!(plain, &payload[..]);
    }
}
