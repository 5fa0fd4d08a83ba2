//! `gateward correlate`: the correlation stage run on EVE JSON Lines (one
//! sensor's output, or several sensors' merged) instead of packets.
//!
//! It reads what the in-process stage reads: finished `flow` records (not
//! interim ones) that carry findings, approved findings or DNS, each turned
//! into an [`Observation`] by [`Observation::from_eve`], and feeds them in
//! (logged time, flow id) order — the record's `timestamp` is its log time —
//! so on one sensor's output it writes the same host alerts as the sensor's
//! own stage. Input need not be sorted: records wait in a reorder buffer of
//! [`REORDER_US`] of capture time (and at most [`MAX_WAITING`] records);
//! one that comes later than that is still used, out of order, and counted.
//! Lines longer than [`MAX_LINE`] bytes or that are not JSON are counted
//! and skipped.

use crate::correlate::{Correlator, HostAlert, Observation};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};

/// How far (capture time) a record may come after later-logged ones and
/// still be fed in order.
pub const REORDER_US: u64 = 60 * 1_000_000;
/// Records held for reordering at most; beyond, the oldest is fed early.
pub const MAX_WAITING: usize = 1 << 20;
/// Longest line read; a longer one is skipped (counted).
pub const MAX_LINE: usize = 1 << 20;

/// What reading EVE input came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EveStats {
    /// Lines read.
    pub lines: u64,
    /// Lines that were not a JSON object.
    pub invalid: u64,
    /// Lines over [`MAX_LINE`] bytes.
    pub too_long: u64,
    /// Records fed to the stage.
    pub observations: u64,
    /// Records that came later than the reorder buffer allows (fed out of
    /// order).
    pub late: u64,
}

/// True for the records the correlation stage reads: finished flow records
/// with findings, approved findings or DNS (the in-process stage reads the
/// same flows, written or not). Protocol events (`dns`, `tls`, ...) repeat
/// what the flow record carries and are skipped; a host alert (its `host`
/// is an object, where a sensor's `host` name is a string) is skipped.
pub fn wanted(v: &serde_json::Value) -> bool {
    let nonempty = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_array())
            .is_some_and(|a| !a.is_empty())
    };
    v.get("event_type").and_then(|e| e.as_str()) == Some("flow")
        && v.get("host_risk").is_none()
        && v.pointer("/flow/reason").and_then(|r| r.as_str()) != Some("active_timeout")
        && (nonempty("detections") || nonempty("suppressed") || v.get("dns").is_some())
}

/// The reorder buffer between EVE records and the stage: records wait up
/// to [`REORDER_US`] of capture time (at most [`MAX_WAITING`] of them) so
/// the stage sees them in (logged time, flow id) order.
pub struct EveFeed {
    waiting: BTreeMap<(u64, u64, u64), Observation>,
    newest: u64,
    fed_until: u64,
    alerts: Vec<HostAlert>,
    buf: Vec<u8>,
}

