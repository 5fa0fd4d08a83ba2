//! Per-flow SSH state machine: one small state per direction that reads the
//! banner line, then frames binary packets until the KEXINIT.

use super::event::{Hassh, SshEvent, SshPeer};
use super::parser::{
    self, Banner, KexInit, MAX_BANNER_LINE, NameList, PacketFrame, SSH_MSG_KEXINIT, Side,
};
use super::verdict::{Direction, Verdict};

/// Largest binary packet (4-byte length included) buffered while waiting for
/// a KEXINIT. Real KEXINITs are 1-3 KiB (post-quantum lists push them a
/// little higher); anything larger is refused rather than buffered.
pub const MAX_KEXINIT_PACKET: usize = 16 * 1024;

/// Server lines tolerated before its `SSH-` banner (RFC 4253 4.2 allows
/// them); a bound so a non-SSH text service is rejected quickly.
pub const MAX_PREAMBLE_LINES: u8 = 16;

/// Non-KEXINIT binary packets skipped before giving up on a direction.
pub const MAX_PACKETS_BEFORE_KEXINIT: u8 = 4;

/// Longest string kept from a banner field (the line itself is capped at
/// [`MAX_BANNER_LINE`], so this only bounds the escaped form).
const MAX_FIELD_CHARS: usize = 1024;

/// One side's identification line, owned and made printable (bytes outside
/// printable ASCII are written `\xNN`, a backslash as `\x5c`), kept for
/// detectors that match on full banners.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BannerInfo {
    /// The whole line without CR LF.
    pub raw: String,
    /// `protoversion`.
    pub proto_version: String,
    /// `softwareversion`.
    pub software_version: String,
    /// Comments after the first space, if any.
    pub comments: Option<String>,
    /// True for an SSH-1 only peer (`1.x` other than `1.99`).
    pub ssh1_only: bool,
}

/// Every name-list of one side's KEXINIT, owned (lossy UTF-8), for
/// detectors that look past HASSH (host key types, languages, kex
/// extensions such as `ext-info-c` or `kex-strict-*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KexInitInfo {
    /// kex_algorithms.
    pub kex_algorithms: String,
    /// server_host_key_algorithms.
    pub server_host_key_algorithms: String,
    /// encryption_algorithms_client_to_server.
    pub encryption_c2s: String,
    /// encryption_algorithms_server_to_client.
    pub encryption_s2c: String,
    /// mac_algorithms_client_to_server.
    pub mac_c2s: String,
    /// mac_algorithms_server_to_client.
    pub mac_s2c: String,
    /// compression_algorithms_client_to_server.
    pub compression_c2s: String,
    /// compression_algorithms_server_to_client.
    pub compression_s2c: String,
    /// languages_client_to_server.
    pub languages_c2s: String,
    /// languages_server_to_client.
    pub languages_s2c: String,
    /// first_kex_packet_follows.
    pub first_kex_packet_follows: bool,
}

impl KexInitInfo {
    fn from_parsed(k: &KexInit<'_>) -> Self {
        let s = |l: NameList<'_>| String::from_utf8_lossy(l.as_bytes()).into_owned();
        KexInitInfo {
            kex_algorithms: s(k.kex_algorithms),
            server_host_key_algorithms: s(k.server_host_key_algorithms),
            encryption_c2s: s(k.encryption_c2s),
            encryption_s2c: s(k.encryption_s2c),
            mac_c2s: s(k.mac_c2s),
            mac_s2c: s(k.mac_s2c),
            compression_c2s: s(k.compression_c2s),
            compression_s2c: s(k.compression_s2c),
            languages_c2s: s(k.languages_c2s),
            languages_s2c: s(k.languages_s2c),
            first_kex_packet_follows: k.first_kex_packet_follows,
        }
    }
}

/// The algorithms both KEXINITs agree on (RFC 4253 7.1: the first client
/// algorithm the server also lists); `None` where nothing matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Negotiated<'a> {
    /// Key exchange method.
    pub kex: Option<&'a str>,
    /// Server host key algorithm.
    pub host_key: Option<&'a str>,
    /// Cipher client to server.
    pub encryption_c2s: Option<&'a str>,
    /// Cipher server to client.
    pub encryption_s2c: Option<&'a str>,
    /// MAC client to server (irrelevant for AEAD ciphers).
    pub mac_c2s: Option<&'a str>,
    /// MAC server to client.
    pub mac_s2c: Option<&'a str>,
    /// Compression client to server.
    pub compression_c2s: Option<&'a str>,
    /// Compression server to client.
    pub compression_s2c: Option<&'a str>,
}

