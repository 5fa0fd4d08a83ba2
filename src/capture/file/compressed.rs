//! Compressed captures read as a stream: the first bytes say whether the
//! input is gzip (RFC 1952: `1f 8b`), zstd (RFC 8878: `28 b5 2f fd`) or xz
//! (the .xz file format 1.1.0: `fd 37 7a 58 5a 00`), never the file name.
//! Decompressed bytes are pulled by the capture reader's window as it needs
//! them, so a decompression bomb costs time, not memory: the window holds
//! at most one record, and each decoder's own state is bounded (gzip's
//! 32 KiB window, zstd's default window limit of 128 MiB, xz's memory
//! limit below).

use std::io::{Chain, Cursor, Read};

/// Longest magic number looked for (xz's six bytes).
const MAGIC_LEN: usize = 6;
/// Memory the xz decoder may use (its dictionary): `xz -9` needs 65 MiB; a
/// stream that asks for more is refused rather than allocated.
const XZ_MEMLIMIT: u64 = 128 * 1024 * 1024;

/// The compression a capture stream was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip, possibly several concatenated members (as `gzip -d` reads them).
    Gzip,
    /// Zstandard, possibly several frames.
    Zstd,
    /// xz, possibly several concatenated streams.
    Xz,
}

impl Compression {
    /// How errors name the format.
    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
        }
    }

    /// The compression announced by a stream's first bytes, if any.
    fn from_magic(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }
}

/// The bytes read to look for a magic number, then the rest of the input.
type Rest<R> = Chain<Cursor<Vec<u8>>, R>;

/// A capture stream as the capture reader sees it: decompressed if it was
/// compressed, passed through otherwise.
pub(crate) enum Decoded<R: Read> {
    /// Not compressed (or not a format known here: the capture reader then
    /// says it is not a capture).
    Plain(Rest<R>),
    /// gzip.
    Gzip(flate2::read::MultiGzDecoder<Rest<R>>),
    /// Zstandard.
    Zstd(Box<zstd::stream::read::Decoder<'static, std::io::BufReader<Rest<R>>>>),
    /// xz.
    Xz(liblzma::read::XzDecoder<Rest<R>>),
}

impl<R: Read> Decoded<R> {
    /// Reads up to six bytes and picks the decoder they announce.
    pub(crate) fn detect(mut inner: R) -> std::io::Result<Self> {
        let mut head = vec![0; MAGIC_LEN];
        let mut got = 0;
        while got < MAGIC_LEN {
            match inner.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        head.truncate(got);
        let kind = Compression::from_magic(&head);
        let rest = Cursor::new(head).chain(inner);
        Ok(match kind {
            None => Decoded::Plain(rest),
            Some(Compression::Gzip) => Decoded::Gzip(flate2::read::MultiGzDecoder::new(rest)),
            Some(Compression::Zstd) => {
                Decoded::Zstd(Box::new(zstd::stream::read::Decoder::new(rest)?))
            }
            Some(Compression::Xz) => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    XZ_MEMLIMIT,
                    liblzma::stream::CONCATENATED,
                )
                .map_err(std::io::Error::other)?;
                Decoded::Xz(liblzma::read::XzDecoder::new_stream(rest, stream))
            }
        })
    }

    /// Which compression the stream had, if any.
    pub(crate) fn compression(&self) -> Option<Compression> {
        match self {
            Decoded::Plain(_) => None,
            Decoded::Gzip(_) => Some(Compression::Gzip),
            Decoded::Zstd(_) => Some(Compression::Zstd),
            Decoded::Xz(_) => Some(Compression::Xz),
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let r = match self {
            Decoded::Plain(r) => return r.read(buf),
            Decoded::Gzip(d) => d.read(buf),
            Decoded::Zstd(d) => d.read(buf),
            Decoded::Xz(d) => d.read(buf),
        };
        // One line naming the layer that failed: the packets decoded before
        // it have been processed; the rest of the input is lost.
        r.map_err(|e| {
            let name = self.compression().map_or("", Compression::name);
            let what = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "truncated"
            } else {
                "corrupt"
            };
            std::io::Error::new(e.kind(), format!("{what} {name} stream: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(bytes: &[u8]) -> (Option<Compression>, std::io::Result<Vec<u8>>) {
        let mut d = Decoded::detect(bytes).unwrap();
        let kind = d.compression();
        let mut out = Vec::new();
        (kind, d.read_to_end(&mut out).map(|_| out))
    }

    const DATA: &[u8] = b"\xd4\xc3\xb2\xa1 not really a capture, but bytes to round-trip";

    #[test]
    fn each_format_is_detected_and_decoded() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(DATA).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(DATA, 3).unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(DATA).unwrap();
        let xz = xz.finish().unwrap();
        for (bytes, kind) in [
            (gz, Some(Compression::Gzip)),
            (zst, Some(Compression::Zstd)),
            (xz, Some(Compression::Xz)),
            (DATA.to_vec(), None),
        ] {
            let (k, out) = read_all(&bytes);
            assert_eq!(k, kind);
            assert_eq!(out.unwrap(), DATA);
        }
    }

    #[test]
    fn concatenated_gzip_members_are_one_stream() {
        let mut all = Vec::new();
        for part in [&DATA[..10], &DATA[10..]] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(part).unwrap();
            all.extend(gz.finish().unwrap());
        }
        assert_eq!(read_all(&all).1.unwrap(), DATA);
    }

    #[test]
    fn short_input_passes_through() {
        let (k, out) = read_all(b"\x1f");
        assert_eq!(k, None);
        assert_eq!(out.unwrap(), b"\x1f");
        assert_eq!(read_all(b"").1.unwrap(), b"");
    }

    #[test]
    fn truncated_stream_is_an_error_naming_the_format() {
        let zst = zstd::encode_all(DATA, 3).unwrap();
        let err = read_all(&zst[..zst.len() - 3]).1.unwrap_err();
        assert!(err.to_string().contains("zstd stream"), "{err}");
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(DATA).unwrap();
        let xz = xz.finish().unwrap();
        let err = read_all(&xz[..xz.len() - 5]).1.unwrap_err();
        assert!(err.to_string().contains("xz stream"), "{err}");
    }
}
