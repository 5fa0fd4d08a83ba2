//! The only place that wires stages and threads: one reader (this thread),
//! N workers fed by a symmetric flow hash over bounded channels, and one
//! writer. Files are read in order, as one continuous capture.

pub mod batch;
pub mod eve;
#[cfg(feature = "kafka")]
pub mod eve_kafka;
pub mod live;
pub mod shard;
pub mod worker;

pub use live::{LiveOutcome, LiveOutput, LiveRun, LiveSnapshot, OutputCounter, WriteOutput};

use crate::capture::{CaptureError, FileSource, PacketSource, Timestamp};
use crate::config::Config;
use crate::correlate::{Correlator, Observation};
use crate::stats::RunStats;
use batch::{Batch, Chunk};
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use std::io::Write;
use std::time::Instant;
use worker::Worker;

/// Capture time between forced hand-offs of partial batches, so quiet
/// workers still see the clock move and expire their flows.
const TICK_US: u64 = 1_000_000;

/// One input of an offline run.
#[derive(Clone, Debug)]
pub enum Input {
    /// A capture file.
    Path(std::path::PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// How errors name this input.
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_string(),
        }
    }
}

/// An input that stopped early, reported after the run finished.
#[derive(Debug)]
pub struct InputError {
    /// Which input.
    pub input: String,
    /// Why.
    pub error: CaptureError,
}

/// What an offline run produced.
pub struct RunOutcome {
    /// Counters.
    pub stats: RunStats,
    /// Inputs that failed, in order.
    pub errors: Vec<InputError>,
    /// The output could not be written (other than a closed pipe).
    pub output_error: Option<std::io::Error>,
    /// The correlation stage at the end of the run (host ranking for the
    /// report, its counters), when it ran.
    pub correlator: Option<Correlator>,
    /// What the analyst's report gathered from the stage's input, when a
    /// report was asked for.
    pub report: Option<crate::report::ReportBuilder>,
}

struct Fanout {
    senders: Vec<Sender<Batch>>,
    free: Receiver<Batch>,
    pending: Vec<Batch>,
    batch_packets: usize,
    tunnel_depth: u8,
    now: Timestamp,
    last_tick: Timestamp,
    /// Sequence number of the next batch sent.
    next_seq: u64,
    /// Index of the input being read (file or interface), tagged on frames.
    source: u16,
    /// Frames read so far over the whole run (offline `pcap_cnt`); stays 0
    /// live, where Suricata writes none either.
    count: u64,
    /// Whether frames are numbered (offline runs).
    numbered: bool,
}

