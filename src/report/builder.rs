//! [`ReportBuilder`]: the report's state during the run — the top-N
//! flagged flows and the counts per detection kind — bounded by
//! [`ReportLimits`], with everything left out counted.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use crate::correlate::observation::{Confidence, EventKind, ObsDetection, Observation, truncate};
use crate::correlate::time::format_eve_time;
use crate::correlate::{CorrelateStats, HostSummary};

use super::model::{
    DetectionKind, FlaggedDetection, FlaggedFlow, REPORT_VERSION, Report, ReportTotals, RunSummary,
};

/// Detections kept per listed flow.
const MAX_FLOW_DETECTIONS: usize = 8;
/// Evidence entries kept per listed detection.
const MAX_FLOW_EVIDENCE: usize = 8;
/// Longest evidence value kept in the report (bytes).
const MAX_EVIDENCE_VALUE: usize = 128;

/// How much the report keeps: memory stays bounded whatever the run's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportLimits {
    /// Flagged flows listed (the strongest).
    pub max_flows: usize,
    /// Distinct `category/protocol` kinds counted.
    pub max_kinds: usize,
    /// Hosts listed (the highest scores).
    pub max_hosts: usize,
}

impl Default for ReportLimits {
    /// 50 flows, 256 kinds, 100 hosts: a report a person reads to the end.
    fn default() -> Self {
        ReportLimits {
            max_flows: 50,
            max_kinds: 256,
            max_hosts: 100,
        }
    }
}

/// How bad a category is, for ranking flows of equal confidence: a
/// sanctioned region before being remote-controlled before hiding egress
/// before a relay before the rest (the order of the host rules' severities).
fn category_rank(category: &str) -> u8 {
    match category {
        "sanctioned_region" => 4,
        "remote_access" => 3,
        "vpn" | "proxy" | "tunnel" => 2,
        "relay" => 1,
        _ => 0,
    }
}

/// Strength of a flow: higher is listed first.
type Strength = (Confidence, u8, usize);

/// Unique, totally ordered key of a listed flow: strength, then earlier
/// flows and lower ids first, so the list is the same for any feed order
/// of equally strong flows.
type RankKey = (Strength, Reverse<u64>, Reverse<u64>);

fn strength(dets: &[ObsDetection]) -> Strength {
    let conf = dets.iter().map(|d| d.confidence).max().unwrap_or_default();
    let rank = dets
        .iter()
        .map(|d| category_rank(&d.category))
        .max()
        .unwrap_or(0);
    (conf, rank, dets.len().min(MAX_FLOW_DETECTIONS))
}

struct KindAcc {
    category: String,
    protocol: String,
    flows: u64,
    strongest: Confidence,
}

/// Collects what the report needs while the run goes on. Feed it every
/// observation the correlation stage saw, then [`ReportBuilder::finish`].
pub struct ReportBuilder {
    limits: ReportLimits,
    /// Listed flows by rank; the first entry is the weakest.
    top: BTreeMap<RankKey, (EventKind, FlaggedFlow)>,
    /// Flow id → its key in `top`.
    by_id: HashMap<u64, RankKey>,
    kinds: BTreeMap<String, KindAcc>,
    totals: ReportTotals,
}

impl ReportBuilder {
    /// An empty builder keeping at most what `limits` allow.
    pub fn new(limits: ReportLimits) -> Self {
        ReportBuilder {
            limits,
            top: BTreeMap::new(),
            by_id: HashMap::new(),
            kinds: BTreeMap::new(),
            totals: ReportTotals::default(),
        }
    }

    /// Takes one observation (a flagged or DNS flow, or an alert): counts
    /// its detection kinds (flow records only, so a flow's alert and its
    /// flow record count once) and offers it to the top-flows list (one
    /// entry per flow id, the stronger record kept, the flow record on a
    /// tie). O(log n) in `max_flows` + `max_kinds`.
    pub fn add_observation(&mut self, o: &Observation) {
        self.totals.observations += 1;
        let dets = &o.detections;
        match o.event_type {
            EventKind::Alert => self.totals.alert_observations += 1,
            EventKind::Flow if dets.is_empty() => self.totals.unflagged_flows += 1,
            EventKind::Flow => {
                self.totals.flagged_flows += 1;
                self.count_kinds(dets);
            }
        }
        if dets.is_empty() || self.limits.max_flows == 0 {
            return;
        }
        let s = strength(dets);
        if let Some(old) = self.by_id.get(&o.flow_id).copied() {
            let better = s > old.0 || (s == old.0 && o.event_type == EventKind::Flow);
            if !better {
                return;
            }
            self.top.remove(&old);
            self.by_id.remove(&o.flow_id);
        } else if self.top.len() >= self.limits.max_flows {
            let weakest = self.top.keys().next().copied();
            let key = (s, Reverse(o.start_us), Reverse(o.flow_id));
            match weakest {
                Some(w) if key > w => {
                    if let Some((_, f)) = self.top.remove(&w) {
                        self.by_id.remove(&f.flow_id);
                    }
                    self.totals.flows_not_listed += 1;
                }
                _ => {
                    self.totals.flows_not_listed += 1;
                    return;
                }
            }
        }
        let key = (s, Reverse(o.start_us), Reverse(o.flow_id));
        let flow = self.flagged(o, s.0);
        self.by_id.insert(o.flow_id, key);
        self.top.insert(key, (o.event_type, flow));
    }

