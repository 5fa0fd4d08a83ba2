//! A host's session timeline as inline SVG: one lane per session kind on
//! one capture-time axis. Colours come with a legend, and the chart reads
//! without colour too: every lane is labelled, each kind has its own fill
//! pattern, and bars wide enough carry the tool's name; every bar has a
//! `<title>` with the details.

use std::fmt::Write as _;

use crate::correlate::TimelineEntry;
use crate::correlate::host::SessionKind;
use crate::correlate::time::format_eve_time;

use super::escape::H;
use super::text::kind_label;

/// Bars drawn per chart at most (the most recent are kept).
const MAX_BARS: usize = 256;
const WIDTH: f64 = 1000.0;
const LABEL_W: f64 = 170.0;
const X0: f64 = 180.0;
const X1: f64 = 980.0;
const TOP: f64 = 10.0;
const LANE_H: f64 = 30.0;
const BAR_H: f64 = 18.0;
const TICKS: u64 = 5;

/// Lanes, top to bottom: being driven first, then hiding egress.
const ORDER: [SessionKind; 5] = [
    SessionKind::RemoteIn,
    SessionKind::RemoteTool,
    SessionKind::RemoteOut,
    SessionKind::Anonymiser,
    SessionKind::Sanctioned,
];

/// Fill colour (Okabe–Ito, distinguishable with colour-vision
/// deficiencies) and pattern short name of a kind.
pub(super) fn style(k: SessionKind) -> (&'static str, &'static str) {
    match k {
        SessionKind::RemoteIn => ("#d55e00", "in"),
        SessionKind::RemoteTool => ("#e69f00", "tool"),
        SessionKind::RemoteOut => ("#0072b2", "out"),
        SessionKind::Anonymiser => ("#009e73", "vpn"),
        SessionKind::Sanctioned => ("#cc79a7", "sanc"),
    }
}

/// The pattern drawn over a kind's colour, so lanes differ in shape too.
fn pattern_body(k: SessionKind) -> &'static str {
    match k {
        SessionKind::RemoteIn => "",
        SessionKind::RemoteTool => {
            r##"<path d="M0,8 L8,0" stroke="#000" stroke-width="1.5" stroke-opacity=".55"/>"##
        }
        SessionKind::RemoteOut => {
            r##"<circle cx="4" cy="4" r="1.6" fill="#fff" fill-opacity=".8"/>"##
        }
        SessionKind::Anonymiser => {
            r##"<path d="M0,2 H8 M0,6 H8" stroke="#fff" stroke-width="1.4" stroke-opacity=".8"/>"##
        }
        SessionKind::Sanctioned => {
            r##"<path d="M0,0 L8,8 M8,0 L0,8" stroke="#000" stroke-width="1.2" stroke-opacity=".6"/>"##
        }
    }
}

fn tick_label(us: u64, span_us: u64) -> String {
    let t = format_eve_time(us);
    if span_us < 60_000_000 {
        t.get(11..23).unwrap_or("").to_owned()
    } else if span_us < 86_400_000_000 {
        t.get(11..19).unwrap_or("").to_owned()
    } else {
        format!(
            "{} {}",
            t.get(5..10).unwrap_or(""),
            t.get(11..16).unwrap_or("")
        )
    }
}

