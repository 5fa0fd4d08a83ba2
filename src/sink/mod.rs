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
//!
//! The parts: [`config`] (the tables and their checks), `queue` (the
//! bounded queue, when-full policy and counters), `framing` (bytes on the
//! wire), `thread` (the write/retry loop), [`transport`] (the
//! destinations), `kafka` (feature `kafka`), and here the [`SinkSet`] that
//! ties them together.

pub mod config;
mod framing;
#[cfg(feature = "kafka")]
mod kafka;
mod queue;
pub mod route;
pub mod syslog;
mod thread;
pub mod transport;

pub use config::{
    Common, FileSink, HostKeying, KafkaSink, PartitionBy, SinkConfig, SinkConfigError, SinkKind,
    StdoutSink, SyslogProtocol, SyslogSink, UnixSink, WhenFull,
};
pub use queue::SinkCounters;
pub use route::{Route, host_partition, route};

use crate::output::types::{EventTypes, line_type};
use framing::Framing;
use queue::{Line, Queue, Shared};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use transport::{Reconnecting, Transport};

/// Why the sinks could not be checked or started; the text names the
/// sink (`output.sink[i]`) as `gateward validate` prints it.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A table's keys do not fit together.
    #[error("output.sink[{index}]: {source}")]
    Config {
        /// Position in `[[output.sink]]`.
        index: usize,
        /// What is wrong.
        source: SinkConfigError,
    },
    /// A syslog TLS `ca_file` that cannot be used.
    #[error("output.sink[{index}].ca_file: {source}")]
    CaFile {
        /// Position in `[[output.sink]]`.
        index: usize,
        /// What is wrong with the file.
        source: transport::TlsConfigError,
    },
    /// The destination could not be prepared (a file that cannot be
    /// opened, a bad TLS server name, a producer librdkafka refuses).
    #[error("output.sink[{index}] ({label}): {source}")]
    Open {
        /// Position in `[[output.sink]]`.
        index: usize,
        /// The sink's label.
        label: String,
        /// What failed.
        source: OpenError,
    },
    /// The sink's thread could not be started.
    #[error("output.sink[{index}]: cannot start thread: {source}")]
    Thread {
        /// Position in `[[output.sink]]`.
        index: usize,
        /// The spawn error.
        source: std::io::Error,
    },
}

/// Callers that report errors as text (`Result<_, String>`) keep using `?`.
impl From<SinkError> for String {
    fn from(e: SinkError) -> String {
        e.to_string()
    }
}

