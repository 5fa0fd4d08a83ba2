//! How a detection appears to a SIEM: Suricata's `alert` object with a
//! stable signature id and a readable signature per detection kind.

#[cfg(test)]
use super::Protocol;
use super::{Basis, Category, Confidence, Detection};
use serde::Serialize;
use serde::ser::SerializeMap;

fn category_code(c: Category) -> u32 {
    match c {
        Category::Vpn => 1,
        Category::Proxy => 2,
        Category::Tunnel => 3,
        Category::RemoteAccess => 4,
        Category::Hosting => 5,
        Category::SanctionedRegion => 6,
        Category::Relay => 7,
    }
}

fn basis_code(b: Basis) -> u32 {
    match b {
        Basis::Structure => 0,
        Basis::Behaviour => 1,
        Basis::Name => 2,
        Basis::Address => 3,
        Basis::Port => 4,
    }
}

/// Suricata-style category text.
pub fn category_text(c: Category) -> &'static str {
    match c {
        Category::Vpn => "VPN tunnel",
        Category::Proxy => "Proxy or anonymiser",
        Category::Tunnel => "Covert or encapsulation tunnel",
        Category::RemoteAccess => "Remote access session",
        Category::Hosting => "Hosting or VPS provider",
        Category::SanctionedRegion => "Sanctioned region",
        Category::Relay => "Relayed session",
    }
}

/// Stable signature id: 9,000,000 + category × 100,000 + protocol index ×
/// 10 + basis (the index is the variant's position in [`crate::detect::Protocol`]'s
/// table). List-only services get an id from a stable hash of their name in
/// the 9,9xx,xxx range.
pub fn signature_id(d: &Detection) -> u32 {
    let cat = category_code(d.category);
    match d.protocol.index() {
        Some(i) => 9_000_000 + cat * 100_000 + i * 10 + basis_code(d.basis),
        None => {
            let mut h = crate::flow::key::Fnv::new();
            h.bytes(d.protocol.name().as_bytes());
            9_900_000 + (h.finish() % 90_000) as u32 * 10 + basis_code(d.basis)
        }
    }
}

fn upper(c: Category) -> &'static str {
    match c {
        Category::Vpn => "VPN",
        Category::Proxy => "PROXY",
        Category::Tunnel => "TUNNEL",
        Category::RemoteAccess => "REMOTE-ACCESS",
        Category::Hosting => "HOSTING",
        Category::SanctionedRegion => "SANCTIONED-REGION",
        Category::Relay => "RELAY",
    }
}

fn basis_text(b: Basis) -> &'static str {
    match b {
        Basis::Structure => "structure",
        Basis::Behaviour => "behaviour",
        Basis::Name => "name",
        Basis::Address => "address",
        Basis::Port => "port",
    }
}

fn confidence_text(c: Confidence) -> &'static str {
    match c {
        Confidence::Low => "low",
        Confidence::Medium => "medium",
        Confidence::High => "high",
        Confidence::Certain => "certain",
    }
}

/// `GATEWARD VPN OpenVPN (UDP, structure)`.
pub fn signature(d: &Detection, transport: &str) -> String {
    format!(
        "GATEWARD {} {} ({}, {})",
        upper(d.category),
        d.protocol.display_name(),
        transport,
        basis_text(d.basis)
    )
}

/// EVE's `alert` object (Suricata's fields), shared by flow alerts and the
/// correlation stage's host alerts; only the metadata differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert<M> {
    /// Always `allowed`: gateward observes, it does not block.
    pub action: &'static str,
    /// Generator id (1, as Suricata's rules).
    pub gid: u32,
    /// Stable id of the detection kind (or host rule).
    pub signature_id: u32,
    /// Revision of the detection kind.
    pub rev: u32,
    /// Readable signature.
    pub signature: String,
    /// Category text.
    pub category: &'static str,
    /// 1 (highest) to 3.
    pub severity: u8,
    /// Our fields as string arrays, as Suricata's rule metadata.
    pub metadata: M,
}

/// A flow alert's `alert` object, from the flow's most severe detection.
pub type AlertSection<'a> = Alert<AlertMetadata<'a>>;

