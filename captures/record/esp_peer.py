#!/usr/bin/python3
# ESP/AH peer for record.sh (scapy's RFC 4303 / RFC 4302 implementation;
# this VM's kernel has xfrm but neither esp4 nor ah4). One JSON file holds
# the security associations; `server` answers pings and UDP echoes,
# `client` sends them, switching to the second SA pair halfway when the
# file has two (a rekey: new SPIs, sequence numbers from 1 again).
import json, os, socket, sys, time
from scapy.all import IP, ICMP, UDP, Raw, send, conf
from scapy.layers.ipsec import SecurityAssociation, ESP, AH

conf.verb = 0


def make(cfg):
    if cfg["proto"] == "ah":
        return lambda spi, key, th: SecurityAssociation(
            AH, spi=spi, auth_algo="SHA2-256-128", auth_key=bytes.fromhex(key), tunnel_header=th)
    return lambda spi, key, th: SecurityAssociation(
        ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=bytes.fromhex(key), tunnel_header=th)


def main():
    role, path = sys.argv[1], sys.argv[2]
    cfg = json.load(open(path))
    new = make(cfg)
    me, peer = (cfg["srv"], cfg["cli"]) if role == "server" else (cfg["cli"], cfg["srv"])
    th = IP(src=me, dst=peer) if cfg["mode"] == "tunnel" else None
    pairs = []
    for sa in cfg["sas"]:
        # c2s: client -> server SPI/key, s2c: the other way.
        o, i = (sa["s2c"], sa["c2s"]) if role == "server" else (sa["c2s"], sa["s2c"])
        pairs.append((new(o["spi"], o["key"], th), new(i["spi"], i["key"], None if th is None else IP(src=peer, dst=me)), i["spi"]))
    proto = 51 if cfg["proto"] == "ah" else 50
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    rx.settimeout(2.0)
    inner_me, inner_peer = (cfg["inner_srv"], cfg["inner_cli"]) if role == "server" else (cfg["inner_cli"], cfg["inner_srv"])
    if role == "server":
        open(cfg["ready"], "w").write("ready\n")
        end = time.time() + 60
        while time.time() < end:
            try:
                data = rx.recv(65535)
            except socket.timeout:
                continue
            pkt = IP(data)
            spi = int.from_bytes(bytes(pkt.payload)[4:8] if proto == 51 else bytes(pkt.payload)[0:4], "big")
            for out, inn, ispi in pairs:
                if ispi == spi:
                    break
            else:
                print("unknown SPI %08x" % spi, flush=True)
                continue
            try:
                # Re-dissect: scapy leaves an AH-verified payload as Raw.
                plain = IP(bytes(inn.decrypt(pkt)))
            except Exception as e:
                print("undecryptable packet (SPI %08x): %r" % (spi, e), flush=True)
                continue
            if plain.haslayer(ICMP) and plain[ICMP].type == 8:
                ans = IP(src=inner_me, dst=inner_peer) / ICMP(type=0, id=plain[ICMP].id, seq=plain[ICMP].seq) / Raw(bytes(plain[ICMP].payload))
            elif plain.haslayer(UDP):
                if plain[UDP].dport == 9 and bytes(plain[UDP].payload) == b"bye":
                    break
                ans = IP(src=inner_me, dst=inner_peer) / UDP(sport=plain[UDP].dport, dport=plain[UDP].sport) / Raw(bytes(plain[UDP].payload) * 4)
            else:
                continue
            send(out.encrypt(ans))
        return
    n = int(cfg["packets"])
    got = 0
    for k in range(n):
        out, inn, _ = pairs[0] if len(pairs) == 1 or k < n // 2 else pairs[1]
        if k % 3 == 2:
            p = IP(src=inner_me, dst=inner_peer) / UDP(sport=40000 + k % 2, dport=7) / Raw(os.urandom(200 + 37 * k % 400))
        else:
            p = IP(src=inner_me, dst=inner_peer) / ICMP(type=8, id=0x4711, seq=k) / Raw(os.urandom(56))
        send(out.encrypt(p))
        try:
            rx.recv(65535)
            got += 1
        except socket.timeout:
            pass
        time.sleep(float(cfg["gap"]))
    out, _, _ = pairs[-1]
    send(out.encrypt(IP(src=inner_me, dst=inner_peer) / UDP(sport=40009, dport=9) / Raw(b"bye")))
    print("answers %d/%d" % (got, n))
    if got < n // 2:
        sys.exit(1)


main()
