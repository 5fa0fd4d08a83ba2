//! What one `[[output.sink]]` table says, typed per sink kind, and the
//! checks that need no I/O (docs/sinks.md lists the keys).
//!
//! The table is read by hand rather than with `#[serde(tag = "type")]`:
//! serde's internally tagged enums buffer the whole table before choosing
//! the variant, and errors from the buffer lose their key, so
//! `output.sink[0].pth` or `output.sink[0].queue` would both be reported
//! as `output.sink[0]`. Here each key is checked while it is read, so its
//! error keeps its path: an unknown key at once, a common key straight
//! into [`Common`], a kind's key against the struct that declares it. TOML
//! tables arrive sorted, so most keys come before `type` and are held until
//! it is known; the kind's struct (a derived `Deserialize` with
//! `deny_unknown_fields`) is then read from them and from the keys after
//! `type`. A key that belongs to another kind is kept aside and refused by
//! [`SinkConfig::validate`] with the message it always had
//! (`` `address` is only for syslog ``).

mod read;

use crate::output::types::EventTypes;
use crate::sink::syslog;
use serde::de::MapAccess;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Kind of sink (the `type` key): chooses the struct the rest of the table
/// is read into.
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

impl SinkKind {
    /// The `type` value, used in labels and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::File => "file",
            SinkKind::Stdout => "stdout",
            SinkKind::UnixStream => "unix_stream",
            SinkKind::UnixDgram => "unix_dgram",
            SinkKind::Syslog => "syslog",
            SinkKind::Kafka => "kafka",
        }
    }
}

/// Syslog transport (`protocol`): decides the socket and the framing.
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

/// What `send` does when a sink's queue is full (`when_full`), so a slow
/// destination either slows the pipeline or loses counted lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait for room: nothing is dropped, the pipeline slows down.
    Block,
    /// Discard the new line and count it in `dropped`.
    DropNewest,
}

/// The keys every sink kind has (queueing and retry), declared once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// Label in counters and logs (default `TYPE:PATH` or `TYPE:ADDRESS`).
    pub name: Option<String>,
    /// Lines queued before `when_full` applies (default 65536).
    pub queue: usize,
    /// `block` or `drop_newest` (default `block` for `file` and `stdout`,
    /// `drop_newest` for sockets, syslog and kafka, so a dead SIEM never
    /// stalls capture).
    pub when_full: Option<WhenFull>,
    /// First retry delay after a failure, ms (default 100).
    pub retry_min_ms: u64,
    /// Longest retry delay, ms; the delay doubles up to it (default 10000).
    pub retry_max_ms: u64,
    /// Event types this sink takes, as Suricata's eve-log `types` (default
    /// every type gateward writes: alert, flow, dns, tls, http, ssh, quic,
    /// rdp, rfb, anomaly, stats).
    pub types: Option<EventTypes>,
    /// Stream sockets (TCP/TLS syslog, Unix stream): bytes of the most
    /// recently written lines kept to be sent again after the connection
    /// breaks (default 16 MiB, 0 = off). Syslog over TCP has no
    /// acknowledgements (RFC 6587, RFC 5425): what the kernel accepted may
    /// still die in the peer's buffers, so without this an outage loses
    /// lines that were counted as sent.
    pub resend_bytes: usize,
    /// Keys of another kind found in the table, refused by `validate`.
    misplaced: Vec<&'static str>,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            name: None,
            queue: 65_536,
            when_full: None,
            retry_min_ms: 100,
            retry_max_ms: 10_000,
            types: None,
            resend_bytes: DEFAULT_RESEND_BYTES,
            misplaced: Vec::new(),
        }
    }
}

/// Default resend window: above Linux's largest default TCP send buffer
/// (`tcp_wmem` 4 MiB) plus its largest autotuned receive buffer (`tcp_rmem`
/// 6 MiB), so a peer that dies with both full gets every line again.
pub const DEFAULT_RESEND_BYTES: usize = 16 << 20;
/// Largest resend window a sink may keep.
pub const MAX_RESEND_BYTES: usize = 1 << 30;

