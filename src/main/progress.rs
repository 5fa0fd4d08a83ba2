//! The progress bar of `analyze` on a terminal: bytes read of the inputs'
//! total size, packets, rates and the time left. It runs on its own thread
//! and samples the reader's counters (`gateward::capture::READ_PROGRESS`)
//! ten times a second, so the reading hot path does no more than it does
//! without a bar. It appears only after a second, so short runs print
//! nothing extra, and is cleared before the run summary.

use gateward::capture::READ_PROGRESS;
use gateward::pipeline::Input;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the counters are sampled and the bar redrawn.
const TICK: Duration = Duration::from_millis(100);
/// A run shorter than this never shows the bar.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A running progress bar; dropping it stops and clears the bar.
pub struct Progress {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the display thread for these inputs. With standard input
    /// among them the total size is unknown: a counter without a bar.
    pub fn start(inputs: &[Input]) -> Progress {
        let total: Option<u64> = inputs
            .iter()
            .map(|i| match i {
                Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                Input::Stdin => None,
            })
            .sum();
        let (tx, rx) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("gw-progress".into())
            .spawn(move || {
                let bar = new_bar(total);
                let started = Instant::now();
                let bytes0 = READ_PROGRESS.bytes();
                let packets0 = READ_PROGRESS.packets();
                let mut shown = false;
                // Until the run ends (a message, or the sender dropped).
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(TICK) {
                    let elapsed = started.elapsed();
                    if !shown && elapsed >= SHOW_AFTER {
                        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
                        shown = true;
                    }
                    let packets = READ_PROGRESS.packets() - packets0;
                    bar.set_position(READ_PROGRESS.bytes() - bytes0);
                    let rate = packets as f64 / elapsed.as_secs_f64().max(1e-3);
                    bar.set_message(format!("{packets} pkts {rate:.0} pkts/s"));
                }
                bar.finish_and_clear();
            })
            .ok();
        Progress {
            stop: Some(tx),
            thread,
        }
    }
}

/// The bar, hidden until [`SHOW_AFTER`].
fn new_bar(total: Option<u64>) -> ProgressBar {
    let (len, template) = match total {
        Some(t) => (
            t,
            "{elapsed_precise} [{wide_bar}] {binary_bytes}/{binary_total_bytes} \
             {binary_bytes_per_sec} eta {eta} {msg}",
        ),
        None => (
            0,
            "{spinner} {elapsed_precise} {binary_bytes} {binary_bytes_per_sec} {msg}",
        ),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    if total.is_none() {
        bar.unset_length();
    }
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
