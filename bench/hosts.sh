#!/usr/bin/env bash
# bench/hosts.sh: the correlation stage's memory with many internal hosts.
# Builds a capture in which HOSTS internal hosts each make one DNS exchange
# (bench/hosts.py), runs `gateward analyze` on it with correlate.max_hosts at
# its default (10,000) and at LIMIT, and prints peak RSS (/usr/bin/time -v)
# and the stage's host counters from the run summary.
#   HOSTS=100000 LIMIT=1000 bash bench/hosts.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOSTS=${HOSTS:-100000}
LIMIT=${LIMIT:-1000}
BIN=${GATEWARD:-$ROOT/target/release/gateward}
TMP=$(mktemp -d /tmp/gateward-hosts.XXXXXX)
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --quiet)
python3 "$ROOT/bench/hosts.py" "$HOSTS" "$TMP/hosts.pcap"
printf 'home_net = ["10.0.0.0/8"]\n' > "$TMP/default.toml"
printf 'home_net = ["10.0.0.0/8"]\n[correlate]\nmax_hosts = %s\n' "$LIMIT" > "$TMP/limit.toml"
printf 'home_net = ["10.0.0.0/8"]\n[correlate]\nenabled = false\n' > "$TMP/off.toml"
for c in off default limit; do
    /usr/bin/time -v "$BIN" analyze -w 2 -c "$TMP/$c.toml" "$TMP/hosts.pcap" >/dev/null 2>"$TMP/$c.err"
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$TMP/$c.err")
    hosts=$(grep -o 'hosts tracked [0-9]* (peak [0-9]*, evicted [0-9]*' "$TMP/$c.err" || echo "stage off")
    echo "$c: peak RSS ${rss} KiB; $hosts"
done
rm -rf "$TMP"
