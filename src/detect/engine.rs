//! Per-flow detection: runs the detectors over a flow's first packets and
//! facts, keeps the detections, applies allow-lists, and tells the worker
//! when an alert is due.

use super::allow::AllowConfig;
use super::config::DetectConfig;
use super::detector::Family;
use super::names::{NamesCtx, NamesDetectors};
use super::proxy::{ProxyCtx, ProxyDetectors};
use super::related::Related;
use super::remote::{RemoteCtx, RemoteDetectors};
use super::tunnel::{TunnelCtx, TunnelDetectors};
use super::vpn::{VpnCtx, VpnDetectors};
use super::{Basis, Category, Confidence, Detection, FlowFacts, PacketView, Progress, Protocol};
use crate::decode::tunnel::TunnelKind;
use std::sync::Arc;

/// A detector family's settings are wrong: which section, and why. The
/// text is `detect.<family>: <reason>`, as the CLI prints it.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// `[detect.proxy]`: the Tor relay list could not be read or is too long.
    #[error("detect.proxy: {0}")]
    Proxy(String),
    /// `[detect.tunnel]`: a value out of range.
    #[error("detect.tunnel: {0}")]
    Tunnel(#[from] super::tunnel::TunnelConfigError),
    /// `[detect.names]`: a list entry or list file is invalid.
    #[error("detect.names: {0}")]
    Names(String),
}

/// Read-only detection settings shared by every worker.
#[derive(Debug, Default)]
pub struct DetectCtx {
    /// Operator approvals.
    pub allow: AllowConfig,
    /// VPN family settings.
    pub vpn: VpnCtx,
    /// Proxy family settings.
    pub proxy: ProxyCtx,
    /// Covert-tunnel family settings.
    pub tunnel: TunnelCtx,
    /// Service-name lists.
    pub names: NamesCtx,
    /// Remote-access family settings.
    pub remote: RemoteCtx,
    /// The internal networks.
    pub home: crate::enrich::home::HomeNet,
    /// Geolocation, AS and feed snapshot (replaced whole on reload).
    pub enrich: std::sync::Arc<crate::enrich::Enricher>,
}

impl DetectCtx {
    /// Checks the detector families' settings (lists they load included),
    /// without loading the enrichment databases.
    pub fn check(detect: &DetectConfig) -> Result<(), DetectError> {
        Self::build(
            detect,
            &AllowConfig::default(),
            &[],
            Arc::new(crate::enrich::Enricher::default()),
        )
        .map(|_| ())
    }

    /// Builds the shared detection settings from their configuration
    /// sections and a loaded enrichment snapshot, or says which section is
    /// wrong.
    pub fn build(
        detect: &DetectConfig,
        allow: &AllowConfig,
        home_net: &[ipnetwork::IpNetwork],
        enrich: Arc<crate::enrich::Enricher>,
    ) -> Result<Self, DetectError> {
        let d = detect;
        Ok(DetectCtx {
            enrich,
            allow: allow.clone(),
            vpn: VpnCtx::from_config(&d.vpn),
            proxy: ProxyCtx::from_config(&d.proxy).map_err(DetectError::Proxy)?,
            tunnel: TunnelCtx::from_config(&d.tunnel)?,
            names: NamesCtx::from_config(&d.names).map_err(DetectError::Names)?,
            remote: RemoteCtx::from_config(&d.remote),
            home: crate::enrich::home::HomeNet::new(home_net),
        })
    }
}

/// The detector families' per-flow states, created with the flow's first
/// payload packet.
#[derive(Debug, Default)]
struct Families {
    vpn: VpnDetectors,
    proxy: ProxyDetectors,
    tunnel: TunnelDetectors,
    names: NamesDetectors,
    remote: RemoteDetectors,
}

/// Detection state of one flow.
#[derive(Debug, Default)]
pub struct FlowDetect {
    /// Findings, one per (category, protocol), best confidence kept.
    pub detections: Vec<Detection>,
    /// Findings an allow rule approved: not alerted, still reported.
    pub suppressed: Vec<Detection>,
    /// A detection was added or upgraded (to medium or above) since the
    /// last alert.
    alert_due: bool,
    /// An alert was written for this flow.
    alerted: bool,
    /// Facts-level detectors already concluded.
    facts_done: bool,
    /// How far the SOCKS/HTTP handshake had got at the last look.
    handshake_stage: u8,
    /// Family detector states (None until the first payload packet).
    families: Option<Box<Families>>,
    /// Scratch list the families push findings into.
    found: Vec<Detection>,
    /// `hosting` findings about the remote end, raised only if the flow
    /// turns out to be a VPN, proxy or remote-access session.
    pending_hosting: Vec<Detection>,
}

