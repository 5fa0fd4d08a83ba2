//! A worker: decodes the frames of its shard, keeps its part of the flow
//! table, inspects first packets and writes events. No locks, no per-packet
//! allocation: frames arrive in reusable batches and events leave in 256 KiB
//! buffers.
//!
//! One packet's way through a worker, in four steps:
//! - **track** ([`Worker::track`]): find or create the flow, end an idle or
//!   reused one, count the packet (flow layer);
//! - **inspect** ([`Worker::inspect`]): feed the payload to the dissectors
//!   while the flow is in its inspection window (dissect layer);
//! - **judge**: the detectors look at the packet and what the dissectors
//!   learnt (detect layer);
//! - **report** ([`Reporter`]): alerts when a detection is due, flow records
//!   when a flow ends or reaches its active timeout (event layer).

use super::batch::{Batch, Chunk, FINAL_SEQ};
use crate::capture::{RawPacket, Timestamp};
use crate::config::Config;
use crate::correlate::Observation;
use crate::decode::frag::{DefragLimits, Defragmenter, Offer};
use crate::decode::ip::{self, IpLayer, L4, Packet, tcp_flags};
use crate::decode::tunnel::{self, TunnelKind};
use crate::decode::{DecodeError, link};
use crate::detect::engine::{DetectCtx, FlowDetect};
use crate::detect::related::{Related, RelatedCache};
use crate::detect::{FlowFacts, PacketView};
use crate::dissect::dns::names::{NameCache, NameCacheLimits};
use crate::dissect::{Direction, FlowApp, Payload};
use crate::event::{self, EventFacts, FlowView, Origin};
use crate::flow::{
    EndReason, Flow, FlowKey, FlowTable, Observed, TO_CLIENT, TO_SERVER, Tracked, TunnelParent,
};
use crate::output::types::{AlertRepeat, EventType, EventTypes};
use crate::stats::WorkerStats;
use crossbeam_channel::Sender;
use std::sync::Arc;

/// Output buffered before it is handed to the writer.
const OUT_CHUNK: usize = 256 * 1024;
/// Capture-time interval between expiry sweeps.
const SWEEP_INTERVAL_US: u64 = 1_000_000;

/// Settings a worker reads on every packet, resolved once.
#[derive(Clone, Copy)]
struct Settings {
    budget: u16,
    active_timeout_us: u64,
    max_depth: u8,
    decapsulate: bool,
    seed: u16,
    all_flows: bool,
    /// Event types to build (every output's, together).
    types: EventTypes,
    /// When a flow that alerted alerts again.
    repeat: AlertRepeat,
    /// Whether flows keep their first frame's MAC addresses.
    ether: bool,
}

/// Frames a packet arrived in: one, or all fragments of a datagram.
#[derive(Clone, Copy)]
struct Frames {
    count: u32,
    bytes: u64,
}

/// Where a decapsulated packet came from.
#[derive(Clone, Copy)]
struct Outer {
    key: FlowKey,
    flow_id: u64,
    client_is_lo: bool,
    kind: TunnelKind,
}

#[derive(Clone, Copy)]
struct Layer {
    vlan: [u16; 2],
    depth: u8,
    outer: Option<Outer>,
}

/// What the worker keeps per tracked flow: the flow itself (flow layer),
/// its inspection state (dissect layer) and its detection state (detect
/// layer), side by side so no layer's state lives inside another's.
pub struct FlowSlot {
    /// Key, counters, TCP state.
    pub flow: Flow,
    /// Packet summaries and dissectors.
    pub app: FlowApp,
    /// Detections and detector progress.
    pub detect: FlowDetect,
    /// Name the server's address was resolved from (DNS cache), if any.
    pub dns_name: Option<Arc<str>>,
    /// What the event writer adds of this flow's origin and past output.
    pub out: SlotOutput,
}

/// Per-flow output state: where the flow was first seen, and what was
/// written of it (alerts by signature, protocol events).
#[derive(Clone, Debug, Default)]
pub struct SlotOutput {
    /// Input (file or interface) index of the first packet.
    source: u16,
    /// MAC addresses of the first frame, with `output.ether`.
    ether: Option<event::Ether>,
    /// Signatures alerted and the highest severity (smallest number) each
    /// was alerted at; the few a flow makes are kept inline.
    alerted: [(u32, u8); ALERT_MEMO],
    /// Entries of `alerted` in use.
    alerted_len: u8,
    /// The flow's protocol events were written.
    protocols_logged: bool,
}

/// Signatures remembered per flow for `output.alert_repeat`; a flow with
/// more distinct signatures forgets the oldest (and may alert it again).
const ALERT_MEMO: usize = 4;

