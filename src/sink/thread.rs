//! The thread behind one byte sink: takes lines from the queue, frames
//! them, writes them through its transport, and on a failure reconnects
//! and retries with backoff until the shutdown deadline, counting every
//! line as sent or dropped.
//!
//! Stream sockets keep the last lines written (the resend window,
//! `resend_bytes`): a write the kernel accepted is not a line the peer
//! read, and syslog over TCP has no acknowledgement to tell. When an
//! established connection breaks, the window goes out again first on the
//! next one, counted as `resent` (at-least-once delivery).

use super::config::{Common, SinkKind};
use super::framing::Framing;
use super::queue::{Line, Shared};
use super::transport::Transport;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Linux `EMSGSIZE`: a datagram larger than the socket accepts.
const EMSGSIZE: i32 = 90;

/// Bytes buffered before a stream or file write is forced.
const BATCH_BYTES: usize = 64 * 1024;
/// Lines taken from the queue into one write, at most (and never more than
/// `queue`): the sink thread holds this much beyond `queue` while a
/// destination is down.
const BATCH_LINES: usize = 1024;

/// One byte sink's thread state: the transport and the bytes framed but
/// not yet written.
pub(super) struct SinkThread {
    name: String,
    rx: Receiver<Line>,
    shared: Arc<Shared>,
    t: Box<dyn Transport>,
    framing: Framing,
    retry_min: Duration,
    retry_max: Duration,
    /// Framed bytes not yet written.
    pending: Vec<u8>,
    /// End offset in `pending` of each framed line.
    ends: VecDeque<usize>,
    /// Bytes of `pending` already written.
    written: usize,
    /// Offset in `pending` where the first unfinished line starts.
    front_start: usize,
    /// Lines at the front of `ends` that have seen a failed attempt.
    failed_lines: usize,
    /// Lines taken into one write: `BATCH_LINES`, or `queue` when smaller.
    batch_lines: usize,
    /// Standard output: a closed pipe is final.
    stdout: bool,
    /// Set once stdout's reader has gone: lines are counted as dropped.
    discard: bool,
    /// Files and stdout resume a partly written line; sockets re-send it.
    resumable: bool,
    /// The resend window: framed bytes of the lines written most recently
    /// (whole lines, at most `resend_cap` bytes from `window_start` on).
    window: Vec<u8>,
    /// End offset in `window` of each line in it.
    window_ends: VecDeque<usize>,
    /// Where the oldest line still in the window starts.
    window_start: usize,
    /// Bytes the window may hold (0: no window, for files, stdout and
    /// datagrams).
    resend_cap: usize,
    /// Lines at the front of `ends` that came back from the window: already
    /// counted as sent, counted as `resent` when written again.
    resend_front: usize,
    last_log: Option<Instant>,
}

impl SinkThread {
    /// The thread for one sink of `kind`: on stdout a closed pipe is final,
    /// and files and stdout resume a partly written line where sockets
    /// re-send it whole.
    pub(super) fn new(
        name: String,
        rx: Receiver<Line>,
        shared: Arc<Shared>,
        t: Box<dyn Transport>,
        framing: Framing,
        common: &Common,
        kind: SinkKind,
    ) -> Self {
        let resumable = matches!(kind, SinkKind::File | SinkKind::Stdout);
        let resend_cap = if resumable || framing.datagram() {
            0
        } else {
            common.resend_bytes
        };
        SinkThread {
            name,
            rx,
            shared,
            t,
            framing,
            retry_min: Duration::from_millis(common.retry_min_ms),
            retry_max: Duration::from_millis(common.retry_max_ms),
            pending: Vec::new(),
            ends: VecDeque::new(),
            written: 0,
            front_start: 0,
            failed_lines: 0,
            batch_lines: common.queue.min(BATCH_LINES),
            stdout: kind == SinkKind::Stdout,
            discard: false,
            resumable,
            window: Vec::new(),
            window_ends: VecDeque::new(),
            window_start: 0,
            resend_cap,
            resend_front: 0,
            last_log: None,
        }
    }

