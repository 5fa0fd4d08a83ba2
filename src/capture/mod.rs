//! Packet sources: where frames come from, and nothing about what they mean.
//!
//! One interface, [`PacketSource`], serves capture files today and live
//! interfaces later, so the pipeline never knows which it is reading.

mod file;
mod linktype;
mod live;

pub use file::{CaptureFormat, FileSource, READ_PROGRESS, ReadProgress};
pub use linktype::LinkType;
pub use live::{LiveOptions, LiveSource, check_bpf};

/// Capture timestamp in microseconds since the Unix epoch. The whole engine
/// runs on this clock (never wall-clock in offline mode) so results do not
/// depend on CPU speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Builds a timestamp from seconds and a sub-second fraction given in
    /// `units_per_sec` units (pcap µs/ns, pcapng `if_tsresol`).
    #[inline]
    pub fn from_parts(secs: u64, frac: u64, units_per_sec: u64) -> Self {
        // The two resolutions of classic pcap in 64 bits (a 128-bit division
        // per record was a noticeable part of reading one): the same values
        // as the general rule below, which saturates the same way.
        let micros = match units_per_sec {
            1_000_000 => Some(frac),
            1_000_000_000 => Some(frac / 1_000),
            _ => None,
        };
        if let Some(micros) = micros {
            return Timestamp(secs.saturating_mul(1_000_000).saturating_add(micros));
        }
        let units = units_per_sec.max(1) as u128;
        // Exact for any resolution, decimal or binary (pcapng if_tsresol
        // with the high bit set); a fraction of a second or more carries.
        let micros = frac as u128 * 1_000_000 / units;
        let total = secs as u128 * 1_000_000 + micros;
        Timestamp(total.min(u64::MAX as u128) as u64)
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000
    }

    /// Microseconds within the second.
    pub fn subsec_micros(self) -> u32 {
        (self.0 % 1_000_000) as u32
    }

    /// Duration since an earlier timestamp, saturating at zero (captures are
    /// not always monotonic).
    pub fn micros_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'a> {
    /// When the frame was captured.
    pub ts: Timestamp,
    /// Length of the frame on the wire (may exceed `data.len()` when the
    /// capture was truncated by a snap length).
    pub wire_len: u32,
    /// How to read the first header of `data`.
    pub link: LinkType,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// Why a source could not go on. Every variant names what a user can check;
/// callers branch on the variant (a missing interface, a truncated file).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The first bytes are not a pcap or pcapng magic number.
    #[error("not a pcap or pcapng capture (unknown magic number)")]
    NotACapture,
    /// A link type this sensor does not decode.
    #[error("unsupported link type {0}; supported: {sup}", sup = crate::capture::LinkType::SUPPORTED)]
    UnsupportedLinkType(u32),
    /// The file ends in the middle of a record or block.
    #[error("truncated capture: record at byte {offset} is cut short")]
    Truncated {
        /// Byte offset of the record that is cut short.
        offset: u64,
    },
    /// A live interface could not be opened or read (libpcap's message).
    #[error("interface {interface}: {message}")]
    Device {
        /// The interface.
        interface: String,
        /// What libpcap said, or what we refused.
        message: String,
    },
    /// A header field is impossible (e.g. a record longer than any snap length).
    #[error("corrupt capture at byte {offset}: {what}")]
    Corrupt {
        /// Byte offset of the bad record or block.
        offset: u64,
        /// What is wrong with it.
        what: &'static str,
    },
    /// A BPF filter expression does not compile (libpcap's message).
    #[error("{0}")]
    Filter(String),
}

/// What [`PacketSource::poll_packet`] found.
#[derive(Debug)]
pub enum Poll<'a> {
    /// A frame, borrowed until the next call.
    Packet(RawPacket<'a>),
    /// Nothing arrived within the source's read timeout (live sources only):
    /// the caller may advance its clock with wall time and poll again.
    Idle,
    /// Clean end of input (files only; a live source never ends by itself).
    End,
}

/// Counters a live source's kernel keeps (pcap_stats), cumulative since the
/// source was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames the kernel handed to the capture (before the BPF filter on
    /// some platforms; after it on Linux).
    pub received: u64,
    /// Frames dropped because the capture buffer was full.
    pub dropped: u64,
    /// Frames dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// Anything that yields frames in capture order: a file, standard input, or
/// (with the daemon) a live interface.
pub trait PacketSource {
    /// The next frame, `Ok(None)` at a clean end of input. After an error the
    /// source is finished; frames returned before it remain valid results.
    /// A live source blocks here until a frame arrives.
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError>;

    /// The next frame, or [`Poll::Idle`] when a live source's read timeout
    /// expired first, or [`Poll::End`]. Files never report `Idle`; the
    /// default maps [`PacketSource::next_packet`].
    fn poll_packet(&mut self) -> Result<Poll<'_>, CaptureError> {
        Ok(match self.next_packet()? {
            Some(p) => Poll::Packet(p),
            None => Poll::End,
        })
    }

    /// Kernel counters of a live source; `None` for files.
    fn stats(&mut self) -> Option<CaptureStats> {
        None
    }
}
