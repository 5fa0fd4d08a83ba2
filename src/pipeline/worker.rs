//! A worker: decodes the frames of its shard, keeps its part of the flow
//! table, inspects first packets and writes events. No locks, no per-packet
//! allocation: frames arrive in reusable batches and events leave in 256 KiB
//! buffers.

use super::batch::Batch;
use crate::capture::{RawPacket, Timestamp};
use crate::config::Config;
use crate::decode::frag::{DefragLimits, Defragmenter, Offer};
use crate::decode::ip::{self, IpLayer, L4, Packet, tcp_flags};
use crate::decode::tunnel::{self, InnerStart, TunnelKind};
use crate::decode::{DecodeError, link};
use crate::detect::PacketView;
use crate::detect::engine::DetectCtx;
use crate::detect::related::{Related, RelatedCache};
use crate::dissect::{Direction, Payload};
use crate::event;
use crate::flow::dns_names::{NameCache, NameCacheLimits};
use crate::flow::{EndReason, Flow, FlowKey, FlowTable, TO_CLIENT, TO_SERVER, TunnelParent};
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
    vlan: u16,
    depth: u8,
    outer: Option<Outer>,
}

/// Emits finished flows into the output buffer.
struct Emitter<'a> {
    out: &'a mut Vec<u8>,
    stats: &'a mut WorkerStats,
    settings: Settings,
    ctx: &'a DetectCtx,
    related: &'a mut RelatedCache,
}

/// How far apart in capture time two flows of a host pair may be and still
/// be tied together (an AnyConnect TLS channel and its DTLS channel, say).
const RELATED_WINDOW_US: u64 = 300 * 1_000_000;
/// Host pairs whose findings are remembered, per worker.
const RELATED_CAPACITY: usize = 65_536;

impl Emitter<'_> {
    fn end(&mut self, mut f: Flow, reason: EndReason) {
        match reason {
            EndReason::Timeout | EndReason::Reused => self.stats.flows_timed_out += 1,
            EndReason::Evicted => self.stats.flows_evicted += 1,
            EndReason::Shutdown => self.stats.flows_at_shutdown += 1,
        }
        let mut detect = std::mem::take(&mut f.detect);
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
        detect.on_end(&f.facts(), self.ctx, &related);
        detect.on_timing(|| f.rtt(&self.ctx.home), &f.facts(), self.ctx);
        f.detect = detect;
        if f.detect.alert_due() || f.detect.unalerted() {
            let at = f.last_ts;
            self.alert(&mut f, at);
        }
        self.remember(&f, f.last_ts);
        self.stats.detections_suppressed += f.detect.suppressed.len() as u64;
        self.write(&f, Some(reason));
    }

    /// Writes the alert a new or upgraded detection calls for.
    fn alert(&mut self, f: &mut Flow, at: Timestamp) {
        event::write_alert(self.out, f, at, self.settings.seed, self.ctx);
        f.detect.alert_written();
        self.stats.alerts += 1;
        self.stats.events += 1;
        self.remember(f, at);
    }

    /// Keeps a flow's confident findings for its host pair's later flows.
    fn remember(&mut self, f: &Flow, at: Timestamp) {
        let (client, server) = (f.client(), f.server());
        self.related.remember(
            client.0,
            server.0,
            server.1,
            f.key.proto,
            f.flow_id,
            at,
            &f.detect.detections,
        );
    }

    /// Writes a flow record: every flow with `--all-flows`, else flows with
    /// findings (alerted or approved by an allow rule).
    fn write(&mut self, f: &Flow, reason: Option<EndReason>) {
        let flagged = !f.detect.detections.is_empty() || !f.detect.suppressed.is_empty();
        if self.settings.all_flows || flagged {
            self.stats.events +=
                event::write_flow(self.out, f, reason, self.settings.seed, self.ctx);
        }
    }
}

/// One worker thread's state.
pub struct Worker {
    settings: Settings,
    table: FlowTable,
    defrag: Defragmenter,
    stats: WorkerStats,
    out: Vec<u8>,
    out_tx: Sender<Vec<u8>>,
    clock: Timestamp,
    last_sweep: Timestamp,
    names: NameCache,
    ctx: Arc<DetectCtx>,
    related: RelatedCache,
}

impl Worker {
    /// A worker owning `1/workers` of the configured table and reassembly
    /// limits, with detection settings built from `cfg`.
    pub fn new(cfg: &Config, workers: usize, out_tx: Sender<Vec<u8>>) -> Self {
        Self::with_ctx(cfg, workers, out_tx, Arc::new(DetectCtx::from_config(cfg)))
    }

