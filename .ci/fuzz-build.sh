#!/usr/bin/env bash
# .ci/fuzz-build.sh: compile every fuzz target (fuzz/fuzz_targets/*.rs) so a
# change that breaks one fails CI. It does not run them.
#
# cargo-fuzz needs nightly-only flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1
# lets the stable toolchain accept them. It is installed when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-build: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked >&2
fi

cd "$ROOT/fuzz"
targets=$(cargo fuzz list)
[[ -n $targets ]] || { echo "fuzz-build: no fuzz targets found" >&2; exit 1; }
echo "fuzz-build: building $(echo "$targets" | tr '\n' ' ')" >&2
cargo fuzz build "$@"
echo "fuzz-build: ok" >&2
