#!/usr/bin/env python3
"""Builds the synthetic captures in this directory from the real ones beside it.

The corpus has no VXLAN or GTP-U capture, no fragmented datagram, and no
SLL2 or BSD-loopback pcapng, so this script makes them. Wherever it can, it
re-wraps the packets of a real capture (``http.pcapng``: one complete HTTP/1.1
connection, SYN to last ACK, 10 frames) instead of inventing traffic; the
fragmented datagrams are the one place where the payload is made up.

Output (written next to this script, overwriting):

  vxlan.pcap         pcap, nanosecond magic, little endian, Ethernet: every frame of
                     http.pcapng inside outer Ethernet/IPv4/UDP/VXLAN (RFC 7348),
                     both directions, each direction with its own outer source port.
  gtpu.pcap          pcap, microsecond magic, little endian, Ethernet: the IP packets of
                     http.pcapng inside outer Ethernet/IPv4/UDP/GTP-U G-PDUs
                     (3GPP TS 29.281), uplink and downlink with their own TEIDs and
                     source ports; downlink G-PDUs carry a sequence number (S flag).
  fragments.pcap     pcap, microsecond magic, little endian, Ethernet: three 3000-byte UDP
                     datagrams, each fragmented into three fragments and answered by one
                     unfragmented reply:
                       A 192.0.2.10:40000 -> 192.0.2.53:9000, IPv4 (RFC 791), fragments
                         sent out of order (2nd, 3rd, 1st);
                       B 192.0.2.10:40001 -> 192.0.2.53:9000, IPv4, same sizes, in order;
                       C [2001:db8::10]:40002 -> [2001:db8::53]:9000, IPv6 Fragment
                         headers (RFC 8200 section 4.5), sent last fragment first.
  sll2.pcapng        pcapng, little endian, one interface with LINKTYPE_LINUX_SLL2 (276)
                     and if_tsresol = 9 (nanoseconds): the IP packets of http.pcapng with
                     a Linux cooked v2 header, as captured on the client host.
  null.pcapng        pcapng, BIG endian, one interface with LINKTYPE_NULL (0): the IP
                     packets of http.pcapng with a 4-byte AF_INET family written by a
                     big-endian host.

The script is deterministic: no clock, no randomness; running it twice gives
byte-identical files (the tests rely on the committed copies, so Python is not
needed to run them). Python 3 standard library only.

Specifications followed:
  pcap:   pcap-savefile(5), https://www.tcpdump.org/manpages/pcap-savefile.5.html
          (magic 0xa1b2c3d4 for microseconds, 0xa1b23c4d for nanoseconds).
  pcapng: draft-ietf-opsawg-pcapng (Section Header Block 4.1, Interface Description
          Block 4.2 with option if_tsresol, Enhanced Packet Block 4.3).
  SLL2:   https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
  NULL:   https://www.tcpdump.org/linktypes.html (LINKTYPE_NULL: 4-byte address
          family in the capturing host's byte order).
  IPv4:   RFC 791 section 3.1 (header, flags DF/MF, fragment offset in 8-octet
          units) and 3.2 (fragmentation); header checksum per RFC 1071.
  IPv6:   RFC 8200 section 3 (header), 4.5 (Fragment header), 8.1 (upper-layer
          checksum with the pseudo-header is mandatory for UDP).
  UDP:    RFC 768.
  VXLAN:  RFC 7348 section 5 (outer UDP destination port 4789; source port from a
          hash of the inner headers, in 49152-65535; UDP checksum transmitted as
          zero; VXLAN header: flags with I = 1, 24-bit VNI).
  GTP-U:  3GPP TS 29.281 clause 5.1 (GTPv1-U header: version 1, PT = 1, E/S/PN
          flags, message type 255 = G-PDU, length of everything after the first
          8 octets, TEID; sequence number, N-PDU number and next extension header
          type present when any of E/S/PN is set) and clause 4.4.2.3 (G-PDUs go to
          UDP port 2152; the source port is allocated by the sender).

Usage: python3 captures/make-synthetic.py   (from anywhere)
"""

import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# Reading the real source capture (pcap or pcapng, by magic number)
# --------------------------------------------------------------------------


