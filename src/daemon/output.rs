//! The configured sinks as the live pipeline's output: the bridge between
//! `pipeline::LiveOutput` (what the writer thread and the control thread
//! call) and `sink::SinkSet` (one bounded queue and thread per sink).

use crate::pipeline::{LiveOutput, OutputCounter};
use crate::sink::SinkSet;
use std::sync::RwLock;
use std::time::Instant;

/// A sink set behind a lock taken for writing only at shutdown, when the
/// set is consumed; sends and counter reads share it.
pub struct SinkOutput {
    set: RwLock<Option<SinkSet>>,
}

impl SinkOutput {
    /// Wraps an opened sink set.
    pub fn new(set: SinkSet) -> Self {
        SinkOutput {
            set: RwLock::new(Some(set)),
        }
    }
}

fn closed() -> std::io::Error {
    std::io::Error::other("outputs already shut down")
}

impl LiveOutput for SinkOutput {
    fn send(&self, buf: &[u8]) -> std::io::Result<()> {
        let guard = self.set.read().map_err(|_| closed())?;
        guard.as_ref().ok_or_else(closed)?.send(buf);
        Ok(())
    }

    fn reopen(&self) -> std::io::Result<()> {
        let guard = self.set.read().map_err(|_| closed())?;
        guard.as_ref().ok_or_else(closed)?.reopen();
        Ok(())
    }

    fn counters(&self) -> Vec<OutputCounter> {
        let Ok(guard) = self.set.read() else {
            return Vec::new();
        };
        let Some(set) = guard.as_ref() else {
            return Vec::new();
        };
        set.counters()
            .into_iter()
            .flat_map(|c| {
                [
                    ("sent", c.sent),
                    ("dropped", c.dropped),
                    ("retried", c.retried),
                    ("resent", c.resent),
                    ("errors", c.errors),
                    ("truncated", c.truncated),
                    ("queued", c.queued),
                ]
                .into_iter()
                .map(move |(name, value)| OutputCounter {
                    output: c.name.clone(),
                    name: name.to_string(),
                    value,
                })
            })
            .collect()
    }

    fn shutdown(&self, deadline: Instant) -> std::io::Result<()> {
        let set = self
            .set
            .write()
            .map_err(|_| closed())?
            .take()
            .ok_or_else(closed)?;
        // A blocked sender must not hold the shutdown beyond its deadline.
        set.interrupt();
        let left = deadline.saturating_duration_since(Instant::now());
        let counters = set.shutdown(left);
        let lost: u64 = counters.iter().map(|c| c.dropped).sum();
        for c in counters.iter().filter(|c| c.dropped > 0) {
            eprintln!(
                "gateward: warning: output {}: {} line(s) dropped",
                c.name, c.dropped
            );
        }
        if lost > 0 {
            return Err(std::io::Error::other(format!(
                "{lost} line(s) could not be delivered"
            )));
        }
        Ok(())
    }
}
