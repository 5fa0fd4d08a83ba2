//! Outputs behind bounded queues (`[[output.sink]]`, docs/sinks.md).
//!
//! Each sink is one thread fed by a bounded channel of lines. When the queue
//! is full the policy decides: `block` waits (back-pressure up to the
//! workers), `drop_newest` discards the new line and counts it. A failed
//! write is retried with exponential backoff, reconnecting first, until it
//! succeeds or the shutdown deadline passes; whatever is left then is
//! counted as dropped. So for every sink, after [`SinkSet::shutdown`],
//! `sent + dropped` equals the lines handed to [`SinkSet::send`]: no line is
//! lost without being counted.

#[cfg(feature = "kafka")]
mod kafka;
pub mod syslog;
pub mod transport;

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use transport::Transport;

/// Kind of sink (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// EVE JSON Lines appended to `path`; reopened on SIGHUP.
    File,
    /// EVE JSON Lines on standard output.
    Stdout,
    /// Newline-framed lines to a Unix stream socket at `path`.
    UnixStream,
    /// One line per datagram to a Unix datagram socket at `path`.
    UnixDgram,
    /// RFC 5424 syslog to `address` over `protocol`.
    Syslog,
    /// One message per line to Kafka `topic` on `brokers` (cargo feature
    /// `kafka`; refused at validation without it).
    Kafka,
}

/// Syslog transport (`protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogProtocol {
    /// RFC 5426: one message per datagram, truncated at 65,507 bytes.
    Udp,
    /// RFC 6587 octet counting.
    Tcp,
    /// RFC 5425: octet counting inside TLS.
    Tls,
}

/// What `send` does when a sink's queue is full (`when_full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait for room: nothing is dropped, the pipeline slows down.
    Block,
    /// Discard the new line and count it in `dropped`.
    DropNewest,
}

/// One `[[output.sink]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// `file`, `stdout`, `unix_stream`, `unix_dgram`, `syslog` or `kafka`.
    #[serde(rename = "type")]
    pub kind: SinkKind,
    /// Label in counters and logs (default `TYPE:PATH` or `TYPE:ADDRESS`).
    #[serde(default)]
    pub name: Option<String>,
    /// File or socket path (`file`, `unix_stream`, `unix_dgram`).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Syslog server `host:port` (`syslog`).
    #[serde(default)]
    pub address: Option<String>,
    /// Syslog transport: `udp`, `tcp` or `tls` (default `tcp`).
    #[serde(default)]
    pub protocol: Option<SyslogProtocol>,
    /// PEM file of the CA certificates that may sign the syslog server's
    /// certificate (`tls`; default: the Mozilla root store).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Name the server certificate must carry (`tls`; default: the host
    /// part of `address`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Lines queued before `when_full` applies (default 65536).
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// `block` or `drop_newest` (default `block` for `file` and `stdout`,
    /// `drop_newest` for sockets and syslog, so a dead SIEM never stalls
    /// capture).
    #[serde(default)]
    pub when_full: Option<WhenFull>,
    /// First retry delay after a failure, ms (default 100).
    #[serde(default = "default_retry_min")]
    pub retry_min_ms: u64,
    /// Longest retry delay, ms; the delay doubles up to it (default 10000).
    #[serde(default = "default_retry_max")]
    pub retry_max_ms: u64,
    /// Syslog APP-NAME (default `gateward`, at most 48 characters).
    #[serde(default)]
    pub app_name: Option<String>,
    /// Syslog HOSTNAME (default: the system's host name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// Syslog facility (default `local0`).
    #[serde(default)]
    pub facility: Option<syslog::Facility>,
    /// Kafka bootstrap brokers, comma-separated `host:port` (`kafka`).
    #[serde(default)]
    pub brokers: Option<String>,
    /// Kafka topic (`kafka`).
    #[serde(default)]
    pub topic: Option<String>,
    /// How long librdkafka keeps retrying a message before its delivery
    /// fails and it is counted as dropped, ms (`kafka`; default 300000).
    #[serde(default)]
    pub message_timeout_ms: Option<u64>,
}

fn default_queue() -> usize {
    65_536
}
fn default_retry_min() -> u64 {
    100
}
fn default_retry_max() -> u64 {
    10_000
}

