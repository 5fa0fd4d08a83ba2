//! The HTML form: one self-contained page (inline CSS and SVG, no
//! scripts, nothing fetched — a Content-Security-Policy says so to the
//! browser too), every string from the traffic escaped.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::correlate::HostSummary;

use super::escape::H;
use super::model::{FlaggedFlow, Report};
use super::svg;
use super::text::{conf, kind_label, short_time};

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#111827;background:#fff;max-width:1200px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;border-bottom:2px solid #d1d5db;padding-bottom:4px;margin-top:32px}
h3{font-size:1.1em;margin:0 0 6px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #d1d5db;padding:4px 6px;text-align:left;vertical-align:top;font-size:.9em}
th{background:#e5e7eb}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
.host{border:1px solid #9ca3af;border-left:8px solid #b91c1c;border-radius:4px;padding:12px;margin:16px 0;background:#fff}
.host.low{border-left-color:#b45309}.low .score{background:#b45309}td.rule,td.nw{white-space:nowrap}
.score{display:inline-block;background:#b91c1c;color:#fff;border-radius:4px;padding:1px 8px;margin-left:8px}
.muted{color:#4b5563}.ctx{color:#4b5563;font-style:italic}
svg.timeline{display:block;margin:8px 0;border:1px solid #d1d5db}
svg text{font-family:system-ui,sans-serif}svg .lane{font-size:13px;fill:#111827}
svg .axis{font-size:11px;fill:#374151}svg .bar{font-size:11px;fill:#fff;font-weight:600}
svg .barout{font-size:11px;fill:#111827}svg .legend{font-size:12px;fill:#111827}
";

fn opt_html<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_owned(), |v| H(&v.to_string()).to_string())
}

/// Writes the HTML form of `r` to `w` (built in memory first: the report
/// is bounded, and a failed write then never leaves half a page).
pub(super) fn write(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        s,
        "<title>gateward report</title><style>{CSS}</style></head><body><h1>gateward report</h1><p class=\"muted\">{} · report version {}</p>",
        H(&r.generator),
        r.report_version
    );
    run(&mut s, r);
    let _ = write!(
        s,
        "<h2 id=\"hosts\">Hosts by score ({} of {})</h2>",
        r.totals.hosts_listed, r.totals.hosts_scored
    );
    if r.hosts.is_empty() {
        s.push_str("<p>No host scored: no rule matched in the window.</p>");
    }
    for (i, h) in r.hosts.iter().enumerate() {
        host(&mut s, i, h);
    }
    flows(&mut s, r);
    kinds(&mut s, r);
    counters(&mut s, r);
    s.push_str("</body></html>\n");
    w.write_all(s.as_bytes())
}

/// The run in two lines (the hosts matter more), inputs folded away.
fn run(s: &mut String, r: &Report) {
    let u = &r.run;
    let inputs: Vec<String> = u.inputs.iter().map(|i| H(i).to_string()).collect();
    let _ = write!(
        s,
        "<h2 id=\"run\">Run</h2><p>{} packets · {} bytes · {} flows · {} alerts · {} host alerts · {:.2} s<br>\
         capture time {} to {}</p><details><summary>{} inputs</summary><p class=\"mono\">{}</p></details>",
        u.packets,
        u.bytes,
        u.flows,
        u.alerts,
        u.host_alerts,
        u.elapsed_s,
        opt_html(&u.first_capture_time),
        opt_html(&u.last_capture_time),
        inputs.len(),
        if inputs.is_empty() {
            "-".to_owned()
        } else {
            inputs.join("<br>")
        },
    );
}

fn host(s: &mut String, i: usize, h: &HostSummary) {
    let _ = write!(
        s,
        "<article class=\"host{}\"><h3>{}. <span class=\"mono\">{}</span><span class=\"score\">score {}</span></h3>\
         <p class=\"muted\">seen {} to {} · host alerts {}</p>",
        if h.alerts == 0 { " low" } else { "" },
        i + 1,
        h.ip,
        h.score,
        H(&short_time(&h.first_seen)),
        H(&short_time(&h.last_seen)),
        h.alerts
    );
    if !h.controlling_peers.is_empty() {
        let peers: Vec<String> = h.controlling_peers.iter().map(|p| p.to_string()).collect();
        let countries: Vec<String> = h
            .controlling_countries
            .iter()
            .map(|c| H(c).to_string())
            .collect();
        let _ = write!(
            s,
            "<p>Controlled from <span class=\"mono\">{}</span>{}</p>",
            peers.join(", "),
            if countries.is_empty() {
                String::new()
            } else {
                format!(" ({})", countries.join(", "))
            }
        );
    }
    s.push_str("<table><tr><th>score</th><th>rule</th><th>why</th><th>ATT&amp;CK</th><th>evidence</th></tr>");
    for hit in &h.rules {
        let ids: Vec<String> = hit.flow_ids.iter().map(u64::to_string).collect();
        let cids: Vec<String> = hit.community_ids.iter().map(|c| H(c).to_string()).collect();
        let _ = write!(
            s,
            "<tr><td class=\"n\">+{}</td><td class=\"mono rule\">{}{}</td><td>{}</td><td class=\"mono\">{}</td>\
             <td class=\"mono\">flows {}<br>{}</td></tr>",
            hit.score,
            H(hit.name.name()),
            if hit.context {
                " <span class=\"ctx\">(context)</span>"
            } else {
                ""
            },
            H(&hit.reason),
            H(&hit.attack.join(", ")),
            if ids.is_empty() {
                "-".to_owned()
            } else {
                ids.join(", ")
            },
            cids.join("<br>")
        );
    }
    s.push_str("</table>");
    if !h.timeline.is_empty() {
        let _ = write!(s, "<p><b>Timeline</b> ({} sessions)</p>", h.timeline.len());
        s.push_str(&svg::timeline(&h.timeline, i));
        s.push_str("<details><summary>Sessions</summary><table><tr><th>start</th><th>end</th><th>kind</th><th>detection</th><th>peer</th><th>flow</th></tr>");
        for t in &h.timeline {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}/{}</td><td class=\"mono\">{} ({}){}</td><td class=\"mono\">{}<br>{}</td></tr>",
                H(&short_time(&t.start)),
                H(&short_time(&t.end)),
                kind_label(t.kind),
                H(&t.category),
                H(&t.protocol),
                t.peer,
                opt_html(&t.peer_country),
                if t.interactive == Some(true) {
                    ", interactive"
                } else {
                    ""
                },
                t.flow_id,
                opt_html(&t.community_id)
            );
        }
        s.push_str("</table></details>");
    }
    s.push_str("</article>");
}

fn endpoint(ip: &Option<std::net::IpAddr>, port: Option<u16>, country: &Option<String>) -> String {
    let mut e = ip.map_or_else(|| "-".to_owned(), |a| a.to_string());
    if let Some(p) = port {
        e.push_str(&format!(" :{p}"));
    }
    if let Some(c) = country {
        e.push_str(&format!(" ({})", H(c)));
    }
    e
}

fn flows(s: &mut String, r: &Report) {
    let _ = write!(
        s,
        "<h2 id=\"flows\">Top flagged flows ({} of {} flagged)</h2>",
        r.totals.flows_listed, r.totals.flagged_flows
    );
    if r.top_flows.is_empty() {
        s.push_str("<p>No flagged flow.</p>");
        return;
    }
    s.push_str("<table><tr><th>start</th><th>client</th><th>server</th><th>proto</th><th>confidence</th><th>detections</th></tr>");
    for f in &r.top_flows {
        flow_row(s, f);
    }
    s.push_str("</table>");
}

fn flow_row(s: &mut String, f: &FlaggedFlow) {
    let dets: Vec<String> = f
        .detections
        .iter()
        .map(|d| {
            let ev: Vec<String> = d
                .evidence
                .iter()
                .map(|(k, v)| format!("{}={}", H(k), H(v)))
                .collect();
            format!(
                "<b>{}/{}</b> {} {}{}",
                H(&d.category),
                H(&d.protocol),
                conf(d.confidence),
                H(&d.basis),
                if ev.is_empty() {
                    String::new()
                } else {
                    format!("<br><span class=\"mono muted\">{}</span>", ev.join(" "))
                }
            )
        })
        .collect();
    let _ = write!(
        s,
        "<tr><td class=\"nw\">{}</td><td class=\"mono nw\">{}</td><td class=\"mono nw\">{}</td><td>{}</td><td>{}</td><td>{}<br><span class=\"mono muted\">flow {} · {}</span></td></tr>",
        H(&short_time(&f.start)),
        endpoint(&f.src_ip, f.src_port, &f.src_country),
        endpoint(&f.dest_ip, f.dest_port, &f.dest_country),
        H(&f.proto),
        conf(f.confidence),
        dets.join("<br>"),
        f.flow_id,
        opt_html(&f.community_id)
    );
}

fn kinds(s: &mut String, r: &Report) {
    s.push_str("<h2 id=\"kinds\">Flows per detection kind</h2>");
    if r.detection_kinds.is_empty() {
        s.push_str("<p>None.</p>");
        return;
    }
    s.push_str("<table><tr><th>kind</th><th>flows</th><th>strongest</th></tr>");
    for k in &r.detection_kinds {
        let _ = write!(
            s,
            "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            H(&k.kind),
            k.flows,
            conf(k.strongest)
        );
    }
    s.push_str("</table>");
    if r.totals.kinds_truncated > 0 {
        let _ = write!(
            s,
            "<p class=\"muted\">{} detections of further kinds not counted (max_kinds).</p>",
            r.totals.kinds_truncated
        );
    }
}

fn pairs_table(s: &mut String, v: serde_json::Value) {
    s.push_str("<table><tr><th>counter</th><th>value</th></tr>");
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            let _ = write!(
                s,
                "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td></tr>",
                H(k),
                H(&v.to_string())
            );
        }
    }
    s.push_str("</table>");
}

fn counters(s: &mut String, r: &Report) {
    s.push_str("<h2 id=\"counters\">Correlation counters</h2>");
    pairs_table(s, serde_json::to_value(&r.correlation).unwrap_or_default());
    s.push_str("<h2 id=\"totals\">Report totals</h2>");
    pairs_table(s, serde_json::to_value(&r.totals).unwrap_or_default());
}
