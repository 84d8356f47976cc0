#!/usr/bin/env bash
# The main job on a fresh machine: set up, then featurize the bundled events.
# Writes out/features.csv and prints a short summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
bin=.build/release
mkdir -p out
"$bin/fu-featurize" -v -i data/events.csv.zst -o out/features.csv
users=$(($(wc -l < out/features.csv) - 1))
fakes=$(awk -F, 'NR > 1 && $2 == 1' out/features.csv | wc -l)
echo "out/features.csv: $users users, $fakes labelled fake, $(head -1 out/features.csv | tr ',' '\n' | wc -l) columns"
