#!/usr/bin/env bash
# Re-writes tests/golden/ from the current build after an intended change of
# output; review `git diff tests/golden/` before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
GATEWARD_BLESS=1 cargo test --test golden every_capture_matches_its_golden_output
git status --short tests/golden/ | head -n 20
