//! Per-UDP-flow QUIC state: derives the Initial keys from the client's
//! original DCID, opens Initial packets in both directions, reassembles each
//! direction's CRYPTO stream and hands newly contiguous handshake bytes to a
//! sink (the TLS dissector, wired by the engine).

use super::crypto::{InitialKeys, open_initial};
use super::event::QuicEvent;
use super::parser::{Frame, Frames, LongKind, LongPacket, MAX_CID_LEN, Packet, Packets, Version};
use super::reassembly::CryptoStream;
use super::{Direction, Verdict};

/// Key derivations allowed per flow (first Initial, after Retry, a server
/// switching version, a client DCID we failed to anticipate). Each costs a
/// few HKDF and AES key schedules, so a hostile flow cannot make us spin.
pub const MAX_KEY_DERIVATIONS: u8 = 6;

/// When the server never answers, stop after this many client datagrams once
/// the ClientHello is complete: there is nothing more to learn.
pub const CLIENT_ONLY_DATAGRAMS: u16 = 6;

/// Datagrams (both directions) after which the flow is declared done even if
/// the handshake view is incomplete, so the state's buffers are freed.
pub const MAX_DATAGRAMS: u16 = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Phase {
    /// Nothing seen yet.
    #[default]
    Fresh,
    /// Following the handshake.
    Active,
    /// Finished, buffers released.
    Done,
    /// The first datagram was not a QUIC long header of a version we know.
    NotMine,
}

/// Initial keys plus the version they belong to (a server may answer a v1
/// Initial in v2 under compatible version negotiation, RFC 9368).
#[derive(Debug)]
struct KeySet {
    version: Version,
    keys: InitialKeys,
}

/// Per-direction progress.
#[derive(Debug, Default)]
struct DirState {
    crypto: CryptoStream,
    /// Largest authenticated Initial packet number, for PN decoding.
    largest_pn: Option<u64>,
    datagrams: u16,
}

/// QUIC dissector state for one UDP flow.
///
/// Verdicts: `NotMine` when the first datagram is not a parseable long
/// header of a known version with the fixed bit set (or a Version
/// Negotiation packet); `Done` once both first hellos (both second hellos
/// after a HelloRetryRequest) were delivered, or the ClientHello is complete
/// and either [`CLIENT_ONLY_DATAGRAMS`] client datagrams went unanswered or
/// 1-RTT (short-header) traffic started, or after [`MAX_DATAGRAMS`];
/// `NeedMore` otherwise.
///
/// Idle size is a few hundred bytes; while the handshake is followed it adds
/// the boxed keys (about 1.5 KiB), one reusable decryption buffer (the
/// largest Initial packet seen) and the two CRYPTO buffers (bounded by
/// `reassembly::MAX_CRYPTO_BYTES` each). All of it is freed on `Done`.
#[derive(Debug, Default)]
pub struct QuicState {
    phase: Phase,
    event: Option<QuicEvent>,
    /// The DCID the current Initial keys derive from: the client's original
    /// DCID, or the one it adopted after a Retry.
    key_dcid: [u8; MAX_CID_LEN],
    key_dcid_len: u8,
    have_dcid: bool,
    keys: Option<Box<KeySet>>,
    derivations: u8,
    retry_pending: bool,
    short_seen: bool,
    client: DirState,
    server: DirState,
    /// Reused for every decryption (allocated once, grown to the largest
    /// packet, at most one datagram).
    scratch: Vec<u8>,
}

impl QuicState {
    /// A state for a new flow; allocates nothing until QUIC is seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// What goes under `"quic"` in the flow's JSON; `None` until a valid
    /// QUIC long header was seen.
    pub fn event(&self) -> Option<&QuicEvent> {
        self.event.as_ref()
    }

    /// Feeds one UDP datagram payload without a CRYPTO sink (the handshake
    /// bytes are reassembled but not handed anywhere).
    pub fn feed(&mut self, dir: Direction, datagram: &[u8]) -> Verdict {
        self.feed_with(dir, datagram, &mut |_, _| {})
    }

