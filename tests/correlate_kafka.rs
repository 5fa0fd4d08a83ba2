//! `gateward correlate` as a Kafka consumer group, over librdkafka's mock
//! cluster: two sensors' Kafka sinks (`partition_by = "host"`) write the
//! laptop-farm demo's events into a topic of four partitions, two
//! `gateward correlate --kafka-brokers` processes share it as one group,
//! and together they write the host alerts of the in-process stage on the
//! same events — the cross-host shared-egress rule included — equal in
//! every field but `timestamp` (see `without_timestamp`). Needs
//! the `kafka` feature: `cargo test --features kafka --test correlate_kafka`.
#![cfg(feature = "kafka")]

mod common;

use common::*;
use gateward::config::Config;
use gateward::sink::{HostKeying, KafkaSink, PartitionBy, SinkConfig, SinkSet};
use rdkafka::mocking::MockCluster;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 4;

/// The partition sets a consumer reported, parsed from its stderr line
/// `gateward: correlate: partitions {0, 1} of eve (4 in all)`.
fn partitions_of(line: &str) -> Option<BTreeSet<i32>> {
    let rest = line.strip_prefix("gateward: correlate: partitions {")?;
    let set = rest.split('}').next()?;
    Some(
        set.split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect(),
    )
}

struct Consumer {
    child: Child,
    assignments: mpsc::Receiver<BTreeSet<i32>>,
    current: BTreeSet<i32>,
}

fn consumer(brokers: &str, cfg: &str) -> Consumer {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateward"))
        .args([
            "correlate",
            "-q",
            "-c",
            cfg,
            "--kafka-brokers",
            brokers,
            "--kafka-topic",
            "eve",
            "--kafka-group",
            "farm",
            "--idle-exit",
            "8",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gateward correlate");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("consumer: {line}");
            if let Some(p) = partitions_of(&line) {
                let _ = tx.send(p);
            }
        }
    });
    Consumer {
        child,
        assignments: rx,
        current: BTreeSet::new(),
    }
}

fn producer(brokers: &str, keying: &HostKeying) -> SinkSet {
    let mut k = KafkaSink {
        brokers: Some(brokers.to_owned()),
        topic: Some("eve".into()),
        partition_by: Some(PartitionBy::Host),
        ..Default::default()
    };
    k.hosts = keying.clone();
    k.common.retry_min_ms = 10;
    k.common.retry_max_ms = 100;
    SinkSet::from_config(&[SinkConfig::Kafka(k)]).expect("kafka sink")
}

/// A host alert without its `timestamp`: the stage stamps alerts with its
/// clock, the newest flow end it has seen, and a member of the group sees
/// only its own hosts' flows (and the cross-host ones), so its clock may lag
/// the single stage's. Everything else must be equal.
fn without_timestamp(mut v: serde_json::Value) -> String {
    if let Some(o) = v.as_object_mut() {
        o.remove("timestamp");
    }
    v.to_string()
}

fn canonical(lines: &str) -> Vec<String> {
    let mut v: Vec<String> = lines
        .lines()
        .map(|l| without_timestamp(serde_json::from_str(l).expect("JSON")))
        .collect();
    v.sort();
    v
}

#[test]
fn two_consumers_write_the_in_process_host_alerts() {
    let cfg_path = capture("demo.toml").display().to_string();
    let run = analyze(&["demo-laptop-farm.pcap"], 2, &["-c", &cfg_path]);
    run.assert_ok();
    let mut want: Vec<String> = run
        .host_alerts()
        .into_iter()
        .map(without_timestamp)
        .collect();
    want.sort();
    assert!(want.len() >= 2, "the demo raises host alerts");
    let rules: BTreeSet<String> = run
        .host_alerts()
        .iter()
        .flat_map(|a| {
            a["host_risk"]["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["name"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        rules.contains("shared_egress"),
        "the demo exercises the cross-host rule: {rules:?}"
    );

    let cfg = Config::load(std::path::Path::new(&cfg_path)).expect("demo config");
    let keying = HostKeying {
        home_net: cfg.home_net.clone(),
        concentrators: cfg.correlate.vpn_concentrators.clone(),
    };
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("eve", PARTITIONS, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();

    let mut consumers = [consumer(&brokers, &cfg_path), consumer(&brokers, &cfg_path)];
    // Produce only once the group is stable: two disjoint halves of the
    // four partitions.
    let start = Instant::now();
    loop {
        for c in consumers.iter_mut() {
            while let Ok(p) = c.assignments.try_recv() {
                c.current = p;
            }
        }
        let (a, b) = (&consumers[0].current, &consumers[1].current);
        if !a.is_empty() && !b.is_empty() && a.is_disjoint(b) && a.len() + b.len() == 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the group did not settle: {a:?} {b:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Two sensors: alternate lines (host alerts of the sensors' own stage
    // included; `correlate` ignores them).
    let sensors = [producer(&brokers, &keying), producer(&brokers, &keying)];
    let mut per = [Vec::new(), Vec::new()];
    for (i, l) in run.stdout.lines().enumerate() {
        per[i % 2].extend_from_slice(l.as_bytes());
        per[i % 2].push(b'\n');
    }
    let counts = [
        per[0].iter().filter(|b| **b == b'\n').count() as u64,
        per[1].iter().filter(|b| **b == b'\n').count() as u64,
    ];
    for (s, lines) in sensors.iter().zip(&per) {
        s.send(lines);
    }
    for (s, n) in sensors.iter().zip(counts) {
        let t = Instant::now();
        while s.counters()[0].sent < n {
            assert!(t.elapsed() < Duration::from_secs(30), "delivery");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for s in sensors {
        let c = &s.shutdown(Duration::from_secs(5))[0];
        assert_eq!((c.dropped, c.errors), (0, 0), "{c:?}");
    }

    let mut got = Vec::new();
    for mut c in consumers {
        let mut out = String::new();
        c.child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("read");
        let status = c.child.wait().expect("wait");
        assert!(status.success(), "consumer exit {status}");
        got.extend(canonical(&out));
    }
    got.sort();
    assert_eq!(got, want);
}
