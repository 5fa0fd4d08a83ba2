#!/usr/bin/env python3
"""Builds the small link-type and encapsulation captures that no real
recording here could produce (no Wi-Fi radio, no router WAN link, no PPTP
server without its control channel). Deterministic; needs scapy (pip install
scapy) only to compute inner IP/UDP/TCP checksums. Every header written by
hand cites its specification:

  radiotap   radiotap.org (header, TSFT, Flags: FCS 0x10)
  802.11     IEEE 802.11-2020 9.2.4.1 (frame control), 9.3.2.1 (data frames)
  LLC/SNAP   IEEE 802.2 / RFC 1042
  PPI        Per-Packet Information Header Specification 1.0.10
  C-HDLC     tcpdump.org linktypes LINKTYPE_C_HDLC; SLARP (0x8035)
  PPP        RFC 1661 (protocol field), RFC 1662 3.1 (ff 03)
  ERSPAN I   draft-foschiano-erspan-03 (GRE 0x88BE, no sequence number)
  PPTP GRE   RFC 2637 4.1; PPP 0x00FD compressed datagram (RFC 1962, MPPE RFC 3078)
  AYIYA      draft-massar-v6ops-ayiya-02 section 5
  Teredo     RFC 4380 (2001:0::/32 client address, relay on a non-3544 port)
  L2TPv3     RFC 3931 4.1.1.1 (over IP 115), cookie 4 bytes + default sublayer 4.6
  GRE/UDP    RFC 8086 (UDP port 4754)
"""
import struct
from scapy.all import IP, IPv6, UDP, TCP, ICMP, Ether, Raw, wrpcap
from scapy.utils import PcapWriter

T0 = 1_700_000_000


def write(name, linktype, frames):
    w = PcapWriter(name, linktype=linktype, sync=True)
    for i, f in enumerate(frames):
        p = Raw(bytes(f))
        p.time = T0 + i * 0.01
        w.write(p)
    w.close()


def dns_query():
    q = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")
    return bytes(IP(src="192.168.1.20", dst="192.168.1.1", id=1) / UDP(sport=40000, dport=53) / q)


def dns_answer():
    a = bytes.fromhex("123481800001000000000000076578616d706c6503636f6d0000010001")
    return bytes(IP(src="192.168.1.1", dst="192.168.1.20", id=2) / UDP(sport=53, dport=40000) / a)


SNAP_IP = bytes([0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00])


def dot11(fc1, body, qos=True, four=False, fc0=None):
    fc0 = (0x88 if qos else 0x08) if fc0 is None else fc0
    h = bytes([fc0, fc1, 0, 0]) + bytes([2] * 6) + bytes([4] * 6) + bytes([6] * 6) + b"\x10\x00"
    if four:
        h += bytes([8] * 6)
    if qos and fc0 == 0x88:
        h += b"\x00\x00"
    return h + body


def radiotap(frame):
    # version 0, pad, length 24, present = TSFT|Flags; TSFT at 8; Flags = FCS.
    hdr = struct.pack("<BBHI", 0, 0, 24, 0x3) + struct.pack("<Q", 1) + bytes([0x10]) + bytes(7)
    return hdr + frame + b"\xde\xad\xbe\xef"


def ppi(frame):
    # PPI header: version 0, flags 0, length 8 + 24 (one 802.11-Common field), DLT 105.
    common = struct.pack("<QHHHHBBbb", 1, 0, 0, 0, 0, 0, 0, 0, 0)  # TSFT, flags (no FCS), rate, channel, FHSS, dBm
    common = common[:20]
    field = struct.pack("<HH", 2, 20) + common
    return struct.pack("<BBHI", 0, 0, 8 + len(field), 105) + field + frame


def gre(flags_ver, proto, extra=b""):
    return struct.pack(">HH", flags_ver, proto) + extra


