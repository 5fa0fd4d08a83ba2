//! Per-flow DNS state: reads UDP datagrams or length-prefixed TCP messages,
//! keeps the first query and first response, and builds the event.

use super::event::{DnsAnswer, DnsEvent, DnsQuery};
use super::parser::{Header, Message, RData, RrType};
use super::verdict::{Direction, Verdict};

/// Questions and answers stored per message in the event; more are counted
/// in [`DnsFacts`] but not kept, so a huge response cannot bloat a record.
pub const MAX_STORED_RECORDS: usize = 16;

/// DNS messages examined per flow before giving up (TCP connections may
/// carry many; the first exchange is all the record needs).
pub const MAX_MESSAGES: u16 = 8;

/// How the flow carries DNS: decides whether messages have the 2-byte
/// length prefix of RFC 1035 section 4.2.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    /// One datagram is one message.
    #[default]
    Udp,
    /// Each message is preceded by a 2-byte big-endian length.
    Tcp,
}

/// A small set of record types, for tunnel heuristics (TXT, NULL, CNAME...
/// queried by tunnels). Fixed size; types beyond the capacity set
/// `overflow` instead of being stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RrTypeSet {
    types: [u16; 8],
    len: u8,
    /// More distinct types were seen than fit.
    pub overflow: bool,
}

impl RrTypeSet {
    /// Adds a type (no-op if present).
    pub fn insert(&mut self, t: RrType) {
        if self.contains(t) {
            return;
        }
        match self.types.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = t.0;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// Whether `t` was seen.
    pub fn contains(&self, t: RrType) -> bool {
        self.iter().any(|x| x == t)
    }

    /// The types seen, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = RrType> + '_ {
        self.types
            .iter()
            .take(usize::from(self.len))
            .map(|&t| RrType(t))
    }
}

/// Facts about one message that DNS-tunnel detectors read; kept out of the
/// event because they are derived numbers, not protocol fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DnsFacts {
    /// Longest label among all question and stored answer names.
    pub longest_label: u8,
    /// Presentation length of the first question name.
    pub qname_len: u16,
    /// Label count of the first question name.
    pub qname_labels: u8,
    /// Question and answer record types seen.
    pub rrtypes: RrTypeSet,
    /// Questions in the message (header count).
    pub qdcount: u16,
    /// Answers in the message (header count).
    pub ancount: u16,
    /// Total message size in bytes (long TXT/NULL answers are a tunnel sign).
    pub size: u16,
}

/// One parsed message, stored owned until the flow record is written.
#[derive(Clone, Debug)]
struct Stored {
    event: DnsEvent,
    facts: DnsFacts,
}

fn store(m: &Message<'_>, size: usize) -> Stored {
    let h = m.header;
    let mut facts = DnsFacts {
        qdcount: h.qdcount,
        ancount: h.ancount,
        size: size.min(usize::from(u16::MAX)) as u16,
        ..DnsFacts::default()
    };
    let mut queries = Vec::new();
    for (i, q) in m.questions().enumerate() {
        let s = q.name.stats();
        if i == 0 {
            facts.qname_len = s.len;
            facts.qname_labels = s.labels;
        }
        facts.longest_label = facts.longest_label.max(s.longest_label);
        facts.rrtypes.insert(q.qtype);
        if queries.len() < MAX_STORED_RECORDS {
            queries.push(DnsQuery {
                rrname: q.name.to_escaped(),
                rrtype: q.qtype.to_string(),
            });
        }
    }
    let mut answers = Vec::new();
    for r in m.answers().take(MAX_STORED_RECORDS) {
        facts.longest_label = facts.longest_label.max(r.name.stats().longest_label);
        facts.rrtypes.insert(r.rtype);
        let rdata = match r.data() {
            RData::A(a) => Some(a.to_string()),
            RData::Aaaa(a) => Some(a.to_string()),
            RData::Name(n) => Some(n.to_escaped()),
            RData::Other => None,
        };
        answers.push(DnsAnswer {
            rrname: r.name.to_escaped(),
            rrtype: r.rtype.to_string(),
            ttl: r.ttl,
            rdata,
        });
    }
    let f = h.flags;
    Stored {
        event: DnsEvent {
            version: 3,
            kind: if f.qr() { "response" } else { "request" },
            id: h.id,
            flags: format!("{:x}", f.0),
            qr: f.qr(),
            aa: f.aa(),
            tc: f.tc(),
            rd: f.rd(),
            ra: f.ra(),
            z: f.z(),
            opcode: f.opcode(),
            rcode: f.rcode().to_string(),
            queries,
            answers,
            request_seen: None,
        },
        facts,
    }
}

