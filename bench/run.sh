#!/usr/bin/env bash
# bench/run.sh: gateward against ndpiReader on the standard 1 GiB workload.
#
# Follows ../shared/bench/README.md ("Measuring a sensor fairly"): same file,
# warm page cache, one warm-up and then N interleaved runs (A B C A B C ...),
# whole-process wall/user/sys/peak RSS from /usr/bin/time. Peak anonymous
# (private) memory is sampled from /proc every ~20 ms. Prints a Markdown table.
#
# Environment (all optional):
#   WORKLOAD=/tmp/gateward-workload.pcap  capture to time (built if missing)
#   SIZE_MB=1024 size of the workload when it has to be built (1024 = standard)
#   N=5          timed runs per tool (after WARMUP runs that are not counted)
#   WARMUP=1     warm-up runs per tool
#   INSTR=1      also count instructions per packet with callgrind (slow: about a minute)
#   PREFIX=/tmp/gateward-prefix50.pcap    the 50 MiB prefix INSTR uses
#   SHARED=../shared                      where bench/ and corpus/ live
#   SKIP_BUILD=1 do not run cargo build (use the existing release binary)
#   GATEWARD=path/to/gateward             binary to time
#   RESULTS=dir  where raw per-run numbers go (default: a new /tmp directory)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORKLOAD=${WORKLOAD:-/tmp/gateward-workload.pcap}
PREFIX=${PREFIX:-/tmp/gateward-prefix50.pcap}
SIZE_MB=${SIZE_MB:-1024}
N=${N:-5}
WARMUP=${WARMUP:-1}
INSTR=${INSTR:-0}
RESULTS=${RESULTS:-$(mktemp -d /tmp/gateward-bench.XXXXXX)}
GATEWARD=${GATEWARD:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gateward}

# The standard workload (make-workload.py --size-mb 1024 --seed 1).
STD_SHA=a96ab2e7469a124b1568b9bf51b87a6af1b1d0cb3c19d12c49c874d44f094a53
STD_PACKETS=3319859
STD_FRAME_BYTES=1020624000

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: error: %s\n' "$*" >&2; exit 1; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer (got '$N')"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (got '$WARMUP')"
mkdir -p "$RESULTS"

# ---------------------------------------------------------------- tools
apt_install() { # apt_install PACKAGE...
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    say "installing $* with apt"
    $sudo apt-get install -y --no-install-recommends "$@" >&2 ||
        { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends "$@" >&2; } ||
        die "could not install $*; install it by hand"
}
command -v ndpiReader >/dev/null || apt_install libndpi-bin
[[ -x /usr/bin/time ]] || apt_install time
if [[ $INSTR == 1 ]]; then command -v valgrind >/dev/null || apt_install valgrind; fi
command -v python3 >/dev/null || die "python3 is needed (workload builder and packet counter)"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    say "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
fi
[[ -x $GATEWARD ]] || die "no gateward binary at $GATEWARD"

# ---------------------------------------------------------------- workload
make_workload() { # make_workload OUTPUT SIZE_MB
    local gen=$SHARED/bench/make-workload.py corpus=$SHARED/corpus/ndpi/pcap
    if [[ ! -f $gen || ! -d $corpus ]]; then
        say "skipping: $1 does not exist and $SHARED (make-workload.py + nDPI corpus) is not there"
        say "set WORKLOAD=/path/to/file.pcap or SHARED=/path/to/shared"
        exit 0
    fi
    say "building $1 (${2} MiB; ~11 s per GiB)"
    python3 "$gen" "$corpus" -o "$1.tmp" --size-mb "$2" --seed 1 -q >&2 && mv "$1.tmp" "$1"
}

# Prints "packets frame_bytes" of a classic pcap (sum of captured lengths).
pcap_counts() {
    python3 - "$1" <<'EOF'
import mmap, struct, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    magic = m[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"): fmt = "<I"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"): fmt = ">I"
    else: sys.exit("not a classic pcap file (pcapng is not supported here)")
    u = struct.Struct(fmt).unpack_from
    off, n, total, end = 24, 0, 0, len(m)
    while off + 16 <= end:
        cap = u(m, off + 8)[0]
        off += 16 + cap
        n += 1
        total += cap
    print(n, total)
EOF
}

[[ -f $WORKLOAD ]] || make_workload "$WORKLOAD" "$SIZE_MB"
say "hashing and counting $WORKLOAD"
SHA=$(sha256sum "$WORKLOAD" | cut -d' ' -f1)
read -r PACKETS FRAME_BYTES < <(pcap_counts "$WORKLOAD")
if [[ $SHA == "$STD_SHA" ]]; then
    WL_NOTE="standard 1 GiB workload"
    [[ $PACKETS == "$STD_PACKETS" && $FRAME_BYTES == "$STD_FRAME_BYTES" ]] ||
        die "counter disagrees with the standard workload ($PACKETS packets, $FRAME_BYTES B)"