impl FlowDetect {
    /// True when an alert should be written now.
    pub fn alert_due(&self) -> bool {
        self.alert_due
    }

    /// Records that the due alert was written.
    pub fn alert_written(&mut self) {
        self.alert_due = false;
        self.alerted = true;
    }

    /// True when the flow has findings that were never alerted (only
    /// low-confidence ones): the end-of-flow record then goes out as an
    /// alert too.
    pub fn unalerted(&self) -> bool {
        !self.alerted && !self.detections.is_empty()
    }

    /// The flow carried an encapsulated packet of this kind (the decoder
    /// verified the inner header): the outer flow is a tunnel.
    pub fn on_encapsulation(&mut self, kind: TunnelKind, facts: &FlowFacts<'_>, ctx: &DetectCtx) {
        let (category, protocol, what) = match kind {
            TunnelKind::IpInIp => (Category::Tunnel, Protocol::IpIp, "IPv4 in IPv4"),
            TunnelKind::SixInFour => (Category::Tunnel, Protocol::SixInFour, "IPv6 in IPv4"),
            TunnelKind::FourInSix => (Category::Tunnel, Protocol::FourInSix, "IPv4 in IPv6"),
            TunnelKind::SixInSix => (Category::Tunnel, Protocol::SixInSix, "IPv6 in IPv6"),
            TunnelKind::Gre => (Category::Tunnel, Protocol::Gre, "GRE"),
            TunnelKind::Teredo => (Category::Tunnel, Protocol::Teredo, "Teredo (IPv6 over UDP)"),
            TunnelKind::PptpGre => (
                Category::Vpn,
                Protocol::Pptp,
                "PPTP enhanced GRE carrying PPP",
            ),
            TunnelKind::GreUdp => (Category::Tunnel, Protocol::Gre, "GRE in UDP"),
            TunnelKind::Erspan => (Category::Tunnel, Protocol::Gre, "ERSPAN (GRE)"),
            TunnelKind::Ayiya => (Category::Tunnel, Protocol::Ayiya, "AYIYA (IPv6 over UDP)"),
            TunnelKind::L2tp => (Category::Vpn, Protocol::L2tp, "L2TP carrying PPP"),
            TunnelKind::L2tpv3 => (
                Category::Tunnel,
                Protocol::L2tp,
                "L2TPv3 Ethernet pseudowire",
            ),
            // Operator overlays (mobile core, data centre, wireless
            // controllers) are infrastructure, not evasion: not flagged.
            TunnelKind::GtpU | TunnelKind::Vxlan | TunnelKind::Geneve | TunnelKind::Capwap => {
                return;
            }
        };
        if self.detections.iter().any(|d| d.protocol == protocol) {
            return;
        }
        let d = Detection::new(
            category,
            protocol,
            Confidence::Certain,
            Basis::Structure,
            format!("{what} encapsulation: the inner packet's headers decode"),
        )
        .with("encapsulation", kind.name());
        self.add(d, facts, ctx);
    }

    /// One payload packet of the inspection window.
    pub fn on_packet(&mut self, p: &PacketView<'_>, facts: &FlowFacts<'_>, ctx: &DetectCtx) {
        let fam = self.families.get_or_insert_with(Default::default);
        let out = &mut self.found;
        look(&mut fam.vpn, p, facts, &ctx.vpn, out);
        look(&mut fam.proxy, p, facts, &ctx.proxy, out);
        look(&mut fam.tunnel, p, facts, &ctx.tunnel, out);
        look(&mut fam.names, p, facts, &ctx.names, out);
        look(&mut fam.remote, p, facts, &ctx.remote, out);
        self.drain_found(facts, ctx);
        self.handshakes(facts, ctx);
    }

