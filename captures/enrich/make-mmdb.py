#!/usr/bin/env python3
"""Writes the tiny MaxMind DB (.mmdb) files the enrichment tests read.

Python 3 standard library only, deterministic (fixed build_epoch): running it
again rewrites byte-identical files. Usage, from the repository root:

    python3 captures/enrich/make-mmdb.py captures/enrich

The writer follows the public MaxMind DB format specification, version 2.0
(https://maxmind.github.io/MaxMind-DB/): a binary search tree over the
address bits, 16 zero bytes, a data section of typed values, then the
metadata marker b"\\xab\\xcd\\xefMaxMind.com" and the metadata map. IPv4
networks in an IPv6 tree live under ::/96, as in MaxMind's own files.

Two record layouts are written, because gateward reads both:

* GeoIP2 / GeoLite2 (MaxMind, also DB-IP's own .mmdb downloads):
  nested `country.iso_code`, `subdivisions[].iso_code` plus `names`, and
  `autonomous_system_number` / `autonomous_system_organization`.
* ip-location-db (sapics/ip-location-db, the DB-IP Lite packages on npm):
  flat `country_code`, `state1` (a region NAME, not a code), `state2`,
  `city`, ... and the same two ASN fields.

The networks and places are taken from what DB-IP Lite (June 2026 build)
says about real ranges, so the tiny files and the real database agree on the
test addresses; names, coordinates and organisations are abbreviated test
values, not copies of either database.
"""

import ipaddress
import os
import struct
import sys

BUILD_EPOCH = 1767225600  # 2026-01-01T00:00:00Z, fixed for reproducibility


class U16(int):
    pass


class U32(int):
    pass


class U64(int):
    pass


def _ctrl(type_, size):
    """Control byte, extended type byte and size bytes of one value."""
    if type_ <= 7:
        first, ext = type_ << 5, b""
    else:
        first, ext = 0, bytes([type_ - 7])
    if size < 29:
        first |= size
        extra = b""
    elif size < 29 + 256:
        first |= 29
        extra = bytes([size - 29])
    elif size < 285 + 65536:
        first |= 30
        extra = (size - 285).to_bytes(2, "big")
    else:
        first |= 31
        extra = (size - 65821).to_bytes(3, "big")
    return bytes([first]) + ext + extra


def _uint(type_, value, width):
    raw = value.to_bytes(width, "big").lstrip(b"\x00")
    return _ctrl(type_, len(raw)) + raw


def encode(value):
    """One value in the data-section encoding."""
    if isinstance(value, bool):
        return _ctrl(14, 1 if value else 0)
    if isinstance(value, U16):
        return _uint(5, value, 2)
    if isinstance(value, U64):
        return _uint(9, value, 8)
    if isinstance(value, int):  # U32 and plain ints
        return _uint(6, value, 4)
    if isinstance(value, float):
        return _ctrl(3, 8) + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _ctrl(2, len(raw)) + raw
    if isinstance(value, dict):
        out = _ctrl(7, len(value))
        for k in sorted(value):
            out += encode(k) + encode(value[k])
        return out
    if isinstance(value, list):
        out = _ctrl(11, len(value))
        for v in value:
            out += encode(v)
        return out
    raise TypeError(f"cannot encode {value!r}")


class Node:
    __slots__ = ("children",)

    def __init__(self, left=None, right=None):
        self.children = [left, right]


