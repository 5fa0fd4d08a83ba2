//! The text form: the whole report in lines of at most [`WIDTH`] columns,
//! every string from the traffic cleaned of control characters.

use std::io::{self, Write};

use crate::correlate::HostSummary;
use crate::correlate::host::SessionKind;
use crate::correlate::observation::Confidence;

use super::escape::clean;
use super::model::{FlaggedFlow, Report};
use super::wrap::wrap;

/// Columns of a terminal the text form must fit.
pub const WIDTH: usize = 80;

/// Writes wrapped lines; the only place the text form touches `w`.
struct Out<'a> {
    w: &'a mut dyn Write,
}

impl Out<'_> {
    /// `text` after `first`, kept as it is (alignment included) when it
    /// fits, else wrapped with `rest` as the hanging indent.
    fn para(&mut self, first: &str, rest: &str, text: &str) -> io::Result<()> {
        let text = clean(text);
        if !text.contains('\n') && first.chars().count() + text.chars().count() <= WIDTH {
            return writeln!(self.w, "{}", format!("{first}{text}").trim_end());
        }
        for l in wrap(&text, WIDTH, first, rest) {
            writeln!(self.w, "{l}")?;
        }
        Ok(())
    }

    fn heading(&mut self, title: &str) -> io::Result<()> {
        writeln!(self.w)?;
        self.para("", "", title)?;
        writeln!(self.w, "{}", "-".repeat(title.chars().count().min(WIDTH)))
    }
}

/// `2026-11-21T02:36:38.141133+0000` as `2026-11-21 02:36:38`: seconds
/// are enough for reading, the JSON form keeps the rest.
pub(super) fn short_time(s: &str) -> String {
    let t: String = s.chars().take(19).collect();
    t.replacen('T', " ", 1)
}

/// Human name of a session kind, shared with the HTML legend.
pub(super) fn kind_label(k: SessionKind) -> &'static str {
    match k {
        SessionKind::RemoteIn => "remote control in",
        SessionKind::RemoteOut => "remote control out",
        SessionKind::RemoteTool => "remote-control tool",
        SessionKind::Anonymiser => "VPN/proxy/tunnel",
        SessionKind::Sanctioned => "sanctioned contact",
    }
}

