//! The `[capture]` and `[daemon]` sections: how `gateward run` opens its
//! interfaces and runs as a service. Declared here, with the rest of the
//! configuration, so the configuration depends on nothing above it.

use serde::Deserialize;

/// `[capture]`: which interfaces and how to open them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Interfaces to capture on (default none; `run --interface` adds).
    pub interfaces: Vec<String>,
    /// Bytes kept of each frame (default 65535).
    pub snaplen: u32,
    /// Promiscuous mode (default true).
    pub promiscuous: bool,
    /// BPF filter expression (default "": everything).
    pub bpf: String,
    /// Kernel capture buffer in bytes (default 33554432 = 32 MiB).
    pub buffer_size: u32,
    /// Read timeout in milliseconds (default 100): the longest a quiet
    /// interface delays the clock tick and a stop request.
    pub timeout_ms: u32,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            interfaces: Vec::new(),
            snaplen: 65_535,
            promiscuous: true,
            bpf: String::new(),
            buffer_size: 32 * 1024 * 1024,
            timeout_ms: 100,
        }
    }
}

impl CaptureConfig {
    /// Range checks, and the BPF filter must compile.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(i) = self.interfaces.iter().find(|i| i.trim().is_empty()) {
            return Err(format!("capture.interfaces: empty interface name `{i}`"));
        }
        if !(64..=262_144).contains(&self.snaplen) {
            return Err("capture.snaplen must be between 64 and 262144".into());
        }
        if !(1..=10_000).contains(&self.timeout_ms) {
            return Err("capture.timeout_ms must be between 1 and 10000".into());
        }
        if self.buffer_size < 65_536 || self.buffer_size > i32::MAX as u32 {
            return Err("capture.buffer_size must be between 65536 and 2147483647".into());
        }
        crate::capture::check_bpf(&self.bpf).map_err(|e| format!("capture.bpf: {e}"))
    }

    /// The options the live source opens interfaces with.
    pub fn live_options(&self) -> crate::capture::LiveOptions {
        crate::capture::LiveOptions {
            snaplen: self.snaplen,
            promiscuous: self.promiscuous,
            bpf: self.bpf.clone(),
            buffer_size: self.buffer_size,
            timeout_ms: self.timeout_ms,
        }
    }
}

/// `[daemon]`: lifecycle of `gateward run`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// User to become after the capture handles are open, when started as
    /// root (default "": stay). Its groups are applied too.
    pub user: String,
    /// Seconds between EVE `stats` events in the output (default 60; 0
    /// disables them; a last one is always written at shutdown unless 0).
    pub stats_interval: u64,
    /// Address of the Prometheus `/metrics` endpoint, e.g.
    /// "127.0.0.1:9715" (default "": disabled).
    pub metrics_listen: String,
    /// Seconds allowed at shutdown to flush flows and drain outputs
    /// (default 10).
    pub shutdown_deadline: u64,
    /// File to write the process id to (default "": none).
    pub pidfile: String,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            user: String::new(),
            stats_interval: 60,
            metrics_listen: String::new(),
            shutdown_deadline: 10,
            pidfile: String::new(),
        }
    }
}

impl DaemonConfig {
    /// Range and syntax checks.
    pub fn validate(&self) -> Result<(), String> {
        if !self.metrics_listen.is_empty() {
            // As `run` binds it: an address or a host name, and a port.
            use std::net::ToSocketAddrs;
            let found = self.metrics_listen.to_socket_addrs().map_err(|e| {
                format!(
                    "daemon.metrics_listen: `{}` is not a host:port or address:port ({e})",
                    self.metrics_listen
                )
            })?;
            if found.count() == 0 {
                return Err(format!(
                    "daemon.metrics_listen: `{}` resolves to no address",
                    self.metrics_listen
                ));
            }
        }
        if self.shutdown_deadline == 0 || self.shutdown_deadline > 3600 {
            return Err("daemon.shutdown_deadline must be between 1 and 3600 seconds".into());
        }
        if self.stats_interval > 86_400 {
            return Err("daemon.stats_interval must be at most 86400 seconds".into());
        }
        if self.user.contains(['\0', '/', ':']) {
            return Err(format!("daemon.user: `{}` is not a user name", self.user));
        }
        Ok(())
    }
}
