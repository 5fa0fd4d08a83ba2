#!/usr/bin/env bash
# Installs what building gateward needs beyond Rust, when it is missing, on
# Debian/Ubuntu: libpcap's headers (live capture links libpcap), pkg-config
# and a C compiler (ring and mimalloc compile a little C). Safe to run again:
# it installs nothing that is already there.
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if ! pkg-config --exists libpcap 2>/dev/null && [ ! -e /usr/include/pcap.h ]; then
    need+=(libpcap-dev)
fi
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "dev-setup: please install: ${need[*]} (no apt-get on this system)" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "dev-setup: installing ${need[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
