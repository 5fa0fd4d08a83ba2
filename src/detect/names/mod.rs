//! Services recognised by name: curated, sourced lists of VPN, proxy and
//! remote-access service domains matched against SNI, resolved names, HTTP
//! hosts and certificate names (subject CN and O, subjectAltName); extended
//! from the config.
//!
//! The built-in list is `services.toml` beside this file (embedded at build
//! time, versioned, one public source per entry). Operators add entries with
//! `[detect.names] extra = [...]` or `extra_file = "PATH"` (same format).
//!
//! A name is matched on label boundaries: an entry `sec-tunnel.com` matches
//! `sec-tunnel.com` and `eu0.sec-tunnel.com`, never `notsec-tunnel.com`. The
//! lookup walks the name's suffixes through a hash map (one probe per label),
//! so its cost does not grow with the list. `except` entries (more specific
//! names a vendor uses for something else, such as a public DNS resolver)
//! win over the entry above them because the walk tries the longest suffix
//! first.
//!
//! DNS look-ups themselves are never flagged: a look-up is not a session
//! (the corpus labels `DNS.<Service>` benign).

use super::{Basis, Category, Confidence, Detection, FlowFacts, PacketView, Protocol};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

mod intern;
pub mod lolrmm;

/// The built-in list, embedded at build time.
const BUILTIN: &str = include_str!("services.toml");

/// Longest presentation name looked up (RFC 1035: 253 characters).
const MAX_NAME: usize = 253;

/// Payload packets after which the detector stops looking: the ClientHello,
/// ServerHello, certificate and HTTP request head all come before it.
const WINDOW_PACKETS: u16 = 12;

/// The `[detect.names]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NamesConfig {
    /// Use the built-in, sourced list (`services.toml`). Default `true`.
    pub builtin: bool,
    /// Operator entries, same fields as the list file's `[[service]]`
    /// (`domain`, `organization` or `common_name`, `protocol`, `category`, optional
    /// `source`). Default: none.
    pub extra: Vec<ServiceEntry>,
    /// A list file in the `services.toml` format (`version` plus
    /// `[[service]]` / `[[except]]` tables). Default: none.
    pub extra_file: Option<PathBuf>,
    /// LOLRMM's `rmm_domains.csv` (downloaded by the operator): remote
    /// management tools by domain pattern, matched on SNI, HTTP host,
    /// certificate names, resolved names and DNS look-ups. Default: none.
    pub lolrmm_domains: Option<PathBuf>,
    /// LOLRMM's `rmm_certificates.json`: the tools' signer names, matched
    /// (at low confidence) against server certificates' `O=`. Default: none.
    pub lolrmm_certificates: Option<PathBuf>,
}

impl Default for NamesConfig {
    fn default() -> Self {
        NamesConfig {
            builtin: true,
            extra: Vec::new(),
            extra_file: None,
            lolrmm_domains: None,
            lolrmm_certificates: None,
        }
    }
}

/// One list entry: a DNS suffix or a certificate organisation, the service
/// it belongs to, and where that fact comes from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// DNS suffix, matched on label boundaries (exclusive with
    /// `organization` and `common_name`).
    pub domain: Option<String>,
    /// Exact `O=` value of a server certificate's subject.
    pub organization: Option<String>,
    /// Exact `CN=` value of a server certificate's subject that is not a
    /// host name (`AnyDesk Client`); host-name CNs are matched by `domain`.
    pub common_name: Option<String>,
    /// Lower-case protocol/service name (`nordvpn`, `custom_vpn`, ...).
    pub protocol: String,
    /// `vpn`, `proxy`, `tunnel` or `remote_access`.
    pub category: String,
    /// Where the fact was looked up (required in list files, optional in
    /// `extra`).
    pub source: Option<String>,
}

/// A name below a listed suffix that must not be flagged.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptEntry {
    /// DNS suffix not to flag.
    pub domain: String,
    /// Why.
    pub source: Option<String>,
}

/// A list file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    version: String,
    #[serde(default)]
    service: Vec<ServiceEntry>,
    #[serde(default)]
    except: Vec<ExceptEntry>,
}

/// One loaded service entry.
#[derive(Debug, Clone)]
pub struct Service {
    /// The listed suffix or organisation.
    pub key: Box<str>,
    /// Protocol reported in detections (a [`Protocol::Service`] for names
    /// no variant has).
    pub protocol: Protocol,
    /// Category reported.
    pub category: Category,
    /// The list it came from (`builtin@<version>`, `config.extra`, a file),
    /// shared by the entries of one list and freed with the settings.
    pub list: Arc<str>,
    /// The public source recorded beside the entry.
    pub source: Box<str>,
}

/// Marks an `except` entry in the suffix map.
const EXCEPT: u32 = u32::MAX;

