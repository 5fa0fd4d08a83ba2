//! The one typed configuration shared by `analyze` and the daemon. Unknown
//! keys are refused with their path (`flow.timeouts.tcp.establised`), so a
//! typo never silently falls back to a default. Every default is documented
//! beside its field and in `systemd/gateward.toml`.

pub mod daemon;

use ipnetwork::IpNetwork;
use serde::Deserialize;
use std::path::Path;

/// Top-level configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Networks that are "inside": decides which side of a flow is internal.
    /// Default: RFC 1918, RFC 4193 ULA and RFC 6598 CGNAT space.
    #[serde(deserialize_with = "networks")]
    pub home_net: Vec<IpNetwork>,
    /// Flow table limits and timeouts.
    pub flow: FlowConfig,
    /// IP fragment reassembly limits.
    pub defrag: DefragConfig,
    /// Decoder limits.
    pub decode: DecodeConfig,
    /// Threads and queues.
    pub pipeline: PipelineConfig,
    /// What the JSON output contains.
    pub output: OutputConfig,
    /// DNS-learned names.
    pub dns: DnsConfig,
    /// Operator approvals: detections these rules match are reported but
    /// not alerted.
    pub allow: crate::detect::allow::AllowConfig,
    /// Detector settings.
    pub detect: crate::detect::config::DetectConfig,
    /// Geolocation, AS and feed enrichment, sanctioned regions.
    pub enrich: crate::enrich::EnrichConfig,
    /// Live capture (`gateward run`): interfaces, snap length, filter.
    pub capture: daemon::CaptureConfig,
    /// Daemon lifecycle: privilege drop, stats, metrics, shutdown, pidfile.
    pub daemon: daemon::DaemonConfig,
    /// `[correlate]`: the per-host correlation stage (docs/host.md).
    pub correlate: crate::correlate::CorrelateConfig,
}

/// The address → name cache fed by DNS answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Entries kept (default 65536; every worker keeps a full copy; 0
    /// disables `dns_name`).
    pub cache_size: usize,
    /// Shortest lifetime given to an answer, seconds (default 60).
    pub min_ttl: u32,
    /// Longest lifetime, seconds (default 86400).
    pub max_ttl: u32,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            cache_size: 65_536,
            min_ttl: 60,
            max_ttl: 86_400,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            home_net: crate::enrich::home::default_home_net(),
            flow: FlowConfig::default(),
            defrag: DefragConfig::default(),
            decode: DecodeConfig::default(),
            pipeline: PipelineConfig::default(),
            output: OutputConfig::default(),
            dns: DnsConfig::default(),
            allow: Default::default(),
            detect: Default::default(),
            enrich: Default::default(),
            capture: Default::default(),
            daemon: Default::default(),
            correlate: Default::default(),
        }
    }
}

/// Flow table settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Flows held at once across all workers (default 1,000,000; each worker
    /// holds an equal share, at least one); when full,
    /// the longest-idle flow is evicted and counted.
    pub max_flows: usize,
    /// Seconds after which a long flow gets an interim record while it goes
    /// on (NetFlow's active timeout; default 1800, 0 disables).
    pub active_timeout: u64,
    /// Payload-carrying packets per direction handed to dissectors and kept
    /// as size/timing summaries (default 16).
    pub inspect_packets: u16,
    /// Idle timeouts, in seconds of capture time.
    pub timeouts: Timeouts,
    /// Bytes all flows together may hold in dissector and stream buffers
    /// (handshake messages spanning segments, HTTP heads, SSH key
    /// exchanges, out-of-order TCP segments), split across workers
    /// (default 256 MiB). A buffer that would pass it stops growing: that
    /// message is dropped as if cut at its own cap, the flow goes on, and
    /// `buffer_refused` counts it.
    pub buffer_memcap: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 1_000_000,
            active_timeout: 1800,
            inspect_packets: 16,
            buffer_memcap: 256 << 20,
            timeouts: Timeouts::default(),
        }
    }
}

/// Idle timeouts per protocol group; Suricata's defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// TCP: new 60, established 600, closed 60.
    pub tcp: StateTimeouts,
    /// UDP: new 30, established 300.
    pub udp: StateTimeouts,
    /// ICMP and ICMPv6: new 30, established 300.
    pub icmp: StateTimeouts,
    /// Everything else (GRE, ESP, ...): new 30, established 300.
    pub other: StateTimeouts,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp: StateTimeouts {
                new: 60,
                established: 600,
                closed: 60,
            },
            udp: StateTimeouts::default(),
            icmp: StateTimeouts::default(),
            other: StateTimeouts::default(),
        }
    }
}

