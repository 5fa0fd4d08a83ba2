//! Helpers the dissector unit tests share, so each test file states only its
//! bytes and expectations.

use super::Direction;

/// Client to server, short for the tables of fed payloads.
pub const C: Direction = Direction::ToServer;
/// Server to client.
pub const S: Direction = Direction::ToClient;

/// Decodes a hex string; anything that is not a hex digit (spaces, line
/// breaks) is ignored, so constants can be wrapped freely.
pub fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks_exact(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// One step of the xorshift64 generator the never-panic tests draw their
/// inputs from: deterministic, so a failure reproduces.
pub fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// `len` bytes spread from one generator state (its rotations).
pub fn spread(x: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (x.rotate_left((j % 64) as u32) & 0xff) as u8)
        .collect()
}