def read_capture(path):
    """Returns (linktype, [(timestamp_ns, frame_bytes), ...])."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        return _read_pcapng(data)
    for m, endian, units in (
        (b"\xd4\xc3\xb2\xa1", "<", 1_000_000),
        (b"\xa1\xb2\xc3\xd4", ">", 1_000_000),
        (b"\x4d\x3c\xb2\xa1", "<", 1_000_000_000),
        (b"\xa1\xb2\x3c\x4d", ">", 1_000_000_000),
    ):
        if magic == m:
            return _read_pcap(data, endian, units)
    sys.exit(f"{path}: not a pcap or pcapng file")


def _read_pcap(data, e, units):
    linktype = struct.unpack(e + "I", data[20:24])[0]
    pos, out = 24, []
    while pos + 16 <= len(data):
        sec, frac, caplen, _wire = struct.unpack(e + "IIII", data[pos : pos + 16])
        frame = data[pos + 16 : pos + 16 + caplen]
        out.append((sec * 1_000_000_000 + frac * (1_000_000_000 // units), frame))
        pos += 16 + caplen
    return linktype, out


def _read_pcapng(data):
    pos, e, out, ifaces = 0, "<", [], []
    while pos + 12 <= len(data):
        if data[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        btype, blen = struct.unpack(e + "II", data[pos : pos + 8])
        body = data[pos + 8 : pos + blen - 4]
        if btype == 1:  # IDB
            linktype = struct.unpack(e + "H", body[0:2])[0]
            resol = 1_000_000
            opts = body[8:]
            while len(opts) >= 4:
                code, olen = struct.unpack(e + "HH", opts[:4])
                if code == 0:
                    break
                if code == 9 and olen == 1:
                    r = opts[4]
                    resol = 10 ** (r & 0x7F) if r & 0x80 == 0 else 2 ** (r & 0x7F)
                opts = opts[4 + ((olen + 3) & ~3) :]
            ifaces.append((linktype, resol))
        elif btype == 6:  # EPB
            iface, hi, lo, caplen, _wire = struct.unpack(e + "IIIII", body[:20])
            _lt, resol = ifaces[iface]
            raw = (hi << 32) | lo
            ts_ns = (raw // resol) * 1_000_000_000 + (raw % resol) * 1_000_000_000 // resol
            out.append((ts_ns, body[20 : 20 + caplen]))
        pos += blen
    linktypes = {lt for lt, _ in ifaces}
    assert len(linktypes) == 1, "one link type expected"
    return linktypes.pop(), out


# --------------------------------------------------------------------------
# Writing pcap and pcapng
# --------------------------------------------------------------------------


def pcap_bytes(linktype, packets, nanoseconds=False, big_endian=False):
    """pcap-savefile(5): global header, then one record per packet."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
    for ts_ns, frame in packets:
        sec, rem = divmod(ts_ns, 1_000_000_000)
        frac = rem if nanoseconds else rem // 1000
        out += struct.pack(e + "IIII", sec, frac, len(frame), len(frame))
        out += frame
    return bytes(out)


def _pad4(b):
    return b + b"\0" * (-len(b) % 4)