/// Idle timeouts of one protocol group, seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateTimeouts {
    /// Before traffic has gone both ways (or the TCP handshake completed).
    pub new: u64,
    /// Once established.
    pub established: u64,
    /// After FIN exchange or RST (TCP only; other groups use `established`).
    pub closed: u64,
}

impl Default for StateTimeouts {
    fn default() -> Self {
        StateTimeouts {
            new: 30,
            established: 300,
            closed: 0,
        }
    }
}

impl Timeouts {
    /// The table's per-class timeouts in µs (class = group × 3 + state).
    pub fn per_class_us(&self) -> [u64; crate::flow::table::CLASSES] {
        let mut out = [0u64; crate::flow::table::CLASSES];
        for (g, t) in [&self.tcp, &self.udp, &self.icmp, &self.other]
            .iter()
            .enumerate()
        {
            let closed = if g == 0 { t.closed } else { t.established };
            out[g * 3] = t.new * 1_000_000;
            out[g * 3 + 1] = t.established * 1_000_000;
            out[g * 3 + 2] = closed * 1_000_000;
        }
        out
    }
}

/// Fragment reassembly limits (totals; each worker gets its share). When a
/// new datagram does not fit, the oldest partial ones are evicted
/// (`fragment_evicted` in the stats), so a flood of unfinished fragments
/// cannot keep later datagrams from being reassembled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragConfig {
    /// Partial datagrams held at once (default 8192).
    pub max_datagrams: usize,
    /// Bytes held at once (default 32 MiB).
    pub memcap: usize,
    /// Fragments accepted per datagram (default 128).
    pub max_fragments: usize,
    /// Seconds a partial datagram may wait for its fragments (default 60).
    pub timeout: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 8192,
            memcap: 32 * 1024 * 1024,
            max_fragments: 128,
            timeout: 60,
        }
    }
}

/// Decoder limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    /// Tunnel nesting decoded (default 4); deeper layers are counted as
    /// `tunnel_too_deep` and only the outer flows are tracked.
    pub max_tunnel_depth: u8,
    /// Decapsulate tunnels at all (default true).
    pub decapsulate: bool,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            max_tunnel_depth: 4,
            decapsulate: true,
        }
    }
}

/// Threads and queues.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Worker threads; 0 = one per available core (default 0).
    pub workers: usize,
    /// Packets per batch handed from the reader to a worker (default 512).
    pub batch_packets: usize,
    /// Batches queued per worker before the reader waits (default 32): deep
    /// enough that a burst for one worker does not stall the others.
    pub queue_batches: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: 0,
            batch_packets: 512,
            queue_batches: 32,
        }
    }
}

impl PipelineConfig {
    /// The worker count after resolving 0 to the available cores.
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            self.workers
        }
        .min(256)
    }
}

/// Output settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Write every flow, not only flows with detections (default false;
    /// `analyze --all-flows` sets it).
    pub all_flows: bool,
    /// Community ID seed (default 0, as Zeek and Suricata use).
    pub community_id_seed: u16,
    /// Event types written by `analyze` and by the daemon when it has no
    /// `[[output.sink]]` (default `["alert", "flow", "stats"]`); each sink
    /// has its own `types` (docs/events.md).
    pub types: Option<crate::output::types::EventTypes>,
    /// The sensor's name, written as `host` in every event (default none).
    pub host: Option<String>,
    /// Write the MAC addresses of a flow's first Ethernet frame as
    /// `ether` (default false).
    pub ether: bool,
    /// When a flow alerts again: `severity` (default: once per signature,
    /// again only when the severity rises) or `upgrade` (every new or more
    /// confident finding).
    pub alert_repeat: crate::output::types::AlertRepeat,
    /// Where events go, one `[[output.sink]]` table each: `file`, `stdout`,
    /// `unix_stream`, `unix_dgram`, `syslog` or `kafka` (cargo feature), each
    /// behind a bounded queue with a when-full policy (docs/sinks.md).
    /// Default none (`analyze`
    /// writes to stdout or `--output`).
    #[serde(default)]
    pub sink: Vec<crate::sink::SinkConfig>,
}

