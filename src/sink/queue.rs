//! The bounded queue in front of each sink: the lines it carries, the
//! when-full policy on the sending side, and the counters both sides keep,
//! so that `sent + dropped` always equals the lines handed to a sink.

use super::config::WhenFull;
use crossbeam_channel::{SendTimeoutError, Sender, TrySendError};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// One sink's counters, in lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SinkCounters {
    /// The sink's label.
    pub name: String,
    /// Written successfully.
    pub sent: u64,
    /// Lost, every one counted: queue full under `drop_newest`, still queued
    /// when the shutdown deadline passed, or refused by the destination as
    /// too large (datagrams).
    pub dropped: u64,
    /// Delivered on a later attempt after a failed one (reconnect/rewrite).
    pub retried: u64,
    /// Stream sockets: lines already counted in `sent` and written again
    /// after the connection broke (the resend window): the peer may hold
    /// some of them twice. Delivery is at least once; received lines lie
    /// between `sent` and `sent + resent`.
    pub resent: u64,
    /// Failed operations (connect, write, open), each one.
    pub errors: u64,
    /// Syslog UDP messages cut at 65,507 bytes (still sent).
    pub truncated: u64,
    /// Waiting in the queue or in the sink thread now.
    pub queued: u64,
}

/// Counters and flags shared by a sink's sender side and its thread.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) sent: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) resent: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) truncated: AtomicU64,
    /// Lines the sink thread holds (taken from the queue, not yet counted).
    pub(super) inflight: AtomicU64,
    /// SIGHUP: reopen the file / reconnect before the next line.
    pub(super) reopen: AtomicBool,
    /// Shutdown: `block` senders stop waiting.
    pub(super) interrupt: AtomicBool,
    /// Shutdown: when the thread gives up and counts what is left.
    pub(super) deadline: OnceLock<Instant>,
}

impl Shared {
    /// Whether the shutdown deadline has passed.
    pub(super) fn past_deadline(&self) -> bool {
        self.deadline.get().is_some_and(|d| Instant::now() >= *d)
    }

    /// A snapshot with `queued` given by the caller.
    pub(super) fn counters(&self, name: &str, queued: u64) -> SinkCounters {
        SinkCounters {
            name: name.to_string(),
            sent: self.sent.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            retried: self.retried.load(Relaxed),
            resent: self.resent.load(Relaxed),
            errors: self.errors.load(Relaxed),
            truncated: self.truncated.load(Relaxed),
            queued,
        }
    }
}

/// One line (without its newline) inside a buffer shared by every sink.
pub(super) struct Line {
    pub(super) buf: Arc<[u8]>,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Line {
    /// The line's bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

/// The sending side of one sink's queue.
pub(super) struct Queue {
    pub(super) policy: WhenFull,
    pub(super) tx: Sender<Line>,
    pub(super) shared: Arc<Shared>,
}

impl Queue {
    /// Lines waiting in the queue or held by the thread.
    pub(super) fn queued(&self) -> u64 {
        self.tx.len() as u64 + self.shared.inflight.load(Relaxed)
    }

    /// Queues `line` under the when-full policy; a line not queued is
    /// counted as dropped.
    pub(super) fn push(&self, line: Line) {
        match self.policy {
            WhenFull::DropNewest => {
                if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                    self.tx.try_send(line)
                {
                    self.shared.dropped.fetch_add(1, Relaxed);
                }
            }
            WhenFull::Block => {
                let mut line = line;
                loop {
                    match self.tx.send_timeout(line, Duration::from_millis(100)) {
                        Ok(()) => return,
                        Err(SendTimeoutError::Timeout(l)) => {
                            if self.shared.interrupt.load(Relaxed) {
                                self.shared.dropped.fetch_add(1, Relaxed);
                                return;
                            }
                            line = l;
                        }
                        Err(SendTimeoutError::Disconnected(_)) => {
                            self.shared.dropped.fetch_add(1, Relaxed);
                            return;
                        }
                    }
                }
            }
        }
    }
}