fn pick<'a>(client: &'a str, server: &str) -> Option<&'a str> {
    let c = NameList(client.as_bytes());
    let s = NameList(server.as_bytes());
    parser::negotiate(c, s).and_then(|n| std::str::from_utf8(n).ok())
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Reading the identification line (or server pre-banner lines).
    #[default]
    Banner,
    /// Framing binary packets until the KEXINIT.
    Packets,
    /// KEXINIT parsed, or SSH-1 banner seen: nothing more wanted.
    Finished,
    /// Malformed or oversized data after a valid banner: stop looking.
    Failed,
}

/// What one direction's bytes proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Fine,
    NotSsh,
}

#[derive(Debug, Default)]
struct DirState {
    phase: Phase,
    /// Partial line or packet; empty (unallocated) in the common case where
    /// a whole line or packet arrives in one chunk.
    buf: Vec<u8>,
    /// Server lines seen before the banner.
    preamble_lines: u8,
    packets_before_kexinit: u8,
    banner: Option<BannerInfo>,
    kexinit: Option<Box<KexInitInfo>>,
    hassh: Option<Hassh>,
    dropped_bytes: u64,
}

impl DirState {
    fn terminal(&self) -> bool {
        matches!(self.phase, Phase::Finished | Phase::Failed)
    }

    fn release(&mut self) {
        self.buf = Vec::new();
    }

    fn feed(&mut self, data: &[u8], side: Side) -> Outcome {
        let mut input = data;
        while !input.is_empty() {
            match self.phase {
                Phase::Banner => match self.banner_step(&mut input, side) {
                    Outcome::Fine => {}
                    Outcome::NotSsh => return Outcome::NotSsh,
                },
                Phase::Packets => self.packet_step(&mut input, side),
                Phase::Finished | Phase::Failed => {
                    if self.phase == Phase::Failed {
                        self.dropped_bytes += input.len() as u64;
                    }
                    return Outcome::Fine;
                }
            }
        }
        Outcome::Fine
    }

    /// Consumes up to one line from `input`.
    fn banner_step(&mut self, input: &mut &[u8], side: Side) -> Outcome {
        // Fast rejection: the client's very first bytes must be "SSH-".
        if side == Side::Client {
            let have = self.buf.len();
            let want = b"SSH-".get(have.min(4)..).unwrap_or_default();
            let n = want.len().min(input.len());
            if input.get(..n) != want.get(..n) {
                return Outcome::NotSsh;
            }
        }
        let nl = input.iter().position(|&b| b == b'\n');
        let take = nl.map_or(input.len(), |p| p + 1);
        if self.buf.len() + take > MAX_BANNER_LINE {
            return Outcome::NotSsh;
        }
        let (chunk, rest) = input.split_at(take);
        *input = rest;
        if nl.is_none() {
            self.buf.extend_from_slice(chunk);
            return Outcome::Fine;
        }
        let owned;
        let line: &[u8] = if self.buf.is_empty() {
            chunk
        } else {
            self.buf.extend_from_slice(chunk);
            owned = std::mem::take(&mut self.buf);
            &owned
        };
        let line = parser::trim_line_end(line);
        match parser::parse_banner_line(line) {
            Some(b) => {
                self.banner = Some(banner_info(&b));
                self.phase = if b.is_ssh1_only() {
                    Phase::Finished
                } else {
                    Phase::Packets
                };
                self.buf.clear();
                Outcome::Fine
            }
            None => {
                // Only a server may send other lines first, and they are text.
                let texty = line.iter().all(|&b| b >= 0x20 || b == b'\t' || b == b'\r');
                self.preamble_lines = self.preamble_lines.saturating_add(1);
                if side == Side::Client || !texty || self.preamble_lines > MAX_PREAMBLE_LINES {
                    return Outcome::NotSsh;
                }
                self.buf.clear();
                Outcome::Fine
            }
        }
    }

