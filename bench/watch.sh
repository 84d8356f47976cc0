#!/usr/bin/env bash
# Benchmark fu-watch (issue 17, "Measured"): throughput beside river, latency through a
# FIFO, and memory per tracked user; medians of several runs.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/watch.sh [options]

Scores a stream with fu-watch -m models/fake_user_detector.json and prints the medians of:

  throughput   the first N events of fu-synth --users 550000 --seed 1 (a plain CSV),
               --emit changes, pinned to one CPU (taskset): events/s of wall time and
               per CPU second (user + system); beside river (bench/peers/river_watch.py:
               a dict of per-user counters, a StandardScaler and
               LogisticRegression.predict_proba_one per event) on a prefix of the same
               events, and the ratio
  latency      a line written to a FIFO -> its answer read back (--emit every), p50 and
               p99 in us, at --rate lines/s (bench/latency.py)
  memory       peak RSS (/usr/bin/time -f %M) of fu-watch over a file of M one-event
               users (--min-events 2, so nothing is written), in bytes per tracked user:
               net of a one-user run's RSS, and gross
  fu-serve     POST /events with one event a request (wrk -t2 -c16 over keep-alive,
               100,000 users in turn) beside fu-serve's own GET /health in the same
               run: requests/s, their ratio, and the p99 latency of /events

The issue's goals: at least 5M events/s and 100x river, p99 at most 1 ms at 1,000
events/s, at most 100 bytes per user at 10M users; /events at least 60% of /health's
rate with p99 at most 5 ms.

Options:
  --runs N              runs of each measurement (default 3)
  --events N            events for the throughput (default 10000000)
  --river-events N      events river scores, a prefix (default 200000)
  --latency-events N    lines for the latency (default 3000)
  --rate N              lines a second for the latency (default 1000)
  --memory-users LIST   comma-separated user counts for the memory (default 1000000)
  --no-river            skip river
  --serve-duration S    seconds of each wrk run (default 10); 0 skips fu-serve
  -h, --help            show this help

Environment:
  FU_BIN                directory holding fu-watch and fu-synth
                        (default: <repo>/.build/release, built if missing)

Files (all under bench/, git-ignored):
  work/events.csv.zst                 the data of bench/featurize.sh (550,000 users)
  work/watch/                         the plain prefixes and one-event-user files
  .venv/                              Python venv for river
EOF
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=3
events=10000000
river_events=200000
latency_events=3000
rate=1000
memory_text=1000000
with_river=1
serve_duration=10
while (($#)); do
    case $1 in
        --runs) runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --events) events=$(posint "$1" "${2:-}"); shift 2 ;;
        --river-events) river_events=$(posint "$1" "${2:-}"); shift 2 ;;
        --latency-events) latency_events=$(posint "$1" "${2:-}"); shift 2 ;;
        --rate) rate=$(posint "$1" "${2:-}"); shift 2 ;;
        --memory-users)
            [[ ${2:-} =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--memory-users needs a list of positive integers, got '${2:-}'"
            memory_text=$2; shift 2 ;;
        --no-river) with_river=0; shift ;;
        --serve-duration)
            [[ ${2:-} =~ ^[0-9]+$ ]] || die "--serve-duration needs a number of seconds, got '${2:-}'"
            serve_duration=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
IFS=',' read -r -a memory_users <<<"$memory_text"

work=$bench/work
mkdir -p "$work/watch"
command -v zstd >/dev/null || apt_install zstd
command -v taskset >/dev/null || apt_install util-linux
fu_tools fu-watch fu-synth fu-serve
model=$root/models/fake_user_detector.json
watch=("$fu_bin/fu-watch" -m "$model")

# The first N events as a plain CSV: the scorer is measured, not zstd.
events_data "$work" 550000
csv=$work/watch/events-$events.csv
if [[ ! -f $csv || $zst -nt $csv ]]; then
    echo "making $csv ..." >&2
    # pipefail would fail on zstd's broken pipe once head has its lines.
    { zstd -dc "$zst" || true; } | head -n "$((events + 1))" >"$work/watch/tmp.csv"
    mv "$work/watch/tmp.csv" "$csv"