/// The [`Common`] keys, as they appear in a table.
const COMMON_KEYS: &[&str] = &[
    "name",
    "queue",
    "when_full",
    "retry_min_ms",
    "retry_max_ms",
    "types",
    "resend_bytes",
];

impl Common {
    /// Reads the value of common key `key` from `map`, through it, so a bad
    /// value is reported with its key path.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = map.next_value()?,
            "queue" => self.queue = map.next_value()?,
            "when_full" => self.when_full = map.next_value()?,
            "retry_min_ms" => self.retry_min_ms = map.next_value()?,
            "types" => self.types = Some(map.next_value()?),
            "resend_bytes" => self.resend_bytes = map.next_value()?,
            _ => self.retry_max_ms = map.next_value()?,
        }
        Ok(())
    }

    /// The event types this sink takes.
    pub fn types(&self) -> EventTypes {
        self.types.unwrap_or(EventTypes::SINK)
    }

    /// Queue and retry limits.
    fn validate(&self) -> Result<(), SinkConfigError> {
        if !(1..=MAX_QUEUE).contains(&self.queue) {
            return Err(SinkConfigError::QueueRange);
        }
        if self.retry_min_ms == 0 || self.retry_min_ms > self.retry_max_ms {
            return Err(SinkConfigError::RetryRange);
        }
        if self.resend_bytes > MAX_RESEND_BYTES {
            return Err(SinkConfigError::ResendRange);
        }
        Ok(())
    }
}

/// Most lines a sink may queue (at ~1 KB a line, about 1 GB).
pub const MAX_QUEUE: usize = 1 << 20;

/// Declares one kind's struct: its own keys as given, then the [`Common`]
/// keys (filled by the table reader, not by the derived `Deserialize`).
macro_rules! sink_table {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident: $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            /// Queueing and retry, shared by every kind.
            #[serde(skip)]
            pub common: Common,
        }

        impl read::Table for $name {
            fn common_mut(&mut self) -> &mut Common {
                &mut self.common
            }
        }
    };
}

sink_table! {
    /// `type = "file"`.
    FileSink {
        /// File to append to (required; created mode 0640).
        path: Option<PathBuf>,
    }
}

sink_table! {
    /// `type = "stdout"`.
    StdoutSink {}
}

sink_table! {
    /// `type = "unix_stream"` and `type = "unix_dgram"`: a socket path.
    UnixSink {
        /// Socket to connect to (required).
        path: Option<PathBuf>,
    }
}

sink_table! {
    /// `type = "syslog"`.
    SyslogSink {
        /// Syslog server `host:port` (required).
        address: Option<String>,
        /// `udp`, `tcp` or `tls` (default `tcp`).
        protocol: Option<SyslogProtocol>,
        /// PEM file of the CA certificates that may sign the syslog server's
        /// certificate (`tls`; default: the Mozilla root store).
        ca_file: Option<PathBuf>,
        /// Name the server certificate must carry (`tls`; default: the host
        /// part of `address`).
        server_name: Option<String>,
        /// APP-NAME (default `gateward`, at most 48 characters).
        app_name: Option<String>,
        /// HOSTNAME (default: the system's host name).
        hostname: Option<String>,
        /// Facility (default `local0`).
        facility: Option<syslog::Facility>,
    }
}