def write_mmdb(path, database_type, ip_version, record_size, records, description):
    """records: list of (network string, value dict)."""
    data = bytearray()
    offsets = {}

    def data_offset(value):
        enc = encode(value)
        if enc not in offsets:
            offsets[enc] = len(data)
            data.extend(enc)
        return ("data", offsets[enc])

    bits_total = 128 if ip_version == 6 else 32
    nets = []
    for net, value in records:
        n = ipaddress.ip_network(net)
        if n.version == 6 and ip_version == 4:
            raise ValueError(f"{net} in an IPv4-only database")
        if n.version == 4 and ip_version == 6:
            bits = int(n.network_address)  # under ::/96
            plen = 96 + n.prefixlen
        else:
            bits = int(n.network_address)
            plen = n.prefixlen
        nets.append((plen, bits, data_offset(value)))
    nets.sort(key=lambda t: (t[0], t[1]))  # shorter prefixes first

    root = Node()
    for plen, bits, leaf in nets:
        node = root
        for i in range(plen):
            b = (bits >> (bits_total - 1 - i)) & 1
            if i == plen - 1:
                node.children[b] = leaf
                break
            child = node.children[b]
            if child is None:
                child = Node()
            elif isinstance(child, tuple):  # split a wider network's leaf
                child = Node(child, child)
            node.children[b] = child
            node = child

    order = []
    queue = [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for c in node.children:
            if isinstance(c, Node):
                queue.append(c)
    index = {id(n): i for i, n in enumerate(order)}
    node_count = len(order)

    def record(c):
        if c is None:
            return node_count
        if isinstance(c, Node):
            return index[id(c)]
        return node_count + 16 + c[1]

    tree = bytearray()
    for node in order:
        left, right = (record(c) for c in node.children)
        limit = 1 << record_size
        if left >= limit or right >= limit:
            raise ValueError("record size too small")
        if record_size == 24:
            tree += left.to_bytes(3, "big") + right.to_bytes(3, "big")
        elif record_size == 28:
            middle = ((left >> 24) << 4) | (right >> 24)
            tree += (left & 0xFFFFFF).to_bytes(3, "big") + bytes([middle])
            tree += (right & 0xFFFFFF).to_bytes(3, "big")
        elif record_size == 32:
            tree += left.to_bytes(4, "big") + right.to_bytes(4, "big")
        else:
            raise ValueError("record size must be 24, 28 or 32")

    metadata = {
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(BUILD_EPOCH),
        "database_type": database_type,
        "description": {"en": description},
        "ip_version": U16(ip_version),
        "languages": ["en"],
        "node_count": U32(node_count),
        "record_size": U16(record_size),
    }
    out = bytes(tree) + b"\x00" * 16 + bytes(data)
    out += b"\xab\xcd\xefMaxMind.com" + encode(metadata)
    with open(path, "wb") as f:
        f.write(out)


# --- test places -----------------------------------------------------------
# (network, GeoIP2 country, GeoIP2 subdivision code + English name,
#  ip-location-db country_code + state1, city)
# Crimea and Sevastopol: DB-IP Lite files most Crimean ranges under RU with
# state1 "Crimea" / "Sebastopol City"; a GeoIP2-layout database files them
# under UA with subdivisions 43 / 40. Both must end up as UA-43 / UA-40.
PLACES = [
    ("175.45.176.0/22", "KP", ("01", "Pyongyang"), ("KP", "Pyongyang"), "Pyongyang"),
    ("2.144.0.0/21", "IR", None, ("IR", "Tehran"), "Tehran"),
    ("152.206.0.0/24", "CU", ("04", "Matanzas"), ("CU", "Matanzas Province"), "Matanzas"),
    ("46.172.192.0/22", "UA", ("43", "Crimea"), ("RU", "Crimea"), "Simferopol"),
    ("31.28.224.0/21", "UA", ("40", "Sevastopol"), ("RU", "Sebastopol City"), "Sevastopol"),
    ("37.139.96.0/22", "UA", ("40", "Sevastopol"), ("UA", "Sebastopol City"), "Sevastopol"),
    ("5.153.172.0/24", "UA", ("14", "Donetsk Oblast"), ("UA", "Donetsk"), "Donetsk"),
    ("45.10.32.0/24", "UA", ("09", "Luhansk Oblast"), ("UA", "Luhansk"), "Luhansk"),
    ("188.190.219.0/24", "UA", ("09", "Luhansk Oblast"), ("RU", "Luhansk"), "Izvarino"),
    ("176.104.32.0/20", "UA", ("30", "Kyiv City"), ("UA", "Kyiv City"), "Kyiv"),
    ("95.47.148.0/24", "UA", ("59", "Sumy Oblast"), ("UA", "Sumy"), "Sumy"),
    ("77.88.8.0/24", "RU", ("MOW", "Moscow"), ("RU", "Moscow"), "Moscow"),
    ("8.8.8.0/24", "US", ("CA", "California"), ("US", "California"), "Mountain View"),
    ("52.94.76.0/22", "US", ("OR", "Oregon"), ("US", "Oregon"), "Boardman"),
    ("195.201.0.0/21", "DE", ("BY", "Bavaria"), ("DE", "Bavaria"), "Nuremberg"),
    # A narrower network inside a wider one: the tree must split the leaf.
    ("195.201.4.0/24", "DE", ("BY", "Bavaria"), ("DE", "Bavaria"), "Falkenstein"),
    ("2001:678:128::/48", "UA", ("43", "Crimea"), ("RU", "Crimea"), "Simferopol"),
    ("2a01:4f8::/32", "DE", ("BY", "Bavaria"), ("DE", "Bavaria"), "Nuremberg"),
    ("2001:4860::/32", "US", ("CA", "California"), ("US", "California"), "Mountain View"),
]

# GeoIP2 quirk worth a test: only `registered_country` (no `country`).
REGISTERED_ONLY = ("198.51.100.0/24", "NL")

# A GeoIP2-layout record that files Crimea under RU with a name and no
# ISO code: must still map to UA-43 by name.
RU_CRIMEA_BY_NAME = ("46.61.150.0/24", "RU", "Republic of Crimea")

ASNS = [
    ("175.45.176.0/22", 131279, "Ryugyong-dong"),
    ("2.144.0.0/21", 58224, "Iran Telecommunication Company PJS"),
    ("46.172.192.0/22", 28761, "CrimeaCom test"),
    ("8.8.8.0/24", 15169, "GOOGLE"),
    ("52.94.76.0/22", 16509, "AMAZON-02"),
    ("195.201.0.0/21", 24940, "Hetzner Online GmbH"),
    ("195.201.4.0/24", 24940, "Hetzner Online GmbH"),
    ("2a01:4f8::/32", 24940, "Hetzner Online GmbH"),
    ("2001:4860::/32", 15169, "GOOGLE"),
]


def country_obj(iso):
    return {"iso_code": iso, "names": {"en": iso, "de": iso, "ru": iso}}


def geoip2_city():
    recs = []
    for net, cc, sub, _flat, city in PLACES:
        v = {
            "city": {"names": {"en": city, "de": city}},
            "continent": {"code": "XX", "names": {"en": "test"}},
            "country": country_obj(cc),
            "location": {"accuracy_radius": U16(100), "latitude": 0.5, "longitude": 0.5},
            "registered_country": country_obj(cc),
        }
        if sub is not None:
            v["subdivisions"] = [
                {"iso_code": sub[0], "names": {"en": sub[1], "ru": sub[1]}},
                {"iso_code": "ZZ", "names": {"en": "second level"}},
            ]
        recs.append((net, v))
    recs.append((REGISTERED_ONLY[0], {"registered_country": country_obj(REGISTERED_ONLY[1])}))
    net, cc, name = RU_CRIMEA_BY_NAME
    recs.append((net, {"country": country_obj(cc), "subdivisions": [{"names": {"en": name}}]}))
    return recs


def geoip2_country():
    recs = [(net, {"country": country_obj(cc), "registered_country": country_obj(cc)})
            for net, cc, _s, _f, _c in PLACES]
    recs.append((REGISTERED_ONLY[0], {"registered_country": country_obj(REGISTERED_ONLY[1])}))
    return recs


def flat_city(version):
    recs = []
    for net, _cc, _sub, flat, city in PLACES:
        if ipaddress.ip_network(net).version != version:
            continue
        recs.append((net, {
            "city": city, "country_code": flat[0], "latitude": 0.5, "longitude": 0.5,
            "postcode": "", "state1": flat[1], "state2": "", "timezone": "",
        }))
    return recs


def flat_country():
    return [(net, {"country_code": flat[0]}) for net, _cc, _s, flat, _c in PLACES]


def asn_records():
    return [(net, {"autonomous_system_number": U32(n), "autonomous_system_organization": org})
            for net, n, org in ASNS]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    desc = "gateward test data, not a real database"
    write_mmdb(os.path.join(out, "geoip2-city.mmdb"), "GeoLite2-City", 6, 28, geoip2_city(), desc)
    write_mmdb(os.path.join(out, "geoip2-country.mmdb"), "GeoLite2-Country", 6, 24, geoip2_country(), desc)
    write_mmdb(os.path.join(out, "geoip2-asn.mmdb"), "GeoLite2-ASN", 6, 24, asn_records(), desc)
    write_mmdb(os.path.join(out, "dbip-country.mmdb"), "country", 6, 24, flat_country(), desc)
    write_mmdb(os.path.join(out, "dbip-city-ipv4.mmdb"), "city ipv4", 4, 28, flat_city(4), desc)
    write_mmdb(os.path.join(out, "dbip-city-ipv6.mmdb"), "city ipv6", 6, 32, flat_city(6), desc)
    write_mmdb(os.path.join(out, "dbip-asn.mmdb"), "asn", 6, 24, asn_records(), desc)


if __name__ == "__main__":
    main()
