//! The internal networks (`home_net`): which side of a flow is inside, as
//! ECS `network.direction` names it.

use crate::decode::Addr;
use ipnetwork::IpNetwork;

/// ECS `network.direction` of a flow, seen from the internal networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client outside, server inside: someone reaches into the network.
    Inbound,
    /// Client inside, server outside.
    Outbound,
    /// Both inside.
    Internal,
    /// Both outside (transit, or a misconfigured `home_net`).
    External,
}

impl Direction {
    /// ECS value.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
            Direction::External => "external",
        }
    }
}

/// The configured internal networks, split by family for quick tests.
#[derive(Clone, Debug, Default)]
pub struct HomeNet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl HomeNet {
    /// From the config's `home_net` list.
    pub fn new(nets: &[IpNetwork]) -> Self {
        let mut h = HomeNet::default();
        for n in nets {
            match n {
                IpNetwork::V4(n) => {
                    let mask = if n.prefix() == 0 {
                        0
                    } else {
                        u32::MAX << (32 - n.prefix())
                    };
                    h.v4.push((u32::from(n.network()) & mask, mask));
                }
                IpNetwork::V6(n) => {
                    let mask = if n.prefix() == 0 {
                        0
                    } else {
                        u128::MAX << (128 - n.prefix())
                    };
                    h.v6.push((u128::from(n.network()) & mask, mask));
                }
            }
        }
        h
    }

    /// True when `a` is inside.
    pub fn contains(&self, a: Addr) -> bool {
        if a.v6 {
            self.v6.iter().any(|&(net, mask)| a.bits & mask == net)
        } else {
            let bits = a.bits as u32;
            self.v4.iter().any(|&(net, mask)| bits & mask == net)
        }
    }

    /// Direction of a flow from `client` to `server`.
    pub fn direction(&self, client: Addr, server: Addr) -> Direction {
        match (self.contains(client), self.contains(server)) {
            (true, true) => Direction::Internal,
            (true, false) => Direction::Outbound,
            (false, true) => Direction::Inbound,
            (false, false) => Direction::External,
        }
    }
}

/// The default `home_net`: the private (RFC 1918), shared (RFC 6598) and
/// unique-local (RFC 4193) ranges.
pub fn default_home_net() -> Vec<IpNetwork> {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

/// Deserialises a list of CIDR strings with a message naming the bad one.
pub fn networks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNetwork>, D::Error> {
    let raw = <Vec<String> as serde::Deserialize>::deserialize(d)?;
    raw.iter()
        .map(|s| {
            s.parse::<IpNetwork>().map_err(|e| {
                serde::de::Error::custom(format!("`{s}` is not a network in CIDR notation: {e}"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_from_default_home_net() {
        let h = HomeNet::new(&default_home_net());
        let inside = Addr::v4([192, 168, 1, 10]);
        let cgnat = Addr::v4([100, 64, 0, 1]);
        let outside = Addr::v4([198, 51, 100, 7]);
        let ula: std::net::IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(h.direction(inside, outside), Direction::Outbound);
        assert_eq!(h.direction(outside, inside), Direction::Inbound);
        assert_eq!(h.direction(inside, cgnat), Direction::Internal);
        assert_eq!(h.direction(outside, outside), Direction::External);
        assert!(h.contains(Addr::from(ula)));
        assert!(!h.contains(Addr::v4([172, 32, 0, 1])));
    }
}
