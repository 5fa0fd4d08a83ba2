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

use super::dissector::{AppProto, Dissector, FlowStart, feed_and_event_are_inherent};

/// Ports where DNS is expected (DNS, mDNS, LLMNR). DNS is the one protocol
/// chosen by port: its header has too little structure to claim arbitrary
/// traffic by content alone.
pub const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

/// DNS on its well-known ports only, over UDP or TCP.
impl Dissector for DnsState {
    type Event = DnsEvent;
    const PROTO: AppProto = AppProto::Dns;

    fn candidate(flow: &FlowStart) -> Option<Self> {
        let transport = if flow.tcp {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        flow.on_port(&DNS_PORTS)
            .then(|| DnsState::with_transport(transport))
    }

    feed_and_event_are_inherent!();
}