    /// Round trips of a remote-access session: a `relay` detection when the
    /// application round trip far exceeds the transport one (see
    /// [`crate::detect::rtt`]).
    /// `rtt` is only evaluated for remote-access sessions not yet flagged
    /// as relayed, so other flows pay nothing.
    pub fn on_timing(
        &mut self,
        rtt: impl FnOnce() -> Option<crate::detect::rtt::Rtt>,
        facts: &FlowFacts<'_>,
        ctx: &DetectCtx,
    ) {
        if !self
            .detections
            .iter()
            .any(|d| d.category == Category::RemoteAccess)
            || self
                .detections
                .iter()
                .any(|d| d.category == Category::Relay)
        {
            return;
        }
        let Some(r) = rtt() else { return };
        if !crate::detect::rtt::looks_relayed(&r) {
            return;
        }
        let d = Detection::new(
            Category::Relay,
            Protocol::Relay,
            Confidence::High,
            Basis::Behaviour,
            format!(
                "application round trip to the {} ({:.1} ms) is {:.0}x the TCP round trip ({:.1} ms): TCP ends at a relay or proxy near the sensor",
                r.side.name(),
                r.app_us as f64 / 1000.0,
                r.ratio(),
                r.tcp_us as f64 / 1000.0
            ),
        )
        .with("rtt_side", r.side.name())
        .with("tcp_rtt_ms", format!("{:.3}", r.tcp_us as f64 / 1000.0))
        .with("app_rtt_ms", format!("{:.3}", r.app_us as f64 / 1000.0))
        .with("rtt_ratio", format!("{:.1}", r.ratio()))
        .with("exchanges", r.exchanges);
        self.add(d, facts, ctx);
    }

    /// The flow ended: last chance for behaviour over the whole window, and
    /// for ties to confident findings of other flows between the same hosts.
    pub fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &DetectCtx, related: &[Related]) {
        if let Some(fam) = self.families.as_mut() {
            let out = &mut self.found;
            if !related.is_empty() {
                fam.vpn.on_related(related, facts, &ctx.vpn, out);
            }
            fam.vpn.on_end(facts, &ctx.vpn, out);
            fam.proxy.on_end(facts, &ctx.proxy, out);
            fam.tunnel.on_end(facts, &ctx.tunnel, out);
            fam.names.on_end(facts, &ctx.names, out);
            fam.remote.on_end(facts, &ctx.remote, out);
        }
        self.drain_found(facts, ctx);
        self.handshakes(facts, ctx);
        self.families = None;
    }

    fn drain_found(&mut self, facts: &FlowFacts<'_>, ctx: &DetectCtx) {
        if self.found.is_empty() {
            return;
        }
        let found = std::mem::take(&mut self.found);
        for d in found {
            self.add(d, facts, ctx);
        }
    }

    /// SOCKS and HTTP proxy handshakes, read from the dissectors.
    fn handshakes(&mut self, facts: &FlowFacts<'_>, ctx: &DetectCtx) {
        if self.facts_done {
            return;
        }
        // Look again only when the handshake moved on (an answer, a grant,
        // a status): a finding short of certain may still be upgraded.
        let stage = handshake_stage(facts);
        if stage == self.handshake_stage {
            return;
        }
        self.handshake_stage = stage;
        match proxy_handshake(facts) {
            Progress::Found(d) => {
                self.facts_done = d.confidence == Confidence::Certain;
                self.add(d, facts, ctx);
            }
            Progress::Stop => self.facts_done = true,
            Progress::Continue => {}
        }
    }

    /// Address findings about the flow's endpoints (from the enrichment
    /// snapshot): sanctioned regions and address feeds are raised now;
    /// hosting is held until the flow proves suspicious.
    pub fn on_addresses(&mut self, found: Vec<Detection>, facts: &FlowFacts<'_>, ctx: &DetectCtx) {
        for d in found {
            if d.category == Category::Hosting {
                self.pending_hosting.push(d);
            } else {
                self.add(d, facts, ctx);
            }
        }
    }

    /// Adds a finding: approved ones go to `suppressed`; one detection per
    /// (category, protocol) is kept, the more confident replacing the less.
    /// A VPN, proxy or remote-access finding whose remote end is a hosting
    /// provider brings the hosting finding in and is one level more severe.
    pub fn add(&mut self, mut d: Detection, facts: &FlowFacts<'_>, ctx: &DetectCtx) {
        if matches!(
            d.category,
            Category::Vpn | Category::Proxy | Category::RemoteAccess
        ) && d.confidence >= Confidence::Medium
            && !self.pending_hosting.is_empty()
        {
            let hosting = std::mem::take(&mut self.pending_hosting);
            d.severity = d.severity.saturating_sub(1).max(1);
            d.evidence.push("remote_hosting", hosting[0].protocol);
            for h in hosting {
                self.add(h, facts, ctx);
            }
        }
        // The names only matter to rules that list domains.
        let names = if ctx.allow.rule.iter().any(|r| !r.domains.is_empty()) {
            flow_names(facts)
        } else {
            Vec::new()
        };
        if let Some(i) = ctx
            .allow
            .approves(&d, facts.client.0.ip(), facts.server.0.ip(), &names)
        {
            if !self
                .suppressed
                .iter()
                .any(|s| s.category == d.category && s.protocol == d.protocol)
            {
                let mut d = d;
                d.evidence.push("allowed_by", format!("allow.rule[{i}]"));
                self.suppressed.push(d);
            }
            return;
        }
        match self
            .detections
            .iter_mut()
            .find(|e| e.category == d.category && e.protocol == d.protocol)
        {
            Some(e) if e.confidence >= d.confidence => {}
            Some(e) => {
                *e = d;
                self.alert_due |= e.confidence >= Confidence::Medium;
            }
            None => {
                self.alert_due |= d.confidence >= Confidence::Medium;
                self.detections.push(d);
            }
        }
    }
}