impl SlotOutput {
    /// Whether an alert of `sig` at `severity` is due under `repeat`, and
    /// if so remembers it.
    fn admit(&mut self, sig: u32, severity: u8, repeat: AlertRepeat) -> bool {
        let used = usize::from(self.alerted_len);
        if let Some(e) = self.alerted[..used].iter_mut().find(|e| e.0 == sig) {
            if severity < e.1 {
                e.1 = severity;
                return true;
            }
            return repeat == AlertRepeat::Upgrade;
        }
        if used < ALERT_MEMO {
            self.alerted[used] = (sig, severity);
            self.alerted_len += 1;
        } else {
            self.alerted.rotate_left(1);
            self.alerted[ALERT_MEMO - 1] = (sig, severity);
        }
        true
    }
}

impl Tracked for FlowSlot {
    fn flow(&self) -> &Flow {
        &self.flow
    }
}

impl FlowSlot {
    /// The detection state and, beside it, the facts detectors read.
    fn judge(&mut self) -> (&mut FlowDetect, FlowFacts<'_>) {
        let FlowSlot {
            flow,
            app,
            detect,
            dns_name,
            ..
        } = self;
        (detect, FlowFacts::new(flow, app, dns_name.as_deref()))
    }

    /// The timing look (cross-layer round trips) of the detectors.
    fn judge_timing(&mut self, ctx: &DetectCtx) {
        let FlowSlot {
            flow,
            app,
            detect,
            dns_name,
            ..
        } = self;
        let facts = FlowFacts::new(flow, app, dns_name.as_deref());
        detect.on_timing(
            || crate::detect::rtt::of_flow(flow, &app.packets, &ctx.home),
            &facts,
            ctx,
        );
    }

    /// What the event writer reads.
    fn view(&self) -> FlowView<'_> {
        FlowView {
            flow: &self.flow,
            app: &self.app,
            detect: &self.detect,
            dns_name: self.dns_name.as_deref(),
        }
    }
}

/// How far apart in capture time two flows of a host pair may be and still
/// be tied together (an AnyConnect TLS channel and its DTLS channel, say).
const RELATED_WINDOW_US: u64 = 300 * 1_000_000;
/// Host pairs whose findings are remembered, per worker.
const RELATED_CAPACITY: usize = 65_536;

/// A frame's source and destination MAC addresses.
type Macs = ([u8; 6], [u8; 6]);

/// The report step: alerts and flow records into the output buffer, with
/// the facts (enrichment, round trips) they need computed here once.
struct Reporter {
    out: Vec<u8>,
    stats: WorkerStats,
    settings: Settings,
    ctx: Arc<DetectCtx>,
    related: RelatedCache,
    /// Capture time events are logged at now: the packet's time, never
    /// before the last clock tick (so it does not depend on the worker
    /// count); a tick's time for flows it expires.
    now: Timestamp,
    /// Finished flows for the correlation stage (offline runs with the
    /// stage on), handed over with the batch's output.
    observations: Option<Vec<(Timestamp, Observation)>>,
    /// Names of the inputs frames are tagged with (files offline,
    /// interfaces live), and which of the two they are.
    sources: Arc<[Arc<str>]>,
    live: bool,
    /// `output.host`.
    host: Option<Arc<str>>,
    /// The packet being processed: its input, position, and MAC addresses
    /// (source, destination) when `output.ether` asks for them.
    packet: (u16, u64, Option<Macs>),
    /// Names answered per (client, domain), fed by every DNS response the
    /// reader copies to all workers: a port-53 flow that ends is judged
    /// with its client's other names (tunnels spread over many flows).
    spread: crate::detect::tunnel::DnsSpread,
}

impl Reporter {
    /// A flow left the table: last detector look, then its record.
    fn end(&mut self, mut s: FlowSlot, reason: EndReason) {
        match reason {
            EndReason::Timeout | EndReason::Reused => self.stats.flows_timed_out += 1,
            EndReason::Evicted => self.stats.flows_evicted += 1,
            EndReason::Shutdown => self.stats.flows_at_shutdown += 1,
        }
        let f = &s.flow;
        let (client, server) = (f.client(), f.server());
        let related: Vec<Related> = self
            .related
            .lookup(client.0, server.0)
            .iter()
            .filter(|r| {
                r.flow_id != f.flow_id
                    && r.at.micros_since(f.last_ts) <= RELATED_WINDOW_US
                    && f.first_ts.micros_since(r.at) <= RELATED_WINDOW_US
            })
            .cloned()
            .collect();
        let ctx = &*self.ctx;
        let spread = self.spread_verdict(&s);
        let (detect, facts) = s.judge();
        detect.on_end(&facts, ctx, &related);
        if let Some(d) = spread {
            detect.add(d, &facts, ctx);
        }
        s.judge_timing(ctx);
        if s.detect.alert_due() || s.detect.unalerted() {
            let at = s.flow.last_ts;
            self.alert(&mut s, at, None);
        }
        self.remember(&s, s.flow.last_ts);
        self.stats.detections_suppressed += s.detect.suppressed.len() as u64;
        self.write(&mut s, Some(reason));
    }