impl SinkConfig {
    /// A sink of `kind` with every default (tests and programmatic use).
    pub fn new(kind: SinkKind) -> Self {
        SinkConfig {
            kind,
            name: None,
            path: None,
            address: None,
            protocol: None,
            ca_file: None,
            server_name: None,
            queue: default_queue(),
            when_full: None,
            retry_min_ms: default_retry_min(),
            retry_max_ms: default_retry_max(),
            app_name: None,
            hostname: None,
            facility: None,
            brokers: None,
            topic: None,
            message_timeout_ms: None,
        }
    }

    /// The effective when-full policy.
    pub fn policy(&self) -> WhenFull {
        self.when_full.unwrap_or(match self.kind {
            SinkKind::File | SinkKind::Stdout => WhenFull::Block,
            _ => WhenFull::DropNewest,
        })
    }

    /// The label used in counters.
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let kind = match self.kind {
            SinkKind::File => "file",
            SinkKind::Stdout => "stdout",
            SinkKind::UnixStream => "unix_stream",
            SinkKind::UnixDgram => "unix_dgram",
            SinkKind::Syslog => "syslog",
            SinkKind::Kafka => "kafka",
        };
        if let Some(t) = &self.topic {
            return format!("{kind}:{t}");
        }
        match (&self.path, &self.address) {
            (Some(p), _) => format!("{kind}:{}", p.display()),
            (None, Some(a)) => format!("{kind}:{a}"),
            _ => kind.to_string(),
        }
    }

    /// Checks the keys that make sense together (without opening anything).
    pub fn validate(&self) -> Result<(), String> {
        if self.kind == SinkKind::Kafka && !cfg!(feature = "kafka") {
            return Err("built without Kafka support: rebuild with --features kafka".into());
        }
        self.validate_kafka_keys()?;
        let is_syslog = self.kind == SinkKind::Syslog;
        let needs_path = matches!(
            self.kind,
            SinkKind::File | SinkKind::UnixStream | SinkKind::UnixDgram
        );
        if needs_path && self.path.is_none() {
            return Err("`path` is required for this type".into());
        }
        if !needs_path && self.path.is_some() {
            return Err("`path` is only for file, unix_stream and unix_dgram".into());
        }
        if is_syslog {
            let a = self
                .address
                .as_deref()
                .ok_or("`address` (host:port) is required for syslog")?;
            let (host, port) = a
                .rsplit_once(':')
                .ok_or_else(|| format!("address `{a}` is not host:port"))?;
            if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!("address `{a}` is not host:port"));
            }
        } else {
            for (key, set) in [
                ("address", self.address.is_some()),
                ("protocol", self.protocol.is_some()),
                ("app_name", self.app_name.is_some()),
                ("hostname", self.hostname.is_some()),
                ("facility", self.facility.is_some()),
            ] {
                if set {
                    return Err(format!("`{key}` is only for syslog"));
                }
            }
        }
        if self.protocol != Some(SyslogProtocol::Tls)
            && (self.ca_file.is_some() || self.server_name.is_some())
        {
            return Err("`ca_file` and `server_name` are only for syslog over tls".into());
        }
        if self.queue == 0 {
            return Err("`queue` must be at least 1".into());
        }
        if self.retry_min_ms == 0 || self.retry_min_ms > self.retry_max_ms {
            return Err("`retry_min_ms` must be at least 1 and at most `retry_max_ms`".into());
        }
        if let Some(a) = &self.app_name
            && !syslog::header_field_ok(a, 48)
        {
            return Err("`app_name` must be 1 to 48 printable ASCII characters, no spaces".into());
        }
        if let Some(h) = &self.hostname
            && !syslog::header_field_ok(h, 255)
        {
            return Err("`hostname` must be 1 to 255 printable ASCII characters, no spaces".into());
        }
        Ok(())
    }

    fn validate_kafka_keys(&self) -> Result<(), String> {
        if self.kind != SinkKind::Kafka {
            for (key, set) in [
                ("brokers", self.brokers.is_some()),
                ("topic", self.topic.is_some()),
                ("message_timeout_ms", self.message_timeout_ms.is_some()),
            ] {
                if set {
                    return Err(format!("`{key}` is only for kafka"));
                }
            }
            return Ok(());
        }
        let brokers = self
            .brokers
            .as_deref()
            .ok_or("`brokers` (comma-separated host:port) is required for kafka")?;
        for b in brokers.split(',') {
            let b = b.trim();
            let ok = b
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p != 0));
            if !ok {
                return Err(format!("broker `{b}` in `brokers` is not host:port"));
            }
        }
        let topic = self
            .topic
            .as_deref()
            .ok_or("`topic` is required for kafka")?;
        if topic.is_empty()
            || topic.len() > 249
            || topic == "."
            || topic == ".."
            || !topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(format!(
                "topic `{topic}` is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)"
            ));
        }
        if let Some(ms) = self.message_timeout_ms
            && !(1..=i32::MAX as u64).contains(&ms)
        {
            return Err("`message_timeout_ms` must be at least 1".into());
        }
        Ok(())
    }
}

