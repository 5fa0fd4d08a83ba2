#!/usr/bin/env bash
# False-positive rate of gateward on benign captures: runs
# `gateward analyze --all-flows` over every pcap/pcapng under the given
# directories (default: the benign sample in captures/recorded/) and counts
# flows and flows flagged in a suspicious category (vpn, proxy, tunnel,
# remote_access, as score.py counts false positives).
#
#   scripts/benign-fp.sh /data/benign              # the large set (record.sh benign)
#   GATEWARD=target/release/gateward scripts/benign-fp.sh DIR...
#   VERBOSE=1 scripts/benign-fp.sh DIR             # also list the flagged flows
#
# The large set is regenerated with
#   sudo OUT=/data/benign captures/record/record.sh benign
# Prints one line per capture and a total:
#   TOTAL flows N flagged K fp_rate R
# Exit status 1 when --max-fp RATE is given and exceeded.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEWARD=${GATEWARD:-$HERE/target/release/gateward}
MAX_FP=""
if [ "${1:-}" = --max-fp ]; then
    MAX_FP=$2
    shift 2
fi
[ $# -gt 0 ] || set -- "$HERE/captures/recorded/benign-sample.pcap"
[ -x "$GATEWARD" ] || { echo "benign-fp: no gateward binary at $GATEWARD (cargo build --release)" >&2; exit 2; }
files=()
for a in "$@"; do
    if [ -d "$a" ]; then
        while IFS= read -r f; do files+=("$f"); done < <(find "$a" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
    else
        files+=("$a")
    fi
done
[ ${#files[@]} -gt 0 ] || { echo "benign-fp: no captures" >&2; exit 2; }
total=0 flagged=0
for f in "${files[@]}"; do
    read -r n k < <("$GATEWARD" analyze -q --all-flows "$f" | python3 -c '
import json, os, sys
SUSPICIOUS = {"vpn", "proxy", "tunnel", "remote_access"}
n = k = 0
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("event_type") != "flow":
        continue
    n += 1
    d = [x for x in r.get("detections") or [] if x.get("category") in SUSPICIOUS]
    if d:
        k += 1
        if os.environ.get("VERBOSE"):
            print("  flagged %s %s:%s -> %s:%s %s" % (r.get("proto"), r.get("src_ip"), r.get("src_port"),
                  r.get("dest_ip"), r.get("dest_port"),
                  ",".join("%s/%s:%s" % (x["category"], x["protocol"], x.get("confidence")) for x in d)),
                  file=sys.stderr)
print(n, k)
')
    printf '%-40s flows %6d flagged %4d\n' "$(basename "$f")" "$n" "$k"
    total=$((total + n))
    flagged=$((flagged + k))
done
rate=$(python3 -c "print('%.4f' % ($flagged / $total if $total else 0))")
echo "TOTAL flows $total flagged $flagged fp_rate $rate"
if [ -n "$MAX_FP" ] && python3 -c "import sys; sys.exit(0 if $rate > $MAX_FP else 1)"; then
    exit 1
fi