    /// The spread finding for a port-53 flow: its first question and client
    /// against the names the client had answered below that domain.
    fn spread_verdict(&self, s: &FlowSlot) -> Option<crate::detect::Detection> {
        let f = &s.flow;
        let settings = self.ctx.tunnel.spread();
        if !settings.enabled || f.server().1 != 53 {
            return None;
        }
        let q = s.app.dissectors.as_ref()?.dns_event()?.queries.first()?;
        self.spread
            .verdict(f.client().0, &q.rrname, f.last_ts.0, settings)
    }

    /// The facts an event of this flow carries: both ends' enrichment, the
    /// direction, and round trips when the event shows them.
    fn facts(&self, s: &FlowSlot, pcap_cnt: Option<u64>) -> EventFacts {
        let f = &s.flow;
        let source = self
            .sources
            .get(usize::from(s.out.source))
            .filter(|n| !n.is_empty())
            .cloned();
        let origin = Origin {
            in_iface: source.clone().filter(|_| self.live),
            pcap_filename: source.filter(|_| !self.live),
            pcap_cnt: pcap_cnt.filter(|n| *n > 0),
            host: self.host.clone(),
            ether: s.out.ether,
        };
        let (client, server) = (f.client().0, f.server().0);
        let c = self.ctx.enrich.lookup(client.ip());
        let d = self.ctx.enrich.lookup(server.ip());
        let view = s.view();
        EventFacts {
            infos: (!c.is_empty() || !d.is_empty()).then_some([c, d]),
            direction: self.ctx.home.direction(client, server),
            rtt: if event::shows_rtt(&view) {
                crate::detect::rtt::of_flow(f, &s.app.packets, &self.ctx.home)
            } else {
                None
            },
            origin,
        }
    }

    /// Writes the alert a new or upgraded detection calls for: once per
    /// signature of the flow, again only as `output.alert_repeat` allows
    /// (the flow's records still carry every finding). `pcap_cnt` is the
    /// deciding packet's position when a packet decided.
    fn alert(&mut self, s: &mut FlowSlot, at: Timestamp, pcap_cnt: Option<u64>) {
        s.detect.alert_written();
        self.remember(s, at);
        let Some(top) = crate::detect::signature::most_severe(&s.detect.detections) else {
            return;
        };
        let sig = crate::detect::signature::signature_id(top);
        if !s.out.admit(sig, top.severity, self.settings.repeat) {
            return;
        }
        if !self.settings.types.has(EventType::Alert) {
            return;
        }
        let facts = self.facts(s, pcap_cnt);
        event::write_alert(&mut self.out, &s.view(), at, self.settings.seed, &facts);
        self.stats.alerts += 1;
        self.stats.events += 1;
    }

    /// Keeps a flow's confident findings for its host pair's later flows.
    fn remember(&mut self, s: &FlowSlot, at: Timestamp) {
        let f = &s.flow;
        let (client, server) = (f.client(), f.server());
        self.related.remember(
            client.0,
            server.0,
            server.1,
            f.key.proto,
            f.flow_id,
            at,
            &s.detect.detections,
        );
    }

    /// Writes a flow record: every flow with `--all-flows`, else flows with
    /// findings (alerted or approved by an allow rule). A finished flow the
    /// correlation stage reads (see [`crate::correlate::wants`]) becomes an
    /// observation, whether written or not.
    fn write(&mut self, s: &mut FlowSlot, reason: Option<EndReason>) {
        let flagged = !s.detect.detections.is_empty() || !s.detect.suppressed.is_empty();
        let types = self.settings.types;
        let written = (self.settings.all_flows || flagged) && types.has(EventType::Flow);
        let protocols = !s.out.protocols_logged
            && types.any_protocol()
            && event::protocol::has_any(&s.view(), types);
        s.out.protocols_logged |= protocols;
        let observe = reason.is_some()
            && self.observations.is_some()
            && (flagged
                || s.app
                    .dissectors
                    .as_ref()
                    .is_some_and(|d| d.dns_event().is_some()));
        if !written && !observe && !protocols {
            return;
        }
        let facts = self.facts(s, None);
        let view = s.view();
        let ev =
            event::FlowEvent::from_flow(&view, reason, None, self.now, self.settings.seed, &facts);
        if written || protocols {
            let shown = if written {
                types
            } else {
                types.without(EventType::Flow)
            };
            self.stats.events += event::write_flow(&mut self.out, &view, &ev, shown, protocols);
        }
        if observe
            && let Some(list) = self.observations.as_mut()
            && let Some(o) = ev.observation()
        {
            // Keyed as the record's own `timestamp`, which `gateward correlate`
            // orders by.
            list.push((self.now.max(s.flow.last_ts), o));
        }
    }
}

