//! Partitioning events by internal host (`partition_by = "host"` of the
//! Kafka sink), so that `gateward correlate` can run as a consumer group:
//! each consumer keeps the state of the hosts of its partitions.
//!
//! An event that concerns one internal host goes to that host's partition.
//! An event that concerns several — a flow between two internal hosts, an
//! inbound remote-control session (the cross-host shared-egress rule
//! counts it for every host controlled from the same outside prefix) or a
//! session to a VPN concentrator — goes to every partition, and every
//! consumer reads it once (from the lowest partition it owns), so the
//! cross-host state is whole in each. The partition of a host is computed
//! here, not by librdkafka's partitioner, so a consumer can tell which
//! hosts it owns.

use super::config::HostKeying;
use std::net::IpAddr;

/// Kafka header on an event sent to every partition: a consumer reads it
/// only from the lowest partition it owns.
pub const EVERYONE_HEADER: &str = "gateward-route";

/// Where one event goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The partition of this internal host.
    Host(IpAddr),
    /// Every partition: the event concerns several hosts.
    Everyone,
    /// No internal host (librdkafka's partitioner on the key).
    Unkeyed,
}

/// The partition (of `partitions`) that holds host `ip`'s events: FNV-1a
/// over the address octets. Stable across versions: producers and
/// consumers of different builds must agree.
pub fn host_partition(ip: IpAddr, partitions: i32) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: &[u8]| {
        for x in b {
            h ^= u32::from(*x);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    match ip {
        IpAddr::V4(a) => eat(&a.octets()),
        IpAddr::V6(a) => eat(&a.octets()),
    }
    (h % partitions.max(1) as u32) as i32
}

/// The first string value of top-level `key` in an EVE line, parsed as an
/// address. gateward writes the top-level addresses before any nested
/// object, so the first occurrence is the top-level one.
fn ip_field(line: &[u8], key: &[u8]) -> Option<IpAddr> {
    let at = find(line, key)? + key.len();
    let rest = line.get(at..)?;
    let end = rest.iter().position(|b| *b == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Where the event `line` goes under `partition_by = "host"`.
pub fn route(line: &[u8], k: &HostKeying) -> Route {
    let src = ip_field(line, br#""src_ip":""#);
    let dest = ip_field(line, br#""dest_ip":""#);
    let internal = |ip: Option<IpAddr>| ip.filter(|a| k.home_net.iter().any(|n| n.contains(*a)));
    let (si, di) = (internal(src), internal(dest));
    let to_concentrator = dest.is_some_and(|d| k.concentrators.contains(&d));
    let inbound_control = find(line, br#""remote_session":{"direction":"inbound""#).is_some();
    match (si, di) {
        _ if to_concentrator => Route::Everyone,
        (Some(_), Some(_)) => Route::Everyone,
        (Some(_), None) | (None, Some(_)) if inbound_control => Route::Everyone,
        (Some(h), None) | (None, Some(h)) => Route::Host(h),
        (None, None) => Route::Unkeyed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keying() -> HostKeying {
        HostKeying {
            home_net: vec!["10.0.0.0/8".parse().expect("net")],
            concentrators: vec!["192.0.2.10".parse().expect("ip")],
        }
    }

    #[test]
    fn one_internal_host_goes_to_its_partition() {
        let l = br#"{"flow_id":1,"src_ip":"10.1.2.3","src_port":1,"dest_ip":"198.51.100.7","tunnel":{"src_ip":"10.9.9.9"}}"#;
        assert_eq!(
            route(l, &keying()),
            Route::Host("10.1.2.3".parse().expect("ip"))
        );
        let l = br#"{"src_ip":"198.51.100.7","dest_ip":"10.1.2.3"}"#;
        assert_eq!(
            route(l, &keying()),
            Route::Host("10.1.2.3".parse().expect("ip"))
        );
    }

    #[test]
    fn events_of_several_hosts_go_everywhere() {
        let k = keying();
        assert_eq!(
            route(br#"{"src_ip":"10.0.0.1","dest_ip":"10.0.0.2"}"#, &k),
            Route::Everyone
        );
        assert_eq!(
            route(br#"{"src_ip":"203.0.113.5","dest_ip":"192.0.2.10"}"#, &k),
            Route::Everyone
        );
        let inbound = br#"{"src_ip":"203.0.113.5","dest_ip":"10.0.0.2","remote_session":{"direction":"inbound","inside_ip":"10.0.0.2"}}"#;
        assert_eq!(route(inbound, &k), Route::Everyone);
        // `network_direction` is not the remote session's direction.
        let l = br#"{"src_ip":"203.0.113.5","dest_ip":"10.0.0.2","network_direction":"inbound"}"#;
        assert_eq!(route(l, &k), Route::Host("10.0.0.2".parse().expect("ip")));
        assert_eq!(
            route(br#"{"src_ip":"203.0.113.5","dest_ip":"198.51.100.1"}"#, &k),
            Route::Unkeyed
        );
        assert_eq!(route(b"not json", &k), Route::Unkeyed);
    }

    #[test]
    fn partitions_are_stable_and_in_range() {
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        assert_eq!(host_partition(ip, 1), 0);
        let p = host_partition(ip, 4);
        assert!((0..4).contains(&p));
        assert_eq!(p, host_partition(ip, 4));
        // Pinned (FNV-1a 32 of 0a 00 00 01 is 0x6C506A2C): a change would
        // split one host across old and new builds.
        assert_eq!(
            host_partition(ip, i32::MAX),
            (0x6C50_6A2Cu32 % i32::MAX as u32) as i32
        );
        assert_eq!(host_partition(ip, 0), 0);
    }
}
