//! Run counters: everything dropped, evicted or skipped is counted here and
//! printed at exit (and, with the daemon, exported as metrics).

use crate::decode::{DecodeCounters, DecodeError};
use crate::dissect::InspectCounters;
use std::fmt::Write;

/// Counters of one worker, summed over workers at the end of a run.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// Frames processed.
    pub packets: u64,
    /// Frame bytes (wire length) processed.
    pub bytes: u64,
    /// Decode failures by reason.
    pub decode: DecodeCounters,
    /// Encapsulated packets decoded.
    pub decapsulated: u64,
    /// Datagrams rebuilt from fragments.
    pub reassembled: u64,
    /// Flows created.
    pub flows: u64,
    /// Flows ended by idle timeout (or reuse of their 5-tuple).
    pub flows_timed_out: u64,
    /// Flows evicted because the table was full.
    pub flows_evicted: u64,
    /// Flows still open at the end of input.
    pub flows_at_shutdown: u64,
    /// Interim records of long flows (active timeout).
    pub interim_records: u64,
    /// Flow/alert events written.
    pub events: u64,
    /// Inspection counters.
    pub inspect: InspectCounters,
    /// Most flows held at once by this worker.
    pub peak_flows: u64,
    /// Alerts written.
    pub alerts: u64,
    /// Detections approved by an allow rule (reported, not alerted).
    pub detections_suppressed: u64,
    /// DNS answers learned into the name cache.
    pub dns_names_learned: u64,
    /// Name-cache entries evicted because it was full.
    pub dns_cache_evictions: u64,
    /// Buffer growths refused because the worker's share of
    /// `flow.buffer_memcap` was used up (that message was dropped).
    pub buffer_refused: u64,
    /// Most bytes held in dissector/stream buffers at once (summed over
    /// workers' peaks).
    pub buffer_peak_bytes: u64,
}

impl WorkerStats {
    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &WorkerStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.decode.merge(&o.decode);
        self.decapsulated += o.decapsulated;
        self.reassembled += o.reassembled;
        self.flows += o.flows;
        self.flows_timed_out += o.flows_timed_out;
        self.flows_evicted += o.flows_evicted;
        self.flows_at_shutdown += o.flows_at_shutdown;
        self.interim_records += o.interim_records;
        self.events += o.events;
        self.inspect.merge(&o.inspect);
        self.peak_flows += o.peak_flows;
        self.alerts += o.alerts;
        self.detections_suppressed += o.detections_suppressed;
        self.buffer_refused += o.buffer_refused;
        self.buffer_peak_bytes += o.buffer_peak_bytes;
        // Every worker holds the same cache: report one copy, not the sum.
        self.dns_names_learned = self.dns_names_learned.max(o.dns_names_learned);
        self.dns_cache_evictions = self.dns_cache_evictions.max(o.dns_cache_evictions);
    }
}

/// Everything a run reports at exit.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Summed worker counters.
    pub workers: WorkerStats,
    /// Worker threads used.
    pub worker_count: usize,
    /// Capture files (or streams) read to the end.
    pub inputs_ok: usize,
    /// Inputs that stopped with an error (after their good packets were processed).
    pub inputs_failed: usize,
    /// Wall-clock seconds.
    pub elapsed_secs: f64,
    /// Output bytes that could not be written (e.g. closed pipe).
    pub output_errors: u64,
    /// Worker threads that panicked (their flows are lost): a bug, and the
    /// run fails.
    pub worker_panics: u64,
}

impl RunStats {
    /// The multi-line summary printed on stderr at exit.
    pub fn summary(&self) -> String {
        let w = &self.workers;
        let mut s = String::new();
        let pps = if self.elapsed_secs > 0.0 {
            w.packets as f64 / self.elapsed_secs
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "gateward: {} packets, {} bytes in {:.3} s ({:.0} packets/s, {} workers)",
            w.packets, w.bytes, self.elapsed_secs, pps, self.worker_count
        );
        let _ = writeln!(
            s,
            "gateward: flows {} (timed out {}, evicted {}, open at end {}), interim records {}, alerts {} (suppressed by allow-list {}), events written {}",
            w.flows,
            w.flows_timed_out,
            w.flows_evicted,
            w.flows_at_shutdown,
            w.interim_records,
            w.alerts,
            w.detections_suppressed,
            w.events
        );
        let _ = writeln!(
            s,
            "gateward: decapsulated {}, reassembled datagrams {}, stream gaps {}, dns names learned {} (evicted {}), buffer peak {} bytes (growths refused {})",
            w.decapsulated,
            w.reassembled,
            w.inspect.stream_gaps,
            w.dns_names_learned,
            w.dns_cache_evictions,
            w.buffer_peak_bytes,
            w.buffer_refused
        );
        let mut reasons = String::new();
        for e in DecodeError::ALL {
            let n = w.decode.get(e);
            if n > 0 {
                let _ = write!(reasons, " {}={}", e.name(), n);
            }
        }
        let _ = writeln!(
            s,
            "gateward: decode errors {}{}{}",
            w.decode.errors(),
            if reasons.is_empty() { "" } else { ":" },
            reasons
        );
        let _ = write!(
            s,
            "gateward: inputs ok {}, failed {}",
            self.inputs_ok, self.inputs_failed
        );
        if self.output_errors > 0 {
            let _ = write!(s, ", output write errors {}", self.output_errors);
        }
        s
    }
}
