//! The bidirectional flow key.

use crate::decode::Addr;
use crate::decode::IpProto;

/// Identifies a flow in both directions: the two endpoints in canonical
/// order, the transport protocol, the outer VLAN and the tunnel parent, so
/// overlapping address spaces (tenants, tunnels) never merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    /// Lower endpoint address (by `(addr, port)` order).
    pub lo: Addr,
    /// Higher endpoint address.
    pub hi: Addr,
    /// Port of `lo` (0 for portless protocols).
    pub lo_port: u16,
    /// Port of `hi`.
    pub hi_port: u16,
    /// IP protocol number.
    pub proto: IpProto,
    /// Outer and inner VLAN ids (QinQ), 0 when absent.
    pub vlan: [u16; 2],
    /// [`FlowKey::digest`] of the enclosing tunnel flow's key, 0 at top level.
    pub parent: u64,
}

/// Every field, packed into seven words: the flow table hashes a key per
/// packet, and the derived impl made fourteen hasher calls of it.
impl std::hash::Hash for FlowKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.lo.bits as u64);
        h.write_u64((self.lo.bits >> 64) as u64);
        h.write_u64(self.hi.bits as u64);
        h.write_u64((self.hi.bits >> 64) as u64);
        h.write_u64(
            u64::from(self.lo_port)
                | u64::from(self.hi_port) << 16
                | u64::from(self.proto.0) << 32
                | u64::from(self.lo.v6) << 40
                | u64::from(self.hi.v6) << 41,
        );
        h.write_u64(u64::from(self.vlan[0]) | u64::from(self.vlan[1]) << 16);
        h.write_u64(self.parent);
    }
}

impl FlowKey {
    /// Builds the key of a packet; the boolean says whether the sender is
    /// the `lo` endpoint.
    pub fn new(
        src: Addr,
        sport: u16,
        dst: Addr,
        dport: u16,
        proto: IpProto,
        vlan: [u16; 2],
        parent: u64,
    ) -> (Self, bool) {
        let src_is_lo = (src, sport) <= (dst, dport);
        let (lo, lo_port, hi, hi_port) = if src_is_lo {
            (src, sport, dst, dport)
        } else {
            (dst, dport, src, sport)
        };
        (
            FlowKey {
                lo,
                hi,
                lo_port,
                hi_port,
                proto,
                vlan,
                parent,
            },
            src_is_lo,
        )
    }

    /// Identity of the tunnel this flow's packets carry, for the key of the
    /// flows inside it: the unordered address pair, protocol, VLAN and parent,
    /// but not the ports, because UDP encapsulations (VXLAN, Geneve, GTP-U)
    /// pick a source port per inner flow and per direction, and both
    /// directions of an inner connection must meet in one flow.
    pub fn tunnel_digest(&self, kind: u8) -> u64 {
        let (a, b) = if self.lo <= self.hi {
            (self.lo, self.hi)
        } else {
            (self.hi, self.lo)
        };
        let mut h = Fnv::new();
        h.u128(a.bits);
        h.u128(b.bits);
        h.bytes(&[a.v6 as u8, b.v6 as u8, self.proto.0, kind]);
        h.vlan(self.vlan);
        h.bytes(&self.parent.to_be_bytes());
        h.finish()
    }

    /// A stable 64-bit digest (FNV-1a over the fields): the same on every
    /// run, machine and worker count, used for flow ids and tunnel parents.
    /// Not used for hash tables, whose hasher is randomly seeded.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv::new();
        h.u128(self.lo.bits);
        h.u128(self.hi.bits);
        h.bytes(&[self.lo.v6 as u8, self.hi.v6 as u8, self.proto.0]);
        h.bytes(&self.lo_port.to_be_bytes());
        h.bytes(&self.hi_port.to_be_bytes());
        h.vlan(self.vlan);
        h.bytes(&self.parent.to_be_bytes());
        h.finish()
    }
}

/// FNV-1a, 64 bit: tiny, deterministic and good enough for identifiers.
pub struct Fnv(u64);

impl Fnv {
    /// Starts a digest.
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    /// Adds bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    /// Adds VLAN ids: the outer one as always, the inner one only when
    /// present, so single-tagged and untagged flows keep their ids.
    pub fn vlan(&mut self, v: [u16; 2]) {
        self.bytes(&v[0].to_be_bytes());
        if v[1] != 0 {
            self.bytes(&v[1].to_be_bytes());
        }
    }
    /// Adds a 128-bit integer.
    pub fn u128(&mut self, v: u128) {
        self.bytes(&v.to_be_bytes());
    }
    /// The digest, with a final avalanche so nearby inputs spread.
    pub fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_give_one_key() {
        let a = Addr::v4([10, 0, 0, 1]);
        let b = Addr::v4([10, 0, 0, 2]);
        let (k1, s1) = FlowKey::new(a, 1234, b, 80, IpProto::TCP, [0, 0], 0);
        let (k2, s2) = FlowKey::new(b, 80, a, 1234, IpProto::TCP, [0, 0], 0);
        assert_eq!(k1, k2);
        assert_ne!(s1, s2);
        assert_eq!(k1.digest(), k2.digest());
    }

    #[test]
    fn vlan_and_parent_separate_flows() {
        let a = Addr::v4([10, 0, 0, 1]);
        let b = Addr::v4([10, 0, 0, 2]);
        let (k1, _) = FlowKey::new(a, 1, b, 2, IpProto::UDP, [0, 0], 0);
        let (k2, _) = FlowKey::new(a, 1, b, 2, IpProto::UDP, [5, 0], 0);
        let (k3, _) = FlowKey::new(a, 1, b, 2, IpProto::UDP, [0, 0], 9);
        assert_ne!(k1, k2);
        assert_ne!(k1, k3);
        assert_ne!(k1.digest(), k3.digest());
    }
}