/// Reassembly of one TCP direction: the 2-byte length, then the message.
/// The buffer is allocated only for a message split across chunks and is
/// bounded by the 16-bit length (64 KiB).
#[derive(Debug, Default)]
struct TcpDir {
    buf: Vec<u8>,
}

/// Per-flow DNS state.
#[derive(Debug, Default)]
pub struct DnsState {
    transport: Transport,
    tcp: [TcpDir; 2],
    query: Option<Box<Stored>>,
    response: Option<Box<Stored>>,
    event: Option<DnsEvent>,
    messages: u16,
    bad_messages: u16,
    dropped_bytes: u64,
    verdict: Option<Verdict>,
}

impl DnsState {
    /// A state for a UDP flow (the common case): each `feed` is one
    /// datagram.
    pub fn new() -> Self {
        Self::default()
    }

    /// A state for a TCP flow: `feed` gets stream chunks carrying
    /// length-prefixed messages.
    pub fn new_tcp() -> Self {
        Self::with_transport(Transport::Tcp)
    }

    /// A state for the given transport.
    pub fn with_transport(transport: Transport) -> Self {
        DnsState {
            transport,
            ..Self::default()
        }
    }

    /// Feeds one UDP datagram payload, or the next in-order TCP chunk.
    /// `NotMine` when the first message does not parse as DNS; `Done` once
    /// a query and a response were seen (or [`MAX_MESSAGES`] examined).
    pub fn feed(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        if let Some(v) = self.verdict {
            return v;
        }
        let v = match self.transport {
            Transport::Udp => self.on_message(data),
            Transport::Tcp => self.feed_tcp(dir, data),
        };
        if v != Verdict::NeedMore {
            self.tcp = Default::default();
            self.verdict = Some(v);
            if v == Verdict::NotMine {
                self.query = None;
                self.response = None;
                self.event = None;
            }
        }
        v
    }

    fn feed_tcp(&mut self, dir: Direction, mut data: &[u8]) -> Verdict {
        let idx = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        if self.messages == 0 {
            // Reject non-DNS streams from the first 14 bytes (length prefix
            // plus header) instead of buffering up to 64 KiB of them.
            let mut probe = [0u8; 14];
            let have = self.tcp[idx].buf.len().min(14);
            let n = (14 - have).min(data.len());
            probe[..have].copy_from_slice(&self.tcp[idx].buf[..have]);
            probe[have..have + n].copy_from_slice(&data[..n]);
            if have + n == 14 && !Header::parse(&probe[2..]).is_ok_and(|h| h.plausible()) {
                return Verdict::NotMine;
            }
        }
        while !data.is_empty() {
            let buffered = self.tcp[idx].buf.len();
            if buffered == 0 {
                // Fast path: whole message in this chunk, parse in place.
                if let Some(len) = data
                    .get(..2)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                {
                    if len < 12 && self.messages == 0 {
                        return Verdict::NotMine;
                    }
                    if let Some(msg) = data.get(2..2 + len) {
                        let v = self.on_message(msg);
                        if v != Verdict::NeedMore {
                            return v;
                        }
                        data = data.get(2 + len..).unwrap_or_default();
                        continue;
                    }
                }
            }
            let tcp = &mut self.tcp[idx];
            if tcp.buf.len() < 2 {
                let n = (2 - tcp.buf.len()).min(data.len());
                tcp.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
                if tcp.buf.len() < 2 {
                    break;
                }
            }
            let need = 2 + usize::from(u16::from_be_bytes([tcp.buf[0], tcp.buf[1]]));
            if need < 14 && self.messages == 0 {
                return Verdict::NotMine;
            }
            tcp.buf.reserve_exact(need - tcp.buf.len());
            let n = (need - tcp.buf.len()).min(data.len());
            tcp.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if tcp.buf.len() == need {
                let whole = std::mem::take(&mut tcp.buf);
                let v = self.on_message(whole.get(2..).unwrap_or_default());
                if v != Verdict::NeedMore {
                    return v;
                }
            }
        }
        Verdict::NeedMore
    }