/// Read-only settings shared by every worker, built once from the config.
#[derive(Debug, Default)]
pub struct NamesCtx {
    /// Suffix → index into `services` (or [`EXCEPT`]).
    suffixes: HashMap<Box<str>, u32>,
    /// Certificate organisation → index into `services`.
    orgs: HashMap<Box<str>, u32>,
    /// Certificate common name (not a host name) → index into `services`.
    cns: HashMap<Box<str>, u32>,
    /// Loaded entries.
    services: Vec<Service>,
    /// LOLRMM domain patterns → index into `services` (one entry per tool).
    rmm: lolrmm::PatternIndex,
    /// LOLRMM signer names (one tool's only) → index into `services`.
    rmm_orgs: HashMap<Box<str>, u32>,
    /// Tools loaded from the LOLRMM feeds.
    rmm_tools: usize,
}

/// Where a matched name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Sni = 1,
    QuicSni = 2,
    CertName = 4,
    CertOrg = 8,
    HttpHost = 16,
    DnsName = 32,
    DnsQuery = 64,
}

impl Source {
    fn key(self) -> &'static str {
        match self {
            Source::Sni => "tls_sni",
            Source::QuicSni => "quic_sni",
            Source::CertName => "cert_name",
            Source::CertOrg => "cert_organization",
            Source::HttpHost => "http_host",
            Source::DnsName => "dns_name",
            Source::DnsQuery => "dns_query",
        }
    }
}

fn category_from(s: &str) -> Option<Category> {
    Some(match s {
        "vpn" => Category::Vpn,
        "proxy" => Category::Proxy,
        "tunnel" => Category::Tunnel,
        "remote_access" => Category::RemoteAccess,
        _ => return None,
    })
}

/// Checks a listed domain: lower-case LDH labels (underscore allowed), at
/// least two labels, no empty label, at most 253 characters.
fn valid_domain(d: &str) -> bool {
    if d.is_empty() || d.len() > MAX_NAME || !d.contains('.') {
        return false;
    }
    d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    })
}

