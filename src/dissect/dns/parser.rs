//! Pure, zero-copy DNS message parser (RFC 1035 section 4.1) with bounded
//! name decompression, and the allocation-free [`answers_for_cache`]
//! iterator the engine uses to name flows by the DNS query that preceded
//! them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest name on the wire (RFC 1035 section 3.1), length bytes included.
pub const MAX_NAME_WIRE_LEN: usize = 255;

/// Compression pointers followed while reading one name. With the length
/// bound this makes pointer loops harmless: a loop is cut off after this
/// many hops (a pointer-only loop adds no length, so the hop bound matters).
pub const MAX_POINTER_HOPS: usize = 64;

/// Questions accepted in one message; real queries carry one, and the
/// bound keeps the sanity check cheap on hostile datagrams.
pub const MAX_QDCOUNT: u16 = 16;

/// Answer records examined by [`answers_for_cache`] per response.
pub const MAX_CACHE_RECORDS: usize = 64;

/// CNAME chain length followed by [`answers_for_cache`].
pub const MAX_CNAME_CHAIN: usize = 8;

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// Shorter than the 12-byte header, or a field runs past the end.
    #[error("truncated DNS message")]
    Truncated,
    /// A name is too long, uses a reserved label type, or loops.
    #[error("malformed DNS name")]
    BadName,
    /// The header is implausible (opcode, counts, class).
    #[error("implausible DNS header")]
    Implausible,
}

/// The 16-bit flags word of the header (RFC 1035 4.1.1, RFC 2535 AD/CD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// QR: this is a response.
    pub fn qr(self) -> bool {
        self.0 & 0x8000 != 0
    }
    /// OPCODE (0 query, 1 inverse, 2 status, 4 notify, 5 update, 6 DSO).
    pub fn opcode(self) -> u8 {
        ((self.0 >> 11) & 0xf) as u8
    }
    /// AA: authoritative answer.
    pub fn aa(self) -> bool {
        self.0 & 0x0400 != 0
    }
    /// TC: truncated (the client should retry over TCP).
    pub fn tc(self) -> bool {
        self.0 & 0x0200 != 0
    }
    /// RD: recursion desired.
    pub fn rd(self) -> bool {
        self.0 & 0x0100 != 0
    }
    /// RA: recursion available.
    pub fn ra(self) -> bool {
        self.0 & 0x0080 != 0
    }
    /// Z: the reserved bit (0x0040).
    pub fn z(self) -> bool {
        self.0 & 0x0040 != 0
    }
    /// RCODE (low 4 bits; EDNS extended bits are not merged).
    pub fn rcode(self) -> Rcode {
        Rcode((self.0 & 0xf) as u8)
    }
}

/// A response code; unknown values are kept and printed as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rcode(pub u8);

impl Rcode {
    /// The IANA mnemonic Suricata prints (`NOERROR`, `NXDOMAIN`...).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSET",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            _ => return None,
        })
    }
}

/// Writes a code's mnemonic, or its number when it has none (how dig and
/// Suricata show unassigned codes).
fn name_or_number(
    f: &mut fmt::Formatter<'_>,
    name: Option<&str>,
    n: impl fmt::Display,
) -> fmt::Result {
    match name {
        Some(n) => f.write_str(n),
        None => write!(f, "{n}"),
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        name_or_number(f, self.name(), self.0)
    }
}

/// A resource record TYPE; unknown values are data, printed as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct RrType(pub u16);

impl RrType {
    /// IPv4 address.
    pub const A: RrType = RrType(1);
    /// Name server.
    pub const NS: RrType = RrType(2);
    /// Canonical name (alias).
    pub const CNAME: RrType = RrType(5);
    /// Null record (iodine's favourite tunnel carrier).
    pub const NULL: RrType = RrType(10);
    /// Domain name pointer.
    pub const PTR: RrType = RrType(12);
    /// Text record.
    pub const TXT: RrType = RrType(16);
    /// IPv6 address.
    pub const AAAA: RrType = RrType(28);

