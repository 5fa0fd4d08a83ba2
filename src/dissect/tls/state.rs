//! Per-flow TLS / DTLS / QUIC-handshake state: reassembles records and
//! handshake messages incrementally (each byte is examined once, buffers are
//! lazily allocated and capped), records the hellos and the leaf certificate,
//! and tells the engine when it can stop feeding.

use super::super::dissector::AppProto;
use super::cert::CertInfo;
use super::event::{TlsEvent, escape_bytes, version_name};
use super::fingerprint::{self, Ja3, Ja4, Transport};
use super::parser::{
    self, CT_ALERT, CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, ClientHello,
    HS_CERTIFICATE, HS_CLIENT_HELLO, HS_HELLO_VERIFY_REQUEST, HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE, ServerHello, TLS_RECORD_HEADER_LEN,
};
use super::{Direction, Verdict};
use crate::budget::BudgetVec;

/// Cap on one buffered client handshake message. A ClientHello, even with
/// post-quantum key shares, is a few KiB; anything longer is truncated (and
/// counted in `dropped_bytes`) rather than allowed to grow memory per flow.
pub const CLIENT_BUFFER_CAP: usize = 16 * 1024;
/// Cap on one buffered server handshake message: large enough for the
/// Certificate message of a usual chain, whose first entry (the leaf) is all
/// we need, so a longer chain still yields the leaf from the kept prefix.
pub const SERVER_BUFFER_CAP: usize = 64 * 1024;
/// How many ClientHellos are kept in [`TlsFacts::client_hellos`]: the first
/// and the one after a HelloRetryRequest / HelloVerifyRequest. Later ones are
/// only counted.
pub const MAX_KEPT_CLIENT_HELLOS: usize = 2;

/// Facts of one ClientHello, owned, for detectors and the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHelloInfo {
    /// `legacy_version` field (what JA3 uses).
    pub legacy_version: u16,
    /// Highest non-GREASE supported_versions value, else `legacy_version`.
    pub max_version: u16,
    /// supported_versions values, wire order, GREASE included.
    pub supported_versions: Vec<u16>,
    /// server_name host name, non-UTF-8 bytes escaped as `\xNN`.
    pub sni: Option<String>,
    /// ALPN protocol names, raw bytes, wire order.
    pub alpn: Vec<Vec<u8>>,
    /// Cipher suites, wire order, GREASE included.
    pub cipher_suites: Vec<u16>,
    /// Extension types, wire order, GREASE included.
    pub extensions: Vec<u16>,
    /// supported_groups values, wire order.
    pub supported_groups: Vec<u16>,
    /// ec_point_formats values.
    pub ec_point_formats: Vec<u8>,
    /// signature_algorithms values, wire order.
    pub signature_algorithms: Vec<u16>,
    /// The transport (JA4's first character).
    pub transport: Transport,
    /// JA3, computed on first use: read it with [`ClientHelloInfo::ja3`].
    pub(crate) ja3: std::cell::OnceCell<Ja3>,
    /// JA4, computed on first use: read it with [`ClientHelloInfo::ja4`].
    pub(crate) ja4: std::cell::OnceCell<Ja4>,
}

impl fingerprint::HelloFields for ClientHelloInfo {
    fn legacy_version(&self) -> u16 {
        self.legacy_version
    }
    fn max_version(&self) -> u16 {
        self.max_version
    }
    fn cipher_suites(&self) -> impl Iterator<Item = u16> + '_ {
        self.cipher_suites.iter().copied()
    }
    fn extension_types(&self) -> impl Iterator<Item = u16> + '_ {
        self.extensions.iter().copied()
    }
    fn supported_groups(&self) -> impl Iterator<Item = u16> + '_ {
        self.supported_groups.iter().copied()
    }
    fn ec_point_formats(&self) -> &[u8] {
        &self.ec_point_formats
    }
    fn signature_algorithms(&self) -> impl Iterator<Item = u16> + '_ {
        self.signature_algorithms.iter().copied()
    }
    fn first_alpn(&self) -> Option<&[u8]> {
        self.alpn.first().map(Vec::as_slice)
    }
}

impl ClientHelloInfo {
    fn from_hello(ch: &ClientHello<'_>, transport: Transport) -> Self {
        ClientHelloInfo {
            legacy_version: ch.legacy_version,
            max_version: fingerprint::client_max_version(ch),
            supported_versions: ch
                .supported_versions()
                .map(|l| l.collect())
                .unwrap_or_default(),
            sni: ch.sni().map(escape_bytes),
            alpn: ch.alpn().map(<[u8]>::to_vec).collect(),
            cipher_suites: ch.cipher_suites().collect(),
            extensions: ch.extensions().map(|e| e.ext_type).collect(),
            supported_groups: ch
                .supported_groups()
                .map(|l| l.collect())
                .unwrap_or_default(),
            ec_point_formats: ch
                .ec_point_formats()
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            signature_algorithms: ch
                .signature_algorithms()
                .map(|l| l.collect())
                .unwrap_or_default(),
            transport,
            ja3: Default::default(),
            ja4: Default::default(),
        }
    }

    /// JA3 of this hello, computed when first asked for: most flows are
    /// never written, and hashing every hello cost ~6 % of all
    /// instructions.
    pub fn ja3(&self) -> &Ja3 {
        self.ja3.get_or_init(|| fingerprint::ja3(self))
    }

    /// JA4 (and its raw form) of this hello, computed when first asked for.
    pub fn ja4(&self) -> &Ja4 {
        self.ja4
            .get_or_init(|| fingerprint::ja4(self, self.transport))
    }
}

/// Facts of the (final, non-retry) ServerHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHelloInfo {
    /// `legacy_version` / server_version field.
    pub version: u16,
    /// supported_versions selection (TLS 1.3), if present.
    pub selected_version: Option<u16>,
    /// The chosen cipher suite.
    pub cipher_suite: u16,
    /// Extension types, wire order.
    pub extensions: Vec<u16>,
    /// ALPN the server selected (normally one entry).
    pub alpn: Vec<Vec<u8>>,
    /// JA3S, computed on first use: read it with [`ServerHelloInfo::ja3s`].
    pub(crate) ja3s: std::cell::OnceCell<Ja3>,
}

