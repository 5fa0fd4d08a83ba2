//! WireGuard (and its Cloudflare WARP variant) and Tailscale, by structure.
//!
//! WireGuard (Donenfeld, "WireGuard: Next Generation Kernel Network
//! Tunnel", NDSS 2017, section 5.4; wireguard.com/protocol): every message
//! starts with a 1-byte type and 3 reserved zero bytes. Handshake initiation
//! (type 1) is 148 bytes with the initiator's sender index at offset 4; the
//! response (type 2) is 92 bytes with the responder's sender index at 4 and
//! the initiator's index as receiver at 8; a cookie reply (type 3) is 64
//! bytes; transport data (type 4) carries the receiver index at 4 and a
//! 64-bit little-endian counter at 8, then the padded ciphertext and a
//! 16-byte tag (length ≥ 32, multiple of 16).
//!
//! Cloudflare WARP runs WireGuard with a client id in the reserved bytes
//! (and, as seen in captures, the high bits of the type byte set, no
//! padding, and larger handshake messages): recognised as `cloudflare_warp`
//! when the reserved bytes are non-zero but constant and the session
//! otherwise behaves like WireGuard. Some providers (TunnelBear) append
//! bytes to handshake messages: accepted when the index echo holds.
//!
//! Tailscale peers exchange "disco" packets over the same UDP socket
//! (tailscale `disco/disco.go`: magic `TS💬` = 54 53 f0 9f 92 ac, the
//! sender's 32-byte disco public key, a 24-byte nonce, a NaCl box):
//! magic and a constant key in both directions make it `tailscale`.

use super::{hex, le64, side};
use crate::decode::IpProto;
use crate::detect::{Basis, Category, Confidence, Detection, PacketView, Protocol};
use crate::detect::detector::Detector;
use crate::detect::FlowFacts;

/// Tailscale disco magic.
const DISCO_MAGIC: &[u8; 6] = b"TS\xf0\x9f\x92\xac";
/// Magic + key + nonce + the smallest box (tag + 1-byte message type + version).
const DISCO_MIN: usize = 6 + 32 + 24 + 16 + 2;

#[derive(Debug, Default, Clone, Copy)]
struct Side {
    /// Transport receiver index.
    rx: u32,
    /// Transport packets that fitted.
    n: u8,
    /// Last transport counter.
    ctr: u64,
    /// Handshake initiation sender index (`Some` once seen).
    init: Option<u32>,
    /// Handshake response (sender, receiver).
    resp: Option<(u32, u32)>,
    /// Handshake messages had the standard sizes.
    std_sizes: bool,
    /// Disco packets with a constant key.
    disco: u8,
    /// First 8 bytes of the disco key.
    disco_key: [u8; 8],
}

/// The WireGuard / WARP / Tailscale detector of one flow.
#[derive(Debug, Default)]
pub struct WireGuard {
    sides: [Side; 2],
    /// High bits of the type byte, fixed by the first message (zero in
    /// standard WireGuard).
    hi: Option<u8>,
    /// Reserved bytes, fixed by the first message that is not an
    /// initiation with zero reserved bytes.
    reserved: Option<[u8; 3]>,
    stopped: bool,
    reported: Option<(Confidence, Protocol)>,
    packets: u8,
}

impl Detector for WireGuard {
    type Ctx = super::VpnCtx;
    const PROTOCOL: Protocol = Protocol::WireGuard;
    const TRANSPORTS: &'static [IpProto] = &[IpProto::UDP];

    /// True when this detector needs no more packets.
    fn done(&self) -> bool {
        self.stopped || self.reported.is_some_and(|r| r.0 == Confidence::Certain)
    }