    /// Feeds one UDP datagram payload; `on_crypto` receives, in order and
    /// exactly once, each run of newly contiguous CRYPTO bytes per direction
    /// (TLS handshake messages with 4-byte headers, no record layer), which
    /// the engine forwards to the TLS dissector.
    pub fn feed_with(
        &mut self,
        dir: Direction,
        datagram: &[u8],
        on_crypto: &mut dyn FnMut(Direction, &[u8]),
    ) -> Verdict {
        match self.phase {
            Phase::Done => return Verdict::Done,
            Phase::NotMine => return Verdict::NotMine,
            Phase::Fresh => {
                // Fast rejection: the first datagram must be a parseable
                // long header of a known version with the fixed bit set, or
                // Version Negotiation.
                let ok = match Packets::new(datagram).next() {
                    Some(Ok(Packet::Long(p))) => {
                        p.version == Version::NEGOTIATION || p.first & 0x40 != 0
                    }
                    _ => false,
                };
                if !ok {
                    self.phase = Phase::NotMine;
                    return Verdict::NotMine;
                }
                self.phase = Phase::Active;
            }
            Phase::Active => {}
        }
        let d = self.dir_mut(dir);
        d.datagrams = d.datagrams.saturating_add(1);
        for pkt in Packets::new(datagram) {
            match pkt {
                Ok(Packet::Long(p)) => self.on_long(dir, &p, on_crypto),
                Ok(Packet::Short(_)) => {
                    self.short_seen = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let dropped = self
            .client
            .crypto
            .dropped_bytes
            .saturating_add(self.server.crypto.dropped_bytes);
        let hrr = self.server.crypto.saw_hrr;
        if let Some(ev) = self.event.as_mut() {
            ev.crypto_dropped_bytes = dropped;
            ev.hello_retry = hrr;
        }
        let v = self.verdict();
        if v == Verdict::Done {
            self.finish();
        }
        v
    }

    fn dir_mut(&mut self, dir: Direction) -> &mut DirState {
        match dir {
            Direction::ToServer => &mut self.client,
            Direction::ToClient => &mut self.server,
        }
    }

    fn verdict(&self) -> Verdict {
        let c = &self.client;
        let s = &self.server;
        // After a HelloRetryRequest both sides send a second hello.
        let need = if s.crypto.saw_hrr { 2 } else { 1 };
        let client_hello = c.crypto.complete_messages >= 1;
        if c.crypto.complete_messages >= need && s.crypto.complete_messages >= need {
            return Verdict::Done;
        }
        if client_hello && s.datagrams == 0 && c.datagrams >= CLIENT_ONLY_DATAGRAMS {
            return Verdict::Done;
        }
        // 1-RTT traffic means the Initial exchange is over.
        if client_hello && self.short_seen {
            return Verdict::Done;
        }
        if c.datagrams.saturating_add(s.datagrams) >= MAX_DATAGRAMS {
            return Verdict::Done;
        }
        Verdict::NeedMore
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.keys = None;
        self.scratch = Vec::new();
        self.client.crypto.release();
        self.server.crypto.release();
    }

    fn key_dcid(&self) -> &[u8] {
        &self.key_dcid[..usize::from(self.key_dcid_len)]
    }

    fn set_key_dcid(&mut self, dcid: &[u8]) {
        let n = dcid.len().min(MAX_CID_LEN);
        self.key_dcid[..n].copy_from_slice(&dcid[..n]);
        self.key_dcid_len = n as u8;
        self.have_dcid = true;
        self.keys = None;
    }

    fn on_long(
        &mut self,
        dir: Direction,
        p: &LongPacket<'_>,
        on_crypto: &mut dyn FnMut(Direction, &[u8]),
    ) {
        let ev = self.event.get_or_insert_with(|| QuicEvent::new(p.version));
        if dir == Direction::ToClient
            && ev.server_scid_len.is_none()
            && p.version != Version::NEGOTIATION
        {
            ev.server_scid_len = Some(p.scid.len() as u8);
        }
        match p.kind {
            LongKind::VersionNegotiation { .. } => {
                if dir == Direction::ToClient {
                    ev.version_negotiation = true;
                }
                return;
            }
            LongKind::Retry { .. } => {
                if dir == Direction::ToClient {
                    ev.retry = true;
                    self.retry_pending = true;
                }
                return;
            }
            LongKind::ZeroRtt | LongKind::Handshake => return,
            LongKind::Initial { .. } => {}
        }
        if dir == Direction::ToServer {
            if !self.have_dcid {
                ev.dcid_len = p.dcid.len() as u8;
                ev.scid_len = p.scid.len() as u8;
                self.set_key_dcid(p.dcid);
            } else if self.retry_pending && p.dcid != self.key_dcid() {
                // RFC 9001 5.2: after a Retry, Initial keys come from the
                // DCID the server chose (the Retry's SCID).
                self.retry_pending = false;
                self.set_key_dcid(p.dcid);
            }
        }
        if !self.have_dcid {
            // A server Initial before any client Initial: no key material.
            return;
        }
        self.open_and_walk(dir, p, on_crypto);
    }

    /// Makes sure `self.keys` matches `version` and the key DCID.
    fn ensure_keys(&mut self, version: Version) -> bool {
        if self.keys.as_ref().is_some_and(|k| k.version == version) {
            return true;
        }
        if self.derivations >= MAX_KEY_DERIVATIONS {
            return false;
        }
        self.derivations += 1;
        match InitialKeys::derive(version, self.key_dcid()) {
            Some(keys) => {
                self.keys = Some(Box::new(KeySet { version, keys }));
                true
            }
            None => false,
        }
    }

    fn open_and_walk(
        &mut self,
        dir: Direction,
        p: &LongPacket<'_>,
        on_crypto: &mut dyn FnMut(Direction, &[u8]),
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let largest = self.dir_mut(dir).largest_pn;
        let mut opened = None;
        if self.ensure_keys(p.version)
            && let Some(ks) = self.keys.as_deref()
        {
            let k = match dir {
                Direction::ToServer => &ks.keys.client,
                Direction::ToClient => &ks.keys.server,
            };
            opened = open_initial(k, p, largest, &mut scratch)
                .ok()
                .map(|(pn, _)| pn);
        }
        // Recovery: a client Initial under a DCID we did not key on (a Retry
        // we missed, or a capture that started after the first Initial).
        if opened.is_none()
            && dir == Direction::ToServer
            && p.dcid != self.key_dcid()
            && self.derivations < MAX_KEY_DERIVATIONS
        {
            self.derivations += 1;
            if let Some(alt) = InitialKeys::derive(p.version, p.dcid)
                && let Ok((pn, _)) = open_initial(&alt.client, p, largest, &mut scratch)
            {
                self.set_key_dcid(p.dcid);
                self.keys = Some(Box::new(KeySet {
                    version: p.version,
                    keys: alt,
                }));
                opened = Some(pn);
            }
        }
        let Some(ev) = self.event.as_mut() else {
            self.scratch = scratch;
            return;
        };
        let Some(pn) = opened else {
            ev.decrypt_failures = ev.decrypt_failures.saturating_add(1);
            self.scratch = scratch;
            return;
        };
        ev.decrypted = true;
        // The plaintext sits in `scratch` after the header; re-derive its
        // bounds instead of keeping a borrow across the state updates.
        let header_len = p.pn_offset + usize::from(scratch.first().map_or(0, |b| b & 0x03)) + 1;
        let plain_end = scratch.len().saturating_sub(super::crypto::TAG_LEN);
        let plain = scratch.get(header_len..plain_end).unwrap_or(&[]);
        let d = self.dir_mut(dir);
        d.largest_pn = Some(d.largest_pn.map_or(pn, |l| l.max(pn)));
        for f in Frames::new(plain) {
            match f {
                Ok(Frame::Crypto { offset, data }) => {
                    let new = d.crypto.insert(offset, data);
                    if !new.is_empty() {
                        on_crypto(dir, new);
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        self.scratch = scratch;
    }
}

#[cfg(test)]
mod tests {
    use super::super::crypto::seal_initial;
    use super::super::test_vectors::*;
    use super::*;
    use crate::dissect::testutil::{C, S, xorshift};

    /// Feeds datagrams and returns (verdicts, client bytes, server bytes).
    fn run(st: &mut QuicState, dgs: &[(Direction, &str)]) -> (Vec<Verdict>, Vec<u8>, Vec<u8>) {
        let mut c = Vec::new();
        let mut s = Vec::new();
        let mut vs = Vec::new();
        for (dir, h) in dgs {
            let d = hex(h);
            vs.push(st.feed_with(*dir, &d, &mut |dir, b| match dir {
                Direction::ToServer => c.extend_from_slice(b),
                Direction::ToClient => s.extend_from_slice(b),
            }));
        }
        (vs, c, s)
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
    }

    /// Length of the first TLS handshake message, header included.
    fn msg_len(b: &[u8]) -> usize {
        4 + ((b[1] as usize) << 16 | (b[2] as usize) << 8 | b[3] as usize)
    }

    #[test]
    fn rfc9001_client_and_server() {
        let mut st = QuicState::new();
        let (vs, c, s) = run(&mut st, &[(C, RFC9001_A2_CLIENT), (S, RFC9001_A3_SERVER)]);
        assert_eq!(vs, vec![Verdict::NeedMore, Verdict::Done]);
        assert_eq!(c[0], 0x01);
        assert_eq!(c.len(), msg_len(&c));
        assert!(contains(&c, b"example.com"));
        assert_eq!(s[0], 0x02);
        assert_eq!(s.len(), 90);
        let ev = st.event().unwrap();
        assert!(ev.decrypted);
        assert_eq!(ev.version, Version::V1);
        assert_eq!(ev.dcid_len, 8);
        assert_eq!(ev.server_scid_len, Some(8));
        // Once done, further input is ignored.
        assert_eq!(st.feed(C, &hex(RFC9001_A2_CLIENT)), Verdict::Done);
    }

    #[test]
    fn rfc9369_v2_client_and_server() {
        let mut st = QuicState::new();
        let (vs, c, s) = run(&mut st, &[(C, RFC9369_A2_CLIENT), (S, RFC9369_A3_SERVER)]);
        assert_eq!(vs, vec![Verdict::NeedMore, Verdict::Done]);
        assert!(contains(&c, b"example.com"));
        assert_eq!(s[0], 0x02);
        let j = serde_json::to_value(st.event().unwrap()).unwrap();
        assert_eq!(j["version"], "6b3343cf");
    }

    #[test]
    fn chrome_google_client_initial() {
        // quic-tls-handshake.pcapng frame 1, SNI from ja4 expected.jsonl.
        let mut st = QuicState::new();
        let (vs, c, _) = run(&mut st, &[(C, QTH_F1_CLIENT)]);
        assert_eq!(vs, vec![Verdict::NeedMore]);
        assert_eq!(c[0], 0x01);
        assert_eq!(c.len(), msg_len(&c));
        assert!(contains(&c, b"www.google.com"));
        let ev = st.event().unwrap();
        assert_eq!((ev.dcid_len, ev.scid_len), (8, 0));
        assert_eq!(ev.decrypt_failures, 0);
    }

    #[test]
    fn chrome_several_crypto_frames() {
        // quic-with-several-tls-frames.pcapng frame 1: the ClientHello is
        // scattered over out-of-order CRYPTO frames in one packet.
        let mut st = QuicState::new();
        let (_, c, _) = run(&mut st, &[(C, QSF_F1_CLIENT)]);
        assert_eq!(c[0], 0x01);
        assert_eq!(c.len(), msg_len(&c));
        assert!(contains(&c, b"ogs.google.com"));
    }

    #[test]
    fn chrome_cloudflare_full_exchange() {
        // chrome-cloudflare-quic-with-secrets.pcapng frames 47 (client),
        // 48 (server ACK-only Initial + Handshake), 49 (server ServerHello).
        let mut st = QuicState::new();
        let (vs, c, s) = run(
            &mut st,
            &[(C, CF_F47_CLIENT), (S, CF_F48_SERVER), (S, CF_F49_SERVER)],
        );
        assert_eq!(
            vs,
            vec![Verdict::NeedMore, Verdict::NeedMore, Verdict::Done]
        );
        assert!(contains(&c, b"cloudflare-quic.com"));
        assert_eq!(s[0], 0x02);
        assert_eq!(s.len(), msg_len(&s));
        let ev = st.event().unwrap();
        assert_eq!(ev.server_scid_len, Some(20));
        assert_eq!(ev.decrypt_failures, 0);
    }

    #[test]
    fn draft29_retry_and_hello_retry_request() {
        // quic-29.pcap frames 1-6: Initial, Retry, Initial under the new
        // DCID, server HRR, second ClientHello, real ServerHello.
        let mut st = QuicState::new();
        let (vs, c, s) = run(
            &mut st,
            &[
                (C, Q29_F1_CLIENT),
                (S, Q29_F2_RETRY),
                (C, Q29_F3_CLIENT),
                (S, Q29_F4_SERVER),
                (C, Q29_F5_CLIENT),
                (S, Q29_F6_SERVER),
            ],
        );
        assert_eq!(vs.last(), Some(&Verdict::Done));
        assert!(vs[..5].iter().all(|v| *v == Verdict::NeedMore), "{vs:?}");
        assert!(contains(&c, b"localhost"));
        // Two ClientHellos (offsets 0 and 301) and HRR + ServerHello.
        assert_eq!(c.len(), 301 + 268);
        assert_eq!(c[301], 0x01);
        assert_eq!(s.len(), 56 + 90);
        assert_eq!((s[0], s[56]), (0x02, 0x02));
        let ev = st.event().unwrap();
        assert!(ev.retry && ev.hello_retry && ev.decrypted);
        assert_eq!(ev.decrypt_failures, 0);
        assert_eq!(ev.version.to_string(), "ff00001d");
    }

    #[test]
    fn draft28_and_draft32_servers() {
        for (cl, sv, sni) in [
            (Q0RTT_F1_CLIENT, Q0RTT_F2_SERVER, &b"abcd"[..]),
            // The DoQ client sends no SNI.
            (DOQ_F1_CLIENT, DOQ_F2_SERVER, &b""[..]),
        ] {
            let mut st = QuicState::new();
            let (vs, c, s) = run(&mut st, &[(C, cl), (S, sv)]);
            assert_eq!(vs, vec![Verdict::NeedMore, Verdict::Done]);
            assert_eq!(c[0], 0x01);
            assert!(contains(&c, sni));
            assert_eq!(s[0], 0x02);
        }
    }

    #[test]
    fn not_mine_fast() {
        for junk in [
            &b""[..],
            b"GET / HTTP/1.1\r\n",
            // Short header first.
            &[0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            // gQUIC Q050 long header (ndpi gquic.pcap).
            &[
                0xc3, 0x51, 0x30, 0x35, 0x30, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0,
            ],
            // v1 long header with the fixed bit clear.
            &[0x80, 0, 0, 0, 1, 0, 0, 0, 0],
            // DNS query.
            &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        ] {
            let mut st = QuicState::new();
            assert_eq!(st.feed(C, junk), Verdict::NotMine, "{junk:?}");
            assert!(st.event().is_none());
            assert_eq!(st.feed(C, &hex(RFC9001_A2_CLIENT)), Verdict::NotMine);
        }
    }

    #[test]
    fn client_only_finishes() {
        let mut st = QuicState::new();
        let d = hex(QTH_F1_CLIENT);
        let mut last = Verdict::NeedMore;
        for _ in 0..CLIENT_ONLY_DATAGRAMS {
            last = st.feed(C, &d);
        }
        assert_eq!(last, Verdict::Done);
    }

    #[test]
    fn corrupted_packet_counts_failure() {
        let mut st = QuicState::new();
        let mut d = hex(RFC9001_A2_CLIENT);
        d[600] ^= 1;
        assert_eq!(st.feed(C, &d), Verdict::NeedMore);
        let ev = st.event().unwrap();
        assert!(!ev.decrypted);
        assert_eq!(ev.decrypt_failures, 1);
    }

    #[test]
    fn hello_split_across_initials_in_random_order() {
        // Take Chrome's real ClientHello (quic-tls-handshake.pcapng frame 1)
        // and re-send it the way Chrome does with large post-quantum hellos:
        // many small CRYPTO frames spread over three Initial packets, both
        // packets and frames out of order (RFC 9000 19.6 allows any order).
        let mut st = QuicState::new();
        let (_, hello, _) = run(&mut st, &[(C, QTH_F1_CLIENT)]);
        let dcid = hex("0011223344556677");
        let keys = InitialKeys::derive(Version::V1, &dcid).unwrap();
        let mut frames: Vec<(usize, usize)> = Vec::new();
        let mut off = 0;
        let mut step = 7;
        while off < hello.len() {
            let n = step.min(hello.len() - off);
            frames.push((off, n));
            off += n;
            step = step * 5 % 97 + 3;
        }
        // Deterministic shuffle.
        let mut seed = 42u64;
        for i in (1..frames.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            frames.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let per = frames.len().div_ceil(3);
        let mut packets = Vec::new();
        for (pn, chunk) in frames.chunks(per).enumerate() {
            let mut payload = Vec::new();
            for &(o, n) in chunk {
                payload.push(0x06);
                payload.extend_from_slice(&(0x4000u16 | o as u16).to_be_bytes());
                payload.extend_from_slice(&(0x4000u16 | n as u16).to_be_bytes());
                payload.extend_from_slice(&hello[o..o + n]);
            }
            payload.resize(1150, 0);
            // c1: Initial, 2-byte PN; Length = 2 + payload + 16.
            let len = (2 + payload.len() + 16) as u16 | 0x4000;
            let mut h = hex("c1000000010800112233445566770000");
            h.extend_from_slice(&len.to_be_bytes());
            let pn_offset = h.len();
            h.extend_from_slice(&(pn as u16).to_be_bytes());
            packets.push(seal_initial(
                &keys.client,
                &h,
                pn_offset,
                pn as u64,
                &payload,
            ));
        }
        packets.swap(0, 2);
        let mut st = QuicState::new();
        let mut got = Vec::new();
        let mut calls = 0;
        for p in &packets {
            st.feed_with(C, p, &mut |_, b| {
                calls += 1;
                got.extend_from_slice(b)
            });
        }
        assert_eq!(got, hello);
        assert!(calls >= 1);
        assert_eq!(st.client.crypto.complete_messages, 1);
        assert_eq!(st.event().unwrap().decrypt_failures, 0);
    }

    #[test]
    fn idle_state_is_small() {
        // Hundreds of thousands of flows: keep the idle footprint modest.
        let n = std::mem::size_of::<QuicState>();
        assert!(n <= 320, "QuicState is {n} bytes");
    }

    #[test]
    fn random_datagrams_never_panic() {
        let mut seed = 0xdead_beef_cafe_f00du64;
        let mut buf = vec![0u8; 1400];
        let real = hex(CF_F47_CLIENT);
        for round in 0..3000 {
            let mut st = QuicState::new();
            for k in 0..6 {
                for b in buf.iter_mut() {
                    seed = xorshift(seed);
                    *b = seed as u8;
                }
                let n = (seed as usize) % buf.len();
                let d = &mut buf[..n];
                if round % 3 == 0 && k == 0 && d.len() > 6 {
                    d[0] = 0xc0 | (d[0] & 0x3f);
                    d[1..5].copy_from_slice(&[0, 0, 0, 1]);
                }
                let dir = if k % 2 == 0 { C } else { S };
                st.feed(dir, d);
            }
            // Mutated real packets: flip a few bytes of a valid Initial.
            if round % 10 == 0 {
                let mut m = real.clone();
                for _ in 0..3 {
                    seed = xorshift(seed);
                    let i = (seed as usize) % m.len();
                    m[i] = (seed >> 40) as u8;
                }
                let mut st = QuicState::new();
                st.feed(C, &m);
                st.feed(S, &m);
            }
        }
    }
}