fn valid_protocol(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 32
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl NamesCtx {
    /// Builds the shared settings; errors name the offending key or file.
    pub fn from_config(cfg: &NamesConfig) -> Result<Self, String> {
        let mut ctx = NamesCtx::default();
        if cfg.builtin {
            let list: ListFile =
                toml::from_str(BUILTIN).map_err(|e| format!("built-in services.toml: {e}"))?;
            let name: Arc<str> = format!("builtin@{}", list.version).into();
            ctx.load_list(&list, &name, true)
                .map_err(|e| format!("built-in services.toml: {e}"))?;
        }
        if let Some(path) = &cfg.extra_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("extra_file {}: {e}", path.display()))?;
            let list: ListFile =
                toml::from_str(&text).map_err(|e| format!("extra_file {}: {e}", path.display()))?;
            let name: Arc<str> = format!("{}@{}", path.display(), list.version).into();
            ctx.load_list(&list, &name, false)
                .map_err(|e| format!("extra_file {}: {e}", path.display()))?;
        }
        let mut tools = HashMap::new();
        if let Some(path) = &cfg.lolrmm_domains {
            ctx.load_rmm_domains(path, &mut tools)
                .map_err(|e| format!("lolrmm_domains {}: {e}", path.display()))?;
        }
        if let Some(path) = &cfg.lolrmm_certificates {
            ctx.load_rmm_certificates(path, &mut tools)
                .map_err(|e| format!("lolrmm_certificates {}: {e}", path.display()))?;
        }
        ctx.rmm_tools = tools.len();
        let extra: Arc<str> = "config.extra".into();
        for (i, e) in cfg.extra.iter().enumerate() {
            ctx.add(e, &extra, false)
                .map_err(|m| format!("extra[{i}]: {m}"))?;
        }
        Ok(ctx)
    }

    fn load_list(
        &mut self,
        list: &ListFile,
        name: &Arc<str>,
        need_source: bool,
    ) -> Result<(), String> {
        for (i, e) in list.service.iter().enumerate() {
            self.add(e, name, need_source)
                .map_err(|m| format!("service[{i}]: {m}"))?;
        }
        for (i, x) in list.except.iter().enumerate() {
            if !valid_domain(&x.domain) {
                return Err(format!("except[{i}]: invalid domain `{}`", x.domain));
            }
            self.suffixes.insert(x.domain.as_str().into(), EXCEPT);
        }
        Ok(())
    }

    fn add(&mut self, e: &ServiceEntry, list: &Arc<str>, need_source: bool) -> Result<(), String> {
        let category = category_from(&e.category).ok_or_else(|| {
            format!(
                "unknown category `{}` (vpn, proxy, tunnel, remote_access)",
                e.category
            )
        })?;
        if !valid_protocol(&e.protocol) {
            return Err(format!(
                "protocol `{}`: lower-case letters, digits and `_`, at most 32",
                e.protocol
            ));
        }
        if need_source && e.source.as_deref().is_none_or(str::is_empty) {
            return Err("an entry of a list needs its `source`".into());
        }
        let idx = u32::try_from(self.services.len()).map_err(|_| "too many entries")?;
        let key: Box<str> = match (&e.domain, &e.organization, &e.common_name) {
            (Some(d), None, None) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if !valid_domain(&d) {
                    return Err(format!("invalid domain `{d}`"));
                }
                self.suffixes.insert(d.as_str().into(), idx);
                d.into()
            }
            (None, Some(o), None) => {
                let o = o.trim();
                if o.is_empty() || o.len() > 128 {
                    return Err("organization must be 1 to 128 characters".into());
                }
                self.orgs.insert(o.into(), idx);
                o.into()
            }
            (None, None, Some(c)) => {
                let c = c.trim();
                if c.is_empty() || c.len() > 128 {
                    return Err("common_name must be 1 to 128 characters".into());
                }
                self.cns.insert(c.into(), idx);
                c.into()
            }
            _ => {
                return Err("set exactly one of `domain`, `organization` and `common_name`".into());
            }
        };
        let protocol = match Protocol::from_name(&e.protocol) {
            Some(p) => p,
            None => Protocol::Service(intern::intern(&e.protocol)?),
        };
        self.services.push(Service {
            key,
            protocol,
            category,
            list: Arc::clone(list),
            source: e.source.clone().unwrap_or_default().into(),
        });
        Ok(())
    }

    /// The service entry of a LOLRMM tool, created at its first mention.
    fn rmm_tool(
        &mut self,
        tool: &str,
        list: &Arc<str>,
        source: &str,
        tools: &mut HashMap<String, u32>,
    ) -> Result<u32, String> {
        if let Some(&i) = tools.get(tool) {
            return Ok(i);
        }
        let idx = u32::try_from(self.services.len()).map_err(|_| "too many entries")?;
        let slug = lolrmm::tool_slug(tool);
        let protocol = match Protocol::from_name(&slug) {
            Some(p) => p,
            None => Protocol::Service(intern::intern(&slug)?),
        };
        self.services.push(Service {
            key: tool.into(),
            protocol,
            category: Category::RemoteAccess,
            list: Arc::clone(list),
            source: source.into(),
        });
        tools.insert(tool.to_owned(), idx);
        Ok(idx)
    }

    fn load_rmm_domains(
        &mut self,
        path: &std::path::Path,
        tools: &mut HashMap<String, u32>,
    ) -> Result<(), String> {
        let rows = lolrmm::parse_domains(&lolrmm::read_feed(path)?)?;
        let list: Arc<str> = format!("lolrmm:{}", path.display()).into();
        for r in &rows {
            let i = self.rmm_tool(&r.tool, &list, "LOLRMM rmm_domains.csv", tools)?;
            self.rmm.insert(&r.pattern, i)?;
        }
        Ok(())
    }

    fn load_rmm_certificates(
        &mut self,
        path: &std::path::Path,
        tools: &mut HashMap<String, u32>,
    ) -> Result<(), String> {
        let certs = lolrmm::parse_certificates(&lolrmm::read_feed(path)?)?;
        let list: Arc<str> = format!("lolrmm:{}", path.display()).into();
        for t in &certs {
            let i = self.rmm_tool(&t.tool, &list, "LOLRMM rmm_certificates.json", tools)?;
            for n in &t.names {
                self.rmm_orgs.entry(n.as_str().into()).or_insert(i);
            }
        }
        Ok(())
    }

    /// What the LOLRMM feeds loaded: tools, domain patterns and signer
    /// names (zeros when none is configured), for `validate` and CI.
    pub fn rmm_summary(&self) -> (usize, usize, usize) {
        (self.rmm_tools, self.rmm.len(), self.rmm_orgs.len())
    }

    /// Whether a loaded list entry reports protocol `name` (for checking
    /// allow rules that name a list-only service, e.g. `vpn/nordvpn`).
    pub fn knows_protocol(&self, name: &str) -> bool {
        self.services
            .iter()
            .any(|s| s.protocol.name().eq_ignore_ascii_case(name))
    }

    /// Number of loaded entries (suffixes and organisations).
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// True when no entry is loaded.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// True when a LOLRMM domain feed is loaded (DNS look-ups are then
    /// matched too).
    fn has_rmm(&self) -> bool {
        !self.rmm.is_empty()
    }

    /// The entry a host name falls under, if any: its suffixes are tried
    /// from the longest (the name itself) to the shortest, so an `except`
    /// entry below a listed domain wins. ASCII case and one trailing dot are
    /// ignored; `*.` wildcards (certificate names) are stripped.
    pub fn lookup(&self, name: &str) -> Option<&Service> {
        self.find_entry(name)
            .and_then(|(i, _)| self.services.get(i as usize))
    }

    /// The entry a host name falls under and the list entry (suffix or
    /// catalogue pattern) that matched: the curated list first, then the
    /// LOLRMM patterns.
    fn find_entry(&self, name: &str) -> Option<(u32, &str)> {
        if let Some(i) = self.find(name) {
            return Some((i, &self.services.get(i as usize)?.key));
        }
        self.rmm.lookup(name).map(|h| (h.value, h.pattern))
    }

    /// The index of the curated entry a host name falls under (see [`NamesCtx::lookup`]).
    fn find(&self, name: &str) -> Option<u32> {
        let name = name.strip_prefix("*.").unwrap_or(name);
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.len() > MAX_NAME || self.suffixes.is_empty() {
            return None;
        }
        let mut buf = [0u8; MAX_NAME];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        // ASCII lower-casing keeps UTF-8 valid.
        let lower = std::str::from_utf8(lower).ok()?;
        let mut rest = lower;
        loop {
            if let Some(&i) = self.suffixes.get(rest) {
                return (i != EXCEPT).then_some(i);
            }
            match rest.find('.') {
                Some(dot) => rest = &rest[dot + 1..],
                None => return None,
            }
        }
    }

    /// The entry a certificate organisation (`O=` value) names exactly.
    pub fn lookup_org(&self, org: &str) -> Option<&Service> {
        self.find_org(org)
            .and_then(|i| self.services.get(i as usize))
    }

    fn find_org(&self, org: &str) -> Option<u32> {
        self.orgs.get(org.trim()).copied()
    }

    /// The entry a certificate common name names: a host name through the
    /// suffix list, anything else exactly (`common_name` entries).
    pub fn lookup_cn(&self, cn: &str) -> Option<&Service> {
        self.find_cn(cn)
            .and_then(|(i, _)| self.services.get(i as usize))
    }

    fn find_cn(&self, cn: &str) -> Option<(u32, &str)> {
        self.find_entry(cn)
            .or_else(|| self.cns.get_key_value(cn.trim()).map(|(k, &i)| (i, &**k)))
    }
}

