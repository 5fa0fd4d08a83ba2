#!/usr/bin/env python3
"""Seed the fuzz corpora (fuzz/corpus/<target>/) from real captures.

    python3 fuzz/seed.py                      # from captures/
    python3 fuzz/seed.py captures ../shared/corpus/ndpi/pcap

* capture_file:  every capture file up to 64 KiB, as it is.
* decode_frame:  one input per distinct frame, [link-type index] + frame
                 (index order as in fuzz_targets/decode_frame.rs).
* tunnel_and_ip: the IP datagram of each frame (link header stripped).
* decode_frames: the first frames of each capture as one input, in the
                 record format of fuzz_targets/decode_frames.rs.

Classic pcap (both byte orders) and pcapng (IDB, EPB, SPB) are read with the
standard library only. Files are named by content hash, so re-running adds
nothing twice. The corpora are git-ignored.
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# pcap link-type number -> index of LinkType in decode_frame.rs's LINKS.
LINKS = {0: 0, 1: 1, 12: 2, 14: 2, 101: 2, 108: 3, 113: 4, 228: 5, 229: 6, 276: 7}
MAX_FILE = 64 * 1024
MAX_FRAMES_PER_FILE = 200
STREAM_FRAMES = 64


def clock_step(last, ts):
    """decode_frames' 5-bit clock step closest to the gap last -> ts."""
    if last is None or ts <= last:
        return 0
    ms = (ts - last) // 1000
    return 0 if ms == 0 else min(31, ms.bit_length())


def frames(blob):
    """Yields (linktype, timestamp in µs, frame) for a classic pcap or pcapng
    file (pcapng timestamps are taken as µs whatever if_tsresol says)."""
    magic = blob[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        frac = 1 if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4") else 1000
        link = struct.unpack_from(e + "I", blob, 20)[0] & 0xFFFF
        off = 24
        while off + 16 <= len(blob):
            sec, sub, cap = struct.unpack_from(e + "III", blob, off)
            yield link, sec * 1_000_000 + sub // frac, blob[off + 16 : off + 16 + cap]
            off += 16 + cap
    elif magic == b"\x0a\x0d\x0d\x0a":
        e, links, off = "<", [], 0
        while off + 12 <= len(blob):
            btype = struct.unpack_from(e + "I", blob, off)[0]
            if btype == 0x0A0D0D0A:  # section header: byte order, interfaces reset
                e = "<" if blob[off + 8 : off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                links = []
            blen = struct.unpack_from(e + "I", blob, off + 4)[0]
            if blen < 12 or off + blen > len(blob):
                return
            body = blob[off + 8 : off + blen - 4]
            if btype == 1 and len(body) >= 2:
                links.append(struct.unpack_from(e + "H", body, 0)[0])
            elif btype == 6 and len(body) >= 20:
                iface, hi, lo, cap = struct.unpack_from(e + "IIII", body, 0)
                if iface < len(links):
                    yield links[iface], (hi << 32) | lo, body[20 : 20 + cap]
            elif btype == 2 and len(body) >= 20:  # obsolete packet block
                iface = struct.unpack_from(e + "H", body, 0)[0]
                hi, lo, cap = struct.unpack_from(e + "III", body, 4)
                if iface < len(links):
                    yield links[iface], (hi << 32) | lo, body[20 : 20 + cap]
            elif btype == 3 and len(body) >= 4 and links:
                yield links[0], 0, body[4:]
            off += blen


def ip_of(link, f):
    """The IP datagram in a frame, or None."""
    if link == 1:
        off, et = 12, None
        while off + 2 <= len(f):
            et = struct.unpack_from(">H", f, off)[0]
            if et in (0x8100, 0x88A8):
                off += 4
                continue
            break
        return f[off + 2 :] if et in (0x0800, 0x86DD) else None
    if link in (12, 14, 101, 228, 229):
        return f
    if link in (0, 108):
        return f[4:]
    if link == 113:
        return f[16:]
    if link == 276:
        return f[20:]
    return None


def put(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if os.path.exists(path):
        return 0
    with open(path, "wb") as out:
        out.write(data)
    return 1


def main():
    dirs = sys.argv[1:] or [os.path.join(HERE, "..", "captures")]
    added = {"capture_file": 0, "decode_frame": 0, "tunnel_and_ip": 0, "decode_frames": 0}
    for d in dirs:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                blob = fh.read()
            if blob[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4",
                                b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a"):
                continue
            if len(blob) <= MAX_FILE:
                added["capture_file"] += put("capture_file", blob)
            stream, last = bytearray(), None
            try:
                for i, (link, ts, f) in enumerate(frames(blob)):
                    if i >= MAX_FRAMES_PER_FILE:
                        break
                    if link in LINKS:
                        added["decode_frame"] += put("decode_frame", bytes([LINKS[link]]) + f)
                        ip = ip_of(link, f)
                        if ip:
                            added["tunnel_and_ip"] += put("tunnel_and_ip", ip)
                        if i < STREAM_FRAMES and len(f) <= 0xFFFF:
                            stream += bytes([LINKS[link] | clock_step(last, ts) << 3])
                            stream += struct.pack("<H", len(f)) + f
                            last = ts
            except struct.error:
                pass  # a truncated file: keep what was read
            if stream:
                added["decode_frames"] += put("decode_frames", bytes(stream))
    for t, n in added.items():
        print(f"{t}: {n} new inputs")


if __name__ == "__main__":
    main()
