//! Community ID v1 (corelight/community-id-spec): a flow identifier that
//! Zeek, Suricata, Arkime and Elastic compute the same way, so a SIEM can
//! join our alerts with their logs by one string.

use crate::decode::Addr;
use base64::Engine;

/// ICMPv4 types with a request/response counterpart (Zeek's mapping).
fn icmp4_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        10 => 9,
        9 => 10,
        17 => 18,
        18 => 17,
        _ => return None,
    })
}

/// ICMPv6 types with a counterpart (Zeek's mapping).
fn icmp6_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129,
        129 => 128,
        130 => 131,
        131 => 130,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        139 => 140,
        140 => 139,
        144 => 145,
        145 => 144,
        _ => return None,
    })
}

/// Community ID of an ICMP/ICMPv6 flow from its first packet's type and code.
pub fn icmp(src: Addr, dst: Addr, proto: u8, icmp_type: u8, code: u8, seed: u16) -> String {
    let counterpart = if proto == 58 {
        icmp6_counterpart(icmp_type)
    } else {
        icmp4_counterpart(icmp_type)
    };
    match counterpart {
        Some(c) => compute(
            src,
            dst,
            proto,
            Some((icmp_type as u16, c as u16)),
            false,
            seed,
        ),
        // One-way messages keep their direction (no endpoint ordering).
        None => compute(
            src,
            dst,
            proto,
            Some((icmp_type as u16, code as u16)),
            true,
            seed,
        ),
    }
}

/// Community ID of a flow; `ports` is `None` for protocols without ports.
pub fn compute(
    src: Addr,
    dst: Addr,
    proto: u8,
    ports: Option<(u16, u16)>,
    one_way: bool,
    seed: u16,
) -> String {
    let (sp, dp) = ports.unwrap_or((0, 0));
    let ordered = one_way || (src.bits, sp) < (dst.bits, dp) || (src == dst && sp <= dp);
    let (a, b, ap, bp) = if ordered {
        (src, dst, sp, dp)
    } else {
        (dst, src, dp, sp)
    };
    let mut input = Vec::with_capacity(40);
    input.extend_from_slice(&seed.to_be_bytes());
    a.write_octets(&mut input);
    b.write_octets(&mut input);
    input.push(proto);
    input.push(0);
    if ports.is_some() {
        input.extend_from_slice(&ap.to_be_bytes());
        input.extend_from_slice(&bp.to_be_bytes());
    }
    // ring's SHA-1 (the spec's hash; an identifier, not a security use).
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn a(s: &str) -> Addr {
        s.parse::<IpAddr>().unwrap().into()
    }

    /// Vectors from corelight/community-id-spec `baseline/baseline_deflt.json`
    /// (ports there are already ICMP-mapped).
    #[test]
    fn published_baseline_vectors() {
        // protocol, source, destination, ports ("-" when the protocol has
        // none), expected id
        let cases = [
            "6 128.232.110.120 66.35.250.204 34855 80 1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            "6 66.35.250.204 128.232.110.120 80 34855 1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            "17 192.168.1.52 8.8.8.8 54585 53 1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            "17 8.8.8.8 192.168.1.52 53 54585 1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            "6 2001:470:e5bf:dead:4957:2174:e82c:4887 2607:f8b0:400c:c03::1a 63943 25 1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            "132 192.168.170.8 192.168.170.56 7 7 1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            "132 192.168.170.56 192.168.170.8 7 7 1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            "46 10.1.12.1 10.1.12.2 - - 1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            "46 10.1.12.2 10.1.12.1 - - 1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
        ];
        for case in cases {
            let f: Vec<&str> = case.split(' ').collect();
            let ports = f[3].parse().ok().zip(f[4].parse().ok());
            let got = compute(a(f[1]), a(f[2]), f[0].parse().unwrap(), ports, false, 0);
            assert_eq!(got, f[5], "{case}");
        }
    }

    #[test]
    fn icmp_vectors_through_type_mapping() {
        // Echo request 192.168.0.89 -> .1 and its reply share one id.
        let want = "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=";
        assert_eq!(icmp(a("192.168.0.89"), a("192.168.0.1"), 1, 8, 0, 0), want);
        assert_eq!(icmp(a("192.168.0.1"), a("192.168.0.89"), 1, 0, 0, 0), want);
        // Time exceeded (one-way, code 0).
        assert_eq!(
            icmp(a("10.0.0.1"), a("10.0.0.2"), 1, 11, 0, 0),
            "1:YHxtAirCG//0OzkcVAukqKQN9xM="
        );
        // ICMPv6 neighbour solicitation / advertisement.
        let ns = "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=";
        assert_eq!(
            icmp(
                a("fe80::200:86ff:fe05:80da"),
                a("fe80::260:97ff:fe07:69ea"),
                58,
                135,
                0,
                0
            ),
            ns
        );
        assert_eq!(
            icmp(
                a("fe80::260:97ff:fe07:69ea"),
                a("fe80::200:86ff:fe05:80da"),
                58,
                136,
                0,
                0
            ),
            ns
        );
        assert_eq!(
            icmp(
                a("fe80::260:97ff:fe07:69ea"),
                a("fe80::200:86ff:fe05:80da"),
                58,
                135,
                0,
                0
            ),
            "1:zavyT/cezQr1fmImYCwYnMXbgck="
        );
        assert_eq!(
            icmp(
                a("3ffe:501:1800:2345::2"),
                a("3ffe:507:0:1:200:86ff:fe05:80da"),
                58,
                3,
                0,
                0
            ),
            "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="
        );
        assert_eq!(
            icmp(a("fe80::200:86ff:fe05:80da"), a("ff02::2"), 58, 133, 0, 0),
            "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="
        );
    }
}
