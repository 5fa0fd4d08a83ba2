//! Live runs: the offline engine (same workers, same writer) fed by one
//! reader thread per interface. Each reader owns its own [`Fanout`] into the
//! shared worker channels, so no lock sits on the packet path; the symmetric
//! flow hash keeps both directions of a flow on one worker.
//!
//! The clock is capture time, as offline; when an interface is quiet the
//! reader advances it with wall time at each read timeout so idle flows
//! still expire. Counters are published by workers and readers as
//! snapshots (a lock per batch or per second, never per packet).

use super::batch::Batch;
use super::worker::Worker;
use super::{Fanout, write_chunks};
use crate::capture::{CaptureError, CaptureStats, LiveSource, PacketSource, Poll, Timestamp};
use crate::config::Config;
use crate::detect::engine::DetectCtx;
use crate::stats::WorkerStats;
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How often workers hand buffered events to the writer and publish their
/// counters, at most.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// Longest a frame waits in a partial batch, in capture microseconds.
const HANDOFF_US: u64 = 100_000;
/// How often readers read the kernel's capture counters.
const CAPTURE_STATS_EVERY: Duration = Duration::from_secs(1);

/// One counter of an output, for the stats event and `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputCounter {
    /// Which output (`stdout`, `file`, `syslog`, ...).
    pub output: String,
    /// What is counted (`sent`, `dropped`, `retried`, ...).
    pub name: String,
    /// The value.
    pub value: u64,
}

/// Where a live run's events go. Implemented here for any `Write`
/// ([`WriteOutput`], used for stdout) and by the sink set for the
/// configured outputs. Called from the writer thread (`send`), the control
/// thread (`reopen`, `shutdown`) and the stats reader (`counters`).
pub trait LiveOutput: Send + Sync {
    /// Takes whole JSON lines (one or more, newline-terminated).
    fn send(&self, buf: &[u8]) -> std::io::Result<()>;
    /// Reopens files (SIGHUP, after logrotate moved them).
    fn reopen(&self) -> std::io::Result<()> {
        Ok(())
    }
    /// Per-output counters.
    fn counters(&self) -> Vec<OutputCounter> {
        Vec::new()
    }
    /// Delivers what is queued, giving up at `deadline`.
    fn shutdown(&self, deadline: Instant) -> std::io::Result<()>;
}

/// A [`LiveOutput`] over any writer (standard output): flushed after every
/// chunk, so events appear as they are made.
pub struct WriteOutput {
    name: String,
    out: Mutex<Box<dyn Write + Send>>,
    sent: AtomicU64,
    failed: AtomicU64,
}

impl WriteOutput {
    /// Wraps a writer; `name` labels its counters.
    pub fn new(name: &str, out: Box<dyn Write + Send>) -> Self {
        WriteOutput {
            name: name.to_string(),
            out: Mutex::new(out),
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }
}

impl LiveOutput for WriteOutput {
    fn send(&self, buf: &[u8]) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let r = out.write_all(buf).and_then(|_| out.flush());
        match &r {
            Ok(()) => self.sent.fetch_add(bytecount_lines(buf), Ordering::Relaxed),
            Err(_) => self
                .failed
                .fetch_add(bytecount_lines(buf), Ordering::Relaxed),
        };
        r
    }

    fn counters(&self) -> Vec<OutputCounter> {
        vec![
            OutputCounter {
                output: self.name.clone(),
                name: "sent".into(),
                value: self.sent.load(Ordering::Relaxed),
            },
            OutputCounter {
                output: self.name.clone(),
                name: "failed".into(),
                value: self.failed.load(Ordering::Relaxed),
            },
        ]
    }

