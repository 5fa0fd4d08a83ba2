//! Application-layer inspection of a flow's first payload packets.
//!
//! The engine hands every flow's first `flow.inspect_packets` payload-carrying
//! packets per direction to [`FlowApp::on_payload`]: TCP payload goes through
//! a small in-order assembler first, so stream dissectors see ordered bytes;
//! UDP datagrams are passed whole. Each packet's size, direction and timing
//! is kept in [`FlowApp::packets`] for behaviour-based detectors. Once every
//! dissector has decided (or the budget is spent) the flow is no longer
//! inspected and its buffers are freed.
//!
//! Adding a dissector (say `foo`) touches:
//! 1. `src/dissect/foo/` — its state, parser and event, and
//!    `impl Dissector for FooState` (`type Event`, `const PROTO`,
//!    `candidate` for which transports/ports it may claim, `feed`, `event`;
//!    the hooks `confirmed`, `kept_beside_other`, `tunnel_open` and
//!    `ON_TUNNEL` have defaults);
//! 2. `pub mod foo;` here;
//! 3. one line in the `dissector_table!` of `app.rs` (its position is its
//!    priority when several protocols confirm);
//! 4. a variant in [`AppProto`] with its EVE string.
//!
//! Callers then read it as `dissectors.event::<FooState>()`; writing it in
//! the flow record is the event writer's business (`src/event.rs`).

use crate::decode::IpProto;
pub mod app;
pub mod dissector;
pub mod dns;
pub mod http;
pub mod quic;
pub mod socks;
pub mod ssh;
#[cfg(test)]
pub(crate) mod testutil;
pub mod tls;
pub mod verdict;

pub use app::Dissectors;
pub use dissector::{AppProto, Dissector};
pub use verdict::{Direction, Verdict};

use crate::capture::Timestamp;
use crate::flow::tcp::{StreamAssembler, StreamEvent};

/// Size, direction and timing of one payload-carrying packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketSummary {
    /// Microseconds since the flow's first packet (saturating at ~71 min).
    pub offset_us: u32,
    /// Transport payload length (saturating at 65535).
    pub len: u16,
    /// Which way it went.
    pub dir: Direction,
    /// TCP flags (0 for other protocols).
    pub tcp_flags: u8,
}

/// Inspection counters, merged into the run's stats.
#[derive(Clone, Copy, Debug, Default)]
pub struct InspectCounters {
    /// TCP gaps the assembler could not fill within its limits.
    pub stream_gaps: u64,
    /// Flows whose inspection ended because the packet budget ran out.
    pub budget_exhausted: u64,
}

impl InspectCounters {
    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &InspectCounters) {
        self.stream_gaps += o.stream_gaps;
        self.budget_exhausted += o.budget_exhausted;
    }
}

/// One payload-carrying packet, as the engine hands it to inspection.
#[derive(Clone, Copy, Debug)]
pub struct Payload<'a> {
    /// Which way it went.
    pub dir: Direction,
    /// Capture time.
    pub ts: Timestamp,
    /// The flow's first packet time.
    pub flow_start: Timestamp,
    /// TCP sequence number and flags, for TCP.
    pub tcp: Option<(u32, u8)>,
    /// The transport payload.
    pub data: &'a [u8],
    /// IP protocol: dissectors read TCP and UDP only; other protocols are
    /// summarised for detectors.
    pub proto: crate::decode::IpProto,
}

/// Per-flow inspection state and the application metadata it produced.
#[derive(Debug, Default)]
pub struct FlowApp {
    /// Summaries of the first payload packets (both directions, in order).
    pub packets: Vec<PacketSummary>,
    /// Dissector states (and the metadata they extracted), created with the
    /// flow's first payload.
    pub dissectors: Option<Box<Dissectors>>,
    inspected: [u16; 2],
    finished: bool,
    streams: Option<Box<[StreamAssembler; 2]>>,
}

impl FlowApp {
    /// True while the flow still wants payload packets.
    #[inline]
    pub fn inspecting(&self) -> bool {
        !self.finished
    }

    /// Notes a TCP SYN so stream assembly knows where data starts.
    pub fn on_syn(&mut self, dir: Direction, seq: u32) {
        if !self.finished {
            self.streams.get_or_insert_with(Default::default)[dir_index(dir)].on_syn(seq);
        }
    }

    /// Application protocol once a dissector has confirmed it.
    pub fn app_proto(&self) -> Option<AppProto> {
        self.dissectors.as_ref().and_then(|d| d.app_proto())
    }

    /// Feeds one payload-carrying packet. `budget` is the configured number
    /// of packets inspected per direction; `ports` are (client, server).
    pub fn on_payload(
        &mut self,
        p: &Payload<'_>,
        ports: (u16, u16),
        budget: u16,
        counters: &mut InspectCounters,
    ) -> bool {
        if self.finished {
            return false;
        }
        let d = dir_index(p.dir);
        if self.inspected[d] >= budget {
            if self.inspected[1 - d] >= budget {
                self.finish();
                counters.budget_exhausted += 1;
            }
            return false;
        }
        self.inspected[d] += 1;
        if self.packets.capacity() == 0 {
            self.packets.reserve_exact(usize::from(budget) * 2);
        }
        self.packets.push(PacketSummary {
            offset_us: p.ts.micros_since(p.flow_start).min(u32::MAX as u64) as u32,
            len: p.data.len().min(u16::MAX as usize) as u16,
            dir: p.dir,
            tcp_flags: p.tcp.map_or(0, |t| t.1),
        });
        if p.proto == IpProto::TCP || p.proto == IpProto::UDP {
            let dissectors = self
                .dissectors
                .get_or_insert_with(|| Box::new(Dissectors::for_transport(p.tcp.is_some(), ports)));
            if dissectors.active() {
                if let Some((seq, flags)) = p.tcp {
                    let streams = self.streams.get_or_insert_with(Default::default);
                    // Data carried on a SYN (TCP Fast Open, RFC 7413 section
                    // 3; allowed since RFC 793 3.4) starts after the SYN's
                    // own sequence number.
                    let seq = if flags & crate::decode::ip::tcp_flags::SYN != 0 {
                        seq.wrapping_add(1)
                    } else {
                        seq
                    };
                    let ev =
                        streams[d].offer(seq, p.data, &mut |chunk| dissectors.feed(p.dir, chunk));
                    if ev == StreamEvent::Gap {
                        counters.stream_gaps += 1;
                    }
                } else {
                    dissectors.feed(p.dir, p.data);
                }
                if !dissectors.active() {
                    self.streams = None;
                }
            }
        }
        if self.inspected[0] >= budget && self.inspected[1] >= budget {
            self.finish();
            counters.budget_exhausted += 1;
        }
        true
    }

    /// Payload packets inspected so far (both directions).
    pub fn inspected_packets(&self) -> u16 {
        self.inspected[0] + self.inspected[1]
    }

    fn finish(&mut self) {
        self.finished = true;
        self.streams = None;
    }
}

fn dir_index(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}