fi
rows=$(($(wc -l <"$csv") - 1))
((rows == events)) || warn "the data has only $rows events, not $events"

# --- Python: river, and the latency driver ----------------------------------------

venv=$bench/.venv
py=$venv/bin/python
py_ok=1
if ((with_river)) && ! "$py" -c 'import river' 2>/dev/null; then
    echo "setting up $venv ..." >&2
    # A failed install only costs river's figures, not the whole benchmark.
    if ! { [[ -x $py ]] || python3 -m venv "$venv"; } || ! "$venv/bin/pip" install -q river; then
        warn "could not set up the Python venv; skipping river"
        py_ok=0
    fi
fi
# The latency driver needs only the standard library.
driver_py=python3
[[ -x $py ]] && driver_py=$py

# --- throughput -------------------------------------------------------------------

per_second() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }
med() { tr ' ' '\n' <<<"$1" | grep . | median; }

fu_rate="" fu_cpu_rate="" river_rate="" river_cpu_rate=""
for ((round = 1; round <= runs; round++)); do
    echo "throughput, round $round of $runs ..." >&2
    time_runs 1 no_preparation taskset -c 0 "${watch[@]}" --emit changes "$csv" || die "fu-watch failed"
    fu_rate+="$(per_second "$rows" "$run_seconds") "
    fu_cpu_rate+="$(per_second "$rows" "$run_cpu") "
    if ((with_river && py_ok)); then
        # river times itself from its first event (imports excluded) and prints
        # "events wall-seconds cpu-seconds".
        taskset -c 0 "$py" "$bench/peers/river_watch.py" "$csv" "$river_events" >/dev/null 2>"$work/watch/river.err" ||
            { cat "$work/watch/river.err" >&2; die "river failed"; }
        read -r river_n river_s river_c <"$work/watch/river.err"
        river_rate+="$(per_second "$river_n" "$river_s") "
        river_cpu_rate+="$(per_second "$river_n" "$river_c") "
    fi
done
changes=$(($(wc -l <"$run_stdout") - 1))

# --- latency ----------------------------------------------------------------------

percentile() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print v[i] }'; }
p50s="" p99s=""
for ((round = 1; round <= runs; round++)); do
    echo "latency, round $round of $runs ($latency_events lines at $rate/s) ..." >&2
    "$driver_py" "$bench/latency.py" "$csv" "$latency_events" "$rate" "${watch[@]}" >"$work/watch/latency.txt" ||
        die "the latency driver failed"
    p50s+="$(percentile 50 <"$work/watch/latency.txt") "
    p99s+="$(percentile 99 <"$work/watch/latency.txt") "
done

# --- memory -----------------------------------------------------------------------

# one_event_users N: a CSV of N users with one event each, 10-character ids as
# fu-synth's.
one_event_users() {
    local file=$work/watch/users-$1.csv
    if [[ ! -f $file ]]; then
        echo "making $file ..." >&2
        awk -v n="$1" 'BEGIN { print "UserId,Event,Category"; for (i = 0; i < n; i++) printf "U%09d,click_ad,Phone\n", i }' \
            >"$work/watch/tmp.csv"
        mv "$work/watch/tmp.csv" "$file"
    fi
    users_csv=$file
}
memory_rows=()
one_event_users 1
echo "memory, one user ($runs runs) ..." >&2
time_runs "$runs" no_preparation "${watch[@]}" --min-events 2 "$users_csv" || die "fu-watch failed"
base_kb=$run_kb
for n in "${memory_users[@]}"; do
    one_event_users "$n"
    echo "memory, $n users ($runs runs) ..." >&2
    time_runs "$runs" no_preparation "${watch[@]}" --min-events 2 --max-users "$n" "$users_csv" || die "fu-watch failed"
    memory_rows+=("$n|$run_mb|$(awk -v k="$run_kb" -v b="$base_kb" -v n="$n" 'BEGIN { printf "%.0f|%.0f", (k - b) * 1024 / n, k * 1024 / n }')")
done

# --- fu-serve: POST /events -------------------------------------------------------

serve_rows=()
if ((serve_duration > 0)); then
    command -v wrk >/dev/null || apt_install wrk
    command -v curl >/dev/null || apt_install curl
    lua=$work/watch/events.lua
    # One event a request, users in turn (a new user's first events, then its later ones).
    cat >"$lua" <<'EOF_LUA'
