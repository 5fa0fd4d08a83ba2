#!/usr/bin/env python3
"""Writes a pcap in which N internal hosts (10.0.0.0/8) each resolve one
name over UDP DNS (query and answer), one host after another: every host
becomes state of the correlation stage, so its host limit and evictions can
be measured (bench/hosts.sh). Standard library only, deterministic."""
import struct, sys

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip4(a): return bytes(int(x) for x in a.split("."))

def udp_frame(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x01" + b"\x02\0\0\0\0\x02" + b"\x08\x00"
    return eth + ip + udp

def dns(qid, name, answer):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    if not answer:
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q
    a = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ip4("192.0.2.10")
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q + a

def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    t0 = 1_700_000_000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            host = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, (i & 255) or 1)
            name = "h%d.example.com" % i
            us = i * 20_000  # 20 ms apart: flows end (time out) along the way
            for k, frame in enumerate((
                udp_frame(host, "192.0.2.53", 40000 + i % 20000, 53, dns(i & 0xffff, name, False)),
                udp_frame("192.0.2.53", host, 53, 40000 + i % 20000, dns(i & 0xffff, name, True)),
            )):
                t = t0 * 1_000_000 + us + k * 200
                f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
                f.write(frame)

if __name__ == "__main__":
    main()
