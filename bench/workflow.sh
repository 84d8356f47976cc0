#!/usr/bin/env bash
# Benchmark the whole training workflow (workflows/train.sh: featurize → split → cv →
# fit → score, with its stage cache) cold, fully cached and cold with --shards 2, beside
# the original pandas + scikit-learn pipeline on the same event log, and print the
# median wall time and median peak RSS of each, plus the stage times of a cold run.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/workflow.sh [options]

Times workflows/train.sh on the same event log three ways, and the original
project's pipeline (bench/peers/original_pipeline.py) beside it, and prints a
table of median wall time (s) and median peak RSS (MB), measured with
/usr/bin/time -f '%e %M', then the per-stage seconds of one cold run:

  cold              a fresh, empty cache folder for every run
  fully cached      the same command again on the last cold run's cache
  --shards 2, cold  a fresh cache folder for every run, featurize in 2 shards

Peak RSS is that of the largest single process of the run (what wait4 reports
for a process tree), not the sum of processes running at the same time.

Options:
  --runs N          runs of each train.sh variant (default 3)
  --peer-runs N     runs of the original pipeline, which is slow (default 1)
  --no-peer         skip the original pipeline
  --users N         users in the synthetic data (default 550000, ~10M events);
                    use a small number for a quick smoke run
  --work DIR        folder for the data, outputs and caches (default
                    bench/work); use another one for smoke runs so the big
                    data file there is kept
  -h, --help        show this help

Environment:
  FU_BIN            directory holding fu-synth and the tools train.sh runs
                    (default: <repo>/.build/release, built if missing)

Files (under the work folder; bench/work and bench/.venv are git-ignored):
  events.csv.zst, events.users   the data and the --users it was made with
  wf-model.json, wf-metrics.json train.sh's model and metrics
  original-metrics.json          the original pipeline's metrics
  logs/                          FU_LOG_DIR of the tools
  wf-cache.*/                    stage caches, removed at the end
EOF
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=3
peer_runs=1
with_peer=1
users=550000
work=$bench/work
while (($#)); do
    case $1 in
        --runs) runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --peer-runs) peer_runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --no-peer) with_peer=0; shift ;;
        --users) users=$(posint "$1" "${2:-}"); shift 2 ;;
        --work)
            [[ -n ${2:-} ]] || die "--work needs a folder"
            work=$2
            shift 2
            ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
mkdir -p "$work"
work=$(cd "$work" && pwd) # absolute: train.sh gets paths, and runs from anywhere

# train.sh itself needs zstd and jq, and takes its tools from FU_BIN.
command -v zstd >/dev/null || apt_install zstd
command -v jq >/dev/null || apt_install jq
fu_tools fu-synth fu-featurize fu-split fu-cv fu-fit fu-score
export FU_BIN=$fu_bin
events_data "$work" "$users"
rows=$(($(zstd -dc "$zst" | wc -l) - 1)) # minus the header

# --- Python peer ----------------------------------------------------------------

venv=$bench/.venv
py=$venv/bin/python
if ((with_peer)) && ! "$py" -c 'import pandas, sklearn, zstandard' 2>/dev/null; then
    echo "setting up $venv ..." >&2
    # A failed install only costs the peer, not the whole benchmark.
    if ! { [[ -x $py ]] || python3 -m venv "$venv"; } ||
        ! "$venv/bin/pip" install -q pandas scikit-learn zstandard ||
        ! "$py" -c 'import pandas, sklearn, zstandard' 2>/dev/null; then
        warn "could not set up the Python venv; skipping the original pipeline"
        with_peer=0
    fi
fi

# --- measurement ----------------------------------------------------------------

# train.sh always gets the cache folder $work/wf-cache, a link that new_cache points
# at a fresh, empty folder (on the same disk as the data); all are removed at exit.
cache=$work/wf-cache
caches=()
trap 'rm -rf "$run_files" "$cache" "${caches[@]}"' EXIT
new_cache() {
    local fresh
    fresh=$(mktemp -d "$work/wf-cache.XXXXXX")
    caches+=("$fresh")
    ln -sfn "$fresh" "$cache"
}

# Old outputs would make the metrics at the end look valid for a failed run.
rm -f "$work/wf-model.json" "$work/wf-metrics.json" "$work/original-metrics.json"

stages=() # "label|train.sh's stage table" of the last run of some variants

# measure NAME N PREPARE LABEL CMD...: run PREPARE (untimed) then CMD, N times, and
# record the medians as a row. With a LABEL, keep the stage table of the last run.
measure() {
    local name=$1 n=$2 prepare=$3 label=$4
    shift 4
    echo "running $name ($n runs) ..." >&2
    if ! time_runs "$n" "$prepare" "$@"; then
        table+=("$name|-|-|failed")
        return 0
    fi
    if [[ -n $label ]]; then
        # train.sh ends its stderr with a table headed "stage status seconds bytes"
        # and then one line of its own ("train.sh: model: ...").
        stages+=("$label|$(sed -n '/^stage  *status  *seconds  *bytes/,$p' "$run_stderr" |
            grep -v '^train\.sh:')")
    fi
    table+=("$name|$run_seconds|$run_mb|$n")
}

train=(bash "$root/workflows/train.sh" --cache-dir "$cache" --input "$zst"
    --model-output "$work/wf-model.json" --metrics-output "$work/wf-metrics.json" --log-dir "$work/logs")
measure "train.sh, cold" "$runs" new_cache "cold (train.sh)" "${train[@]}"
# The last cold run's cache holds every stage: each run below finds them all.
measure "train.sh, fully cached" "$runs" no_preparation "" "${train[@]}"
# Check the claim of the row's name on the last cached run's stage table.
if grep -Eq '^[a-z0-9-]+ +ran ' "$run_stderr"; then
    warn "a 'fully cached' run still ran stages:"
    grep -E '^[a-z0-9-]+ +ran ' "$run_stderr" >&2
fi
measure "train.sh --shards 2, cold" "$runs" new_cache "cold (train.sh --shards 2)" "${train[@]}" --shards 2
if ((with_peer)); then
    measure "original pandas + scikit-learn" "$peer_runs" no_preparation "" \
        "$py" "$bench/peers/original_pipeline.py" "$zst" "$work/original-metrics.json"
fi

# --- report ---------------------------------------------------------------------

echo
machine
echo "data: $rows events, $(du -h "$zst" | cut -f1) zst ($zst)"
echo
row() { printf '| %-30s | %8s | %14s | %6s |\n' "$@"; }
row pipeline "median s" "median peak MB" runs
row ------------------------------ -------- -------------- ------
print_table '| %-30s | %8s | %14s | %6s |\n'

for s in "${stages[@]}"; do
    echo
    echo "stages of the last ${s%%|*} run:"
    printf '%s\n' "${s#*|}"
done

# The models' quality, so a fast but wrong run shows: F1 of the Fake class on
# the test users and the mean 5-fold F1 on the train users (the two pipelines
# draw their splits differently, so the figures are close, not equal).
echo
echo "F1 of Fake (test users; mean 5-fold CV on train users):"
for m in "train.sh|$work/wf-metrics.json" "original|$work/original-metrics.json"; do
    f=${m#*|}
    if [[ -f $f ]]; then
        printf '  %-9s %s\n' "${m%%|*}:" "$(jq -r \
            '"\(.test_metrics["1"]["f1-score"]) (\(.cross_validation.mean_f1))"' "$f")"
    fi
done

exit_if_failed