/// Checks every sink (`gateward validate`); errors name `output.sink[i]`.
/// Also reads TLS `ca_file`s, so a bad bundle is caught before start.
pub fn validate_all(sinks: &[SinkConfig]) -> Result<(), String> {
    for (i, s) in sinks.iter().enumerate() {
        s.validate().map_err(|e| format!("output.sink[{i}]: {e}"))?;
        if s.protocol == Some(SyslogProtocol::Tls) {
            transport::tls_config(s.ca_file.as_deref())
                .map_err(|e| format!("output.sink[{i}].ca_file: {e}"))?;
        }
    }
    Ok(())
}

/// One sink's counters, in lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SinkCounters {
    /// The sink's label.
    pub name: String,
    /// Written successfully.
    pub sent: u64,
    /// Lost, every one counted: queue full under `drop_newest`, still queued
    /// when the shutdown deadline passed, or refused by the destination as
    /// too large (datagrams).
    pub dropped: u64,
    /// Delivered on a later attempt after a failed one (reconnect/rewrite).
    pub retried: u64,
    /// Failed operations (connect, write, open), each one.
    pub errors: u64,
    /// Syslog UDP messages cut at 65,507 bytes (still sent).
    pub truncated: u64,
    /// Waiting in the queue or in the sink thread now.
    pub queued: u64,
}

#[derive(Default)]
struct Shared {
    sent: AtomicU64,
    dropped: AtomicU64,
    retried: AtomicU64,
    errors: AtomicU64,
    truncated: AtomicU64,
    inflight: AtomicU64,
    reopen: AtomicBool,
    interrupt: AtomicBool,
    deadline: OnceLock<Instant>,
}

impl Shared {
    fn past_deadline(&self) -> bool {
        self.deadline.get().is_some_and(|d| Instant::now() >= *d)
    }
}

/// One line (without its newline) inside a buffer shared by every sink.
struct Line {
    buf: Arc<[u8]>,
    start: usize,
    end: usize,
}

impl Line {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

struct Sink {
    name: String,
    policy: WhenFull,
    tx: Sender<Line>,
    shared: Arc<Shared>,
    thread: std::thread::JoinHandle<()>,
}

/// Every configured sink, each with its thread and queue.
pub struct SinkSet {
    sinks: Vec<Sink>,
}

/// How lines become bytes on the wire.
#[derive(Clone)]
enum Framing {
    /// `LINE\n` on a stream or file.
    Newline,
    /// The line alone, one datagram.
    Datagram,
    /// RFC 5424 message, one datagram, capped.
    SyslogUdp(Arc<syslog::Header>),
    /// RFC 6587 octet counting: `LEN SP MSG`.
    SyslogOctet(Arc<syslog::Header>),
}

impl Framing {
    fn datagram(&self) -> bool {
        matches!(self, Framing::Datagram | Framing::SyslogUdp(_))
    }