/// The `O=` and `CN=` values of a subject DN in the dissector's
/// `C=US, O=Org, CN=name` format.
fn subject_parts(subject: &str) -> (Option<&str>, Option<&str>) {
    let mut org = None;
    let mut cn = None;
    for part in subject.split(", ") {
        if let Some(v) = part.strip_prefix("O=") {
            org.get_or_insert(v);
        } else if let Some(v) = part.strip_prefix("CN=") {
            cn = Some(v);
        }
    }
    (org, cn)
}

/// One service seen on the flow and the name sources that agree on it.
#[derive(Debug, Clone, Copy, Default)]
struct Hit {
    service: u32,
    sources: u8,
    emitted: Option<Confidence>,
}

/// Per-flow state of this family's detectors.
#[derive(Debug, Default)]
pub struct NamesDetectors {
    /// Name sources already looked at (bits of [`Source`]).
    checked: u8,
    /// A client-supplied name (SNI, HTTP host) was seen, listed or not.
    client_name_seen: bool,
    /// The client-supplied name matched a list entry.
    client_name_listed: bool,
    /// Up to two services named on the flow.
    hits: [Option<Hit>; 2],
    /// Payload packets seen.
    packets: u16,
    /// Decided: nothing more to learn.
    done: bool,
}

impl crate::detect::detector::Family for NamesDetectors {
    type Ctx = NamesCtx;

    /// One payload packet of the flow's inspection window; findings go to `out`.
    fn on_packet(
        &mut self,
        p: &PacketView<'_>,
        facts: &FlowFacts<'_>,
        ctx: &NamesCtx,
        _out: &mut Vec<Detection>,
    ) {
        self.packets = self.packets.saturating_add(1);
        if p.index == 0 && (ctx.is_empty() || (is_dns_flow(facts) && !ctx.has_rmm())) {
            self.done = true;
        }
    }

    /// The dissectors may have learnt something (a hello, a certificate,
    /// an HTTP head, a DNS answer); findings go to `out`.
    fn on_facts(&mut self, facts: &FlowFacts<'_>, ctx: &NamesCtx, out: &mut Vec<Detection>) {
        if self.done {
            return;
        }
        if is_dns_flow(facts) {
            // A look-up is not a session, except that the catalogue's
            // remote-management domains are looked up by installed agents.
            if ctx.has_rmm() {
                self.look_dns(facts, ctx, out, self.packets >= 2);
            } else {
                self.done = true;
            }
            return;
        }
        self.look(facts, ctx, out, false);
        if self.packets >= WINDOW_PACKETS {
            self.look(facts, ctx, out, true);
            self.done = true;
        }
    }

    /// The flow ended (or was evicted): last look at the whole window.
    fn on_end(&mut self, facts: &FlowFacts<'_>, ctx: &NamesCtx, out: &mut Vec<Detection>) {
        if self.done {
            return;
        }
        if is_dns_flow(facts) {
            if ctx.has_rmm() {
                self.look_dns(facts, ctx, out, true);
            }
            self.done = true;
            return;
        }
        self.look(facts, ctx, out, true);
        self.done = true;
    }

    /// True when no detector of this family wants more packets or facts.
    fn done(&self) -> bool {
        self.done
    }
}