local types = {"click_ad", "send_email", "send_sms", "phone_call", "view_item"}
local n = 0
request = function()
    n = n + 1
    local body = "UserId,Event,Category\nU" .. (n % 100000) .. "," .. types[n % 5 + 1] .. ",Jobs\n"
    return wrk.format("POST", "/events", {["Content-Type"] = "text/csv", ["Accept"] = "text/csv"}, body)
end
EOF_LUA
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # -q: no access-log line a request.
    "$fu_bin/fu-serve" -q -m "$model" --port "$port" 2>"$work/watch/serve.log" &
    serve_pid=$!
    trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
    for ((i = 0; i < 100; i++)); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break
        sleep 0.1
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health" || { cat "$work/watch/serve.log" >&2; die "fu-serve did not start"; }
    to_us() { awk '{ v = $1 + 0; if ($1 ~ /us$/) v = v; else if ($1 ~ /ms$/) v *= 1000; else if ($1 ~ /s$/) v *= 1000000; print v }'; }
    events_rps="" health_rps="" events_p99=""
    for ((round = 1; round <= runs; round++)); do
        echo "fu-serve, round $round of $runs (${serve_duration}s of /events, then of /health) ..." >&2
        out=$(wrk -t2 -c16 -d"${serve_duration}s" --latency -s "$lua" "http://127.0.0.1:$port")
        grep -q "Non-2xx" <<<"$out" && { printf '%s\n' "$out" >&2; die "POST /events answered errors"; }
        events_rps+="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out") "
        events_p99+="$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_us) "
        out=$(wrk -t2 -c16 -d"${serve_duration}s" "http://127.0.0.1:$port/health")
        health_rps+="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out") "
    done
    users_held=$(curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "fu_stream_users" { print $2 + 0 }')
    kill "$serve_pid"
    wait "$serve_pid" 2>/dev/null || true
    e=$(med "$events_rps") h=$(med "$health_rps")
    serve_rows+=("POST /events, requests/s (1 event each)|$e|60% of /health")
    serve_rows+=("GET /health, requests/s (same runs)|$h|")
    serve_rows+=("/events / /health|$(awk -v a="$e" -v b="$h" 'BEGIN { printf "%.0f%%", 100 * a / b }')|60%")
    serve_rows+=("/events p99, us ($users_held users held)|$(med "$events_p99")|5000")
fi

# --- report -----------------------------------------------------------------------

echo
machine
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $rows events ($csv), $changes lines of --emit changes; river on the first $river_events"
echo
row() { printf '| %-44s | %12s | %12s | %-22s |\n' "$@"; }
row measurement fu-watch river goal
row -------------------------------------------- ------------ ------------ ----------------------
fu_r=$(med "$fu_rate") fu_c=$(med "$fu_cpu_rate")
if [[ -n $river_rate ]]; then
    river_r=$(med "$river_rate") river_c=$(med "$river_cpu_rate")
else
    river_r=- river_c=-
fi
row "throughput, events/s (wall, 1 CPU)" "$fu_r" "$river_r" "5,000,000"
row "throughput, events per CPU second" "$fu_c" "$river_c" ""
if [[ -n $river_rate ]]; then
    row "fu-watch / river (wall; CPU)" "$(awk -v a="$fu_r" -v b="$river_r" -v c="$fu_c" -v d="$river_c" \
        'BEGIN { printf "%.0fx; %.0fx", a / b, c / d }')" "" "100x"
fi
row "latency p50, us (FIFO, $rate lines/s)" "$(med "$p50s")" "" ""
row "latency p99, us" "$(med "$p99s")" "" "1000"
for r in "${memory_rows[@]}"; do
    IFS='|' read -r n mb net gross <<<"$r"
    row "memory at $n users: peak MB" "$mb" "" ""
    row "  bytes/user (net of one user; gross)" "$net; $gross" "" "100 (at 10M)"
done
for r in "${serve_rows[@]}"; do
    IFS='|' read -r what value goal <<<"$r"
    row "$what" "$value" "" "$goal"
done