def _block(e, btype, body):
    body = _pad4(body)
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def _option(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + _pad4(value)


def pcapng_bytes(linktype, packets, tsresol_exp=6, big_endian=False, comment=None):
    """One section, one interface, one Enhanced Packet Block per packet."""
    e = ">" if big_endian else "<"
    shb_opts = b""
    if comment:
        shb_opts += _option(e, 1, comment.encode())  # opt_comment
    if shb_opts:
        shb_opts += struct.pack(e + "HH", 0, 0)  # opt_endofopt
    shb = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts
    idb_opts = b""
    if tsresol_exp != 6:
        idb_opts += _option(e, 9, bytes([tsresol_exp]))  # if_tsresol
        idb_opts += struct.pack(e + "HH", 0, 0)
    idb = struct.pack(e + "HHI", linktype, 0, 262144) + idb_opts
    out = bytearray(_block(e, 0x0A0D0D0A, shb) + _block(e, 1, idb))
    units = 10**tsresol_exp
    for ts_ns, frame in packets:
        ts = ts_ns * units // 1_000_000_000
        epb = struct.pack(e + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
        out += _block(e, 6, epb + frame)
    return bytes(out)


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress

    return ipaddress.IPv6Address(s).packed


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def inet_checksum(data):
    """RFC 1071 ones'-complement sum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def ethernet(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ident, df=True, mf=False, frag_offset=0, ttl=64, total_payload=None):
    """RFC 791 3.1 header without options; `frag_offset` in bytes (multiple of 8)."""
    assert frag_offset % 8 == 0
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_offset // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags, ttl, proto, 0, src, dst)
    csum = inet_checksum(hdr)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + payload


def ipv6(src, dst, next_header, payload, hop_limit=64):
    """RFC 8200 section 3."""
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, hop_limit, src, dst) + payload


def udp(src_ip, dst_ip, sport, dport, payload, checksum=True):
    """RFC 768, with the IPv4 or IPv6 (RFC 8200 8.1) pseudo-header checksum."""
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    if not checksum:
        return hdr + payload
    if len(src_ip) == 4:
        pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, length)
    else:
        pseudo = src_ip + dst_ip + struct.pack("!IxxxB", length, 17)
    csum = inet_checksum(pseudo + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", csum) + payload


# --------------------------------------------------------------------------
# The real traffic that gets re-wrapped
# --------------------------------------------------------------------------


def http_frames():
    """http.pcapng's Ethernet frames, with which side sent each one."""
    linktype, frames = read_capture(os.path.join(HERE, "http.pcapng"))
    assert linktype == 1 and len(frames) == 10, "unexpected http.pcapng"
    client_ip = frames[0][1][26:30]  # the SYN's sender
    out = []
    for ts, frame in frames:
        assert frame[12:14] == b"\x08\x00" and frame[14] == 0x45, "plain IPv4 expected"
        out.append((ts, frame, frame[26:30] == client_ip))
    return out


def flow_hash_port(inner_frame):
    """RFC 7348 5: source port from a hash of inner headers (Ethernet addresses,
    IP addresses, transport ports), so each direction of an inner connection
    gets its own port, in the dynamic range 49152-65535."""
    fields = inner_frame[0:12] + inner_frame[26:34] + inner_frame[34:38]
    return 49152 + zlib.crc32(fields) % 16384


# --------------------------------------------------------------------------
# The captures
# --------------------------------------------------------------------------

VTEP_MAC = {True: mac("02:00:00:00:00:01"), False: mac("02:00:00:00:00:02")}


def make_vxlan():
    """RFC 7348 5: outer Ethernet / IPv4 / UDP (dst 4789, checksum zero) / VXLAN."""
    vtep = {True: ip4("192.0.2.1"), False: ip4("192.0.2.2")}  # client side, server side
    vni = 4242
    ident = {True: 0x100, False: 0x200}
    ports = set()
    packets = []
    for ts, inner, from_client in http_frames():
        sport = flow_hash_port(inner)
        ports.add((from_client, sport))
        vxlan_hdr = struct.pack("!B3sI", 0x08, b"\0\0\0", vni << 8)
        seg = udp(vtep[from_client], vtep[not from_client], sport, 4789, vxlan_hdr + inner, checksum=False)
        ident[from_client] += 1
        ip = ipv4(vtep[from_client], vtep[not from_client], 17, seg, ident[from_client])
        packets.append((ts, ethernet(VTEP_MAC[not from_client], VTEP_MAC[from_client], 0x0800, ip)))
    # One source port per direction, and the two differ: that is the point.
    assert len(ports) == 2 and len({p for _, p in ports}) == 2, ports
    return pcap_bytes(1, packets, nanoseconds=True)


def make_gtpu():
    """TS 29.281 5.1: G-PDU = 8-byte header (+4 optional bytes) + T-PDU (an IP packet)."""
    enb, upf = ip4("198.51.100.1"), ip4("198.51.100.2")  # uplink sender, downlink sender
    teid = {True: 0x00001001, False: 0x00002002}  # uplink / downlink tunnel endpoint ids
    sport = {True: 2152, False: 40500}  # the source port is the sender's choice (4.4.2.3)
    ident = {True: 0x300, False: 0x400}
    seq = 0
    packets = []
    for ts, frame, from_client in http_frames():
        tpdu = frame[14:]
        if from_client:
            gtp = struct.pack("!BBHI", 0x30, 0xFF, len(tpdu), teid[True]) + tpdu
        else:
            # S flag: sequence number (2), N-PDU number (1), next extension type (1 = none).
            seq += 1
            opt = struct.pack("!HBB", seq, 0, 0)
            gtp = struct.pack("!BBHI", 0x32, 0xFF, len(opt) + len(tpdu), teid[False]) + opt + tpdu
        src, dst = (enb, upf) if from_client else (upf, enb)
        seg = udp(src, dst, sport[from_client], 2152, gtp)
        ident[from_client] += 1
        ip = ipv4(src, dst, 17, seg, ident[from_client])
        packets.append((ts, ethernet(VTEP_MAC[not from_client], VTEP_MAC[from_client], 0x0800, ip)))
    return pcap_bytes(1, packets)


def datagram_payload(tag):
    """3000 deterministic payload bytes."""
    return bytes((tag + i * 7) & 0xFF for i in range(3000))


def make_fragments():
    base = 1_704_067_200 * 1_000_000_000  # 2024-01-01T00:00:00Z
    cmac, smac = mac("02:00:00:00:01:0a"), mac("02:00:00:00:01:35")
    packets = []
    t = [base]

    def emit(frame, gap_us=1000):
        packets.append((t[0], frame))
        t[0] += gap_us * 1000

    # IPv4 (RFC 791 3.2): the UDP datagram (header + payload = 3008 bytes) is cut
    # into fragment data of 1480, 1480 and 48 bytes (1500-byte MTU, 20-byte header).
    c4, s4 = ip4("192.0.2.10"), ip4("192.0.2.53")
    for sport, ident, order in ((40000, 0x1001, (1, 2, 0)), (40001, 0x1002, (0, 1, 2))):
        whole = udp(c4, s4, sport, 9000, datagram_payload(sport & 0xFF))
        pieces = [(0, whole[0:1480]), (1480, whole[1480:2960]), (2960, whole[2960:])]
        for i in order:
            off, data = pieces[i]
            more = i < 2
            ip = ipv4(c4, s4, 17, data, ident, df=False, mf=more, frag_offset=off)
            emit(ethernet(smac, cmac, 0x0800, ip))
        reply = udp(s4, c4, 9000, sport, b"ok %d" % sport + bytes(95))
        emit(ethernet(cmac, smac, 0x0800, ipv4(s4, c4, 17, reply, ident + 0x100)), gap_us=5000)

    # IPv6 (RFC 8200 4.5): the fragmentable part (UDP header + payload, 3008
    # bytes) is cut into 1448, 1448 and 112 bytes (1500 - 40 - 8 = 1452, rounded
    # down to a multiple of 8); each fragment gets a Fragment header (next header
    # 17, offset in 8-octet units, M flag, identification), sent last first.
    c6, s6 = ip6("2001:db8::10"), ip6("2001:db8::53")
    whole = udp(c6, s6, 40002, 9000, datagram_payload(0x42))
    pieces = [(0, whole[0:1448]), (1448, whole[1448:2896]), (2896, whole[2896:])]
    for i in (2, 1, 0):
        off, data = pieces[i]
        more = 1 if i < 2 else 0
        frag_hdr = struct.pack("!BBHI", 17, 0, (off // 8) << 3 | more, 0x00002001)
        emit(ethernet(smac, cmac, 0x86DD, ipv6(c6, s6, 44, frag_hdr + data)))
    reply = udp(s6, c6, 9000, 40002, b"ok 40002" + bytes(92))
    emit(ethernet(cmac, smac, 0x86DD, ipv6(s6, c6, 17, reply)))
    return pcap_bytes(1, packets)


def make_sll2():
    """LINKTYPE_LINUX_SLL2: protocol type (2), reserved (2), interface index (4),
    ARPHRD type (2), packet type (1), address length (1), address (8), all
    network byte order. Captured on the client: its packets are PACKET_OUTGOING
    (4), the server's PACKET_HOST (0)."""
    packets = []
    for ts, frame, from_client in http_frames():
        hdr = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 4 if from_client else 0, 6, frame[6:12] + b"\0\0")
        packets.append((ts, hdr + frame[14:]))
    return pcapng_bytes(276, packets, tsresol_exp=9, comment="gateward synthetic: http.pcapng as SLL2")


def make_null():
    """LINKTYPE_NULL: AF_INET (2) as a 4-byte integer in the writer's byte order
    (big endian here, like the section)."""
    packets = [(ts, struct.pack(">I", 2) + frame[14:]) for ts, frame, _ in http_frames()]
    return pcapng_bytes(0, packets, big_endian=True, comment="gateward synthetic: http.pcapng as BSD loopback")


def main():
    outputs = {
        "vxlan.pcap": make_vxlan(),
        "gtpu.pcap": make_gtpu(),
        "fragments.pcap": make_fragments(),
        "sll2.pcapng": make_sll2(),
        "null.pcapng": make_null(),
    }
    for name, data in outputs.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