impl ServerHelloInfo {
    /// JA3S of this ServerHello (computed once, when first asked for: most
    /// handshakes are never written).
    pub fn ja3s(&self) -> &Ja3 {
        self.ja3s.get_or_init(|| {
            fingerprint::ja3s_of(
                self.version,
                self.cipher_suite,
                self.extensions.iter().copied(),
            )
        })
    }

    /// The negotiated version: supported_versions selection, else the field.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }
}

/// Everything learnt about the handshake, read-only for detectors (VPN / proxy
/// heuristics want SNI, ALPN, versions, ciphers and certificate facts
/// without parsing the JSON event).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// Transport of this handshake (decides JA4's first character).
    pub transport: Transport,
    /// First ClientHello, then the second one (after HRR / HVR), at most
    /// [`MAX_KEPT_CLIENT_HELLOS`].
    pub client_hellos: Vec<ClientHelloInfo>,
    /// Number of ClientHello messages seen (truncated or unparsable included).
    pub client_hello_count: u32,
    /// A TLS 1.3 HelloRetryRequest was seen.
    pub hello_retry_request: bool,
    /// A DTLS HelloVerifyRequest (cookie exchange) was seen.
    pub hello_verify_request: bool,
    /// The final ServerHello.
    pub server_hello: Option<ServerHelloInfo>,
    /// Leaf certificate facts (TLS <= 1.2 / DTLS only).
    pub cert: Option<CertInfo>,
    /// The server sent a Certificate message (even if it did not parse).
    pub certificate_seen: bool,
    /// An alert record was seen in either direction before we finished.
    pub alert_seen: bool,
}

impl TlsFacts {
    /// The first ClientHello, whose JA3/JA4 the event reports.
    pub fn client_hello(&self) -> Option<&ClientHelloInfo> {
        self.client_hellos.first()
    }

    /// Negotiated version if the server answered, else the client's highest
    /// offer; `None` before any hello.
    pub fn version(&self) -> Option<u16> {
        self.server_hello
            .as_ref()
            .map(ServerHelloInfo::negotiated_version)
            .or_else(|| self.client_hello().map(|c| c.max_version))
    }

    fn tls13(&self) -> bool {
        matches!(
            self.server_hello
                .as_ref()
                .map(ServerHelloInfo::negotiated_version),
            Some(0x0304 | 0xfefc | 0x7f00..=0x7fff)
        )
    }