impl OutputConfig {
    /// The types `analyze` (and the daemon without sinks) writes.
    pub fn types(&self) -> crate::output::types::EventTypes {
        self.types
            .unwrap_or(crate::output::types::EventTypes::ANALYZE)
    }

    /// The types the workers of a live run build: every sink's, or
    /// [`OutputConfig::types`] without sinks.
    pub fn live_types(&self) -> crate::output::types::EventTypes {
        if self.sink.is_empty() {
            return self.types();
        }
        self.sink
            .iter()
            .fold(crate::output::types::EventTypes::NONE, |t, s| {
                t.union(s.common().types())
            })
    }
}

pub use crate::enrich::home::networks;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TOML syntax error.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key is unknown or a value has the wrong type.
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// Dotted path of the offending key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The values are individually fine but make no sense together.
    #[error("{path}: {message}")]
    Semantic {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Loads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = crate::files::read_bounded_text(path, crate::files::MAX_CONFIG_BYTES).map_err(
            |source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            },
        )?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let de = toml::de::Deserializer::parse(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let mut cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner().to_string();
            let message = inner.lines().last().unwrap_or("").trim().to_string();
            ConfigError::Invalid {
                path: origin.to_string(),
                key,
                message: if message.is_empty() {
                    inner.trim().to_string()
                } else {
                    message
                },
            }
        })?;
        cfg.validate().map_err(|message| ConfigError::Semantic {
            path: origin.to_string(),
            message,
        })?;
        let keying = crate::sink::HostKeying {
            home_net: cfg.home_net.clone(),
            concentrators: cfg.correlate.vpn_concentrators.clone(),
        };
        for s in &mut cfg.output.sink {
            if let crate::sink::SinkConfig::Kafka(k) = s {
                k.hosts = keying.clone();
            }
        }
        Ok(cfg)
    }

    /// The correlation stage's settings, with the sensor's `home_net`.
    pub fn correlate_config(&self) -> crate::correlate::CorrelateConfig {
        let mut c = self.correlate.clone();
        c.home_net = self.home_net.clone();
        c
    }

    /// The detection settings this configuration describes, with its
    /// enrichment databases and feeds loaded (a broken one is an error
    /// naming the section).
    pub fn detect_ctx(&self) -> Result<crate::detect::engine::DetectCtx, String> {
        let enrich =
            crate::enrich::Enricher::load(&self.enrich).map_err(|e| format!("enrich: {e}"))?;
        crate::detect::engine::DetectCtx::build(
            &self.detect,
            &self.allow,
            &self.home_net,
            std::sync::Arc::new(enrich),
        )
        .map_err(|e| e.to_string())
    }

    /// Cross-field checks.
    pub fn validate(&self) -> Result<(), String> {
        for (key, value, lo, hi) in self.numeric_ranges() {
            if !(lo..=hi).contains(&value) {
                return Err(format!("{key} = {value} is out of range {lo}..={hi}"));
            }
        }
        self.allow.validate()?;
        self.correlate_config()
            .validate()
            .map_err(|e| e.to_string())?;
        crate::detect::engine::DetectCtx::check(&self.detect).map_err(|e| e.to_string())?;
        self.enrich.validate().map_err(|e| format!("enrich: {e}"))?;
        if self.dns.min_ttl > self.dns.max_ttl {
            return Err("dns.min_ttl must not exceed dns.max_ttl".into());
        }
        self.capture.validate()?;
        self.daemon.validate()?;
        crate::sink::validate_all(&self.output.sink)?;
        Ok(())
    }
}

/// A week, seconds: the longest timeout or window any setting takes (and
/// far below where µs arithmetic could wrap).
const WEEK_S: u64 = 7 * 86_400;