    /// Appends the framed line; true when it had to be truncated.
    fn frame(&self, line: &[u8], out: &mut Vec<u8>) -> bool {
        match self {
            Framing::Newline => {
                out.extend_from_slice(line);
                out.push(b'\n');
                false
            }
            Framing::Datagram => {
                out.extend_from_slice(line);
                false
            }
            Framing::SyslogUdp(h) => {
                let start = out.len();
                h.write(line, out);
                if out.len() - start > syslog::MAX_UDP_MESSAGE {
                    out.truncate(start + syslog::MAX_UDP_MESSAGE);
                    return true;
                }
                false
            }
            Framing::SyslogOctet(h) => {
                let mut msg = Vec::with_capacity(line.len() + 96);
                h.write(line, &mut msg);
                out.extend_from_slice(msg.len().to_string().as_bytes());
                out.push(b' ');
                out.extend_from_slice(&msg);
                false
            }
        }
    }
}

impl SinkSet {
    /// Starts one thread per sink. Errors name `output.sink[i]`. File sinks
    /// are opened here, so a bad path fails at start; sockets connect
    /// lazily (a peer that is down at start is retried while the queue
    /// holds the lines).
    pub fn from_config(cfgs: &[SinkConfig]) -> Result<SinkSet, String> {
        validate_all(cfgs)?;
        let mut prepared = Vec::with_capacity(cfgs.len());
        for (i, c) in cfgs.iter().enumerate() {
            let out = build(c).map_err(|e| format!("output.sink[{i}] ({}): {e}", c.label()))?;
            prepared.push((c, out));
        }
        let mut sinks = Vec::with_capacity(prepared.len());
        for (i, (c, out)) in prepared.into_iter().enumerate() {
            let (tx, rx) = crossbeam_channel::bounded::<Line>(c.queue);
            let shared = Arc::new(Shared::default());
            let (t, framing) = match out {
                Built::Stream(t, framing) => (t, framing),
                #[cfg(feature = "kafka")]
                Built::Kafka(k) => {
                    let worker = k.start(c.label(), rx, shared.clone());
                    let thread = std::thread::Builder::new()
                        .name(format!("gw-sink-{i}"))
                        .spawn(move || worker.run())
                        .map_err(|e| format!("output.sink[{i}]: cannot start thread: {e}"))?;
                    sinks.push(Sink {
                        name: c.label(),
                        policy: c.policy(),
                        tx,
                        shared,
                        thread,
                    });
                    continue;
                }
            };
            let worker = SinkThread {
                name: c.label(),
                rx,
                shared: shared.clone(),
                t,
                framing,
                retry_min: Duration::from_millis(c.retry_min_ms),
                retry_max: Duration::from_millis(c.retry_max_ms),
                pending: Vec::new(),
                ends: VecDeque::new(),
                written: 0,
                front_start: 0,
                failed_lines: 0,
                batch_lines: c.queue.min(BATCH_LINES),
                stdout: c.kind == SinkKind::Stdout,
                discard: false,
                resumable: matches!(c.kind, SinkKind::File | SinkKind::Stdout),
                last_log: None,
            };
            let thread = std::thread::Builder::new()
                .name(format!("gw-sink-{i}"))
                .spawn(move || worker.run())
                .map_err(|e| format!("output.sink[{i}]: cannot start thread: {e}"))?;
            sinks.push(Sink {
                name: c.label(),
                policy: c.policy(),
                tx,
                shared,
                thread,
            });
        }
        Ok(SinkSet { sinks })
    }

    /// Whether no sink is configured.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Queues one or many `\n`-terminated JSON lines on every sink (a last
    /// line without `\n` counts too; empty lines are skipped). Blocks only
    /// on `block` sinks whose queue is full, until room is made or
    /// [`SinkSet::interrupt`] is called.
    pub fn send(&self, lines: &[u8]) {
        if self.sinks.is_empty() || lines.is_empty() {
            return;
        }
        let buf: Arc<[u8]> = Arc::from(lines);
        let mut start = 0;
        while start < buf.len() {
            let end = buf[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |p| start + p);
            if end > start {
                for s in &self.sinks {
                    s.push(Line {
                        buf: buf.clone(),
                        start,
                        end,
                    });
                }
            }
            start = end + 1;
        }
    }

    /// Asks file sinks to reopen their path (SIGHUP after logrotate moved
    /// the file) and socket sinks to reconnect; takes effect before the
    /// next line is written.
    pub fn reopen(&self) {
        for s in &self.sinks {
            s.shared.reopen.store(true, Relaxed);
        }
    }

    /// Makes `block` sinks stop waiting for room: from now on a full queue
    /// drops (and counts) the line. For shutdown when a destination is dead
    /// and the producer must not hang.
    pub fn interrupt(&self) {
        for s in &self.sinks {
            s.shared.interrupt.store(true, Relaxed);
        }
    }