    /// Builds the event as seen from ClientHello number `index` (0 = first).
    fn to_event(&self, index: usize) -> TlsEvent {
        let ch = self.client_hellos.get(index);
        let sh = self.server_hello.as_ref();
        let cert = self.cert.as_ref();
        let alpns = |v: &Vec<Vec<u8>>| v.iter().map(|a| escape_bytes(a)).collect::<Vec<_>>();
        TlsEvent {
            sni: ch.and_then(|c| c.sni.clone()),
            version: version_name(self.version()),
            ja3: ch.map(|c| c.ja3().clone()),
            ja3s: sh.map(|s| s.ja3s().clone()),
            ja4: ch.map(|c| c.ja4().ja4.clone()),
            ja4_retry: if index == 0 {
                self.client_hellos.get(1).map(|c| c.ja4().ja4.clone())
            } else {
                None
            },
            client_alpns: ch.map(|c| alpns(&c.alpn)).unwrap_or_default(),
            server_alpns: sh.map(|s| alpns(&s.alpn)).unwrap_or_default(),
            cipher_suite: sh.map(|s| s.cipher_suite),
            subject: cert.map(|c| c.subject.clone()),
            issuerdn: cert.map(|c| c.issuerdn.clone()),
            serial: cert.map(|c| c.serial.clone()),
            fingerprint: cert.map(|c| c.fingerprint.clone()),
            notbefore: cert.map(|c| c.notbefore.clone()),
            notafter: cert.map(|c| c.notafter.clone()),
            self_signed: cert.map(|c| c.self_signed),
            client_hellos: self.client_hello_count,
            hello_retry_request: self.hello_retry_request,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Tls,
    Dtls,
    Quic,
}

/// Streaming TLS record de-framer: keeps only the 5-byte header across
/// chunks and passes record payload bytes through without copying.
#[derive(Debug, Default)]
struct RecordDeframer {
    hdr: [u8; TLS_RECORD_HEADER_LEN],
    hdr_len: u8,
    remaining: usize,
    content_type: u8,
    records: u32,
    /// What to do with the current handshake record's payload.
    gate: Gate,
    /// Payload length of the current record.
    record_len: usize,
    /// First bytes of a gated record, kept until we can judge it.
    peek: [u8; 4],
    peek_len: u8,
}

/// Whether a handshake record's payload is parsed: after a ChangeCipherSpec
/// in TLS <= 1.2 it is the encrypted Finished; in TLS 1.3 (middlebox
/// compatibility CCS) it may be a cleartext second ClientHello. When the
/// version is unknown (server side not captured) the record is admitted only
/// if it starts with a ClientHello header whose length fits in the record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Gate {
    #[default]
    Pass,
    Peek,
    Drop,
}

/// Streaming handshake-message reassembler. Complete messages inside one
/// chunk are delivered from the chunk itself; only a message that spans
/// chunks is copied, only if its type is interesting, and only up to a cap.
#[derive(Debug, Default)]
struct HsFramer {
    hdr: [u8; 4],
    hdr_len: u8,
    in_msg: bool,
    msg_type: u8,
    remaining: usize,
    keep: bool,
    truncated: bool,
    /// The message spanning chunks, charged to the worker's byte budget.
    buf: BudgetVec,
    first_type: Option<u8>,
}

impl HsFramer {
    /// Feeds handshake-layer bytes; calls `on_msg(type, body, truncated)` per
    /// message (with an empty body for types `interesting` rejects).
    /// Returns the bytes dropped because of `cap`.
    fn push(
        &mut self,
        mut data: &[u8],
        cap: usize,
        interesting: fn(u8) -> bool,
        on_msg: &mut dyn FnMut(u8, &[u8], bool),
    ) -> u64 {
        let mut dropped = 0u64;
        while !data.is_empty() {
            if !self.in_msg {
                if self.hdr_len == 0 && self.first_type.is_none() {
                    self.first_type = data.first().copied();
                }
                if self.hdr_len == 0
                    && let Ok((hs, rest)) = parser::parse_handshake(data)
                {
                    let body = if interesting(hs.msg_type) {
                        hs.body
                    } else {
                        &[]
                    };
                    on_msg(hs.msg_type, body, false);
                    data = rest;
                    continue;
                }
                let need = 4 - usize::from(self.hdr_len);
                let n = need.min(data.len());
                let start = usize::from(self.hdr_len);
                self.hdr[start..start + n].copy_from_slice(&data[..n]);
                self.hdr_len += n as u8;
                data = &data[n..];
                if usize::from(self.hdr_len) < 4 {
                    return dropped;
                }
                self.hdr_len = 0;
                self.msg_type = self.hdr[0];
                self.remaining =
                    u32::from_be_bytes([0, self.hdr[1], self.hdr[2], self.hdr[3]]) as usize;
                self.keep = interesting(self.msg_type);
                self.truncated = false;
                self.in_msg = true;
                if self.remaining == 0 {
                    self.in_msg = false;
                    on_msg(self.msg_type, &[], false);
                    continue;
                }
            }
            let n = self.remaining.min(data.len());
            let chunk = &data[..n];
            data = &data[n..];
            self.remaining -= n;
            if self.keep {
                // Grows with the bytes that arrive (never sized by the
                // length a peer announces), within the cap and the budget.
                let k = self.buf.extend_capped(chunk, cap);
                if k < n {
                    self.truncated = true;
                    dropped += (n - k) as u64;
                }
            }
            if self.remaining == 0 {
                self.in_msg = false;
                on_msg(self.msg_type, self.buf.as_slice(), self.truncated);
                self.buf.free();
            }
        }
        dropped
    }
}

/// A DTLS handshake message being reassembled from fragments (in-order and
/// overlapping fragments are accepted; a gap drops the message).
#[derive(Debug)]
struct DtlsPartial {
    seq: u16,
    msg_type: u8,
    length: u32,
    got: u32,
    keep: bool,
    truncated: bool,
    /// Charged to the worker's byte budget.
    buf: BudgetVec,
}

/// Per-direction reassembly state.
#[derive(Debug, Default)]
struct DirState {
    rec: RecordDeframer,
    hs: HsFramer,
    /// Bytes of this direction seen so far.
    bytes: u64,
    /// ChangeCipherSpec seen: later handshake records are encrypted (<= 1.2).
    ccs: bool,
    /// Application data or a non-zero DTLS epoch seen: the rest is opaque.
    encrypted: bool,
    /// The stream stopped parsing (garbage); ignore further bytes.
    broken: bool,
    dtls_partial: Option<Box<DtlsPartial>>,
    dtls_last: Option<(u16, u8)>,
}

/// The shared part of the state the handshake callbacks update.
#[derive(Debug)]
struct Core {
    mode: Mode,
    facts: Option<Box<TlsFacts>>,
    /// The EVE objects, built from `facts` when first asked for and
    /// forgotten when a handshake message changes the facts (building them
    /// after every message cost ~12 % of all instructions, for events most
    /// flows never write).
    event: std::cell::OnceCell<Option<Box<TlsEvent>>>,
    retry_event: std::cell::OnceCell<Option<Box<TlsEvent>>>,
    not_mine: bool,
    /// A server ServerHelloDone / a message after the Certificate was seen.
    server_flight_done: bool,
}

fn client_interesting(t: u8) -> bool {
    t == HS_CLIENT_HELLO
}

fn server_interesting(t: u8) -> bool {
    matches!(
        t,
        HS_SERVER_HELLO | HS_CERTIFICATE | HS_HELLO_VERIFY_REQUEST
    )
}

impl Core {
    fn transport(&self) -> Transport {
        match self.mode {
            Mode::Tls => Transport::Tcp,
            Mode::Dtls => Transport::Dtls,
            Mode::Quic => Transport::Quic,
        }
    }

    fn facts_mut(&mut self) -> &mut TlsFacts {
        let transport = self.transport();
        self.facts.get_or_insert_with(|| {
            Box::new(TlsFacts {
                transport,
                ..TlsFacts::default()
            })
        })
    }