/// One packet, then the facts it may have completed, for a family that is
/// still looking.
fn look<F: Family>(
    fam: &mut F,
    p: &PacketView<'_>,
    facts: &FlowFacts<'_>,
    ctx: &F::Ctx,
    out: &mut Vec<Detection>,
) {
    if !fam.done() {
        fam.on_packet(p, facts, ctx, out);
        fam.on_facts(facts, ctx, out);
    }
}

/// Names a flow is known by, for allow-lists: SNI, resolved name, HTTP
/// host, certificate subject. Read from the TLS facts the `tls` event would
/// show, without building the event (that computes the fingerprints).
fn flow_names<'a>(f: &FlowFacts<'a>) -> Vec<&'a str> {
    let mut v = Vec::new();
    if let Some(n) = f.dns_name {
        v.push(n);
    }
    if let Some(app) = f.app {
        let shown =
            |t: &'a crate::dissect::tls::TlsState| t.has_event().then(|| t.facts()).flatten();
        if let Some(t) = app.tls.as_deref().and_then(shown) {
            v.extend(t.client_hello().and_then(|c| c.sni.as_deref()));
            v.extend(t.cert.as_ref().map(|c| c.subject.as_str()));
        }
        if let Some(q) = app.quic.as_deref().and_then(|q| shown(&q.1)) {
            v.extend(q.client_hello().and_then(|c| c.sni.as_deref()));
        }
        if let Some(h) = app.http.as_ref().and_then(|h| h.event()) {
            v.extend(h.hostname.as_deref());
        }
        // The question of a DNS flow: an approved domain's look-ups (an
        // anti-virus vendor's hash look-ups, say) are not tunnels.
        if let Some(q) = app.dns_event().and_then(|e| e.queries.first()) {
            v.push(q.rrname.as_str());
        }
    }
    v
}

/// A small number that changes whenever the SOCKS or HTTP handshake
/// progresses (seen, answered, granted or established), so the handshake is
/// judged again only then.
fn handshake_stage(f: &FlowFacts<'_>) -> u8 {
    let Some(app) = f.app else { return 0 };
    if let Some(s) = app.socks.as_ref().and_then(|s| s.event()) {
        return 1 + u8::from(s.granted);
    }
    if let Some(h) = app.http.as_ref().and_then(|h| h.event()) {
        return 3
            + u8::from(h.status.is_some())
            + 2 * u8::from(h.connect_established == Some(true));
    }
    // Neither confirmed yet; once both are ruled out nothing will change.
    u8::from(app.socks.is_none() && app.http.is_none()) * 10
}

