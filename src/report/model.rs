//! The finished report as a value: what every writer renders and what the
//! JSON form serialises (field by field in `docs/report.md`).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;

use crate::correlate::observation::Confidence;
use crate::correlate::{CorrelateStats, HostSummary};

use super::format::ReportFormat;

/// Version of the report's JSON shape (`report_version`); raised when a
/// field changes meaning or goes away, so readers can refuse what they do
/// not understand.
pub const REPORT_VERSION: u32 = 1;

/// What the run was, in plain fields the caller fills (the pipeline's
/// counters); the report only shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// Capture files (or interfaces) read, in order.
    pub inputs: Vec<String>,
    /// Packets read.
    pub packets: u64,
    /// Bytes of the packets read.
    pub bytes: u64,
    /// Flow records written.
    pub flows: u64,
    /// Single-flow alerts written.
    pub alerts: u64,
    /// Host alerts (`GATEWARD HOST …`) written.
    pub host_alerts: u64,
    /// Wall-clock seconds the run took.
    pub elapsed_s: f64,
    /// Capture time of the first packet (EVE time format), when known.
    pub first_capture_time: Option<String>,
    /// Capture time of the last packet (EVE time format), when known.
    pub last_capture_time: Option<String>,
}

/// One detection of a listed flow, as in EVE `detections[]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlaggedDetection {
    /// `vpn`, `proxy`, `tunnel`, `remote_access`, `sanctioned_region`, …
    pub category: String,
    /// Protocol, tool or service.
    pub protocol: String,
    /// How sure the single-flow detector was.
    pub confidence: Confidence,
    /// `structure`, `behaviour`, `name`, `address`, `port`.
    pub basis: String,
    /// Short strings an analyst can check (capped).
    pub evidence: BTreeMap<String, String>,
}

/// One of the top flagged flows: enough to find it in the EVE output and
/// in other tools (flow id, community id, endpoints, time).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlaggedFlow {
    /// gateward flow id.
    pub flow_id: u64,
    /// Community ID v1.
    pub community_id: Option<String>,
    /// First packet (EVE time format).
    pub start: String,
    /// Last packet (EVE time format).
    pub end: String,
    /// Client address.
    pub src_ip: Option<IpAddr>,
    /// Client port.
    pub src_port: Option<u16>,
    /// Server address.
    pub dest_ip: Option<IpAddr>,
    /// Server port.
    pub dest_port: Option<u16>,
    /// `TCP`, `UDP`, … as in EVE.
    pub proto: String,
    /// Client country, when enrichment gave one.
    pub src_country: Option<String>,
    /// Server country, when enrichment gave one.
    pub dest_country: Option<String>,
    /// The strongest confidence of its detections (the ranking key).
    pub confidence: Confidence,
    /// Frame bytes both ways.
    pub bytes: u64,
    /// Packets both ways.
    pub packets: u64,
    /// Its detections (capped).
    pub detections: Vec<FlaggedDetection>,
}

/// How many flows had one kind of detection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DetectionKind {
    /// `category/protocol`.
    pub kind: String,
    /// The category.
    pub category: String,
    /// The protocol.
    pub protocol: String,
    /// Flow records with at least one detection of this kind.
    pub flows: u64,
    /// The strongest confidence seen for it.
    pub strongest: Confidence,
}

/// What the builder saw and what it left out, so a short report never
/// hides that it is short.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReportTotals {
    /// Observations fed to the builder.
    pub observations: u64,
    /// Of those, alert records (ranked, not counted per kind).
    pub alert_observations: u64,
    /// Flow records with at least one detection.
    pub flagged_flows: u64,
    /// Flow records without detections (DNS flows the stage reads).
    pub unflagged_flows: u64,
    /// Flagged flows listed in `top_flows`.
    pub flows_listed: u64,
    /// Flagged records left out of `top_flows` (`max_flows`): refused or
    /// pushed out by stronger ones.
    pub flows_not_listed: u64,
    /// Detections of a kind beyond `max_kinds`, not in `detection_kinds`.
    pub kinds_truncated: u64,
    /// Detections or evidence entries cut from listed flows.
    pub detail_truncated: u64,
    /// Hosts with a score.
    pub hosts_scored: u64,
    /// Hosts listed in `hosts` (`max_hosts`).
    pub hosts_listed: u64,
}

/// The analyst's report. Build it with
/// [`ReportBuilder`](super::ReportBuilder); write it with one of the
/// `write_*` methods or [`Report::write`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub report_version: u32,
    /// `gateward <version>`.
    pub generator: String,
    /// The run.
    pub run: RunSummary,
    /// Hosts ranked by score (highest first), with reasons and timelines.
    pub hosts: Vec<HostSummary>,
    /// The strongest flagged flows, strongest first.
    pub top_flows: Vec<FlaggedFlow>,
    /// Flows per detection kind, most first.
    pub detection_kinds: Vec<DetectionKind>,
    /// The correlation stage's counters (evictions, suppressions, …).
    pub correlation: CorrelateStats,
    /// What the report counted and left out.
    pub totals: ReportTotals,
}

impl Report {
    /// Writes the report in `format`: one entry point for the CLI.
    pub fn write(&self, format: ReportFormat, w: &mut dyn Write) -> io::Result<()> {
        match format {
            ReportFormat::Text => self.write_text(w),
            ReportFormat::Json => self.write_json(w),
            ReportFormat::Html => self.write_html(w),
        }
    }

    /// The text form: every line at most 80 columns, control characters
    /// escaped, for a terminal or a ticket.
    pub fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        super::text::write(self, w)
    }

    /// The JSON form (`docs/report.schema.json`), pretty-printed, one
    /// trailing newline, for programs.
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self).map_err(io::Error::other)?;
        w.write_all(b"\n")
    }

    /// The HTML form: one self-contained file (inline CSS and SVG, no
    /// scripts, nothing fetched), for a browser or an e-mail attachment.
    pub fn write_html(&self, w: &mut dyn Write) -> io::Result<()> {
        super::html::write(self, w)
    }
}
