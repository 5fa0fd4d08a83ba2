#!/usr/bin/env bash
# Builds the Debian package: target/debian/gateward_<version>-1_<arch>.deb.
# Needs cargo-deb (`cargo install --locked cargo-deb`) and dpkg-dev.
#   1. release build of the binary
#   2. man pages and shell completions from the binary's own command line
#      definition (`gateward generate`, a hidden subcommand: no build.rs
#      work on every build), and the unit with the packaged binary's path
#   3. `cargo deb --no-build` packs them with [package.metadata.deb]
# Extra arguments go to cargo deb (e.g. --features kafka is NOT passed
# through: build with it first and add it to CARGO_DEB_FEATURES).
set -euo pipefail
cd "$(dirname "$0")/.."

features=()
if [ -n "${CARGO_DEB_FEATURES:-}" ]; then
  features=(--features "$CARGO_DEB_FEATURES")
fi
cargo build --release "${features[@]}"
bin=target/release/gateward

assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions" "$assets/systemd"
"$bin" generate man "$assets/man" >/dev/null
gzip -9 -n "$assets"/man/*.1
for shell in bash zsh fish; do
  "$bin" generate completions "$shell" "$assets/completions" >/dev/null
done
sed 's|/usr/local/bin/gateward|/usr/bin/gateward|g' systemd/gateward.service \
  >"$assets/systemd/gateward.service"

cargo deb --no-build "${features[@]}" "$@"
