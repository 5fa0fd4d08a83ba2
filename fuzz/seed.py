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

Dissector targets (record format of src/lib.rs: [ctl][len u16 LE][bytes],
ctl bit 0 = direction). Frames are decoded down to TCP/UDP, through
VLAN, IP-in-IP, GRE, VXLAN, Geneve, GTP-U and Teredo; TCP flows are put in
order per direction (retransmissions dropped), the client being the SYN
sender (else the first sender); protocols are told by content:

* tls_stream:  TLS flows (also the TLS inside SOCKS / CONNECT tunnels) as
               stream records (mode 0); DTLS flows as datagrams (mode 1);
               the handshake messages of each direction, record layer
               removed, as QUIC CRYPTO runs (mode 2).
* tls_parser:  each direction's first records (selector 0), DTLS datagrams
               (1), ClientHello (2, 3) and ServerHello (4) bodies,
               Certificate bodies (5), certificates (6), handshake runs (7).
* quic:        QUIC flows as datagram records (mode 0) and datagram by
               datagram (mode 1). When the `cryptography` module is present
               their Initials are decrypted (RFC 9001 keys) to give
               plaintext records for the sealed (2) and frames (3) modes;
               TLS hellos wrapped in CRYPTO frames are added either way.
* dns:         UDP flows on 53/5353/5355 (mode 0) and TCP ones on 53 (mode 1).
* ssh, http, socks: their flows as stream records.

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


# ---------------------------------------------------------------------------
# Dissector targets.

DISSECTOR_TARGETS = ["tls_stream", "tls_parser", "quic", "dns", "ssh", "http", "socks"]
MAX_RECORD = 0xFFFF
MAX_FLOW_BYTES = 48 * 1024     # per direction, in a stream seed
MAX_FLOW_RECORDS = 200         # the targets read at most 256
MAX_DATAGRAMS = 40             # per UDP flow seed (QuicState stops at 40)
MAX_PER_FILE = 40              # seeds of one kind per capture file
DNS_PORTS = (53, 5353, 5355)
HTTP_METHODS = (b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS",
                b"TRACE", b"PATCH", b"PROPFIND", b"M-SEARCH", b"NOTIFY", b"SUBSCRIBE")


def record(ctl, data):
    data = data[:MAX_RECORD]
    return bytes([ctl]) + struct.pack("<H", len(data)) + data


def records(recs):
    """[(dir 0/1, bytes)] -> the record format of src/lib.rs (ctl = dir)."""
    return b"".join(record(d, b) for d, b in recs[:MAX_FLOW_RECORDS])