    /// One UDP datagram.
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let b = p.payload;
        let d = side(p.dir);
        self.packets = self.packets.saturating_add(1);
        if b.len() >= DISCO_MIN && b.starts_with(DISCO_MAGIC) {
            let s = &mut self.sides[d];
            if s.disco == 0 {
                s.disco_key.copy_from_slice(&b[6..14]);
            } else if s.disco_key != b[6..14] {
                self.stopped = true;
                return;
            }
            s.disco = s.disco.saturating_add(1);
            self.judge(out);
            return;
        }
        if b.len() < 32 {
            return self.miss();
        }
        let ty = b[0] & 0x3f;
        if !(1..=4).contains(&ty) {
            return self.miss();
        }
        let hi = b[0] & 0xc0;
        let res = [b[1], b[2], b[3]];
        match self.hi {
            None => self.hi = Some(hi),
            Some(h) if h != hi => return self.miss(),
            Some(_) => {}
        }
        // A WARP initiation has zero reserved bytes; later messages carry
        // the client id, the same in both directions.
        if !(ty == 1 && res == [0; 3]) {
            match self.reserved {
                None => self.reserved = Some(res),
                Some(r) if r != res => return self.miss(),
                Some(_) => {}
            }
        }
        let warp = self.is_warp();
        let idx = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let s = &mut self.sides[d];
        match ty {
            1 if b.len() >= 148 => {
                s.init = Some(idx(4));
                s.std_sizes = b.len() == 148;
            }
            2 if b.len() >= 92 => {
                s.resp = Some((idx(4), idx(8)));
                s.std_sizes = b.len() == 92;
            }
            3 if b.len() == 64 => {}
            4 => {
                if !warp && !b.len().is_multiple_of(16) {
                    return self.miss();
                }
                let ctr = le64(b, 8).unwrap_or(u64::MAX);
                // Counters start at 0 and stay far below 2^48.
                if ctr >> 48 != 0 {
                    return self.miss();
                }
                let rx = idx(4);
                if s.n == 0 {
                    s.rx = rx;
                } else if rx != s.rx || ctr <= s.ctr {
                    return self.miss();
                }
                s.ctr = ctr;
                s.n = s.n.saturating_add(1);
            }
            _ => return self.miss(),
        }
        self.judge(out);
    }
}

impl WireGuard {

    /// The WARP variant: type-byte high bits or reserved bytes set.
    fn is_warp(&self) -> bool {
        self.hi.is_some_and(|h| h != 0) || self.reserved.is_some_and(|r| r != [0; 3])
    }

    /// A packet that does not fit: tolerated only after a decision or
    /// among the very first packets of a Tailscale flow.
    fn miss(&mut self) {
        if self.reported.is_none() {
            self.stopped = true;
        }
    }