/// Where a worker's output goes.
enum Output {
    /// Buffers of lines in arrival order, handed over when full or on a
    /// timer (live capture); finished flows go to the live correlation
    /// thread when there is one.
    Unordered(
        Sender<Vec<u8>>,
        Option<Sender<Vec<(Timestamp, Observation)>>>,
    ),
    /// One chunk per batch, tagged with the batch's sequence number, so
    /// the writer can restore the reader's order (offline runs).
    Ordered {
        /// The writer's queue.
        tx: Sender<Chunk>,
        /// This worker's index (orders the end-of-input chunks).
        index: usize,
        /// Buffers the writer has emptied, to reuse (no allocation per
        /// batch in the steady state).
        spare: crossbeam_channel::Receiver<Vec<u8>>,
    },
}

/// One worker thread's state.
pub struct Worker {
    table: FlowTable<FlowSlot>,
    report: Reporter,
    defrag: Defragmenter,
    out_tx: Output,
    clock: Timestamp,
    last_sweep: Timestamp,
    names: NameCache,
    /// This worker's share of `flow.buffer_memcap` (crate::budget).
    buffer_limit: usize,
}

impl Worker {
    /// A worker with its own detection settings built from `cfg` (tests and
    /// fuzz targets; the pipeline shares one [`DetectCtx`] among workers).
    pub fn new(cfg: &Config, workers: usize, out_tx: Sender<Vec<u8>>) -> Result<Self, String> {
        let ctx = cfg.detect_ctx()?;
        Ok(Self::with_ctx(cfg, workers, out_tx, Arc::new(ctx)))
    }

    /// A worker owning `1/workers` of the configured table and reassembly
    /// limits, sharing detection settings with the other workers.
    pub fn with_ctx(
        cfg: &Config,
        workers: usize,
        out_tx: Sender<Vec<u8>>,
        ctx: Arc<DetectCtx>,
    ) -> Self {
        let share = |n: usize| (n / workers.max(1)).max(1);
        Worker {
            table: FlowTable::new(share(cfg.flow.max_flows), cfg.flow.timeouts.per_class_us()),
            report: Reporter {
                out: Vec::with_capacity(OUT_CHUNK + 4096),
                stats: WorkerStats::default(),
                settings: Settings {
                    budget: cfg.flow.inspect_packets,
                    active_timeout_us: cfg.flow.active_timeout.saturating_mul(1_000_000),
                    max_depth: cfg.decode.max_tunnel_depth,
                    decapsulate: cfg.decode.decapsulate,
                    seed: cfg.output.community_id_seed,
                    all_flows: cfg.output.all_flows,
                    types: cfg.output.types(),
                    repeat: cfg.output.alert_repeat,
                    ether: cfg.output.ether,
                },
                ctx,
                related: RelatedCache::new(RELATED_CAPACITY),
                now: Timestamp(0),
                observations: None,
                sources: Arc::from(Vec::new()),
                live: false,
                host: cfg.output.host.as_deref().map(Arc::from),
                packet: (0, 0, None),
                spread: Default::default(),
            },
            defrag: Defragmenter::new(DefragLimits {
                max_datagrams: share(cfg.defrag.max_datagrams),
                max_bytes: share(cfg.defrag.memcap),
                max_fragments: cfg.defrag.max_fragments,
                timeout_us: cfg.defrag.timeout.saturating_mul(1_000_000),
            }),
            out_tx: Output::Unordered(out_tx, None),
            clock: Timestamp(0),
            last_sweep: Timestamp(0),
            names: NameCache::new(NameCacheLimits {
                capacity: cfg.dns.cache_size,
                min_ttl: cfg.dns.min_ttl,
                max_ttl: cfg.dns.max_ttl,
            }),
            buffer_limit: share(cfg.flow.buffer_memcap),
        }
    }

    /// As [`Worker::with_ctx`], writing one [`Chunk`] per batch so the
    /// output order depends only on the input and the worker count; with
    /// `correlate`, finished flows travel with the chunks as observations.
    /// `spare` hands back buffers the writer has emptied.
    pub fn ordered(
        cfg: &Config,
        workers: usize,
        index: usize,
        (out_tx, spare): (Sender<Chunk>, crossbeam_channel::Receiver<Vec<u8>>),
        ctx: Arc<DetectCtx>,
        correlate: bool,
    ) -> Self {
        let (unused, _) = crossbeam_channel::bounded(0);
        let mut w = Self::with_ctx(cfg, workers, unused, ctx);
        w.out_tx = Output::Ordered {
            tx: out_tx,
            index,
            spare,
        };
        w.report.observations = correlate.then(Vec::new);
        w
    }

    /// Hands finished flows to a live correlation thread (with each output
    /// flush).
    pub fn observe_to(&mut self, tx: Sender<Vec<(Timestamp, Observation)>>) {
        if let Output::Unordered(_, obs) = &mut self.out_tx {
            *obs = Some(tx);
            self.report.observations = Some(Vec::new());
        }
    }