def l4_of_ip(ip, depth=0):
    """Yields (proto, src, sport, dst, dport, payload, tcp_flags, seq) for the
    TCP/UDP packet in an IP datagram, following tunnels."""
    if depth > 4 or len(ip) < 20:
        return
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack_from(">H", ip, 2)[0]
        frag = struct.unpack_from(">H", ip, 6)[0]
        if frag & 0x3FFF:  # a fragment: skip
            return
        proto, src, dst = ip[9], ip[12:16], ip[16:20]
        body = ip[ihl:total] if total >= ihl else ip[ihl:]
    elif v == 6 and len(ip) >= 40:
        proto, src, dst = ip[6], ip[8:24], ip[24:40]
        plen = struct.unpack_from(">H", ip, 4)[0]
        body = ip[40 : 40 + plen] if plen else ip[40:]
        while proto in (0, 43, 60, 51, 44) and len(body) >= 8:
            if proto == 44:
                if struct.unpack_from(">H", body, 2)[0] & 0xFFF9:
                    return
                proto, body = body[0], body[8:]
            elif proto == 51:
                proto, body = body[0], body[(body[1] + 2) * 4 :]
            else:
                proto, body = body[0], body[(body[1] + 1) * 8 :]
    else:
        return
    if proto in (4, 41):
        yield from l4_of_ip(body, depth + 1)
    elif proto == 47 and len(body) >= 4:
        flags, ptype = struct.unpack_from(">HH", body, 0)
        off = 4
        if flags & 7 == 1:  # PPTP enhanced GRE: key always, seq, ack
            off += 4 + (4 if flags & 0x1000 else 0) + (4 if flags & 0x0080 else 0)
        else:
            off += (4 if flags & 0x8000 else 0) + (4 if flags & 0x2000 else 0) + (4 if flags & 0x1000 else 0)
        inner = body[off:]
        if ptype in (0x0800, 0x86DD):
            yield from l4_of_ip(inner, depth + 1)
        elif ptype == 0x6558:
            ip2 = ip_of(1, inner)
            if ip2:
                yield from l4_of_ip(ip2, depth + 1)
        elif ptype == 0x880B and len(inner) >= 2:
            if inner[:2] == b"\xff\x03":
                inner = inner[2:]
            if inner[:2] == b"\x00\x21":
                yield from l4_of_ip(inner[2:], depth + 1)
            elif inner[:1] == b"\x21":
                yield from l4_of_ip(inner[1:], depth + 1)
    elif proto == 6 and len(body) >= 20:
        sport, dport, seq = struct.unpack_from(">HHI", body, 0)
        off = (body[12] >> 4) * 4
        yield 6, src, sport, dst, dport, body[off:], body[13], seq
    elif proto == 17 and len(body) >= 8:
        sport, dport, ulen = struct.unpack_from(">HHH", body, 0)
        payload = body[8:ulen] if ulen >= 8 else body[8:]
        yield 17, src, sport, dst, dport, payload, 0, 0
        for port in (sport, dport):
            if port == 4789 and len(payload) >= 8:
                ip2 = ip_of(1, payload[8:])
                if ip2:
                    yield from l4_of_ip(ip2, depth + 1)
            elif port == 6081 and len(payload) >= 8:
                off = 8 + (payload[0] & 0x3F) * 4
                pt = struct.unpack_from(">H", payload, 2)[0]
                ip2 = ip_of(1, payload[off:]) if pt == 0x6558 else payload[off:]
                if ip2:
                    yield from l4_of_ip(ip2, depth + 1)
            elif port == 2152 and len(payload) >= 8 and payload[1] == 0xFF:
                off = 12 if payload[0] & 7 else 8
                yield from l4_of_ip(payload[off:], depth + 1)
            elif port == 3544:
                p = payload
                while len(p) >= 2 and p[0] == 0 and p[1] in (0, 1):
                    if p[1] == 0:
                        p = p[8:]
                    else:
                        p = p[4 + p[2] + p[3] + 9 :]
                if p[:1] and p[0] >> 4 == 6:
                    yield from l4_of_ip(p, depth + 1)
            else:
                continue
            break


class Flow:
    def __init__(self, proto, client, ports):
        self.proto = proto
        self.ports = ports            # both ports
        self.client = client          # (addr, port) of the client
        self.syn_seen = False
        self.recs = []                # [(dir, bytes)] in capture order
        self.next_seq = [None, None]
        self.nbytes = [0, 0]

    def add(self, d, payload, flags, seq):
        if self.proto == 6:
            if flags & 0x02:  # SYN: data starts at seq + 1
                self.next_seq[d] = (seq + 1) & 0xFFFFFFFF
            if not payload:
                return
            exp = self.next_seq[d]
            if exp is not None:
                delta = (seq - exp) & 0xFFFFFFFF
                if delta >= 0x80000000:  # (partly) old data: keep the new tail
                    back = 0x100000000 - delta
                    if back >= len(payload):
                        return
                    payload, seq = payload[back:], exp
            self.next_seq[d] = (seq + len(payload)) & 0xFFFFFFFF
            if self.nbytes[d] >= MAX_FLOW_BYTES:
                return
            payload = payload[: MAX_FLOW_BYTES - self.nbytes[d]]
            self.nbytes[d] += len(payload)
            if self.recs and self.recs[-1][0] == d and len(self.recs[-1][1]) + len(payload) <= 16384:
                self.recs[-1] = (d, self.recs[-1][1] + payload)
                return
        elif not payload or len(self.recs) >= 4 * MAX_DATAGRAMS:
            return
        self.recs.append((d, payload))

    def stream(self, d):
        return b"".join(b for x, b in self.recs if x == d)