sink_table! {
    /// `type = "kafka"` (cargo feature `kafka`).
    KafkaSink {
        /// Bootstrap brokers, comma-separated `host:port` (required).
        brokers: Option<String>,
        /// Topic (required).
        topic: Option<String>,
        /// How long librdkafka keeps retrying a message before its delivery
        /// fails and it is counted as dropped, ms (default 300000).
        message_timeout_ms: Option<u64>,
        /// `flow_id` (default: a flow's events stay in one partition) or
        /// `host` (every event of one internal host in one partition, for
        /// `gateward correlate` run as a consumer group; events that concern
        /// several hosts go to every partition).
        partition_by: Option<PartitionBy>,
        /// Which addresses are internal hosts and concentrators, for
        /// `partition_by = "host"`: the sensor's `home_net` and
        /// `[correlate] vpn_concentrators`, set when the configuration is
        /// loaded (not a key of the sink table).
        #[serde(skip)]
        hosts: HostKeying,
    }
}

/// How the Kafka sink chooses a message's partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionBy {
    /// librdkafka's partitioner on the event's `flow_id`.
    #[default]
    FlowId,
    /// The partition of the event's internal host
    /// ([`crate::sink::host_partition`]).
    Host,
}

/// What `partition_by = "host"` must know to find an event's internal host
/// and whether it concerns several hosts (the correlation stage's view).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostKeying {
    /// The internal networks (`home_net`).
    pub home_net: Vec<ipnetwork::IpNetwork>,
    /// Corporate VPN concentrators: sessions to them feed the cross-host
    /// shared-egress rule.
    pub concentrators: Vec<std::net::IpAddr>,
}

/// One `[[output.sink]]` table: the `type` chooses the variant, and each
/// variant has only the keys that make sense for it.
#[derive(Debug, Clone)]
pub enum SinkConfig {
    /// `type = "file"`.
    File(FileSink),
    /// `type = "stdout"`.
    Stdout(StdoutSink),
    /// `type = "unix_stream"`.
    UnixStream(UnixSink),
    /// `type = "unix_dgram"`.
    UnixDgram(UnixSink),
    /// `type = "syslog"`.
    Syslog(SyslogSink),
    /// `type = "kafka"`.
    Kafka(KafkaSink),
}

/// Why a sink table was refused (the text is what `gateward validate`
/// prints after `output.sink[i]: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkConfigError {
    /// `type = "kafka"` in a build without the `kafka` feature.
    #[error("built without Kafka support: rebuild with --features kafka")]
    NoKafka,
    /// A key of another kind (`path` on stdout, `facility` on a file).
    #[error("`{key}` is only for {only_for}")]
    Misplaced {
        /// The key.
        key: &'static str,
        /// The kinds that take it.
        only_for: &'static str,
    },
    /// `ca_file` or `server_name` without `protocol = "tls"`.
    #[error("`ca_file` and `server_name` are only for syslog over tls")]
    TlsOnly,
    /// A file or Unix socket sink without `path`.
    #[error("`path` is required for this type")]
    MissingPath,
    /// A syslog sink without `address`.
    #[error("`address` (host:port) is required for syslog")]
    MissingAddress,
    /// `address` is not `host:port` with a port from 1 to 65535.
    #[error("address `{0}` is not host:port")]
    BadAddress(String),
    /// A Kafka sink without `brokers`.
    #[error("`brokers` (comma-separated host:port) is required for kafka")]
    MissingBrokers,
    /// One of `brokers` is not `host:port`.
    #[error("broker `{0}` in `brokers` is not host:port")]
    BadBroker(String),
    /// A Kafka sink without `topic`.
    #[error("`topic` is required for kafka")]
    MissingTopic,
    /// A topic name Kafka refuses.
    #[error("topic `{0}` is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)")]
    BadTopic(String),
    /// `message_timeout_ms` out of librdkafka's range.
    #[error("`message_timeout_ms` must be at least 1")]
    MessageTimeout,
    /// `queue` outside 1..=[`MAX_QUEUE`].
    #[error("`queue` must be between 1 and 1048576 lines")]
    QueueRange,
    /// `retry_min_ms` is 0 or above `retry_max_ms`.
    #[error("`retry_min_ms` must be at least 1 and at most `retry_max_ms`")]
    RetryRange,
    /// `resend_bytes` above [`MAX_RESEND_BYTES`].
    #[error("`resend_bytes` must be between 0 and 1073741824")]
    ResendRange,
    /// An `app_name` RFC 5424 does not allow.
    #[error("`app_name` must be 1 to 48 printable ASCII characters, no spaces")]
    BadAppName,
    /// A `hostname` RFC 5424 does not allow.
    #[error("`hostname` must be 1 to 255 printable ASCII characters, no spaces")]
    BadHostname,
}

