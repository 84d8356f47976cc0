#!/usr/bin/env bash
# The main job on a fresh machine: set up, then train on the bundled events with the
# cached workflow (models/ gets the model and its metrics), then predict with it, in
# batch and through fu-serve as the original API was called.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
bash workflows/train.sh --test-events-output out/test_events.csv
bash workflows/predict.sh --model models/fake_user_detector.json --data out/test_events.csv --output out/predictions.csv
echo "out/predictions.csv: $(($(wc -l < out/predictions.csv) - 1)) users scored, $(awk -F, 'NR > 1 && $2 == 1' out/predictions.csv | wc -l) predicted fake"

# fu-serve with the trained model on a free loopback port, asked with the original
# API's curl call, then stopped as a service manager would (SIGTERM).
.build/release/fu-serve -m models/fake_user_detector.json --port 0 2> out/serve.log &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://[0-9.]*:\([0-9]*\).*|\1|p' out/serve.log)
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { cat out/serve.log >&2; echo "main: fu-serve did not start" >&2; exit 1; }
curl -sS -X POST "http://localhost:$port/predict" -H "accept: application/json" \
    -H "Content-Type: multipart/form-data" -F "file=@out/test_events.csv" > out/served_predictions.json
curl -sS -H "Accept: text/csv" -F "file=@out/test_events.csv" "http://localhost:$port/predict" > out/served_predictions.csv
kill -TERM "$server"
wait "$server"
trap - EXIT
if cmp -s out/served_predictions.csv out/predictions.csv; then same="the same as"; else same="DIFFERENT from"; fi
echo "fu-serve on port $port: $(jq length out/served_predictions.json) users in out/served_predictions.json, $same out/predictions.csv"
[[ $same == "the same as" ]]
