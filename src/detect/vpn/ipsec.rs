//! IPsec: IKEv1/IKEv2 key exchange and ESP, by structure.
//!
//! IKE header (RFC 7296 §3.1 for IKEv2, RFC 2408 §3.1 for ISAKMP/IKEv1):
//! initiator SPI (8, never zero), responder SPI (8), next payload, version
//! (0x20 or 0x10), exchange type, flags, message id, length (the whole
//! message), then a chain of generic payload headers (next payload,
//! critical bit, 2-byte length) that must end exactly at the message end.
//! Under NAT traversal (RFC 3948, port 4500) IKE messages follow a 4-byte
//! zero "non-ESP marker" and ESP packets follow the UDP header directly.
//! ESP (RFC 4303 §2): SPI (4, non-zero, constant per direction) and a
//! sequence number that increases with every packet.
//! AH (RFC 4302 §2): next header, payload length (AH length in 32-bit words
//! minus 2), 2 reserved bytes (zero), SPI, sequence number, ICV.
//!
//! IP protocols 50 (ESP) and 51 (AH) are IPsec by the IP header itself
//! (IANA protocol numbers): one packet that passes the SPI/sequence checks is
//! already high; several consistent packets are certain. The sensor may
//! start long after IKE, so no IKE is needed, and a rekey (a new SA: new
//! SPI, sequence from 1 again) is followed: each direction keeps up to
//! `SPIS` SAs, each with its own increasing sequence number.

use super::{be32, side};
use crate::decode::IpProto;
use crate::detect::Protocol;
use crate::detect::{Basis, Category, Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Decision, Detector};
use crate::detect::FlowFacts;

/// Length of the IKE header.
const IKE_HDR: usize = 28;
/// Payload headers walked per message at most.
const MAX_PAYLOADS: usize = 32;
/// The NAT-T port (RFC 3948).
const NAT_T_PORT: u16 = 4500;

/// SAs (SPIs) followed per direction: the current one and rekeys.
const SPIS: usize = 4;

/// One SA seen in one direction: its SPI and last sequence number.
#[derive(Debug, Default, Clone, Copy)]
struct Sa {
    spi: u32,
    seq: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct Side {
    /// Valid IKE messages.
    ike: u8,
    /// Initiator SPIs of the last messages (ring).
    spis: [u64; 4],
    /// IKE major version seen (1 or 2).
    version: u8,
    /// Exchange types seen (bit per type modulo 64).
    xchg: u64,
    /// ESP/AH packets that fitted.
    esp: u8,
    /// SAs seen (the first `sas_n` of `sas`).
    sas: [Sa; SPIS],
    sas_n: u8,
}

impl Side {
    fn has_spi(&self, spi: u64) -> bool {
        self.ike > 0 && self.spis.contains(&spi)
    }
}

/// The IPsec detector of one flow.
#[derive(Debug, Default)]
pub struct Ipsec {
    sides: [Side; 2],
    /// An IKE message of one side named an initiator SPI the other side used.
    echo: bool,
    /// Stopped, or how far reported.
    decision: Decision,
    misses: u8,
    /// AH: next header of the last packet (4/41 = tunnel mode).
    ah_next: u8,
}

/// A checked AH header (RFC 4302 §2): (next header, SPI + sequence and the
/// rest). Reserved bytes zero, the AH length (payload length + 2 words)
/// within the packet, an ICV of at least 32 bits.
fn ah_header(b: &[u8]) -> Option<(u8, &[u8])> {
    let h = b.get(..12)?;
    let ah_len = (usize::from(h[1]) + 2) * 4;
    if h[2..4] != [0, 0] || h[1] < 2 || ah_len > b.len() {
        return None;
    }
    Some((h[0], &b[4..]))
}

/// A checked IKE message: (initiator SPI, major version, exchange type).
pub(super) fn parse_ike(b: &[u8]) -> Option<(u64, u8, u8)> {
    if b.len() < IKE_HDR {
        return None;
    }
    let ispi = u64::from_be_bytes(b[0..8].try_into().ok()?);
    let next = b[16];
    let ver = b[17];
    let xchg = b[18];
    let flags = b[19];
    let len = be32(b, 24)? as usize;
    if ispi == 0 || len != b.len() {
        return None;
    }
    let encrypted = match ver {
        0x20 => {
            if !matches!(xchg, 34..=37 | 43 | 44) || flags & !0x38 != 0 {
                return None;
            }
            if !(next == 0 || (33..=53).contains(&next)) {
                return None;
            }
            // IKE_SA_INIT request: no responder SPI yet, message id 0.
            if xchg == 34 && flags & 0x20 == 0 && (b[8..16] != [0; 8] || be32(b, 20)? != 0) {
                return None;
            }
            false
        }
        0x10 => {
            if !matches!(xchg, 0..=5 | 32 | 33) || flags & !0x07 != 0 {
                return None;
            }
            if !matches!(next, 0..=13 | 20 | 21 | 128..=255) {
                return None;
            }
            flags & 0x01 != 0
        }
        _ => return None,
    };
    if !encrypted {
        let mut off = IKE_HDR;
        let mut np = next;
        let mut n = 0;
        while np != 0 {
            n += 1;
            if n > MAX_PAYLOADS || off + 4 > len {
                return None;
            }
            let plen = usize::from(u16::from_be_bytes([b[off + 2], b[off + 3]]));
            if plen < 4 {
                return None;
            }
            // IKEv2 Encrypted (46) / Encrypted Fragment (53): the rest.
            let last = ver == 0x20 && (np == 46 || np == 53);
            np = b[off];
            off += plen;
            if last {
                break;
            }
        }
        if off != len {
            return None;
        }
    }
    Some((ispi, ver >> 4, xchg))
}

impl Detector for Ipsec {
    detector_head! { ctx: super::VpnCtx, protocol: Ipsec, transports: [UDP, ESP, AH], done: decision }