impl Config {
    /// Every numeric setting of these sections with its allowed range
    /// (key, value, lowest, highest): counts and sizes bounded so that
    /// memory stays within a box's reach, times so that µs arithmetic
    /// cannot wrap.
    fn numeric_ranges(&self) -> Vec<(String, u64, u64, u64)> {
        let f = &self.flow;
        let mut v: Vec<(String, u64, u64, u64)> = vec![
            ("flow.max_flows".into(), f.max_flows as u64, 1, 100_000_000),
            ("flow.active_timeout".into(), f.active_timeout, 0, WEEK_S),
            (
                "flow.buffer_memcap".into(),
                f.buffer_memcap as u64,
                1 << 20,
                1 << 40,
            ),
            (
                "flow.inspect_packets".into(),
                u64::from(f.inspect_packets),
                0,
                1024,
            ),
            (
                "pipeline.workers".into(),
                self.pipeline.workers as u64,
                0,
                256,
            ),
            (
                "pipeline.batch_packets".into(),
                self.pipeline.batch_packets as u64,
                1,
                65_536,
            ),
            (
                "pipeline.queue_batches".into(),
                self.pipeline.queue_batches as u64,
                1,
                4096,
            ),
            (
                "defrag.max_datagrams".into(),
                self.defrag.max_datagrams as u64,
                1,
                10_000_000,
            ),
            (
                "defrag.memcap".into(),
                self.defrag.memcap as u64,
                65_536,
                64 << 30,
            ),
            (
                "defrag.max_fragments".into(),
                self.defrag.max_fragments as u64,
                1,
                65_535,
            ),
            ("defrag.timeout".into(), self.defrag.timeout, 1, 3600),
            (
                "dns.cache_size".into(),
                self.dns.cache_size as u64,
                0,
                100_000_000,
            ),
            ("dns.min_ttl".into(), u64::from(self.dns.min_ttl), 0, WEEK_S),
            ("dns.max_ttl".into(), u64::from(self.dns.max_ttl), 0, WEEK_S),
            (
                "decode.max_tunnel_depth".into(),
                u64::from(self.decode.max_tunnel_depth),
                0,
                16,
            ),
            (
                "daemon.user (length)".into(),
                self.daemon.user.len() as u64,
                0,
                256,
            ),
            (
                "daemon.pidfile (length)".into(),
                self.daemon.pidfile.len() as u64,
                0,
                4096,
            ),
        ];
        let t = &f.timeouts;
        for (group, st) in [
            ("tcp", &t.tcp),
            ("udp", &t.udp),
            ("icmp", &t.icmp),
            ("other", &t.other),
        ] {
            for (state, value) in [
                ("new", st.new),
                ("established", st.established),
                ("closed", st.closed),
            ] {
                v.push((format!("flow.timeouts.{group}.{state}"), value, 0, WEEK_S));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_would_crash_or_wrap_are_refused_with_key_and_range() {
        for (text, key) in [
            (
                "[pipeline]\nbatch_packets = 4611686018427387904\n",
                "pipeline.batch_packets",
            ),
            (
                "[pipeline]\nbatch_packets = 1000000000\n",
                "pipeline.batch_packets",
            ),
            (
                "[pipeline]\nqueue_batches = 1099511627776\n",
                "pipeline.queue_batches",
            ),
            (
                "[flow.timeouts.tcp]\nnew = 18446744073710\n",
                "flow.timeouts.tcp.new",
            ),
            ("[flow]\nmax_flows = 0\n", "flow.max_flows"),
            ("[defrag]\nmemcap = 1\n", "defrag.memcap"),
        ] {
            let e = Config::parse(text, "t").expect_err(text).to_string();
            assert!(e.contains(key) && e.contains("out of range"), "{text}: {e}");
        }
    }

    #[test]
    fn a_device_is_not_read_as_a_configuration() {
        let e = Config::load(Path::new("/dev/zero")).expect_err("device");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn defaults_apply_to_missing_keys() {
        let c = Config::parse("[flow]\nmax_flows = 10\n", "t").unwrap();
        assert_eq!(c.flow.max_flows, 10);
        assert_eq!(c.flow.timeouts.tcp.established, 600);
        assert_eq!(c.home_net.len(), 5);
    }

    #[test]
    fn unknown_key_is_reported_with_its_path() {
        let e = Config::parse("[flow.timeouts.tcp]\nestablised = 5\n", "t").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("flow.timeouts.tcp.establised"), "{msg}");
    }

    #[test]
    fn bad_network_is_reported() {
        let e = Config::parse("home_net = [\"10.0.0.0/33\"]\n", "t").unwrap_err();
        assert!(e.to_string().contains("home_net"), "{e}");
    }

    #[test]
    fn wrong_type_is_reported_with_path() {
        let e = Config::parse("[pipeline]\nworkers = \"many\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("pipeline.workers"), "{e}");
    }
}