    /// A snapshot of every sink's counters, in configuration order.
    pub fn counters(&self) -> Vec<SinkCounters> {
        self.sinks.iter().map(Sink::counters).collect()
    }

    /// Closes the queues and lets each sink deliver what is queued within
    /// `deadline`; what is still undelivered then is counted as dropped.
    /// Returns the final counters. (A write already blocked may overrun the
    /// deadline by at most [`transport::IO_TIMEOUT`].)
    pub fn shutdown(self, deadline: Duration) -> Vec<SinkCounters> {
        let at = Instant::now() + deadline;
        let mut out = Vec::with_capacity(self.sinks.len());
        let mut joins = Vec::with_capacity(self.sinks.len());
        for s in self.sinks {
            let _ = s.shared.deadline.set(at);
            drop(s.tx);
            joins.push((s.name, s.shared, s.thread));
        }
        for (name, shared, thread) in joins {
            if thread.join().is_err() {
                eprintln!("gateward: sink {name}: thread panicked");
            }
            let mut c = counters_of(&name, &shared, 0);
            // Lines the thread held when it panicked were never counted.
            c.dropped += shared.inflight.swap(0, Relaxed);
            c.queued = 0;
            out.push(c);
        }
        out
    }
}

fn counters_of(name: &str, s: &Shared, queued: u64) -> SinkCounters {
    SinkCounters {
        name: name.to_string(),
        sent: s.sent.load(Relaxed),
        dropped: s.dropped.load(Relaxed),
        retried: s.retried.load(Relaxed),
        errors: s.errors.load(Relaxed),
        truncated: s.truncated.load(Relaxed),
        queued,
    }
}

impl Sink {
    fn counters(&self) -> SinkCounters {
        let queued = self.tx.len() as u64 + self.shared.inflight.load(Relaxed);
        counters_of(&self.name, &self.shared, queued)
    }

