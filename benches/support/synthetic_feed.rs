//! A deterministic synthetic prefix feed for the enrichment benchmark,
//! `examples/enrich_load.rs` and the feed tests: not part of the library's
//! API, included where needed with `#[path]`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A deterministic synthetic feed of `v4` IPv4 and `v6` IPv6 prefixes with
/// realistic lengths (IPv4 mostly /24, /16../32; IPv6 mostly /48, /29../64),
/// for the benchmark and `examples/enrich_load.rs`.
pub fn synthetic_feed(v4: usize, v6: usize, seed: u64) -> String {
    use std::fmt::Write;
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut out = String::with_capacity(v4 * 18 + v6 * 26);
    out.push_str("# synthetic benchmark feed\n");
    for _ in 0..v4 {
        let r = next();
        let len = match r % 16 {
            0 => 16 + (r >> 8) as u8 % 8,
            1..=3 => 32,
            4..=5 => 25 + (r >> 8) as u8 % 7,
            _ => 24,
        };
        let a =
            Ipv4Addr::from((r >> 32) as u32 & !u32::MAX.checked_shr(u32::from(len)).unwrap_or(0));
        let _ = writeln!(out, "{a}/{len}");
    }
    for _ in 0..v6 {
        let r = next();
        let len = match r % 8 {
            0 => 29 + (r >> 8) as u8 % 19,
            1 => 64,
            _ => 48,
        };
        // Inside 2000::/3, as real allocations are.
        let hi = (0x2000_u128 | (next() as u128 & 0x1FFF)) << 112;
        let bits = hi | ((next() as u128) << 48);
        let a = Ipv6Addr::from(bits & !u128::MAX.checked_shr(u32::from(len)).unwrap_or(0));
        let _ = writeln!(out, "{a}/{len}");
    }
    out
}