impl Fanout {
    fn fresh(&self) -> Batch {
        match self.free.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Batch::with_capacity(self.batch_packets),
        }
    }

    fn send(&mut self, w: usize) {
        self.send_marked(w, None);
    }

    fn send_marked(&mut self, w: usize, release: Option<Timestamp>) {
        let fresh = self.fresh();
        let mut b = std::mem::replace(&mut self.pending[w], fresh);
        b.now = self.now;
        b.seq = self.next_seq;
        b.release = release;
        self.next_seq += 1;
        // A worker only goes away if it panicked; the join reports that.
        let _ = self.senders[w].send(b);
    }

    fn push(&mut self, p: &crate::capture::RawPacket<'_>) {
        if p.ts > self.now {
            self.now = p.ts;
        }
        if self.numbered {
            self.count += 1;
        }
        let (source, cnt) = (self.source, self.count);
        let route = shard::route(p.link, p.data, self.senders.len(), self.tunnel_depth);
        let w = route.worker;
        if route.dns_response || route.dns_query {
            let flag = if route.dns_response {
                batch::DNS_RESPONSE
            } else {
                batch::DNS_QUERY
            };
            self.pending[w].push_from(p, flag, source, cnt);
            for other in 0..self.senders.len() {
                if other != w {
                    self.pending[other].push_from(p, flag | batch::OBSERVE_ONLY, source, cnt);
                    if self.pending[other].len() >= self.batch_packets {
                        self.send(other);
                    }
                }
            }
        } else {
            self.pending[w].push_from(p, 0, source, cnt);
        }
        if self.pending[w].len() >= self.batch_packets {
            self.send(w);
        }
        if self.now.micros_since(self.last_tick) >= TICK_US {
            self.tick();
        }
    }

    /// Sends every worker its batch, empty or not, so each sees the clock
    /// move; the last one tells the writer that everything logged before
    /// now has arrived.
    fn tick(&mut self) {
        self.last_tick = self.now;
        let n = self.senders.len();
        for w in 0..n {
            let release = (w + 1 == n).then_some(self.now);
            self.send_marked(w, release);
        }
    }

    /// Moves the clock without a packet (live capture, idle link): every
    /// worker gets a batch, empty or not, once per tick so it can expire
    /// flows.
    fn advance(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
        if self.now.micros_since(self.last_tick) >= TICK_US {
            self.tick();
        }
    }

    /// Hands over every partial batch now.
    fn flush(&mut self) {
        for w in 0..self.senders.len() {
            if !self.pending[w].is_empty() {
                self.send(w);
            }
        }
    }

    /// End of input: every worker gets a last batch at the final clock, so
    /// flows still open are logged at the same capture time whatever the
    /// worker count.
    fn finish(&mut self) {
        for w in 0..self.senders.len() {
            self.send(w);
        }
    }
}

/// Reads every input in order through the engine and writes JSON Lines to
/// `out`. Input errors do not stop the run: the packets before the error are
/// processed, the next input is read, and the errors are returned.
/// `ctx` holds the detection settings and enrichment snapshot, loaded once
/// by the caller (so a broken database is reported before any packet).
/// With `report`, the flows the correlation stage reads are also gathered
/// for the analyst's report (returned in [`RunOutcome::report`]).
pub fn run_offline(
    inputs: &[Input],
    cfg: &Config,
    ctx: std::sync::Arc<crate::detect::engine::DetectCtx>,
    out: Box<dyn Write + Send>,
    report: bool,
) -> RunOutcome {
    let started = Instant::now();
    let workers = cfg.pipeline.worker_count();
    let (out_tx, out_rx) = bounded::<Chunk>(workers * 4);
    let (spare_tx, spare_rx) = unbounded::<Vec<u8>>();
    let correlator = if cfg.correlate.enabled {
        // Validated with the configuration, so this cannot fail here.
        Correlator::new(cfg.correlate_config()).ok()
    } else {
        None
    };
    let correlate = correlator.is_some();
    let writer = std::thread::Builder::new()
        .name("gw-writer".into())
        .spawn(move || write_all(out, out_rx, spare_tx, correlator, report))
        .expect("spawn writer thread");

    let (free_tx, free_rx) = unbounded::<Batch>();
    let mut senders = Vec::with_capacity(workers);
    let mut handles = Vec::with_capacity(workers);
    // `pcap_filename`: each file as named on the command line (standard
    // input has none).
    let sources: std::sync::Arc<[std::sync::Arc<str>]> = inputs
        .iter()
        .map(|i| match i {
            Input::Path(p) => std::sync::Arc::from(p.display().to_string()),
            Input::Stdin => std::sync::Arc::from(""),
        })
        .collect();
    for i in 0..workers {
        let (tx, rx) = bounded::<Batch>(cfg.pipeline.queue_batches);
        senders.push(tx);
        let mut w = Worker::ordered(
            cfg,
            workers,
            i,
            (out_tx.clone(), spare_rx.clone()),
            ctx.clone(),
            correlate,
        );
        w.set_sources(sources.clone(), false);
        let free_tx = free_tx.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("gw-worker-{i}"))
                .spawn(move || {
                    for b in rx {
                        w.run_batch(&b);
                        let _ = free_tx.send(b);
                    }
                    w.finish()
                })
                .expect("spawn worker thread"),
        );
    }
    drop(out_tx);
    drop(free_tx);

    let mut fan = Fanout {
        pending: (0..workers)
            .map(|_| Batch::with_capacity(cfg.pipeline.batch_packets))
            .collect(),
        senders,
        free: free_rx,
        batch_packets: cfg.pipeline.batch_packets,
        tunnel_depth: if cfg.decode.decapsulate {
            cfg.decode.max_tunnel_depth
        } else {
            0
        },
        now: Timestamp(0),
        last_tick: Timestamp(0),
        next_seq: 0,
        source: 0,
        count: 0,
        numbered: true,
    };
    let mut stats = RunStats {
        worker_count: workers,
        ..RunStats::default()
    };
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        fan.source = u16::try_from(i).unwrap_or(u16::MAX);
        match read_input(input, &mut fan) {
            Ok(()) => stats.inputs_ok += 1,
            Err(error) => {
                stats.inputs_failed += 1;
                errors.push(InputError {
                    input: input.name(),
                    error,
                });
            }
        }
    }
    fan.finish();
    drop(fan);
    for h in handles {
        match h.join() {
            Ok(ws) => stats.workers.merge(&ws),
            Err(_) => stats.worker_panics += 1,
        }
    }
    let (output_errors, output_error, stage) = writer.join().unwrap_or((1, None, None));
    let (correlator, report) = stage.map_or((None, None), |(c, r)| (Some(c), r));
    stats.output_errors = output_errors;
    stats.elapsed_secs = started.elapsed().as_secs_f64();
    RunOutcome {
        stats,
        errors,
        output_error,
        correlator,
        report,
    }
}

