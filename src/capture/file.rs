//! pcap and pcapng files (or standard input), read through one refillable
//! buffer: no per-packet allocation, no memory map, the same code for a pipe
//! and a file. The format comes from the magic number, never the file name.
//!
//! Formats: pcap (tcpdump.org/manpages/pcap-savefile.5.html, both byte orders,
//! µs and ns) and pcapng (draft-ietf-opsawg-pcapng: SHB, IDB with `if_tsresol`
//! and `if_tsoffset`, EPB, SPB and the obsolete PB; several sections).
//!
//! Compressed captures (gzip, zstd, xz) are recognised by their own magic
//! number before the capture's and decompressed as a stream (see
//! [`compressed`]): memory stays bounded by the record limits below
//! whatever the compression ratio.

mod compressed;

use super::{CaptureError, LinkType, PacketSource, RawPacket, Timestamp};
use compressed::Decoded;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest frame libpcap writes (its MAXIMUM_SNAPLEN); a pcap record claiming
/// more is corrupt, since the reader could not resynchronise after it.
const MAX_FRAME: usize = 262_144;
/// Largest pcapng block accepted. Blocks carry their own length, so a
/// hostile length is refused rather than buffered.
const MAX_BLOCK: usize = 16 * 1024 * 1024;
/// Read-buffer size: refills are still rare system calls, and opening a
/// file (or a fuzz input) costs little. Grows for larger pcapng blocks.
const BUF_SIZE: usize = 256 * 1024;
/// pcapng interfaces remembered per section (bounded against hostile files).
const MAX_INTERFACES: usize = 1024;

/// Packets published to [`READ_PROGRESS`] in one step: the reader adds to
/// the shared counter once per this many packets, not per packet.
const PROGRESS_STEP: u64 = 1024;

/// How far offline reading has come, for a progress display (`analyze` on a
/// terminal). Process-wide and cumulative over every [`FileSource`]: the
/// reader publishes with relaxed atomic adds once per read system call
/// (bytes, as stored on disk, so compressed input counts compressed bytes)
/// and once per [`PROGRESS_STEP`] packets, so the hot path pays nothing
/// measurable and the display thread only loads two numbers.
pub struct ReadProgress {
    bytes: AtomicU64,
    packets: AtomicU64,
}

impl ReadProgress {
    /// Input bytes read so far (before decompression).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Packets returned so far (lags by fewer than [`PROGRESS_STEP`] until
    /// a source ends).
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }
}

/// The process's reading progress; see [`ReadProgress`].
pub static READ_PROGRESS: ReadProgress = ReadProgress {
    bytes: AtomicU64::new(0),
    packets: AtomicU64::new(0),
};

/// A reader that publishes how many bytes passed through it.
pub(super) struct Counted<R>(pub(super) R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        READ_PROGRESS.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Which container the magic number announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap savefile.
    Pcap,
    /// pcapng.
    Pcapng,
}