    /// Consumes bytes of binary packets from `input`.
    fn packet_step(&mut self, input: &mut &[u8], side: Side) {
        if self.buf.is_empty() {
            match parser::frame_packet(input, MAX_KEXINIT_PACKET) {
                PacketFrame::Complete { payload, consumed } => {
                    self.on_payload(payload, side);
                    *input = input.get(consumed..).unwrap_or_default();
                }
                PacketFrame::Invalid => self.fail(input),
                PacketFrame::Incomplete { total } => {
                    self.buf.reserve_exact(total.unwrap_or(4));
                    self.buf.extend_from_slice(input);
                    *input = &[];
                }
            }
            return;
        }
        // Complete the length field first, then exactly one packet: each
        // byte is copied once and the packet is framed once.
        if self.buf.len() < 4 {
            let n = (4 - self.buf.len()).min(input.len());
            let (head, rest) = input.split_at(n);
            self.buf.extend_from_slice(head);
            *input = rest;
        }
        let total = match parser::packet_total_len(&self.buf, MAX_KEXINIT_PACKET) {
            None => return,
            Some(Err(())) => return self.fail(input),
            Some(Ok(t)) => t,
        };
        let n = total.saturating_sub(self.buf.len()).min(input.len());
        let (head, rest) = input.split_at(n);
        self.buf.reserve_exact(total.saturating_sub(self.buf.len()));
        self.buf.extend_from_slice(head);
        *input = rest;
        if self.buf.len() >= total {
            let packet = std::mem::take(&mut self.buf);
            match parser::frame_packet(&packet, MAX_KEXINIT_PACKET) {
                PacketFrame::Complete { payload, .. } => self.on_payload(payload, side),
                _ => self.fail(input),
            }
        }
    }

    fn fail(&mut self, input: &mut &[u8]) {
        self.phase = Phase::Failed;
        self.dropped_bytes += (self.buf.len() + input.len()) as u64;
        *input = &[];
        self.release();
    }

    fn on_payload(&mut self, payload: &[u8], side: Side) {
        if payload.first() == Some(&SSH_MSG_KEXINIT) {
            match parser::parse_kexinit(payload) {
                Ok(k) => {
                    let string = parser::hassh_string(&k, side);
                    self.hassh = Some(Hassh {
                        hash: parser::hassh_hash(&string),
                        string,
                    });
                    self.kexinit = Some(Box::new(KexInitInfo::from_parsed(&k)));
                    self.phase = Phase::Finished;
                }
                Err(_) => self.phase = Phase::Failed,
            }
            self.release();
            return;
        }
        self.packets_before_kexinit = self.packets_before_kexinit.saturating_add(1);
        if self.packets_before_kexinit > MAX_PACKETS_BEFORE_KEXINIT {
            self.phase = Phase::Failed;
            self.release();
        }
    }
}

fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if s.len() >= MAX_FIELD_CHARS {
            break;
        }
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

fn banner_info(b: &Banner<'_>) -> BannerInfo {
    BannerInfo {
        raw: escape(b.raw),
        proto_version: escape(b.proto_version),
        software_version: escape(b.software_version),
        comments: b.comments.map(escape),
        ssh1_only: b.is_ssh1_only(),
    }
}

/// Per-flow SSH state: banner and KEXINIT of each direction. About 150
/// bytes while idle; a buffer is allocated only for a line or packet split
/// across chunks, capped at [`MAX_KEXINIT_PACKET`], and freed once the
/// direction's KEXINIT is parsed.
#[derive(Debug, Default)]
pub struct SshState {
    client: DirState,
    server: DirState,
    event: Option<SshEvent>,
    verdict: Option<Verdict>,
}

impl SshState {
    /// A fresh state for a new flow.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next in-order chunk of the TCP stream in direction `dir`.
    /// Returns `NotMine` when the client does not open with `SSH-` or the
    /// server sends something that is not a banner or pre-banner text;
    /// `Done` once both KEXINITs (or SSH-1 banners) were seen, or both
    /// directions stopped being parseable.
    pub fn feed(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        if let Some(v) = self.verdict {
            return v;
        }
        let (d, side) = match dir {
            Direction::ToServer => (&mut self.client, Side::Client),
            Direction::ToClient => (&mut self.server, Side::Server),
        };
        let had = (d.banner.is_some(), d.hassh.is_some());
        if d.feed(data, side) == Outcome::NotSsh {
            self.client.release();
            self.server.release();
            self.event = None;
            self.verdict = Some(Verdict::NotMine);
            return Verdict::NotMine;
        }
        if had != (d.banner.is_some(), d.hassh.is_some()) {
            self.rebuild_event();
        }
        let both_banners = self.client.banner.is_some() && self.server.banner.is_some();
        let ssh1 = [&self.client, &self.server]
            .iter()
            .any(|d| d.banner.as_ref().is_some_and(|b| b.ssh1_only));
        if (both_banners && ssh1) || (self.client.terminal() && self.server.terminal()) {
            self.client.release();
            self.server.release();
            self.verdict = Some(Verdict::Done);
            return Verdict::Done;
        }
        Verdict::NeedMore
    }

