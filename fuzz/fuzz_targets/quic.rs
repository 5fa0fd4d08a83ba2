//! The QUIC dissector (`dissect::quic`). Input: `[mode: u8]`, then, by
//! `mode % 4`:
//!
//! * 0, datagrams: records (see `src/lib.rs`), each one UDP datagram in its
//!   direction, fed to `QuicState::feed_with` whose CRYPTO bytes go to a
//!   `TlsState::new_quic()` exactly as `dissect/app.rs` wires them. Real
//!   Initial datagrams (seed.py) are the seeds; mutations mostly fail AEAD.
//! * 1, packet parser: records, each one datagram walked with `Packets`
//!   (`parse_packet`), every long header inspected, Initials opened with
//!   keys derived from their own DCID (`InitialKeys::derive` +
//!   `open_initial`), plaintext walked with `Frames`.
//! * 2, sealed: `[version pick: u8][dcid len: u8][dcid]` then records whose
//!   payloads are *plaintext* Initial payloads (frames). The target builds
//!   and encrypts a valid Initial packet around each (the inverse of
//!   `open_initial`, with the RFC 9001 keys of that DCID), so the fuzzer
//!   reaches frame walking, CRYPTO reassembly and the TLS handshake parser
//!   through `QuicState` despite the AEAD. `ctl` bits: 0 direction, 1-2
//!   packet-number length - 1, 3-5 packet-number step - 1, 6 use a second
//!   DCID (as after a Retry, or a capture that missed the first Initial),
//!   7 send the payload raw instead (Retry, Version Negotiation, short
//!   headers, garbage).
//! * 3, frames: records, each a decrypted Initial payload in its direction:
//!   `Frames` walk, CRYPTO frames into one `CryptoStream` per direction, the
//!   delivered bytes into a QUIC `TlsState`. Checks the documented
//!   reassembly contract: what `insert` hands out, concatenated, is exactly
//!   `contiguous()`.
#![no_main]

use gateward::dissect::quic::crypto::{
    InitialKeys, SAMPLE_LEN, decode_packet_number, initial_secrets, key_iv_hp, open_initial,
};
use gateward::dissect::quic::parser::{Frame, Frames, LongKind, Packet, Packets, Version, read_varint};
use gateward::dissect::quic::reassembly::CryptoStream;
use gateward::dissect::quic::{MAX_CRYPTO_BYTES, QuicState};
use gateward::dissect::tls::TlsState;
use gateward::dissect::{Direction, Verdict};
use gateward_fuzz::{records, touch_json};
use libfuzzer_sys::fuzz_target;
use ring::aead::quic::{AES_128, HeaderProtectionKey};
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

const VERSIONS: [Version; 4] = [Version::V1, Version::V2, Version::DRAFT_29, Version(0xff00_001b)];

fn finish(quic: &QuicState, tls: &TlsState) {
    if let Some(ev) = quic.event() {
        touch_json(ev);
    }
    if let Some(ev) = tls.event() {
        touch_json(ev);
    }
    if let Some(ev) = tls.retry_event() {
        touch_json(ev);
    }
    if let Some(f) = tls.facts() {
        std::hint::black_box((f.version(), f.client_hellos.len(), &f.server_hello));
    }
}

/// Feeds one datagram as `dissect/app.rs` does.
fn feed(quic: &mut QuicState, tls: &mut TlsState, dir: Direction, dg: &[u8]) -> Verdict {
    quic.feed_with(dir, dg, &mut |d, b| {
        tls.feed_handshake(d, b);
    })
}

fn walk_frames(plain: &[u8]) {
    for f in Frames::new(plain) {
        match f {
            Ok(Frame::Crypto { offset, data }) => {
                std::hint::black_box((offset, data.len()));
            }
            Ok(other) => {
                std::hint::black_box(other);
            }
            Err(_) => break,
        }
    }
}

fn mode_datagrams(rest: &[u8]) {
    let mut quic = QuicState::new();
    let mut tls = TlsState::new_quic();
    for rec in records(rest) {
        if feed(&mut quic, &mut tls, rec.dir(), rec.data) != Verdict::NeedMore {
            break;
        }
    }
    finish(&quic, &tls);
}

fn mode_parser(rest: &[u8]) {
    let mut buf = Vec::new();
    for rec in records(rest) {
        std::hint::black_box(read_varint(rec.data));
        for p in Packets::new(rec.data) {
            let Ok(p) = p else { break };
            let Packet::Long(p) = p else { continue };
            std::hint::black_box(p.negotiated_versions().count());
            std::hint::black_box(p.version.to_string());
            if let LongKind::Initial { .. } = p.kind {
                let Some(keys) = InitialKeys::derive(p.version, p.dcid) else {
                    continue;
                };
                let largest = (rec.ctl & 1 == 1).then_some(u64::from(rec.ctl) << 20);
                for k in [&keys.client, &keys.server] {
                    if let Ok((pn, plain)) = open_initial(k, &p, largest, &mut buf) {
                        std::hint::black_box(pn);
                        walk_frames(plain);
                    }
                }
            }
        }
        if let Some(b) = rec.data.get(..9) {
            let largest = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
            let pn_len = usize::from(b[8] & 7);
            let truncated = largest.rotate_left(17);
            std::hint::black_box(decode_packet_number(Some(largest), truncated, pn_len));
            std::hint::black_box(decode_packet_number(None, truncated, pn_len));
        }
    }
}

/// One direction's Initial sealing keys (the inverse of `open_initial`).
struct Sealer {
    aead: LessSafeKey,
    iv: [u8; 12],
    hp: HeaderProtectionKey,
}