    /// The mnemonic Suricata prints for this type, if it has one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "A",
            2 => "NS",
            3 => "MD",
            4 => "MF",
            5 => "CNAME",
            6 => "SOA",
            7 => "MB",
            8 => "MG",
            9 => "MR",
            10 => "NULL",
            11 => "WKS",
            12 => "PTR",
            13 => "HINFO",
            14 => "MINFO",
            15 => "MX",
            16 => "TXT",
            17 => "RP",
            18 => "AFSDB",
            19 => "X25",
            20 => "ISDN",
            21 => "RT",
            22 => "NSAP",
            23 => "NSAPPTR",
            24 => "SIG",
            25 => "KEY",
            26 => "PX",
            27 => "GPOS",
            28 => "AAAA",
            29 => "LOC",
            30 => "NXT",
            33 => "SRV",
            34 => "ATMA",
            35 => "NAPTR",
            36 => "KX",
            37 => "CERT",
            38 => "A6",
            39 => "DNAME",
            41 => "OPT",
            42 => "APL",
            43 => "DS",
            44 => "SSHFP",
            45 => "IPSECKEY",
            46 => "RRSIG",
            47 => "NSEC",
            48 => "DNSKEY",
            49 => "DHCID",
            50 => "NSEC3",
            51 => "NSEC3PARAM",
            52 => "TLSA",
            55 => "HIP",
            59 => "CDS",
            60 => "CDNSKEY",
            64 => "SVCB",
            65 => "HTTPS",
            99 => "SPF",
            249 => "TKEY",
            250 => "TSIG",
            251 => "IXFR",
            252 => "AXFR",
            253 => "MAILB",
            254 => "MAILA",
            255 => "ANY",
            256 => "URI",
            257 => "CAA",
            _ => return None,
        })
    }
}

impl fmt::Display for RrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        name_or_number(f, self.name(), self.0)
    }
}

/// The fixed 12-byte header (RFC 1035 section 4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// Transaction ID.
    pub id: u16,
    /// Flags word.
    pub flags: Flags,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

fn be16(msg: &[u8], at: usize) -> Option<u16> {
    let b: [u8; 2] = msg.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(b))
}

fn be32(msg: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = msg.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

impl Header {
    /// Header sanity used to reject non-DNS traffic early (also from the
    /// first 12 bytes of a TCP message, before the rest arrives): a known
    /// opcode; 1..=[`MAX_QDCOUNT`] questions (or none in a response with
    /// answers, as mDNS sends); a standard query (QR=0, opcode 0) with no
    /// answer or authority records and at most 4 additional ones.
    pub fn plausible(&self) -> bool {
        let f = self.flags;
        if !matches!(f.opcode(), 0 | 1 | 2 | 4 | 5 | 6) {
            return false;
        }
        let q = self.qdcount;
        if q > MAX_QDCOUNT || (q == 0 && !(f.qr() && self.ancount > 0)) {
            return false;
        }
        if !f.qr()
            && f.opcode() == 0
            && (self.ancount != 0 || self.nscount != 0 || self.arcount > 4)
        {
            return false;
        }
        true
    }

    /// Reads the header at the start of `msg`.
    pub fn parse(msg: &[u8]) -> Result<Header, DnsError> {
        let f = |i| be16(msg, i).ok_or(DnsError::Truncated);
        Ok(Header {
            id: f(0)?,
            flags: Flags(f(2)?),
            qdcount: f(4)?,
            ancount: f(6)?,
            nscount: f(8)?,
            arcount: f(10)?,
        })
    }
}

/// Lengths describing one name, for DNS-tunnel heuristics (long random
/// labels, many labels, names near the 255-byte limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NameStats {
    /// Presentation length without the final dot (`a.bc` is 4).
    pub len: u16,
    /// Number of labels.
    pub labels: u8,
    /// Longest label, in bytes.
    pub longest_label: u8,
}

/// A domain name inside a message, as a view: labels are read on demand by
/// following compression pointers, so nothing is copied until a caller
/// asks for a string. Only constructed after validation, so walking it is
/// bounded.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
}