/// SOCKS and HTTP proxy handshakes, read from the dissectors: the proxy's
/// own answer confirms them.
fn proxy_handshake(f: &FlowFacts<'_>) -> Progress {
    let Some(app) = f.app else {
        return Progress::Continue;
    };
    if let Some(s) = app.socks.as_ref().and_then(|s| s.event()) {
        let (confidence, what) = if s.granted {
            (Confidence::Certain, "the proxy granted the request")
        } else {
            (Confidence::High, "the proxy answered the handshake")
        };
        let mut d = Detection::new(
            Category::Proxy,
            Protocol::Socks,
            confidence,
            Basis::Structure,
            format!("SOCKS{} handshake: {what}", s.version),
        )
        .with("socks_version", s.version);
        if let Some(t) = &s.target {
            d = d.with("target", format!("{t}:{}", s.port.unwrap_or(0)));
        }
        return Progress::Found(d);
    }
    if let Some(h) = app.http.as_ref().and_then(|h| h.event()) {
        if h.http_method.eq_ignore_ascii_case("CONNECT") {
            let established = h.connect_established == Some(true);
            if h.status.is_none() && !established {
                return Progress::Continue;
            }
            let mut d = Detection::new(
                Category::Proxy,
                Protocol::HttpConnect,
                Confidence::certain_if(established),
                Basis::Structure,
                if established {
                    "HTTP CONNECT tunnel opened by the proxy (2xx)"
                } else {
                    "HTTP CONNECT request answered by a proxy"
                },
            );
            if let Some(t) = &h.connect_target {
                d = d.with("target", t);
            }
            if let Some(s) = h.status {
                d = d.with("status", s);
            }
            return Progress::Found(d);
        }
        if h.uri_form == crate::dissect::http::TargetForm::Absolute {
            let mut d = Detection::new(
                Category::Proxy,
                Protocol::HttpProxy,
                Confidence::High,
                Basis::Structure,
                "HTTP request in absolute form (only forward proxies accept it)",
            );
            d = d.with("url", &h.url);
            return Progress::Found(d);
        }
        return Progress::Stop;
    }
    Progress::Continue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::decode::Addr;
    use crate::flow::{Flow, FlowKey};

    fn flow() -> Flow {
        let (key, lo) = FlowKey::new(
            Addr::v4([10, 0, 0, 2]),
            40000,
            Addr::v4([52, 94, 76, 1]),
            1194,
            crate::decode::IpProto::UDP,
            [0, 0],
            0,
        );
        Flow::new(key, lo, Timestamp(0))
    }

    #[test]
    fn hosting_waits_for_a_suspicious_finding_then_raises_its_severity() {
        let f = flow();
        let ctx = DetectCtx::default();
        let mut d = FlowDetect::default();
        let hosting = Detection::new(
            Category::Hosting,
            Protocol::HostingAsn,
            Confidence::High,
            Basis::Address,
            "AWS",
        );
        d.on_addresses(
            vec![hosting],
            &FlowFacts::new(&f, &Default::default(), None),
            &ctx,
        );
        assert!(
            d.detections.is_empty(),
            "plain traffic to a cloud must not be flagged"
        );
        assert!(!d.alert_due());
        let vpn = Detection::new(
            Category::Vpn,
            Protocol::OpenVpn,
            Confidence::Certain,
            Basis::Structure,
            "x",
        );
        assert_eq!(vpn.severity, 2);
        d.add(vpn, &FlowFacts::new(&f, &Default::default(), None), &ctx);
        let v = d
            .detections
            .iter()
            .find(|x| x.protocol.name() == "openvpn")
            .expect("vpn kept");
        assert_eq!(v.severity, 1, "a VPN to a hosting provider is more severe");
        assert_eq!(v.evidence.get("remote_hosting"), Some("hosting_asn"));
        assert!(d.detections.iter().any(|x| x.category == Category::Hosting));
        assert!(d.alert_due());
    }

    #[test]
    fn sanctioned_region_alerts_at_once() {
        let f = flow();
        let ctx = DetectCtx::default();
        let mut d = FlowDetect::default();
        let s = Detection::new(
            Category::SanctionedRegion,
            Protocol::Sanctions,
            Confidence::High,
            Basis::Address,
            "KP",
        );
        d.on_addresses(
            vec![s],
            &FlowFacts::new(&f, &Default::default(), None),
            &ctx,
        );
        assert!(d.alert_due());
        assert_eq!(d.detections[0].severity, 1);
    }

    #[test]
    fn a_weaker_repeat_does_not_replace_a_stronger_finding() {
        let f = flow();
        let ctx = DetectCtx::default();
        let mut d = FlowDetect::default();
        d.add(
            Detection::new(
                Category::Vpn,
                Protocol::OpenVpn,
                Confidence::Certain,
                Basis::Structure,
                "a",
            ),
            &FlowFacts::new(&f, &Default::default(), None),
            &ctx,
        );
        d.alert_written();
        d.add(
            Detection::new(
                Category::Vpn,
                Protocol::OpenVpn,
                Confidence::Medium,
                Basis::Structure,
                "b",
            ),
            &FlowFacts::new(&f, &Default::default(), None),
            &ctx,
        );
        assert_eq!(d.detections.len(), 1);
        assert_eq!(d.detections[0].reason, "a");
        assert!(!d.alert_due(), "no new alert for a weaker repeat");
    }
}
