//! The DNS dissector (`dissect::dns`). Input: `[mode: u8]` then records (see
//! `src/lib.rs`).
//!
//! * `mode & 1 == 0`: UDP, `DnsState::new()`; each record is one datagram.
//! * `mode & 1 == 1`: TCP, `DnsState::with_transport(Transport::Tcp)`; each
//!   record is a run of the length-prefixed stream in its direction, fed in
//!   pieces of `ctl >> 1` bytes.
//!
//! Then `event()` (serialised), `query_facts()`, `response_facts()`,
//! `bad_messages()`. Independently of the state, every record (UDP) or every
//! length-prefixed message found in it (TCP) goes through the pure parsers:
//! `Message::parse` with its `questions()` and `answers()` (each record's
//! `data()`, each name's `stats()`, `to_escaped()`, `eq_ignore_case()`), and
//! `answers_for_cache` iterated to the end with `name.write_escaped`.
#![no_main]

use gateward::dissect::Verdict;
use gateward::dissect::dns::parser::{Name, RData};
use gateward::dissect::dns::{DnsFacts, DnsState, Message, Transport, answers_for_cache};
use gateward_fuzz::{records, touch_json};
use libfuzzer_sys::fuzz_target;

fn name(n: &Name<'_>, first: Option<&Name<'_>>) {
    std::hint::black_box(n.stats());
    std::hint::black_box(n.to_escaped());
    if let Some(f) = first {
        std::hint::black_box(n.eq_ignore_case(f));
    }
}

fn parse_message(msg: &[u8]) {
    if let Ok(m) = Message::parse(msg) {
        let h = m.header;
        std::hint::black_box((h.flags.rcode().name(), h.flags.rcode().to_string(), h.plausible()));
        let first = m.questions().next().map(|q| q.name);
        for q in m.questions() {
            name(&q.name, first.as_ref());
            std::hint::black_box((q.qtype.name(), q.qtype.to_string(), q.qclass));
        }
        for r in m.answers() {
            name(&r.name, first.as_ref());
            match r.data() {
                RData::Name(n) => name(&n, first.as_ref()),
                other => {
                    std::hint::black_box(other);
                }
            }
            std::hint::black_box((r.rtype.name(), r.ttl, r.rdata.len()));
        }
    }
    let mut s = String::new();
    for a in answers_for_cache(msg) {
        s.clear();
        a.name.write_escaped(&mut s, true);
        a.name.write_escaped(&mut s, false);
        std::hint::black_box((&s, a.addr, a.ttl));
    }
}

fn facts(f: Option<&DnsFacts>) {
    if let Some(f) = f {
        std::hint::black_box(f.rrtypes.iter().count());
        std::hint::black_box((f.qname_len, f.longest_label, f.rrtypes.overflow, f.size));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let tcp = mode & 1 == 1;
    let mut st = if tcp {
        DnsState::with_transport(Transport::Tcp)
    } else {
        DnsState::new()
    };
    let mut live = true;
    for rec in records(rest) {
        if live {
            if tcp {
                for piece in rec.pieces() {
                    if st.feed(rec.dir(), piece) != Verdict::NeedMore {
                        live = false;
                        break;
                    }
                }
            } else if st.feed(rec.dir(), rec.data) != Verdict::NeedMore {
                live = false;
            }
        }
        if tcp {
            let mut d = rec.data;
            while let [hi, lo, tail @ ..] = d {
                let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
                parse_message(&tail[..len]);
                d = &tail[len..];
            }
        } else {
            parse_message(rec.data);
        }
    }
    if let Some(ev) = st.event() {
        touch_json(ev);
    }
    facts(st.query_facts());
    facts(st.response_facts());
    std::hint::black_box(st.bad_messages());
});