/// Walks a name from `start`, calling `label` for each label; returns the
/// offset just past the name's in-place bytes. Enforces the 255-byte and
/// pointer-hop bounds.
fn walk_name<'a>(
    msg: &'a [u8],
    start: usize,
    mut label: impl FnMut(&'a [u8]),
) -> Result<usize, DnsError> {
    let mut pos = start;
    let mut end = None;
    let mut hops = 0;
    let mut wire_len = 1usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok(end.unwrap_or(pos + 1));
            }
            0x00 => {
                let l = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(DnsError::Truncated)?;
                wire_len += usize::from(len) + 1;
                if wire_len > MAX_NAME_WIRE_LEN {
                    return Err(DnsError::BadName);
                }
                label(l);
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let ptr = be16(msg, pos).ok_or(DnsError::Truncated)? & 0x3fff;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(DnsError::BadName);
                }
                pos = usize::from(ptr);
            }
            // 0x40 (extended labels, RFC 6891 deprecated) and 0x80 reserved.
            _ => return Err(DnsError::BadName),
        }
    }
}

/// Reads and validates the name at `start`: the name view and the offset
/// just past its in-place bytes.
pub fn parse_name(msg: &[u8], start: usize) -> Result<(Name<'_>, usize), DnsError> {
    let end = walk_name(msg, start, |_| {})?;
    Ok((Name { msg, start }, end))
}

impl<'a> Name<'a> {
    /// Calls `f` for each label, in order. Bounded like the validation walk.
    pub fn for_each_label(&self, f: impl FnMut(&'a [u8])) {
        let _ = walk_name(self.msg, self.start, f);
    }

    /// Label-wise, ASCII case-insensitive equality (RFC 4343), without
    /// allocating: how CNAME chains are matched.
    pub fn eq_ignore_case(&self, other: &Name<'_>) -> bool {
        // Names are at most 127 labels; collect other's label slices into
        // a fixed array to compare in one pass each.
        let mut theirs: [&[u8]; 128] = [&[]; 128];
        let mut n = 0;
        other.for_each_label(|l| {
            if let Some(slot) = theirs.get_mut(n) {
                *slot = l;
            }
            n += 1;
        });
        let mut i = 0;
        let mut same = true;
        self.for_each_label(|l| {
            same = same && theirs.get(i).is_some_and(|t| t.eq_ignore_ascii_case(l));
            i += 1;
        });
        same && i == n
    }

    /// Length facts for tunnel detection.
    pub fn stats(&self) -> NameStats {
        let mut s = NameStats::default();
        let mut total = 0usize;
        self.for_each_label(|l| {
            s.labels = s.labels.saturating_add(1);
            s.longest_label = s.longest_label.max(l.len().min(255) as u8);
            total += l.len() + 1;
        });
        s.len = total.saturating_sub(1).min(usize::from(u16::MAX)) as u16;
        s
    }

    /// Appends the printable form: labels joined by `.`; bytes outside
    /// printable ASCII (and `\`) as `\xNN`; the root name as `<root>`.
    /// `lowercase` folds ASCII letters, for cache keys.
    pub fn write_escaped(&self, out: &mut String, lowercase: bool) {
        let mut first = true;
        self.for_each_label(|l| {
            if !first {
                out.push('.');
            }
            first = false;
            for &b in l {
                if (0x21..0x7f).contains(&b) && b != b'\\' {
                    let b = if lowercase { b.to_ascii_lowercase() } else { b };
                    out.push(char::from(b));
                } else {
                    out.push_str("\\x");
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xf)]));
                }
            }
        });
        if first {
            out.push_str("<root>");
        }
    }

    /// The printable form as a new string (see [`Name::write_escaped`]).
    pub fn to_escaped(&self) -> String {
        let mut s = String::new();
        self.write_escaped(&mut s, false);
        s
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// One entry of the question section.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    /// QNAME.
    pub name: Name<'a>,
    /// QTYPE.
    pub qtype: RrType,
    /// QCLASS (mDNS sets the top bit for unicast responses).
    pub qclass: u16,
}

/// One resource record.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// Owner name.
    pub name: Name<'a>,
    /// TYPE.
    pub rtype: RrType,
    /// CLASS.
    pub class: u16,
    /// TTL in seconds.
    pub ttl: u32,
    /// RDATA bytes.
    pub rdata: &'a [u8],
    msg: &'a [u8],
    rdata_start: usize,
}

