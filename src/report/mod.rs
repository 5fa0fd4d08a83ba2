//! The analyst's report (issue 11 item 4): what the run saw, written once
//! after it ends, for a person rather than a SIEM. Hosts ranked by the
//! correlation stage's score with the rules' reasons in plain words, each
//! host's session timeline, the strongest flagged flows, counts per
//! detection kind, the stage's counters and the run summary.
//!
//! Pure: the caller feeds it and picks the writer. [`ReportBuilder`] keeps
//! bounded state while the run goes on ([`ReportLimits`]); [`Report`] is
//! the finished value, `Serialize` for the JSON form
//! (`docs/report.schema.json`, documented in `docs/report.md`), with a
//! text writer that fits an 80-column terminal and a self-contained HTML
//! writer (inline CSS and SVG, no scripts, every input string escaped).
//!
//! ```
//! use gateward::correlate::{CorrelateConfig, Correlator, Observation};
//! use gateward::report::{ReportBuilder, ReportFormat, ReportLimits, RunSummary};
//! let mut c = Correlator::new(CorrelateConfig::default()).expect("valid config");
//! let mut b = ReportBuilder::new(ReportLimits::default());
//! let mut alerts = Vec::new();
//! let line = r#"{"event_type":"flow","flow_id":1,"src_ip":"10.0.0.1","dest_ip":"192.0.2.1","timestamp":"2026-11-21T02:36:38.141133+0000"}"#;
//! if let Some(obs) = serde_json::from_str(line).ok().as_ref().and_then(Observation::from_eve) {
//!     c.observe(&obs, &mut alerts);
//!     b.add_observation(&obs);
//! }
//! c.finish(&mut alerts);
//! let report = b.finish(c.hosts_ranked(), c.stats(), RunSummary::default());
//! let mut out = Vec::new();
//! report.write(ReportFormat::Text, &mut out).expect("write to a Vec");
//! assert!(String::from_utf8_lossy(&out).contains("gateward report"));
//! ```

mod builder;
mod escape;
mod format;
mod html;
mod model;
mod svg;
mod text;
mod wrap;

pub use builder::{ReportBuilder, ReportLimits};
pub use format::{ReportFormat, UnknownFormat};
pub use model::{
    DetectionKind, FlaggedDetection, FlaggedFlow, REPORT_VERSION, Report, ReportTotals, RunSummary,
};