    /// As [`Worker::new`], sharing detection settings with other workers.
    pub fn with_ctx(
        cfg: &Config,
        workers: usize,
        out_tx: Sender<Vec<u8>>,
        ctx: Arc<DetectCtx>,
    ) -> Self {
        let share = |n: usize| (n / workers.max(1)).max(1);
        Worker {
            settings: Settings {
                budget: cfg.flow.inspect_packets,
                active_timeout_us: cfg.flow.active_timeout.saturating_mul(1_000_000),
                max_depth: cfg.decode.max_tunnel_depth,
                decapsulate: cfg.decode.decapsulate,
                seed: cfg.output.community_id_seed,
                all_flows: cfg.output.all_flows,
            },
            table: FlowTable::new(share(cfg.flow.max_flows), cfg.flow.timeouts.per_class_us()),
            defrag: Defragmenter::new(DefragLimits {
                max_datagrams: share(cfg.defrag.max_datagrams),
                max_bytes: share(cfg.defrag.memcap),
                max_fragments: cfg.defrag.max_fragments,
                timeout_us: cfg.defrag.timeout.saturating_mul(1_000_000),
            }),
            stats: WorkerStats::default(),
            out: Vec::with_capacity(OUT_CHUNK + 4096),
            out_tx,
            clock: Timestamp(0),
            last_sweep: Timestamp(0),
            names: NameCache::new(NameCacheLimits {
                capacity: cfg.dns.cache_size,
                min_ttl: cfg.dns.min_ttl,
                max_ttl: cfg.dns.max_ttl,
            }),
            ctx,
            related: RelatedCache::new(RELATED_CAPACITY),
        }
    }

    /// Processes every frame of a batch, then advances the clock to the
    /// reader's capture time and sweeps idle flows when due.
    pub fn run_batch(&mut self, batch: &Batch) {
        for (p, flags) in batch.packets() {
            if flags & super::batch::DNS_RESPONSE != 0 {
                self.learn_names(&p);
            }
            if flags & super::batch::OBSERVE_ONLY == 0 {
                self.process(&p);
            }
        }
        self.advance(batch.now);
        self.flush_if_full();
    }

    fn advance(&mut self, now: Timestamp) {
        if now > self.clock {
            self.clock = now;
        }
        if self.clock.micros_since(self.last_sweep) >= SWEEP_INTERVAL_US {
            self.last_sweep = self.clock;
            let Worker {
                table,
                out,
                stats,
                settings,
                defrag,
                clock,
                ctx,
                related,
                ..
            } = self;
            let mut em = Emitter {
                out,
                stats,
                settings: *settings,
                ctx,
                related,
            };
            table.expire(*clock, &mut |f, r| em.end(f, r));
            let expired = defrag.expire(*clock);
            for _ in 0..expired {
                self.stats.decode.bump(DecodeError::FragmentTimeout);
            }
        }
    }

    fn flush_if_full(&mut self) {
        if self.out.len() >= OUT_CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.out.is_empty() {
            let buf = std::mem::replace(&mut self.out, Vec::with_capacity(OUT_CHUNK + 4096));
            // The writer only goes away after every worker has finished.
            let _ = self.out_tx.send(buf);
        }
    }

    /// Hands buffered events to the writer now (live capture flushes on a
    /// timer so alerts do not wait for a full buffer).
    pub fn flush_output(&mut self) {
        self.flush();
    }

    /// Counters so far (live runs publish snapshots of them).
    pub fn stats(&self) -> &WorkerStats {
        &self.stats
    }

    /// Flows held now.
    pub fn open_flows(&self) -> usize {
        self.table.len()
    }

    /// Replaces the detection settings between batches (reload): flows in
    /// progress keep their state and are judged with the new settings from
    /// their next packet on.
    pub fn set_ctx(&mut self, ctx: Arc<DetectCtx>) {
        self.ctx = ctx;
    }

    /// Ends every flow (end of input) and returns the counters.
    pub fn finish(mut self) -> WorkerStats {
        let Worker {
            table,
            out,
            stats,
            settings,
            ctx,
            related,
            ..
        } = &mut self;
        stats.peak_flows = stats.peak_flows.max(table.len() as u64);
        let mut em = Emitter {
            out,
            stats,
            settings: *settings,
            ctx,
            related,
        };
        table.drain(&mut |f, r| em.end(f, r));
        let partial = self.defrag.clear();
        for _ in 0..partial {
            self.stats.decode.bump(DecodeError::FragmentTimeout);
        }
        self.flush();
        self.stats
    }

    /// Learns address → name pairs from a DNS response frame.
    fn learn_names(&mut self, raw: &RawPacket<'_>) {
        let depth = if self.settings.decapsulate {
            self.settings.max_depth
        } else {
            0
        };
        if let Some(msg) = crate::decode::dns_response_payload(raw.link, raw.data, depth) {
            self.names.learn(msg, raw.ts);
            self.stats.dns_names_learned = self.names.learned;
            self.stats.dns_cache_evictions = self.names.evictions;
        }
    }