/// Decoded RDATA for the types the sensor needs; others stay opaque.
#[derive(Clone, Copy, Debug)]
pub enum RData<'a> {
    /// A record address.
    A(Ipv4Addr),
    /// AAAA record address.
    Aaaa(Ipv6Addr),
    /// CNAME, NS or PTR target name.
    Name(Name<'a>),
    /// Anything else, or a malformed known type.
    Other,
}

impl<'a> Record<'a> {
    /// Decodes RDATA for A, AAAA, CNAME, NS and PTR.
    pub fn data(&self) -> RData<'a> {
        match self.rtype {
            RrType::A => <[u8; 4]>::try_from(self.rdata)
                .map(|b| RData::A(Ipv4Addr::from(b)))
                .unwrap_or(RData::Other),
            RrType::AAAA => <[u8; 16]>::try_from(self.rdata)
                .map(|b| RData::Aaaa(Ipv6Addr::from(b)))
                .unwrap_or(RData::Other),
            RrType::CNAME | RrType::NS | RrType::PTR => parse_name(self.msg, self.rdata_start)
                .map(|(n, _)| RData::Name(n))
                .unwrap_or(RData::Other),
            _ => RData::Other,
        }
    }
}

fn parse_question(msg: &[u8], pos: usize) -> Result<(Question<'_>, usize), DnsError> {
    let (name, p) = parse_name(msg, pos)?;
    let qtype = be16(msg, p).ok_or(DnsError::Truncated)?;
    let qclass = be16(msg, p + 2).ok_or(DnsError::Truncated)?;
    Ok((
        Question {
            name,
            qtype: RrType(qtype),
            qclass,
        },
        p + 4,
    ))
}

fn parse_record(msg: &[u8], pos: usize) -> Result<(Record<'_>, usize), DnsError> {
    let (name, p) = parse_name(msg, pos)?;
    let rtype = be16(msg, p).ok_or(DnsError::Truncated)?;
    let class = be16(msg, p + 2).ok_or(DnsError::Truncated)?;
    let ttl = be32(msg, p + 4).ok_or(DnsError::Truncated)?;
    let rdlen = usize::from(be16(msg, p + 8).ok_or(DnsError::Truncated)?);
    let rdata_start = p + 10;
    let rdata = msg
        .get(rdata_start..rdata_start + rdlen)
        .ok_or(DnsError::Truncated)?;
    Ok((
        Record {
            name,
            rtype: RrType(rtype),
            class,
            ttl,
            rdata,
            msg,
            rdata_start,
        },
        rdata_start + rdlen,
    ))
}

/// A header-validated message whose question section parsed; answers are
/// read lazily with [`Message::answers`].
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The header.
    pub header: Header,
    msg: &'a [u8],
    answers_start: usize,
}

fn plausible_class(class: u16) -> bool {
    // IN, CH, HS, NONE, ANY; mDNS sets 0x8000 (unicast-response / cache-flush).
    matches!(class & 0x7fff, 1 | 3 | 4 | 254 | 255)
}

impl<'a> Message<'a> {
    /// Parses the header and question section, rejecting what cannot be a
    /// DNS message: unknown opcode, no question (except a response with
    /// answers, as mDNS sends), more than [`MAX_QDCOUNT`] questions, a
    /// question that does not parse or has an implausible class. This is
    /// the dissector's "is it DNS at all" test.
    pub fn parse(msg: &'a [u8]) -> Result<Message<'a>, DnsError> {
        let header = Header::parse(msg)?;
        if !header.plausible() {
            return Err(DnsError::Implausible);
        }
        let mut pos = 12;
        for _ in 0..header.qdcount {
            let (question, next) = parse_question(msg, pos)?;
            if !plausible_class(question.qclass) {
                return Err(DnsError::Implausible);
            }
            pos = next;
        }
        Ok(Message {
            header,
            msg,
            answers_start: pos,
        })
    }

    /// The question section (already validated by [`Message::parse`]).
    pub fn questions(&self) -> impl Iterator<Item = Question<'a>> + 'a {
        let msg = self.msg;
        let mut pos = 12;
        let mut left = self.header.qdcount;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let (q, next) = parse_question(msg, pos).ok()?;
            pos = next;
            Some(q)
        })
    }

    /// The answer section; stops at the first record that does not parse.
    pub fn answers(&self) -> Records<'a> {
        Records {
            msg: self.msg,
            pos: self.answers_start,
            left: self.header.ancount,
        }
    }
}