/// The EVE name of a confidence, shared with the HTML form.
pub(super) fn conf(c: Confidence) -> &'static str {
    match c {
        Confidence::Low => "low",
        Confidence::Medium => "medium",
        Confidence::High => "high",
        Confidence::Certain => "certain",
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

fn endpoint(ip: &Option<std::net::IpAddr>, port: Option<u16>) -> String {
    match (ip, port) {
        (Some(std::net::IpAddr::V6(a)), Some(p)) => format!("[{a}]:{p}"),
        (Some(a), Some(p)) => format!("{a}:{p}"),
        (Some(a), None) => a.to_string(),
        (None, _) => "-".to_owned(),
    }
}

/// Writes the text form of `r` to `w`.
pub(super) fn write(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut o = Out { w };
    let title = format!(
        "gateward report ({}, report version {})",
        r.generator, r.report_version
    );
    o.para("", "", &title)?;
    writeln!(o.w, "{}", "=".repeat(WIDTH))?;
    run(&mut o, r)?;
    o.heading(&format!(
        "Hosts by score ({} of {})",
        r.totals.hosts_listed, r.totals.hosts_scored
    ))?;
    if r.hosts.is_empty() {
        o.para("  ", "  ", "No host scored: no rule matched in the window.")?;
    }
    for (i, h) in r.hosts.iter().enumerate() {
        host(&mut o, i + 1, h)?;
    }
    o.heading(&format!(
        "Top flagged flows ({} of {} flagged)",
        r.totals.flows_listed, r.totals.flagged_flows
    ))?;
    if r.top_flows.is_empty() {
        o.para("  ", "  ", "No flagged flow.")?;
    }
    for f in &r.top_flows {
        flow(&mut o, f)?;
    }
    o.heading("Flows per detection kind")?;
    if r.detection_kinds.is_empty() {
        o.para("  ", "  ", "None.")?;
    }
    for k in &r.detection_kinds {
        let kind: String = clean(&k.kind).chars().take(56).collect();
        let line = format!("{kind:<56} {:>10}  {}", k.flows, conf(k.strongest));
        o.para("  ", "    ", &line)?;
    }
    if r.totals.kinds_truncated > 0 {
        let t = format!(
            "{} detections of further kinds not counted (max_kinds)",
            r.totals.kinds_truncated
        );
        o.para("  ", "    ", &t)?;
    }
    counters(&mut o, r)
}

fn run(o: &mut Out<'_>, r: &Report) -> io::Result<()> {
    let s = &r.run;
    o.heading("Run")?;
    let inputs = if s.inputs.is_empty() {
        "-".to_owned()
    } else {
        s.inputs.join(", ")
    };
    o.para("  inputs: ", "    ", &inputs)?;
    let line = format!(
        "{} packets, {} bytes, {} flows, {} alerts, {} host alerts, {:.2} s",
        s.packets, s.bytes, s.flows, s.alerts, s.host_alerts, s.elapsed_s
    );
    o.para("  ", "    ", &line)?;
    let span = format!(
        "{} to {}",
        opt(&s.first_capture_time),
        opt(&s.last_capture_time)
    );
    o.para("  capture time: ", "    ", &span)
}

fn host(o: &mut Out<'_>, rank: usize, h: &HostSummary) -> io::Result<()> {
    writeln!(o.w)?;
    let head = format!(
        "{rank}. {}  score {}  host alerts {}",
        h.ip, h.score, h.alerts
    );
    o.para("", "   ", &head)?;
    let seen = format!(
        "{} to {}",
        short_time(&h.first_seen),
        short_time(&h.last_seen)
    );
    o.para("   seen: ", "     ", &seen)?;
    if !h.controlling_peers.is_empty() {
        let peers: Vec<String> = h.controlling_peers.iter().map(|p| p.to_string()).collect();
        o.para("   controlled from: ", "     ", &peers.join(", "))?;
    }
    if !h.controlling_countries.is_empty() {
        o.para(
            "   controller countries: ",
            "     ",
            &h.controlling_countries.join(", "),
        )?;
    }
    for hit in &h.rules {
        let ctx = if hit.context { " (context)" } else { "" };
        let attack = if hit.attack.is_empty() {
            String::new()
        } else {
            format!(" [{}]", hit.attack.join(", "))
        };
        let line = format!("+{} {}{ctx}{attack}", hit.score, hit.name.name());
        o.para("   ", "       ", &line)?;
        o.para("       ", "       ", &hit.reason)?;
        if !hit.flow_ids.is_empty() {
            let ids: Vec<String> = hit.flow_ids.iter().map(u64::to_string).collect();
            o.para("       evidence flows: ", "         ", &ids.join(", "))?;
        }
        if !hit.community_ids.is_empty() {
            o.para(
                "       community ids: ",
                "         ",
                &hit.community_ids.join(", "),
            )?;
        }
    }
    if !h.timeline.is_empty() {
        o.para(
            "   ",
            "   ",
            &format!("timeline ({} sessions):", h.timeline.len()),
        )?;
    }
    for t in &h.timeline {
        let mut line = format!(
            "{} - {}  {}  {}/{}  peer {}",
            short_time(&t.start),
            short_time(&t.end).get(11..).unwrap_or(""),
            kind_label(t.kind),
            t.category,
            t.protocol,
            t.peer
        );
        if let Some(c) = &t.peer_country {
            line.push_str(&format!(" ({c})"));
        }
        if t.interactive == Some(true) {
            line.push_str(", interactive");
        }
        line.push_str(&format!(", flow {}", t.flow_id));
        o.para("     ", "         ", &line)?;
    }
    Ok(())
}

fn flow(o: &mut Out<'_>, f: &FlaggedFlow) -> io::Result<()> {
    let head = format!(
        "{}  {} -> {}  {}",
        short_time(&f.start),
        endpoint(&f.src_ip, f.src_port),
        endpoint(&f.dest_ip, f.dest_port),
        f.proto
    );
    o.para("  ", "      ", &head)?;
    let dets: Vec<String> = f
        .detections
        .iter()
        .map(|d| {
            format!(
                "{}/{} ({}, {})",
                d.category,
                d.protocol,
                conf(d.confidence),
                d.basis
            )
        })
        .collect();
    o.para("      ", "        ", &dets.join("; "))?;
    let ids = format!(
        "flow {}  community {}  {} packets, {} bytes",
        f.flow_id,
        opt(&f.community_id),
        f.packets,
        f.bytes
    );
    o.para("      ", "        ", &ids)
}

fn counters(o: &mut Out<'_>, r: &Report) -> io::Result<()> {
    o.heading("Correlation counters")?;
    let pairs = serde_json::to_value(&r.correlation).unwrap_or_default();
    let line = pairs.as_object().map_or_else(String::new, |m| {
        m.iter()
            .map(|(k, v)| format!("{k} {v};"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    o.para("  ", "  ", &line)?;
    o.heading("Report totals")?;
    let t = serde_json::to_value(&r.totals).unwrap_or_default();
    let line = t.as_object().map_or_else(String::new, |m| {
        m.iter()
            .map(|(k, v)| format!("{k} {v};"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    o.para("  ", "  ", &line)
}
