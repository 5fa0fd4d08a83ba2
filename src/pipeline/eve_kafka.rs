//! `gateward correlate --kafka-brokers …`: the correlation stage as one
//! member of a Kafka consumer group reading the topic that the sensors'
//! Kafka sinks write with `partition_by = "host"`.
//!
//! Each consumer owns the internal hosts of the partitions the group gives
//! it ([`crate::sink::host_partition`] says which partition holds a host)
//! and keeps state, findings and host alerts for those only. Events that
//! concern several hosts come in every partition with the
//! [`EVERYONE_HEADER`]; each consumer reads them once, from the lowest
//! partition it owns, so the cross-host shared-egress rule sees every host.
//! On a stable group the consumers' host alerts together are the ones a
//! single stage writes on the same events. A rebalance moves hosts between
//! consumers: the state of a moved host starts afresh (logged).
//!
//! Partitions are read in bursts, so records are not fed as they come: a
//! record is fed once every assigned partition has delivered a record
//! logged [`super::eve::REORDER_US`] later (a watermark; a partition silent
//! for [`SILENT`] does not hold the others back).

use super::eve::{EveFeed, EveStats};
use crate::correlate::{Correlator, Observation};
use crate::sink::host_partition;
use crate::sink::route::EVERYONE_HEADER;
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A partition with no message for this long no longer holds the
/// watermark back.
pub const SILENT: Duration = Duration::from_secs(5);

/// Where to read and when to stop.
#[derive(Clone, Debug)]
pub struct KafkaInput {
    /// Bootstrap brokers, `host:port,…`.
    pub brokers: String,
    /// The topic the sensors write.
    pub topic: String,
    /// The consumer group (every member runs this command with the same
    /// group id).
    pub group: String,
    /// Stop after this long without a message once partitions are
    /// assigned (`None`: run until killed).
    pub idle_exit: Option<Duration>,
}

/// Reads `input` until idle (or forever), feeding the owned hosts' events
/// to `correlator` and writing its host alerts to `out`.
pub fn correlate_kafka(
    input: &KafkaInput,
    correlator: &mut Correlator,
    out: &mut dyn Write,
    stats: &mut EveStats,
    also: &mut dyn FnMut(&Observation),
) -> Result<(), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &input.brokers)
        .set("group.id", &input.group)
        .set("client.id", "gateward-correlate")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("partition.assignment.strategy", "range")
        // A member that stops is noticed (and its hosts move) within
        // seconds, and a joining one settles the group as fast.
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create()
        .map_err(|e| format!("kafka consumer: {e}"))?;
    consumer
        .subscribe(&[&input.topic])
        .map_err(|e| format!("kafka subscribe {}: {e}", input.topic))?;
    let partitions = partition_count(&consumer, &input.topic)?;
    let owned: Arc<RwLock<BTreeSet<i32>>> = Arc::default();
    {
        let owned = owned.clone();
        correlator.set_owner(Box::new(move |ip| {
            owned
                .read()
                .map(|o| o.contains(&host_partition(ip, partitions)))
                .unwrap_or(false)
        }));
    }
    let mut feed = EveFeed::new();
    // Per partition: newest logged time and when its last message came.
    let mut seen: BTreeMap<i32, (u64, Instant)> = BTreeMap::new();
    let mut last_message = Instant::now();
    let mut assigned_once = false;
    let mut assigned_at = Instant::now();
    loop {
        let current = assignment(&consumer, &input.topic);
        if *owned.read().map_err(|_| "poisoned")? != current {
            eprintln!(
                "gateward: correlate: partitions {:?} of {} ({} in all)",
                current, input.topic, partitions
            );
            if !current.is_empty() {
                assigned_once = true;
            }
            last_message = Instant::now();
            assigned_at = Instant::now();
            *owned.write().map_err(|_| "poisoned")? = current;
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                last_message = Instant::now();
                let everyone = m
                    .headers()
                    .is_some_and(|h| h.iter().any(|x| x.key == EVERYONE_HEADER));
                let lowest = owned.read().ok().and_then(|o| o.first().copied());
                if everyone && lowest != Some(m.partition()) {
                    continue;
                }
                if let Some(t) = m.payload().and_then(|p| feed.push(p, stats)) {
                    let e = seen.entry(m.partition()).or_insert((0, Instant::now()));
                    *e = (e.0.max(t), Instant::now());
                }
            }
            Some(Err(e)) => eprintln!("gateward: correlate: kafka: {e}"),
            None => {}
        }
        let current = owned.read().map_err(|_| "poisoned")?.clone();
        let watermark = current
            .iter()
            .filter_map(|p| match seen.get(p) {
                None if assigned_at.elapsed() >= SILENT => None,
                None => Some(0),
                Some((_, at)) if at.elapsed() >= SILENT => None,
                Some((t, _)) => Some(*t),
            })
            .min();
        if let Some(w) = watermark {
            feed.release(
                w.saturating_sub(super::eve::REORDER_US),
                correlator,
                out,
                stats,
                also,
            )
            .map_err(|e| format!("writing host alerts: {e}"))?;
        }
        if let Some(idle) = input.idle_exit
            && assigned_once
            && last_message.elapsed() >= idle
        {
            break;
        }
    }
    feed.finish(correlator, out, stats, also)
        .map_err(|e| format!("writing host alerts: {e}"))
}

fn partition_count(c: &BaseConsumer, topic: &str) -> Result<i32, String> {
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| format!("kafka metadata of {topic}: {e}"))?;
    let n = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len());
    if n == 0 {
        return Err(format!("kafka topic {topic} has no partitions"));
    }
    Ok(n.min(i32::MAX as usize) as i32)
}

fn assignment(c: &BaseConsumer, topic: &str) -> BTreeSet<i32> {
    c.assignment()
        .map(|tpl| {
            tpl.elements()
                .iter()
                .filter(|e| e.topic() == topic)
                .map(|e| e.partition())
                .collect()
        })
        .unwrap_or_default()
}