fn read_input(input: &Input, fan: &mut Fanout) -> Result<(), CaptureError> {
    match input {
        Input::Path(p) => pump(FileSource::open(p)?, fan),
        Input::Stdin => pump(FileSource::new(std::io::stdin().lock())?, fan),
    }
}

fn pump<S: PacketSource>(mut src: S, fan: &mut Fanout) -> Result<(), CaptureError> {
    while let Some(p) = src.next_packet()? {
        fan.push(&p);
    }
    Ok(())
}

/// The writer thread: the workers' chunks put back in the order the reader
/// sent their batches (then each worker's end-of-input output, in worker
/// order), so a run's output depends only on its input and worker count.
/// Chunks that arrive early wait; the reader's bounded queues bound how
/// many. Observations go to the correlation stage once a clock tick says
/// every earlier one has arrived, sorted by (logged time, flow id), so the
/// stage sees the same sequence whatever the worker count; its host alerts
/// are written in between. A closed pipe (`| head`) ends writing quietly;
/// other errors are returned.
type StageEnd = (Correlator, Option<crate::report::ReportBuilder>);

fn write_all(
    out: Box<dyn Write + Send>,
    rx: Receiver<Chunk>,
    spare: Sender<Vec<u8>>,
    correlator: Option<Correlator>,
    report: bool,
) -> (u64, Option<std::io::Error>, Option<StageEnd>) {
    let mut w = Sink {
        out: std::io::BufWriter::with_capacity(1 << 20, out),
        failed: 0,
        error: None,
    };
    let mut stage = correlator.map(|c| Stage::new(c, report));
    let mut next: u64 = 0;
    let mut early: std::collections::BTreeMap<u64, Chunk> = Default::default();
    let take = |mut c: Chunk, w: &mut Sink, stage: &mut Option<Stage>| {
        w.write(&c.data);
        // Back to the workers for reuse: a few buffers circulate instead of
        // one allocation per batch.
        if c.data.capacity() > 0 && c.data.capacity() <= 4 << 20 && spare.len() < 64 {
            let mut buf = std::mem::take(&mut c.data);
            buf.clear();
            let _ = spare.send(buf);
        }
        if let Some(st) = stage.as_mut() {
            st.add(c.observations);
            if let Some(t) = c.release {
                st.release(Some(t), w);
            }
        }
    };
    for chunk in rx {
        if chunk.seq != next {
            early.insert(chunk.seq, chunk);
            continue;
        }
        take(chunk, &mut w, &mut stage);
        next += 1;
        while let Some(c) = early.remove(&next) {
            take(c, &mut w, &mut stage);
            next += 1;
        }
    }
    for c in std::mem::take(&mut early).into_values() {
        take(c, &mut w, &mut stage);
    }
    let correlator = stage.map(|mut st| {
        st.release(None, &mut w);
        st.finish(&mut w)
    });
    if w.failed == 0
        && let Err(e) = w.out.flush()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        w.error = Some(e);
    }
    (w.failed, w.error, correlator)
}

