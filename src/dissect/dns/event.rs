//! The `dns` object of a flow's EVE JSON record, in Suricata's EVE DNS
//! format version 3, so EVE consumers parse it unchanged.

use serde::Serialize;

/// One flow's DNS exchange, serialised under `"dns"`: the first response
/// when one was seen (`type: "response"`, carrying its queries and
/// answers), else the first query (`type: "request"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsEvent {
    /// EVE DNS format version: always 3.
    pub version: u8,
    /// `"request"` or `"response"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Transaction ID.
    pub id: u16,
    /// The header flags word as lowercase hex without padding (`"8180"`).
    pub flags: String,
    /// QR bit; only written when set, as Suricata does for every flag.
    #[serde(skip_serializing_if = "is_false")]
    pub qr: bool,
    /// AA bit.
    #[serde(skip_serializing_if = "is_false")]
    pub aa: bool,
    /// TC bit.
    #[serde(skip_serializing_if = "is_false")]
    pub tc: bool,
    /// RD bit.
    #[serde(skip_serializing_if = "is_false")]
    pub rd: bool,
    /// RA bit.
    #[serde(skip_serializing_if = "is_false")]
    pub ra: bool,
    /// Z bit.
    #[serde(skip_serializing_if = "is_false")]
    pub z: bool,
    /// OPCODE.
    pub opcode: u8,
    /// RCODE mnemonic (`NOERROR`, `NXDOMAIN`...), a number when unknown.
    pub rcode: String,
    /// Question section (at most `MAX_STORED_RECORDS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<DnsQuery>,
    /// Answer section (at most `MAX_STORED_RECORDS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsAnswer>,
    /// gateward: on a response, whether the matching query was also seen
    /// in this flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_seen: Option<bool>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One question, as Suricata's `queries[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsQuery {
    /// QNAME, printable (`\xNN` escapes; `<root>` for the root).
    pub rrname: String,
    /// QTYPE mnemonic, or the number as a string.
    pub rrtype: String,
}

/// One answer record, as Suricata's `answers[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    /// Owner name.
    pub rrname: String,
    /// TYPE mnemonic, or the number as a string.
    pub rrtype: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// Decoded RDATA for A, AAAA, CNAME, NS and PTR; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata: Option<String>,
}
