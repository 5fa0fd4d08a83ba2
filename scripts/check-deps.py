#!/usr/bin/env python3
"""Supply-chain policy check over `cargo metadata` (all features, all
targets): the policy of deny.toml, checked without cargo-deny (which takes
over 20 minutes to build here; run `cargo deny check` where it is
installed).

* every dependency's licence expression is satisfiable with licences on
  deny.toml's allow-list (MIT OR Apache-2.0 compatible);
* every dependency comes from crates.io (no git or unknown registries);
* no banned crate (openssl-sys) is in the tree;
* no wildcard version requirement in our own Cargo.toml.

Prints one line per problem and a summary; exits 1 on any problem.
"""
import json
import os
import re
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def satisfiable(expr, allowed):
    """True when the SPDX expression can be met with allowed licences.
    Handles OR, AND, WITH, parentheses and the old '/' separator."""
    expr = expr.replace('/', ' OR ')
    tokens = re.findall(r'\(|\)|[A-Za-z0-9.+-]+(?: WITH [A-Za-z0-9.+-]+)?', expr.replace(' with ', ' WITH '))
    pos = 0

    def parse_or():
        nonlocal pos
        v = parse_and()
        while pos < len(tokens) and tokens[pos] == 'OR':
            pos += 1
            v = parse_and() or v
        return v

    def parse_and():
        nonlocal pos
        v = parse_atom()
        while pos < len(tokens) and tokens[pos] == 'AND':
            pos += 1
            v = parse_atom() and v
        return v

    def parse_atom():
        nonlocal pos
        t = tokens[pos]
        pos += 1
        if t == '(':
            v = parse_or()
            pos += 1  # ')'
            return v
        return t in allowed

    return parse_or()


def main():
    with open(os.path.join(ROOT, 'deny.toml'), 'rb') as fh:
        policy = tomllib.load(fh)
    allowed = set(policy['licenses']['allow'])
    banned = {b['crate'] for b in policy['bans'].get('deny', [])}
    clarify = {c['crate']: c['expression'] for c in policy['licenses'].get('clarify', [])}
    meta = json.loads(subprocess.run(
        ['cargo', 'metadata', '--format-version', '1', '--all-features', '--locked'],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    problems = []
    for p in meta['packages']:
        name = p['name']
        src = p.get('source')
        if src is None:
            continue  # this workspace
        if src != 'registry+https://github.com/rust-lang/crates.io-index':
            problems.append(f'{name} {p["version"]}: source {src} is not crates.io')
        lic = clarify.get(name) or p.get('license')
        if not lic:
            problems.append(f'{name} {p["version"]}: no licence expression')
        elif not satisfiable(lic, allowed):
            problems.append(f'{name} {p["version"]}: licence `{lic}` not on the allow-list')
        if name in banned:
            problems.append(f'{name} {p["version"]}: banned crate')
    with open(os.path.join(ROOT, 'Cargo.toml'), 'rb') as fh:
        manifest = tomllib.load(fh)
    for section in ('dependencies', 'dev-dependencies', 'build-dependencies'):
        for dep, spec in manifest.get(section, {}).items():
            ver = spec if isinstance(spec, str) else spec.get('version', '')
            if ver.strip() == '*':
                problems.append(f'Cargo.toml [{section}] {dep}: wildcard version')
    for line in problems:
        print('check-deps: ' + line)
    n = sum(1 for p in meta['packages'] if p.get('source'))
    print(f'check-deps: {n} dependencies, {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
