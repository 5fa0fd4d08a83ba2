#!/usr/bin/env python3
"""Build captures/demo-laptop-farm.pcap: the "laptop farm" story of issue 11,
assembled from real recorded sessions already in this repository.

Every packet comes from a real capture (captures/recorded/*.pcap, recorded by
this project from real tools in network namespaces, and one AnyDesk flow of
nDPI's captures/anydesk.pcapng). The script only

  * picks the packets of one session per part (all packets of a recording, or
    one 5-tuple of a larger capture),
  * rewrites the IPv4 source and destination addresses through a per-part
    mapping into a home network (10.20.0.0/16) and the documentation ranges
    (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24),
  * shifts the part's timestamps so that its first packet falls at a chosen
    offset from one base time, and
  * merges all parts in time order into one classic pcap (little endian,
    microsecond timestamps, LINKTYPE_ETHERNET).

The IPv4 header checksum is recomputed (RFC 791 3.1). TCP and UDP checksums
(and the ICMP checksum of an ICMP error that quotes a rewritten header) are
updated incrementally for the changed pseudo-header addresses (RFC 1624
eqn. 3), so a checksum that was right stays right and one that was wrong
(NIC offload at recording time) stays exactly as wrong; a UDP checksum of 0
(none) stays 0. Ports, payloads, lengths and MAC addresses are unchanged.

Input containers: classic pcap (either byte order, us or ns magic) and pcapng
(either byte order, Enhanced and Simple Packet Blocks, if_tsresol).

The parts and the address mapping are the table PARTS below; captures/README.md
("Demo capture") describes them. Python 3 standard library only;
deterministic (no clock, no randomness): the output is byte-identical from
run to run.

    python3 captures/make-demo.py [OUT]     # default captures/demo-laptop-farm.pcap
"""
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# 2026-11-23 07:30:00 UTC, a Monday: 02:30 in the morning at the company
# (US Eastern, UTC-5), a working afternoon in East Asia. The recordings were
# made on 2026-11-21, so the shifts are small.
BASE_US = 1_795_419_000 * 1_000_000

# Addresses of the story.
FARM = "10.20.0.23"          # the laptop-farm host (company laptop)
SIBLING_A = "10.20.0.24"     # two more company laptops driven from the same
SIBLING_B = "10.20.0.25"     #   VPS range (shared egress: one facilitator)
SUPPORT_USER = "10.20.0.40"  # ordinary host, approved AnyDesk support
WEB_A = "10.20.0.51"         # ordinary hosts: web and DNS
WEB_B = "10.20.0.52"
WEB_C = "10.20.0.53"
CTRL_RDP = "203.0.113.66"    # controller 1: a VPS (hosting feed captures/demo/hosting-vps.txt)
CTRL_VNC = "203.0.113.140"   # controller 2: another VPS of the same provider
CTRL_SSH = "192.0.2.77"      # controller 3: not in any feed
CTRL_SIB_A = "203.0.113.67"  # controllers of the sibling laptops, same /24
CTRL_SIB_B = "203.0.113.141"
VPN_EXIT = "198.51.100.77"   # the OpenVPN server the laptop's own egress goes to
ANYDESK_RELAY = "198.51.100.200"  # AnyDesk relay (approved peer in captures/demo.toml)
HELPDESK = "198.51.100.10"   # the IT provider's jump host in its cloud range
                             #   (in the hosting feed too; approved peer)
WEB_SERVER = "192.0.2.80"    # an ordinary web server (TLS 8443, HTTP 8080)
RESOLVER = "192.0.2.53"      # the ISP's resolver

