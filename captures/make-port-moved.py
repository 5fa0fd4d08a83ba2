#!/usr/bin/env python3
"""Builds tls12-port8443.pcap: the real tls12.pcap with its server port moved.

tls12.pcap (FoxIO-LLC/ja4 test data) holds one frame: a TLS ClientHello from
192.168.133.129:36372 to 34.117.237.239:443. This script copies it and
changes TCP port 443 to 8443 wherever it appears (source or destination), so
the tests can check that TLS is recognised by content, not by port. Nothing
else changes: same pcap header, record header, timestamps and lengths.

TCP checksum: updated incrementally per RFC 1624 section 3 (eqn. 3,
HC' = ~(~HC + ~m + m')), with the ones'-complement arithmetic of RFC 1071.
The checksum stored upstream is already wrong (0x58ae where tshark computes
0xdf60: the capturing host offloaded checksums to the NIC), and the
incremental update keeps exactly that error; it neither fixes nor adds one.
gateward does not verify TCP checksums.

Formats: pcap-savefile(5) (little-endian, microsecond magic 0xa1b2c3d4),
Ethernet II (EtherType 0x0800), IPv4 (RFC 791: IHL in 32-bit words), TCP
(RFC 9293: ports at offsets 0 and 2, checksum at offset 16).

Deterministic, Python 3 standard library only; running it twice gives
byte-identical output. The output is committed, so the tests need no Python.

Usage: python3 captures/make-port-moved.py   (from anywhere)
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "tls12.pcap"
OUTPUT = "tls12-port8443.pcap"
OLD_PORT = 443
NEW_PORT = 8443


def ones_add(a, b):
    """16-bit ones'-complement addition (RFC 1071)."""
    s = a + b
    return (s & 0xFFFF) + (s >> 16)


def rfc1624_update(hc, old, new):
    """RFC 1624 eqn. 3: new checksum after one 16-bit word changes old -> new."""
    s = ones_add(~hc & 0xFFFF, ~old & 0xFFFF)
    s = ones_add(s, new)
    return ~s & 0xFFFF


def move_port(frame):
    """Returns the frame with TCP port OLD_PORT replaced, or unchanged."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return frame
    ip = 14
    ihl = (frame[ip] & 0x0F) * 4
    if frame[ip] >> 4 != 4 or frame[ip + 9] != 6:
        return frame
    tcp = ip + ihl
    out = bytearray(frame)
    csum = struct.unpack_from("!H", out, tcp + 16)[0]
    for off in (0, 2):
        port = struct.unpack_from("!H", out, tcp + off)[0]
        if port == OLD_PORT:
            struct.pack_into("!H", out, tcp + off, NEW_PORT)
            csum = rfc1624_update(csum, OLD_PORT, NEW_PORT)
    struct.pack_into("!H", out, tcp + 16, csum)
    return bytes(out)


def main():
    with open(os.path.join(HERE, SOURCE), "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    if magic != 0xA1B2C3D4:
        raise SystemExit(f"{SOURCE}: expected a little-endian microsecond pcap")
    linktype = struct.unpack_from("<I", data, 20)[0]
    if linktype != 1:
        raise SystemExit(f"{SOURCE}: expected LINKTYPE_ETHERNET, got {linktype}")
    out = bytearray(data[:24])
    pos = 24
    moved = 0
    while pos + 16 <= len(data):
        hdr = data[pos : pos + 16]
        caplen = struct.unpack_from("<I", hdr, 8)[0]
        frame = data[pos + 16 : pos + 16 + caplen]
        new = move_port(frame)
        moved += new != frame
        out += hdr + new
        pos += 16 + caplen
    if pos != len(data):
        raise SystemExit(f"{SOURCE}: trailing bytes")
    with open(os.path.join(HERE, OUTPUT), "wb") as f:
        f.write(out)
    print(f"{OUTPUT}: {moved} frame(s) moved from port {OLD_PORT} to {NEW_PORT}")


if __name__ == "__main__":
    main()