    fn shutdown(&self, _deadline: Instant) -> std::io::Result<()> {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

fn bytecount_lines(buf: &[u8]) -> u64 {
    buf.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Kernel and reader counters of one interface.
#[derive(Debug, Default)]
struct InterfaceShared {
    name: String,
    received: AtomicU64,
    dropped: AtomicU64,
    if_dropped: AtomicU64,
    packets: AtomicU64,
    running: AtomicBool,
    error: Mutex<Option<String>>,
}

/// A point-in-time view of a live run's counters.
#[derive(Clone, Debug, Default)]
pub struct LiveSnapshot {
    /// Seconds since the run started.
    pub uptime_secs: u64,
    /// Worker counters summed (as of each worker's last publication).
    pub workers: WorkerStats,
    /// Worker threads.
    pub worker_count: usize,
    /// Flows held now, all workers.
    pub open_flows: u64,
    /// Per interface: name, kernel counters, frames read.
    pub interfaces: Vec<(String, CaptureStats, u64)>,
    /// Output counters.
    pub outputs: Vec<OutputCounter>,
    /// Successful reloads.
    pub reloads: u64,
    /// Reloads refused (old settings kept).
    pub reload_failures: u64,
    /// The correlation stage's counters, when it runs.
    pub correlate: Option<crate::correlate::CorrelateStats>,
}

impl LiveSnapshot {
    /// Kernel counters summed over interfaces.
    pub fn capture_totals(&self) -> CaptureStats {
        let mut t = CaptureStats::default();
        for (_, s, _) in &self.interfaces {
            t.received += s.received;
            t.dropped += s.dropped;
            t.if_dropped += s.if_dropped;
        }
        t
    }
}

struct Shared {
    started: Instant,
    workers: Vec<Mutex<(WorkerStats, u64)>>,
    interfaces: Vec<InterfaceShared>,
    ctx: Mutex<Arc<DetectCtx>>,
    ctx_generation: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
    /// The live correlation stage's counters, published by its thread.
    correlate: Option<Mutex<crate::correlate::CorrelateStats>>,
}

/// What a finished live run reports.
#[derive(Debug, Default)]
pub struct LiveOutcome {
    /// The last snapshot (after every flow was flushed).
    pub snapshot: LiveSnapshot,
    /// Interfaces whose reader stopped with an error.
    pub capture_errors: Vec<String>,
    /// Worker threads that panicked.
    pub worker_panics: u64,
    /// Output failures (write errors, or not drained by the deadline).
    pub output_error: Option<String>,
}

/// A running live capture. Start it with [`LiveRun::start`], steer it with
/// [`LiveRun::reload`] / [`LiveRun::reopen`], end it with [`LiveRun::stop`].
pub struct LiveRun {
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    readers: Vec<JoinHandle<()>>,
    workers: Vec<JoinHandle<WorkerStats>>,
    writer: Option<JoinHandle<(u64, Option<std::io::Error>)>>,
    writer_done: Receiver<()>,
    out_tx: Option<Sender<Vec<u8>>>,
    output: Arc<dyn LiveOutput>,
    worker_count: usize,
    /// The correlation thread (ends once every worker has).
    correlation: Option<JoinHandle<()>>,
}

impl LiveRun {
    /// Starts one reader thread per source, the workers and the writer.
    /// The sources are already open (so privileges can be dropped before
    /// this is called).
    pub fn start(
        sources: Vec<LiveSource>,
        cfg: &Config,
        ctx: Arc<DetectCtx>,
        output: Arc<dyn LiveOutput>,
    ) -> LiveRun {
        let workers = cfg.pipeline.worker_count();
        let correlator = if cfg.correlate.enabled {
            // Validated with the configuration, so this cannot fail here.
            crate::correlate::Correlator::new(cfg.correlate_config()).ok()
        } else {
            None
        };
        let (out_tx, out_rx) = bounded::<Vec<u8>>(workers * 4);
        let (done_tx, writer_done) = bounded::<()>(1);
        let w_out = output.clone();
        let writer = std::thread::Builder::new()
            .name("gw-writer".into())
            .spawn(move || {
                let r = write_chunks(out_rx, |buf| w_out.send(buf));
                let _ = done_tx.send(());
                r
            })
            .expect("spawn writer thread");
        let shared = Arc::new(Shared {
            started: Instant::now(),
            workers: (0..workers)
                .map(|_| Mutex::new((WorkerStats::default(), 0)))
                .collect(),
            interfaces: sources
                .iter()
                .map(|s| InterfaceShared {
                    name: s.interface().to_string(),
                    running: AtomicBool::new(true),
                    ..Default::default()
                })
                .collect(),
            ctx: Mutex::new(ctx.clone()),
            ctx_generation: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            correlate: correlator.as_ref().map(|c| Mutex::new(c.stats().clone())),
        });
        // The correlation stage: finished flows in arrival order (live
        // capture has no global order), host alerts into the output queue.
        let (obs_tx, correlation) = match correlator {
            Some(mut c) => {
                let (tx, rx) =
                    bounded::<Vec<(Timestamp, crate::correlate::Observation)>>(workers * 4);
                let alerts_out = out_tx.clone();
                let shared = shared.clone();
                let h = std::thread::Builder::new()
                    .name("gw-correlate".into())
                    .spawn(move || {
                        let mut alerts = Vec::new();
                        let publish = |c: &crate::correlate::Correlator,
                                           alerts: &mut Vec<crate::correlate::HostAlert>| {
                            let mut buf = Vec::new();
                            for a in alerts.drain(..) {
                                a.to_json_line(&mut buf);
                            }
                            if !buf.is_empty() {
                                let _ = alerts_out.send(buf);
                            }
                            if let Some(m) = &shared.correlate {
                                *m.lock().unwrap_or_else(|e| e.into_inner()) = c.stats().clone();
                            }
                        };
                        for mut batch in rx {
                            batch.sort_by_key(|(t, o)| (*t, o.flow_id));
                            for (_, o) in &batch {
                                c.observe(o, &mut alerts);
                            }
                            publish(&c, &mut alerts);
                        }
                        c.finish(&mut alerts);
                        publish(&c, &mut alerts);
                    })
                    .expect("spawn correlation thread");
                (Some(tx), Some(h))
            }
            None => (None, None),
        };

        let (free_tx, free_rx) = unbounded::<Batch>();
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        // `in_iface`: the interface each reader captures on.
        let interfaces: Arc<[Arc<str>]> = shared
            .interfaces
            .iter()
            .map(|i| Arc::from(i.name.as_str()))
            .collect();
        for i in 0..workers {
            let (tx, rx) = bounded::<Batch>(cfg.pipeline.queue_batches);
            senders.push(tx);
            let mut w = Worker::with_ctx(cfg, workers, out_tx.clone(), ctx.clone());
            w.set_sources(interfaces.clone(), true);
            w.set_types(cfg.output.live_types());
            if let Some(tx) = &obs_tx {
                w.observe_to(tx.clone());
            }
            let free_tx = free_tx.clone();
            let shared = shared.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("gw-worker-{i}"))
                    .spawn(move || {
                        let mut generation = 0;
                        let mut last_publish = Instant::now();
                        for b in rx {
                            let g = shared.ctx_generation.load(Ordering::Acquire);
                            if g != generation {
                                generation = g;
                                let c = shared.ctx.lock().unwrap_or_else(|e| e.into_inner());
                                w.set_ctx(c.clone());
                            }
                            w.run_batch(&b);
                            let _ = free_tx.send(b);
                            if last_publish.elapsed() >= PUBLISH_EVERY {
                                last_publish = Instant::now();
                                w.flush_output();
                                let mut slot =
                                    shared.workers[i].lock().unwrap_or_else(|e| e.into_inner());
                                *slot = (w.stats().clone(), w.open_flows() as u64);
                            }
                        }
                        let stats = w.finish();
                        *shared.workers[i].lock().unwrap_or_else(|e| e.into_inner()) =
                            (stats.clone(), 0);
                        stats
                    })
                    .expect("spawn worker thread"),
            );
        }
        drop(free_tx);
        drop(obs_tx);

        let stop = Arc::new(AtomicBool::new(false));
        let tunnel_depth = if cfg.decode.decapsulate {
            cfg.decode.max_tunnel_depth
        } else {
            0
        };
        let mut readers = Vec::with_capacity(sources.len());
        for (idx, src) in sources.into_iter().enumerate() {
            let fan = Fanout {
                pending: (0..workers)
                    .map(|_| Batch::with_capacity(cfg.pipeline.batch_packets))
                    .collect(),
                senders: senders.clone(),
                free: free_rx.clone(),
                batch_packets: cfg.pipeline.batch_packets,
                tunnel_depth,
                now: Timestamp(0),
                last_tick: Timestamp(0),
                next_seq: 0,
                source: u16::try_from(idx).unwrap_or(u16::MAX),
                count: 0,
                numbered: false,
            };
            let stop = stop.clone();
            let shared = shared.clone();
            readers.push(
                std::thread::Builder::new()
                    .name(format!("gw-capture-{}", src.interface()))
                    .spawn(move || {
                        let me = &shared.interfaces[idx];
                        if let Err(e) = read_live(src, fan, &stop, me) {
                            eprintln!("gateward: error: capture stopped: {e}");
                            *me.error.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(e.to_string());
                        }
                        me.running.store(false, Ordering::Release);
                    })
                    .expect("spawn capture thread"),
            );
        }
        drop(senders);

        LiveRun {
            stop,
            shared,
            readers,
            workers: handles,
            writer: Some(writer),
            writer_done,
            out_tx: Some(out_tx),
            output,
            worker_count: workers,
            correlation,
        }
    }

    /// Swaps in new detection settings: each worker takes them before its
    /// next batch, so no flow is dropped and no packet sees half of each.
    pub fn reload(&self, ctx: Arc<DetectCtx>) {
        *self.shared.ctx.lock().unwrap_or_else(|e| e.into_inner()) = ctx;
        self.shared.ctx_generation.fetch_add(1, Ordering::AcqRel);
        self.shared.reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reload that was refused (the caller logs why).
    pub fn reload_failed(&self) {
        self.shared.reload_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Reopens the outputs (SIGHUP).
    pub fn reopen(&self) -> std::io::Result<()> {
        self.output.reopen()
    }

    /// Writes extra lines (the stats event) into the output stream.
    pub fn emit(&self, line: Vec<u8>) {
        if let Some(tx) = &self.out_tx {
            let _ = tx.send(line);
        }
    }

    /// Interfaces whose reader is still running.
    pub fn capturing(&self) -> usize {
        self.shared
            .interfaces
            .iter()
            .filter(|i| i.running.load(Ordering::Acquire))
            .count()
    }

    /// Current counters.
    pub fn snapshot(&self) -> LiveSnapshot {
        let mut s = LiveSnapshot {
            uptime_secs: self.shared.started.elapsed().as_secs(),
            worker_count: self.worker_count,
            reloads: self.shared.reloads.load(Ordering::Relaxed),
            reload_failures: self.shared.reload_failures.load(Ordering::Relaxed),
            outputs: self.output.counters(),
            correlate: self
                .shared
                .correlate
                .as_ref()
                .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            ..Default::default()
        };
        for w in &self.shared.workers {
            let g = w.lock().unwrap_or_else(|e| e.into_inner());
            s.workers.merge(&g.0);
            s.open_flows += g.1;
        }
        for i in &self.shared.interfaces {
            s.interfaces.push((
                i.name.clone(),
                CaptureStats {
                    received: i.received.load(Ordering::Relaxed),
                    dropped: i.dropped.load(Ordering::Relaxed),
                    if_dropped: i.if_dropped.load(Ordering::Relaxed),
                },
                i.packets.load(Ordering::Relaxed),
            ));
        }
        s
    }

    /// Stops capture, ends every flow (their records are written), writes
    /// `last` (e.g. a final stats event built from the final counters), and
    /// drains the output, giving up at `deadline`.
    pub fn stop(
        mut self,
        deadline: Instant,
        last: impl FnOnce(&LiveSnapshot) -> Option<Vec<u8>>,
    ) -> LiveOutcome {
        self.stop.store(true, Ordering::Release);
        let mut outcome = LiveOutcome::default();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        for w in self.workers.drain(..) {
            if w.join().is_err() {
                outcome.worker_panics += 1;
            }
        }
        if let Some(c) = self.correlation.take()
            && c.join().is_err()
        {
            outcome.worker_panics += 1;
        }
        outcome.snapshot = self.snapshot();
        if let Some(line) = last(&outcome.snapshot) {
            self.emit(line);
        }
        self.out_tx = None; // the writer ends once the queue is empty
        let remaining = deadline.saturating_duration_since(Instant::now());
        match self.writer_done.recv_timeout(remaining) {
            Ok(()) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                if let Some(h) = self.writer.take()
                    && let Ok((failed, err)) = h.join()
                    && (failed > 0 || err.is_some())
                {
                    outcome.output_error = Some(match err {
                        Some(e) => e.to_string(),
                        None => format!("{failed} output writes failed"),
                    });
                }
            }
            Err(_) => {
                outcome.output_error =
                    Some("output not drained within daemon.shutdown_deadline".into())
            }
        }
        if let Err(e) = self.output.shutdown(deadline)
            && outcome.output_error.is_none()
        {
            outcome.output_error = Some(e.to_string());
        }
        outcome.snapshot.outputs = self.output.counters();
        for i in &self.shared.interfaces {
            if let Some(e) = i.error.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                outcome.capture_errors.push(format!("{}: {e}", i.name));
            }
        }
        outcome
    }
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_micros().min(u64::MAX as u128) as u64)
}

