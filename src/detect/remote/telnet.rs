//! Telnet: option negotiation (RFC 854, RFC 855).
//!
//! A Telnet session opens with negotiation commands: IAC (255) followed by
//! WILL/WONT/DO/DONT (251-254) and an option code, or a subnegotiation
//! IAC SB (250) option ... IAC SE (240). The first payload of a direction
//! must start with IAC and be made of well-formed commands (text may follow
//! them: a login banner). Both directions negotiating: `Certain`; only one
//! (a server whose client never answered): `High` when it sent three
//! commands or more. The option codes negotiated (RFC 1700 / IANA "Telnet
//! Options" names) are the evidence, plus the terminal type a client
//! reports (RFC 1091 TERMINAL-TYPE IS).

use super::{di, found, printable, text};
use crate::detect::Protocol;
use crate::detect::{Basis, Confidence, Detection, PacketView};
use crate::detect::detector::{detector_head, Detector};
use crate::detect::FlowFacts;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;

/// Commands of a payload that starts with IAC: (commands, options as
/// bits, terminal type); `None` when the bytes break the grammar.
fn negotiation(b: &[u8], options: &mut [u64; 4]) -> Option<(u8, Option<(usize, usize)>)> {
    if b.first() != Some(&IAC) {
        return None;
    }
    let mut i = 0;
    let mut count = 0u8;
    let mut ttype = None;
    while i < b.len() && b[i] == IAC {
        let cmd = *b.get(i + 1)?;
        match cmd {
            251..=254 => {
                let opt = *b.get(i + 2)?;
                options[usize::from(opt / 64)] |= 1 << (opt % 64);
                i += 3;
            }
            SB => {
                let opt = *b.get(i + 2)?;
                options[usize::from(opt / 64)] |= 1 << (opt % 64);
                let body = i + 3;
                let end = b[body..].windows(2).position(|w| w == [IAC, SE])? + body;
                if opt == 24 && b.get(body) == Some(&0) && end > body + 1 {
                    ttype = Some((body + 1, end));
                }
                i = end + 2;
            }
            241..=249 => i += 2,
            _ => return None,
        }
        count = count.saturating_add(1);
    }
    (count > 0).then_some((count, ttype))
}

fn option_name(o: u8) -> String {
    let n = match o {
        0 => "binary",
        1 => "echo",
        3 => "sga",
        5 => "status",
        6 => "timing_mark",
        24 => "terminal_type",
        31 => "naws",
        32 => "terminal_speed",
        33 => "lflow",
        34 => "linemode",
        35 => "xdisploc",
        36 => "environ",
        37 => "authentication",
        38 => "encrypt",
        39 => "new_environ",
        _ => return o.to_string(),
    };
    n.into()
}

/// Telnet state.
#[derive(Debug, Default)]
pub struct Telnet {
    /// Decided.
    done: bool,
    /// Negotiation seen per direction (commands in the first payload).
    commands: [u8; 2],
    /// Payloads seen per direction.
    seen: [u8; 2],
    options: [u64; 4],
    ttype: [u8; 24],
    ttype_len: u8,
    reported: Option<Confidence>,
}

impl Detector for Telnet {
    detector_head! { ctx: super::RemoteCtx, protocol: Telnet, transports: [TCP], done: done }

    /// Reads the first payload of each direction (and client
    /// subnegotiations for the terminal type until decided).
    fn on_packet(&mut self, p: &PacketView<'_>, _facts: &FlowFacts<'_>, _ctx: &Self::Ctx, out: &mut Vec<Detection>) {
        let d = di(p.dir);
        self.seen[d] = self.seen[d].saturating_add(1);
        let parsed = negotiation(p.payload, &mut self.options);
        if self.seen[d] == 1 {
            let Some((n, _)) = parsed else {
                self.done = true;
                return;
            };
            self.commands[d] = n;
        }
        if let Some((_, Some((a, b)))) = parsed {
            let t = &p.payload[a..b];
            if d == 0 && printable(t) && self.ttype_len == 0 {
                let n = t.len().min(self.ttype.len());
                self.ttype[..n].copy_from_slice(&t[..n]);
                self.ttype_len = n as u8;
            }
        }
        let conf = if self.commands[0] > 0 && self.commands[1] > 0 {
            Confidence::Certain
        } else if self.commands[d] >= 3 {
            Confidence::High
        } else {
            if u16::from(self.seen[0]) + u16::from(self.seen[1]) > 8 {
                self.done = true;
            }
            return;
        };
        // Report High at once; report Certain once both sides negotiated,
        // after a few packets so the terminal type can be included.
        let total = u16::from(self.seen[0]) + u16::from(self.seen[1]);
        if conf == Confidence::Certain && self.ttype_len == 0 && total < 8 {
            if self.reported.is_none() {
                self.report(Confidence::High, out);
            }
            return;
        }
        if self.reported.is_some_and(|r| r >= conf) {
            return;
        }
        self.report(conf, out);
        if conf == Confidence::Certain {
            self.done = true;
        }
    }
}

impl Telnet {

    fn report(&mut self, conf: Confidence, out: &mut Vec<Detection>) {
        self.reported = Some(conf);
        let opts: Vec<String> = (0..=255u8)
            .filter(|o| self.options[usize::from(o / 64)] & (1 << (o % 64)) != 0)
            .map(option_name)
            .collect();
        let mut d = found(
            Protocol::Telnet,
            conf,
            Basis::Structure,
            if conf == Confidence::Certain {
                "Telnet option negotiation in both directions"
            } else {
                "Telnet option negotiation"
            },
        )
        .with("options", opts.join(","));
        if self.ttype_len > 0 {
            d = d.with(
                "terminal_type",
                text(&self.ttype[..usize::from(self.ttype_len)]),
            );
        }
        out.push(d);
    }
}


#[cfg(test)]
mod tests {
    use super::super::testutil::{C, S, hex, send};
    use super::*;

    #[test]
    fn negotiation_both_ways() {
        // telnet.pcap frames 4, 5, 7, 9, 10 (first bytes of the SB list).
        let f = [
            (C, "fffd03fffb18fffb1ffffb20fffb21fffb22fffb27fffd05fffb23"),
            (S, "fffd25"),
            (C, "fffc25"),
            (S, "fffb03fffd18fffd1ffffd20fffd21fffd22fffa22010bfff0"),
            (C, "fffa1f00500020fff0fffa18005854455252fff0"),
        ];
        let mut t = Telnet::default();
        let mut out = Vec::new();
        for (i, (d, h)) in f.iter().enumerate() {
            send(&mut t, 6, *d, i as u16, &hex(h), &mut out);
        }
        let last = out.last().unwrap();
        assert_eq!(last.confidence, Confidence::Certain);
        assert_eq!(last.evidence.get("terminal_type"), Some("XTERR"));
        assert!(last.evidence.get("options").unwrap().contains("naws"));
    }

    #[test]
    fn not_telnet() {
        let mut o = [0; 4];
        assert!(negotiation(b"GET / HTTP/1.1\r\n", &mut o).is_none());
        assert!(negotiation(&hex("ff01"), &mut o).is_none());
        assert!(negotiation(&hex("fffa18"), &mut o).is_none());
        let mut t = Telnet::default();
        let mut out = Vec::new();
        send(&mut t, 6, S, 0, b"login: ", &mut out);
        assert!(t.done && out.is_empty());
    }
}