impl SinkConfig {
    /// A sink of `kind` with every default (tests and programmatic use).
    pub fn new(kind: SinkKind) -> Self {
        match kind {
            SinkKind::File => SinkConfig::File(FileSink::default()),
            SinkKind::Stdout => SinkConfig::Stdout(StdoutSink::default()),
            SinkKind::UnixStream => SinkConfig::UnixStream(UnixSink::default()),
            SinkKind::UnixDgram => SinkConfig::UnixDgram(UnixSink::default()),
            SinkKind::Syslog => SinkConfig::Syslog(SyslogSink::default()),
            SinkKind::Kafka => SinkConfig::Kafka(KafkaSink::default()),
        }
    }

    /// The `type` of this table.
    pub fn kind(&self) -> SinkKind {
        match self {
            SinkConfig::File(_) => SinkKind::File,
            SinkConfig::Stdout(_) => SinkKind::Stdout,
            SinkConfig::UnixStream(_) => SinkKind::UnixStream,
            SinkConfig::UnixDgram(_) => SinkKind::UnixDgram,
            SinkConfig::Syslog(_) => SinkKind::Syslog,
            SinkConfig::Kafka(_) => SinkKind::Kafka,
        }
    }

    /// The keys every kind shares.
    pub fn common(&self) -> &Common {
        match self {
            SinkConfig::File(s) => &s.common,
            SinkConfig::Stdout(s) => &s.common,
            SinkConfig::UnixStream(s) | SinkConfig::UnixDgram(s) => &s.common,
            SinkConfig::Syslog(s) => &s.common,
            SinkConfig::Kafka(s) => &s.common,
        }
    }

    /// The keys every kind shares, to change them (tests, programmatic use).
    pub fn common_mut(&mut self) -> &mut Common {
        match self {
            SinkConfig::File(s) => &mut s.common,
            SinkConfig::Stdout(s) => &mut s.common,
            SinkConfig::UnixStream(s) | SinkConfig::UnixDgram(s) => &mut s.common,
            SinkConfig::Syslog(s) => &mut s.common,
            SinkConfig::Kafka(s) => &mut s.common,
        }
    }

    /// The effective when-full policy: local outputs wait, remote ones drop.
    pub fn policy(&self) -> WhenFull {
        self.common().when_full.unwrap_or(match self {
            SinkConfig::File(_) | SinkConfig::Stdout(_) => WhenFull::Block,
            _ => WhenFull::DropNewest,
        })
    }

    /// The label used in counters and logs: `name`, else `TYPE:TARGET`.
    pub fn label(&self) -> String {
        if let Some(n) = &self.common().name {
            return n.clone();
        }
        let kind = self.kind().as_str();
        let target = match self {
            SinkConfig::File(FileSink { path, .. })
            | SinkConfig::UnixStream(UnixSink { path, .. })
            | SinkConfig::UnixDgram(UnixSink { path, .. }) => {
                path.as_ref().map(|p| p.display().to_string())
            }
            SinkConfig::Stdout(_) => None,
            SinkConfig::Syslog(s) => s.address.clone(),
            SinkConfig::Kafka(k) => k.topic.clone(),
        };
        match target {
            Some(t) => format!("{kind}:{t}"),
            None => kind.to_string(),
        }
    }