fn publish_capture(src: &mut LiveSource, me: &InterfaceShared, packets: u64) {
    if let Some(s) = src.stats() {
        me.received.store(s.received, Ordering::Relaxed);
        me.dropped.store(s.dropped, Ordering::Relaxed);
        me.if_dropped.store(s.if_dropped, Ordering::Relaxed);
    }
    me.packets.store(packets, Ordering::Relaxed);
}

/// One interface's reader: frames into the fanout until told to stop; on a
/// read timeout the clock moves to wall time (live timestamps are wall
/// time) so quiet workers expire their flows.
fn read_live(
    mut src: LiveSource,
    mut fan: Fanout,
    stop: &AtomicBool,
    me: &InterfaceShared,
) -> Result<(), CaptureError> {
    let mut packets: u64 = 0;
    let mut last_stats = Instant::now();
    let mut last_handoff = Timestamp(0);
    let result = loop {
        if stop.load(Ordering::Acquire) {
            break Ok(());
        }
        match src.poll_packet() {
            Ok(Poll::Packet(p)) => {
                fan.push(&p);
                packets += 1;
                // Partial batches leave at least every HANDOFF_US of capture
                // time, so a slow link's alerts are not held for a full batch.
                if p.ts.micros_since(last_handoff) >= HANDOFF_US {
                    last_handoff = p.ts;
                    fan.flush();
                }
                if !packets.is_multiple_of(64) {
                    continue;
                }
            }
            Ok(Poll::Idle) => {
                fan.flush();
                fan.advance(wall_now());
            }
            Ok(Poll::End) => break Ok(()),
            Err(e) => break Err(e),
        }
        if last_stats.elapsed() >= CAPTURE_STATS_EVERY {
            last_stats = Instant::now();
            publish_capture(&mut src, me, packets);
        }
    };
    publish_capture(&mut src, me, packets);
    fan.flush();
    result
}
