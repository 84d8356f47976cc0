#!/usr/bin/env bash
# Benchmark the whole training workflow (workflows/train.sh) on 10M events: cold, fully
# cached, and cold with --shards 2, beside the original pandas + scikit-learn pipeline on
# the same file; prints median wall time, peak RSS, and one cold run's stage times.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bench/workflow.sh [options]

Options:
  --runs N        runs of each workflow variant [3]
  --peer-runs N   runs of the original pipeline (slow) [1]
  --no-peer       skip the original pipeline
  --events FILE   events to train on [bench/work/events.csv.zst, made with
                  fu-synth --users 550000 --seed 1 when missing]
  -h, --help      this text

Environment: FU_BIN, the folder of the fu tools [<repo>/.build/release].
USAGE
}

die() { echo "workflow.sh: $*" >&2; exit 1; }
runs=3
peer_runs=1
with_peer=1
events=""
while (($#)); do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --peer-runs) peer_runs=$2; shift 2 ;;
        --no-peer) with_peer=0; shift ;;
        --events) events=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/work
mkdir -p "$work"
export FU_BIN=${FU_BIN:-$root/.build/release}
[ -x "$FU_BIN/fu-featurize" ] || (cd "$root" && swift build -c release)
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ -z "$events" ]; then
    events=$work/events.csv.zst
    [ -f "$events" ] || "$FU_BIN/fu-synth" --users 550000 --seed 1 -o "$events"
fi
python=$bench/.venv/bin/python
if ((with_peer)); then
    [ -x "$python" ] || python3 -m venv "$bench/.venv"
    "$python" -c 'import sklearn, pandas, zstandard' 2>/dev/null || "$python" -m pip install -q scikit-learn pandas zstandard
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "data: $events ($(du -h "$events" | cut -f1))"
echo

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One workflow run; its stderr (with the stage table) is kept in last-stderr.
cache=$work/wf-cache
train=(bash "$root/workflows/train.sh" --input "$events" --cache-dir "$cache" --log-dir "$work/logs"
    --model-output "$work/wf-model.json" --metrics-output "$work/wf-metrics.json")

# measure NAME RUNS PREPARE COMMAND...: PREPARE runs untimed before each run.
rows=()
measure() {
    local name=$1 count=$2 prepare=$3
    shift 3
    local seconds=() megabytes=() i report
    report=$(mktemp)
    for ((i = 0; i < count; i++)); do
        $prepare
        /usr/bin/time -f '%e %M' -o "$report" "$@" >/dev/null 2>"$work/last-stderr" || die "$name failed: $(tail -3 "$work/last-stderr")"
        local line
        line=$(tail -1 "$report")
        seconds+=("${line% *}")
        megabytes+=("$(awk -v k="${line#* }" 'BEGIN { printf "%.1f", k / 1024 }')")
    done
    rm -f "$report"
    rows+=("$(printf '| %-34s | %8s | %9s | %4s |' "$name" \
        "$(printf '%s\n' "${seconds[@]}" | median)" "$(printf '%s\n' "${megabytes[@]}" | median)" "$count")")
}

fresh_cache() { rm -rf "$cache"; }
keep_cache() { :; }

echo "timing ..." >&2
measure "train.sh, cold" "$runs" fresh_cache "${train[@]}"
cold_stages=$(grep -E '^(stage|featurize|split|cv|fit|score)' "$work/last-stderr" || true)
measure "train.sh, fully cached" "$runs" keep_cache "${train[@]}"
measure "train.sh --shards 2, cold" "$runs" fresh_cache "${train[@]}" --shards 2
if ((with_peer)); then
    measure "original pandas + scikit-learn" "$peer_runs" keep_cache "$python" "$bench/peers/original_pipeline.py" "$events" "$work/original-metrics.json"
fi
rm -rf "$cache"

echo "| pipeline                           | median s | median MB | runs |"
echo "| ---------------------------------- | -------- | --------- | ---- |"
printf '%s\n' "${rows[@]}"
echo
echo "stages of the last cold run:"
echo "$cold_stages"
