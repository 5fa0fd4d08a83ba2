#!/usr/bin/env bash
# Installs what the sink tests talk to: rsyslog (tests/sinks.rs starts its
# own rsyslogd on loopback). Idempotent; never fails CI: without root or apt
# the tests that need rsyslogd print `SKIP:` and pass.
set -u

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

# ---- libpcap (live capture, `gateward run`; added by the daemon work) ----
# Placed before the rsyslog block because that block exits early. The build
# links libpcap, so this is a hard requirement when it is missing.
if ! pkg-config --exists libpcap 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get install -y libpcap-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y libpcap-dev \
      || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libpcap-dev; } \
      || echo "install-deps: could not install libpcap-dev: the build will fail to link -lpcap"
  else
    echo "install-deps: libpcap-dev missing and cannot install it (need root and apt-get)"
  fi
else
  echo "install-deps: libpcap present"
fi
# ---- end libpcap ----

if have rsyslogd; then
  echo "install-deps: rsyslogd present, nothing to do"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: rsyslogd missing and not root: rsyslog tests will skip"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: rsyslogd missing and no apt-get: rsyslog tests will skip"
  exit 0
fi
echo "install-deps: apt-get install -y --no-install-recommends rsyslog"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends rsyslog; then
  echo "install-deps: install failed; refreshing package lists and retrying"
  if ! { apt-get update && apt-get install -y --no-install-recommends rsyslog; }; then
    echo "install-deps: could not install rsyslog: rsyslog tests will skip"
    exit 0
  fi
fi
have rsyslogd && echo "install-deps: rsyslogd installed"
exit 0