    fn on_message(&mut self, msg: &[u8]) -> Verdict {
        self.messages = self.messages.saturating_add(1);
        match Message::parse(msg) {
            Err(_) => {
                if self.query.is_none() && self.response.is_none() {
                    return Verdict::NotMine;
                }
                self.bad_messages = self.bad_messages.saturating_add(1);
                self.dropped_bytes += msg.len() as u64;
            }
            Ok(m) => {
                let slot = if m.header.flags.qr() {
                    &mut self.response
                } else {
                    &mut self.query
                };
                if slot.is_none() {
                    *slot = Some(Box::new(store(&m, msg.len())));
                    self.rebuild_event();
                }
            }
        }
        if (self.query.is_some() && self.response.is_some()) || self.messages >= MAX_MESSAGES {
            Verdict::Done
        } else {
            Verdict::NeedMore
        }
    }

    fn rebuild_event(&mut self) {
        self.event = match (&self.query, &self.response) {
            (_, Some(r)) => {
                let mut ev = r.event.clone();
                if ev.queries.is_empty()
                    && let Some(q) = &self.query
                {
                    ev.queries = q.event.queries.clone();
                }
                ev.request_seen = Some(self.query.is_some());
                Some(ev)
            }
            (Some(q), None) => Some(q.event.clone()),
            (None, None) => None,
        };
    }

    /// The EVE `dns` object (see the type for how query and response merge).
    pub fn event(&self) -> Option<&DnsEvent> {
        self.event.as_ref()
    }

    /// Tunnel-detection facts of the first query, if one was seen.
    pub fn query_facts(&self) -> Option<&DnsFacts> {
        self.query.as_deref().map(|s| &s.facts)
    }

    /// Tunnel-detection facts of the first response, if one was seen.
    pub fn response_facts(&self) -> Option<&DnsFacts> {
        self.response.as_deref().map(|s| &s.facts)
    }