/// `alert.metadata`: every value an array of strings.
pub struct AlertMetadata<'a>(pub &'a Detection, pub Vec<(&'static str, String)>);

impl AlertMetadata<'_> {
    /// Adds the endpoints' countries, subdivisions, AS numbers and feeds, so
    /// SIEM dashboards can pivot on them from the alert alone.
    pub fn add_enrichment(&mut self, infos: &[crate::enrich::IpInfo; 2]) {
        let keys = [
            (&infos[0], ["src_country", "src_subdivision", "src_asn"]),
            (&infos[1], ["dest_country", "dest_subdivision", "dest_asn"]),
        ];
        for (i, [country, subdivision, asn]) in keys {
            if let Some(g) = i.geo_view() {
                if let Some(c) = g.country_iso {
                    self.1.push((country, c.to_string()));
                }
                if let Some(s) = g.subdivision_iso {
                    self.1.push((subdivision, s.to_string()));
                }
            }
            if let Some(n) = i.asn {
                self.1.push((asn, n.to_string()));
            }
            for f in i.feed_names() {
                self.1.push(("feeds", f.to_string()));
            }
        }
    }
}

impl Serialize for AlertMetadata<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("gateward_category", &[category_slug(d.category)])?;
        m.serialize_entry("gateward_protocol", &[d.protocol.name()])?;
        m.serialize_entry("confidence", &[confidence_text(d.confidence)])?;
        m.serialize_entry("basis", &[basis_text(d.basis)])?;
        for (k, v) in &d.evidence.0 {
            m.serialize_entry(k, &[v])?;
        }
        let mut feeds: Vec<&str> = self
            .1
            .iter()
            .filter(|(k, _)| *k == "feeds")
            .map(|(_, v)| v.as_str())
            .collect();
        feeds.dedup();
        for (k, v) in self.1.iter().filter(|(k, _)| *k != "feeds") {
            m.serialize_entry(k, &[v])?;
        }
        if !feeds.is_empty() {
            m.serialize_entry("feeds", &feeds)?;
        }
        m.end()
    }
}

fn category_slug(c: Category) -> &'static str {
    match c {
        Category::Vpn => "vpn",
        Category::Proxy => "proxy",
        Category::Tunnel => "tunnel",
        Category::RemoteAccess => "remote_access",
        Category::Hosting => "hosting",
        Category::SanctionedRegion => "sanctioned_region",
        Category::Relay => "relay",
    }
}

/// The most severe detection (lowest severity number, then highest
/// confidence, then first found).
pub fn most_severe(ds: &[Detection]) -> Option<&Detection> {
    ds.iter()
        .enumerate()
        .min_by_key(|(i, d)| (d.severity, std::cmp::Reverse(d.confidence), *i))
        .map(|(_, d)| d)
}

/// The `alert` object for a flow's detections.
pub fn alert_section<'a>(ds: &'a [Detection], transport: &str) -> Option<AlertSection<'a>> {
    let d = most_severe(ds)?;
    Some(AlertSection {
        action: "allowed",
        gid: 1,
        signature_id: signature_id(d),
        rev: 1,
        signature: signature(d, transport),
        category: category_text(d.category),
        severity: d.severity,
        metadata: AlertMetadata(d, Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = Detection::new(
            Category::Vpn,
            Protocol::OpenVpn,
            Confidence::Certain,
            Basis::Structure,
            "x",
        );
        let b = Detection::new(
            Category::Vpn,
            Protocol::WireGuard,
            Confidence::Certain,
            Basis::Structure,
            "x",
        );
        assert_eq!(signature_id(&a), 9_100_000);
        assert_eq!(signature_id(&b), 9_100_010);
        assert_eq!(
            signature(&a, "UDP"),
            "GATEWARD VPN OpenVPN (UDP, structure)"
        );
    }

    #[test]
    fn most_severe_prefers_low_severity_then_confidence() {
        let low = Detection::new(
            Category::Vpn,
            Protocol::OpenVpn,
            Confidence::Low,
            Basis::Port,
            "x",
        );
        let sure = Detection::new(
            Category::Proxy,
            Protocol::Tor,
            Confidence::High,
            Basis::Structure,
            "x",
        );
        assert_eq!(most_severe(&[low, sure.clone()]), Some(&sure));
    }
}