    fn on_handshake(&mut self, dir: Direction, msg_type: u8, body: &[u8], truncated: bool) {
        match dir {
            Direction::ToServer => {
                if msg_type != HS_CLIENT_HELLO {
                    if self
                        .facts
                        .as_ref()
                        .is_none_or(|f| f.client_hello_count == 0)
                    {
                        self.not_mine = true;
                    }
                    return;
                }
                let dtls = self.mode == Mode::Dtls;
                let transport = self.transport();
                let info = if truncated {
                    None
                } else {
                    ClientHello::parse(body, dtls)
                        .ok()
                        .map(|ch| ClientHelloInfo::from_hello(&ch, transport))
                };
                if info.is_none() && !truncated && self.facts.is_none() {
                    // The first message does not even parse: not a TLS client.
                    self.not_mine = true;
                    return;
                }
                let f = self.facts_mut();
                f.client_hello_count = f.client_hello_count.saturating_add(1);
                if let Some(info) = info
                    && f.client_hellos.len() < MAX_KEPT_CLIENT_HELLOS
                {
                    f.client_hellos.push(info);
                }
            }
            Direction::ToClient => match msg_type {
                HS_SERVER_HELLO => {
                    let Ok(sh) = ServerHello::parse(body) else {
                        return;
                    };
                    let f = self.facts_mut();
                    if sh.is_hello_retry_request() {
                        f.hello_retry_request = true;
                        return;
                    }
                    if f.server_hello.is_some() {
                        return;
                    }
                    f.server_hello = Some(ServerHelloInfo {
                        version: sh.version,
                        selected_version: sh.selected_version(),
                        cipher_suite: sh.cipher_suite,
                        extensions: sh.extensions().map(|e| e.ext_type).collect(),
                        alpn: sh.alpn().map(<[u8]>::to_vec).collect(),
                        ja3s: Default::default(),
                    });
                }
                HS_HELLO_VERIFY_REQUEST => {
                    self.facts_mut().hello_verify_request = true;
                }
                HS_CERTIFICATE => {
                    let f = self.facts_mut();
                    if f.server_hello.is_none() || f.certificate_seen {
                        return;
                    }
                    f.certificate_seen = true;
                    let tls13 = f.tls13();
                    f.cert = parser::leaf_certificate(body, tls13).and_then(CertInfo::from_der);
                }
                HS_SERVER_HELLO_DONE => self.server_flight_done = true,
                _ => {
                    if self
                        .facts
                        .as_ref()
                        .is_some_and(|f| f.server_hello.is_some())
                    {
                        // ServerKeyExchange, CertificateStatus, ...: past the
                        // point where a Certificate would have come.
                        if self.facts.as_ref().is_some_and(|f| f.certificate_seen) {
                            self.server_flight_done = true;
                        }
                    }
                }
            },
        }
        self.refresh_event();
    }

    fn refresh_event(&mut self) {
        self.event.take();
        self.retry_event.take();
    }

    /// The facts, once there is an event to build from them (a hello was
    /// read): answers "is there an event" without building it.
    fn event_facts(&self) -> Option<&TlsFacts> {
        self.facts
            .as_deref()
            .filter(|f| f.client_hello_count > 0 || f.server_hello.is_some())
    }

    fn event(&self) -> Option<&TlsEvent> {
        self.event
            .get_or_init(|| self.event_facts().map(|f| Box::new(f.to_event(0))))
            .as_deref()
    }

    fn retry_event(&self) -> Option<&TlsEvent> {
        self.retry_event
            .get_or_init(|| {
                let f = self.facts.as_ref()?;
                (f.client_hellos.len() > 1).then(|| Box::new(f.to_event(1)))
            })
            .as_deref()
    }
}

/// TLS handshake state of one flow (TLS over TCP, DTLS over UDP, or the
/// handshake layer of QUIC), built incrementally from what the engine feeds.
#[derive(Debug)]
pub struct TlsState {
    client: DirState,
    server: DirState,
    core: Core,
    verdict: Verdict,
    /// Bytes not kept because a buffered message exceeded its cap (or DTLS
    /// fragments arrived with a gap); non-zero means facts may be missing.
    pub dropped_bytes: u64,
}

impl Default for TlsState {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsState {
    fn with_mode(mode: Mode) -> Self {
        TlsState {
            client: DirState::default(),
            server: DirState::default(),
            core: Core {
                mode,
                facts: None,
                event: Default::default(),
                retry_event: Default::default(),
                not_mine: false,
                server_flight_done: false,
            },
            verdict: Verdict::NeedMore,
            dropped_bytes: 0,
        }
    }

    /// State for TLS over a TCP byte stream (any port: detection is by content).
    pub fn new() -> Self {
        Self::with_mode(Mode::Tls)
    }

    /// State for DTLS over UDP: `feed` then takes one whole datagram per call.
    pub fn new_dtls() -> Self {
        Self::with_mode(Mode::Dtls)
    }

    /// State for the TLS handshake carried in QUIC CRYPTO frames: the caller
    /// uses [`TlsState::feed_handshake`]; JA4 gets the `q` prefix.
    pub fn new_quic() -> Self {
        Self::with_mode(Mode::Quic)
    }

    /// The EVE `tls` object, once a hello has been parsed.
    pub fn event(&self) -> Option<&TlsEvent> {
        self.core.event()
    }

    /// A second EVE `tls` object describing the second ClientHello (after a
    /// HelloRetryRequest or DTLS HelloVerifyRequest), with its own `ja3`,
    /// `ja4`, `sni` and `client_alpns` and the same server facts. Suricata
    /// logs one `tls` event per handshake transaction; emitting this as an
    /// extra record for the flow keeps every field's type stable while still
    /// reporting the second hello's JA3 (which usually differs: browsers
    /// shuffle extension order per hello).
    pub fn retry_event(&self) -> Option<&TlsEvent> {
        self.core.retry_event()
    }

    /// True once [`TlsState::event`] has an event, without building it
    /// (building computes JA3, JA4 and copies the certificate facts; the
    /// dissector table asks this after every chunk).
    pub fn has_event(&self) -> bool {
        self.core.event_facts().is_some()
    }

    /// The EVE `app_proto` of the handshake once there is an event: DTLS when
    /// the version the event reports is a DTLS one, else TLS.
    pub fn proto(&self) -> Option<AppProto> {
        let f = self.core.event_facts()?;
        let dtls = matches!(f.version(), Some(0xfeff | 0xfefd | 0xfefc));
        Some(if dtls { AppProto::Dtls } else { AppProto::Tls })
    }

    /// Parsed handshake facts for detectors, once anything was parsed.
    pub fn facts(&self) -> Option<&TlsFacts> {
        self.core.facts.as_deref()
    }

    /// The last verdict returned.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Feeds the next in-order chunk of the TCP stream in `dir` (TLS mode),
    /// or one whole UDP datagram (DTLS mode). In QUIC mode this is the same
    /// as [`TlsState::feed_handshake`].
    pub fn feed(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        if self.verdict != Verdict::NeedMore || data.is_empty() {
            return self.verdict;
        }
        match self.core.mode {
            Mode::Tls => self.feed_tls(dir, data),
            Mode::Dtls => self.feed_dtls(dir, data),
            Mode::Quic => self.feed_hs(dir, data),
        }
        self.update_verdict()
    }

