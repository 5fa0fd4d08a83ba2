//! DNS dissector (RFC 1035) over UDP and TCP: the first query and first
//! response of a flow, as a Suricata EVE v3 `dns` object, plus the facts
//! DNS-tunnel detectors need (name lengths, label counts, record types).
//!
//! DNS names the destinations of every other flow and is itself a classic
//! covert channel (iodine, dnscat); [`answers_for_cache`] feeds the
//! engine's address-to-name cache, and [`DnsState`] records each DNS flow.

pub mod event;
pub mod names;
pub mod parser;
pub mod state;

pub use event::{DnsAnswer, DnsEvent, DnsQuery};
pub use parser::{CacheAnswer, CacheAnswers, Message, Name, RrType, answers_for_cache};
pub use state::{DnsFacts, DnsState, MAX_STORED_RECORDS, RrTypeSet, Transport};

use super::verdict;
