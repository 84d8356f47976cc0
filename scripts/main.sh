#!/usr/bin/env bash
# The main job on a fresh machine: set up, then train on the bundled events with the
# cached workflow (models/ gets the model and its metrics), then predict with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
bash workflows/train.sh --test-events-output out/test_events.csv
bash workflows/predict.sh --model models/fake_user_detector.json --data out/test_events.csv --output out/predictions.csv
echo "out/predictions.csv: $(($(wc -l < out/predictions.csv) - 1)) users scored, $(awk -F, 'NR > 1 && $2 == 1' out/predictions.csv | wc -l) predicted fake"