# (name, source capture, packet filter or None, {old address: new}, offset s)
# The filter keeps the packets whose (addresses, ports) set equals it.
PARTS = [
    ("web A", "recorded/control-web.pcap", None,
     {"10.99.0.2": WEB_A, "10.99.0.1": WEB_SERVER}, 0),
    ("dns A", "recorded/control-dns.pcap", None,
     {"10.99.0.2": WEB_A, "10.99.0.1": RESOLVER}, 5),
    ("anydesk support", "anydesk.pcapng",
     {("192.168.1.128", 48260), ("195.181.174.176", 443)},
     {"192.168.1.128": SUPPORT_USER, "195.181.174.176": ANYDESK_RELAY}, 40),
    ("rdp in from help desk", "recorded/rdp-xfreerdp.pcap", None,
     {"10.99.0.2": HELPDESK, "198.51.100.1": SUPPORT_USER}, 300),
    ("rdp in from VPS", "recorded/rdp-xfreerdp.pcap", None,
     {"10.99.0.2": CTRL_RDP, "198.51.100.1": FARM}, 60),
    ("openvpn out", "recorded/openvpn-udp-tlscrypt.pcap", None,
     {"10.99.0.2": FARM, "10.99.0.1": VPN_EXIT}, 150),
    ("dns B", "recorded/control-dns.pcap", None,
     {"10.99.0.2": WEB_B, "10.99.0.1": RESOLVER}, 200),
    ("web B", "recorded/control-web.pcap", None,
     {"10.99.0.2": WEB_B, "10.99.0.1": WEB_SERVER}, 210),
    ("vnc in from VPS", "recorded/vnc-tigervnc.pcap", None,
     {"10.99.0.2": CTRL_VNC, "198.51.100.1": FARM}, 600),
    ("ssh in", "recorded/ssh-interactive.pcap", None,
     {"10.99.0.2": CTRL_SSH, "198.51.100.1": FARM}, 1200),
    ("rdp in, sibling A", "recorded/rdp-xfreerdp.pcap", None,
     {"10.99.0.2": CTRL_SIB_A, "198.51.100.1": SIBLING_A}, 1500),
    ("vnc in, sibling B", "recorded/vnc-tigervnc.pcap", None,
     {"10.99.0.2": CTRL_SIB_B, "198.51.100.1": SIBLING_B}, 1560),
    ("web C", "recorded/control-web.pcap", None,
     {"10.99.0.2": WEB_C, "10.99.0.1": WEB_SERVER}, 1300),
    ("dns C", "recorded/control-dns.pcap", None,
     {"10.99.0.2": WEB_C, "10.99.0.1": RESOLVER}, 1310),
]


# --- reading ---------------------------------------------------------------

