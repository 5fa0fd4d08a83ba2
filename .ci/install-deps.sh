#!/usr/bin/env bash
# Installs, when missing, what the build and the tests need beyond Rust:
#   libpcap-dev        the build links libpcap (live capture)
#   cmake, g++         the optional Kafka sink builds the bundled librdkafka
#   rsyslog            tests/sinks.rs and tests/live.rs start a real rsyslogd
#   iproute2, iputils-ping, curl
#                      tests/live.rs runs the daemon in network namespaces
#   tcpreplay          tests/replay.rs replays recorded captures onto a veth pair
#   chromium           tests/report.rs renders the HTML report headless
#   python3-jsonschema scripts/check-eve-schema.py (EVE schema gate in .ci/run)
#   dpkg-dev, systemd, man-db
#                      the Debian package step in .ci/run (scripts/build-deb.sh
#                      runs dpkg-deb and dpkg-shlibdeps; the unit is checked
#                      with systemd-analyze)
# Idempotent. Without root or apt-get it installs nothing: the build then
# needs libpcap-dev present, and the tests that need the peers print SKIP.
set -u

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

need=()
pkg-config --exists libpcap 2>/dev/null || [ -e /usr/include/pcap.h ] || need+=(libpcap-dev)
have cmake || need+=(cmake)
have g++ || need+=(g++)
have rsyslogd || need+=(rsyslog)
have ip || need+=(iproute2)
have ping || need+=(iputils-ping)
have curl || need+=(curl)
have tcpreplay || need+=(tcpreplay)
have chromium || need+=(chromium)
python3 -c 'import jsonschema' 2>/dev/null || need+=(python3-jsonschema)
have dpkg-shlibdeps || need+=(dpkg-dev)
have systemd-analyze || need+=(systemd)
have man || need+=(man-db)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: everything present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${need[*]} and cannot install (need root and apt-get)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get install -y --no-install-recommends ${need[*]}"
if ! apt-get install -y --no-install-recommends "${need[@]}"; then
  echo "install-deps: refreshing package lists and retrying"
  apt-get update && apt-get install -y --no-install-recommends "${need[@]}" \
    || echo "install-deps: could not install ${need[*]}: dependent tests will skip"
fi
# Without the Debian package (another distribution, no root), pip.
if ! python3 -c 'import jsonschema' 2>/dev/null; then
  python3 -m pip install --user jsonschema 2>/dev/null \
    || python3 -m pip install --user --break-system-packages jsonschema 2>/dev/null \
    || echo "install-deps: could not install python jsonschema: the EVE schema check fails"
fi
exit 0