/// A buffer over any reader that hands out borrowed windows.
struct Window<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`, for error messages.
    offset: u64,
    eof: bool,
}

impl<R: Read> Window<R> {
    fn new(inner: R) -> Self {
        Window {
            inner,
            buf: vec![0; BUF_SIZE],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// Makes at least `need` bytes available; false if input ends first.
    #[inline]
    fn fill(&mut self, need: usize) -> Result<bool, CaptureError> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        self.refill(need)
    }

    /// [`Window::fill`] when the buffer holds too little: reads more.
    #[inline(never)]
    fn refill(&mut self, need: usize) -> Result<bool, CaptureError> {
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            if self.start > 0 && (self.buf.len() - self.start < need || self.start == self.end) {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < need {
                self.buf.resize(need.next_power_of_two(), 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// True when no byte is left at all (a clean end between records).
    fn at_end(&mut self) -> Result<bool, CaptureError> {
        Ok(!self.fill(1)?)
    }
}

#[derive(Clone, Copy)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
}

#[derive(Clone, Copy)]
struct Interface {
    link: Option<LinkType>,
    link_number: u32,
    /// Timestamp units per second.
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
    snaplen: u32,
}

/// A packet located in the window, before it is borrowed out.
struct Located {
    ts: Timestamp,
    wire_len: u32,
    link: LinkType,
    start: usize,
    len: usize,
}

enum Format {
    Pcap {
        endian: Endian,
        units: u64,
        link: LinkType,
    },
    Pcapng {
        endian: Endian,
        interfaces: Vec<Interface>,
    },
}

/// A capture file or stream. Errors after the first packet leave every
/// packet already returned valid: the caller processes them, then reports.
pub struct FileSource<R: Read> {
    win: Window<Decoded<Counted<R>>>,
    format: Format,
    last_ts: Timestamp,
    /// Packets returned; published to [`READ_PROGRESS`] in steps.
    packets: u64,
}

impl FileSource<std::fs::File> {
    /// Opens a capture file by path.
    pub fn open(path: &std::path::Path) -> Result<Self, CaptureError> {
        let f = std::fs::File::open(path)?;
        if f.metadata()?.is_dir() {
            return Err(CaptureError::Io(std::io::Error::other("is a directory")));
        }
        FileSource::new(f)
    }
}

impl<R: Read> FileSource<R> {
    /// Reads the file header from any byte stream (a file or standard
    /// input), decompressing it first when it starts with a gzip, zstd or
    /// xz magic number.
    pub fn new(inner: R) -> Result<Self, CaptureError> {
        let mut win = Window::new(Decoded::detect(Counted(inner))?);
        if !win.fill(4)? {
            return Err(if win.end == 0 {
                CaptureError::Io(std::io::Error::other("empty file"))
            } else {
                CaptureError::NotACapture
            });
        }
        let magic = [win.buf[0], win.buf[1], win.buf[2], win.buf[3]];
        let format = match magic {
            [0xa1, 0xb2, 0xc3, 0xd4] => pcap_header(&mut win, Endian { big: true }, 1_000_000)?,
            [0xd4, 0xc3, 0xb2, 0xa1] => pcap_header(&mut win, Endian { big: false }, 1_000_000)?,
            [0xa1, 0xb2, 0x3c, 0x4d] => pcap_header(&mut win, Endian { big: true }, 1_000_000_000)?,
            [0x4d, 0x3c, 0xb2, 0xa1] => {
                pcap_header(&mut win, Endian { big: false }, 1_000_000_000)?
            }
            [0x0a, 0x0d, 0x0d, 0x0a] => Format::Pcapng {
                endian: Endian { big: false },
                interfaces: Vec::new(),
            },
            _ => return Err(CaptureError::NotACapture),
        };
        Ok(FileSource {
            win,
            format,
            last_ts: Timestamp(0),
            packets: 0,
        })
    }

    /// Which container this is.
    pub fn format(&self) -> CaptureFormat {
        match self.format {
            Format::Pcap { .. } => CaptureFormat::Pcap,
            Format::Pcapng { .. } => CaptureFormat::Pcapng,
        }
    }

    fn next_pcap(&mut self) -> Result<Option<Located>, CaptureError> {
        let Format::Pcap {
            endian,
            units,
            link,
        } = self.format
        else {
            unreachable!("next_pcap on a pcapng source")
        };
        if self.win.at_end()? {
            return Ok(None);
        }
        let offset = self.win.offset;
        if !self.win.fill(16)? {
            return Err(CaptureError::Truncated { offset });
        }
        let h = &self.win.available()[..16];
        let secs = endian.u32(&h[0..4]) as u64;
        let frac = endian.u32(&h[4..8]) as u64;
        let caplen = endian.u32(&h[8..12]) as usize;
        let wire_len = endian.u32(&h[12..16]);
        if caplen > MAX_FRAME {
            return Err(CaptureError::Corrupt {
                offset,
                what: "record length exceeds the largest snap length (262144)",
            });
        }
        if !self.win.fill(16 + caplen)? {
            return Err(CaptureError::Truncated { offset });
        }
        let ts = Timestamp::from_parts(secs, frac, units);
        self.win.consume(16 + caplen);
        Ok(Some(Located {
            ts,
            wire_len: wire_len.max(caplen as u32),
            link,
            start: self.win.start - caplen,
            len: caplen,
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Located>, CaptureError> {
        loop {
            if self.win.at_end()? {
                return Ok(None);
            }
            let offset = self.win.offset;
            if !self.win.fill(12)? {
                return Err(CaptureError::Truncated { offset });
            }
            let head = self.win.available();
            let raw_type = [head[0], head[1], head[2], head[3]];
            if raw_type == [0x0a, 0x0d, 0x0d, 0x0a] {
                self.section_header(offset)?;
                continue;
            }
            let Format::Pcapng { endian, .. } = self.format else {
                unreachable!("next_pcapng on a pcap source")
            };
            let block_type = endian.u32(&head[0..4]);
            let len = endian.u32(&head[4..8]) as usize;
            self.consume_block(len, 12, offset, "impossible pcapng block length")?;
            let start = self.win.start - len;
            let body = start + 8..start + len - 4;
            match block_type {
                1 => self.interface_block(body, offset)?,
                6 | 2 => {
                    if let Some(p) = self.packet_block(block_type, body, offset)? {
                        return Ok(Some(p));
                    }
                }
                3 => {
                    if let Some(p) = self.simple_packet_block(body, offset)? {
                        return Ok(Some(p));
                    }
                }
                _ => {} // name resolution, statistics, custom, ... : not needed
            }
        }
    }

    /// Checks a pcapng block's total length (at least `min`, a multiple of
    /// 4, at most [`MAX_BLOCK`]) and consumes the whole block.
    fn consume_block(
        &mut self,
        len: usize,
        min: usize,
        offset: u64,
        what: &'static str,
    ) -> Result<(), CaptureError> {
        if len < min || !len.is_multiple_of(4) || len > MAX_BLOCK {
            return Err(CaptureError::Corrupt { offset, what });
        }
        if !self.win.fill(len)? {
            return Err(CaptureError::Truncated { offset });
        }
        self.win.consume(len);
        Ok(())
    }

    fn section_header(&mut self, offset: u64) -> Result<(), CaptureError> {
        let head = self.win.available();
        let bom = [head[8], head[9], head[10], head[11]];
        let endian = match bom {
            [0x1a, 0x2b, 0x3c, 0x4d] => Endian { big: true },
            [0x4d, 0x3c, 0x2b, 0x1a] => Endian { big: false },
            _ => {
                return Err(CaptureError::Corrupt {
                    offset,
                    what: "pcapng section header with an unknown byte-order magic",
                });
            }
        };
        let len = endian.u32(&head[4..8]) as usize;
        let what = "impossible pcapng section header length";
        self.consume_block(len, 28, offset, what)?;
        self.format = Format::Pcapng {
            endian,
            interfaces: Vec::new(),
        };
        Ok(())
    }

    fn interface_block(
        &mut self,
        body: std::ops::Range<usize>,
        offset: u64,
    ) -> Result<(), CaptureError> {
        let Format::Pcapng { endian, interfaces } = &mut self.format else {
            unreachable!()
        };
        let b = &self.win.buf[body];
        if b.len() < 8 {
            return Err(CaptureError::Corrupt {
                offset,
                what: "pcapng interface block too short",
            });
        }
        if interfaces.len() >= MAX_INTERFACES {
            return Err(CaptureError::Corrupt {
                offset,
                what: "more than 1024 pcapng interfaces",
            });
        }
        let link_number = endian.u16(&b[0..2]) as u32;
        let snaplen = endian.u32(&b[4..8]);
        let mut iface = Interface {
            link: LinkType::from_number(link_number),
            link_number,
            units: 1_000_000,
            offset_secs: 0,
            snaplen,
        };
        // Options: code u16, length u16, value padded to 4.
        let mut opts = &b[8..];
        while opts.len() >= 4 {
            let code = endian.u16(&opts[0..2]);
            let olen = endian.u16(&opts[2..4]) as usize;
            let padded = (olen + 3) & !3;
            if code == 0 || opts.len() < 4 + olen {
                break;
            }
            let v = &opts[4..4 + olen];
            match (code, olen) {
                (9, 1) => {
                    let r = v[0];
                    let exp = (r & 0x7f) as u32;
                    iface.units = if r & 0x80 == 0 {
                        10u64.checked_pow(exp).unwrap_or(0)
                    } else {
                        2u64.checked_pow(exp).unwrap_or(0)
                    };
                    if iface.units == 0 {
                        return Err(CaptureError::Corrupt {
                            offset,
                            what: "pcapng if_tsresol out of range",
                        });
                    }
                }
                (14, 8) => {
                    let hi = endian.u32(&v[0..4]) as u64;
                    let lo = endian.u32(&v[4..8]) as u64;
                    iface.offset_secs = ((hi << 32) | lo) as i64;
                }
                _ => {}
            }
            opts = opts.get(4 + padded..).unwrap_or(&[]);
        }
        interfaces.push(iface);
        Ok(())
    }

    fn interface(&self, id: usize, offset: u64) -> Result<Interface, CaptureError> {
        let Format::Pcapng { interfaces, .. } = &self.format else {
            unreachable!()
        };
        let iface = interfaces.get(id).copied().ok_or(CaptureError::Corrupt {
            offset,
            what: "packet names an interface that was never described",
        })?;
        if iface.link.is_none() {
            return Err(CaptureError::UnsupportedLinkType(iface.link_number));
        }
        Ok(iface)
    }

    fn packet_block(
        &mut self,
        block_type: u32,
        body: std::ops::Range<usize>,
        offset: u64,
    ) -> Result<Option<Located>, CaptureError> {
        let Format::Pcapng { endian, .. } = self.format else {
            unreachable!()
        };
        let b = &self.win.buf[body.clone()];
        if b.len() < 20 {
            return Err(CaptureError::Corrupt {
                offset,
                what: "pcapng packet block too short",
            });
        }
        let id = if block_type == 6 {
            endian.u32(&b[0..4]) as usize
        } else {
            endian.u16(&b[0..2]) as usize
        };
        let iface = self.interface(id, offset)?;
        let hi = endian.u32(&b[4..8]) as u64;
        let lo = endian.u32(&b[8..12]) as u64;
        let caplen = endian.u32(&b[12..16]) as usize;
        let wire_len = endian.u32(&b[16..20]);
        if caplen > b.len() - 20 {
            return Err(CaptureError::Corrupt {
                offset,
                what: "packet length exceeds its pcapng block",
            });
        }
        let raw = (hi << 32) | lo;
        let secs = (raw / iface.units) as i64 + iface.offset_secs;
        let ts = Timestamp::from_parts(secs.max(0) as u64, raw % iface.units, iface.units);
        self.last_ts = ts;
        Ok(Some(Located {
            ts,
            wire_len: wire_len.max(caplen as u32),
            link: iface.link.unwrap_or(LinkType::Ethernet),
            start: body.start + 20,
            len: caplen,
        }))
    }

    fn simple_packet_block(
        &mut self,
        body: std::ops::Range<usize>,
        offset: u64,
    ) -> Result<Option<Located>, CaptureError> {
        let Format::Pcapng { endian, .. } = self.format else {
            unreachable!()
        };
        let b = &self.win.buf[body.clone()];
        if b.len() < 4 {
            return Err(CaptureError::Corrupt {
                offset,
                what: "pcapng simple packet block too short",
            });
        }
        let iface = self.interface(0, offset)?;
        let wire_len = endian.u32(&b[0..4]);
        let mut caplen = (wire_len as usize).min(b.len() - 4);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        Ok(Some(Located {
            // SPBs carry no timestamp: reuse the last one so capture time never runs backwards.
            ts: self.last_ts,
            wire_len: wire_len.max(caplen as u32),
            link: iface.link.unwrap_or(LinkType::Ethernet),
            start: body.start + 4,
            len: caplen,
        }))
    }
}

impl<R: Read> FileSource<R> {
    /// Publishes the packets not yet counted in [`READ_PROGRESS`] (at the
    /// end of the source, and when it is dropped after an error).
    fn publish_rest(&mut self) {
        let rest = self.packets % PROGRESS_STEP;
        if rest > 0 {
            READ_PROGRESS.packets.fetch_add(rest, Ordering::Relaxed);
            self.packets -= rest;
        }
    }
}

impl<R: Read> Drop for FileSource<R> {
    fn drop(&mut self) {
        self.publish_rest();
    }
}

fn pcap_header<R: Read>(
    win: &mut Window<R>,
    endian: Endian,
    units: u64,
) -> Result<Format, CaptureError> {
    if !win.fill(24)? {
        return Err(CaptureError::Truncated { offset: 0 });
    }
    let h = win.available();
    let link_number = endian.u32(&h[20..24]);
    let link =
        LinkType::from_number(link_number).ok_or(CaptureError::UnsupportedLinkType(link_number))?;
    win.consume(24);
    Ok(Format::Pcap {
        endian,
        units,
        link,
    })
}

impl<R: Read> PacketSource for FileSource<R> {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        let located = match self.format {
            Format::Pcap { .. } => self.next_pcap()?,
            Format::Pcapng { .. } => self.next_pcapng()?,
        };
        if located.is_some() {
            self.packets += 1;
            if self.packets.is_multiple_of(PROGRESS_STEP) {
                READ_PROGRESS
                    .packets
                    .fetch_add(PROGRESS_STEP, Ordering::Relaxed);
            }
        } else {
            self.publish_rest();
        }
        Ok(located.map(|l| RawPacket {
            ts: l.ts,
            wire_len: l.wire_len,
            link: l.link,
            data: &self.win.buf[l.start..l.start + l.len],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_bytes(records: &[(&[u8], u32)]) -> Vec<u8> {
        // pcap-savefile(5): magic, v2.4, thiszone, sigfigs, snaplen, linktype.
        let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, (data, ts)) in records.iter().enumerate() {
            v.extend_from_slice(&ts.to_le_bytes());
            v.extend_from_slice(&(i as u32 * 10).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    #[test]
    fn reads_pcap_records_in_order() {
        let bytes = pcap_bytes(&[(&[1, 2, 3], 100), (&[4, 5], 101)]);
        let mut src = FileSource::new(&bytes[..]).unwrap();
        let p = src.next_packet().unwrap().unwrap();
        assert_eq!(p.data, &[1, 2, 3]);
        assert_eq!(p.ts, Timestamp(100_000_000));
        let p = src.next_packet().unwrap().unwrap();
        assert_eq!(p.data, &[4, 5]);
        assert_eq!(p.ts, Timestamp(101_000_010));
        assert!(src.next_packet().unwrap().is_none());
    }

    #[test]
    fn truncated_record_is_an_error_after_good_ones() {
        let mut bytes = pcap_bytes(&[(&[1, 2, 3], 100), (&[4, 5, 6, 7], 101)]);
        bytes.truncate(bytes.len() - 2);
        let mut src = FileSource::new(&bytes[..]).unwrap();
        assert!(src.next_packet().unwrap().is_some());
        assert!(matches!(
            src.next_packet(),
            Err(CaptureError::Truncated { offset: 43 })
        ));
    }

    #[test]
    fn oversized_record_is_corrupt() {
        let mut bytes = pcap_bytes(&[(&[1], 1)]);
        bytes[32..36].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let mut src = FileSource::new(&bytes[..]).unwrap();
        assert!(matches!(
            src.next_packet(),
            Err(CaptureError::Corrupt { .. })
        ));
    }

    #[test]
    fn unknown_magic_is_not_a_capture() {
        assert!(matches!(
            FileSource::new(&b"hello world, not a pcap"[..]),
            Err(CaptureError::NotACapture)
        ));
    }

    #[test]
    fn unsupported_link_type_is_named() {
        let mut bytes = pcap_bytes(&[]);
        bytes[20..24].copy_from_slice(&147u32.to_le_bytes()); // LINKTYPE_USER0
        assert!(matches!(
            FileSource::new(&bytes[..]),
            Err(CaptureError::UnsupportedLinkType(147))
        ));
    }

    #[test]
    fn pcapng_nanosecond_resolution_and_offset() {
        // SHB (little endian), IDB with if_tsresol=9, EPB with one 2-byte packet.
        let mut v = Vec::new();
        v.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
        v.extend_from_slice(&[1, 0, 0, 0]);
        v.extend_from_slice(&(-1i64).to_le_bytes());
        v.extend_from_slice(&28u32.to_le_bytes());
        // IDB: type, len, linktype 1, reserved, snaplen, option tsresol, opt_endofopt
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&[1, 0, 0, 0]);
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]);
        v.extend_from_slice(&28u32.to_le_bytes());
        // EPB: ts = 1.5 s in ns
        let ts: u64 = 1_500_000_000;
        v.extend_from_slice(&6u32.to_le_bytes());
        v.extend_from_slice(&36u32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        v.extend_from_slice(&(ts as u32).to_le_bytes());
        v.extend_from_slice(&2u32.to_le_bytes());
        v.extend_from_slice(&2u32.to_le_bytes());
        v.extend_from_slice(&[0xaa, 0xbb, 0, 0]);
        v.extend_from_slice(&36u32.to_le_bytes());
        let mut src = FileSource::new(&v[..]).unwrap();
        assert_eq!(src.format(), CaptureFormat::Pcapng);
        let p = src.next_packet().unwrap().unwrap();
        assert_eq!(p.data, &[0xaa, 0xbb]);
        assert_eq!(p.ts, Timestamp(1_500_000));
        assert!(src.next_packet().unwrap().is_none());
    }
}
