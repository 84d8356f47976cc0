#!/usr/bin/env bash
# Benchmark fu-serve against the original project's API (FastAPI + uvicorn + pandas +
# scikit-learn) with wrk on loopback: the same multipart body, the same load, one run
# after the other on this machine.
set -euo pipefail

usage() {
    cat <<'EOF_USAGE'
Usage: bench/serve.sh [options]

POSTs a 50-user events CSV (fu-synth --users 50 --seed 5, about 900 events) as
multipart/form-data field `file` to /predict, as the original API's curl call does,
with wrk (2 threads, 16 connections) against fu-serve (release build) and against a
FastAPI + uvicorn + pandas + scikit-learn server that does what the original did
(bench/peers/fastapi_server.py, installed from PyPI into bench/.venv). Prints the
median over the runs of requests/s and of the p50/p90/p99 latency, and the errors
(socket errors and non-2xx answers) summed over all runs.

Options:
  --runs N        runs per server (default 3)
  --duration S    seconds per run (default 10)
  --long S        then one run of S seconds against fu-serve alone (e.g. 60), to
                  check that a long run has no errors
  -h, --help      show this help

Environment:
  FU_BIN          directory holding the fu tools
                  (default: <repo>/.build/release, built if missing)

Files (under bench/, git-ignored): work/serve-* (the body, the peer's model, logs),
.venv/ (the peer's Python packages).
EOF_USAGE
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=3
duration=10
long=0
while (($#)); do
    case $1 in
        --runs) runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --duration) duration=$(posint "$1" "${2:-}"); shift 2 ;;
        --long) long=$(posint "$1" "${2:-}"); shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

work=$bench/work
mkdir -p "$work"
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
fu_tools fu-synth fu-featurize fu-serve

venv=$bench/.venv
py=$venv/bin/python
if ! "$py" -c 'import fastapi, uvicorn, multipart, sklearn, pandas' 2>/dev/null; then
    echo "setting up $venv with FastAPI, uvicorn, pandas and scikit-learn ..." >&2
    [[ -x $py ]] || python3 -m venv "$venv" || die "cannot make $venv"
    "$venv/bin/pip" install -q fastapi uvicorn python-multipart pandas scikit-learn ||
        die "cannot install the FastAPI peer"
fi

# --- the request --------------------------------------------------------------

events=$work/serve-events.csv
"$fu_bin/fu-synth" --users 50 --seed 5 | cut -d, -f1-3 >"$events"
boundary=fuBenchBoundary7MA4YWxkTrZu0gW
body=$work/serve-body
{
    printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="test_data.csv"\r\n' "$boundary"
    printf 'Content-Type: text/csv\r\n\r\n'
    cat "$events"
    printf '\r\n--%s--\r\n' "$boundary"
} >"$body"
lua=$work/serve-post.lua
cat >"$lua" <<EOF_LUA
local f = io.open("$body", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=$boundary"
wrk.headers["Accept"] = "application/json"
EOF_LUA
echo "body: $(($(wc -l <"$events") - 1)) events of 50 users, $(wc -c <"$body") bytes" >&2

# --- the peer's model: the original pipeline fitted on the same synthetic data ----

peer_model=$work/serve-peer-model.pkl
if [[ ! -f $peer_model ]]; then
    "$fu_bin/fu-synth" --users 5000 --seed 7 >"$work/serve-train.csv"
    "$py" "$bench/peers/fastapi_server.py" train "$work/serve-train.csv" "$peer_model"
fi

# --- running servers and wrk ----------------------------------------------------

server_pid=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$run_files"' EXIT

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ready PORT: until /predict answers the body with 200 (the peer has no /health).
wait_ready() {
    local i
    for ((i = 0; i < 100; i++)); do
        if curl -fsS -o /dev/null -H "Content-Type: multipart/form-data; boundary=$boundary" \
            --data-binary @"$body" "http://127.0.0.1:$1/predict" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "the server on port $1 did not answer"
}

# wrk output to milliseconds: 812.00us, 1.20ms, 2.01s.
to_ms() {
    awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v = v; else if ($1 ~ /s$/) v *= 1000; print v }'
}

# load NAME PORT SECONDS: one wrk run; appends "rps p50 p90 p99 errors" to $results.
load() {
    local name=$1 port=$2 secs=$3 out rps p50 p90 p99 errors
    out=$(wrk -t2 -c16 -d"${secs}s" --latency -s "$lua" "http://127.0.0.1:$port/predict")
    printf '%s\n' "$out" >"$work/serve-wrk-$name.txt"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out" | to_ms)
    p90=$(awk '$1 == "90%" { print $2 }' <<<"$out" | to_ms)
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_ms)
    errors=$(awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { n += $5 } END { print n + 0 }' <<<"$out")
    echo "  $name: $rps req/s, p50 $p50 ms, p90 $p90 ms, p99 $p99 ms, $errors errors" >&2
    results+=("$rps $p50 $p90 $p99 $errors")
}

# measure NAME PORT: runs the load $runs times and adds the table row of medians.
measure() {
    local name=$1 port=$2 i column medians=() errors
    results=()
    echo "running wrk against $name ($runs runs of ${duration}s) ..." >&2
    for ((i = 1; i <= runs; i++)); do load "$name" "$port" "$duration"; done
    for column in 1 2 3 4; do
        medians+=("$(printf '%s\n' "${results[@]}" | awk -v c="$column" '{ print $c }' | median)")
    done
    errors=$(printf '%s\n' "${results[@]}" | awk '{ n += $5 } END { print n + 0 }')
    table+=("$name|${medians[0]}|${medians[1]}|${medians[2]}|${medians[3]}|$errors")
}

port=$(free_port)
"$fu_bin/fu-serve" -q -m "$root/models/fake_user_detector.json" --port "$port" 2>"$work/serve-fu.log" &
server_pid=$!
wait_ready "$port"
measure fu-serve "$port"
if ((long > 0)); then
    echo "running wrk against fu-serve for ${long}s ..." >&2
    results=()
    load fu-serve-long "$port" "$long"
    read -r rps p50 p90 p99 errors <<<"${results[0]}"
    table+=("fu-serve, one ${long}s run|$rps|$p50|$p90|$p99|$errors")
fi
stop_server

port=$(free_port)
FU_PEER_MODEL=$peer_model "$venv/bin/uvicorn" fastapi_server:app --app-dir "$bench/peers" \
    --host 127.0.0.1 --port "$port" --log-level warning 2>"$work/serve-peer.log" &
server_pid=$!
wait_ready "$port"
measure "FastAPI+pandas+sklearn" "$port"
stop_server

machine
echo "wrk -t2 -c16 -d${duration}s, multipart POST /predict of 50 users; medians of $runs runs; errors summed"
printf '%-28s %10s %9s %9s %9s %7s\n' server "req/s" "p50 ms" "p90 ms" "p99 ms" errors
print_table '%-28s %10s %9s %9s %9s %7s\n'
