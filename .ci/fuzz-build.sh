#!/usr/bin/env bash
# .ci/fuzz-build.sh: make sure every fuzz target (fuzz/fuzz_targets/*.rs)
# still compiles against the main crate, so an API change that breaks one
# fails CI. It does not run them.
#
# Default: `cargo clippy` of the fuzz crate on the stable toolchain, with
# warnings as errors. That type-checks every target and its helpers in a
# fraction of the time of a sanitizer build and needs no extra tool.
#
# `--sanitizer`: the real `cargo fuzz build` (AddressSanitizer, coverage
# instrumentation). cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP=1
# lets the stable toolchain accept them. cargo-fuzz is installed when
# missing. Run this before a fuzzing session (fuzz/README.md).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/fuzz"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^gateward' || true)
[[ -n $targets ]] || { echo "fuzz-build: no fuzz targets found" >&2; exit 1; }

if [[ ${1:-} != --sanitizer ]]; then
    echo "fuzz-build: checking $(echo "$targets" | tr '\n' ' ')" >&2
    # Not --locked: fuzz/Cargo.lock follows the main crate's dependencies,
    # which change without anyone touching the fuzz crate.
    cargo clippy --bins -- -D warnings
    echo "fuzz-build: ok (type-checked; --sanitizer for the instrumented build)" >&2
    exit 0
fi
shift

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-build: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked >&2
fi
echo "fuzz-build: building $(echo "$targets" | tr '\n' ' ')" >&2
cargo fuzz build "$@"
echo "fuzz-build: ok" >&2