    /// Checks the keys that make sense together (without opening anything),
    /// in the order the checks have always had, so a table with several
    /// faults is refused for the same one as before.
    pub fn validate(&self) -> Result<(), SinkConfigError> {
        let misplaced = |group: &[&'static str]| match group
            .iter()
            .find(|k| self.common().misplaced.contains(k))
        {
            Some(k) => Err(misplaced(k)),
            None => Ok(()),
        };
        match self {
            SinkConfig::Kafka(k) => k.validate()?,
            _ => misplaced(&["brokers", "topic", "message_timeout_ms"])?,
        }
        match self {
            SinkConfig::File(FileSink { path, .. })
            | SinkConfig::UnixStream(UnixSink { path, .. })
            | SinkConfig::UnixDgram(UnixSink { path, .. }) => {
                path.as_ref().ok_or(SinkConfigError::MissingPath)?;
            }
            _ => misplaced(&["path"])?,
        }
        match self {
            SinkConfig::Syslog(s) => s.validate_address()?,
            _ => misplaced(&["address", "protocol", "app_name", "hostname", "facility"])?,
        }
        misplaced(&["ca_file", "server_name"])?;
        self.common().validate()?;
        match self {
            SinkConfig::Syslog(s) => s.validate_header(),
            _ => Ok(()),
        }
    }
}

impl SyslogSink {
    /// `address`, and the keys only TLS takes.
    fn validate_address(&self) -> Result<(), SinkConfigError> {
        let a = self
            .address
            .as_deref()
            .ok_or(SinkConfigError::MissingAddress)?;
        if !is_host_port(a) {
            return Err(SinkConfigError::BadAddress(a.to_string()));
        }
        if self.protocol != Some(SyslogProtocol::Tls)
            && (self.ca_file.is_some() || self.server_name.is_some())
        {
            return Err(SinkConfigError::TlsOnly);
        }
        Ok(())
    }

    /// The RFC 5424 header fields.
    fn validate_header(&self) -> Result<(), SinkConfigError> {
        if let Some(a) = &self.app_name
            && !syslog::header_field_ok(a, 48)
        {
            return Err(SinkConfigError::BadAppName);
        }
        if let Some(h) = &self.hostname
            && !syslog::header_field_ok(h, 255)
        {
            return Err(SinkConfigError::BadHostname);
        }
        Ok(())
    }
}

impl KafkaSink {
    /// The feature, `brokers`, `topic` and the timeout.
    fn validate(&self) -> Result<(), SinkConfigError> {
        if !cfg!(feature = "kafka") {
            return Err(SinkConfigError::NoKafka);
        }
        let brokers = self
            .brokers
            .as_deref()
            .ok_or(SinkConfigError::MissingBrokers)?;
        if let Some(b) = brokers.split(',').map(str::trim).find(|b| !is_host_port(b)) {
            return Err(SinkConfigError::BadBroker(b.to_string()));
        }
        let topic = self.topic.as_deref().ok_or(SinkConfigError::MissingTopic)?;
        if topic.is_empty()
            || topic.len() > 249
            || topic == "."
            || topic == ".."
            || !topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(SinkConfigError::BadTopic(topic.to_string()));
        }
        if let Some(ms) = self.message_timeout_ms
            && !(1..=i32::MAX as u64).contains(&ms)
        {
            return Err(SinkConfigError::MessageTimeout);
        }
        Ok(())
    }
}

/// `host:port` with a non-empty host and a port from 1 to 65535.
fn is_host_port(a: &str) -> bool {
    a.rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p != 0))
}

/// The error for a key this kind does not take but another does.
fn misplaced(key: &'static str) -> SinkConfigError {
    let only_for = match key {
        "ca_file" | "server_name" => return SinkConfigError::TlsOnly,
        "path" => "file, unix_stream and unix_dgram",
        "brokers" | "topic" | "message_timeout_ms" => "kafka",
        _ => "syslog",
    };
    SinkConfigError::Misplaced { key, only_for }
}