    /// The observations gathered since the last hand-over.
    fn take_observations(&mut self) -> Vec<(Timestamp, Observation)> {
        self.report
            .observations
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Names the input indexes of frames (capture files offline, with
    /// `live` the interfaces), for `pcap_filename` / `in_iface`.
    pub fn set_sources(&mut self, names: Arc<[Arc<str>]>, live: bool) {
        self.report.sources = names;
        self.report.live = live;
    }

    /// Builds only these event types (a live run: every sink's together).
    pub fn set_types(&mut self, types: EventTypes) {
        self.report.settings.types = types;
    }

    fn settings(&self) -> Settings {
        self.report.settings
    }

    fn bump(&mut self, e: DecodeError) {
        self.report.stats.decode.bump(e);
        let r = &mut self.report;
        if r.settings.types.has(EventType::Anomaly) && event::anomaly::is_anomaly(e) {
            let (source, cnt, _) = r.packet;
            let name = r.sources.get(usize::from(source)).filter(|n| !n.is_empty());
            let origin = Origin {
                in_iface: name.cloned().filter(|_| r.live),
                pcap_filename: name.cloned().filter(|_| !r.live),
                pcap_cnt: Some(cnt),
                host: r.host.clone(),
                ether: None,
            };
            event::anomaly::write(&mut r.out, r.now, e, &origin);
            r.stats.events += 1;
        }
    }

    /// Processes every frame of a batch, then advances the clock to the
    /// reader's capture time and sweeps idle flows when due.
    pub fn run_batch(&mut self, batch: &Batch) {
        // The budget is per thread; a worker owns its thread while it runs.
        crate::budget::set_limit(self.buffer_limit);
        for (p, flags, (source, cnt)) in batch.packets_from() {
            self.report.packet = (source, cnt, None);
            if flags & super::batch::DNS_RESPONSE != 0 {
                self.learn_names(&p);
            } else if flags & super::batch::DNS_QUERY != 0 {
                self.learn_query(&p);
            }
            if flags & super::batch::OBSERVE_ONLY == 0 {
                self.process(&p);
            }
        }
        self.advance(batch.now);
        match &self.out_tx {
            Output::Unordered(..) => self.flush_if_full(),
            Output::Ordered { spare, .. } => {
                let data = if self.report.out.is_empty() {
                    Vec::new()
                } else {
                    let fresh = spare
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(OUT_CHUNK));
                    std::mem::replace(&mut self.report.out, fresh)
                };
                let chunk = Chunk {
                    seq: batch.seq,
                    data,
                    observations: self.take_observations(),
                    release: batch.release,
                };
                if let Output::Ordered { tx, .. } = &self.out_tx {
                    // The writer only goes away after every worker has finished.
                    let _ = tx.send(chunk);
                }
            }
        }
    }

    fn advance(&mut self, now: Timestamp) {
        if now > self.clock {
            self.clock = now;
        }
        if self.clock.micros_since(self.last_sweep) >= SWEEP_INTERVAL_US {
            self.last_sweep = self.clock;
            let report = &mut self.report;
            report.now = self.clock;
            self.table.expire(self.clock, &mut |s, r| report.end(s, r));
            let expired = self.defrag.expire(self.clock);
            for _ in 0..expired {
                self.bump(DecodeError::FragmentTimeout);
            }
            self.note_budget();
        }
    }

    fn flush_if_full(&mut self) {
        if self.report.out.len() >= OUT_CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.report.out.is_empty() && self.report.observations.as_ref().is_none_or(Vec::is_empty)
        {
            return;
        }
        // The writer only goes away after every worker has finished.
        match &self.out_tx {
            Output::Unordered(tx, obs) => {
                if !self.report.out.is_empty() {
                    let buf = std::mem::replace(
                        &mut self.report.out,
                        Vec::with_capacity(OUT_CHUNK + 4096),
                    );
                    let _ = tx.send(buf);
                }
                if let (Some(obs), Some(list)) = (obs, self.report.observations.as_mut())
                    && !list.is_empty()
                {
                    let _ = obs.send(std::mem::take(list));
                }
            }
            Output::Ordered { tx, index, .. } => {
                let data = std::mem::take(&mut self.report.out);
                let observations = self
                    .report
                    .observations
                    .as_mut()
                    .map(std::mem::take)
                    .unwrap_or_default();
                let _ = tx.send(Chunk {
                    seq: FINAL_SEQ + *index as u64,
                    data,
                    observations,
                    release: None,
                });
            }
        }
    }

    /// Hands buffered events to the writer now (live capture flushes on a
    /// timer so alerts do not wait for a full buffer).
    pub fn flush_output(&mut self) {
        self.flush();
    }

    /// Counters so far (live runs publish snapshots of them).
    pub fn stats(&self) -> &WorkerStats {
        &self.report.stats
    }

    /// Flows held now.
    pub fn open_flows(&self) -> usize {
        self.table.len()
    }

    /// Replaces the detection settings between batches (reload): flows in
    /// progress keep their state and are judged with the new settings from
    /// their next packet on.
    pub fn set_ctx(&mut self, ctx: Arc<DetectCtx>) {
        self.report.ctx = ctx;
    }

    /// Ends every flow (end of input) and returns the counters.
    pub fn finish(mut self) -> WorkerStats {
        let report = &mut self.report;
        report.stats.peak_flows = report.stats.peak_flows.max(self.table.len() as u64);
        report.now = self.clock.max(report.now);
        self.table.drain(&mut |s, r| report.end(s, r));
        let partial = self.defrag.clear();
        for _ in 0..partial {
            self.bump(DecodeError::FragmentTimeout);
        }
        self.note_budget();
        self.flush();
        self.report.stats
    }

    /// Copies the thread's buffer-budget counters into the stats.
    fn note_budget(&mut self) {
        let st = &mut self.report.stats;
        st.buffer_refused += crate::budget::take_refused();
        st.buffer_peak_bytes = st.buffer_peak_bytes.max(crate::budget::peak() as u64);
    }

    /// Learns address → name pairs from a DNS response frame.
    fn learn_names(&mut self, raw: &RawPacket<'_>) {
        let s = self.settings();
        let depth = if s.decapsulate { s.max_depth } else { 0 };
        if let Some((client, msg)) = crate::decode::dns_response_to(raw.link, raw.data, depth) {
            self.names.learn(msg, raw.ts);
            let r = &mut self.report;
            r.spread.learn(client, msg, raw.ts.0, r.ctx.tunnel.spread());
            self.report.stats.dns_names_learned = self.names.learned;
            self.report.stats.dns_cache_evictions = self.names.evictions;
        }
    }

    /// Adds a DNS query frame's question to the spread table.
    fn learn_query(&mut self, raw: &RawPacket<'_>) {
        if let Some((client, msg)) = crate::decode::dns_query_from(raw.link, raw.data) {
            let r = &mut self.report;
            r.spread.learn(client, msg, raw.ts.0, r.ctx.tunnel.spread());
        }
    }

    /// Decodes one frame and updates the flows it belongs to.
    pub fn process(&mut self, raw: &RawPacket<'_>) {
        self.report.now = raw.ts.max(self.last_sweep);
        self.report.stats.packets += 1;
        self.report.stats.bytes += raw.wire_len as u64;
        if self.report.settings.ether
            && raw.link == crate::capture::LinkType::Ethernet
            && let (Some(dst), Some(src)) = (raw.data.get(0..6), raw.data.get(6..12))
        {
            let mut m = ([0u8; 6], [0u8; 6]);
            m.0.copy_from_slice(src);
            m.1.copy_from_slice(dst);
            self.report.packet.2 = Some(m);
        }
        let net = match link::decode(raw.link, raw.data) {
            Ok(n) => n,
            Err(e) => return self.bump(e),
        };
        if net.ethertype != link::ETHERTYPE_IPV4 && net.ethertype != link::ETHERTYPE_IPV6 {
            return self.bump(DecodeError::NotIp);
        }
        let layer = Layer {
            vlan: net.vlan,
            depth: 0,
            outer: None,
        };
        let frames = Frames {
            count: 1,
            bytes: raw.wire_len as u64,
        };
        self.process_ip(net.data, layer, raw.ts, frames);
    }

    fn process_ip(&mut self, data: &[u8], layer: Layer, ts: Timestamp, frames: Frames) {
        match ip::parse(data) {
            Err(e) => self.bump(e),
            Ok(IpLayer::Whole(p)) => self.process_packet(&p, layer, ts, frames),
            Ok(IpLayer::Fragment(f)) => {
                let context = layer.outer.map_or(0, |o| o.key.tunnel_digest(o.kind as u8))
                    ^ layer.vlan[0] as u64
                    ^ (layer.vlan[1] as u64) << 16;
                let offer = self.defrag.offer(&f, context, ts, frames.bytes as u32);
                for _ in 0..self.defrag.take_evicted() {
                    self.bump(DecodeError::FragmentEvicted);
                }
                match offer {
                    Offer::Held => {}
                    Offer::Dropped(e) => self.bump(e),
                    Offer::Complete {
                        proto,
                        payload,
                        frames: count,
                        frame_bytes,
                    } => {
                        self.report.stats.reassembled += 1;
                        let proto = crate::decode::IpProto(proto);
                        match ip::transport(proto, &payload) {
                            Ok(l4) => {
                                let p = Packet {
                                    src: f.src,
                                    dst: f.dst,
                                    proto,
                                    l4,
                                };
                                let frames = Frames {
                                    count,
                                    bytes: frame_bytes,
                                };
                                self.process_packet(&p, layer, ts, frames);
                            }
                            Err(e) => self.bump(e),
                        }
                    }
                }
            }
        }
    }

    /// One whole IP packet: its flow, then (when it carries one) the
    /// packet inside it as a flow of its own.
    fn process_packet(&mut self, p: &Packet<'_>, layer: Layer, ts: Timestamp, frames: Frames) {
        let (key, flow_id, client_is_lo) = self.update_flow(p, &layer, ts, frames);
        if !self.settings().decapsulate {
            return;
        }
        let inner = match tunnel::inner_ip(p) {
            Ok(Some(i)) => i,
            Ok(None) => return,
            Err(e) => return self.bump(e),
        };
        if layer.depth >= self.settings().max_depth {
            return self.bump(DecodeError::TunnelTooDeep);
        }
        self.report.stats.decapsulated += 1;
        if inner.verified() {
            self.flag_encapsulation(&key, inner.kind, ts);
        }
        let data = match inner.ip {
            Ok(d) => d,
            Err(e) => return self.bump(e),
        };
        let inner_layer = Layer {
            vlan: layer.vlan,
            depth: layer.depth + 1,
            outer: Some(Outer {
                key,
                flow_id,
                client_is_lo,
                kind: inner.kind,
            }),
        };
        // The inner flow counts its own bytes, from its IP header on (as
        // Suricata does), not the outer headers the tunnel added.
        let inner_frames = Frames {
            count: frames.count,
            bytes: data.len() as u64,
        };
        self.process_ip(data, inner_layer, ts, inner_frames);
    }

    /// The outer flow carried a packet whose inner headers decode: a
    /// tunnel detection for it (once).
    fn flag_encapsulation(&mut self, key: &FlowKey, kind: TunnelKind, ts: Timestamp) {
        let Some(slot) = self.table.find(key) else {
            return;
        };
        let s = self.table.get_mut(slot);
        if s.detect
            .detections
            .iter()
            .any(|d| d.evidence.get("encapsulation") == Some(kind.name()))
        {
            return;
        }
        let ctx = &*self.report.ctx;
        let (detect, facts) = s.judge();
        detect.on_encapsulation(kind, &facts, ctx);
        if s.detect.alert_due() {
            let cnt = Some(self.report.packet.1);
            self.report.alert(s, ts, cnt);
        }
    }

    /// Track, inspect, judge and report one packet of a flow; returns what
    /// an encapsulated packet needs to name this flow as its parent.
    fn update_flow(
        &mut self,
        p: &Packet<'_>,
        layer: &Layer,
        ts: Timestamp,
        frames: Frames,
    ) -> (FlowKey, u64, bool) {
        let (slot, seen, is_new) = self.track(p, layer, ts, frames);
        if is_new {
            self.judge_addresses(slot, ts);
        }
        self.table.get_mut(slot).flow.observe_tcp(&seen);
        let from_client = seen.dir == TO_SERVER;
        self.inspect(slot, p, from_client, ts);
        let report = &mut self.report;
        let s = self.table.get_mut(slot);
        let active = report.settings.active_timeout_us;
        if active > 0 && ts.micros_since(s.flow.interval_start) >= active {
            s.flow.interval_start = ts;
            s.flow.interim_reports += 1;
            report.stats.interim_records += 1;
            report.write(s, None);
        }
        let f = &s.flow;
        let result = (f.key, f.flow_id, f.client_is_lo);
        self.table.touch(slot);
        result
    }

    /// The track step: finds the packet's flow (ending it first when it is
    /// idle past its timeout or its 5-tuple is reused), or creates it, and
    /// counts the packet. Returns the slot, the packet as counted, and
    /// whether the flow is new.
    fn track(
        &mut self,
        p: &Packet<'_>,
        layer: &Layer,
        ts: Timestamp,
        frames: Frames,
    ) -> (u32, Observed, bool) {
        let (sport, dport) = p.l4.ports();
        let parent = layer.outer.map_or(0, |o| o.key.tunnel_digest(o.kind as u8));
        let (key, src_is_lo) =
            FlowKey::new(p.src, sport, p.dst, dport, p.proto, layer.vlan, parent);
        let flags = match p.l4 {
            L4::Tcp { flags, .. } => flags,
            _ => 0,
        };
        let report = &mut self.report;
        let mut found = self.table.find(&key);
        if let Some(s) = found {
            let expired = self.table.is_idle(s, ts);
            if expired || self.table.get(s).flow.reused_by(flags) {
                let old = self.table.remove(s);
                let reason = if expired {
                    EndReason::Timeout
                } else {
                    EndReason::Reused
                };
                report.end(old, reason);
                found = None;
            }
        }
        let is_new = found.is_none();
        let slot = match found {
            Some(s) => s,
            None => {
                // A SYN/ACK seen first means the receiver opened the connection.
                let synack =
                    flags & (tcp_flags::SYN | tcp_flags::ACK) == (tcp_flags::SYN | tcp_flags::ACK);
                let mut f = Flow::new(key, src_is_lo != synack, ts);
                if let L4::Icmp {
                    icmp_type, code, ..
                } = p.l4
                {
                    f.icmp = Some((icmp_type, code));
                }
                f.tunnel = layer.outer.map(|o| Box::new(parent_of(&o, layer.depth)));
                let dns_name = self.names.lookup(&f.server().0, ts);
                report.stats.flows += 1;
                let from_client = src_is_lo == f.client_is_lo;
                let ether = report.packet.2.map(|(src, dst)| {
                    let (client, server) = if from_client { (src, dst) } else { (dst, src) };
                    event::Ether { client, server }
                });
                let slot = FlowSlot {
                    flow: f,
                    app: FlowApp::default(),
                    detect: FlowDetect::default(),
                    dns_name,
                    out: SlotOutput {
                        source: report.packet.0,
                        ether,
                        ..SlotOutput::default()
                    },
                };
                let s = self.table.insert(slot, &mut |s, r| report.end(s, r));
                report.stats.peak_flows = report.stats.peak_flows.max(self.table.len() as u64);
                s
            }
        };
        let f = &mut self.table.get_mut(slot).flow;
        let from_client = src_is_lo == f.client_is_lo;
        let seen = Observed {
            dir: if from_client { TO_SERVER } else { TO_CLIENT },
            frames: frames.count,
            frame_bytes: frames.bytes,
            payload_len: p.l4.payload().len(),
            tcp_flags: flags,
            ts,
        };
        f.count(&seen);
        (slot, seen, is_new)
    }

    /// Judges a new flow's endpoints by address (sanctioned regions, feeds,
    /// hosting), once, from the enrichment snapshot.
    fn judge_addresses(&mut self, slot: u32, ts: Timestamp) {
        let report = &mut self.report;
        let s = self.table.get_mut(slot);
        let (client, server) = (s.flow.client().0, s.flow.server().0);
        let ctx = &*report.ctx;
        let (ci, si) = (
            ctx.enrich.lookup(client.ip()),
            ctx.enrich.lookup(server.ip()),
        );
        if ci.is_empty() && si.is_empty() {
            return;
        }
        let found = crate::detect::address::detections(
            &ci,
            &si,
            ctx.home.contains(client),
            ctx.home.contains(server),
            true,
        );
        let (detect, facts) = s.judge();
        detect.on_addresses(found, &facts, ctx);
        if s.detect.alert_due() {
            let cnt = Some(report.packet.1);
            report.alert(s, ts, cnt);
        }
    }

    /// The inspect and judge steps: while the flow is in its inspection
    /// window, the payload goes to the dissectors, then the packet and what
    /// they learnt to the detectors.
    fn inspect(&mut self, slot: u32, p: &Packet<'_>, from_client: bool, ts: Timestamp) {
        let report = &mut self.report;
        let s = self.table.get_mut(slot);
        let dir = if from_client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let (flags, tcp) = match p.l4 {
            L4::Tcp { flags, seq, .. } => (flags, Some((seq, flags))),
            _ => (0, None),
        };
        if let Some((seq, _)) = tcp
            && flags & tcp_flags::SYN != 0
        {
            s.app.on_syn(dir, seq);
        }
        let payload = p.l4.payload();
        if payload.is_empty() || !s.app.inspecting() {
            return;
        }
        let pl = Payload {
            dir,
            ts,
            flow_start: s.flow.first_ts,
            tcp,
            data: payload,
            proto: p.proto,
        };
        let index = s.app.inspected_packets();
        let (client_port, server_port) = (s.flow.client().1, s.flow.server().1);
        let budget = report.settings.budget;
        if !s.app.on_payload(
            &pl,
            (client_port, server_port),
            budget,
            &mut report.stats.inspect,
        ) {
            return;
        }
        let view = PacketView {
            dir,
            index,
            offset_us: ts.micros_since(s.flow.first_ts),
            proto: p.proto,
            client_port,
            server_port,
            tcp_flags: flags,
            icmp: match p.l4 {
                L4::Icmp {
                    icmp_type, code, ..
                } => Some((icmp_type, code)),
                _ => None,
            },
            payload,
        };
        let ctx = &*report.ctx;
        let (detect, facts) = s.judge();
        detect.on_packet(&view, &facts, ctx);
        s.judge_timing(ctx);
        if s.detect.alert_due() {
            let cnt = Some(report.packet.1);
            report.alert(s, ts, cnt);
        }
    }
}

/// The `tunnel_parent` of a flow found inside the outer flow `o`.
fn parent_of(o: &Outer, depth: u8) -> TunnelParent {
    let (lo, hi) = ((o.key.lo, o.key.lo_port), (o.key.hi, o.key.hi_port));
    let (client, server) = if o.client_is_lo { (lo, hi) } else { (hi, lo) };
    TunnelParent {
        flow_id: o.flow_id,
        src: client.0,
        dst: server.0,
        src_port: client.1,
        dst_port: server.1,
        proto: o.key.proto,
        kind: o.kind,
        depth,
    }
}