    /// Decodes one frame and updates the flows it belongs to.
    pub fn process(&mut self, raw: &RawPacket<'_>) {
        self.stats.packets += 1;
        self.stats.bytes += raw.wire_len as u64;
        let net = match link::decode(raw.link, raw.data) {
            Ok(n) => n,
            Err(e) => return self.stats.decode.bump(e),
        };
        if net.ethertype != link::ETHERTYPE_IPV4 && net.ethertype != link::ETHERTYPE_IPV6 {
            return self.stats.decode.bump(DecodeError::NotIp);
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
            Err(e) => self.stats.decode.bump(e),
            Ok(IpLayer::Whole(p)) => self.process_packet(&p, layer, ts, frames),
            Ok(IpLayer::Fragment(f)) => {
                let context = layer.outer.map_or(0, |o| o.key.tunnel_digest(o.kind as u8))
                    ^ layer.vlan as u64;
                match self.defrag.offer(&f, context, ts, frames.bytes as u32) {
                    Offer::Held => {}
                    Offer::Dropped(e) => self.stats.decode.bump(e),
                    Offer::Complete {
                        proto,
                        payload,
                        frames: count,
                        frame_bytes,
                    } => {
                        self.stats.reassembled += 1;
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
                            Err(e) => self.stats.decode.bump(e),
                        }
                    }
                }
            }
        }
    }

    fn process_packet(&mut self, p: &Packet<'_>, layer: Layer, ts: Timestamp, frames: Frames) {
        let (key, flow_id, client_is_lo) = self.update_flow(p, &layer, ts, frames);
        if !self.settings.decapsulate {
            return;
        }
        let inner = match tunnel::inner(p) {
            Ok(Some(i)) => i,
            Ok(None) => return,
            Err(e) => return self.stats.decode.bump(e),
        };
        if layer.depth >= self.settings.max_depth {
            return self.stats.decode.bump(DecodeError::TunnelTooDeep);
        }
        self.stats.decapsulated += 1;
        let verified = match inner.start {
            InnerStart::Ip(_) => ip::parse(inner.data).is_ok(),
            InnerStart::Ethernet => link::ethernet(inner.data).is_ok(),
        };
        if verified {
            self.flag_encapsulation(&key, inner.kind, ts);
        }
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
        match inner.start {
            InnerStart::Ip(_) => self.process_ip(inner.data, inner_layer, ts, frames),
            InnerStart::Ethernet => match link::ethernet(inner.data) {
                Ok(n)
                    if n.ethertype == link::ETHERTYPE_IPV4
                        || n.ethertype == link::ETHERTYPE_IPV6 =>
                {
                    self.process_ip(n.data, inner_layer, ts, frames)
                }
                Ok(_) => self.stats.decode.bump(DecodeError::NotIp),
                Err(e) => self.stats.decode.bump(e),
            },
        }
    }

    /// The outer flow carried a packet whose inner headers decode: a
    /// tunnel detection for it (once).
    fn flag_encapsulation(&mut self, key: &FlowKey, kind: TunnelKind, ts: Timestamp) {
        let Worker {
            table,
            out,
            stats,
            settings,
            ctx,
            related,
            ..
        } = self;
        let Some(slot) = table.find(key) else { return };
        let f = table.get_mut(slot);
        if f.detect
            .detections
            .iter()
            .any(|d| d.evidence.get("encapsulation") == Some(kind.name()))
        {
            return;
        }
        let mut detect = std::mem::take(&mut f.detect);
        detect.on_encapsulation(kind, &f.facts(), ctx);
        f.detect = detect;
        if f.detect.alert_due() {
            let mut em = Emitter {
                out,
                stats,
                settings: *settings,
                ctx,
                related,
            };
            em.alert(f, ts);
        }
    }

    /// Finds or creates the packet's flow and updates it; returns what an
    /// encapsulated packet needs to name this flow as its parent.
    fn update_flow(
        &mut self,
        p: &Packet<'_>,
        layer: &Layer,
        ts: Timestamp,
        frames: Frames,
    ) -> (FlowKey, u64, bool) {
        let (sport, dport) = p.l4.ports();
        let parent = layer.outer.map_or(0, |o| o.key.tunnel_digest(o.kind as u8));
        let (key, src_is_lo) =
            FlowKey::new(p.src, sport, p.dst, dport, p.proto, layer.vlan, parent);
        let (flags, seq) = match p.l4 {
            L4::Tcp { flags, seq, .. } => (flags, seq),
            _ => (0, 0),
        };
        let Worker {
            table,
            out,
            stats,
            settings,
            names,
            ctx,
            related,
            ..
        } = self;
        let mut em = Emitter {
            out,
            stats,
            settings: *settings,
            ctx,
            related,
        };
        let mut slot = table.find(&key);
        if let Some(s) = slot {
            let f = table.get(s);
            let expired = ts.micros_since(f.last_ts) > table.timeout_us(f.timeout_class());
            let reused = p.proto == 6
                && f.tcp_state.is_closed()
                && flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
            if expired || reused {
                let f = table.remove(s);
                em.end(
                    f,
                    if expired {
                        EndReason::Timeout
                    } else {
                        EndReason::Reused
                    },
                );
                slot = None;
            }
        }
        let is_new = slot.is_none();
        let slot = match slot {
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
                if let Some(o) = layer.outer {
                    let (client, server) = if o.client_is_lo {
                        (o.key.lo, o.key.hi)
                    } else {
                        (o.key.hi, o.key.lo)
                    };
                    let (cport, sport) = if o.client_is_lo {
                        (o.key.lo_port, o.key.hi_port)
                    } else {
                        (o.key.hi_port, o.key.lo_port)
                    };
                    f.tunnel = Some(Box::new(TunnelParent {
                        flow_id: o.flow_id,
                        src: client,
                        dst: server,
                        src_port: cport,
                        dst_port: sport,
                        proto: o.key.proto,
                        kind: o.kind,
                        depth: layer.depth,
                    }));
                }
                f.dns_name = names.lookup(&f.server().0, ts);
                em.stats.flows += 1;
                let s = table.insert(f, &mut |f, r| em.end(f, r));
                em.stats.peak_flows = em.stats.peak_flows.max(table.len() as u64);
                s
            }
        };
        let f = table.get_mut(slot);
        let from_client = src_is_lo == f.client_is_lo;
        let d = if from_client { TO_SERVER } else { TO_CLIENT };
        let dir = if from_client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let payload = p.l4.payload();
        f.pkts[d] += frames.count as u64;
        f.bytes[d] += frames.bytes;
        f.payload_bytes[d] += payload.len() as u64;
        if ts > f.last_ts {
            f.last_ts = ts;
        }
        if is_new {
            let (client, server) = (f.client().0, f.server().0);
            let enrich = &em.ctx.enrich;
            let (ci, si) = (enrich.lookup(client.ip()), enrich.lookup(server.ip()));
            if !ci.is_empty() || !si.is_empty() {
                let home = &em.ctx.home;
                let found = crate::enrich::detections(
                    &ci,
                    &si,
                    home.contains(client),
                    home.contains(server),
                    true,
                );
                let mut detect = std::mem::take(&mut f.detect);
                detect.on_addresses(found, &f.facts(), em.ctx);
                f.detect = detect;
                if f.detect.alert_due() {
                    em.alert(f, ts);
                }
            }
        }
        let tcp = if p.proto == 6 {
            f.tcp_flags[d] |= flags;
            f.tcp_state = f.tcp_state.next(flags, from_client, &mut f.fin_seen);
            let syn_ack = tcp_flags::SYN | tcp_flags::ACK;
            let hs = &mut f.handshake;
            match (flags & syn_ack, from_client) {
                (tcp_flags::SYN, true) if hs.syn_ack.is_none() => hs.syn = Some(ts),
                (f2, false) if f2 == syn_ack && hs.syn_ack.is_none() => hs.syn_ack = Some(ts),
                (tcp_flags::ACK, true) if hs.syn_ack.is_some() && hs.ack.is_none() => {
                    hs.ack = Some(ts)
                }
                _ => {}
            }
            if flags & tcp_flags::SYN != 0 {
                f.app.on_syn(dir, seq);
            }
            Some((seq, flags))
        } else {
            None
        };
        if !payload.is_empty() && f.app.inspecting() {
            let pl = Payload {
                dir,
                ts,
                flow_start: f.first_ts,
                tcp,
                data: payload,
                proto: p.proto,
            };
            let index = f.app.inspected_packets();
            let (client_port, server_port) = (f.client().1, f.server().1);
            if f.app.on_payload(
                &pl,
                (client_port, server_port),
                em.settings.budget,
                &mut em.stats.inspect,
            ) {
                let view = PacketView {
                    dir,
                    index,
                    offset_us: ts.micros_since(f.first_ts),
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
                let mut detect = std::mem::take(&mut f.detect);
                detect.on_packet(&view, &f.facts(), em.ctx);
                detect.on_timing(|| f.rtt(&em.ctx.home), &f.facts(), em.ctx);
                f.detect = detect;
                if f.detect.alert_due() {
                    em.alert(f, ts);
                }
            }
        }
        let active = em.settings.active_timeout_us;
        if active > 0 && ts.micros_since(f.interval_start) >= active {
            f.interval_start = ts;
            f.interim_reports += 1;
            em.stats.interim_records += 1;
            em.write(f, None);
        }
        let result = (key, f.flow_id, f.client_is_lo);
        table.touch(slot);
        result
    }
}
