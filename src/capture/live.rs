//! Live capture from a network interface through libpcap (the `pcap` crate).
//!
//! The pipeline reads with [`PacketSource::poll_packet`], which borrows the
//! frame from libpcap's ring without copying and reports
//! [`Poll::Idle`] when the read timeout expires with nothing captured, so
//! the engine can move its clock while the link is quiet.

use super::{CaptureError, CaptureStats, LinkType, PacketSource, Poll, RawPacket, Timestamp};

/// How to open an interface. Defaults match `[capture]` in the config.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Bytes kept of each frame (default 65535).
    pub snaplen: u32,
    /// Put the interface in promiscuous mode (default true).
    pub promiscuous: bool,
    /// BPF filter expression; empty captures everything.
    pub bpf: String,
    /// Kernel capture buffer, bytes (default 32 MiB).
    pub buffer_size: u32,
    /// Read timeout in milliseconds (default 100): how long a read waits
    /// before reporting [`Poll::Idle`].
    pub timeout_ms: u32,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            snaplen: 65_535,
            promiscuous: true,
            bpf: String::new(),
            buffer_size: 32 * 1024 * 1024,
            timeout_ms: 100,
        }
    }
}

/// One open interface.
pub struct LiveSource {
    interface: String,
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    /// Last raw pcap counters (32-bit, may wrap) and their 64-bit sums.
    last: (u32, u32, u32),
    totals: CaptureStats,
    /// Copy of the last frame for the blocking [`PacketSource::next_packet`]
    /// path only (the pipeline polls and never copies).
    held: Vec<u8>,
    /// How long a poll waits for frames before reporting idle.
    timeout_ms: u16,
    /// The last read found nothing: wait before reading again.
    must_wait: bool,
}

fn device_error(interface: &str, e: impl std::fmt::Display) -> CaptureError {
    CaptureError::Device {
        interface: interface.to_string(),
        message: e.to_string(),
    }
}

/// Checks that a BPF expression compiles (for `validate`, without opening
/// any interface or needing privileges), against Ethernet framing.
pub fn check_bpf(expr: &str) -> Result<(), CaptureError> {
    if expr.trim().is_empty() {
        return Ok(());
    }
    let filter_error = |e: pcap::Error| CaptureError::Filter(e.to_string());
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(filter_error)?;
    dead.compile(expr, true).map(|_| ()).map_err(filter_error)
}

impl LiveSource {
    /// Opens `interface` for capture (needs root or CAP_NET_RAW), applies
    /// the filter, and refuses link types the decoder does not read.
    pub fn open(interface: &str, opts: &LiveOptions) -> Result<Self, CaptureError> {
        let to_i32 = |v: u32| v.min(i32::MAX as u32) as i32;
        let cap = pcap::Capture::from_device(interface)
            .map_err(|e| device_error(interface, e))?
            .snaplen(to_i32(opts.snaplen))
            .promisc(opts.promiscuous)
            .buffer_size(to_i32(opts.buffer_size))
            .timeout(to_i32(opts.timeout_ms.max(1)))
            .immediate_mode(false)
            .open()
            .map_err(|e| device_error(interface, e))?;
        // Non-blocking, waited on with poll(2): libpcap's read timeout does
        // not fire on Linux (TPACKET_V3) until a first frame arrives, so a
        // quiet interface would otherwise block a read forever.
        let mut cap = cap.setnonblock().map_err(|e| device_error(interface, e))?;
        let dlt = cap.get_datalink();
        let link = LinkType::from_number(dlt.0 as u32).ok_or_else(|| {
            device_error(
                interface,
                format!(
                    "unsupported link type {} ({}); supported: {}",
                    dlt.0,
                    dlt.get_name().unwrap_or_else(|_| "unknown".into()),
                    LinkType::SUPPORTED
                ),
            )
        })?;
        if !opts.bpf.trim().is_empty() {
            cap.filter(&opts.bpf, true)
                .map_err(|e| device_error(interface, format!("capture.bpf: {e}")))?;
        }
        Ok(LiveSource {
            interface: interface.to_string(),
            cap,
            link,
            last: (0, 0, 0),
            totals: CaptureStats::default(),
            held: Vec::new(),
            timeout_ms: opts.timeout_ms.clamp(1, u16::MAX as u32) as u16,
            must_wait: false,
        })
    }

    /// Waits until frames may be ready or the read timeout passes.
    fn wait(&self) -> Result<(), CaptureError> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(self.timeout_ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(device_error(&self.interface, format!("poll: {e}"))),
        }
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The link type frames arrive with.
    pub fn link(&self) -> LinkType {
        self.link
    }
}

fn timestamp(h: &pcap::PacketHeader) -> Timestamp {
    Timestamp::from_parts(
        h.ts.tv_sec.max(0) as u64,
        h.ts.tv_usec.max(0) as u64,
        1_000_000,
    )
}

impl PacketSource for LiveSource {
    /// Blocks until a frame arrives. Copies the frame (the borrow checker
    /// cannot return a borrow from inside a retry loop); the pipeline uses
    /// the zero-copy [`PacketSource::poll_packet`] instead.
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        let (ts, wire_len) = loop {
            match self.cap.next_packet() {
                Ok(p) => {
                    self.held.clear();
                    self.held.extend_from_slice(p.data);
                    break (timestamp(p.header), p.header.len);
                }
                Err(pcap::Error::TimeoutExpired) => self.wait()?,
                Err(e) => return Err(device_error(&self.interface, e)),
            }
        };
        Ok(Some(RawPacket {
            ts,
            wire_len,
            link: self.link,
            data: &self.held,
        }))
    }

    fn poll_packet(&mut self) -> Result<Poll<'_>, CaptureError> {
        let link = self.link;
        if self.must_wait {
            self.must_wait = false;
            self.wait()?;
        }
        match self.cap.next_packet() {
            Ok(p) => Ok(Poll::Packet(RawPacket {
                ts: timestamp(p.header),
                wire_len: p.header.len,
                link,
                data: p.data,
            })),
            Err(pcap::Error::TimeoutExpired) => {
                // Waited for on the next call: the borrow of the capture
                // held by this match forbids polling here.
                self.must_wait = true;
                Ok(Poll::Idle)
            }
            Err(e) => Err(device_error(&self.interface, e)),
        }
    }

    /// pcap's counters are 32-bit and wrap on busy links: the differences
    /// are summed into 64-bit totals, so call this at least every few
    /// minutes (the daemon does, once a second).
    fn stats(&mut self) -> Option<CaptureStats> {
        let s = self.cap.stats().ok()?;
        let (r, d, i) = self.last;
        self.totals.received += s.received.wrapping_sub(r) as u64;
        self.totals.dropped += s.dropped.wrapping_sub(d) as u64;
        self.totals.if_dropped += s.if_dropped.wrapping_sub(i) as u64;
        self.last = (s.received, s.dropped, s.if_dropped);
        Some(self.totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpf_check_accepts_good_and_names_bad_filters() {
        assert!(check_bpf("").is_ok());
        assert!(check_bpf("tcp port 443 or udp").is_ok());
        let e = check_bpf("tcp prot 443").unwrap_err();
        assert!(matches!(&e, CaptureError::Filter(m) if !m.is_empty()));
    }

    #[test]
    fn missing_interface_is_a_device_error() {
        match LiveSource::open("gw-no-such-if0", &LiveOptions::default()) {
            Err(CaptureError::Device { interface, .. }) => assert_eq!(interface, "gw-no-such-if0"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a missing interface"),
        }
    }
}