/// Iterator over answer records; `Copy` so it can be restarted cheaply.
#[derive(Clone, Copy, Debug)]
pub struct Records<'a> {
    msg: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;
    fn next(&mut self) -> Option<Record<'a>> {
        if self.left == 0 {
            return None;
        }
        match parse_record(self.msg, self.pos) {
            Ok((r, next)) => {
                self.left -= 1;
                self.pos = next;
                Some(r)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }
}

/// One address learnt from a response: the engine caches it so a later
/// flow to `addr` can be labelled with the name the client asked for.
#[derive(Clone, Copy, Debug)]
pub struct CacheAnswer<'a> {
    /// The A/AAAA address.
    pub addr: IpAddr,
    /// The ORIGINAL question name (not the CNAME target that owns the A
    /// record); a view, call [`Name::write_escaped`] to materialise it.
    pub name: Name<'a>,
    /// The A/AAAA record's TTL.
    pub ttl: u32,
}

/// Iterator returned by [`answers_for_cache`]; holds only views and a fixed
/// array, so it never allocates.
#[derive(Clone, Debug)]
pub struct CacheAnswers<'a> {
    question: Option<Name<'a>>,
    chain: [Option<Name<'a>>; MAX_CNAME_CHAIN],
    records: Records<'a>,
    seen: usize,
}

impl<'a> Iterator for CacheAnswers<'a> {
    type Item = CacheAnswer<'a>;
    fn next(&mut self) -> Option<CacheAnswer<'a>> {
        let question = self.question?;
        loop {
            if self.seen >= MAX_CACHE_RECORDS {
                return None;
            }
            let r = self.records.next()?;
            self.seen += 1;
            if r.class & 0x7fff != 1 {
                continue;
            }
            let addr = match r.data() {
                RData::A(a) => IpAddr::V4(a),
                RData::Aaaa(a) => IpAddr::V6(a),
                _ => continue,
            };
            let owned_by_chain = self
                .chain
                .iter()
                .flatten()
                .any(|n| n.eq_ignore_case(&r.name));
            if owned_by_chain {
                return Some(CacheAnswer {
                    addr,
                    name: question,
                    ttl: r.ttl,
                });
            }
        }
    }
}