/// Why one sink's destination could not be prepared at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A `file` sink's path cannot be opened for append.
    #[error("cannot open {}: {source}", path.display())]
    File {
        /// The path.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS client configuration.
    #[error(transparent)]
    Tls(#[from] transport::TlsConfigError),
    /// `server_name` (or the host of `address`) is not a DNS name or IP.
    #[error("server name `{host}`: {source}")]
    ServerName {
        /// The name.
        host: String,
        /// rustls's reason.
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// librdkafka refused the producer configuration.
    #[cfg(feature = "kafka")]
    #[error("kafka producer: {0}")]
    Kafka(#[source] rdkafka::error::KafkaError),
    /// `type = "kafka"` without the feature.
    #[error(transparent)]
    Config(#[from] SinkConfigError),
}

/// Checks every sink (`gateward validate`); errors name `output.sink[i]`.
/// Also reads TLS `ca_file`s, so a bad bundle is caught before start.
pub fn validate_all(sinks: &[SinkConfig]) -> Result<(), SinkError> {
    for (index, s) in sinks.iter().enumerate() {
        s.validate()
            .map_err(|source| SinkError::Config { index, source })?;
        if let SinkConfig::Syslog(s) = s
            && s.protocol == Some(SyslogProtocol::Tls)
        {
            transport::tls_config(s.ca_file.as_deref())
                .map_err(|source| SinkError::CaFile { index, source })?;
        }
    }
    Ok(())
}

/// One running sink: its queue and its thread.
struct Sink {
    name: String,
    queue: Queue,
    thread: std::thread::JoinHandle<()>,
    /// The event types it takes (`types`); `None` when it takes them all.
    types: Option<EventTypes>,
}

/// Every configured sink, each with its thread and queue.
pub struct SinkSet {
    sinks: Vec<Sink>,
}

impl SinkSet {
    /// Starts one thread per sink. Errors name `output.sink[i]`. File sinks
    /// are opened here, so a bad path fails at start; sockets connect
    /// lazily (a peer that is down at start is retried while the queue
    /// holds the lines).
    pub fn from_config(cfgs: &[SinkConfig]) -> Result<SinkSet, SinkError> {
        validate_all(cfgs)?;
        let mut prepared = Vec::with_capacity(cfgs.len());
        for (index, c) in cfgs.iter().enumerate() {
            let out = build(c).map_err(|source| SinkError::Open {
                index,
                label: c.label(),
                source,
            })?;
            prepared.push((c, out));
        }
        let mut sinks = Vec::with_capacity(prepared.len());
        for (index, (c, out)) in prepared.into_iter().enumerate() {
            let (tx, rx) = crossbeam_channel::bounded::<Line>(c.common().queue);
            let shared = Arc::new(Shared::default());
            let run: Box<dyn FnOnce() + Send> = match out {
                Built::Stream(t, framing) => {
                    let worker = thread::SinkThread::new(
                        c.label(),
                        rx,
                        shared.clone(),
                        t,
                        framing,
                        c.common(),
                        c.kind(),
                    );
                    Box::new(move || worker.run())
                }
                #[cfg(feature = "kafka")]
                Built::Kafka(k) => {
                    let worker = k.start(c.label(), rx, shared.clone());
                    Box::new(move || worker.run())
                }
            };
            let thread = std::thread::Builder::new()
                .name(format!("gw-sink-{index}"))
                .spawn(run)
                .map_err(|source| SinkError::Thread { index, source })?;
            sinks.push(Sink {
                name: c.label(),
                queue: Queue {
                    policy: c.policy(),
                    tx,
                    shared,
                },
                thread,
                types: Some(c.common().types()).filter(|t| *t != EventTypes::SINK),
            });
        }
        Ok(SinkSet { sinks })
    }

    /// Whether no sink is configured.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Queues one or many `\n`-terminated JSON lines on every sink that
    /// takes their event type (`types`; a last line without `\n` counts
    /// too; empty lines are skipped). Blocks only
    /// on `block` sinks whose queue is full, until room is made or
    /// [`SinkSet::interrupt`] is called.
    pub fn send(&self, lines: &[u8]) {
        if self.sinks.is_empty() || lines.is_empty() {
            return;
        }
        let buf: Arc<[u8]> = Arc::from(lines);
        let filtering = self.sinks.iter().any(|s| s.types.is_some());
        let mut start = 0;
        while start < buf.len() {
            let end = buf[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |p| start + p);
            if end > start {
                let line_type = filtering.then(|| line_type(&buf[start..end]));
                for s in &self.sinks {
                    if let (Some(types), Some(Some(t))) = (s.types, line_type)
                        && !types.has(t)
                    {
                        continue;
                    }
                    s.queue.push(Line {
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
            s.queue.shared.reopen.store(true, Relaxed);
        }
    }

    /// Makes `block` sinks stop waiting for room: from now on a full queue
    /// drops (and counts) the line. For shutdown when a destination is dead
    /// and the producer must not hang.
    pub fn interrupt(&self) {
        for s in &self.sinks {
            s.queue.shared.interrupt.store(true, Relaxed);
        }
    }

    /// A snapshot of every sink's counters, in configuration order.
    pub fn counters(&self) -> Vec<SinkCounters> {
        self.sinks
            .iter()
            .map(|s| s.queue.shared.counters(&s.name, s.queue.queued()))
            .collect()
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
            let Queue { tx, shared, .. } = s.queue;
            let _ = shared.deadline.set(at);
            drop(tx);
            joins.push((s.name, shared, s.thread));
        }
        for (name, shared, thread) in joins {
            if thread.join().is_err() {
                eprintln!("gateward: sink {name}: thread panicked");
            }
            let mut c = shared.counters(&name, 0);
            // Lines the thread held when it panicked were never counted.
            c.dropped += shared.inflight.swap(0, Relaxed);
            out.push(c);
        }
        out
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

/// Prepares a validated sink's destination: opens files, builds the TLS
/// configuration and the Kafka producer, connects nothing else.
fn build(c: &SinkConfig) -> Result<Built, OpenError> {
    let stream = |t: Box<dyn Transport>, f| Ok(Built::Stream(t, f));
    let path = |p: &Option<std::path::PathBuf>| p.clone().ok_or(SinkConfigError::MissingPath);
    match c {
        SinkConfig::File(f) => {
            let path = path(&f.path)?;
            let mut t = Reconnecting::new(transport::FileOut(path.clone()));
            t.connect()
                .map_err(|source| OpenError::File { path, source })?;
            stream(Box::new(t), Framing::Newline)
        }
        SinkConfig::Stdout(_) => stream(
            Box::new(Reconnecting::new(transport::StdoutOut)),
            Framing::Newline,
        ),
        SinkConfig::UnixStream(u) => stream(
            Box::new(Reconnecting::new(transport::UnixStreamOut(path(&u.path)?))),
            Framing::Newline,
        ),
        SinkConfig::UnixDgram(u) => stream(
            Box::new(Reconnecting::new(transport::UnixDgramOut(path(&u.path)?))),
            Framing::Datagram,
        ),
        SinkConfig::Syslog(s) => build_syslog(s),
        #[cfg(feature = "kafka")]
        SinkConfig::Kafka(k) => kafka::KafkaOut::new(k).map(Built::Kafka),
        #[cfg(not(feature = "kafka"))]
        SinkConfig::Kafka(_) => Err(SinkConfigError::NoKafka.into()),
    }
}

/// The syslog header, and the transport and framing `protocol` asks for.
fn build_syslog(c: &SyslogSink) -> Result<Built, OpenError> {
    let address = c.address.clone().ok_or(SinkConfigError::MissingAddress)?;
    let header = Arc::new(syslog::Header {
        facility: c.facility.unwrap_or(syslog::Facility::Local0).code(),
        hostname: c.hostname.clone().unwrap_or_else(syslog::system_hostname),
        app_name: c.app_name.clone().unwrap_or_else(|| "gateward".into()),
        procid: std::process::id().to_string(),
    });
    let (t, framing): (Box<dyn Transport>, _) = match c.protocol.unwrap_or(SyslogProtocol::Tcp) {
        SyslogProtocol::Udp => (
            Box::new(Reconnecting::new(transport::UdpOut(address))),
            Framing::SyslogUdp(header),
        ),
        SyslogProtocol::Tcp => (
            Box::new(Reconnecting::new(transport::TcpOut(address))),
            Framing::SyslogOctet(header),
        ),
        SyslogProtocol::Tls => {
            let config = Arc::new(transport::tls_config(c.ca_file.as_deref())?);
            let host = match &c.server_name {
                Some(n) => n.clone(),
                None => {
                    let h = address.rsplit_once(':').map_or("", |(h, _)| h);
                    h.trim_start_matches('[').trim_end_matches(']').to_string()
                }
            };
            let server_name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|source| OpenError::ServerName { host, source })?;
            (
                Box::new(Reconnecting::new(transport::TlsOut {
                    address,
                    server_name,
                    config,
                })),
                Framing::SyslogOctet(header),
            )
        }
    };
    Ok(Built::Stream(t, framing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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
    fn each_sink_takes_only_its_types() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("alerts"), dir.path().join("all"));
        let s = parse(&format!(
            "[[sink]]\ntype = \"file\"\npath = \"{}\"\ntypes = [\"alert\", \"dns\"]\n\
             [[sink]]\ntype = \"file\"\npath = \"{}\"\n",
            a.display(),
            b.display()
        ))
        .unwrap();
        assert_eq!(s[1].common().types(), EventTypes::SINK);
        let set = SinkSet::from_config(&s).unwrap();
        set.send(
            b"{\"event_type\":\"alert\",\"n\":1}\n{\"event_type\":\"flow\",\"n\":2}\n\
              {\"event_type\":\"dns\",\"n\":3}\n{\"timestamp\":\"x\",\"event_type\":\"stats\"}\n",
        );
        let c = set.shutdown(Duration::from_secs(5));
        assert_eq!((c[0].sent, c[1].sent), (2, 4));
        let got = std::fs::read_to_string(&a).unwrap();
        assert_eq!(
            got,
            "{\"event_type\":\"alert\",\"n\":1}\n{\"event_type\":\"dns\",\"n\":3}\n"
        );
        assert_eq!(std::fs::read_to_string(&b).unwrap().lines().count(), 4);
        let e = parse("[[sink]]\ntype = \"stdout\"\ntypes = [\"alerts\"]\n").unwrap_err();
        assert!(e.contains("unknown event type `alerts`"), "{e}");
    }

    #[test]
    fn defaults_and_policies() {
        let s = parse(
            "[[sink]]\ntype = \"file\"\npath = \"/x\"\n[[sink]]\ntype = \"syslog\"\naddress = \"[::1]:514\"\n",
        )
        .unwrap();
        assert_eq!(s[0].policy(), WhenFull::Block);
        assert_eq!(s[1].policy(), WhenFull::DropNewest);
        let c = s[1].common();
        assert_eq!(
            (c.queue, c.retry_min_ms, c.retry_max_ms),
            (65_536, 100, 10_000)
        );
        assert_eq!(s[0].label(), "file:/x");
        assert_eq!(s[1].label(), "syslog:[::1]:514");
    }

    #[test]
    fn keys_before_type_and_common_keys_are_read() {
        let s = parse(
            "[[sink]]\npath = \"/x\"\nqueue = 7\ntype = \"unix_dgram\"\nname = \"n\"\nwhen_full = \"block\"\n",
        )
        .unwrap();
        let SinkConfig::UnixDgram(u) = &s[0] else {
            panic!("{:?}", s[0])
        };
        assert_eq!(u.path.as_deref(), Some(std::path::Path::new("/x")));
        assert_eq!((u.common.queue, s[0].label()), (7, "n".to_string()));
        assert_eq!(s[0].policy(), WhenFull::Block);
    }

    #[test]
    fn misplaced_and_bad_keys_are_refused_with_the_sink_index() {
        for (text, want) in [
            ("type = \"stdout\"\npath = \"/x\"", "`path` is only for"),
            ("path = \"/x\"\ntype = \"stdout\"", "`path` is only for"),
            ("type = \"file\"", "`path` is required"),
            // Several faults: the first in the checks' order is reported.
            (
                "type = \"file\"\nfacility = \"local1\"",
                "`path` is required",
            ),
            (
                "type = \"stdout\"\npath = \"/x\"\ntopic = \"t\"",
                "`topic` is only for kafka",
            ),
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
            (
                "type = \"file\"\npath = \"/x\"\nserver_name = \"c\"",
                "only for syslog over tls",
            ),
            ("type = \"stdout\"\nqueue = 0", "`queue`"),
            (
                "type = \"syslog\"\naddress = \"h:1\"\nresend_bytes = 1073741825",
                "`resend_bytes`",
            ),
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
    fn unknown_keys_and_bad_values_keep_their_path() {
        let path_of = |text: &str| {
            let de = toml::de::Deserializer::parse(text).unwrap();
            #[derive(Debug, Deserialize)]
            #[allow(dead_code)]
            struct Doc {
                sink: Vec<SinkConfig>,
            }
            let e = serde_path_to_error::deserialize::<_, Doc>(de).unwrap_err();
            (e.path().to_string(), e.into_inner().to_string())
        };
        let (p, m) = path_of("[[sink]]\ntype = \"file\"\npth = \"x\"\n");
        assert_eq!(p, "sink[0].pth");
        assert!(m.contains("unknown field `pth`"), "{m}");
        let (p, _) = path_of("[[sink]]\ntype = \"file\"\nqueue = \"x\"\n");
        assert_eq!(p, "sink[0].queue");
        let (p, _) = path_of("[[sink]]\ntype = \"file\"\npath = 5\n");
        assert_eq!(p, "sink[0].path");
        let (p, m) = path_of("[[sink]]\ntype = \"syslog\"\nfacility = \"x\"\n");
        assert_eq!(p, "sink[0].facility", "{m}");
        let (p, _) = path_of("[[sink]]\ntype = \"nope\"\n");
        assert_eq!(p, "sink[0].type");
        let (p, m) = path_of("[[sink]]\npath = \"x\"\n");
        assert_eq!(p, "sink[0]");
        assert!(m.contains("missing field `type`"), "{m}");
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
}
