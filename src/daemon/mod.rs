//! The live sensor daemon (`gateward run`): lifecycle, signals, metrics and
//! stats events. Its configuration sections live in `config::daemon`.

mod lifecycle;
mod metrics;
mod output;
mod stats_event;

pub use lifecycle::{run, run_problems, validate};
pub use metrics::render_metrics;
pub use stats_event::stats_event;

pub use crate::config::daemon::{CaptureConfig, DaemonConfig};