impl NamesDetectors {
    /// A DNS flow with a LOLRMM feed loaded: the question names and the
    /// answers' names (CNAME targets included) against the catalogue only
    /// (the curated list keeps ignoring look-ups). Looked at once, when a
    /// response is seen or at `last`.
    fn look_dns(
        &mut self,
        facts: &FlowFacts<'_>,
        ctx: &NamesCtx,
        out: &mut Vec<Detection>,
        last: bool,
    ) {
        let Some(ev) = facts
            .app
            .and_then(|a| a.dns.as_ref())
            .and_then(|d| d.event())
        else {
            if last {
                self.done = true;
            }
            return;
        };
        if ev.kind != "response" && !last {
            return;
        }
        self.done = true;
        let names = ev
            .queries
            .iter()
            .map(|q| q.rrname.as_str())
            .chain(ev.answers.iter().flat_map(|a| {
                let target = (a.rrtype == "CNAME")
                    .then_some(a.rdata.as_deref())
                    .flatten();
                std::iter::once(a.rrname.as_str()).chain(target)
            }));
        for name in names.take(16) {
            if let Some(h) = ctx.rmm.lookup(name) {
                self.hit(h.value, h.pattern, ctx, name, Source::DnsQuery, out);
                return;
            }
        }
    }

    /// A server certificate whose subject or issuer `O=` is the signer of
    /// one catalogue tool's executables. Low confidence: a vendor's name on
    /// a certificate says whose server it is, not that the tool runs.
    fn rmm_cert_org(
        &mut self,
        subject: &str,
        issuer: &str,
        ctx: &NamesCtx,
        out: &mut Vec<Detection>,
    ) {
        if ctx.rmm_orgs.is_empty() {
            return;
        }
        for (field, dn) in [("subject", subject), ("issuer", issuer)] {
            let Some(org) = subject_parts(dn).0 else {
                continue;
            };
            let Some(&i) = ctx.rmm_orgs.get(org.trim()) else {
                continue;
            };
            let Some(s) = ctx.services.get(i as usize) else {
                return;
            };
            if self.hits.iter().flatten().any(|h| h.service == i) {
                return;
            }
            out.push(
                Detection::new(
                    s.category,
                    s.protocol,
                    Confidence::Low,
                    Basis::Name,
                    format!(
                        "certificate {field} O=`{org}` signs the {} remote-management tool",
                        s.key
                    ),
                )
                .with("name", org)
                .with("name_source", format!("cert_{field}_organization"))
                .with("tool", &s.key)
                .with("list", &*s.list)
                .with("list_source", &s.source),
            );
            return;
        }
    }

    /// Looks at every name source not yet looked at. `last` allows the
    /// resolved name to count on its own when the client named no server.
    fn look(
        &mut self,
        facts: &FlowFacts<'_>,
        ctx: &NamesCtx,
        out: &mut Vec<Detection>,
        last: bool,
    ) {
        if let Some(app) = facts.app {
            if self.checked & Source::Sni as u8 == 0
                && let Some(tf) = app.tls.as_ref().and_then(|t| t.facts())
                && let Some(ch) = tf.client_hello()
            {
                self.checked |= Source::Sni as u8;
                if let Some(sni) = ch.sni.as_deref() {
                    self.client_name(sni, Source::Sni, ctx, out);
                }
            }
            if self.checked & Source::CertName as u8 == 0
                && let Some(cert) = app
                    .tls
                    .as_ref()
                    .and_then(|t| t.facts())
                    .and_then(|f| f.cert.as_ref())
            {
                self.checked |= (Source::CertName as u8) | (Source::CertOrg as u8);
                let (org, cn) = subject_parts(&cert.subject);
                let mut cn_hit = None;
                if let Some(cn) = cn
                    && let Some((s, entry)) = ctx.find_cn(cn)
                {
                    cn_hit = Some(s);
                    self.hit(s, entry, ctx, cn, Source::CertName, out);
                }
                if cn_hit.is_none() {
                    self.san_names(&cert.san, ctx, out);
                }
                if let Some(org) = org
                    && let Some(s) = ctx.find_org(org)
                {
                    self.hit(s, org, ctx, org, Source::CertOrg, out);
                }
                self.rmm_cert_org(&cert.subject, &cert.issuerdn, ctx, out);
            }
            if self.checked & Source::QuicSni as u8 == 0
                && let Some(ch) = app
                    .quic
                    .as_ref()
                    .and_then(|q| q.1.facts())
                    .and_then(|f| f.client_hello())
            {
                self.checked |= Source::QuicSni as u8;
                if let Some(sni) = ch.sni.as_deref() {
                    self.client_name(sni, Source::QuicSni, ctx, out);
                }
            }
            if self.checked & Source::HttpHost as u8 == 0
                && let Some(h) = app.http.as_ref().and_then(|h| h.event())
            {
                self.checked |= Source::HttpHost as u8;
                // A CONNECT request names the proxy's target, not the
                // server this flow goes to.
                if !h.http_method.eq_ignore_ascii_case("CONNECT")
                    && let Some(host) = h.hostname.as_deref()
                {
                    self.client_name(host, Source::HttpHost, ctx, out);
                }
            }
        }
        // The resolved name may be stale or shared (CDN addresses): it
        // counts alone only when the client named no server at all, and
        // otherwise only to confirm a listed client-supplied name.
        if self.checked & Source::DnsName as u8 == 0 {
            if let Some(n) = facts.dns_name {
                let decide = if self.client_name_seen {
                    Some(self.client_name_listed)
                } else if last {
                    Some(true)
                } else {
                    None
                };
                if let Some(usable) = decide {
                    self.checked |= Source::DnsName as u8;
                    if usable && let Some((s, entry)) = ctx.find_entry(n) {
                        self.hit(s, entry, ctx, n, Source::DnsName, out);
                    }
                }
            } else if last {
                self.checked |= Source::DnsName as u8;
            }
        }
    }

