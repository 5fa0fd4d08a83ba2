//! Kafka sink (`type = "kafka"`, cargo feature `kafka`): one message per
//! line through librdkafka's `BaseProducer`, polled in the sink's thread.
//!
//! Accounting follows the other sinks: a line taken from the queue is in
//! `queued` (as in flight) until librdkafka reports its delivery. A
//! successful report counts it in `sent`; a failed one (after librdkafka's
//! own retries, i.e. `message_timeout_ms`) in `errors` and `dropped`. At
//! shutdown the producer is flushed until the deadline; whatever is still
//! undelivered then is purged and counted in `dropped`, so
//! `sent + dropped` equals the lines produced.

use super::OpenError;
use super::config::{HostKeying, KafkaSink, PartitionBy};
use super::queue::{Line, Shared};
use super::route::{EVERYONE_HEADER, Route, host_partition, route};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// librdkafka's default `message.timeout.ms`.
const DEFAULT_MESSAGE_TIMEOUT_MS: u64 = 300_000;
/// Upper bound librdkafka accepts for `retry.backoff(.max).ms`.
const MAX_RETRY_BACKOFF_MS: u64 = 300_000;
/// Flush time when the queue is closed without a shutdown deadline.
const FLUSH_WITHOUT_DEADLINE: Duration = Duration::from_secs(10);
/// The delivery opaque of a line's one counted message.
const PRIMARY: usize = 1;
/// The delivery opaque of the extra copies of a line sent to every
/// partition: their failures are errors, not lines dropped.
const COPY: usize = 0;

/// Delivery reports and client errors, served by `poll` in the sink thread.
pub(super) struct Context {
    name: String,
    shared: Arc<Shared>,
    /// Set once the final counts are taken: reports from the purge in the
    /// producer's `Drop` must not count twice.
    done: AtomicBool,
    last_log: Mutex<Option<Instant>>,
}

impl Context {
    fn log(&self, what: &str) {
        let now = Instant::now();
        let mut last = self.last_log.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10)) {
            *last = Some(now);
            eprintln!(
                "gateward: sink {}: {what} (errors so far: {})",
                self.name,
                self.shared.errors.load(Relaxed)
            );
        }
    }
}

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        // Broker connection trouble: librdkafka retries on its own; the
        // messages it affects are counted when their delivery fails.
        self.log(&format!("{error}: {reason}"));
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, kind: usize) {
        if self.done.load(Relaxed) {
            return;
        }
        if kind == COPY {
            if let Err((e, _)) = result {
                self.shared.errors.fetch_add(1, Relaxed);
                self.log(&format!(
                    "delivery of a copy to another partition failed: {e}"
                ));
            }
            return;
        }
        match result {
            Ok(_) => {
                self.shared.sent.fetch_add(1, Relaxed);
            }
            Err((e, _)) => {
                self.shared.dropped.fetch_add(1, Relaxed);
                let purged = matches!(
                    e,
                    KafkaError::MessageProduction(
                        RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight
                    )
                );
                if !purged {
                    self.shared.errors.fetch_add(1, Relaxed);
                    self.log(&format!("delivery failed, message dropped: {e}"));
                }
            }
        }
        self.shared.inflight.fetch_sub(1, Relaxed);
    }
}

/// A configured producer, before its thread starts.
pub(super) struct KafkaOut {
    config: ClientConfig,
    topic: String,
    retry_min: Duration,
    retry_max: Duration,
    partition_by: PartitionBy,
    hosts: HostKeying,
}