    /// Feeds in-order handshake-layer bytes (4-byte handshake headers and
    /// bodies, possibly several messages, possibly split anywhere), as QUIC
    /// CRYPTO frames deliver them after decryption and reassembly.
    pub fn feed_handshake(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        if self.verdict != Verdict::NeedMore || data.is_empty() {
            return self.verdict;
        }
        self.feed_hs(dir, data);
        self.update_verdict()
    }

    fn parts(&mut self, dir: Direction) -> (&mut DirState, &mut Core, &mut u64) {
        match dir {
            Direction::ToServer => (&mut self.client, &mut self.core, &mut self.dropped_bytes),
            Direction::ToClient => (&mut self.server, &mut self.core, &mut self.dropped_bytes),
        }
    }

    fn feed_hs(&mut self, dir: Direction, data: &[u8]) {
        let (ds, core, dropped) = self.parts(dir);
        ds.bytes = ds.bytes.saturating_add(data.len() as u64);
        push_handshake(ds, core, dropped, dir, data);
    }

    fn feed_tls(&mut self, dir: Direction, mut data: &[u8]) {
        let (ds, core, dropped) = self.parts(dir);
        if ds.broken {
            return;
        }
        ds.bytes = ds.bytes.saturating_add(data.len() as u64);
        while !data.is_empty() && !core.not_mine {
            if ds.rec.remaining == 0 {
                let have = usize::from(ds.rec.hdr_len);
                let n = (TLS_RECORD_HEADER_LEN - have).min(data.len());
                ds.rec.hdr[have..have + n].copy_from_slice(&data[..n]);
                ds.rec.hdr_len += n as u8;
                data = &data[n..];
                let hdr = &ds.rec.hdr[..usize::from(ds.rec.hdr_len)];
                let total = match parser::tls_record_total_len(hdr) {
                    Ok(t) => t,
                    Err(parser::ParseError::Incomplete) => {
                        if ds.rec.records == 0 && !first_record_prefix_ok(dir, hdr) {
                            mark_broken(ds, core, dir);
                        }
                        return;
                    }
                    Err(parser::ParseError::Invalid) => {
                        mark_broken(ds, core, dir);
                        return;
                    }
                };
                if ds.rec.records == 0 && !first_record_prefix_ok(dir, hdr) {
                    mark_broken(ds, core, dir);
                    return;
                }
                ds.rec.hdr_len = 0;
                ds.rec.records = ds.rec.records.saturating_add(1);
                ds.rec.content_type = ds.rec.hdr[0];
                ds.rec.remaining = total - TLS_RECORD_HEADER_LEN;
                ds.rec.record_len = ds.rec.remaining;
                ds.rec.gate = Gate::Pass;
                match ds.rec.content_type {
                    CT_CHANGE_CIPHER_SPEC => ds.ccs = true,
                    CT_APPLICATION_DATA => ds.encrypted = true,
                    CT_ALERT => core.facts_mut().alert_seen = true,
                    CT_HANDSHAKE if ds.encrypted => ds.rec.gate = Gate::Drop,
                    CT_HANDSHAKE if ds.ccs => {
                        let tls13_plain = core
                            .facts
                            .as_ref()
                            .is_some_and(|f| f.hello_retry_request || f.tls13());
                        ds.rec.gate = if tls13_plain {
                            Gate::Pass
                        } else if dir == Direction::ToServer && !ds.hs.in_msg {
                            ds.rec.peek_len = 0;
                            Gate::Peek
                        } else {
                            Gate::Drop
                        };
                    }
                    _ => {}
                }
                continue;
            }
            let n = ds.rec.remaining.min(data.len());
            let mut frag = &data[..n];
            data = &data[n..];
            ds.rec.remaining -= n;
            if ds.rec.content_type != CT_HANDSHAKE {
                continue;
            }
            if ds.rec.gate == Gate::Peek {
                let have = usize::from(ds.rec.peek_len);
                let k = (4 - have).min(frag.len());
                ds.rec.peek[have..have + k].copy_from_slice(&frag[..k]);
                ds.rec.peek_len += k as u8;
                frag = &frag[k..];
                if ds.rec.peek_len < 4 {
                    continue;
                }
                let p = ds.rec.peek;
                let len = u32::from_be_bytes([0, p[1], p[2], p[3]]) as usize;
                if p[0] == HS_CLIENT_HELLO && len + 4 <= ds.rec.record_len {
                    ds.rec.gate = Gate::Pass;
                    push_handshake(ds, core, dropped, dir, &p);
                } else {
                    ds.rec.gate = Gate::Drop;
                }
            }
            if ds.rec.gate == Gate::Pass {
                push_handshake(ds, core, dropped, dir, frag);
            }
        }
    }

    fn feed_dtls(&mut self, dir: Direction, data: &[u8]) {
        let (ds, core, dropped) = self.parts(dir);
        if ds.broken {
            return;
        }
        let first = ds.bytes == 0;
        ds.bytes = ds.bytes.saturating_add(data.len() as u64);
        if first
            && dir == Direction::ToServer
            && !(data.first() == Some(&CT_HANDSHAKE) && data.get(1) == Some(&0xfe))
        {
            mark_broken(ds, core, dir);
            return;
        }
        let mut rest = data;
        while !rest.is_empty() {
            if rest[0] & 0xe0 == 0x20 {
                // DTLS 1.3 unified header (RFC 9147 §4): always encrypted.
                ds.encrypted = true;
                return;
            }
            let Ok((rec, r)) = parser::parse_dtls_record(rest) else {
                if first {
                    mark_broken(ds, core, dir);
                }
                return;
            };
            rest = r;
            if rec.epoch != 0 {
                ds.encrypted = true;
                continue;
            }
            match rec.content_type {
                CT_CHANGE_CIPHER_SPEC => ds.ccs = true,
                CT_APPLICATION_DATA => ds.encrypted = true,
                CT_ALERT => core.facts_mut().alert_seen = true,
                CT_HANDSHAKE => {
                    let mut frags = rec.fragment;
                    while !frags.is_empty() {
                        let Ok((hs, more)) = parser::parse_dtls_handshake(frags) else {
                            break;
                        };
                        frags = more;
                        dtls_fragment(ds, core, dropped, dir, &hs);
                    }
                }
                _ => {}
            }
        }
    }