    /// The certificate's subjectAltName DNS names, when its CN named no
    /// listed service. A shared certificate (a CDN's, listing hundreds of
    /// customer names) names services the flow may not use, so a SAN counts
    /// on its own only when the client named no server (no SNI), and
    /// otherwise only to confirm the service the client named. The first
    /// listed SAN wins; it counts as the `cert_name` source (one
    /// certificate is one source, whichever of its names matched).
    fn san_names(&mut self, san: &[String], ctx: &NamesCtx, out: &mut Vec<Detection>) {
        for name in san {
            let Some((s, entry)) = ctx.find_entry(name) else {
                continue;
            };
            let usable = if self.client_name_seen {
                self.client_name_listed && self.hits.iter().flatten().any(|h| h.service == s)
            } else {
                true
            };
            if usable {
                self.hit(s, entry, ctx, name, Source::CertName, out);
                return;
            }
        }
    }

    fn client_name(&mut self, name: &str, src: Source, ctx: &NamesCtx, out: &mut Vec<Detection>) {
        self.client_name_seen = true;
        if let Some((s, entry)) = ctx.find_entry(name) {
            self.client_name_listed = true;
            self.hit(s, entry, ctx, name, src, out);
        }
    }

    /// Records that `src` named service `s` as `name`; emits a detection
    /// (Medium for one source, High once two sources agree).
    fn hit(
        &mut self,
        idx: u32,
        list_entry: &str,
        ctx: &NamesCtx,
        name: &str,
        src: Source,
        out: &mut Vec<Detection>,
    ) {
        let Some(s) = ctx.services.get(idx as usize) else {
            return;
        };
        let slot = self
            .hits
            .iter()
            .position(|h| h.is_some_and(|h| h.service == idx))
            .or_else(|| self.hits.iter().position(Option::is_none));
        let Some(slot) = slot else { return };
        let h = self.hits[slot].get_or_insert(Hit {
            service: idx,
            sources: 0,
            emitted: None,
        });
        h.sources |= src as u8;
        let n = h.sources.count_ones();
        let confidence = if n >= 2 {
            Confidence::High
        } else {
            Confidence::Medium
        };
        if h.emitted.is_some_and(|e| e >= confidence) {
            return;
        }
        h.emitted = Some(confidence);
        let what = match s.category {
            Category::Proxy => "proxy service",
            Category::Tunnel => "tunnel service",
            Category::RemoteAccess => "remote-access tool",
            _ => "VPN service",
        };
        let service = s.protocol.display_name();
        let entry = if name.eq_ignore_ascii_case(list_entry) {
            String::new()
        } else {
            format!(" (list entry {list_entry})")
        };
        let reason = if n >= 2 {
            format!("{n} names of the flow belong to the {service} {what}{entry}")
        } else {
            format!(
                "{} `{name}` belongs to the {service} {what}{entry}",
                src.key()
            )
        };
        let mut sources = String::new();
        for b in [
            Source::Sni,
            Source::QuicSni,
            Source::CertName,
            Source::CertOrg,
            Source::HttpHost,
            Source::DnsName,
            Source::DnsQuery,
        ] {
            if h.sources & b as u8 != 0 {
                if !sources.is_empty() {
                    sources.push(',');
                }
                sources.push_str(b.key());
            }
        }
        let mut d = Detection::new(s.category, s.protocol, confidence, Basis::Name, reason)
            .with("name", name)
            .with("name_source", sources)
            .with("list_entry", list_entry)
            .with("list", &*s.list)
            .with("list_source", &s.source);
        if s.list.starts_with("lolrmm:") {
            d = d.with("tool", &s.key);
        }
        out.push(d);
    }
}