impl KafkaOut {
    /// Checks the librdkafka configuration by building it once (nothing
    /// connects until the thread produces).
    pub(super) fn new(c: &KafkaSink) -> Result<KafkaOut, OpenError> {
        let brokers: Vec<&str> = c
            .brokers
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .collect();
        let common = &c.common;
        let retry_min = common.retry_min_ms.min(MAX_RETRY_BACKOFF_MS);
        let retry_max = common.retry_max_ms.min(MAX_RETRY_BACKOFF_MS);
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers.join(","))
            .set("client.id", "gateward")
            .set(
                "message.timeout.ms",
                c.message_timeout_ms
                    .unwrap_or(DEFAULT_MESSAGE_TIMEOUT_MS)
                    .to_string(),
            )
            // librdkafka's own queue holds at most `queue` lines more.
            .set(
                "queue.buffering.max.messages",
                common.queue.min(i32::MAX as usize).to_string(),
            )
            .set("retry.backoff.ms", retry_min.to_string())
            .set("retry.backoff.max.ms", retry_max.to_string())
            .set("reconnect.backoff.ms", common.retry_min_ms.to_string())
            .set("reconnect.backoff.max.ms", common.retry_max_ms.to_string());
        // Fail at start on a setting librdkafka refuses.
        config.create::<BaseProducer>().map_err(OpenError::Kafka)?;
        Ok(KafkaOut {
            config,
            topic: c.topic.clone().unwrap_or_default(),
            retry_min: Duration::from_millis(common.retry_min_ms),
            retry_max: Duration::from_millis(common.retry_max_ms),
            partition_by: c.partition_by.unwrap_or_default(),
            hosts: c.hosts.clone(),
        })
    }

    /// The thread's state; the producer is created here, in the caller.
    pub(super) fn start(
        self,
        name: String,
        rx: Receiver<Line>,
        shared: Arc<Shared>,
    ) -> KafkaThread {
        let context = Context {
            name: name.clone(),
            shared: shared.clone(),
            done: AtomicBool::new(false),
            last_log: Mutex::new(None),
        };
        let producer = self
            .config
            .create_with_context(context)
            .map_err(|e| e.to_string());
        KafkaThread {
            name,
            rx,
            shared,
            producer,
            topic: self.topic,
            retry_min: self.retry_min,
            retry_max: self.retry_max,
            partition_by: self.partition_by,
            hosts: self.hosts,
            partitions: None,
        }
    }
}

/// The sink thread: takes lines from the queue, produces them, serves the
/// delivery reports.
pub(super) struct KafkaThread {
    name: String,
    rx: Receiver<Line>,
    shared: Arc<Shared>,
    producer: Result<BaseProducer<Context>, String>,
    topic: String,
    retry_min: Duration,
    retry_max: Duration,
    partition_by: PartitionBy,
    hosts: HostKeying,
    /// The topic's partition count (`partition_by = "host"`), read from
    /// the cluster's metadata once it answers.
    partitions: Option<i32>,
}

/// The digits of the event's `"flow_id":N`, used as the message key so a
/// flow's events stay in one partition, in order.
fn flow_id_key(line: &[u8]) -> Option<&[u8]> {
    const PAT: &[u8] = b"\"flow_id\":";
    let at = line.windows(PAT.len()).position(|w| w == PAT)? + PAT.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0).then(|| &line[at..at + digits])
}

impl KafkaThread {
    /// Produces until the queue is closed or the deadline passes, then
    /// flushes, purges and counts what is left as dropped.
    pub(super) fn run(self) {
        let producer = match &self.producer {
            Ok(p) => p,
            Err(e) => {
                // Checked in `KafkaOut::new`, so only a resource failure.
                eprintln!("gateward: sink {}: kafka producer: {e}", self.name);
                let n = self.rx.iter().count() as u64;
                self.shared.dropped.fetch_add(n, Relaxed);
                return;
            }
        };
        let mut held: Option<Line> = None;
        let mut partitions = self.partitions;
        let mut delay = self.retry_min;
        loop {
            producer.poll(Duration::ZERO);
            if self.shared.past_deadline() {
                break;
            }
            let line = match held.take() {
                Some(l) => l,
                None => match self.rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(l) => {
                        self.shared.inflight.fetch_add(1, Relaxed);
                        l
                    }
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            let bytes = line.bytes();
            let mut record = BaseRecord::with_opaque_to(&self.topic, PRIMARY).payload(bytes);
            if let Some(k) = flow_id_key(bytes) {
                record = record.key(k);
            }
            let mut everyone = None;
            if self.partition_by == PartitionBy::Host {
                match (
                    route(bytes, &self.hosts),
                    partition_count(&mut partitions, producer, &self.topic),
                ) {
                    (Route::Host(h), Some(n)) => record = record.partition(host_partition(h, n)),
                    (Route::Everyone, Some(n)) => {
                        record = record.partition(0).headers(everyone_header());
                        everyone = Some(n);
                    }
                    _ => {}
                }
            }
            let sent = producer.send(record);
            if sent.is_ok()
                && let Some(n) = everyone
            {
                self.send_copies(producer, bytes, n);
            }
            match sent {
                Ok(()) => delay = self.retry_min,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // librdkafka's queue is full: serve reports, try again.
                    held = Some(line);
                    producer.poll(Duration::from_millis(10));
                }
                Err((
                    e @ KafkaError::MessageProduction(
                        RDKafkaErrorCode::MessageSizeTooLarge
                        | RDKafkaErrorCode::InvalidMessageSize,
                    ),
                    _,
                )) => {
                    // Can never be sent: count it, go on.
                    self.shared.errors.fetch_add(1, Relaxed);
                    self.shared.dropped.fetch_add(1, Relaxed);
                    self.shared.inflight.fetch_sub(1, Relaxed);
                    producer_context(producer).log(&format!("message dropped: {e}"));
                }
                Err((e, _)) => {
                    self.shared.errors.fetch_add(1, Relaxed);
                    producer_context(producer).log(&format!("produce failed, retrying: {e}"));
                    held = Some(line);
                    self.sleep_polling(producer, delay);
                    delay = (delay * 2).min(self.retry_max);
                }
            }
        }
        // Lines that never reached librdkafka.
        let mut left = self.rx.try_iter().count() as u64;
        if held.is_some() {
            left += 1;
            self.shared.inflight.fetch_sub(1, Relaxed);
        }
        self.shared.dropped.fetch_add(left, Relaxed);
        // Deliver what librdkafka holds until the deadline.
        let remaining = match self.shared.deadline.get() {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => FLUSH_WITHOUT_DEADLINE,
        };
        let _ = producer.flush(remaining);
        // Then give up on the rest: the purge reports each as failed.
        producer.purge(PurgeConfig::default().queue().inflight());
        let _ = producer.flush(Duration::from_millis(100));
        let context = producer_context(producer);
        context.done.store(true, Relaxed);
        let unreported = self.shared.inflight.swap(0, Relaxed);
        self.shared.dropped.fetch_add(unreported, Relaxed);
    }