    /// One UDP datagram, ESP (IP protocol 50) or AH (51) packet.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = side(p.dir);
        let b = p.payload;
        match p.proto {
            IpProto::ESP | IpProto::AH => {
                let hdr = if p.proto == IpProto::AH {
                    ah_header(b)
                } else {
                    Some((0, b))
                };
                let ok = match hdr {
                    Some((nh, spi_seq)) => {
                        self.ah_next = nh;
                        self.esp(d, spi_seq)
                    }
                    None => false,
                };
                if !ok {
                    self.misses += 1;
                    if self.decision.reported.is_none() || self.misses > 3 {
                        self.decision.stopped = true;
                    }
                    return;
                }
            }
            IpProto::UDP => {
                let nat_t = p.server_port == NAT_T_PORT || p.client_port == NAT_T_PORT;
                if b == [0xff] {
                    // NAT-T keepalive (RFC 3948 §2.3).
                    return;
                }
                let ike = if b.len() > 4 && b[..4] == [0; 4] {
                    &b[4..]
                } else {
                    b
                };
                if let Some((spi, ver, xchg)) = parse_ike(ike) {
                    let other = self.sides[d ^ 1];
                    let s = &mut self.sides[d];
                    s.spis[usize::from(s.ike) % 4] = spi;
                    s.ike = s.ike.saturating_add(1);
                    s.version = ver;
                    s.xchg |= 1 << (xchg % 64);
                    self.echo |= other.has_spi(spi);
                } else if (nat_t || self.sides.iter().any(|s| s.ike > 0)) && self.esp(d, b) {
                    // ESP in UDP after IKE, or on the NAT-T port.
                } else {
                    self.misses += 1;
                    if self.decision.reported.is_none()
                        && self.sides.iter().all(|s| s.ike == 0 && s.esp == 0)
                        || self.misses > 3
                    {
                        self.decision.stopped = true;
                        return;
                    }
                }
            }
            _ => {
                self.decision.stopped = true;
                return;
            }
        }
        self.judge(p.proto, out);
    }
}

impl Ipsec {

    /// One ESP packet (or AH from its SPI on): SPI ≥ 256, a non-zero
    /// sequence number increasing per SPI (by at most 64: a lost packet or
    /// a few, not random bytes). A new SPI in a direction is a new SA (a
    /// rekey); at most `SPIS` are followed.
    fn esp(&mut self, d: usize, b: &[u8]) -> bool {
        // SPI, sequence, at least an IV/ICV's worth of data.
        if b.len() < 12 {
            return false;
        }
        let (Some(spi), Some(seq)) = (be32(b, 0), be32(b, 4)) else {
            return false;
        };
        // SPIs 1-255 are reserved (RFC 4303 §2.1, RFC 4302 §2.4).
        if spi < 256 || seq == 0 {
            return false;
        }
        let s = &mut self.sides[d];
        let n = usize::from(s.sas_n);
        match s.sas[..n].iter_mut().find(|a| a.spi == spi) {
            Some(a) => {
                if seq <= a.seq || seq - a.seq > 64 {
                    return false;
                }
                a.seq = seq;
            }
            None if n < SPIS => {
                s.sas[n] = Sa { spi, seq };
                s.sas_n += 1;
            }
            None => return false,
        }
        s.esp = s.esp.saturating_add(1);
        true
    }