    /// Runs until the queue is closed or the deadline passes, then counts
    /// what is left as dropped.
    pub(super) fn run(mut self) {
        loop {
            if !self.check_reopen() {
                break;
            }
            if self.shared.past_deadline() {
                break;
            }
            let got = if self.ends.is_empty() {
                self.rx.recv_timeout(Duration::from_millis(200))
            } else {
                self.rx.try_recv().map_err(|e| match e {
                    crossbeam_channel::TryRecvError::Empty => RecvTimeoutError::Timeout,
                    crossbeam_channel::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                })
            };
            match got {
                Ok(line) => {
                    // A line sent after `reopen()` returned must see the
                    // flag before it is framed, so it goes to the new file.
                    if !self.check_reopen() {
                        self.shared.dropped.fetch_add(1, Relaxed);
                        break;
                    }
                    if self.framing.frame(line.bytes(), &mut self.pending) {
                        self.shared.truncated.fetch_add(1, Relaxed);
                    }
                    self.ends.push_back(self.pending.len());
                    self.shared.inflight.store(self.ends.len() as u64, Relaxed);
                    if (self.framing.datagram()
                        || self.pending.len() >= BATCH_BYTES
                        || self.ends.len() >= self.batch_lines)
                        && !self.deliver()
                    {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Queue empty (or idle): push out what is buffered, or
                    // see whether the peer died holding the last lines.
                    if !self.ends.is_empty() && !self.deliver() {
                        break;
                    }
                    if self.ends.is_empty() && self.peer_lost() && !self.deliver() {
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    if self.deliver() && self.peer_lost() {
                        self.deliver();
                    }
                    break;
                }
            }
        }
        // Deadline passed or queue closed: count what is left (lines back
        // from the resend window were counted as sent already).
        let mut left = self.ends.len().saturating_sub(self.resend_front) as u64;
        left += self.rx.try_iter().count() as u64;
        self.ends.clear();
        self.shared.inflight.store(0, Relaxed);
        self.shared.dropped.fetch_add(left, Relaxed);
        let _ = self.t.flush();
        self.t.close();
    }

    /// On a reopen request: lines taken from the queue before it go to the
    /// old file (or connection), then the transport is closed so the next
    /// write reopens the path. False when the shutdown deadline passed.
    fn check_reopen(&mut self) -> bool {
        if self.shared.reopen.swap(false, Relaxed) {
            if !self.deliver() {
                return false;
            }
            self.t.close();
        }
        true
    }

    /// Writes everything pending, retrying with backoff. False when the
    /// shutdown deadline passed first.
    fn deliver(&mut self) -> bool {
        let mut delay = self.retry_min;
        let datagram = self.framing.datagram();
        while let Some(&first_end) = self.ends.front() {
            if self.discard {
                let n = self.ends.len().saturating_sub(self.resend_front) as u64;
                self.shared.dropped.fetch_add(n, Relaxed);
                self.ends.clear();
                self.resend_front = 0;
                self.compact();
                break;
            }
            let result = if !self.t.is_open() {
                match self.t.connect() {
                    Ok(()) => continue,
                    Err(e) => Err(e),
                }
            } else if !datagram && self.written == self.front_start && !self.t.alive() {
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "peer closed the connection",
                ))
            } else if datagram {
                self.t.write(&self.pending[self.front_start..first_end])
            } else {
                self.t.write(&self.pending[self.written..])
            };
            match result {
                Ok(0) if !datagram => self.fail(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.written = if datagram {
                        first_end
                    } else {
                        self.written + n
                    };
                    self.complete();
                    delay = self.retry_min;
                    continue;
                }
                Err(e) if datagram && e.raw_os_error() == Some(EMSGSIZE) => {
                    // This datagram can never be sent: count it, go on.
                    self.note_error(&e);
                    self.shared.dropped.fetch_add(1, Relaxed);
                    self.written = first_end;
                    self.drop_front();
                    continue;
                }
                Err(e) if self.stdout && e.kind() == std::io::ErrorKind::BrokenPipe => {
                    // The reader is gone for good (`| head`).
                    self.note_error(&e);
                    self.discard = true;
                    continue;
                }
                Err(e) => self.fail(e),
            }
            if !self.sleep(delay) {
                return false;
            }
            delay = (delay * 2).min(self.retry_max);
        }
        if let Err(e) = self.t.flush() {
            self.note_error(&e);
        }
        true
    }