    fn rebuild_event(&mut self) {
        let peer = |d: &DirState| {
            d.banner.as_ref().map(|b| SshPeer {
                proto_version: b.proto_version.clone(),
                software_version: b.software_version.clone(),
                comments: b.comments.clone(),
                hassh: d.hassh.clone(),
            })
        };
        self.event = Some(SshEvent {
            client: peer(&self.client),
            server: peer(&self.server),
        });
    }

    /// The EVE `ssh` object, once at least one banner was seen.
    pub fn event(&self) -> Option<&SshEvent> {
        self.event.as_ref()
    }

    /// The full banner sent by `dir`'s sender (`ToServer` = client).
    pub fn banner(&self, dir: Direction) -> Option<&BannerInfo> {
        self.dir(dir).banner.as_ref()
    }

    /// Every KEXINIT name-list sent by `dir`'s sender.
    pub fn kexinit(&self, dir: Direction) -> Option<&KexInitInfo> {
        self.dir(dir).kexinit.as_deref()
    }

    /// The protocol version both sides will use: `2.0` when both speak
    /// SSH-2, `1` when either side is SSH-1 only; `None` until both banners
    /// were seen.
    pub fn protocol_version(&self) -> Option<&'static str> {
        let c = self.client.banner.as_ref()?;
        let s = self.server.banner.as_ref()?;
        Some(if c.ssh1_only || s.ssh1_only {
            "1"
        } else {
            "2.0"
        })
    }

    /// The algorithms the two KEXINITs negotiate, once both were seen.
    pub fn negotiated(&self) -> Option<Negotiated<'_>> {
        let c = self.client.kexinit.as_deref()?;
        let s = self.server.kexinit.as_deref()?;
        Some(Negotiated {
            kex: pick(&c.kex_algorithms, &s.kex_algorithms),
            host_key: pick(&c.server_host_key_algorithms, &s.server_host_key_algorithms),
            encryption_c2s: pick(&c.encryption_c2s, &s.encryption_c2s),
            encryption_s2c: pick(&c.encryption_s2c, &s.encryption_s2c),
            mac_c2s: pick(&c.mac_c2s, &s.mac_c2s),
            mac_s2c: pick(&c.mac_s2c, &s.mac_s2c),
            compression_c2s: pick(&c.compression_c2s, &s.compression_c2s),
            compression_s2c: pick(&c.compression_s2c, &s.compression_s2c),
        })
    }

    /// Bytes discarded in `dir` because a packet was malformed or larger
    /// than [`MAX_KEXINIT_PACKET`]; non-zero means the HASSH may be missing
    /// for a reason worth logging.
    pub fn dropped_bytes(&self, dir: Direction) -> u64 {
        self.dir(dir).dropped_bytes
    }

    fn dir(&self, dir: Direction) -> &DirState {
        match dir {
            Direction::ToServer => &self.client,
            Direction::ToClient => &self.server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testutil::{C, S, spread, unhex, xorshift};

    // Real bytes: ssh-r.pcap (FoxIO ja4 corpus), tcp.stream 1, the first five
    // payload segments in capture order (client 192.168.1.197:46394 ->
    // server 44.212.59.210:22). The client KEXINIT spans two segments.
    const CLIENT_BANNER: &str = "5353482d322e302d4f70656e5353485f372e340d0a";
    const SERVER_BANNER: &str = "5353482d322e302d4f70656e5353485f382e370d0a";
    const CLIENT_KEXINIT_PART1: &str = concat!(
        "000005d40b141fa3cb9dd44b716f3acac8bfe24aba270000014b637572766532353531392d736861",
        "3235362c637572766532353531392d736861323536406c69627373682e6f72672c656364682d7368",
        "61322d6e697374703235362c656364682d736861322d6e697374703338342c656364682d73686132",
        "2d6e697374703532312c6469666669652d68656c6c6d616e2d67726f75702d65786368616e67652d",
        "7368613235362c6469666669652d68656c6c6d616e2d67726f757031362d7368613531322c646966",
        "6669652d68656c6c6d616e2d67726f757031382d7368613531322c6469666669652d68656c6c6d61",
        "6e2d67726f75702d65786368616e67652d736861312c6469666669652d68656c6c6d616e2d67726f",
        "757031342d7368613235362c6469666669652d68656c6c6d616e2d67726f757031342d736861312c",
        "6469666669652d68656c6c6d616e2d67726f7570312d736861312c6578742d696e666f2d63000001",
        "4765636473612d736861322d6e697374703235362d636572742d763031406f70656e7373682e636f",
        "6d2c65636473612d736861322d6e697374703338342d636572742d763031406f70656e7373682e63",
        "6f6d2c65636473612d736861322d6e697374703532312d636572742d763031406f70656e7373682e",
        "636f6d2c7373682d656432353531392d636572742d763031406f70656e7373682e636f6d2c737368",
        "2d7273612d636572742d763031406f70656e7373682e636f6d2c7373682d6473732d636572742d76",
        "3031406f70656e7373682e636f6d2c65636473612d736861322d6e697374703235362c6563647361",
        "2d736861322d6e697374703338342c65636473612d736861322d6e697374703532312c7373682d65",
        "6432353531392c7273612d736861322d3531322c7273612d736861322d3235362c7373682d727361",
        "2c7373682d6473730000008d63686163686132302d706f6c7931333035406f70656e7373682e636f",
        "6d2c6165733132382d6374722c6165733139322d6374722c6165733235362d6374722c6165733132",
        "382d67636d406f70656e7373682e636f6d2c6165733235362d67636d406f70656e7373682e636f6d",
        "2c6165733132382d6362632c6165733139322d6362632c6165733235362d6362630000008d636861",
        "63686132302d706f6c7931333035406f70656e7373682e636f6d2c6165733132382d6374722c6165",
        "733139322d6374722c6165733235362d6374722c6165733132382d67636d406f70656e7373682e63",
        "6f6d2c6165733235362d67636d406f70656e7373682e636f6d2c6165733132382d6362632c616573",
        "3139322d6362632c6165733235362d636263000000d5756d61632d36342d65746d406f70656e7373",
        "682e636f6d2c756d61632d3132382d65746d406f70656e7373682e636f6d2c686d61632d73686132",
        "2d3235362d65746d406f70656e7373682e636f6d2c686d61632d736861322d3531322d65746d406f",
        "70656e7373682e636f6d2c686d61632d736861312d65746d406f70656e7373682e636f6d2c756d61",
        "632d3634406f70656e7373682e636f6d2c756d61632d313238406f70656e7373682e636f6d2c686d",
        "61632d736861322d3235362c686d61632d736861322d3531322c686d61632d73686131000000d575",
        "6d61632d36342d65746d406f70656e7373682e636f6d2c756d61632d3132382d65746d406f70656e",
        "7373682e636f6d2c686d61632d736861322d3235362d65746d406f70656e7373682e636f6d2c686d",
        "61632d736861322d3531322d65746d406f70656e7373682e636f6d2c686d61632d736861312d6574",
        "6d406f70656e7373682e636f6d2c756d61632d3634406f70656e7373682e636f6d2c756d61632d31",
        "3238406f70656e7373682e636f6d2c686d61632d736861322d3235362c686d61632d736861322d35",
        "31322c686d61632d736861310000001a6e6f6e652c7a6c6962406f70656e7373682e636f6d2c7a6c",
        "69620000001a6e6f",
    );
    const CLIENT_KEXINIT_PART2: &str = concat!(
        "6e652c7a6c6962406f70656e7373682e636f6d2c7a6c696200000000000000000000000000000000",
        "0000000000000000",
    );
    const SERVER_KEXINIT: &str = concat!(
        "0000038c0a14da095d2088e3e36732652c3c46e22d89000000e6637572766532353531392d736861",
        "3235362c637572766532353531392d736861323536406c69627373682e6f72672c656364682d7368",
        "61322d6e697374703235362c656364682d736861322d6e697374703338342c656364682d73686132",
        "2d6e697374703532312c6469666669652d68656c6c6d616e2d67726f75702d65786368616e67652d",
        "7368613235362c6469666669652d68656c6c6d616e2d67726f757031342d7368613235362c646966",
        "6669652d68656c6c6d616e2d67726f757031362d7368613531322c6469666669652d68656c6c6d61",
        "6e2d67726f757031382d7368613531320000001f65636473612d736861322d6e697374703235362c",
        "7373682d65643235353139000000616165733235362d67636d406f70656e7373682e636f6d2c6368",
        "6163686132302d706f6c7931333035406f70656e7373682e636f6d2c6165733235362d6374722c61",
        "65733132382d67636d406f70656e7373682e636f6d2c6165733132382d6374720000006161657332",
        "35362d67636d406f70656e7373682e636f6d2c63686163686132302d706f6c7931333035406f7065",
        "6e7373682e636f6d2c6165733235362d6374722c6165733132382d67636d406f70656e7373682e63",
        "6f6d2c6165733132382d637472000000a9686d61632d736861322d3235362d65746d406f70656e73",
        "73682e636f6d2c686d61632d736861312d65746d406f70656e7373682e636f6d2c756d61632d3132",
        "382d65746d406f70656e7373682e636f6d2c686d61632d736861322d3531322d65746d406f70656e",
        "7373682e636f6d2c686d61632d736861322d3235362c686d61632d736861312c756d61632d313238",
        "406f70656e7373682e636f6d2c686d61632d736861322d353132000000a9686d61632d736861322d",
        "3235362d65746d406f70656e7373682e636f6d2c686d61632d736861312d65746d406f70656e7373",
        "682e636f6d2c756d61632d3132382d65746d406f70656e7373682e636f6d2c686d61632d73686132",
        "2d3531322d65746d406f70656e7373682e636f6d2c686d61632d736861322d3235362c686d61632d",
        "736861312c756d61632d313238406f70656e7373682e636f6d2c686d61632d736861322d35313200",
        "0000156e6f6e652c7a6c6962406f70656e7373682e636f6d000000156e6f6e652c7a6c6962406f70",
        "656e7373682e636f6d0000000000000000000000000000000000000000000000",
    );

    #[test]
    fn real_flow_split_kexinit() {
        let mut st = SshState::new();
        assert_eq!(st.feed(C, &unhex(CLIENT_BANNER)), Verdict::NeedMore);
        assert_eq!(st.feed(S, &unhex(SERVER_BANNER)), Verdict::NeedMore);
        assert_eq!(st.feed(C, &unhex(CLIENT_KEXINIT_PART1)), Verdict::NeedMore);
        assert_eq!(st.feed(C, &unhex(CLIENT_KEXINIT_PART2)), Verdict::NeedMore);
        assert_eq!(st.feed(S, &unhex(SERVER_KEXINIT)), Verdict::Done);
        let ev = st.event().unwrap();
        let client = ev.client.as_ref().unwrap();
        let server = ev.server.as_ref().unwrap();
        assert_eq!(client.software_version, "OpenSSH_7.4");
        assert_eq!(server.software_version, "OpenSSH_8.7");
        // Reference values from hassh.jsonl (tshark 4.0.17).
        assert_eq!(
            client.hassh.as_ref().unwrap().hash,
            "ec9ea89c70f5fc71cf61061bff5e4740"
        );
        assert_eq!(
            server.hassh.as_ref().unwrap().hash,
            "2307c390c7c9aba5b4c9519e72347f34"
        );
        assert_eq!(st.protocol_version(), Some("2.0"));
        let n = st.negotiated().unwrap();
        assert_eq!(n.kex, Some("curve25519-sha256"));
        assert_eq!(n.encryption_c2s, Some("chacha20-poly1305@openssh.com"));
        assert!(st.kexinit(C).unwrap().kex_algorithms.contains("ext-info-c"));
        let json = serde_json::to_value(ev).unwrap();
        assert_eq!(json["client"]["proto_version"], "2.0");
        assert!(json["server"]["hassh"]["string"].is_string());
    }

    #[test]
    fn byte_at_a_time_gives_same_result() {
        let mut st = SshState::new();
        let mut v = Verdict::NeedMore;
        for (dir, hex) in [
            (C, CLIENT_BANNER),
            (S, SERVER_BANNER),
            (C, CLIENT_KEXINIT_PART1),
            (C, CLIENT_KEXINIT_PART2),
            (S, SERVER_KEXINIT),
        ] {
            for b in unhex(hex) {
                v = st.feed(dir, &[b]);
            }
        }
        assert_eq!(v, Verdict::Done);
        let ev = st.event().unwrap();
        assert_eq!(
            ev.client.as_ref().unwrap().hassh.as_ref().unwrap().hash,
            "ec9ea89c70f5fc71cf61061bff5e4740"
        );
    }

    #[test]
    fn ssh1_flow_done_after_banners() {
        // sshv1.pcap tcp.stream 0: server then client send "SSH-1.5-1.2.26\n"
        // (bare LF, no CR).
        let mut st = SshState::new();
        let banner = unhex("5353482d312e352d312e322e32360a");
        assert_eq!(st.feed(S, &banner), Verdict::NeedMore);
        assert_eq!(st.feed(C, &banner), Verdict::Done);
        assert_eq!(st.protocol_version(), Some("1"));
        let ev = st.event().unwrap();
        assert_eq!(ev.server.as_ref().unwrap().proto_version, "1.5");
        assert!(ev.server.as_ref().unwrap().hassh.is_none());
    }

    #[test]
    fn not_mine_cases() {
        let mut st = SshState::new();
        assert_eq!(st.feed(C, b"GET / HTTP/1.1\r\n"), Verdict::NotMine);
        assert!(st.event().is_none());
        // Split "SS" + "X": rejected on the third byte.
        let mut st = SshState::new();
        assert_eq!(st.feed(C, b"SS"), Verdict::NeedMore);
        assert_eq!(st.feed(C, b"X"), Verdict::NotMine);
        // A banner line longer than 255 bytes (RFC 4253 4.2).
        let mut st = SshState::new();
        let mut long = b"SSH-2.0-".to_vec();
        long.resize(300, b'a');
        assert_eq!(st.feed(C, &long), Verdict::NotMine);
        // Binary server greeting (e.g. a TLS record) with a newline in it.
        let mut st = SshState::new();
        assert_eq!(
            st.feed(S, &[0x16, 0x03, 0x01, 0x00, b'\n']),
            Verdict::NotMine
        );
    }

    #[test]
    fn server_preamble_lines_allowed() {
        // RFC 4253 4.2: the server MAY send other lines before its banner.
        let mut st = SshState::new();
        let v = st.feed(
            S,
            b"Welcome\r\nauthorised use only\nSSH-2.0-Foo_1.0 bar\r\n",
        );
        assert_eq!(v, Verdict::NeedMore);
        let b = st.banner(S).unwrap();
        assert_eq!(b.software_version, "Foo_1.0");
        assert_eq!(b.comments.as_deref(), Some("bar"));
    }

    #[test]
    fn oversized_packet_fails_direction() {
        let mut st = SshState::new();
        st.feed(C, b"SSH-2.0-x\r\n");
        assert_eq!(
            st.feed(C, &[0x00, 0x10, 0x00, 0x00, 4, 20]),
            Verdict::NeedMore
        );
        assert_eq!(st.dropped_bytes(C), 6);
        st.feed(S, b"SSH-2.0-y\r\n");
        assert_eq!(st.feed(S, &[0, 0, 0, 1]), Verdict::Done);
    }

    #[test]
    fn ssh199_server_with_ssh2_client_waits_for_kexinit() {
        // gre-sample.pcap tcp.stream 0 (inside GRE): server banner
        // "SSH-1.99-OpenSSH_3.1p1\n", client banner "SSH-2.0-OpenSSH_3.6.1p1\n".
        let mut st = SshState::new();
        assert_eq!(
            st.feed(S, &unhex("5353482d312e39392d4f70656e5353485f332e3170310a")),
            Verdict::NeedMore
        );
        assert_eq!(
            st.feed(
                C,
                &unhex("5353482d322e302d4f70656e5353485f332e362e3170310a")
            ),
            Verdict::NeedMore
        );
        assert_eq!(st.protocol_version(), Some("2.0"));
        assert_eq!(st.banner(S).unwrap().proto_version, "1.99");
        assert_eq!(st.banner(C).unwrap().software_version, "OpenSSH_3.6.1p1");
    }

    #[test]
    fn random_streams_never_panic() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for round in 0..2000 {
            let mut st = SshState::new();
            for step in 0..12 {
                x = xorshift(x);
                let mut chunk: Vec<u8> = spread(x, (x % 300) as usize);
                if step == 0 && round % 2 == 0 {
                    chunk.splice(0..0, b"SSH-2.0-r\r\n".iter().copied());
                }
                let dir = if x & 4 == 0 { C } else { S };
                let _ = st.feed(dir, &chunk);
                let _ = st.event();
                let _ = st.negotiated();
            }
        }
    }
}
