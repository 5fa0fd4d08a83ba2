//! IPv6 carried in UDP: Teredo (RFC 4380) and AYIYA
//! (draft-massar-v6ops-ayiya-02), both recognised by structure so that
//! relays and servers on any port are read, not only the registered ones.

use super::link::ETHERTYPE_IPV6;
use super::tunnel::{Inner, InnerStart, TunnelKind};

/// Teredo's IPv6 prefix, 2001:0000::/32 (RFC 4380 2.6).
const TEREDO_PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];
/// AYIYA opcode "forward" (draft section 5): a packet follows.
const AYIYA_FORWARD: u8 = 1;

/// An IPv6 packet whose payload length accounts for every byte of `b`
/// (RFC 8200 3): the check that keeps a random UDP payload from passing.
fn whole_ipv6(b: &[u8]) -> bool {
    b.len() >= 40 && b[0] >> 4 == 6 && usize::from(u16::from_be_bytes([b[4], b[5]])) + 40 == b.len()
}

/// RFC 4380 5.1.1: optional authentication and origin indications, then an
/// IPv6 packet. On Teredo's port (`on_port`) any such packet is taken;
/// elsewhere one of its addresses must carry the Teredo prefix, as every
/// packet between a Teredo client and a relay does.
pub(super) fn teredo(mut b: &[u8], on_port: bool) -> Option<Inner<'_>> {
    if b.len() >= 4 && b[0] == 0 && b[1] == 1 {
        // Authentication: id length, auth length, id, auth, nonce (8),
        // confirmation (1).
        let id_len = b[2] as usize;
        let au_len = b[3] as usize;
        b = b.get(4 + id_len + au_len + 9..)?;
    }
    if b.len() >= 8 && b[0] == 0 && b[1] == 0 {
        b = &b[8..]; // origin indication: port and address
    }
    if !whole_ipv6(b) {
        return None;
    }
    if !on_port && b[8..12] != TEREDO_PREFIX && b[24..28] != TEREDO_PREFIX {
        return None;
    }
    Some(Inner {
        kind: TunnelKind::Teredo,
        start: InnerStart::Ip(ETHERTYPE_IPV6),
        data: b,
    })
}

/// AYIYA ("Anything In Anything", draft-massar-v6ops-ayiya-02 section 5):
/// identity length (2^n bytes) and type, signature length (4-byte words)
/// and hash method, authentication method and opcode, next header, epoch
/// time, identity, signature, then the payload. Taken when the methods
/// and identity type are defined ones, the opcode is "forward", the next
/// header is IPv6 (41) and the IPv6 packet fills the rest.
pub(super) fn ayiya(b: &[u8]) -> Option<Inner<'_>> {
    let h = b.get(..8)?;
    let (id_len, id_type) = (h[0] >> 4, h[0] & 0x0f);
    let (sig_words, hash) = (h[1] >> 4, h[1] & 0x0f);
    let (auth, opcode) = (h[2] >> 4, h[2] & 0x0f);
    if id_len > 8 || id_type > 2 || hash > 2 || auth > 2 || opcode != AYIYA_FORWARD || h[3] != 41 {
        return None;
    }
    let off = 8 + (1usize << id_len) + usize::from(sig_words) * 4;
    let data = b.get(off..)?;
    whole_ipv6(data).then_some(Inner {
        kind: TunnelKind::Ayiya,
        start: InnerStart::Ip(ETHERTYPE_IPV6),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv6 header (RFC 8200 3) from `src` with a 2-byte payload.
    fn ipv6(src: [u8; 16]) -> Vec<u8> {
        let mut b = vec![0x60, 0, 0, 0, 0, 2, 59, 64];
        b.extend_from_slice(&src);
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[1, 2]);
        b
    }

    fn teredo_addr() -> [u8; 16] {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&TEREDO_PREFIX);
        a[15] = 1;
        a
    }

    #[test]
    fn teredo_off_port_needs_the_prefix() {
        let plain = ipv6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(teredo(&plain, true).is_some());
        assert!(teredo(&plain, false).is_none());
        let relayed = ipv6(teredo_addr());
        assert!(teredo(&relayed, false).is_some());
        // With an origin indication in front.
        let mut o = vec![0, 0, 0x12, 0x34, 1, 2, 3, 4];
        o.extend_from_slice(&relayed);
        assert!(teredo(&o, false).is_some());
        let mut long = relayed.clone();
        long.push(0);
        assert!(teredo(&long, false).is_none());
    }

    #[test]
    fn ayiya_forward_with_sha1_signature() {
        // id length 4 (16 bytes) type 1, signature 5 words (20 bytes) SHA-1,
        // auth 2 (shared secret), opcode 1, next header 41, epoch.
        let mut b = vec![0x41, 0x52, 0x21, 41, 0, 0, 0, 0];
        b.extend_from_slice(&[0x11; 16]);
        b.extend_from_slice(&[0x22; 20]);
        b.extend_from_slice(&ipv6(teredo_addr()));
        let i = ayiya(&b).unwrap();
        assert_eq!((i.kind, i.data.len()), (TunnelKind::Ayiya, 42));
        b[2] = 0x22; // opcode 2: echo request, no packet
        assert!(ayiya(&b).is_none());
    }
}