    fn count_kinds(&mut self, dets: &[ObsDetection]) {
        let mut seen: Vec<String> = Vec::with_capacity(dets.len());
        for d in dets {
            let kind = format!(
                "{}/{}",
                truncate(&d.category, 64),
                truncate(&d.protocol, 64)
            );
            if seen.contains(&kind) {
                continue;
            }
            seen.push(kind.clone());
            if let Some(acc) = self.kinds.get_mut(&kind) {
                acc.flows += 1;
                acc.strongest = acc.strongest.max(d.confidence);
            } else if self.kinds.len() < self.limits.max_kinds {
                self.kinds.insert(
                    kind,
                    KindAcc {
                        category: truncate(&d.category, 64),
                        protocol: truncate(&d.protocol, 64),
                        flows: 1,
                        strongest: d.confidence,
                    },
                );
            } else {
                self.totals.kinds_truncated += 1;
            }
        }
    }

    fn flagged(&mut self, o: &Observation, confidence: Confidence) -> FlaggedFlow {
        let mut dets: Vec<&ObsDetection> = o.detections.iter().collect();
        // Strongest first, so the cap drops the weakest.
        dets.sort_by_key(|d| Reverse((d.confidence, category_rank(&d.category))));
        let cut = dets.len().saturating_sub(MAX_FLOW_DETECTIONS);
        self.totals.detail_truncated += cut as u64;
        dets.truncate(MAX_FLOW_DETECTIONS);
        let detections = dets
            .into_iter()
            .map(|d| {
                let cut = d.evidence.len().saturating_sub(MAX_FLOW_EVIDENCE);
                self.totals.detail_truncated += cut as u64;
                FlaggedDetection {
                    category: truncate(&d.category, 64),
                    protocol: truncate(&d.protocol, 64),
                    confidence: d.confidence,
                    basis: truncate(&d.basis, 64),
                    evidence: d
                        .evidence
                        .iter()
                        .take(MAX_FLOW_EVIDENCE)
                        .map(|(k, v)| (truncate(k, 64), truncate(v, MAX_EVIDENCE_VALUE)))
                        .collect(),
                }
            })
            .collect();
        FlaggedFlow {
            flow_id: o.flow_id,
            community_id: o.community_id.as_deref().map(|c| truncate(c, 64)),
            start: format_eve_time(o.start_us),
            end: format_eve_time(o.end_us),
            src_ip: o.src_ip,
            src_port: o.src_port,
            dest_ip: o.dest_ip,
            dest_port: o.dest_port,
            proto: truncate(&o.proto, 16),
            src_country: o.src_peer.country_iso.as_deref().map(|c| truncate(c, 8)),
            dest_country: o.dest_peer.country_iso.as_deref().map(|c| truncate(c, 8)),
            confidence,
            bytes: o.bytes_toserver.saturating_add(o.bytes_toclient),
            packets: o.pkts_toserver.saturating_add(o.pkts_toclient),
            detections,
        }
    }

    /// The finished report: `hosts` as `Correlator::hosts_ranked` gives
    /// them (re-sorted by score, then address, and cut to `max_hosts`),
    /// the stage's counters and the run's figures.
    pub fn finish(
        self,
        mut hosts: Vec<HostSummary>,
        stats: &CorrelateStats,
        mut run: RunSummary,
    ) -> Report {
        let mut totals = self.totals;
        hosts.sort_by(|a, b| b.score.cmp(&a.score).then(a.ip.cmp(&b.ip)));
        totals.hosts_scored = hosts.len() as u64;
        hosts.truncate(self.limits.max_hosts);
        totals.hosts_listed = hosts.len() as u64;
        let top_flows: Vec<FlaggedFlow> = self.top.into_values().rev().map(|(_, f)| f).collect();
        totals.flows_listed = top_flows.len() as u64;
        let mut detection_kinds: Vec<DetectionKind> = self
            .kinds
            .into_iter()
            .map(|(kind, a)| DetectionKind {
                kind,
                category: a.category,
                protocol: a.protocol,
                flows: a.flows,
                strongest: a.strongest,
            })
            .collect();
        detection_kinds.sort_by(|a, b| b.flows.cmp(&a.flows).then(a.kind.cmp(&b.kind)));
        if !run.elapsed_s.is_finite() || run.elapsed_s < 0.0 {
            run.elapsed_s = 0.0;
        }
        Report {
            report_version: REPORT_VERSION,
            generator: format!("gateward {}", env!("CARGO_PKG_VERSION")),
            run,
            hosts,
            top_flows,
            detection_kinds,
            correlation: stats.clone(),
            totals,
        }
    }
}

#[cfg(test)]
mod tests;