impl Default for EveFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl EveFeed {
    /// An empty buffer.
    pub fn new() -> Self {
        EveFeed {
            waiting: BTreeMap::new(),
            newest: 0,
            fed_until: 0,
            alerts: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Takes one line (with or without its `\n`): counted, parsed, and
    /// if the stage reads it, queued; what the horizon (the newest logged
    /// time less [`REORDER_US`]) releases is fed and the host alerts it
    /// causes written to `out`.
    pub fn line(
        &mut self,
        line: &[u8],
        correlator: &mut Correlator,
        out: &mut dyn Write,
        stats: &mut EveStats,
        also: &mut dyn FnMut(&Observation),
    ) -> std::io::Result<()> {
        self.push(line, stats);
        let horizon = self.newest.saturating_sub(REORDER_US);
        self.release(horizon, correlator, out, stats, also)
    }

    /// Counts, parses and queues one line; returns its logged time when
    /// the stage reads it. Nothing is fed: see [`EveFeed::release`].
    pub fn push(&mut self, line: &[u8], stats: &mut EveStats) -> Option<u64> {
        stats.lines += 1;
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            stats.invalid += usize::from(!line.trim_ascii().is_empty()) as u64;
            return None;
        };
        if !v.is_object() {
            stats.invalid += 1;
            return None;
        }
        if !wanted(&v) {
            return None;
        }
        let o = Observation::from_eve(&v)?;
        let logged = v
            .get("timestamp")
            .and_then(|t| t.as_str())
            .and_then(crate::correlate::time::parse_eve_time)
            .unwrap_or(o.end_us);
        if logged < self.fed_until {
            stats.late += 1;
        }
        self.newest = self.newest.max(logged);
        self.waiting.insert((logged, o.flow_id, stats.lines), o);
        Some(logged)
    }

    /// Feeds every waiting record logged before `horizon` (and the oldest
    /// beyond [`MAX_WAITING`]), writing the host alerts it causes.
    pub fn release(
        &mut self,
        horizon: u64,
        correlator: &mut Correlator,
        out: &mut dyn Write,
        stats: &mut EveStats,
        also: &mut dyn FnMut(&Observation),
    ) -> std::io::Result<()> {
        loop {
            let full = self.waiting.len() > MAX_WAITING;
            let Some(e) = self.waiting.first_entry() else {
                break;
            };
            if e.key().0 >= horizon && !full {
                break;
            }
            self.fed_until = self.fed_until.max(e.key().0);
            let o = e.remove();
            also(&o);
            feed(correlator, &o, &mut self.alerts, stats);
        }
        write_alerts(&mut self.alerts, out, &mut self.buf)
    }

    /// End of input: feeds what waits, then the stage's last evaluation.
    pub fn finish(
        mut self,
        correlator: &mut Correlator,
        out: &mut dyn Write,
        stats: &mut EveStats,
        also: &mut dyn FnMut(&Observation),
    ) -> std::io::Result<()> {
        while let Some((_, o)) = self.waiting.pop_first() {
            also(&o);
            feed(correlator, &o, &mut self.alerts, stats);
        }
        correlator.finish(&mut self.alerts);
        write_alerts(&mut self.alerts, out, &mut self.buf)?;
        out.flush()
    }
}

/// Feeds the EVE records of `input` to `correlator` and writes its host
/// alerts to `out` as JSON Lines; `also` sees each record fed (the report
/// gathers from it). Errors are I/O errors of input or output.
pub fn correlate_eve(
    input: &mut dyn BufRead,
    correlator: &mut Correlator,
    out: &mut dyn Write,
    stats: &mut EveStats,
    also: &mut dyn FnMut(&Observation),
) -> std::io::Result<()> {
    let mut feed = EveFeed::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let limited = <&mut dyn BufRead as std::io::Read>::take(&mut *input, MAX_LINE as u64 + 1);
        let n = { limited }.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
            stats.too_long += 1;
            skip_line(input)?;
            continue;
        }
        feed.line(&line, correlator, out, stats, also)?;
    }
    feed.finish(correlator, out, stats, also)
}

fn feed(c: &mut Correlator, o: &Observation, alerts: &mut Vec<HostAlert>, stats: &mut EveStats) {
    stats.observations += 1;
    c.observe(o, alerts);
}

fn write_alerts(
    alerts: &mut Vec<HostAlert>,
    out: &mut dyn Write,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    for a in alerts.drain(..) {
        buf.clear();
        a.to_json_line(buf);
        out.write_all(buf)?;
    }
    Ok(())
}

/// Discards the rest of an over-long line.
fn skip_line(input: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(i) = chunk.iter().position(|b| *b == b'\n') {
            input.consume(i + 1);
            return Ok(());
        }
        let n = chunk.len();
        input.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::CorrelateConfig;

    #[test]
    fn hostile_lines_are_counted_and_skipped() {
        let mut c = Correlator::new(CorrelateConfig::default()).expect("config");
        let mut text = b"not json\n[1,2]\n\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        text.extend(b"\n{\"event_type\":\"stats\"}\n");
        let mut out = Vec::new();
        let mut stats = EveStats::default();
        correlate_eve(&mut &text[..], &mut c, &mut out, &mut stats, &mut |_| {}).expect("reads");
        assert_eq!(stats.invalid, 2);
        assert_eq!(stats.too_long, 1);
        assert_eq!(stats.observations, 0);
        assert!(out.is_empty());
    }

    #[test]
    fn interim_records_and_host_alerts_are_not_read() {
        let flow = |reason: &str| serde_json::json!({"event_type":"flow","flow":{"reason":reason},"detections":[{"category":"vpn"}]});
        assert!(wanted(&flow("timeout")));
        assert!(!wanted(&flow("active_timeout")));
        let mut host = flow("timeout");
        host["host_risk"] = serde_json::json!({});
        assert!(!wanted(&host));
        assert!(!wanted(
            &serde_json::json!({"event_type":"flow","flow":{},"detections":[]})
        ));
    }
}