def read_pcap(raw: bytes):
    """Classic pcap: yields (ts_us, linktype, frame, original length)."""
    magic = raw[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(e + "I", raw[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(raw):
        s, frac, incl, orig = struct.unpack(e + "IIII", raw[off:off + 16])
        frame = raw[off + 16:off + 16 + incl]
        off += 16 + incl
        yield s * 1_000_000 + (frac // 1000 if nano else frac), link, frame, orig


def read_pcapng(raw: bytes):
    """pcapng: yields (ts_us, linktype, frame, original length) for EPBs."""
    off = 0
    e = "<"
    ifaces = []  # (linktype, units per second)
    while off + 12 <= len(raw):
        btype = struct.unpack(e + "I", raw[off:off + 4])[0]
        if btype == 0x0A0D0D0A:  # Section Header Block: byte order
            bom = raw[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack(e + "I", raw[off + 4:off + 8])[0]
        body = raw[off + 8:off + blen - 4]
        if btype == 0x00000001:  # Interface Description Block
            link = struct.unpack(e + "H", body[0:2])[0]
            res = 1_000_000
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(e + "HH", body[o:o + 4])
                if code == 0:
                    break
                if code == 9:  # if_tsresol
                    v = body[o + 4]
                    res = 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
                o += 4 + (olen + 3) // 4 * 4
            ifaces.append((link, res))
        elif btype == 0x00000006:  # Enhanced Packet Block
            iface, hi, lo, cap, orig = struct.unpack(e + "IIIII", body[:20])
            link, res = ifaces[iface]
            ts = (hi << 32) | lo
            yield ts * 1_000_000 // res, link, body[20:20 + cap], orig
        elif btype == 0x00000003:  # Simple Packet Block: no timestamp
            raise ValueError("Simple Packet Block without timestamp")
        off += blen


def read_any(path: Path):
    raw = path.read_bytes()
    if raw[:4] == b"\x0a\x0d\x0d\x0a":
        return list(read_pcapng(raw))
    return list(read_pcap(raw))


# --- rewriting -------------------------------------------------------------

def csum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def fold(x: int) -> int:
    while x >> 16:
        x = (x & 0xFFFF) + (x >> 16)
    return x


def update(check: int, old: bytes, new: bytes) -> int:
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')."""
    s = ~check & 0xFFFF
    for i in range(0, len(old), 2):
        m = struct.unpack("!H", old[i:i + 2])[0]
        m2 = struct.unpack("!H", new[i:i + 2])[0]
        s = fold(s + (~m & 0xFFFF) + m2)
    return ~s & 0xFFFF


def ip(s: str) -> bytes:
    return bytes(int(x) for x in s.split("."))


def ip_str(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def ip_offset(frame: bytes):
    """Offset of the IPv4 header in an Ethernet frame (802.1Q tags skipped),
    or None."""
    off = 12
    etype = struct.unpack("!H", frame[off:off + 2])[0]
    while etype in (0x8100, 0x88A8):
        off += 4
        etype = struct.unpack("!H", frame[off:off + 2])[0]
    return off + 2 if etype == 0x0800 else None


def endpoints(frame: bytes):
    """{(ip, port), (ip, port)} of a TCP/UDP IPv4 frame, or None."""
    o = ip_offset(frame)
    if o is None:
        return None
    ihl = (frame[o] & 0x0F) * 4
    proto = frame[o + 9]
    if proto not in (6, 17):
        return None
    src, dst = ip_str(frame[o + 12:o + 16]), ip_str(frame[o + 16:o + 20])
    sp, dp = struct.unpack("!HH", frame[o + ihl:o + ihl + 4])
    return {(src, sp), (dst, dp)}


def rewrite_ip(f: bytearray, o: int, mapping: dict, what: str) -> tuple:
    """Rewrites the addresses of the IPv4 header at `o` in place; returns
    (old src+dst, new src+dst)."""
    old = bytes(f[o + 12:o + 20])
    new = b""
    for a in (old[:4], old[4:]):
        s = ip_str(a)
        if s not in mapping:
            raise ValueError(f"{what}: address {s} has no mapping")
        new += ip(mapping[s])
    f[o + 12:o + 20] = new
    ihl = (f[o] & 0x0F) * 4
    f[o + 10:o + 12] = b"\0\0"
    f[o + 10:o + 12] = struct.pack("!H", csum16(bytes(f[o:o + ihl])))
    return old, new


def rewrite(frame: bytes, mapping: dict, what: str) -> bytes:
    f = bytearray(frame)
    o = ip_offset(f)
    if o is None:
        raise ValueError(f"{what}: not an IPv4 Ethernet frame")
    frag = struct.unpack("!H", f[o + 6:o + 8])[0] & 0x1FFF
    old, new = rewrite_ip(f, o, mapping, what)
    ihl = (f[o] & 0x0F) * 4
    proto = f[o + 9]
    l4 = o + ihl
    if frag:
        return bytes(f)  # a later fragment has no transport header
    if proto == 6:
        c = struct.unpack("!H", f[l4 + 16:l4 + 18])[0]
        f[l4 + 16:l4 + 18] = struct.pack("!H", update(c, old, new))
    elif proto == 17:
        c = struct.unpack("!H", f[l4 + 6:l4 + 8])[0]
        if c != 0:
            c2 = update(c, old, new)
            f[l4 + 6:l4 + 8] = struct.pack("!H", c2 or 0xFFFF)
    elif proto == 1 and f[l4] in (3, 4, 5, 11, 12) and len(f) >= l4 + 8 + 20:
        # ICMP error quoting a header: rewrite the quoted addresses too.
        q = l4 + 8
        before = bytes(f[q:q + 20])
        rewrite_ip(f, q, mapping, what)
        after = bytes(f[q:q + 20])
        c = struct.unpack("!H", f[l4 + 2:l4 + 4])[0]
        f[l4 + 2:l4 + 4] = struct.pack("!H", update(c, before, after))
    return bytes(f)


# --- assembling ------------------------------------------------------------

def main(out: Path) -> None:
    packets = []  # (ts_us, part index, packet index, frame, original length)
    for n, (name, src, keep, mapping, offset_s) in enumerate(PARTS):
        frames = read_any(HERE / src)
        if keep is not None:
            frames = [p for p in frames if endpoints(p[2]) == keep]
        if not frames:
            raise ValueError(f"{name}: no packets selected from {src}")
        first = frames[0][0]
        shift = BASE_US + offset_s * 1_000_000 - first
        for i, (ts, link, frame, orig) in enumerate(frames):
            if link != 1:
                raise ValueError(f"{name}: link type {link}, expected Ethernet")
            packets.append((ts + shift, n, i, rewrite(frame, mapping, name), orig))
    packets.sort(key=lambda p: (p[0], p[1], p[2]))
    result = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for ts, _n, _i, frame, orig in packets:
        result += struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), orig)
        result += frame
    out.write_bytes(bytes(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "demo-laptop-farm.pcap")
