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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_from_default_home_net() {
        let cfg = crate::config::Config::default();
        let h = HomeNet::new(&cfg.home_net);
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
