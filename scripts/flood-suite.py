#!/usr/bin/env python3
"""Hostile-input floods for gateward's memory bounds (issue 15).

Generates each flood as a classic pcap (Ethernet, hand-built headers:
RFC 791 IPv4, RFC 793 TCP, RFC 768 UDP, RFC 1035 DNS, RFC 8446 TLS record
and handshake framing), runs `gateward analyze` on it under
`/usr/bin/time -v`, and checks: exit status 0, no panic, peak RSS under
the limit given, and the counter that shows the bound was hit.

    scripts/flood-suite.py --bin target/release/gateward            # all
    scripts/flood-suite.py --bin ... --only tls_certs --scale 0.2   # one, smaller
    scripts/flood-suite.py --bin ... --memcap 67108864 --max-rss-mb 300

Floods (at --scale 1):
  tls_certs   20,000 TLS flows, each a ClientHello, then a server
              Certificate message announced as 64 KiB of which 60 KiB
              arrive and the rest never does (1.3 GB of traffic).
  frag_flood  60,000 never-completed first fragments, then 10 legitimate
              fragmented UDP datagrams: all 10 must be reassembled.
  udp_flows   1,000,000 one-packet UDP flows (random ports).
  dns_names   500,000 DNS responses with random names and A records.
The captures go to --dir (default /tmp/gateward-floods) and are reused.
"""

import argparse
import os
import random
import re
import struct
import subprocess
import sys

ETH = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, frag=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, seq, ack, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.t = 1_700_000_000_000_000

    def write(self, frame, step_us=10):
        self.t += step_us
        self.f.write(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def addr(i, base=10):
    return bytes([base, (i >> 16) & 255, (i >> 8) & 255, i & 255])


SERVER = bytes([198, 51, 100, 7])


def client_hello():
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + b"\x00\x00"
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def gen_tls_certs(path, n):
    p = Pcap(path)
    ch = client_hello()
    sh_body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00" + b"\x00\x00"
    sh = b"\x02" + struct.pack("!I", len(sh_body))[1:] + sh_body
    cert_len = 64 * 1024
    cert_hdr = b"\x0b" + struct.pack("!I", cert_len)[1:]
    chunk = bytes(random.getrandbits(8) for _ in range(1400))
    for i in range(n):
        c, sp = addr(i), 1024 + i % 60000
        p.write(ETH + ipv4(c, SERVER, 6, tcp(sp, 443, 1, 0, 0x02)))
        p.write(ETH + ipv4(SERVER, c, 6, tcp(443, sp, 1, 2, 0x12)))
        p.write(ETH + ipv4(c, SERVER, 6, tcp(sp, 443, 2, 2, 0x10)))
        p.write(ETH + ipv4(c, SERVER, 6, tcp(sp, 443, 2, 2, 0x18, ch)))
        # ServerHello, then the Certificate message in 16 KiB records:
        # 60 KiB of the 64 KiB it announces, the rest never comes.
        hs = sh + cert_hdr + (chunk * 45)[: 60 * 1024]
        stream = b"".join(
            b"\x16\x03\x03" + struct.pack("!H", len(hs[o : o + 16384])) + hs[o : o + 16384]
            for o in range(0, len(hs), 16384)
        )
        seq = 2
        for o in range(0, len(stream), 1400):
            seg = stream[o : o + 1400]
            p.write(ETH + ipv4(SERVER, c, 6, tcp(443, sp, seq, 2 + len(ch), 0x18, seg)), 1)
            seq += len(seg)
    p.close()


def gen_frag_flood(path, n):
    p = Pcap(path)
    for i in range(n):
        data = udp(4000, 5000, bytes(1472))[:1480]
        p.write(ETH + ipv4(addr(i, 11), SERVER, 17, data, ident=i & 0xFFFF, frag=0x2000), 1)
    for k in range(10):
        payload = udp(6000 + k, 7000, bytes(range(256)) * 8)
        a, b = payload[:1000], payload[1000:]
        src = bytes([10, 200, 0, k + 1])
        p.write(ETH + ipv4(src, SERVER, 17, a, ident=40000 + k, frag=0x2000))
        p.write(ETH + ipv4(src, SERVER, 17, b, ident=40000 + k, frag=1000 // 8))
    p.close()


def gen_udp_flows(path, n):
    p = Pcap(path)
    for i in range(n):
        p.write(ETH + ipv4(addr(i, 12), SERVER, 17, udp(1024 + (i * 7) % 60000, 9000 + i % 1000, b"x" * 16)), 1)
    p.close()


def dns_name(rng):
    return b"".join(
        bytes([len(l)]) + l
        for l in [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40)),
                  bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(12)), b"com"]
    ) + b"\0"


def gen_dns_names(path, n):
    rng = random.Random(7)
    p = Pcap(path)
    resolver = bytes([10, 0, 0, 53])
    for i in range(n):
        q = dns_name(rng)
        msg = struct.pack("!HHHHHH", i & 0xFFFF, 0x8180, 1, 1, 0, 0) + q + b"\x00\x01\x00\x01"
        msg += b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", 3600, 4) + addr(i, 100)
        p.write(ETH + ipv4(resolver, addr(i, 13), 17, udp(53, 1024 + i % 60000, msg)), 1)
    p.close()


FLOODS = {
    "tls_certs": (gen_tls_certs, 20_000),
    "frag_flood": (gen_frag_flood, 60_000),
    "udp_flows": (gen_udp_flows, 1_000_000),
    "dns_names": (gen_dns_names, 500_000),
}


def run(bin_, pcap, extra):
    cmd = ["/usr/bin/time", "-v", bin_, "analyze", "-w", "1", *extra, pcap]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return r.returncode, rss, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/gateward")
    ap.add_argument("--dir", default="/tmp/gateward-floods")
    ap.add_argument("--only", action="append", choices=sorted(FLOODS))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--memcap", type=int, help="flow.buffer_memcap for the run (bytes)")
    ap.add_argument("--max-rss-mb", type=float, default=1024, help="fail above this peak RSS")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    extra = []
    if a.memcap:
        cfg = os.path.join(a.dir, f"memcap-{a.memcap}.toml")
        with open(cfg, "w") as f:
            f.write(f"[flow]\nbuffer_memcap = {a.memcap}\n")
        extra = ["-c", cfg]
    failed = 0
    for name in a.only or sorted(FLOODS):
        gen, n = FLOODS[name]
        n = max(1, int(n * a.scale))
        path = os.path.join(a.dir, f"{name}-{n}.pcap")
        if not os.path.exists(path):
            random.seed(1)
            gen(path + ".tmp", n)
            os.replace(path + ".tmp", path)
        rc, rss, err = run(a.bin, path, extra)
        summary = " ".join(l.split("gateward: ", 1)[1] for l in err.splitlines() if "buffer peak" in l or "decode errors" in l or "flows " in l[:20])
        ok = rc == 0 and "panicked" not in err and rss / 1024 <= a.max_rss_mb
        extra_ok = ""
        if name == "frag_flood":
            m = re.search(r"reassembled datagrams (\d+)", err)
            got = int(m.group(1)) if m else -1
            extra_ok = f" reassembled={got}"
            ok = ok and got >= 10
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:11} n={n:<8} exit={rc} peak_rss={rss / 1024:.0f} MiB{extra_ok} | {summary}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