    fn update_verdict(&mut self) -> Verdict {
        let core = &self.core;
        if core.not_mine {
            self.verdict = Verdict::NotMine;
            return self.verdict;
        }
        let have_client = core
            .facts
            .as_ref()
            .is_some_and(|f| f.client_hello_count > 0);
        if let Some(f) = core.facts.as_deref() {
            if let Some(_sh) = &f.server_hello {
                let done = match core.mode {
                    Mode::Quic => true,
                    _ => {
                        f.tls13()
                            || f.certificate_seen
                            || core.server_flight_done
                            || self.server.ccs
                            || self.server.encrypted
                            || f.alert_seen
                    }
                };
                if done {
                    self.verdict = Verdict::Done;
                    return self.verdict;
                }
            } else if f.alert_seen && have_client && !f.hello_retry_request {
                // Handshake refused before a ServerHello.
                self.verdict = Verdict::Done;
                return self.verdict;
            }
        }
        let server_opaque = self.server.broken || (self.server.encrypted && self.server.bytes > 0);
        if have_client && server_opaque {
            self.verdict = Verdict::Done;
        } else if !have_client && self.client.broken {
            self.verdict = Verdict::NotMine;
        } else if have_client && self.client.broken && self.server.broken {
            self.verdict = Verdict::Done;
        }
        self.verdict
    }
}

/// Checks the first bytes of a direction's first record: the client must
/// open with a handshake record (type 22, version major 3); the server's
/// first record must at least be a plausible TLS record.
fn first_record_prefix_ok(dir: Direction, hdr: &[u8]) -> bool {
    let ct_ok = match dir {
        Direction::ToServer => hdr.first().is_none_or(|&b| b == CT_HANDSHAKE),
        Direction::ToClient => hdr
            .first()
            .is_none_or(|&b| (CT_CHANGE_CIPHER_SPEC..=24).contains(&b)),
    };
    ct_ok && hdr.get(1).is_none_or(|&b| b == 3) && hdr.get(2).is_none_or(|&b| b <= 4)
}

fn mark_broken(ds: &mut DirState, core: &mut Core, dir: Direction) {
    ds.broken = true;
    ds.hs = HsFramer::default();
    ds.dtls_partial = None;
    let nothing_yet = core
        .facts
        .as_ref()
        .is_none_or(|f| f.client_hello_count == 0 && f.server_hello.is_none());
    if dir == Direction::ToServer && nothing_yet {
        core.not_mine = true;
    }
    if dir == Direction::ToClient && nothing_yet && ds.rec.records == 0 {
        // The server spoke first with something that is not TLS.
        core.not_mine = true;
    }
}

fn push_handshake(
    ds: &mut DirState,
    core: &mut Core,
    dropped: &mut u64,
    dir: Direction,
    data: &[u8],
) {
    let (cap, interesting): (usize, fn(u8) -> bool) = match dir {
        Direction::ToServer => (CLIENT_BUFFER_CAP, client_interesting),
        Direction::ToClient => (SERVER_BUFFER_CAP, server_interesting),
    };
    let d = ds.hs.push(data, cap, interesting, &mut |t, body, trunc| {
        core.on_handshake(dir, t, body, trunc)
    });
    *dropped = dropped.saturating_add(d);
    if dir == Direction::ToServer && ds.hs.first_type.is_some_and(|t| t != HS_CLIENT_HELLO) {
        core.not_mine = true;
    }
}

fn dtls_fragment(
    ds: &mut DirState,
    core: &mut Core,
    dropped: &mut u64,
    dir: Direction,
    hs: &parser::DtlsHandshake<'_>,
) {
    let (cap, interesting): (usize, fn(u8) -> bool) = match dir {
        Direction::ToServer => (CLIENT_BUFFER_CAP, client_interesting),
        Direction::ToClient => (SERVER_BUFFER_CAP, server_interesting),
    };
    let id = (hs.message_seq, hs.msg_type);
    if ds.dtls_last == Some(id) {
        return; // retransmission of what we already delivered
    }
    if hs.is_complete() {
        ds.dtls_partial = None;
        ds.dtls_last = Some(id);
        let body = if interesting(hs.msg_type) {
            hs.fragment
        } else {
            &[]
        };
        core.on_handshake(dir, hs.msg_type, body, false);
        return;
    }
    let same = ds.dtls_partial.as_ref().is_some_and(|p| {
        p.seq == hs.message_seq && p.msg_type == hs.msg_type && p.length == hs.length
    });
    if !same {
        if hs.fragment_offset != 0 {
            *dropped = dropped.saturating_add(u64::from(hs.fragment_length));
            return;
        }
        let keep = interesting(hs.msg_type);
        ds.dtls_partial = Some(Box::new(DtlsPartial {
            seq: hs.message_seq,
            msg_type: hs.msg_type,
            length: hs.length,
            got: 0,
            keep,
            truncated: false,
            buf: BudgetVec::new(),
        }));
    }
    let Some(p) = ds.dtls_partial.as_mut() else {
        return;
    };
    let end = hs.fragment_offset + hs.fragment_length;
    if hs.fragment_offset > p.got {
        *dropped = dropped.saturating_add(u64::from(hs.fragment_length));
        return;
    }
    if end <= p.got {
        return;
    }
    let skip = (p.got - hs.fragment_offset) as usize;
    let tail = hs.fragment.get(skip..).unwrap_or(&[]);
    if p.keep {
        let k = p.buf.extend_capped(tail, cap);
        if k < tail.len() {
            p.truncated = true;
            *dropped = dropped.saturating_add((tail.len() - k) as u64);
        }
    }
    p.got = end;
    if p.got == p.length
        && let Some(p) = ds.dtls_partial.take()
    {
        ds.dtls_last = Some((p.seq, p.msg_type));
        core.on_handshake(dir, p.msg_type, p.buf.as_slice(), p.truncated);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testdata::*;
    use super::*;
    use crate::dissect::testutil::{C, S};

    #[test]
    fn hello_retry_flow_keeps_both_hellos() {
        let mut st = TlsState::new();
        assert_eq!(st.feed(C, &hex(HRR_CH1)), Verdict::NeedMore);
        assert_eq!(st.feed(S, &hex(HRR_SERVER1)), Verdict::NeedMore);
        assert_eq!(st.feed(C, &hex(HRR_CLIENT2)), Verdict::NeedMore);
        assert_eq!(st.feed(S, &hex(HRR_SH)), Verdict::Done);
        let ev = st.event().unwrap();
        assert_eq!(
            ev.ja4.as_deref(),
            Some("t13d1516h2_8daaf6152771_e5627efa2ab1")
        );
        assert_eq!(
            ev.ja4_retry.as_deref(),
            Some("t13d1515h2_8daaf6152771_f37e75b10bcc")
        );
        assert_eq!(
            ev.ja3.as_ref().unwrap().hash,
            "9e7fd085859af4550bd92586d02652e2"
        );
        assert_eq!(
            ev.ja3s.as_ref().unwrap().hash,
            "15af977ce25de452b96affa2addb1036"
        );
        assert_eq!(ev.version, "TLS 1.3");
        assert_eq!(ev.client_hellos, 2);
        assert!(ev.hello_retry_request);
        assert_eq!(ev.sni.as_deref(), Some("mem.gfx.ms"));
        let retry = st.retry_event().unwrap();
        assert_eq!(
            retry.ja3.as_ref().unwrap().hash,
            "989457eb4c148cbbe80b7799ac9aef59"
        );
        assert_eq!(
            retry.ja4.as_deref(),
            Some("t13d1515h2_8daaf6152771_f37e75b10bcc")
        );
        let f = st.facts().unwrap();
        assert_eq!(f.client_hellos.len(), 2);
        assert_eq!(f.server_hello.as_ref().unwrap().cipher_suite, 0x1302);
        assert_eq!(st.dropped_bytes, 0);
    }

    #[test]
    fn second_hello_without_server_side() {
        // tls-sni.pcapng style: only client packets were captured.
        let mut st = TlsState::new();
        st.feed(C, &hex(HRR_CH1));
        st.feed(C, &hex(HRR_CLIENT2));
        let f = st.facts().unwrap();
        assert_eq!(f.client_hello_count, 2);
        assert_eq!(
            f.client_hellos[1].ja4().ja4,
            "t13d1515h2_8daaf6152771_f37e75b10bcc"
        );
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let whole = {
            let mut st = TlsState::new();
            st.feed(C, &hex(HRR_CH1));
            st.feed(S, &hex(HRR_SERVER1));
            st.feed(C, &hex(HRR_CLIENT2));
            st.feed(S, &hex(HRR_SH));
            st.event().cloned()
        };
        let mut st = TlsState::new();
        for (d, s) in [
            (C, HRR_CH1),
            (S, HRR_SERVER1),
            (C, HRR_CLIENT2),
            (S, HRR_SH),
        ] {
            for b in hex(s) {
                st.feed(d, &[b]);
            }
        }
        assert_eq!(st.event().cloned(), whole);
        assert_eq!(st.verdict(), Verdict::Done);
    }

    #[test]
    fn dtls_flow_with_certificate() {
        let mut st = TlsState::new_dtls();
        assert_eq!(st.feed(C, &hex(DTLS_CH_DGRAM)), Verdict::NeedMore);
        assert_eq!(st.feed(S, &hex(DTLS_SERVER_DGRAM)), Verdict::Done);
        let ev = st.event().unwrap();
        assert_eq!(ev.version, "DTLS 1.0");
        assert_eq!(
            ev.ja3.as_ref().unwrap().hash,
            "1f12ed4be0b680eb539364fa1b55b8d4"
        );
        assert_eq!(
            ev.ja3s.as_ref().unwrap().hash,
            "d45798bc098cd930de7eb2f5f866e994"
        );
        assert!(ev.ja4.as_deref().unwrap().starts_with("dd1i4402"));
        assert_eq!(
            ev.subject.as_deref(),
            Some("C=XX, ST=Some-State, O=Internet Widgits Pty Ltd")
        );
        assert_eq!(ev.issuerdn, ev.subject);
        assert_eq!(ev.self_signed, Some(true));
        assert_eq!(ev.serial.as_deref(), Some("00:F1:96:5D:11:E3:FF:07:EE"));
        assert_eq!(ev.notbefore.as_deref(), Some("2014-07-06T11:56:07"));
        assert_eq!(ev.notafter.as_deref(), Some("2024-07-03T11:56:07"));
        assert_eq!(
            ev.fingerprint.as_deref(),
            Some("df:59:fa:ee:21:8a:ee:0b:99:b4:25:40:4a:78:e1:f9:16:20:9e:5c")
        );
        let json = serde_json::to_value(ev).unwrap();
        assert!(json.get("sni").is_none());
        assert!(json.get("client_alpns").is_none());
    }

    #[test]
    fn dtls_fragmented_server_flight() {
        // Re-fragment the ServerHello + Certificate of dtls-udp.notest.cap
        // into 100-byte DTLS handshake fragments (RFC 6347 §4.2.3 layout).
        let d = hex(DTLS_SERVER_DGRAM);
        let mut rest = &d[..];
        let mut dgrams = Vec::new();
        while let Ok((rec, r)) = parser::parse_dtls_record(rest) {
            rest = r;
            let (hs, _) = parser::parse_dtls_handshake(rec.fragment).unwrap();
            let body = hs.fragment;
            for (i, part) in body.chunks(100).enumerate() {
                let off = (i * 100) as u32;
                let mut f = vec![hs.msg_type];
                f.extend_from_slice(&hs.length.to_be_bytes()[1..]);
                f.extend_from_slice(&hs.message_seq.to_be_bytes());
                f.extend_from_slice(&off.to_be_bytes()[1..]);
                f.extend_from_slice(&(part.len() as u32).to_be_bytes()[1..]);
                f.extend_from_slice(part);
                let mut rec_bytes = vec![22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
                rec_bytes.extend_from_slice(&(f.len() as u16).to_be_bytes());
                rec_bytes.extend_from_slice(&f);
                dgrams.push(rec_bytes);
            }
        }
        let mut st = TlsState::new_dtls();
        st.feed(C, &hex(DTLS_CH_DGRAM));
        let mut v = Verdict::NeedMore;
        for (i, dg) in dgrams.iter().enumerate() {
            v = st.feed(S, dg);
            if i == 0 {
                st.feed(S, dg); // a retransmitted fragment changes nothing
            }
        }
        assert_eq!(v, Verdict::Done);
        assert_eq!(st.event().unwrap().self_signed, Some(true));
        assert_eq!(st.dropped_bytes, 0);
    }

    #[test]
    fn quic_handshake_split_anywhere() {
        let msg = hex(QUIC_CH_MSG);
        for split in [1, 3, 4, 5, 100, msg.len() - 1] {
            let mut st = TlsState::new_quic();
            assert_eq!(st.feed_handshake(C, &msg[..split]), Verdict::NeedMore);
            st.feed_handshake(C, &msg[split..]);
            let ev = st.event().unwrap();
            assert_eq!(
                ev.ja4.as_deref(),
                Some("q13d0310h3_55b375c5d22e_cd85d2d88918")
            );
            assert_eq!(ev.sni.as_deref(), Some("www.google.com"));
            assert_eq!(ev.client_alpns, vec!["h3".to_string()]);
        }
    }

    #[test]
    fn non_ascii_alpn_is_escaped() {
        let mut st = TlsState::new();
        st.feed(C, &hex(NON_ASCII_ALPN_CH));
        let ev = st.event().unwrap();
        assert_eq!(
            ev.client_alpns.first().map(String::as_str),
            Some("\\xba\\xad")
        );
        assert_eq!(
            ev.ja4.as_deref(),
            Some("t13d1516bd_8daaf6152771_e5627efa2ab1")
        );
    }

    #[test]
    fn not_mine_quickly() {
        for (d, first) in [
            (C, &b"GET / HTTP/1.1\r\n"[..]),
            (C, b"SSH-2.0-OpenSSH_9.6\r\n"),
            (C, &[0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0]), // ServerHello from the client
            (C, &[0x17, 0x03, 0x03, 0x00, 0x10]),
            (C, &[0x16]), // fine so far...
            (S, b"220 smtp.example.org ESMTP\r\n"),
        ] {
            let mut st = TlsState::new();
            let v = st.feed(d, first);
            if first == [0x16] {
                assert_eq!(v, Verdict::NeedMore);
                assert_eq!(st.feed(d, b"GET"), Verdict::NotMine);
            } else {
                assert_eq!(v, Verdict::NotMine, "{first:?}");
            }
        }
        let mut st = TlsState::new_dtls();
        assert_eq!(st.feed(C, &hex(HRR_CH1)), Verdict::NotMine);
        let mut st = TlsState::new_quic();
        assert_eq!(st.feed_handshake(C, &[2, 0, 0, 0]), Verdict::NotMine);
    }

    #[test]
    fn oversized_message_is_capped() {
        // A ClientHello header announcing 1 MiB, then 100 KiB of it: memory
        // stays at the cap and the excess is counted.
        let mut st = TlsState::new();
        let mut rec_hdr = vec![22, 3, 1, 0x40, 0x00];
        rec_hdr.extend_from_slice(&[1, 0x10, 0, 0]);
        st.feed(C, &rec_hdr);
        let chunk = vec![0u8; 0x4000 - 4];
        st.feed(C, &chunk);
        for _ in 0..6 {
            st.feed(C, &[22, 3, 1, 0x40, 0x00]);
            st.feed(C, &vec![0u8; 0x4000]);
        }
        assert!(st.client.hs.buf.len() <= CLIENT_BUFFER_CAP);
        assert!(st.dropped_bytes >= (7 * 0x4000 - 4 - CLIENT_BUFFER_CAP) as u64);
        assert_ne!(st.verdict(), Verdict::Done);
    }

    proptest::proptest! {
        #[test]
        fn random_feeds_never_panic(
            chunks in proptest::collection::vec(
                (proptest::bool::ANY, proptest::collection::vec(proptest::num::u8::ANY, 0..300)), 0..12),
            mode in 0u8..3,
        ) {
            let mut st = match mode { 0 => TlsState::new(), 1 => TlsState::new_dtls(), _ => TlsState::new_quic() };
            for (to_server, mut data) in chunks {
                // Make TLS-looking prefixes likely so deeper code is reached.
                if to_server && data.len() > 6 && data[0] % 2 == 0 {
                    data[0] = 22; data[1] = if mode == 1 { 0xfe } else { 3 };
                }
                let d = if to_server { C } else { S };
                let _ = st.feed(d, &data);
                let _ = st.feed_handshake(d, &data);
                if let Some(e) = st.event() { let _ = serde_json::to_string(e); }
            }
        }

        #[test]
        fn real_flow_any_chunking(cuts in proptest::collection::vec(1usize..200, 1..20)) {
            let mut st = TlsState::new();
            for (d, s) in [(C, HRR_CH1), (S, HRR_SERVER1), (C, HRR_CLIENT2), (S, HRR_SH)] {
                let b = hex(s);
                let mut rest = &b[..];
                let mut i = 0;
                while !rest.is_empty() {
                    let n = cuts[i % cuts.len()].min(rest.len());
                    st.feed(d, &rest[..n]);
                    rest = &rest[n..];
                    i += 1;
                }
            }
            proptest::prop_assert_eq!(st.verdict(), Verdict::Done);
            let retry = st.event().and_then(|e| e.ja4_retry.clone());
            proptest::prop_assert_eq!(retry.as_deref(), Some("t13d1515h2_8daaf6152771_f37e75b10bcc"));
        }
    }
}
