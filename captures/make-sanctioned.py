#!/usr/bin/env python3
"""Build captures/sanctioned.pcap: the one real TLS flow of captures/tls12.pcap
(a ClientHello from 192.168.133.129 to 34.117.237.239:443, from FoxIO's JA4
test data) replayed five times with the server address rewritten to:

  175.45.176.1   the DPRK's own allocation 175.45.176.0/22 (APNIC, AS131279)
  2.144.0.1      an Iranian address (in the test databases: IR)
  46.172.192.9   a Crimean address (in the test databases: UA-43)
  8.8.8.8        a control: US, not sanctioned
  77.88.8.8      a control: RU (Moscow), not sanctioned

The client port is changed per copy so the five flows stay distinct. The IPv4
header checksum is recomputed (RFC 791 3.1); the TCP checksum is updated
incrementally for the new pseudo-header address and port (RFC 1624), so a
checksum that was right stays right. Python 3 standard library only;
deterministic.
"""
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVERS = ["175.45.176.1", "2.144.0.1", "46.172.192.9", "8.8.8.8", "77.88.8.8"]


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


def main(out: Path) -> None:
    raw = (HERE / "tls12.pcap").read_bytes()
    header, body = raw[:24], raw[24:]
    records = []
    off = 0
    while off + 16 <= len(body):
        ts_s, ts_u, incl, orig = struct.unpack("<IIII", body[off:off + 16])
        records.append((ts_s, ts_u, orig, bytearray(body[off + 16:off + 16 + incl])))
        off += 16 + incl
    result = bytearray(header)
    for n, server in enumerate(SERVERS):
        for ts_s, ts_u, orig, frame in records:
            f = bytearray(frame)
            ihl = (f[14] & 0x0F) * 4
            ip_hdr = 14
            old_dst = bytes(f[ip_hdr + 16:ip_hdr + 20])
            new_dst = ip(server)
            f[ip_hdr + 16:ip_hdr + 20] = new_dst
            f[ip_hdr + 10:ip_hdr + 12] = b"\0\0"
            f[ip_hdr + 10:ip_hdr + 12] = struct.pack("!H", csum16(bytes(f[ip_hdr:ip_hdr + ihl])))
            tcp = ip_hdr + ihl
            old_sport = bytes(f[tcp:tcp + 2])
            new_sport = struct.pack("!H", 40000 + n)
            f[tcp:tcp + 2] = new_sport
            check = struct.unpack("!H", f[tcp + 16:tcp + 18])[0]
            check = update(check, old_dst + old_sport, new_dst + new_sport)
            f[tcp + 16:tcp + 18] = struct.pack("!H", check)
            result += struct.pack("<IIII", ts_s + n, ts_u, len(f), orig)
            result += f
    out.write_bytes(bytes(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "sanctioned.pcap")