else
    WL_NOTE="NOT the standard workload (expected sha256 $STD_SHA)"
fi
say "sha256 $SHA ($WL_NOTE)"
say "$PACKETS packets, $FRAME_BYTES frame bytes"

# ---------------------------------------------------------------- one timed run
# An fd nobody writes to: `read -t` on it is a sleep without forking.
exec {SLEEP_FD}<> <(:)
nap() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

# Prints "peak_rss_kb peak_anon_kb" sampled from /proc/PID/status.
sample_memory() { # sample_memory PID_OF_/usr/bin/time
    local tpid=$1 pid="" k v _ rss=0 anon=0
    while kill -0 "$tpid" 2>/dev/null; do
        if [[ -z $pid ]]; then # the tool is time's only child (same pid across exec)
            # (the file has no trailing newline, so read "fails" yet sets pid)
            read -r pid _ </proc/"$tpid"/task/"$tpid"/children 2>/dev/null || true
        fi
        if [[ -n $pid ]]; then
            { while read -r k v _; do
                case $k in
                    VmRSS:) ((v > rss)) && rss=$v ;;
                    RssAnon:) ((v > anon)) && anon=$v ;;
                esac
            done </proc/"$pid"/status; } 2>/dev/null || true
        fi
        nap 0.02
    done
    echo "$rss $anon"
}

# run_one TOOL ITER CMD...: appends "tool iter wall user sys maxrss_kb sampled_rss_kb anon_kb"
run_one() {
    local tool=$1 iter=$2 tf=$RESULTS/time.out log=$RESULTS/$1.log
    shift 2
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$log" 2>&1 &
    local tpid=$! mem status=0
    mem=$(sample_memory "$tpid")
    wait "$tpid" || status=$?
    if ((status != 0)); then
        tail -n 20 "$log" >&2
        die "$tool exited with status $status: $*"
    fi
    local wall user sys maxrss
    read -r wall user sys maxrss < <(tail -n 1 "$tf")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$iter" "$wall" "$user" "$sys" "$maxrss" "${mem// /$'\t'}" >>"$RESULTS/runs.tsv"
    say "$(printf '%-14s run %s: %6.2f s wall, %6.2f s cpu, %5d MiB rss, %5d MiB anon' \
        "$tool" "$iter" "$wall" "$(echo "$user + $sys" | bc)" $((maxrss / 1024)) $((${mem#* } / 1024)))"
}

TOOLS=(ndpiReader gateward-w1 gateward-w2)
cmd_for() {
    case $1 in
        ndpiReader) echo ndpiReader -i "$WORKLOAD" -q ;;
        gateward-w1) echo "$GATEWARD" analyze --all-flows -q -w 1 "$WORKLOAD" -o /dev/null ;;
        gateward-w2) echo "$GATEWARD" analyze --all-flows -q -w 2 "$WORKLOAD" -o /dev/null ;;
    esac
}
command -v bc >/dev/null || die "bc is needed"
[[ $WORKLOAD != *' '* && $GATEWARD != *' '* ]] || die "paths with spaces are not supported"

# ---------------------------------------------------------------- measure
say "warming the page cache"
cat "$WORKLOAD" >/dev/null
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
: >"$RESULTS/runs.tsv"
for ((i = 1 - WARMUP; i <= N; i++)); do
    for t in "${TOOLS[@]}"; do
        # shellcheck disable=SC2046  # cmd_for prints a word list on purpose
        run_one "$t" "$i" $(cmd_for "$t")
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
# Median of the timed runs (iter >= 1) of column COL for TOOL.
col() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t && $2 >= 1 { print $c }' "$RESULTS/runs.tsv"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
cpu_col() { awk -F'\t' -v t="$1" '$1 == t && $2 >= 1 { print $4 + $5 }' "$RESULTS/runs.tsv"; }
paired_ratio() { # median over iterations of wall(TOOL)/wall(ndpiReader)
    awk -F'\t' -v t="$1" '$2 >= 1 && $1 == "ndpiReader" { n[$2] = $3 } $2 >= 1 && $1 == t { g[$2] = $3 }
        END { for (i in g) if (n[i] > 0) print g[i] / n[i] }' "$RESULTS/runs.tsv" | median
}

NDPI_WALL=$(col ndpiReader 3 | median)
NDPI_CPU=$(cpu_col ndpiReader | median)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NDPI_VER=$(dpkg-query -W -f '${Version}' libndpi-bin 2>/dev/null || echo unknown)
GW_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] || GW_REV="$GW_REV + uncommitted changes"