    fn judge(&mut self, out: &mut Vec<Detection>) {
        let [a, b] = self.sides;
        let warp = self.is_warp();
        let tailscale = a.disco > 0 && b.disco > 0;
        // Index echo: the response names the initiation's sender, or the
        // initiator's transport packets name the responder's index.
        let echo = |i: &Side, r: &Side| match (i.init, r.resp) {
            (Some(init), Some((snd, rcv))) => rcv == init || (i.n > 0 && i.rx == snd),
            _ => false,
        };
        let handshake = echo(&a, &b) || echo(&b, &a);
        let transport_both = a.n >= 3 && b.n >= 3;
        let transport_one = a.n >= 6 || b.n >= 6;
        let protocol = if tailscale {
            Protocol::Tailscale
        } else if warp {
            Protocol::CloudflareWarp
        } else {
            Protocol::WireGuard
        };
        let (conf, why) = if tailscale {
            (
                Confidence::Certain,
                "Tailscale disco packets (magic TS\u{1f4ac}, constant peer keys) both ways",
            )
        } else if handshake {
            (
                Confidence::Certain,
                "WireGuard handshake both ways: the response's indices echo the initiation's",
            )
        } else if transport_both {
            (
                Confidence::High,
                "WireGuard transport data both ways (handshake not seen): constant receiver indices, counters increasing",
            )
        } else if transport_one && !warp {
            (
                Confidence::Medium,
                "WireGuard transport data one way: constant receiver index, counters increasing",
            )
        } else {
            return;
        };
        if self
            .reported
            .is_some_and(|r| r.0 >= conf && r.1 == protocol)
        {
            return;
        }
        self.reported = Some((conf, protocol));
        let mut d = Detection::new(Category::Vpn, protocol, conf, Basis::Structure, why);
        // Transport data both ways without the handshake: a midstream find.
        d.midstream = !tailscale && !handshake && transport_both;
        if let Some(i) = a.init.or(b.init) {
            d = d.with("initiator_index", hex(&i.to_le_bytes()));
        }
        if let Some((s, _)) = a.resp.or(b.resp) {
            d = d.with("responder_index", hex(&s.to_le_bytes()));
            d = d.with("standard_sizes", a.std_sizes || b.std_sizes);
        }
        if a.n > 0 {
            d = d.with("receiver_index_client", hex(&a.rx.to_le_bytes()));
        }
        if b.n > 0 {
            d = d.with("receiver_index_server", hex(&b.rx.to_le_bytes()));
        }
        d = d.with("transport_packets", format!("{}/{}", a.n, b.n));
        if warp {
            d = d.with("reserved_bytes", hex(&self.reserved.unwrap_or_default()));
            d = d.with("type_high_bits", format!("{:02x}", self.hi.unwrap_or(0)));
        }
        if tailscale {
            d = d
                .with("disco_packets", format!("{}/{}", a.disco, b.disco))
                .with("disco_key_client", hex(&a.disco_key))
                .with("disco_key_server", hex(&b.disco_key));
        }
        out.push(d);
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::vpn::tests::feed;

    /// Protocol and confidence of the last finding a fresh detector reports
    /// on `pk` (UDP).
    fn last(pk: &[(bool, &str)]) -> (Protocol, Confidence) {
        let out = feed(&mut WireGuard::default(), 17, pk);
        let d = out.last().expect("detected");
        (d.protocol, d.confidence)
    }

    fn pad(h: &str, len: usize) -> String {
        format!("{h}{}", "5a".repeat(len - h.len() / 2))
    }

    // protonvpn.pcap frames 27-29, 33: initiation (148), response (92)
    // naming the initiator's index 9043164c, transport both ways.
    #[test]
    fn handshake_is_certain() {
        let init = pad(
            "010000009043164c7143e5ba10e783aec166579f5c8fa1cd28f0554608b81a9ad9882e66f1467a22",
            148,
        );
        let resp = pad(
            "020000005a80d24e9043164c27d4579c4f98e5ca8e27b562126f1f21edf3384f61313504204de9bc",
            92,
        );
        let t1 = "040000005a80d24e0000000000000000b3b5aae8b513782beb8c9b6ba0f31d8d";
        let pk: Vec<(bool, &str)> = vec![(true, &init), (false, &resp), (true, t1)];
        assert_eq!(last(&pk), (Protocol::WireGuard, Confidence::Certain));
    }

    // mullvad_wireguard.pcap frames 1-9: transport only, both ways.
    #[test]
    fn transport_both_ways_is_high() {
        let c: Vec<String> = (0x13..0x18)
            .map(|i| pad(&format!("0400000015764979{i:02x}00000000000000"), 80))
            .collect();
        let s: Vec<String> = (0x0f..0x13)
            .map(|i| pad(&format!("04000000b048101c{i:02x}00000000000000"), 96))
            .collect();
        let mut pk: Vec<(bool, &str)> = Vec::new();
        for i in 0..4 {
            pk.push((true, &c[i]));
            pk.push((false, &s[i]));
        }
        let (protocol, confidence) = last(&pk);
        assert_eq!((protocol.name(), confidence), ("wireguard", Confidence::High));
    }

    // cloudflare-warp.pcap frames 64-66, 72: reserved bytes 027800.
    #[test]
    fn warp_variant() {
        let init = pad("c10000000090830182436cb06c2855bf3f33c0b207af0feb", 194);
        let resp = pad("c20278006884ee000190830014575fa55fdd15ec439fd832", 778);
        let t1 = pad("c40278006884ee00010000000000000077f597b966c0cebe", 84);
        let t2 = pad("c40278006890830100000000000000007f0689af9eb4367b", 84);
        let pk: Vec<(bool, &str)> = vec![(true, &init), (false, &resp), (true, &t1), (false, &t2)];
        assert_eq!(last(&pk), (Protocol::CloudflareWarp, Confidence::Certain));
    }

    // tailscale.pcap frames 1, 2: disco both ways.
    #[test]
    fn tailscale_disco() {
        let c = pad(
            "5453f09f92acb6847dd212ae777bfae214b36d0d971152f0c7e0524e0c28b0a0105b5fa616170321",
            92,
        );
        let s = pad(
            "5453f09f92ac6f6a2376dac50eeee3dd14ec0a9e8e299c2a2f054088d36915ba030791bad0767894",
            92,
        );
        let pk: Vec<(bool, &str)> = vec![(true, &c), (false, &s)];
        let mut det = WireGuard::default();
        let out = feed(&mut det, 17, &pk);
        assert_eq!(out.last().map(|d| d.protocol.name()), Some("tailscale"));
    }

    // A DNS exchange is not WireGuard.
    #[test]
    fn dns_is_not_wireguard() {
        let q = "0401010000010000000000000377777706676f6f676c6503636f6d0000010001";
        let pk: Vec<(bool, &str)> = vec![(true, q), (false, q)];
        let mut det = WireGuard::default();
        assert!(feed(&mut det, 17, &pk).is_empty());
        assert!(det.done());
    }
}