/// DNS, mDNS and LLMNR flows: a look-up names a service without using it.
fn is_dns_flow(f: &FlowFacts<'_>) -> bool {
    matches!(f.server.1, 53 | 5353 | 5355)
        || matches!(f.client.1, 5353 | 5355)
        || f.app
            .and_then(|a| a.dns.as_ref())
            .is_some_and(|d| d.event().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> NamesCtx {
        NamesCtx::from_config(&NamesConfig::default()).expect("built-in list loads")
    }

    #[test]
    fn builtin_list_loads_with_sources() {
        let c = ctx();
        assert!(c.len() >= 15);
        assert!(c.services.iter().all(|s| !s.source.is_empty()));
        assert!(c.services.iter().all(|s| s.list.starts_with("builtin@")));
    }

    #[test]
    fn suffix_matches_on_label_boundaries() {
        let c = ctx();
        for (name, protocol) in [
            // opera-vpn.pcapng, the SNI of every flow.
            ("eu0.sec-tunnel.com", Protocol::OperaVpn),
            ("sec-tunnel.com", Protocol::OperaVpn),
            ("EU0.Sec-Tunnel.COM.", Protocol::OperaVpn),
            // tunnelbear.pcap, sites.pcapng, protonvpn.pcap.
            ("api.polargrizzly.com", Protocol::TunnelBear),
            ("it-mil-v086.prod.surfshark.com", Protocol::Surfshark),
            ("vpn-api.proton.me", Protocol::ProtonVpn),
            // The vendor's domain (the advisory-named service).
            ("www.astrill.com", Protocol::Astrill),
        ] {
            assert_eq!(c.lookup(name).map(|s| s.protocol), Some(protocol), "{name}");
        }
        assert!(c.lookup("notsec-tunnel.com").is_none());
        assert!(c.lookup("sec-tunnel.com.evil.example").is_none());
        // Proton Mail is not the VPN.
        assert!(c.lookup("mail.proton.me").is_none());
        assert!(c.lookup("proton.me").is_none());
        assert_eq!(
            c.lookup("*.psiphon3.net").map(|s| s.category),
            Some(Category::Proxy)
        );
        assert!(c.lookup("").is_none());
        assert!(c.lookup(".").is_none());
        assert!(c.lookup(&"a.".repeat(200)).is_none());
    }

    #[test]
    fn benign_names_stay_clean() {
        let c = ctx();
        for n in [
            "github.com",
            "www.youtube.com",
            "mozilla.cloudflare-dns.com",
            "dns.google",
            "e1234.a.akamaiedge.net",
            "d1a2b3c4d5e6f7.cloudfront.net",
            "cloudflare.com",
            "opera.com",
            "com",
        ] {
            assert!(c.lookup(n).is_none(), "{n}");
        }
    }

    #[test]
    fn certificate_organisations() {
        let c = ctx();
        // pia.pcap frame 7 and windscribe.pcapng frame 6 (server certificates).
        let (org, cn) = subject_parts(
            "C=US, ST=CA, L=LosAngeles, O=Private Internet Access, OU=Private Internet Access, CN=newjersey402",
        );
        assert_eq!(cn, Some("newjersey402"));
        assert_eq!(
            c.lookup_org(org.unwrap()).map(|s| s.protocol.name()),
            Some("pia")
        );
        let (org, _) =
            subject_parts("C=CA, ST=San Francisco, O=Windscribe, OU=IT Dept., CN=54.153.90.230");
        assert_eq!(
            c.lookup_org(org.unwrap()).map(|s| s.protocol),
            Some(Protocol::Windscribe)
        );
        assert!(c.lookup_org("Let's Encrypt").is_none());
        assert!(c.lookup_org("Windscribe Inc").is_none());
    }

    #[test]
    fn remote_access_tools() {
        let c = ctx();
        for (name, protocol) in [
            // anydesk.pcapng: the DNS look-ups of the AnyDesk relays.
            ("relay-9b6827f2.net.anydesk.com", "anydesk"),
            ("boot.net.anydesk.com", "anydesk"),
            ("router15.teamviewer.com", "teamviewer"),
            ("master1.teamviewer.com", "teamviewer"),
            ("rs-ny.rustdesk.com", "rustdesk"),
            ("remotedesktop.google.com", "chrome_remote_desktop"),
            ("remotedesktop-pa.googleapis.com", "chrome_remote_desktop"),
            ("st2-v3-dc.relay.splashtop.com", "splashtop"),
            ("instance-v2e3e2-relay.screenconnect.com", "screenconnect"),
            ("secure.logmeinrescue.com", "logmein"),
            ("kessel-ws.parsec.app", "parsec"),
            ("gateway.zohoassist.com", "zoho_assist"),
        ] {
            let s = c.lookup(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(
                (s.protocol.name(), s.category),
                (protocol, Category::RemoteAccess),
                "{name}"
            );
        }
        // The rest of Google and Zoho are not remote-access tools.
        for n in [
            "www.google.com",
            "google.com",
            "googleapis.com",
            "mail.zoho.com",
            "zoho.com",
        ] {
            assert!(c.lookup(n).is_none(), "{n}");
        }
        // anydesk.pcapng: the relay certificate (flows to TCP 80 and 443)
        // and the self-signed certificate of the direct session (TCP 7070).
        let (org, cn) = subject_parts("C=DE, O=philandro Software GmbH, CN=AnyNet Relay");
        assert_eq!(
            c.lookup_org(org.unwrap()).map(|s| s.protocol),
            Some(Protocol::AnyDesk)
        );
        assert!(c.lookup_cn(cn.unwrap()).is_none());
        assert_eq!(
            c.lookup_cn("AnyDesk Client").map(|s| s.protocol),
            Some(Protocol::AnyDesk)
        );
        assert!(c.lookup_cn("AnyDesk").is_none());
        assert!(c.lookup("AnyDesk Client").is_none());
        assert_eq!(
            c.lookup_cn("*.teamviewer.com").map(|s| s.protocol),
            Some(Protocol::TeamViewer)
        );
    }

    #[test]
    fn san_counts_alone_only_without_sni() {
        let c = ctx();
        // psiphon3.pcap frame 12: Cloudflare's shared certificate, CN
        // sni.cloudflaressl.com, SANs psiphon3.net and *.psiphon3.net; the
        // ClientHello carries no SNI.
        let san: Vec<String> = ["sni.cloudflaressl.com", "psiphon3.net", "*.psiphon3.net"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut d = NamesDetectors::default();
        let mut out = Vec::new();
        d.san_names(&san, &c, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].protocol.name(), "psiphon");
        assert_eq!(out[0].confidence, Confidence::Medium);
        assert_eq!(out[0].evidence.get("name"), Some("psiphon3.net"));
        assert_eq!(out[0].evidence.get("name_source"), Some("cert_name"));

        // The client named another, unlisted server: a shared certificate's
        // SAN does not say which of its names the flow is for.
        let mut d = NamesDetectors::default();
        let mut out = Vec::new();
        d.client_name("www.example.org", Source::Sni, &c, &mut out);
        d.san_names(&san, &c, &mut out);
        assert!(out.is_empty());

        // The client named an AnyDesk host and the SAN agrees: two sources.
        let mut d = NamesDetectors::default();
        let mut out = Vec::new();
        d.client_name("relay-3185a847.net.anydesk.com", Source::Sni, &c, &mut out);
        d.san_names(&["*.net.anydesk.com".to_string()], &c, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].confidence, Confidence::Medium);
        assert_eq!(out[1].confidence, Confidence::High);
        assert_eq!(out[1].category, Category::RemoteAccess);
        assert!(
            out[1].reason.contains("remote-access tool"),
            "{}",
            out[1].reason
        );
    }

    #[test]
    fn extra_entries_and_validation() {
        let cfg: NamesConfig = toml::from_str(
            r#"
            builtin = false
            extra = [{ domain = "vpn.example", protocol = "custom_vpn", category = "vpn" }]
            "#,
        )
        .unwrap();
        let c = NamesCtx::from_config(&cfg).unwrap();
        assert_eq!(c.len(), 1);
        let s = c.lookup("gw1.vpn.example").unwrap();
        assert_eq!(
            (s.protocol.name(), &*s.list),
            ("custom_vpn", "config.extra")
        );
        assert!(c.lookup("eu0.sec-tunnel.com").is_none());

        for bad in [
            r#"extra = [{ domain = "vpn.example", protocol = "x", category = "hosting" }]"#,
            r#"extra = [{ domain = "vpn.example", protocol = "x", category = "bogus" }]"#,
            r#"extra = [{ domain = "com", protocol = "x", category = "vpn" }]"#,
            r#"extra = [{ domain = "a..b", protocol = "x", category = "vpn" }]"#,
            r#"extra = [{ domain = "vpn.example", protocol = "Bad Name", category = "vpn" }]"#,
            r#"extra = [{ protocol = "x", category = "vpn" }]"#,
            r#"extra = [{ domain = "a.b", organization = "O", protocol = "x", category = "vpn" }]"#,
            r#"extra = [{ domain = "a.b", common_name = "C", protocol = "x", category = "vpn" }]"#,
            r#"extra = [{ common_name = " ", protocol = "x", category = "vpn" }]"#,
            r#"extra_file = "/nonexistent/gateward-names.toml""#,
        ] {
            let cfg: NamesConfig = toml::from_str(bad).unwrap();
            assert!(NamesCtx::from_config(&cfg).is_err(), "{bad}");
        }
        assert!(toml::from_str::<NamesConfig>("unknown = 1").is_err());
        assert!(
            toml::from_str::<NamesConfig>(
                r#"extra = [{ domain = "a.b", protocol = "x", category = "vpn", typo = 1 }]"#
            )
            .is_err()
        );
    }

    #[test]
    fn extra_file_and_except() {
        let dir = std::env::temp_dir().join(format!("gateward-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("list.toml");
        std::fs::write(
            &path,
            r#"
            version = "7"
            [[service]]
            domain = "corpvpn.example"
            protocol = "corp_vpn"
            category = "vpn"
            source = "ops wiki"
            [[except]]
            domain = "www.corpvpn.example"
            "#,
        )
        .unwrap();
        let cfg = NamesConfig {
            builtin: false,
            extra: Vec::new(),
            extra_file: Some(path.clone()),
            ..NamesConfig::default()
        };
        let c = NamesCtx::from_config(&cfg).unwrap();
        assert!(c.lookup("gw.corpvpn.example").unwrap().list.ends_with("@7"));
        assert!(c.lookup("www.corpvpn.example").is_none());
        assert!(c.lookup("a.www.corpvpn.example").is_none());
        std::fs::write(&path, "version = \"1\"\n[[service]]\ndomain = \"a.b\"\nprotocol = \"x\"\ncategory = \"vpn\"\n").unwrap();
        // A list file entry needs no source (only the built-in list does).
        assert!(NamesCtx::from_config(&cfg).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
