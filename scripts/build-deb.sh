#!/usr/bin/env bash
# Builds the Debian package: target/debian/gateward_<version>-1_<arch>.deb.
# Needs dpkg-dev (dpkg-deb, dpkg-shlibdeps) and binutils (strip): Debian's
# own tools, no cargo plugin to compile first.
#   1. release build of the binary (CARGO_DEB_FEATURES=kafka adds features)
#   2. man pages and shell completions from the binary's own command line
#      definition (`gateward generate`, a hidden subcommand: no build.rs
#      work on every build), and the unit with the packaged binary's path
#   3. a staging tree with DEBIAN/{control,conffiles,md5sums} and the
#      maintainer scripts of packaging/deb/ (the systemd snippets spliced
#      in where they say #DEBHELPER#), packed by `dpkg-deb --build`.
# The shared-library dependencies come from dpkg-shlibdeps, as debhelper
# computes them.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture strip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-deb: $tool not found (apt-get install dpkg-dev binutils)" >&2; exit 1; }
done

features=()
if [ -n "${CARGO_DEB_FEATURES:-}" ]; then
  features=(--features "$CARGO_DEB_FEATURES")
fi
cargo build --release "${features[@]}"
bin=target/release/gateward

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "build-deb: no version in Cargo.toml" >&2; exit 1; }
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
unit=gateward.service

out=target/debian
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/man/man1" \
  "$stage/usr/share/doc/gateward" "$stage/usr/share/bash-completion/completions" \
  "$stage/usr/share/zsh/vendor-completions" "$stage/usr/share/fish/vendor_completions.d" \
  "$stage/etc/gateward" "$stage/etc/logrotate.d" "$stage/lib/systemd/system"

install -m 755 "$bin" "$stage/usr/bin/gateward"
strip --strip-unneeded "$stage/usr/bin/gateward"
"$bin" generate man "$stage/usr/share/man/man1" >/dev/null
gzip -9 -n "$stage"/usr/share/man/man1/*.1
chmod 644 "$stage"/usr/share/man/man1/*.1.gz
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
for shell in bash zsh fish; do
  "$bin" generate completions "$shell" "$gen" >/dev/null
done
install -m 644 "$gen/gateward.bash" "$stage/usr/share/bash-completion/completions/gateward"
install -m 644 "$gen/_gateward" "$stage/usr/share/zsh/vendor-completions/_gateward"
install -m 644 "$gen/gateward.fish" "$stage/usr/share/fish/vendor_completions.d/gateward.fish"
sed 's|/usr/local/bin/gateward|/usr/bin/gateward|g' systemd/gateward.service >"$stage/lib/systemd/system/$unit"
chmod 644 "$stage/lib/systemd/system/$unit"
install -m 640 systemd/gateward.toml "$stage/etc/gateward/gateward.toml"
install -m 644 systemd/gateward.logrotate "$stage/etc/logrotate.d/gateward"
install -m 644 README.md "$stage/usr/share/doc/gateward/README.md"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: gateward"
  echo
  echo "Files: *"
  echo "Copyright: gateward developers"
  echo "License: MIT or Apache-2.0"
  echo
  echo "License: MIT"
  sed 's/^$/./; s/^/ /' LICENSE-MIT
  echo
  echo "License: Apache-2.0"
  echo " On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0."
} >"$stage/usr/share/doc/gateward/copyright"
chmod 644 "$stage/usr/share/doc/gateward/copyright"

# Shared-library dependencies, the way debhelper computes them
# (dpkg-shlibdeps wants a debian/control in its working directory).
shl=$(mktemp -d)
mkdir -p "$shl/debian"
printf 'Source: gateward\n\nPackage: gateward\nArchitecture: any\n' >"$shl/debian/control"
abs_bin=$(cd "$stage/usr/bin" && pwd)/gateward
shlibs=$(cd "$shl" && dpkg-shlibdeps -O -e"$abs_bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shl"
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no library dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: gateward
Version: $version-1
Architecture: $arch
Maintainer: gateward developers
Installed-Size: $size
Depends: $shlibs, adduser
Recommends: logrotate
Section: net
Priority: optional
Description: network-edge traffic sensor for VPN, proxy, tunnel and remote-access flows
 gateward watches a network edge (live with libpcap, or offline on pcap and
 pcapng captures, compressed or not) and flags VPN, proxy, tunnel and
 remote-access flows, writing Suricata-style EVE JSON to files, syslog or
 Kafka. The service is installed but not enabled: set the interfaces in
 /etc/gateward/gateward.toml, then \`systemctl enable --now gateward\`.
EOF
printf '/etc/gateward/gateward.toml\n/etc/logrotate.d/gateward\n' >"$stage/DEBIAN/conffiles"

# Maintainer scripts: packaging/deb/ with the systemd handling debhelper's
# dh_installsystemd would add for a unit that is installed but neither
# enabled nor started (the sample configuration names no interface).
snippet_postinst="if [ \"\$1\" = configure ] || [ \"\$1\" = abort-upgrade ] || [ \"\$1\" = abort-deconfigure ] || [ \"\$1\" = abort-remove ]; then
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper unmask '$unit' >/dev/null || true
        deb-systemd-helper update-state '$unit' >/dev/null || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
fi"
snippet_prerm="if [ -d /run/systemd/system ] && [ \"\$1\" = remove ]; then
    deb-systemd-invoke stop '$unit' >/dev/null || true
fi"
snippet_postrm="if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ \"\$1\" = purge ] && command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper purge '$unit' >/dev/null || true
    deb-systemd-helper unmask '$unit' >/dev/null || true
fi"
splice() { # template snippet output
  python3 - "$1" "$2" "$3" <<'PY'
import sys
template, snippet, out = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(template).read()
if "#DEBHELPER#" not in text:
    sys.exit(f"build-deb: {template} has no #DEBHELPER# line")
open(out, "w").write(text.replace("#DEBHELPER#", snippet))
PY
  chmod 755 "$3"
}
splice packaging/deb/postinst "$snippet_postinst" "$stage/DEBIAN/postinst"
splice packaging/deb/postrm "$snippet_postrm" "$stage/DEBIAN/postrm"
printf '#!/bin/sh\n# gateward: stop the service before its files go.\nset -e\n\n%s\n\nexit 0\n' \
  "$snippet_prerm" >"$stage/DEBIAN/prerm"
chmod 755 "$stage/DEBIAN/prerm"

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
  | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

deb="$out/gateward_${version}-1_${arch}.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "$deb"