    fn push(&self, line: Line) {
        match self.policy {
            WhenFull::DropNewest => {
                if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                    self.tx.try_send(line)
                {
                    self.shared.dropped.fetch_add(1, Relaxed);
                }
            }
            WhenFull::Block => {
                let mut line = line;
                loop {
                    match self.tx.send_timeout(line, Duration::from_millis(100)) {
                        Ok(()) => return,
                        Err(SendTimeoutError::Timeout(l)) => {
                            if self.shared.interrupt.load(Relaxed) {
                                self.shared.dropped.fetch_add(1, Relaxed);
                                return;
                            }
                            line = l;
                        }
                        Err(SendTimeoutError::Disconnected(_)) => {
                            self.shared.dropped.fetch_add(1, Relaxed);
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// A sink's output, ready for its thread.
enum Built {
    /// A byte transport with its framing (files, sockets, syslog).
    Stream(Box<dyn Transport>, Framing),
    /// A Kafka producer.
    #[cfg(feature = "kafka")]
    Kafka(kafka::KafkaOut),
}

fn build(c: &SinkConfig) -> Result<Built, String> {
    if c.kind == SinkKind::Kafka {
        #[cfg(feature = "kafka")]
        return kafka::KafkaOut::new(c).map(Built::Kafka);
        #[cfg(not(feature = "kafka"))]
        return Err("built without Kafka support: rebuild with --features kafka".into());
    }
    build_stream(c).map(|(t, f)| Built::Stream(t, f))
}

fn build_stream(c: &SinkConfig) -> Result<(Box<dyn Transport>, Framing), String> {
    let path = || c.path.clone().unwrap_or_default();
    Ok(match c.kind {
        SinkKind::Kafka => return Err("a kafka sink has no byte transport".into()),
        SinkKind::File => {
            let mut f = transport::FileOut::new(path());
            f.connect()
                .map_err(|e| format!("cannot open {}: {e}", path().display()))?;
            (Box::new(f), Framing::Newline)
        }
        SinkKind::Stdout => (Box::new(transport::StdoutOut), Framing::Newline),
        SinkKind::UnixStream => (
            Box::new(transport::UnixStreamOut::new(path())),
            Framing::Newline,
        ),
        SinkKind::UnixDgram => (
            Box::new(transport::UnixDgramOut::new(path())),
            Framing::Datagram,
        ),
        SinkKind::Syslog => {
            let address = c.address.clone().unwrap_or_default();
            let header = Arc::new(syslog::Header {
                facility: c.facility.unwrap_or(syslog::Facility::Local0).code(),
                hostname: c.hostname.clone().unwrap_or_else(syslog::system_hostname),
                app_name: c.app_name.clone().unwrap_or_else(|| "gateward".into()),
                procid: std::process::id().to_string(),
            });
            match c.protocol.unwrap_or(SyslogProtocol::Tcp) {
                SyslogProtocol::Udp => (
                    Box::new(transport::UdpOut::new(address)),
                    Framing::SyslogUdp(header),
                ),
                SyslogProtocol::Tcp => (
                    Box::new(transport::TcpOut::new(address)),
                    Framing::SyslogOctet(header),
                ),
                SyslogProtocol::Tls => {
                    let cfg = transport::tls_config(c.ca_file.as_deref())?;
                    let host = match &c.server_name {
                        Some(n) => n.clone(),
                        None => {
                            let h = address.rsplit_once(':').map_or("", |(h, _)| h);
                            h.trim_start_matches('[').trim_end_matches(']').to_string()
                        }
                    };
                    let name = rustls::pki_types::ServerName::try_from(host.clone())
                        .map_err(|e| format!("server name `{host}`: {e}"))?;
                    (
                        Box::new(transport::TlsOut::new(address, name, Arc::new(cfg))),
                        Framing::SyslogOctet(header),
                    )
                }
            }
        }
    })
}

/// Linux `EMSGSIZE`: a datagram larger than the socket accepts.
const EMSGSIZE: i32 = 90;

/// Bytes buffered before a stream or file write is forced.
const BATCH_BYTES: usize = 64 * 1024;
/// Lines taken from the queue into one write, at most (and never more than
/// `queue`): the sink thread holds this much beyond `queue` while a
/// destination is down.
const BATCH_LINES: usize = 1024;

struct SinkThread {
    name: String,
    rx: Receiver<Line>,
    shared: Arc<Shared>,
    t: Box<dyn Transport>,
    framing: Framing,
    retry_min: Duration,
    retry_max: Duration,
    /// Framed bytes not yet written.
    pending: Vec<u8>,
    /// End offset in `pending` of each framed line.
    ends: VecDeque<usize>,
    /// Bytes of `pending` already written.
    written: usize,
    /// Offset in `pending` where the first unfinished line starts.
    front_start: usize,
    /// Lines at the front of `ends` that have seen a failed attempt.
    failed_lines: usize,
    /// Lines taken into one write: `BATCH_LINES`, or `queue` when smaller.
    batch_lines: usize,
    /// Standard output: a closed pipe is final.
    stdout: bool,
    /// Set once stdout's reader has gone: lines are counted as dropped.
    discard: bool,
    /// Files and stdout resume a partly written line; sockets re-send it.
    resumable: bool,
    last_log: Option<Instant>,
}

impl SinkThread {
    fn run(mut self) {
        loop {
            if !self.check_reopen() {
                break;
            }
            if self.shared.past_deadline() {
                break;
            }
            let got = if self.ends.is_empty() {
                self.rx.recv_timeout(Duration::from_millis(200))
            } else {
                self.rx.try_recv().map_err(|e| match e {
                    crossbeam_channel::TryRecvError::Empty => RecvTimeoutError::Timeout,
                    crossbeam_channel::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                })
            };
            match got {
                Ok(line) => {
                    // A line sent after `reopen()` returned must see the
                    // flag before it is framed, so it goes to the new file.
                    if !self.check_reopen() {
                        self.shared.dropped.fetch_add(1, Relaxed);
                        break;
                    }
                    if self.framing.frame(line.bytes(), &mut self.pending) {
                        self.shared.truncated.fetch_add(1, Relaxed);
                    }
                    self.ends.push_back(self.pending.len());
                    self.shared.inflight.store(self.ends.len() as u64, Relaxed);
                    if (self.framing.datagram()
                        || self.pending.len() >= BATCH_BYTES
                        || self.ends.len() >= self.batch_lines)
                        && !self.deliver()
                    {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Queue empty (or idle): push out what is buffered.
                    if !self.ends.is_empty() && !self.deliver() {
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.deliver();
                    break;
                }
            }
        }
        // Deadline passed or queue closed: count what is left.
        let mut left = self.ends.len() as u64;
        left += self.rx.try_iter().count() as u64;
        self.ends.clear();
        self.shared.inflight.store(0, Relaxed);
        self.shared.dropped.fetch_add(left, Relaxed);
        let _ = self.t.flush();
        self.t.close();
    }

    /// On a reopen request: lines taken from the queue before it go to the
    /// old file (or connection), then the transport is closed so the next
    /// write reopens the path. False when the shutdown deadline passed.
    fn check_reopen(&mut self) -> bool {
        if self.shared.reopen.swap(false, Relaxed) {
            if !self.deliver() {
                return false;
            }
            self.t.close();
        }
        true
    }

    /// Writes everything pending, retrying with backoff. False when the
    /// shutdown deadline passed first.
    fn deliver(&mut self) -> bool {
        let mut delay = self.retry_min;
        let datagram = self.framing.datagram();
        while let Some(&first_end) = self.ends.front() {
            if self.discard {
                let n = self.ends.len() as u64;
                self.shared.dropped.fetch_add(n, Relaxed);
                self.ends.clear();
                self.compact();
                break;
            }
            let result = if !self.t.is_open() {
                match self.t.connect() {
                    Ok(()) => continue,
                    Err(e) => Err(e),
                }
            } else if !datagram && self.written == self.front_start && !self.t.alive() {
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "peer closed the connection",
                ))
            } else if datagram {
                self.t.write(&self.pending[self.front_start..first_end])
            } else {
                self.t.write(&self.pending[self.written..])
            };
            match result {
                Ok(0) if !datagram => self.fail(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.written = if datagram {
                        first_end
                    } else {
                        self.written + n
                    };
                    self.complete();
                    delay = self.retry_min;
                    continue;
                }
                Err(e) if datagram && e.raw_os_error() == Some(EMSGSIZE) => {
                    // This datagram can never be sent: count it, go on.
                    self.note_error(&e);
                    self.shared.dropped.fetch_add(1, Relaxed);
                    self.written = first_end;
                    self.drop_front();
                    continue;
                }
                Err(e) if self.stdout && e.kind() == std::io::ErrorKind::BrokenPipe => {
                    // The reader is gone for good (`| head`).
                    self.note_error(&e);
                    self.discard = true;
                    continue;
                }
                Err(e) => self.fail(e),
            }
            if !self.sleep(delay) {
                return false;
            }
            delay = (delay * 2).min(self.retry_max);
        }
        if let Err(e) = self.t.flush() {
            self.note_error(&e);
        }
        true
    }

    /// Pops the lines fully written.
    fn complete(&mut self) {
        let mut done = 0u64;
        let mut retried = 0u64;
        while let Some(&e) = self.ends.front() {
            if e > self.written {
                break;
            }
            self.ends.pop_front();
            self.front_start = e;
            done += 1;
            if self.failed_lines > 0 {
                self.failed_lines -= 1;
                retried += 1;
            }
        }
        self.shared.sent.fetch_add(done, Relaxed);
        self.shared.retried.fetch_add(retried, Relaxed);
        self.compact();
    }

    fn drop_front(&mut self) {
        if let Some(e) = self.ends.pop_front() {
            self.front_start = e;
        }
        self.failed_lines = self.failed_lines.saturating_sub(1);
        self.compact();
    }

    /// Forgets the bytes of lines already out.
    fn compact(&mut self) {
        if self.ends.is_empty() {
            self.pending.clear();
            self.written = 0;
            self.front_start = 0;
        } else if self.front_start > BATCH_BYTES {
            let w = self.front_start;
            self.pending.drain(..w);
            for e in self.ends.iter_mut() {
                *e -= w;
            }
            self.written -= w;
            self.front_start = 0;
        }
        self.shared.inflight.store(self.ends.len() as u64, Relaxed);
    }

    fn fail(&mut self, e: std::io::Error) {
        self.note_error(&e);
        self.t.close();
        if !self.resumable {
            // A new connection must get whole frames: restart at the first
            // line not completely written.
            self.written = self.front_start;
        }
        self.failed_lines = self.ends.len();
    }

    fn note_error(&mut self, e: &std::io::Error) {
        self.shared.errors.fetch_add(1, Relaxed);
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10))
        {
            self.last_log = Some(now);
            eprintln!(
                "gateward: sink {}: {e}; retrying (errors so far: {})",
                self.name,
                self.shared.errors.load(Relaxed)
            );
        }
    }

    /// Sleeps for `d` in short steps; false once the shutdown deadline has
    /// passed.
    fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.shared.past_deadline() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(20)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Vec<SinkConfig>, String> {
        #[derive(Deserialize)]
        struct Doc {
            sink: Vec<SinkConfig>,
        }
        let d: Doc = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        validate_all(&d.sink)?;
        Ok(d.sink)
    }

    #[test]
    fn defaults_and_policies() {
        let s = parse(
            "[[sink]]\ntype = \"file\"\npath = \"/x\"\n[[sink]]\ntype = \"syslog\"\naddress = \"[::1]:514\"\n",
        )
        .unwrap();
        assert_eq!(s[0].policy(), WhenFull::Block);
        assert_eq!(s[1].policy(), WhenFull::DropNewest);
        assert_eq!(
            (s[1].queue, s[1].retry_min_ms, s[1].retry_max_ms),
            (65_536, 100, 10_000)
        );
        assert_eq!(s[0].label(), "file:/x");
        assert_eq!(s[1].label(), "syslog:[::1]:514");
    }

    #[test]
    fn misplaced_and_bad_keys_are_refused_with_the_sink_index() {
        for (text, want) in [
            ("type = \"stdout\"\npath = \"/x\"", "`path` is only for"),
            ("type = \"file\"", "`path` is required"),
            ("type = \"syslog\"", "`address`"),
            ("type = \"syslog\"\naddress = \"h:0\"", "not host:port"),
            (
                "type = \"file\"\npath = \"/x\"\nfacility = \"local1\"",
                "only for syslog",
            ),
            (
                "type = \"syslog\"\naddress = \"h:1\"\nca_file = \"/c\"",
                "only for syslog over tls",
            ),
            ("type = \"stdout\"\nqueue = 0", "`queue`"),
            (
                "type = \"stdout\"\nretry_min_ms = 5\nretry_max_ms = 1",
                "retry_min_ms",
            ),
            (
                "type = \"syslog\"\naddress = \"h:1\"\napp_name = \"a b\"",
                "app_name",
            ),
            (
                "type = \"syslog\"\naddress = \"h:1\"\nprotocol = \"tls\"\nca_file = \"/nonexistent.pem\"",
                "output.sink[0].ca_file",
            ),
        ] {
            let e = parse(&format!("[[sink]]\n{text}\n")).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.starts_with("output.sink[0]"), "{text}: {e}");
        }
    }

    #[test]
    fn kafka_keys_are_refused_elsewhere_and_checked() {
        let e = parse("[[sink]]\ntype = \"stdout\"\ntopic = \"t\"\n").unwrap_err();
        assert!(e.contains("`topic` is only for kafka"), "{e}");
        if cfg!(feature = "kafka") {
            let e = parse("[[sink]]\ntype = \"kafka\"\ntopic = \"t\"\n").unwrap_err();
            assert!(e.contains("`brokers`"), "{e}");
            let s = parse("[[sink]]\ntype = \"kafka\"\nbrokers = \"k1:9092, k2:9092\"\ntopic = \"eve.alerts\"\n")
                .unwrap();
            assert_eq!(s[0].policy(), WhenFull::DropNewest);
            assert_eq!(s[0].label(), "kafka:eve.alerts");
        }
    }

    #[cfg(not(feature = "kafka"))]
    #[test]
    fn kafka_is_refused_without_the_feature() {
        let e =
            parse("[[sink]]\ntype = \"kafka\"\nbrokers = \"k:9092\"\ntopic = \"t\"\n").unwrap_err();
        assert_eq!(
            e,
            "output.sink[0]: built without Kafka support: rebuild with --features kafka"
        );
    }

    #[test]
    fn framing_octet_counts_the_message() {
        let h = Arc::new(syslog::Header {
            facility: 16,
            hostname: "h".into(),
            app_name: "a".into(),
            procid: "1".into(),
        });
        let mut out = Vec::new();
        Framing::SyslogOctet(h).frame(b"{\"event_type\":\"flow\"}", &mut out);
        let s = String::from_utf8(out).unwrap();
        let (len, msg) = s.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        assert!(msg.starts_with("<134>1 "), "{msg}");
    }
}