    /// Messages that failed to parse after the flow was recognised as DNS,
    /// and their total bytes: malformed traffic worth a counter.
    pub fn bad_messages(&self) -> (u16, u64) {
        (self.bad_messages, self.dropped_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests as p;
    use super::*;
    use crate::dissect::testutil::{C, S, spread, unhex, xorshift};

    #[test]
    fn udp_query_then_response() {
        let mut st = DnsState::new();
        assert_eq!(st.feed(C, &unhex(p::CNAME_QUERY)), Verdict::NeedMore);
        assert_eq!(st.event().unwrap().kind, "request");
        assert_eq!(st.feed(S, &unhex(p::CNAME_RESPONSE)), Verdict::Done);
        let ev = st.event().unwrap();
        let json = serde_json::to_value(ev).unwrap();
        assert_eq!(json["version"], 3);
        assert_eq!(json["type"], "response");
        assert_eq!(json["flags"], "8180");
        assert_eq!(json["qr"], true);
        assert_eq!(json["rd"], true);
        assert!(json.get("aa").is_none());
        assert_eq!(json["rcode"], "NOERROR");
        assert_eq!(
            json["queries"][0]["rrname"],
            "conn-service-eu-04.allawnos.com"
        );
        assert_eq!(json["queries"][0]["rrtype"], "A");
        assert_eq!(json["answers"][0]["rrtype"], "CNAME");
        assert_eq!(json["answers"][1]["rdata"], "a1947.dscd.akamai.net");
        assert_eq!(json["answers"][2]["rdata"], "92.123.101.121");
        assert_eq!(json["request_seen"], true);
        let f = st.query_facts().unwrap();
        assert_eq!(f.qname_len, 31);
        assert_eq!(f.qname_labels, 3);
        assert_eq!(f.longest_label, 18);
        assert!(st.response_facts().unwrap().rrtypes.contains(RrType::CNAME));
    }

    #[test]
    fn iodine_facts() {
        let mut st = DnsState::new();
        st.feed(C, &unhex(p::IODINE_QUERY));
        assert_eq!(st.feed(S, &unhex(p::IODINE_RESPONSE)), Verdict::Done);
        let ev = st.event().unwrap();
        assert_eq!(ev.queries[0].rrtype, "NULL");
        assert_eq!(ev.answers[0].rrtype, "NULL");
        assert!(ev.answers[0].rdata.is_none());
        assert!(st.response_facts().unwrap().rrtypes.contains(RrType::NULL));
    }

    #[test]
    fn response_only_and_not_mine() {
        let mut st = DnsState::new();
        assert_eq!(st.feed(S, &unhex(p::AAAA_RESPONSE)), Verdict::NeedMore);
        let ev = st.event().unwrap();
        assert_eq!(ev.request_seen, Some(false));
        assert_eq!(ev.queries[0].rrtype, "AAAA");
        let mut st = DnsState::new();
        assert_eq!(st.feed(C, b"GET / HTTP/1.1\r\n\r\n"), Verdict::NotMine);
        assert!(st.event().is_none());
        let mut st = DnsState::new_tcp();
        // TLS record + ClientHello header (RFC 8446 5.1, 4.1.2) on port 53:
        // its "DNS header" is a query with 0xfc03 answers.
        let hello = [
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a, 0x11, 0x22,
        ];
        assert_eq!(st.feed(C, &hello[..5]), Verdict::NeedMore);
        assert_eq!(st.feed(C, &hello[5..]), Verdict::NotMine);
    }

    #[test]
    fn tcp_framing_split_and_coalesced() {
        // The dns.pcap frame 4/5 messages framed as RFC 1035 4.2.2 TCP.
        let q = unhex(p::WHATSAPP_QUERY);
        let r = unhex(p::WHATSAPP_RESPONSE);
        let mut framed_q = (q.len() as u16).to_be_bytes().to_vec();
        framed_q.extend_from_slice(&q);
        let mut framed_r = (r.len() as u16).to_be_bytes().to_vec();
        framed_r.extend_from_slice(&r);
        // Query byte by byte.
        let mut st = DnsState::new_tcp();
        for b in &framed_q {
            assert_eq!(st.feed(C, std::slice::from_ref(b)), Verdict::NeedMore);
        }
        assert_eq!(st.event().unwrap().kind, "request");
        // Response split in two uneven chunks.
        assert_eq!(st.feed(S, &framed_r[..1]), Verdict::NeedMore);
        assert_eq!(st.feed(S, &framed_r[1..]), Verdict::Done);
        assert_eq!(st.event().unwrap().answers.len(), 8);
        // Both messages in one chunk (one direction, e.g. a pipelined test).
        let mut st = DnsState::new_tcp();
        let mut both = framed_q.clone();
        both.extend_from_slice(&framed_r);
        assert_eq!(st.feed(C, &both), Verdict::Done);
    }

    #[test]
    fn random_feeds_never_panic() {
        let mut x: u64 = 0xfeed_face_0123_4567;
        for round in 0..3000 {
            let mut st = if round % 2 == 0 {
                DnsState::new()
            } else {
                DnsState::new_tcp()
            };
            for _ in 0..8 {
                x = xorshift(x);
                let mut chunk: Vec<u8> = spread(x, (x % 200) as usize);
                if chunk.len() > 14 && x & 8 == 0 {
                    chunk[0] = 0;
                    chunk[4] = 0;
                    chunk[5] = 1;
                }
                let dir = if x & 4 == 0 { C } else { S };
                let _ = st.feed(dir, &chunk);
                let _ = st.event();
            }
        }
    }
}
