//! The EVE `vlan` field: the VLAN ids of a flow, outer first, as Suricata
//! writes them (`"vlan": [100]`, QinQ `"vlan": [100, 200]`).

use serde::ser::{Serialize, SerializeSeq, Serializer};

/// Outer and inner VLAN ids (0 when absent), serialised as a list of the
/// ids present without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanIds(pub [u16; 2]);

impl VlanIds {
    /// `None` for an untagged flow, so the field is left out.
    pub fn of(ids: [u16; 2]) -> Option<Self> {
        (ids[0] != 0 || ids[1] != 0).then_some(VlanIds(ids))
    }
}

impl Serialize for VlanIds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = if self.0[1] != 0 { 2 } else { 1 };
        let mut seq = s.serialize_seq(Some(n))?;
        for id in &self.0[..n] {
            seq.serialize_element(id)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_two_ids() {
        assert_eq!(VlanIds::of([0, 0]), None);
        let one = serde_json::to_string(&VlanIds::of([808, 0]).unwrap()).unwrap();
        assert_eq!(one, "[808]");
        let two = serde_json::to_string(&VlanIds::of([421, 785]).unwrap()).unwrap();
        assert_eq!(two, "[421,785]");
    }
}