/// For a response datagram (or one TCP message without its length
/// prefix): the (address, question name, TTL) of every A/AAAA answer whose
/// owner is the first question's name or reachable from it through the
/// CNAME chain in the answer section (at most [`MAX_CNAME_CHAIN`] links,
/// [`MAX_CACHE_RECORDS`] records examined). Yields nothing for queries,
/// non-NOERROR responses and unparseable messages. Records owned by names
/// outside the chain are skipped: they would otherwise let one response
/// label arbitrary addresses with the queried name.
pub fn answers_for_cache(msg: &[u8]) -> CacheAnswers<'_> {
    let empty = CacheAnswers {
        question: None,
        chain: [None; MAX_CNAME_CHAIN],
        records: Records {
            msg,
            pos: 0,
            left: 0,
        },
        seen: 0,
    };
    let Ok(m) = Message::parse(msg) else {
        return empty;
    };
    if !m.header.flags.qr() || m.header.flags.rcode() != Rcode(0) {
        return empty;
    }
    let Some(q) = m.questions().next() else {
        return empty;
    };
    let mut chain = [None; MAX_CNAME_CHAIN];
    chain[0] = Some(q.name);
    let mut len = 1;
    // Each pass extends the chain by one link, whatever the record order.
    while len < MAX_CNAME_CHAIN {
        let Some(last) = chain[len - 1] else { break };
        let next = m
            .answers()
            .take(MAX_CACHE_RECORDS)
            .filter(|r| r.rtype == RrType::CNAME && r.name.eq_ignore_case(&last))
            .find_map(|r| match r.data() {
                RData::Name(n) => Some(n),
                _ => None,
            });
        match next {
            Some(n) if !chain.iter().flatten().any(|c| c.eq_ignore_case(&n)) => {
                chain[len] = Some(n);
                len += 1;
            }
            _ => break,
        }
    }
    CacheAnswers {
        question: Some(q.name),
        chain,
        records: m.answers(),
        seen: 0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dissect::testutil::{spread, unhex, xorshift};

    // Real UDP payloads (udp.payload) from the captures named below.
    // ndpi/pcap/dns.pcap frame 4: query A e7.whatsapp.net.
    pub(crate) const WHATSAPP_QUERY: &str =
        "784301000001000000000000026537087768617473617070036e65740000010001";
    // ndpi/pcap/dns.pcap frame 5: response, 8 A records.
    pub(crate) const WHATSAPP_RESPONSE: &str = concat!(
        "784381800001000800000000026537087768617473617070036e65740000010001c00c0001000100",
        "0001eb0004a92ddbebc00c00010001000001eb0004a92f288ec00c00010001000001eb0004a92df8",
        "79c00c00010001000001eb00046ca8b0eac00c00010001000001eb0004a92df8bdc00c0001000100",
        "0001eb0004a92df8b4c00c00010001000001eb0004a935514fc00c00010001000001eb0004a92ddb",
        "e8",
    );
    // ndpi/pcap/conncheck.pcap frame 1: query A conn-service-eu-04.allawnos.com.
    pub(crate) const CNAME_QUERY: &str = concat!(
        "ea400100000100000000000012636f6e6e2d736572766963652d65752d303408616c6c61776e6f73",
        "03636f6d0000010001",
    );
    // ndpi/pcap/conncheck.pcap frame 2: response, CNAME -> CNAME -> 2 A.
    pub(crate) const CNAME_RESPONSE: &str = concat!(
        "ea408180000100040000000012636f6e6e2d736572766963652d65752d303408616c6c61776e6f73",
        "03636f6d0000010001c00c000500010000011c002f12636f6e6e2d736572766963652d65752d3034",
        "08616c6c61776e6f7303636f6d09616b616d61697a6564036e657400c03d00050001000053fa0014",
        "056131393437046473636406616b616d6169c067c078000100010000000700045c7b6579c0780001",
        "00010000000700045c7b6599",
    );
    // ndpi/pcap/dns-tunnel-iodine.pcap frame 1: iodine NULL query.
    pub(crate) const IODINE_QUERY: &str =
        "12b0010000010000000000000b76616161616b6172646c69067069726174650373656100000a0001";
    // ndpi/pcap/dns-tunnel-iodine.pcap frame 2: iodine NULL response.
    pub(crate) const IODINE_RESPONSE: &str = concat!(
        "12b0840000010001000000000b76616161616b6172646c69067069726174650373656100000a0001",
        "c00c000a00010000000000095641434b4403c5e901",
    );
    // ndpi/pcap/dns.pcap frame 1: response AAAA www.l.google.com (no answer).
    pub(crate) const AAAA_RESPONSE: &str =
        "dca28180000100000000000003777777016c06676f6f676c6503636f6d00001c0001";

    #[test]
    fn query_and_response_a() {
        let q = unhex(WHATSAPP_QUERY);
        let m = Message::parse(&q).unwrap();
        assert!(!m.header.flags.qr());
        assert_eq!(m.header.id, 0x7843);
        let qs: Vec<_> = m.questions().collect();
        assert_eq!(qs.len(), 1);
        assert_eq!(qs[0].name.to_escaped(), "e7.whatsapp.net");
        assert_eq!(qs[0].qtype, RrType::A);
        let r = unhex(WHATSAPP_RESPONSE);
        let m = Message::parse(&r).unwrap();
        assert!(m.header.flags.qr());
        let answers: Vec<_> = m.answers().collect();
        assert_eq!(answers.len(), 8);
        assert!(matches!(answers[0].data(), RData::A(a) if a == Ipv4Addr::new(169, 45, 219, 235)));
        let cache: Vec<_> = answers_for_cache(&r).collect();
        assert_eq!(cache.len(), 8);
        assert_eq!(cache[0].name.to_escaped(), "e7.whatsapp.net");
        assert!(answers_for_cache(&q).next().is_none());
    }

    #[test]
    fn cname_chain_named_by_question() {
        let r = unhex(CNAME_RESPONSE);
        let m = Message::parse(&r).unwrap();
        let kinds: Vec<_> = m.answers().map(|a| a.rtype).collect();
        assert_eq!(kinds, [RrType::CNAME, RrType::CNAME, RrType::A, RrType::A]);
        match m.answers().nth(1).unwrap().data() {
            RData::Name(n) => assert_eq!(n.to_escaped(), "a1947.dscd.akamai.net"),
            other => panic!("{other:?}"),
        }
        let cache: Vec<_> = answers_for_cache(&r).collect();
        assert_eq!(cache.len(), 2);
        for c in &cache {
            assert_eq!(c.name.to_escaped(), "conn-service-eu-04.allawnos.com");
        }
        assert_eq!(cache[0].addr, IpAddr::V4(Ipv4Addr::new(92, 123, 101, 121)));
        assert_eq!(cache[1].addr, IpAddr::V4(Ipv4Addr::new(92, 123, 101, 153)));
    }

    #[test]
    fn iodine_null_stats() {
        let q = unhex(IODINE_QUERY);
        let m = Message::parse(&q).unwrap();
        let qn = m.questions().next().unwrap();
        assert_eq!(qn.qtype, RrType::NULL);
        assert_eq!(qn.qtype.to_string(), "NULL");
        let s = qn.name.stats();
        assert_eq!(qn.name.to_escaped(), "vaaaakardli.pirate.sea");
        assert_eq!(
            s,
            NameStats {
                len: 22,
                labels: 3,
                longest_label: 11
            }
        );
    }

    #[test]
    fn hostile_names() {
        // RFC 1035 4.1.4 pointer to itself at offset 12: bounded hops.
        let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&m).unwrap_err(), DnsError::BadName);
        // Label loop: "a" then pointer back to it; length bound stops it.
        let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&m).unwrap_err(), DnsError::BadName);
        // Reserved label type 0x80.
        let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0x80, 0, 1, 0, 1]);
        assert!(Message::parse(&m).is_err());
        // Root name and escaping.
        let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0, 2, 0, 1]);
        let msg = Message::parse(&m).unwrap();
        assert_eq!(msg.questions().next().unwrap().name.to_escaped(), "<root>");
        let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[3, b'a', 0, b'\\', 0, 0, 1, 0, 1]);
        let msg = Message::parse(&m).unwrap();
        assert_eq!(
            msg.questions().next().unwrap().name.to_escaped(),
            "a\\x00\\x5c"
        );
        // Bad opcode 3, zero questions in a query.
        assert!(Message::parse(&[0, 1, 0x18, 0, 0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Message::parse(&[0, 1, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn cname_loop_in_answers_is_bounded() {
        // Hand-built per RFC 1035 4.1: question a., answers a CNAME b,
        // b CNAME a, a A 1.2.3.4.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0];
        m.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]); // q at 12
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 4, 1, b'b', 0, 0]);
        m.extend_from_slice(&[1, b'b', 0, 0, 5, 0, 1, 0, 0, 0, 9, 0, 2, 0xc0, 12]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4]);
        let cache: Vec<_> = answers_for_cache(&m).collect();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache[0].ttl, 9);
    }

    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x5eed_5eed_1234_abcd;
        for i in 0..30_000u32 {
            x = xorshift(x);
            let mut buf: Vec<u8> = spread(x, (x % 160) as usize);
            // Make a plausible header half of the time so bodies get parsed.
            if i % 2 == 0 && buf.len() >= 12 {
                buf[2] = 0x81;
                buf[3] = 0x80;
                buf[4] = 0;
                buf[5] = 1;
                buf[6] = 0;
            }
            if let Ok(m) = Message::parse(&buf) {
                for q in m.questions() {
                    let _ = q.name.to_escaped();
                    let _ = q.name.stats();
                }
                for r in m.answers() {
                    let _ = r.data();
                }
            }
            let _ = answers_for_cache(&buf).count();
        }
    }
}