def flows_of(blob):
    """Flows of a capture, in order of first packet."""
    flows = {}
    for i, (link, _ts, f) in enumerate(frames(blob)):
        if i >= 4000:
            break
        ip = ip_of(link, f)
        if not ip:
            continue
        for proto, src, sport, dst, dport, payload, flags, seq in l4_of_ip(ip):
            a, b = (src, sport), (dst, dport)
            key = (proto,) + tuple(sorted((a, b)))
            fl = flows.get(key)
            if fl is None:
                client = a
                if proto == 6 and flags & 0x12 == 0x12:  # SYN/ACK first: receiver is the client
                    client = b
                fl = flows[key] = Flow(proto, client, (sport, dport))
            if proto == 6 and flags & 0x12 == 0x02 and not fl.syn_seen and not fl.recs:
                fl.client, fl.syn_seen = a, True
            fl.add(0 if a == fl.client else 1, payload, flags, seq)
    return list(flows.values())


def is_tls(b):
    return len(b) >= 3 and b[0] in (0x16, 0x15, 0x17) and b[1] == 3 and b[2] <= 4


def tls_records(stream):
    """Yields (content type, fragment) of the whole records at the front."""
    off = 0
    while off + 5 <= len(stream) and is_tls(stream[off:]):
        n = struct.unpack_from(">H", stream, off + 3)[0]
        if off + 5 + n > len(stream):
            return
        yield stream[off], stream[off + 5 : off + 5 + n]
        off += 5 + n


def handshake_bytes(stream):
    """The cleartext handshake layer: handshake records until the first
    ChangeCipherSpec / application data."""
    out = b""
    for ct, frag in tls_records(stream):
        if ct != 22:
            break
        out += frag
    return out


def handshake_messages(hs):
    off = 0
    while off + 4 <= len(hs):
        n = int.from_bytes(hs[off + 1 : off + 4], "big")
        if off + 4 + n > len(hs):
            return
        yield hs[off], hs[off + 4 : off + 4 + n]
        off += 4 + n


def varint(v):
    if v < 0x40:
        return bytes([v])
    if v < 0x4000:
        return struct.pack(">H", 0x4000 | v)
    return struct.pack(">I", 0x80000000 | v)


