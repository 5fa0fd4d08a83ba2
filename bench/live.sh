#!/usr/bin/env bash
# bench/live.sh: the highest rate gateward captures without loss on a veth pair.
#
# tcpreplay sends the standard workload from namespace B onto a veth pair;
# `gateward run` captures on the peer in namespace A (stats_interval 1). A
# trial is lossless when the final stats event shows kernel_drops == 0 and
# kernel_packets >= the packets tcpreplay sent. Trials: --topspeed, then a
# bisection over --pps. ndpiReader is measured the same way when it can
# capture live (its summary's dropped count). Prints a Markdown table.
# Needs root (namespaces). Not for CI: it takes minutes and the numbers
# depend on the machine.
#
# Environment (all optional):
#   WORKLOAD=/tmp/gateward-workload.pcap  capture to send (built if missing)
#   SIZE_MB=1024   size when it has to be built (1024 = standard workload)
#   LIMIT=0        send only the first LIMIT packets per trial (0 = all)
#   STEPS=5        bisection steps over --pps after the topspeed trial
#   SHARED=../shared  GATEWARD=target/release/gateward  SKIP_BUILD=1
#   NDPI=1         also measure ndpiReader (when installed)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORKLOAD=${WORKLOAD:-/tmp/gateward-workload.pcap}
SIZE_MB=${SIZE_MB:-1024}
LIMIT=${LIMIT:-0}
STEPS=${STEPS:-5}
NDPI=${NDPI:-1}
GATEWARD=${GATEWARD:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gateward}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/live.sh: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
command -v tcpreplay >/dev/null || die "tcpreplay missing (apt-get install tcpreplay)"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --quiet)
fi
[ -x "$GATEWARD" ] || die "no binary at $GATEWARD"
if [ ! -s "$WORKLOAD" ]; then
  say "building $WORKLOAD ($SIZE_MB MiB)"
  python3 "$SHARED/bench/make-workload.py" "$SHARED/corpus/ndpi/pcap" \
    -o "$WORKLOAD" --size-mb "$SIZE_MB" --seed 1
fi

