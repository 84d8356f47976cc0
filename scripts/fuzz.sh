#!/usr/bin/env bash
# The long fuzzing run: every fuzz target (suites Fuzz and ServeFuzz) for SECONDS each
# (default 300), from its corpus in Tests/Fixtures/fuzz on. CI runs them for 10 s each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-300}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 64; }
FU_FUZZ_SECONDS=$seconds swift test --filter 'Fuzz'