{
    echo "## gateward vs ndpiReader"
    echo
    echo "- machine: $(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, $(uname -sr); load average $LOAD_BEFORE before, $LOAD_AFTER after"
    echo "- date: $START; gateward $GW_REV; ndpiReader (libndpi-bin) $NDPI_VER"
    echo "- workload: \`$WORKLOAD\`, sha256 \`$SHA\` ($WL_NOTE), $PACKETS packets, $FRAME_BYTES frame bytes"
    echo "- page cache warm (file read once before timing); $WARMUP warm-up + $N timed runs per tool, interleaved"
    echo "- gateward: \`analyze --all-flows -q -w W FILE -o /dev/null\` (every flow written as EVE JSON to /dev/null); ndpiReader: \`-i FILE -q\` (defaults)"
    echo
    echo "| tool | wall s, median (min–max) | Mpkt/s | Gbit/s | user+sys s | peak RSS MiB | peak anon MiB | wall vs ndpiReader | paired wall ratio | CPU vs ndpiReader |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for t in "${TOOLS[@]}"; do
        wall=$(col "$t" 3 | median)
        min=$(col "$t" 3 | sort -g | head -n 1)
        max=$(col "$t" 3 | sort -g | tail -n 1)
        cpu=$(cpu_col "$t" | median)
        rss=$(col "$t" 6 | median)
        anon=$(col "$t" 8 | median)
        awk -v t="$t" -v w="$wall" -v lo="$min" -v hi="$max" -v cpu="$cpu" -v rss="$rss" -v anon="$anon" \
            -v p="$PACKETS" -v b="$FRAME_BYTES" -v nw="$NDPI_WALL" -v nc="$NDPI_CPU" -v pr="$(paired_ratio "$t")" \
            'BEGIN { printf "| %s | %.2f (%.2f–%.2f) | %.3f | %.2f | %.2f | %.0f | %.0f | %.3f | %.3f | %.3f |\n",
                     t, w, lo, hi, p / w / 1e6, b * 8 / w / 1e9, cpu, rss / 1024, anon / 1024, w / nw, pr, cpu / nc }'
    done
    echo
    echo "Peak RSS is the kernel's (\`%M\` of /usr/bin/time); peak anon is the largest RssAnon seen when sampling /proc/PID/status every ~20 ms (a peak shorter than that can be missed)."
    echo "Ratios < 1 mean gateward is faster. Raw runs: \`$RESULTS/runs.tsv\` (tool, iteration (≤ 0 = warm-up), wall, user, sys, max RSS KiB, sampled RSS KiB, sampled anon KiB)."
} | tee "$RESULTS/table.md"

# ---------------------------------------------------------------- instructions per packet (optional)
if [[ $INSTR == 1 ]]; then
    [[ -f $PREFIX ]] || make_workload "$PREFIX" 50
    read -r PPK _ < <(pcap_counts "$PREFIX")
    ONE=$RESULTS/one.pcap
    # Global header (24 B) + first record header (16 B) + its captured bytes.
    caplen=$(od -An -tu4 -j32 -N4 "$PREFIX" | tr -d ' ')
    head -c $((24 + 16 + caplen)) "$PREFIX" >"$ONE"
    ir() { # ir CMD...: instructions executed by CMD (all threads)
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
            awk '/Collected/ { print $NF }'
    }
    say "callgrind on the $PPK-packet prefix (a minute or two)"
    {
        echo
        echo "### Instructions per packet (callgrind, ${PPK}-packet 50 MiB prefix minus a 1-packet run)"
        echo
        echo "| tool | instr/pkt | vs ndpiReader |"
        echo "|---|---|---|"
        ndpi_ipp=""
        for t in ndpiReader gateward-w1; do
            case $t in
                ndpiReader) big=$(ir ndpiReader -i "$PREFIX" -q); one=$(ir ndpiReader -i "$ONE" -q) ;;
                gateward-w1) big=$(ir "$GATEWARD" analyze --all-flows -q -w 1 "$PREFIX" -o /dev/null)
                    one=$(ir "$GATEWARD" analyze --all-flows -q -w 1 "$ONE" -o /dev/null) ;;
            esac
            [[ -n $big && -n $one ]] || die "callgrind gave no instruction count for $t"
            ipp=$(awk -v b="$big" -v o="$one" -v n="$PPK" 'BEGIN { printf "%.0f", (b - o) / (n - 1) }')
            : "${ndpi_ipp:=$ipp}"
            awk -v t="$t" -v i="$ipp" -v r="$ndpi_ipp" 'BEGIN { printf "| %s | %d | %.3f |\n", t, i, i / r }'
        done
    } | tee -a "$RESULTS/table.md"
fi
say "table saved to $RESULTS/table.md"