/// The chart for `timeline`; `id` makes the pattern ids unique in the page
/// (several charts share one document). Empty string for no sessions.
pub(super) fn timeline(timeline: &[TimelineEntry], id: usize) -> String {
    let entries = &timeline[timeline.len().saturating_sub(MAX_BARS)..];
    if entries.is_empty() {
        return String::new();
    }
    let lanes: Vec<SessionKind> = ORDER
        .into_iter()
        .filter(|k| entries.iter().any(|e| e.kind == *k))
        .collect();
    let t0 = entries
        .iter()
        .map(|e| e.start_us.min(e.end_us))
        .min()
        .unwrap_or(0);
    let t1 = entries
        .iter()
        .map(|e| e.end_us.max(e.start_us))
        .max()
        .unwrap_or(0);
    let span = (t1 - t0).max(1_000_000);
    let x = |t: u64| X0 + (t.saturating_sub(t0) as f64 / span as f64) * (X1 - X0);
    let axis_y = TOP + lanes.len() as f64 * LANE_H + 6.0;
    let legend_y = axis_y + 34.0;
    let height = legend_y + 22.0;
    let mut s = String::with_capacity(4096 + entries.len() * 400);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="tl{id}"><title id="tl{id}">Session timeline, {} sessions, {} to {}</title><defs>"#,
        entries.len(),
        format_eve_time(t0),
        format_eve_time(t1)
    );
    for k in ORDER {
        let (colour, name) = style(k);
        let _ = write!(
            s,
            r#"<pattern id="p{id}-{name}" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="{colour}"/>{}</pattern>"#,
            pattern_body(k)
        );
    }
    s.push_str("</defs>");
    // Lanes with their labels.
    for (i, k) in lanes.iter().enumerate() {
        let y = TOP + i as f64 * LANE_H;
        let shade = if i % 2 == 0 { "#f3f4f6" } else { "#ffffff" };
        let _ = write!(
            s,
            r##"<rect x="0" y="{y}" width="{WIDTH}" height="{LANE_H}" fill="{shade}"/><text x="{}" y="{}" text-anchor="end" class="lane">{}</text>"##,
            LABEL_W,
            y + LANE_H / 2.0 + 4.0,
            kind_label(*k)
        );
    }
    // Axis and ticks (times in UTC).
    let _ = write!(
        s,
        r##"<line x1="{X0}" y1="{axis_y}" x2="{X1}" y2="{axis_y}" stroke="#374151"/><text x="{}" y="{}" text-anchor="end" class="axis">UTC {}</text>"##,
        LABEL_W,
        axis_y + 18.0,
        format_eve_time(t0).get(..10).unwrap_or("")
    );
    for i in 0..TICKS {
        let t = t0.saturating_add(span / (TICKS - 1) * i);
        let tx = x(t);
        let anchor = match i {
            0 => "start",
            i if i == TICKS - 1 => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            r##"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{}" stroke="#9ca3af" stroke-dasharray="2,3"/><text x="{tx:.1}" y="{}" text-anchor="{anchor}" class="axis">{}</text>"##,
            axis_y + 4.0,
            axis_y + 18.0,
            tick_label(t, span)
        );
    }
    // Bars; a label is drawn only where it does not overlap the lane's
    // previous one (the <title> always has it).
    let mut label_end = vec![f64::MIN; lanes.len()];
    for e in entries {
        let Some(lane) = lanes.iter().position(|k| *k == e.kind) else {
            continue;
        };
        let (a, b) = (e.start_us.min(e.end_us), e.end_us.max(e.start_us));
        let bx = x(a);
        let bw = (x(b) - bx).max(3.0);
        let by = TOP + lane as f64 * LANE_H + (LANE_H - BAR_H) / 2.0;
        let (_, name) = style(e.kind);
        let country = e.peer_country.as_deref().unwrap_or("?");
        let _ = write!(
            s,
            r##"<rect x="{bx:.1}" y="{by}" width="{bw:.1}" height="{BAR_H}" fill="url(#p{id}-{name})" stroke="#111827" stroke-width="0.8"><title>{} {}/{} peer {} ({}) {} to {} flow {}</title></rect>"##,
            kind_label(e.kind),
            H(&e.category),
            H(&e.protocol),
            e.peer,
            H(country),
            format_eve_time(a),
            format_eve_time(b),
            e.flow_id
        );
        let label: String = e.protocol.chars().take(24).collect();
        let label_w = 7.0 * label.chars().count() as f64;
        if bx < label_end[lane] + 4.0 {
            continue;
        }
        if bw >= label_w + 8.0 {
            label_end[lane] = bx + 4.0 + label_w;
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" class="bar">{}</text>"##,
                bx + 4.0,
                by + BAR_H - 5.0,
                H(&label)
            );
        } else if bx + bw + label_w <= X1 + 20.0 {
            label_end[lane] = bx + bw + 3.0 + label_w;
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" class="barout">{}</text>"##,
                bx + bw + 3.0,
                by + BAR_H - 5.0,
                H(&label)
            );
        }
    }
    // Legend: swatch (colour and pattern) and name of every kind shown.
    let mut lx = X0;
    for k in &lanes {
        let (_, name) = style(*k);
        let label = kind_label(*k);
        let _ = write!(
            s,
            r##"<rect x="{lx}" y="{legend_y}" width="18" height="12" fill="url(#p{id}-{name})" stroke="#111827" stroke-width="0.8"/><text x="{}" y="{}" class="legend">{label}</text>"##,
            lx + 24.0,
            legend_y + 11.0
        );
        lx += 40.0 + 7.0 * label.len() as f64;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: SessionKind, start: u64, end: u64, proto: &str) -> TimelineEntry {
        TimelineEntry {
            start: format_eve_time(start),
            end: format_eve_time(end),
            start_us: start,
            end_us: end,
            kind,
            category: "remote_access".into(),
            protocol: proto.into(),
            peer: "203.0.113.5".parse().expect("ip"),
            peer_country: Some("<b>".into()),
            interactive: Some(true),
            flow_id: 7,
            community_id: None,
        }
    }

    #[test]
    fn lanes_legend_and_escaped_labels() {
        let t = 1_800_000_000_000_000;
        let tl = vec![
            entry(SessionKind::RemoteIn, t, t + 3_600_000_000, "rdp"),
            entry(SessionKind::Anonymiser, t + 60_000_000, t + 50, "<script>"),
        ];
        let svg = timeline(&tl, 3);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"lane\"").count(), 2);
        assert_eq!(svg.matches("class=\"legend\"").count(), 2);
        assert!(svg.contains("remote control in") && svg.contains("VPN/proxy/tunnel"));
        assert!(svg.contains("url(#p3-in)") && svg.contains("url(#p3-vpn)"));
        assert!(!svg.contains("<script>") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert_eq!(timeline(&[], 0), "");
    }

    #[test]
    fn instantaneous_and_inverted_sessions_draw_without_panicking() {
        let tl = vec![
            entry(SessionKind::Sanctioned, 5, 5, ""),
            entry(SessionKind::RemoteTool, u64::MAX, 0, "anydesk"),
        ];
        let svg = timeline(&tl, 0);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
