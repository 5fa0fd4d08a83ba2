//! Operator allow-lists: approved networks, domains and detection kinds
//! (the corporate VPN concentrator, say). A matching detection is not
//! alerted; it is kept under `suppressed` in the flow record and counted.

use super::{Category, Detection};
use ipnetwork::IpNetwork;
use serde::Deserialize;

/// One `[[allow.rule]]`: it matches a detection when every list it sets
/// matches (an empty list matches anything; a rule with no list is refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllowRule {
    /// Either endpoint inside one of these networks.
    #[serde(deserialize_with = "crate::enrich::home::networks")]
    pub networks: Vec<IpNetwork>,
    /// A name of the flow (SNI, resolved name, HTTP host, certificate
    /// subject) equal to one of these or below it (`corp.example` allows
    /// `vpn.corp.example`).
    pub domains: Vec<String>,
    /// Detection kinds: a category (`vpn`) or `category/protocol`
    /// (`vpn/openvpn`).
    pub kinds: Vec<String>,
    /// Why this is approved (shown in the flow record).
    pub comment: Option<String>,
}

/// The `[allow]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllowConfig {
    /// Approval rules, tried in order.
    pub rule: Vec<AllowRule>,
}

impl AllowConfig {
    /// Refuses rules that would approve everything, and malformed kinds.
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rule.iter().enumerate() {
            if r.networks.is_empty() && r.domains.is_empty() && r.kinds.is_empty() {
                return Err(format!(
                    "allow.rule[{i}] sets none of networks, domains, kinds"
                ));
            }
            for k in &r.kinds {
                let cat = k.split('/').next().unwrap_or("");
                if category_from_slug(cat).is_none() {
                    return Err(format!("allow.rule[{i}].kinds: unknown category in `{k}`"));
                }
            }
        }
        Ok(())
    }

    /// The `category/protocol` kinds whose protocol neither a detector nor
    /// a loaded name list (`known`) reports: a typo such as `vpn/openvnp`
    /// would otherwise approve nothing, silently. `*` is any protocol.
    pub fn unknown_protocols(&self, known: impl Fn(&str) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        for (i, r) in self.rule.iter().enumerate() {
            for k in &r.kinds {
                if let Some((_, p)) = k.split_once('/')
                    && p != "*"
                    && crate::detect::Protocol::from_name(&p.to_ascii_lowercase()).is_none()
                    && !known(p)
                {
                    out.push(format!(
                        "allow.rule[{i}].kinds: no detector or name list reports protocol `{p}` (in `{k}`)"
                    ));
                }
            }
        }
        out
    }

    /// The index of the first rule approving `d` on a flow between `a` and
    /// `b` whose names are `names`.
    pub fn approves(
        &self,
        d: &Detection,
        a: std::net::IpAddr,
        b: std::net::IpAddr,
        names: &[&str],
    ) -> Option<usize> {
        self.rule.iter().position(|r| {
            (r.networks.is_empty() || r.networks.iter().any(|n| n.contains(a) || n.contains(b)))
                && (r.domains.is_empty()
                    || names
                        .iter()
                        .any(|name| r.domains.iter().any(|dom| domain_matches(name, dom))))
                && (r.kinds.is_empty() || r.kinds.iter().any(|k| kind_matches(k, d)))
        })
    }
}

/// `name` equals `domain` or is below it, case-insensitively.
pub fn domain_matches(name: &str, domain: &str) -> bool {
    let name = name.trim_end_matches('.');
    let domain = domain.trim_end_matches('.').trim_start_matches("*.");
    if name.len() < domain.len() {
        return false;
    }
    let tail = &name[name.len() - domain.len()..];
    tail.eq_ignore_ascii_case(domain)
        && (name.len() == domain.len() || name.as_bytes()[name.len() - domain.len() - 1] == b'.')
}

fn kind_matches(kind: &str, d: &Detection) -> bool {
    let mut parts = kind.splitn(2, '/');
    let cat = parts.next().unwrap_or("");
    let proto = parts.next();
    category_from_slug(cat) == Some(d.category)
        && proto.is_none_or(|p| p == "*" || p.eq_ignore_ascii_case(d.protocol.name()))
}

fn category_from_slug(s: &str) -> Option<Category> {
    Some(match s {
        "vpn" => Category::Vpn,
        "proxy" => Category::Proxy,
        "tunnel" => Category::Tunnel,
        "remote_access" => Category::RemoteAccess,
        "hosting" => Category::Hosting,
        "sanctioned_region" => Category::SanctionedRegion,
        "relay" => Category::Relay,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Basis, Confidence, Protocol};

    #[test]
    fn rule_needs_every_set_list_to_match() {
        let cfg: AllowConfig = toml::from_str(
            "[[rule]]\nnetworks = [\"203.0.113.0/24\"]\nkinds = [\"vpn/openvpn\"]\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        let ovpn = Detection::new(
            Category::Vpn,
            Protocol::OpenVpn,
            Confidence::Certain,
            Basis::Structure,
            "x",
        );
        let wg = Detection::new(
            Category::Vpn,
            Protocol::WireGuard,
            Confidence::Certain,
            Basis::Structure,
            "x",
        );
        let inside: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let other: std::net::IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(cfg.approves(&ovpn, other, inside, &[]), Some(0));
        assert_eq!(cfg.approves(&wg, other, inside, &[]), None);
        assert_eq!(cfg.approves(&ovpn, other, other, &[]), None);
    }

    #[test]
    fn domains_match_at_label_boundaries() {
        assert!(domain_matches("vpn.corp.example", "corp.example"));
        assert!(domain_matches("CORP.example.", "corp.example"));
        assert!(!domain_matches("evilcorp.example", "corp.example"));
    }

    #[test]
    fn empty_rule_is_refused() {
        let cfg: AllowConfig = toml::from_str("[[rule]]\ncomment = \"all\"\n").unwrap();
        assert!(cfg.validate().is_err());
    }
}
