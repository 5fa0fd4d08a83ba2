//! Reading the files an operator names (configuration, feeds, databases,
//! lists): each must be a regular file no larger than its kind's limit, so
//! `/dev/zero`, a FIFO or a runaway download is a clear error instead of a
//! process that reads until memory runs out.

use std::io::Read;
use std::path::Path;

/// Largest configuration file read (16 MiB).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// Largest prefix, domain, ASN or relay list read (512 MiB: a feed of
/// 10 million prefixes is about 200 MB).
pub const MAX_LIST_BYTES: u64 = 512 << 20;
/// Largest MaxMind-format database read (2 GiB; GeoLite2/DB-IP city
/// databases are 70–130 MB).
pub const MAX_DATABASE_BYTES: u64 = 2 << 30;

/// Reads `path` whole if it is a regular file of at most `max` bytes. The
/// size is checked before reading and enforced while reading (a file that
/// grows meanwhile is cut off with an error, not read without bound).
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > max {
        return Err(too_large(max));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    f.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(buf)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_bounded_text(path: &Path, max: u64) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, max)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn too_large(max: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("larger than the limit of {} MiB", max >> 20),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_large_files_are_refused() {
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20).expect_err("device");
        assert_eq!(e.to_string(), "not a regular file");
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'x'; 2048]).expect("write");
        let e = read_bounded(&p, 1024).expect_err("too large");
        assert!(e.to_string().contains("larger than"), "{e}");
        assert_eq!(read_bounded(&p, 2048).expect("fits").len(), 2048);
        assert!(read_bounded(dir.path(), 1 << 20).is_err());
        std::fs::write(&p, [0xff, 0xfe]).expect("write");
        assert!(read_bounded_text(&p, 1024).is_err());
    }
}
