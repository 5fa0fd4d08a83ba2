//! The Kafka sink against librdkafka's built-in mock cluster (three
//! brokers, in process): every alert arrives intact and keyed by its
//! `flow_id`; with every broker down, failed deliveries are counted and
//! `sent + dropped` still equals the lines produced. Needs the `kafka`
//! feature: `cargo test --features kafka --test sinks_kafka`.
#![cfg(feature = "kafka")]

use gateward::sink::{KafkaSink, SinkConfig, SinkSet};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// An alert-shaped EVE line carrying sequence number `i`.
fn alert(i: usize) -> String {
    format!(
        r#"{{"timestamp":"2024-01-01T00:00:00.000000+0000","flow_id":{},"event_type":"alert","src_ip":"10.0.0.1","alert":{{"action":"allowed","signature":"GATEWARD VPN OpenVPN (UDP, structure)","severity":2}},"seq":{i}}}"#,
        1000 + i
    )
}

/// Alerts `from..to`, one `\n`-terminated line each.
fn lines(from: usize, to: usize) -> Vec<u8> {
    (from..to)
        .flat_map(|i| alert(i).into_bytes().into_iter().chain([b'\n']))
        .collect()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kafka_sink(brokers: String, topic: &str) -> KafkaSink {
    let mut c = KafkaSink {
        brokers: Some(brokers),
        topic: Some(topic.into()),
        ..Default::default()
    };
    c.common.retry_min_ms = 10;
    c.common.retry_max_ms = 100;
    c
}

#[test]
fn every_alert_reaches_the_mock_cluster_intact() {
    const N: usize = 1000;
    let cluster = MockCluster::new(3).expect("mock cluster");
    cluster.create_topic("alerts", 3, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let set = SinkSet::from_config(&[SinkConfig::Kafka(kafka_sink(brokers.clone(), "alerts"))])
        .expect("sink");
    for chunk in (0..N).step_by(100) {
        set.send(&lines(chunk, chunk + 100));
    }
    wait_until("delivery reports", Duration::from_secs(30), || {
        set.counters()[0].sent == N as u64
    });
    let c = &set.shutdown(Duration::from_secs(5))[0];
    assert_eq!(
        (c.name.as_str(), c.sent, c.dropped, c.errors),
        ("kafka:alerts", N as u64, 0, 0)
    );
    assert_eq!(c.queued, 0);

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "gateward-test")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&["alerts"]).expect("subscribe");
    let mut got = BTreeMap::new();
    let start = Instant::now();
    while got.len() < N {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "consumed {} of {N}",
            got.len()
        );
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.expect("message");
        let payload = std::str::from_utf8(m.payload().expect("payload")).expect("utf-8");
        let v: serde_json::Value = serde_json::from_str(payload).expect("intact JSON");
        let seq = v["seq"].as_u64().expect("seq") as usize;
        assert_eq!(payload, alert(seq), "line changed in transit");
        let key = std::str::from_utf8(m.key().expect("key")).expect("utf-8 key");
        assert_eq!(key, v["flow_id"].to_string(), "key is the flow_id");
        assert!(got.insert(seq, m.partition()).is_none(), "duplicate {seq}");
    }
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        (0..N).collect::<Vec<_>>()
    );
    // Keyed by flow_id, the alerts spread over the partitions.
    let mut parts: Vec<i32> = got.values().copied().collect();
    parts.sort_unstable();
    parts.dedup();
    assert!(parts.len() > 1, "all in partitions {parts:?}");
}

/// Waits until the mock cluster takes a message: on a busy machine its
/// first metadata round can take longer than the short message timeout
/// the outage test uses.
fn warm_up(brokers: &str) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("probe producer");
    p.send(BaseRecord::<(), str>::to("alerts").payload("warm-up"))
        .map_err(|(e, _)| e)
        .expect("probe send");
    p.flush(Duration::from_secs(30)).expect("cluster ready");
}

#[test]
fn an_unavailable_cluster_is_counted_and_nothing_is_lost_silently() {
    let cluster = MockCluster::new(3).expect("mock cluster");
    cluster.create_topic("alerts", 3, 1).expect("topic");
    warm_up(&cluster.bootstrap_servers());
    let mut cfg = kafka_sink(cluster.bootstrap_servers(), "alerts");
    cfg.message_timeout_ms = Some(2000);
    let set = SinkSet::from_config(&[SinkConfig::Kafka(cfg)]).expect("sink");

    // While the cluster is up, everything is delivered.
    set.send(&lines(0, 100));
    wait_until("first delivery", Duration::from_secs(30), || {
        set.counters()[0].sent == 100
    });

    // Every broker down: deliveries fail after message_timeout_ms.
    cluster.broker_down(-1).expect("brokers down");
    set.send(&lines(100, 300));
    wait_until("failed deliveries", Duration::from_secs(30), || {
        let c = &set.counters()[0];
        c.errors > 0 && c.dropped > 0
    });
    assert_eq!(set.counters()[0].sent, 100);

    // Lines still in flight at shutdown are purged and counted.
    set.send(&lines(300, 400));
    let started = Instant::now();
    let c = &set.shutdown(Duration::from_millis(300))[0];
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert_eq!(c.sent + c.dropped, 400, "{c:?}");
    assert_eq!(c.sent, 100, "{c:?}");
    assert!(c.errors > 0, "{c:?}");
    assert_eq!(c.queued, 0);
}

#[test]
fn kafka_keys_are_checked() {
    let mut c = kafka_sink("localhost:9092".into(), "bad topic");
    let e = SinkSet::from_config(&[SinkConfig::Kafka(c.clone())])
        .err()
        .expect("bad topic refused")
        .to_string();
    assert!(
        e.starts_with("output.sink[0]") && e.contains("topic"),
        "{e}"
    );
    c.topic = Some("alerts".into());
    c.brokers = Some("localhost".into());
    let e = SinkSet::from_config(&[SinkConfig::Kafka(c)])
        .err()
        .expect("bad broker refused")
        .to_string();
    assert!(e.contains("not host:port"), "{e}");
}
