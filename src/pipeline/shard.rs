//! The reader's symmetric flow hash: which worker a frame belongs to.
//!
//! It hashes the outermost IP address pair (and VLAN), not the ports, so
//! that every fragment of a datagram, every packet of both directions of a
//! flow, and every flow inside a tunnel reach the same worker. It reads the
//! address fields in place and never fails: what it cannot read goes to
//! worker 0, whose decoder counts the error.

use crate::capture::LinkType;
use crate::decode::link;

/// Worker index in `0..workers` for a frame.
#[inline]
pub fn worker_for(linktype: LinkType, frame: &[u8], workers: usize) -> usize {
    if workers <= 1 {
        return 0;
    }
    let Ok(net) = link::decode(linktype, frame) else {
        return 0;
    };
    let d = net.data;
    let (a, b) = match net.ethertype {
        link::ETHERTYPE_IPV4 if d.len() >= 20 => {
            (read_u32(&d[12..16]) as u128, read_u32(&d[16..20]) as u128)
        }
        link::ETHERTYPE_IPV6 if d.len() >= 40 => (read_u128(&d[8..24]), read_u128(&d[24..40])),
        _ => return 0,
    };
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = (lo as u64) ^ ((lo >> 64) as u64).rotate_left(17);
    h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= (hi as u64) ^ ((hi >> 64) as u64).rotate_left(31) ^ net.vlan as u64;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    (h % workers as u64) as usize
}

fn read_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn read_u128(b: &[u8]) -> u128 {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    u128::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_land_on_one_worker() {
        let mut fwd = vec![0x45u8; 20];
        fwd[12..16].copy_from_slice(&[10, 0, 0, 1]);
        fwd[16..20].copy_from_slice(&[192, 168, 7, 9]);
        let mut rev = fwd.clone();
        rev[12..16].copy_from_slice(&[192, 168, 7, 9]);
        rev[16..20].copy_from_slice(&[10, 0, 0, 1]);
        for n in 2..9 {
            assert_eq!(
                worker_for(LinkType::Ipv4, &fwd, n),
                worker_for(LinkType::Ipv4, &rev, n)
            );
        }
    }
}