def main():
    # --- link types ---
    data_to_ds = dot11(0x01, SNAP_IP + dns_query())
    data_from_ds = dot11(0x02, SNAP_IP + dns_answer())
    protected = dot11(0x41, bytes(8) + bytes(40))
    beacon = dot11(0x00, bytes(12), qos=False, fc0=0x80)
    write("wifi-radiotap.pcap", 127, [radiotap(f) for f in (beacon, data_to_ds, protected, data_from_ds)])
    four = dot11(0x03, SNAP_IP + dns_query(), four=True)
    write("wifi-ppi.pcap", 192, [ppi(four), ppi(data_from_ds)])
    write("wifi-80211.pcap", 105, [data_to_ds, protected, data_from_ds])
    slarp = bytes([0x8F, 0x00, 0x80, 0x35]) + struct.pack(">IIII", 2, 1, 2, 0xFFFF)
    write("cisco-hdlc.pcap", 104, [bytes([0x0F, 0, 0x08, 0]) + dns_query(), slarp,
                                   bytes([0x0F, 0, 0x08, 0]) + dns_answer()])
    write("ppp.pcap", 9, [b"\xff\x03\x00\x21" + dns_query(), b"\xff\x03\xc0\x21\x01\x01\x00\x04",
                          b"\x00\x21" + dns_answer()])

    eth = lambda: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    # --- ERSPAN type I: mirrored Ethernet frames right after GRE (no S bit) ---
    mirrored = [bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b", type=0x0800) / Raw(x)) for x in (dns_query(), dns_answer())]
    frames = [eth() / IP(src="10.9.0.1", dst="10.9.0.2", proto=47, id=10 + i) / Raw(gre(0x0000, 0x88BE) + m)
              for i, m in enumerate(mirrored)]
    write("erspan1.pcap", 1, frames)
    # --- PPTP data without its control connection: MPPE-compressed PPP ---
    frames = []
    for i in range(6):
        c2s = i % 2 == 0
        ppp = b"\xff\x03\x00\xfd" + bytes([0x90, i]) + bytes((i * 37 + k) & 0xFF for k in range(60))
        hdr = struct.pack(">HHHHI", 0x3001, 0x880B, len(ppp), 0x4000 if c2s else 0x0100, i // 2 + 1)
        src, dst = ("10.8.0.10", "203.0.113.5") if c2s else ("203.0.113.5", "10.8.0.10")
        frames.append(eth() / IP(src=src, dst=dst, proto=47, id=100 + i) / Raw(hdr + ppp))
    write("pptp-encrypted.pcap", 1, frames)
    # --- AYIYA: IPv6 inside, identity 16 bytes, SHA-1 signature 20 bytes ---
    inner6 = bytes(IPv6(src="2001:db8:1::2", dst="2001:db8:ffff::1") / UDP(sport=40001, dport=53) / Raw(b"\x00" * 12))
    ayiya = bytes([0x41, 0x52, 0x21, 41]) + struct.pack(">I", T0) + bytes(16) + bytes(20) + inner6
    frames = [eth() / IP(src="10.7.0.2", dst="198.51.100.7") / UDP(sport=5072, dport=5072) / Raw(ayiya)]
    write("ayiya.pcap", 1, frames)
    # --- Teredo through a relay on a non-3544 port (client 2001:0::/32) ---
    t6 = bytes(IPv6(src="2001:0:4136:e378:8000:63bf:3fff:fdd2", dst="2001:db8::80") / TCP(sport=50000, dport=80, flags="S", seq=1))
    t6r = bytes(IPv6(src="2001:db8::80", dst="2001:0:4136:e378:8000:63bf:3fff:fdd2") / TCP(sport=80, dport=50000, flags="SA", seq=9, ack=2))
    frames = [eth() / IP(src="192.0.2.10", dst="198.51.100.9") / UDP(sport=51413, dport=45000) / Raw(t6),
              eth() / IP(src="198.51.100.9", dst="192.0.2.10") / UDP(sport=45000, dport=51413) / Raw(t6r)]
    write("teredo-relay.pcap", 1, frames)
    # --- L2TPv3 over IP: session id, 4-byte cookie, default sublayer, Ethernet ---
    frames = [eth() / IP(src="10.6.0.1", dst="10.6.0.2", proto=115, id=30 + i) /
              Raw(struct.pack(">I", 0x1234) + b"\xc0\x0c\x1e\x5a" + struct.pack(">I", 0x40000000 | i) + m)
              for i, m in enumerate(mirrored)]
    write("l2tpv3-ip.pcap", 1, frames)
    # --- GRE in UDP (RFC 8086): plain GRE header, IPv4 inside ---
    frames = [eth() / IP(src="10.5.0.1", dst="10.5.0.2") / UDP(sport=49152 + i, dport=4754) / Raw(gre(0, 0x0800) + x)
              for i, x in enumerate((dns_query(), dns_answer()))]
    write("gre-udp.pcap", 1, frames)


if __name__ == "__main__":
    main()