    /// Partitions 1..n of a line that concerns several hosts (partition 0
    /// has the counted message). A copy that cannot be queued is an error.
    fn send_copies(&self, producer: &BaseProducer<Context>, bytes: &[u8], n: i32) {
        for p in 1..n {
            let mut tries = 0;
            loop {
                let copy = BaseRecord::with_opaque_to(&self.topic, COPY)
                    .payload(bytes)
                    .partition(p)
                    .headers(everyone_header());
                let copy = match flow_id_key(bytes) {
                    Some(k) => copy.key(k),
                    None => copy,
                };
                match producer.send(copy) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                        if tries < 500 && !self.shared.past_deadline() =>
                    {
                        tries += 1;
                        producer.poll(Duration::from_millis(10));
                    }
                    Err((e, _)) => {
                        self.shared.errors.fetch_add(1, Relaxed);
                        producer_context(producer)
                            .log(&format!("copy to partition {p} not queued: {e}"));
                        break;
                    }
                }
            }
        }
    }

    /// Waits `d` while serving delivery reports; stops at the deadline.
    fn sleep_polling(&self, producer: &BaseProducer<Context>, d: Duration) {
        let until = Instant::now() + d;
        while !self.shared.past_deadline() {
            let now = Instant::now();
            if now >= until {
                return;
            }
            producer.poll((until - now).min(Duration::from_millis(20)));
        }
    }
}

/// The topic's partition count, asked of the cluster until it answers
/// (`None` meanwhile: such lines go by librdkafka's partitioner).
fn partition_count(
    partitions: &mut Option<i32>,
    producer: &BaseProducer<Context>,
    topic: &str,
) -> Option<i32> {
    if partitions.is_none() {
        match producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
        {
            Ok(md) => {
                let n = md
                    .topics()
                    .iter()
                    .find(|t| t.name() == topic)
                    .map_or(0, |t| t.partitions().len());
                if n > 0 {
                    *partitions = Some(n.min(i32::MAX as usize) as i32);
                }
            }
            Err(e) => producer_context(producer).log(&format!("partition count of {topic}: {e}")),
        }
    }
    *partitions
}

fn everyone_header() -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: EVERYONE_HEADER,
        value: Some("everyone"),
    })
}

fn producer_context(p: &BaseProducer<Context>) -> &Context {
    p.context().as_ref()
}

#[cfg(test)]
mod tests {
    use super::flow_id_key;

    #[test]
    fn key_is_the_top_level_flow_id() {
        assert_eq!(
            flow_id_key(br#"{"related_flow_id":7,"flow_id":1234,"x":1}"#),
            Some(&b"1234"[..])
        );
        assert_eq!(flow_id_key(br#"{"related_flow_id":7}"#), None);
        assert_eq!(flow_id_key(br#"{"event_type":"stats"}"#), None);
    }
}