ID=$$
A=gwbench-a-$ID
B=gwbench-b-$ID
WORK=$(mktemp -d /tmp/gateward-live.XXXXXX)
cleanup() {
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip link add "gwba$ID" type veth peer name "gwbb$ID"
ip link set "gwba$ID" netns "$A"
ip link set "gwbb$ID" netns "$B"
for ns in "$A" "$B"; do
  dev=$([ "$ns" = "$A" ] && echo "gwba$ID" || echo "gwbb$ID")
  # No IPv6 chatter (router/neighbour solicitations) in the counts.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set "$dev" name gw0
  # Room for the corpus' largest frames (tcpreplay cannot send beyond the MTU).
  ip -n "$ns" link set gw0 mtu 9000
  ip -n "$ns" link set gw0 up
done

cat >"$WORK/gw.toml" <<'EOF'
[capture]
interfaces = ["gw0"]

[daemon]
stats_interval = 1
shutdown_deadline = 10
EOF

limit_args=()
[ "$LIMIT" -gt 0 ] && limit_args=(--limit "$LIMIT")
PACKETS=$LIMIT
[ "$PACKETS" -gt 0 ] || PACKETS=$(capinfos -c -M "$WORKLOAD" 2>/dev/null | awk '/Number of packets/ {print $NF}')
PACKETS=${PACKETS:-3319859}

# replay RATE_ARGS... -> "sent elapsed_s" from tcpreplay's summary
replay() {
  local out
  out=$(ip netns exec "$B" tcpreplay -i gw0 "${limit_args[@]}" "$@" "$WORKLOAD" 2>&1) || true
  local sent secs
  sent=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' <<<"$out")
  secs=$(sed -n 's/.*Actual: [0-9]* packets ([0-9]* bytes) sent in \([0-9.]*\) seconds.*/\1/p' <<<"$out")
  echo "${sent:-0} ${secs:-0}"
}

# gateward_trial RATE_ARGS... -> "sent secs kernel_packets kernel_drops"
gateward_trial() {
  local out="$WORK/gw.out" err="$WORK/gw.err"
  ip netns exec "$A" "$GATEWARD" run --config "$WORK/gw.toml" >"$out" 2>"$err" &
  local pid=$!
  for _ in $(seq 200); do grep -q 'capturing on' "$err" && break; sleep 0.05; done
  grep -q 'capturing on' "$err" || die "gateward did not start: $(cat "$err")"
  local r
  r=$(replay "$@")
  sleep 2 # a stats event after the last packet
  kill -TERM "$pid"
  wait "$pid" || die "gateward exited non-zero: $(tail -5 "$err")"
  local k
  k=$(grep '"event_type":"stats"' "$out" | tail -1 | python3 -c '
import json, sys
c = json.loads(sys.stdin.read())["stats"]["capture"]
print(c["kernel_packets"], c["kernel_drops"])')
  echo "$r $k"
}

# ndpi_trial RATE_ARGS... -> "sent secs received missing". ndpiReader 4.x
# prints no pcap drop counter and stops cleanly only at its -s deadline, so
# it runs for a fixed window covering the replay; lossless = it processed
# every packet sent ("IP packets: N of M packets total", M >= sent).
ndpi_trial() {
  local out="$WORK/ndpi.out" pps=200000
  [ "$1" = --pps ] && pps=$2
  local window=$((4 + PACKETS / pps + 3))
  ip netns exec "$A" ndpiReader -i gw0 -s "$window" >"$out" 2>&1 &
  local pid=$!
  sleep 2
  local r
  r=$(replay "$@")
  wait "$pid" || true
  local got
  got=$(sed -n 's/.*of \([0-9]*\) packets total.*/\1/p' "$out" | head -1)
  got=${got:-0}
  echo "$r $got $(( ${r%% *} > got ? ${r%% *} - got : 0 ))"
}

rows=()
# tool_search NAME TRIAL_FN: topspeed, then bisect --pps in [0, topspeed pps].
tool_search() {
  local name=$1 fn=$2 best=0
  local sent secs kp kd
  read -r sent secs kp kd < <($fn --topspeed)
  local top=0
  [ "$secs" != 0 ] && top=$(python3 -c "print(int($sent/$secs))")
  local ok=no
  [ "$kd" = 0 ] && [ "$kp" -ge "$sent" ] 2>/dev/null && ok=yes && best=$top
  rows+=("| $name | --topspeed | $sent | $secs | $top | $kp | $kd | $ok |")
  say "$name topspeed: sent $sent in ${secs}s ($top pps), kernel $kp, drops $kd"
  if [ "$ok" = yes ]; then
    echo "$name: lossless at topspeed ($top pps)" >&2
  else
    local lo=0 hi=$top step pps
    for step in $(seq "$STEPS"); do
      pps=$(( (lo + hi) / 2 ))
      [ "$pps" -le 0 ] && break
      read -r sent secs kp kd < <($fn --pps "$pps")
      local rate=0
      [ "$secs" != 0 ] && rate=$(python3 -c "print(int($sent/$secs))")
      ok=no
      [ "$kd" = 0 ] && [ "$kp" -ge "$sent" ] 2>/dev/null && ok=yes
      rows+=("| $name | --pps $pps | $sent | $secs | $rate | $kp | $kd | $ok |")
      say "$name --pps $pps: sent $sent in ${secs}s ($rate pps), kernel $kp, drops $kd: $ok"
      if [ "$ok" = yes ]; then lo=$pps; best=$rate; else hi=$pps; fi
    done
  fi
  rows+=("| **$name** | **max lossless** | | | **$best** | | | |")
}

tool_search gateward gateward_trial
if [ "$NDPI" = 1 ] && command -v ndpiReader >/dev/null; then
  tool_search ndpiReader ndpi_trial
else
  say "ndpiReader not measured (NDPI=0 or not installed)"
fi

echo
echo "Workload: $WORKLOAD$([ "$LIMIT" -gt 0 ] && echo " (first $LIMIT packets)"), veth pair, $(nproc) CPUs"
echo
echo "| tool | rate | sent | seconds | pps | kernel packets (ndpiReader: processed) | kernel drops (ndpiReader: sent - processed) | lossless |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