/// The correlation stage inside the offline writer: observations wait,
/// sorted, until a tick releases them.
struct Stage {
    correlator: Correlator,
    report: Option<crate::report::ReportBuilder>,
    waiting: std::collections::BTreeMap<(Timestamp, u64, u64), Observation>,
    arrivals: u64,
    alerts: Vec<crate::correlate::HostAlert>,
    line: Vec<u8>,
}

impl Stage {
    fn new(correlator: Correlator, report: bool) -> Self {
        Stage {
            correlator,
            report: report.then(|| crate::report::ReportBuilder::new(Default::default())),
            waiting: Default::default(),
            arrivals: 0,
            alerts: Vec::new(),
            line: Vec::new(),
        }
    }

    fn add(&mut self, observations: Vec<(Timestamp, Observation)>) {
        for (at, o) in observations {
            self.arrivals += 1;
            self.waiting.insert((at, o.flow_id, self.arrivals), o);
        }
    }

    /// Feeds every observation logged before `before` (all with `None`).
    fn release(&mut self, before: Option<Timestamp>, w: &mut Sink) {
        while let Some(entry) = self.waiting.first_entry() {
            if before.is_some_and(|t| entry.key().0 >= t) {
                break;
            }
            let o = entry.remove();
            self.correlator.observe(&o, &mut self.alerts);
            if let Some(r) = self.report.as_mut() {
                r.add_observation(&o);
            }
        }
        self.write_alerts(w);
    }

    fn write_alerts(&mut self, w: &mut Sink) {
        for a in self.alerts.drain(..) {
            self.line.clear();
            a.to_json_line(&mut self.line);
            w.write(&self.line);
        }
    }

    fn finish(mut self, w: &mut Sink) -> StageEnd {
        self.correlator.finish(&mut self.alerts);
        self.write_alerts(w);
        (self.correlator, self.report)
    }
}

/// The offline output and what went wrong writing it.
struct Sink {
    out: std::io::BufWriter<Box<dyn Write + Send>>,
    failed: u64,
    error: Option<std::io::Error>,
}

impl Sink {
    /// Writes a chunk; after a failure only counts (the writer keeps
    /// draining so workers never block).
    fn write(&mut self, buf: &[u8]) {
        if self.error.is_some() || self.failed > 0 || buf.is_empty() {
            return;
        }
        if let Err(e) = self.out.write_all(buf) {
            self.failed += 1;
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                self.error = Some(e);
            }
        }
    }
}

/// The live writer thread: hands each chunk to `send`; after a failure it
/// keeps draining (so workers never block) and counts failed chunks.
fn write_chunks(
    rx: Receiver<Vec<u8>>,
    mut send: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> (u64, Option<std::io::Error>) {
    let mut failed: u64 = 0;
    let mut error = None;
    for buf in rx {
        if let Err(e) = send(&buf) {
            failed += 1;
            if error.is_none() {
                eprintln!("gateward: error: writing output: {e}");
                error = Some(e);
            }
        }
    }
    (failed, error)
}