def crypto_frames(msg, pieces=1):
    """A handshake message as CRYPTO frames (last piece first when split)."""
    step = max(1, -(-len(msg) // pieces))
    frames_ = [b"\x06" + varint(o) + varint(len(msg[o : o + step])) + msg[o : o + step]
               for o in range(0, len(msg), step)]
    return b"".join(reversed(frames_)) if pieces > 1 else b"".join(frames_)


class Seeder:
    def __init__(self, added):
        self.added = added
        self.count = {}

    def put(self, target, data, kind="", limit=MAX_PER_FILE):
        key = (target, kind)
        if self.count.get(key, 0) >= limit or not data:
            return
        self.count[key] = self.count.get(key, 0) + 1
        self.added[target] += put(target, data)

    def tls(self, client, server):
        """Seeds from one TLS conversation (the two directions' streams)."""
        self.put("tls_parser", b"\x00" + client[:16384], "rec")
        self.put("tls_parser", b"\x00" + server[:16384], "rec")
        quic_recs = []
        for d, stream in ((0, client), (1, server)):
            hs = handshake_bytes(stream)
            if not hs:
                continue
            quic_recs.append((d, hs))
            self.put("tls_parser", b"\x07" + hs, "hs")
            for t, body in handshake_messages(hs):
                if t == 1:
                    self.put("tls_parser", b"\x02" + body, "ch")
                    self.put("quic", b"\x03" + record(0, crypto_frames(hs[:4] + body, 3)), "frames")
                    self.quic_sealed([(0, crypto_frames(hs[:4] + body))], b"fuzzdcid")
                elif t == 2:
                    self.put("tls_parser", b"\x04" + body, "sh")
                elif t == 11:
                    self.put("tls_parser", b"\x05" + body, "cert")
                    off = 3
                    while off + 3 <= len(body):
                        n = int.from_bytes(body[off : off + 3], "big")
                        self.put("tls_parser", b"\x06" + body[off + 3 : off + 3 + n], "der")
                        off += 3 + n
        if quic_recs:
            self.put("tls_stream", b"\x02" + records(quic_recs), "quic-hs")
            # Both hellos as one CRYPTO frame per direction (ClientHello first).
            self.quic_sealed([(d, crypto_frames(hs)) for d, hs in quic_recs],
                             b"\x83\x94\xc8\xf0\x3e\x51\x57\x08")

    def quic_sealed(self, recs, dcid, version_pick=0):
        """Plaintext records for quic's sealed (2) and frames (3) modes."""
        body = bytes([version_pick, len(dcid)]) + dcid + records(recs)
        self.put("quic", b"\x02" + body, "sealed")
        self.put("quic", b"\x03" + records(recs), "frames")

    def flow(self, fl):
        if fl.proto == 6:
            self.tcp_flow(fl)
        else:
            self.udp_flow(fl)

    def tcp_flow(self, fl):
        recs = fl.recs
        if not recs:
            return
        c, s = fl.stream(0), fl.stream(1)
        as_records = records(recs)
        if is_tls(c) or is_tls(s):
            self.put("tls_stream", b"\x00" + as_records, "tls")
            self.tls(c, s)
        elif c.startswith(b"SSH-") or s.startswith(b"SSH-") or b"\nSSH-" in s[:2048]:
            self.put("ssh", as_records, "ssh")
        elif c.split(b" ", 1)[0] in HTTP_METHODS or s.startswith(b"HTTP/"):
            self.put("http", as_records, "http")
        elif (c[:1] == b"\x05" and c[1:2] in (b"\x01", b"\x02", b"\x03")) or \
                (c[:1] == b"\x04" and c[1:2] in (b"\x01", b"\x02")):
            self.put("socks", as_records, "socks")
        # A tunnel (CONNECT, SOCKS): TLS from the first segment that starts a record.
        for i, (d, b) in enumerate(recs):
            if i > 0 and d == 0 and is_tls(b) and not is_tls(c):
                rest = recs[i:]
                self.put("tls_stream", b"\x00" + records(rest), "tunnel")
                self.tls(b"".join(x for y, x in rest if y == 0), b"".join(x for y, x in rest if y == 1))
                break

    def udp_flow(self, fl):
        recs = fl.recs[:MAX_DATAGRAMS]
        if not recs:
            return
        first = recs[0][1]
        if first[:1] == b"\x16" and first[1:2] == b"\xfe":
            self.put("tls_stream", b"\x01" + records(recs), "dtls")
            for d, dg in recs[:8]:
                self.put("tls_parser", b"\x01" + dg, "dtls")
        if first[:1] and first[0] & 0x80 and len(first) >= 7:
            self.put("quic", b"\x00" + records(recs), "quic")
            for d, dg in recs[:6]:
                self.put("quic", b"\x01" + record(d, dg), "quic-dg")
            plain = quic_plaintexts(recs)
            if plain:
                version, dcid, precs = plain
                pick = {1: 0, 0x6B3343CF: 1, 0xFF00001D: 2, 0xFF00001B: 3}.get(version)
                if pick is not None:
                    self.quic_sealed(precs, dcid, pick)


def dns_flow(seeder, fl):
    if fl.proto == 17:
        seeder.put("dns", b"\x00" + records(fl.recs[:16]), "udp")
    elif fl.recs:
        seeder.put("dns", b"\x01" + records(fl.recs), "tcp")


# QUIC Initial decryption (RFC 9001 section 5, RFC 9369 section 3.3) for
# plaintext seeds; needs the `cryptography` module for AES.
QUIC_SALTS = {
    "v1": bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    "v2": bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
    "d29": bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"),
    "d27": bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502"),
}


def quic_family(v):
    if v == 1:
        return "v1"
    if v == 0x6B3343CF:
        return "v2"
    if 0xFF00001B <= v <= 0xFF00001C:
        return "d27"
    if 0xFF00001D <= v <= 0xFF000020:
        return "d29"
    return None


def hkdf_label(secret, label, n):
    import hmac
    full = b"tls13 " + label
    info = struct.pack(">HB", n, len(full)) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def quic_keys(fam, dcid, side):
    import hmac
    prk = hmac.new(QUIC_SALTS[fam], dcid, hashlib.sha256).digest()
    secret = hkdf_label(prk, side, 32)
    pre = b"quicv2 " if fam == "v2" else b"quic "
    return hkdf_label(secret, pre + b"key", 16), hkdf_label(secret, pre + b"iv", 12), hkdf_label(secret, pre + b"hp", 16)


def read_varint(b, off):
    n = 1 << (b[off] >> 6)
    v = b[off] & 0x3F
    for x in b[off + 1 : off + n]:
        v = (v << 8) | x
    return v, off + n


def quic_plaintexts(recs):
    """(version, original DCID, [(dir, plaintext, pn_len)]) of a QUIC flow's
    Initial packets, or None."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None
    keys, version, dcid0, out = None, None, None, []
    for d, dg in recs:
        off = 0
        while off + 7 <= len(dg) and dg[off] & 0x80:
            p = dg[off:]
            v = struct.unpack_from(">I", p, 1)[0]
            fam = quic_family(v)
            if fam is None:
                break
            dl = p[5]
            dcid = p[6 : 6 + dl]
            sl = p[6 + dl]
            o = 7 + dl + sl
            ptype = (p[0] >> 4) & 3
            initial = ptype == (1 if fam == "v2" else 0)
            if (ptype == (0 if fam == "v2" else 3)):
                break  # Retry
            if initial:
                tl, o = read_varint(p, o)
                o += tl
            ln, o = read_varint(p, o)
            pkt, pn_off = p[: o + ln], o
            off += o + ln
            if not initial:
                continue
            if keys is None:
                if d != 0:
                    continue
                version, dcid0 = v, bytes(dcid)
                keys = [quic_keys(fam, dcid0, b"client in"), quic_keys(fam, dcid0, b"server in")]
            key, iv, hp = keys[d]
            sample = pkt[pn_off + 4 : pn_off + 20]
            if len(sample) < 16:
                continue
            enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
            mask = enc.update(sample) + enc.finalize()
            first = pkt[0] ^ (mask[0] & 0x0F)
            pn_len = (first & 3) + 1
            hdr = bytearray(pkt[: pn_off + pn_len])
            hdr[0] = first
            pn = 0
            for i in range(pn_len):
                hdr[pn_off + i] ^= mask[1 + i]
                pn = (pn << 8) | hdr[pn_off + i]
            nonce = bytearray(iv)
            for i, b in enumerate(pn.to_bytes(8, "big")):
                nonce[4 + i] ^= b
            try:
                plain = AESGCM(key).decrypt(bytes(nonce), bytes(pkt[pn_off + pn_len :]), bytes(hdr))
            except Exception:
                continue
            # Trailing PADDING adds nothing but size.
            plain = plain.rstrip(b"\x00") or b"\x00"
            out.append((d | ((pn_len - 1) << 1), plain))
    if not out:
        return None
    return version, dcid0, out


def seed_dissectors(blob, added):
    seeder = Seeder(added)
    for fl in flows_of(blob):
        seeder.flow(fl)
        if any(p in DNS_PORTS for p in fl.ports):
            dns_flow(seeder, fl)


def main():
    dirs = sys.argv[1:] or [os.path.join(HERE, "..", "captures")]
    added = {"capture_file": 0, "decode_frame": 0, "tunnel_and_ip": 0, "decode_frames": 0}
    added.update({t: 0 for t in DISSECTOR_TARGETS})
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
            try:
                seed_dissectors(blob, added)
            except (struct.error, IndexError, ValueError):
                pass  # a truncated or odd file: keep what was written
    for t, n in added.items():
        print(f"{t}: {n} new inputs")


if __name__ == "__main__":
    main()