impl Sealer {
    fn new(version: Version, secret: &[u8; 32]) -> Option<Sealer> {
        let (key, iv, hp) = key_iv_hp(version.family()?, secret);
        Some(Sealer {
            aead: LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).ok()?),
            iv,
            hp: HeaderProtectionKey::new(&AES_128, &hp).ok()?,
        })
    }

    /// `header` ends with the `pn_len`-byte packet number at `pn_offset`.
    fn seal(&self, header: &[u8], pn_offset: usize, pn: u64, payload: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let mut body = payload.to_vec();
        self.aead
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(header), &mut body)
            .ok()?;
        let mut out = header.to_vec();
        out.extend_from_slice(&body);
        let pn_len = header.len() - pn_offset;
        let sample = out.get(pn_offset + 4..pn_offset + 4 + SAMPLE_LEN)?;
        let mask = self.hp.new_mask(sample).ok()?;
        out[0] ^= mask[0] & 0x0f;
        for i in 0..pn_len {
            out[pn_offset + i] ^= mask[1 + i];
        }
        Some(out)
    }
}

/// Client and server sealers for one (version, DCID).
fn sealers(version: Version, dcid: &[u8]) -> Option<[Sealer; 2]> {
    let (c, s) = initial_secrets(version, dcid)?;
    Some([Sealer::new(version, &c)?, Sealer::new(version, &s)?])
}

fn mode_sealed(rest: &[u8]) {
    let [pick, dlen, rest @ ..] = rest else {
        return;
    };
    let version = VERSIONS[usize::from(*pick) % VERSIONS.len()];
    let dlen = usize::from(*dlen % 21).min(rest.len());
    let (dcid, rest) = rest.split_at(dlen);
    let mut alt_dcid = dcid.to_vec();
    alt_dcid.reverse();
    alt_dcid.push(0xa5);
    let (Some(main), Some(alt)) = (sealers(version, dcid), sealers(version, &alt_dcid)) else {
        return;
    };
    // Initial type bits: 0 except in v2 (RFC 9369 section 3.2).
    let type_bits = if version == Version::V2 { 0x10 } else { 0x00 };
    const CLIENT_SCID: [u8; 8] = *b"clientid";
    const SERVER_SCID: [u8; 8] = *b"serverid";
    let mut quic = QuicState::new();
    let mut tls = TlsState::new_quic();
    let mut next_pn = [0u64; 2];
    for rec in records(rest) {
        let dir = rec.dir();
        let d = usize::from(rec.ctl & 1);
        let datagram = if rec.ctl & 0x80 != 0 {
            rec.data.to_vec()
        } else {
            let use_alt = rec.ctl & 0x40 != 0;
            let keys = if use_alt { &alt } else { &main };
            let pn_len = usize::from((rec.ctl >> 1) & 3) + 1;
            let pn = next_pn[d];
            next_pn[d] += u64::from((rec.ctl >> 3) & 7) + 1;
            // The sample needs 4 bytes of packet number + payload.
            let mut payload = rec.data.to_vec();
            if payload.len() + pn_len < 4 {
                payload.resize(4 - pn_len, 0);
            }
            let (dcid_field, scid_field): (&[u8], &[u8]) = match dir {
                Direction::ToServer => (if use_alt { &alt_dcid } else { dcid }, &CLIENT_SCID),
                Direction::ToClient => (&CLIENT_SCID, &SERVER_SCID),
            };
            let mut h = vec![0xc0 | type_bits | (pn_len as u8 - 1)];
            h.extend_from_slice(&version.0.to_be_bytes());
            h.push(dcid_field.len() as u8);
            h.extend_from_slice(dcid_field);
            h.push(scid_field.len() as u8);
            h.extend_from_slice(scid_field);
            h.push(0); // token length
            let len = (pn_len + payload.len() + 16) as u32;
            h.extend_from_slice(&(0x8000_0000 | len).to_be_bytes());
            let pn_offset = h.len();
            h.extend_from_slice(&pn.to_be_bytes()[8 - pn_len..]);
            match keys[d].seal(&h, pn_offset, pn, &payload) {
                Some(p) => p,
                None => continue,
            }
        };
        if feed(&mut quic, &mut tls, dir, &datagram) != Verdict::NeedMore {
            break;
        }
    }
    finish(&quic, &tls);
}

fn mode_frames(rest: &[u8]) {
    let mut streams = [CryptoStream::default(), CryptoStream::default()];
    let mut delivered: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut tls = TlsState::new_quic();
    for rec in records(rest) {
        let d = usize::from(rec.ctl & 1);
        for f in Frames::new(rec.data) {
            match f {
                Ok(Frame::Crypto { offset, data }) => {
                    let new = streams[d].insert(offset, data);
                    if !new.is_empty() {
                        delivered[d].extend_from_slice(new);
                        let new = new.to_vec();
                        tls.feed_handshake(rec.dir(), &new);
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    for d in 0..2 {
        assert!(delivered[d].len() <= MAX_CRYPTO_BYTES, "delivered past the cap");
        assert_eq!(
            delivered[d].as_slice(),
            streams[d].contiguous(),
            "insert() deliveries do not add up to contiguous()"
        );
        std::hint::black_box((streams[d].complete_messages, streams[d].saw_hrr, streams[d].dropped_bytes));
        streams[d].release();
    }
    if let Some(ev) = tls.event() {
        touch_json(ev);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => mode_datagrams(rest),
        1 => mode_parser(rest),
        2 => mode_sealed(rest),
        _ => mode_frames(rest),
    }
});