    fn judge(&mut self, proto: IpProto, out: &mut Vec<Detection>) {
        let [a, b] = self.sides;
        let (conf, why) = if a.ike > 0 && b.ike > 0 && self.echo {
            (
                Confidence::Certain,
                "IKE exchange both ways: well-formed headers and payload chains, the responder echoing the initiator SPI",
            )
        } else if proto != IpProto::UDP && (a.esp >= 1 && b.esp >= 1 || a.esp + b.esp >= 3) {
            (
                Confidence::Certain,
                if proto == IpProto::AH {
                    "AH (IP protocol 51): SPI per direction, sequence numbers increasing per SPI over several packets"
                } else {
                    "ESP (IP protocol 50): SPI per direction, sequence numbers increasing per SPI over several packets"
                },
            )
        } else if proto != IpProto::UDP {
            (
                Confidence::High,
                if proto == IpProto::AH {
                    "AH (IP protocol 51): a valid SPI and sequence number"
                } else {
                    "ESP (IP protocol 50): a valid SPI and sequence number"
                },
            )
        } else if a.esp >= 2 && b.esp >= 2 || a.esp >= 4 || b.esp >= 4 {
            (
                Confidence::High,
                "ESP in UDP (NAT-T): SPI per direction, sequence numbers increasing per SPI",
            )
        } else if a.ike + b.ike >= 2 {
            (
                Confidence::High,
                "IKE messages: well-formed headers and payload chains",
            )
        } else if a.ike + b.ike == 1 {
            (
                Confidence::Medium,
                "one IKE message: well-formed header and payload chain",
            )
        } else {
            return;
        };
        if !self.decision.raise(conf) {
            return;
        }
        let mut d = Detection::new(Category::Vpn, Protocol::Ipsec, conf, Basis::Structure, why);
        // ESP alone, no IKE seen: a midstream find.
        d.midstream = a.ike == 0 && b.ike == 0;
        let ike = if a.ike > 0 { a } else { b };
        if ike.ike > 0 {
            d = d
                .with("ike_version", ike.version)
                .with("initiator_spi", format!("{:016x}", ike.spis[0]))
                .with("ike_messages", format!("{}/{}", a.ike, b.ike));
        }
        if a.esp > 0 {
            d = d.with("esp_spi_client", format!("{:08x}", a.sas[0].spi));
        }
        if b.esp > 0 {
            d = d.with("esp_spi_server", format!("{:08x}", b.sas[0].spi));
        }
        if a.esp > 0 || b.esp > 0 {
            d = d
                .with("esp_packets", format!("{}/{}", a.esp, b.esp))
                .with("spis", format!("{}/{}", a.sas_n, b.sas_n));
        }
        if proto == IpProto::AH {
            let mode = if matches!(self.ah_next, 4 | 41) { "tunnel" } else { "transport" };
            d = d
                .with("ipsec", "ah")
                .with("ah_next_header", self.ah_next)
                .with("mode", mode);
        }
        out.push(d);
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::{feed_ports, unhex};

    // ipsec_isakmp_esp.pcap frame 17: the responder's 52-byte IKE_SA_INIT
    // answer (a COOKIE notify) to the initiator SPI b64ef32131a48952.
    const RESP: &str = "b64ef32131a4895200000000000000002920222000000000000000340000001800004006\
                        000155739f613a70f771484cb7a6aa3f";
    // Frame 263: a 38-byte IKE_SA_INIT answer with an N(INVALID_KE_PAYLOAD).
    const RESP2: &str =
        "6e09515392eb66e700000000000000002920222000000000000000260000000a00000011000e";

    #[test]
    fn ike_sa_init_answer_parses() {
        let b = unhex(RESP);
        assert_eq!(b.len(), 52);
        let (spi, ver, xchg) = parse_ike(&b).expect("valid");
        assert_eq!((spi, ver, xchg), (0xb64ef32131a48952, 2, 34));
        assert!(parse_ike(&unhex(RESP2)).is_some());
        // Truncated or with a wrong length field: rejected.
        assert!(parse_ike(&b[..40]).is_none());
    }

    #[test]
    fn ike_both_ways_is_certain() {
        // Request (built from frame 16's header, its chain cut to a single
        // Nonce payload): same SPI, zero responder SPI.
        let req = "b64ef32131a4895200000000000000002820220800000000000000300000001400000000\
                   000000000000000000000000";
        let pk: Vec<(bool, &str)> = vec![(true, req), (false, RESP)];
        let mut det = Ipsec::default();
        let out = feed_ports(&mut det, 17, 10500, 500, &pk);
        assert_eq!(out.last().map(|d| d.confidence), Some(Confidence::Certain));
    }

    // ESP in UDP: constant SPI, sequence 1, 2, 3, 4 (NAT-T port 4500).
    #[test]
    fn esp_in_udp() {
        let pk: Vec<String> = (1..=4)
            .map(|i| format!("c0ffee01{i:08x}{}", "77".repeat(40)))
            .collect();
        let pk: Vec<(bool, &str)> = pk.iter().map(|s| (true, s.as_str())).collect();
        let mut det = Ipsec::default();
        let out = feed_ports(&mut det, 17, 14500, 4500, &pk);
        assert_eq!(out.last().map(|d| d.confidence), Some(Confidence::High));
    }

    #[test]
    fn random_udp_is_not_ipsec() {
        let pk: Vec<(bool, &str)> = vec![(
            true,
            "17fefd000100000000000100200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        )];
        let mut det = Ipsec::default();
        let out = feed_ports(&mut det, 17, 5000, 443, &pk);
        assert!(out.is_empty() && det.done());
    }
}
