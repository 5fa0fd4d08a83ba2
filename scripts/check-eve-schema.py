#!/usr/bin/env python3
"""Validates every event gateward writes for the bundled captures against
Suricata's EVE JSON schema.

Runs `gateward analyze --all-flows` with every event type selected (and the
optional header fields `host` and `ether` on) over each capture under
captures/, removes the fields gateward adds to EVE (listed, with why, in
scripts/eve-extra-fields.json), and validates what is left with the
`jsonschema` package. Prints `N/M events valid` and exits 1 below 100 %.

The schema is Suricata's etc/schema.json (GPL-2.0 data): it is read from
../shared/reference/eve/ (or --schema) and never copied into this
repository; without it the check prints why and exits 0 (skipped).

Usage: scripts/check-eve-schema.py [--bin target/release/gateward]
           [--schema PATH] [--captures DIR] [--show N] [--events FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SCHEMA = os.path.join(ROOT, '..', 'shared', 'reference', 'eve', 'suricata-8.0-schema.json')
CAPTURE_EXT = ('.pcap', '.pcapng', '.cap')
CONFIG = '''[output]
types = ["alert", "flow", "dns", "tls", "http", "ssh", "quic", "rdp", "rfb", "anomaly", "stats"]
host = "schema-check"
ether = true
'''


def strip(obj, path):
    """Removes the field at `path` (list of keys; '[]' = every array item)."""
    if not path:
        return
    key, rest = path[0], path[1:]
    if key == '[]':
        if isinstance(obj, list):
            for item in obj:
                strip(item, rest)
        return
    if not isinstance(obj, dict) or key not in obj:
        return
    if rest:
        strip(obj[key], rest)
    else:
        del obj[key]


def parse_path(p):
    out = []
    for part in p.split('.'):
        while part.endswith('[]'):
            out.append(part[:-2]) if part[:-2] else None
            part = ''
            out.append('[]')
        if part:
            out.append(part)
    return out


def captures(base):
    found = []
    for dirpath, _, files in os.walk(base):
        for f in files:
            if f.endswith(CAPTURE_EXT):
                found.append(os.path.join(dirpath, f))
    return sorted(found)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--bin', default=os.path.join(ROOT, 'target', 'release', 'gateward'))
    ap.add_argument('--schema', default=DEFAULT_SCHEMA)
    ap.add_argument('--captures', default=os.path.join(ROOT, 'captures'))
    ap.add_argument('--extra', default=os.path.join(ROOT, 'scripts', 'eve-extra-fields.json'))
    ap.add_argument('--show', type=int, default=10, help='invalid events printed (default 10)')
    ap.add_argument('--events', action='append', default=[], metavar='FILE',
                    help='also validate the EVE lines of FILE (e.g. a live run\'s output with stats events)')
    a = ap.parse_args()

    if not os.path.exists(a.schema):
        print('check-eve-schema: skipped: no schema at %s' % a.schema)
        return 0
    try:
        import jsonschema
    except ImportError:
        print('check-eve-schema: python3 jsonschema is not installed (.ci/install-deps.sh installs it)')
        return 1
    with open(a.schema, encoding='utf-8') as fh:
        schema = json.load(fh)
    with open(a.extra, encoding='utf-8') as fh:
        extra = json.load(fh)
    paths = [parse_path(p) for p in extra['fields']]
    conflicts = extra.get('conflicts', {})
    conflicted = {}
    validator = jsonschema.Draft202012Validator(schema)

    total = valid = 0
    shown = 0
    by_type = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, 'all-types.toml')
        with open(cfg, 'w', encoding='utf-8') as fh:
            fh.write(CONFIG)
        runs = []
        for cap in captures(a.captures):
            p = subprocess.run([a.bin, 'analyze', '-q', '--all-flows', '-c', cfg, cap],
                               capture_output=True, text=True, errors='replace')
            runs.append((os.path.relpath(cap, ROOT), p.stdout))
        for f in a.events:
            with open(f, encoding='utf-8', errors='replace') as fh:
                runs.append((f, fh.read()))
        for rel, text in runs:
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                total += 1
                try:
                    ev = json.loads(line)
                except ValueError:
                    if shown < a.show:
                        print('%s:%d: not JSON' % (rel, n))
                        shown += 1
                    continue
                t = ev.get('event_type', '?')
                row = by_type.setdefault(t, [0, 0])
                row[1] += 1
                for path in paths:
                    strip(ev, path)
                for key in conflicts:
                    if isinstance(ev.get(key), dict):
                        del ev[key]
                        conflicted[key] = conflicted.get(key, 0) + 1
                errors = sorted(validator.iter_errors(ev), key=lambda e: list(e.absolute_path))
                if not errors:
                    valid += 1
                    row[0] += 1
                    continue
                if shown < a.show:
                    e = errors[0]
                    where = '.'.join(str(x) for x in e.absolute_path) or '(top)'
                    print('%s:%d (%s): %s: %s' % (rel, n, t, where, e.message[:300]))
                    shown += 1
    for t in sorted(by_type):
        print('  %-8s %d/%d' % (t, by_type[t][0], by_type[t][1]))
    for key, n in sorted(conflicted.items()):
        print('check-eve-schema: note: %d event(s) with the known `%s` conflict: %s' % (n, key, conflicts[key]))
    print('check-eve-schema: %d/%d events valid against %s' % (valid, total, os.path.basename(a.schema)))
    if total == 0:
        print('check-eve-schema: no events: is %s built?' % a.bin)
        return 1
    return 0 if valid == total else 1


if __name__ == '__main__':
    sys.exit(main())
