//! Host correlation: the only cross-flow stage. It is fed finished flows
//! (and alerts) in capture-time order, keeps per-internal-host state over a
//! sliding window, scores each host with named rules (docs/host.md), and
//! writes `GATEWARD HOST …` EVE alerts when a host's score crosses a
//! threshold.
//!
//! Pure and single-threaded: no I/O, no clocks, no threads. Its output
//! depends only on the sequence of observations, so it is identical
//! whatever the worker count, and `gateward correlate` can run the same code
//! on EVE files. Feed it sorted by (end time, flow id):
//!
//! ```
//! use gateward::correlate::{Correlator, CorrelateConfig, Observation};
//! let mut c = Correlator::new(CorrelateConfig::default()).expect("valid config");
//! let mut alerts = Vec::new();
//! let line = r#"{"event_type":"flow","flow_id":1,"src_ip":"10.0.0.1","dest_ip":"192.0.2.1","timestamp":"2026-11-21T02:36:38.141133+0000"}"#;
//! if let Some(obs) = serde_json::from_str(line).ok().as_ref().and_then(Observation::from_eve) {
//!     c.observe(&obs, &mut alerts);
//! }
//! c.finish(&mut alerts);
//! let mut out = Vec::new();
//! for a in &alerts { a.to_json_line(&mut out); }
//! let ranked = c.hosts_ranked();
//! assert!(ranked.is_empty());
//! ```

pub mod alert;
pub mod config;
pub mod dns;
pub mod egress;
pub mod host;
pub mod lru;
pub mod observation;
pub mod repeat;
pub mod rules;
mod stage;
pub mod summary;
pub mod time;

pub use alert::HostAlert;
pub use config::{ConfigError, CorrelateConfig};
pub use observation::Observation;
pub use rules::{Rule, RuleHit};
pub use stage::{CorrelateStats, Correlator};
pub use summary::{HostSummary, TimelineEntry};
