#!/usr/bin/env bash
# Issue 11's scale check: partition → featurize each bucket → merge gives the same bytes
# as one fu-featurize, on 200,000 synthetic users (about 3.9M events), with 4 and with 16
# buckets. Needs optimized tools (a debug build takes minutes): test-package.sh runs it
# with the packaged ones.
#   scripts/check-shuffle.sh [BIN_DIR (.build/release)] [USERS (200000)]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/.build/release}
users=${2:-200000}
[ -x "$bin/fu-featurize" ] || { echo "check-shuffle: no tools in $bin" >&2; exit 1; }
bin=$(cd "$bin" && pwd)
export PATH=$bin:$PATH
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fu-synth --users "$users" --seed 1 -o events.csv.zst
fu-featurize events.csv.zst -o one.csv
for buckets in 4 16; do
    fu-partition --buckets "$buckets" --output-dir "b$buckets" events.csv.zst
    mkdir "f$buckets"
    pids=()
    for f in "b$buckets"/*; do fu-featurize "$f" -o "f$buckets/$(basename "$f")" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid"; done
    fu-merge -o "merged-$buckets.csv" "f$buckets"
    cmp "merged-$buckets.csv" one.csv || { echo "check-shuffle: FAIL: $buckets buckets differ from one fu-featurize" >&2; exit 1; }
    echo "check-shuffle: $buckets buckets: the same $(($(wc -l < one.csv) - 1)) feature rows as one fu-featurize" >&2
done