    /// With a resend window and nothing pending: whether the connection
    /// the window's lines went into has since been closed or reset by the
    /// peer. If so it is failed, which puts the window back in front, so a
    /// receiver that died with the last lines in its buffers gets them
    /// again on the next connection (not only when more lines come).
    fn peer_lost(&mut self) -> bool {
        if self.resend_cap == 0 || self.window_ends.is_empty() || !self.t.is_open() {
            return false;
        }
        if self.t.alive() {
            return false;
        }
        self.fail(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "peer closed the connection",
        ));
        true
    }

    /// Pops the lines fully written (into the resend window, when kept).
    fn complete(&mut self) {
        let mut done = 0u64;
        let mut retried = 0u64;
        let mut resent = 0u64;
        while let Some(&e) = self.ends.front() {
            if e > self.written {
                break;
            }
            self.ends.pop_front();
            if self.resend_cap > 0 {
                self.remember(self.front_start, e);
            }
            self.front_start = e;
            if self.resend_front > 0 {
                self.resend_front -= 1;
                resent += 1;
            } else {
                done += 1;
            }
            if self.failed_lines > 0 {
                self.failed_lines -= 1;
                retried += 1;
            }
        }
        self.shared.sent.fetch_add(done, Relaxed);
        self.shared.retried.fetch_add(retried, Relaxed);
        self.shared.resent.fetch_add(resent, Relaxed);
        self.compact();
    }

    /// Keeps `pending[start..end]`, one framed line just written, in the
    /// resend window, forgetting the oldest lines beyond its cap.
    fn remember(&mut self, start: usize, end: usize) {
        let line = &self.pending[start..end];
        if line.len() > self.resend_cap {
            // Larger than the whole window: it cannot be kept, and neither
            // can anything older (the window holds a suffix of the stream).
            self.window.clear();
            self.window_ends.clear();
            self.window_start = 0;
            return;
        }
        self.window.extend_from_slice(line);
        self.window_ends.push_back(self.window.len());
        while self.window.len() - self.window_start > self.resend_cap {
            match self.window_ends.pop_front() {
                Some(e) => self.window_start = e,
                None => break,
            }
        }
        // Forget the bytes of lines that left the window, in bulk.
        if self.window_start > self.resend_cap.max(BATCH_BYTES) {
            let w = self.window_start;
            self.window.drain(..w);
            for e in self.window_ends.iter_mut() {
                *e -= w;
            }
            self.window_start = 0;
        }
    }

    /// After an established stream broke: the lines of the resend window go
    /// in front of what is pending, to be written first on the next
    /// connection (the peer may have lost them with its buffers).
    fn requeue_window(&mut self) {
        if self.window_ends.is_empty() {
            return;
        }
        let kept = &self.window[self.window_start..];
        let shift = kept.len();
        let mut pending = Vec::with_capacity(shift + self.pending.len() - self.front_start);
        pending.extend_from_slice(kept);
        pending.extend_from_slice(&self.pending[self.front_start..]);
        let n = self.window_ends.len();
        let base = self.window_start;
        let old_front = self.front_start;
        let mut ends: VecDeque<usize> = self.window_ends.drain(..).map(|e| e - base).collect();
        ends.extend(self.ends.iter().map(|e| e - old_front + shift));
        self.pending = pending;
        self.ends = ends;
        self.written = 0;
        self.front_start = 0;
        self.resend_front += n;
        self.window.clear();
        self.window_start = 0;
        self.shared.inflight.store(self.ends.len() as u64, Relaxed);
    }

    fn drop_front(&mut self) {
        if let Some(e) = self.ends.pop_front() {
            self.front_start = e;
        }
        self.failed_lines = self.failed_lines.saturating_sub(1);
        self.compact();
    }

    /// Forgets the bytes of lines already out.
    fn compact(&mut self) {
        if self.ends.is_empty() {
            self.pending.clear();
            self.written = 0;
            self.front_start = 0;
        } else if self.front_start > BATCH_BYTES {
            let w = self.front_start;
            self.pending.drain(..w);
            for e in self.ends.iter_mut() {
                *e -= w;
            }
            self.written -= w;
            self.front_start = 0;
        }
        self.shared.inflight.store(self.ends.len() as u64, Relaxed);
    }

    fn fail(&mut self, e: std::io::Error) {
        self.note_error(&e);
        let was_open = self.t.is_open();
        self.t.close();
        if !self.resumable {
            // A new connection must get whole frames: restart at the first
            // line not completely written.
            self.written = self.front_start;
        }
        if was_open && self.resend_cap > 0 {
            self.requeue_window();
        }
        self.failed_lines = self.ends.len();
    }

    fn note_error(&mut self, e: &std::io::Error) {
        self.shared.errors.fetch_add(1, Relaxed);
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10))
        {
            self.last_log = Some(now);
            eprintln!(
                "gateward: sink {}: {e}; retrying (errors so far: {})",
                self.name,
                self.shared.errors.load(Relaxed)
            );
        }
    }

    /// Sleeps for `d` in short steps; false once the shutdown deadline has
    /// passed.
    fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.shared.past_deadline() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(20)));
        }
    }
}
