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

die() { echo "workflow.sh: $*" >&2; exit 1; }
warn() { echo "workflow.sh: warning: $*" >&2; }

# Require a positive integer option value.
posint() {
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '${2:-}'"
    printf '%s\n' "$2"
}

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")

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

# --- tools the measurement itself needs --------------------------------------

apt_updated=0
apt_install() {
    # Run `apt-get update` at most once, and only when something is missing.
    if ((!apt_updated)); then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Debian's `time` package gives /usr/bin/time with -f; the bash keyword cannot
# report peak RSS. train.sh itself needs zstd and jq.
[[ -x /usr/bin/time ]] || apt_install time
command -v zstd >/dev/null || apt_install zstd
command -v jq >/dev/null || apt_install jq

# --- fu binaries --------------------------------------------------------------

tools=(fu-synth fu-featurize fu-split fu-cv fu-fit fu-score)
if [[ -n ${FU_BIN:-} ]]; then
    fu_bin=$FU_BIN
else
    fu_bin=$root/.build/release
    # Build only when a binary is missing: a rebuild of an up-to-date tree
    # still costs time, and another build may be using the tree.
    for t in "${tools[@]}"; do
        if [[ ! -x $fu_bin/$t ]]; then
            echo "building fu (release) ..." >&2
            (cd "$root" && swift build -c release) >&2
            break
        fi
    done
fi
for t in "${tools[@]}"; do
    [[ -x $fu_bin/$t ]] || die "no $t in $fu_bin"
done
# train.sh takes its tools from FU_BIN.
export FU_BIN=$fu_bin

# --- data ---------------------------------------------------------------------

zst=$work/events.csv.zst
stamp=$work/events.users # the --users value the data was made with

# Regenerate when the user count asked for differs from the one recorded;
# data without a record (made by hand) is reused as it is. events.csv is
# featurize.sh's decompressed copy: dropped with the data it was made from.
if [[ -f $zst && -f $stamp && $(<"$stamp") != "$users" ]]; then
    echo "data was made with --users $(<"$stamp"), regenerating for $users" >&2
    rm -f "$zst" "$work/events.csv" "$stamp"
fi
if [[ ! -f $zst ]]; then
    echo "generating $zst (--users $users) ..." >&2
    rm -f "$work/events.csv"
    # Write to a temporary name and rename, so an interrupted run leaves no
    # half-written file to be reused next time.
    "$fu_bin/fu-synth" --users "$users" --seed 1 -o "$work/tmp-events.csv.zst" >&2
    mv "$work/tmp-events.csv.zst" "$zst"
    echo "$users" >"$stamp"
fi
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

# Median of the numbers on stdin, one per line.
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "-";
              else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

timing=$work/time.out
errlog=$work/stderr.out
caches=() # every cache folder made, removed at exit
cleanup() {
    rm -f "$timing" "$errlog"
    if ((${#caches[@]})); then rm -rf "${caches[@]}"; fi
}
trap cleanup EXIT

# A fresh, empty cache folder in the work folder (the same disk as the data).
# Sets `cache` rather than printing it: a $(...) subshell could not record it.
new_cache() {
    cache=$(mktemp -d "$work/wf-cache.XXXXXX")
    caches+=("$cache")
}
keep_cache() { :; }

# Old outputs would make the metrics at the end look valid for a failed run.
rm -f "$work/wf-model.json" "$work/wf-metrics.json" "$work/original-metrics.json"

# train.sh's arguments but the cache folder, which `cache` gives at run time.
train_args=(--input "$zst" --model-output "$work/wf-model.json"
    --metrics-output "$work/wf-metrics.json" --log-dir "$work/logs")

table=()    # rows of "pipeline|median s|median MB|runs"
stages=()   # "label|train.sh's stage table" of the last run of some variants
cache=""

# measure NAME N PREPARE STAGES CMD...: run PREPARE (untimed) then CMD, N times,
# and record the medians as a row. CMD's words "@CACHE@" become the current cache
# folder. When STAGES is not empty, keep the stage table of the last run under it.
measure() {
    local name=$1 n=$2 prepare=$3 label=$4 i secs=() kbs=() e m
    shift 4
    echo "running $name ($n runs) ..." >&2
    for ((i = 1; i <= n; i++)); do
        "$prepare"
        local cmd=("${@//@CACHE@/$cache}")
        if ! /usr/bin/time -f '%e %M' -o "$timing" "${cmd[@]}" >/dev/null 2>"$errlog"; then
            warn "$name failed (run $i):"
            tail -n 5 "$errlog" >&2
            table+=("$name|-|-|failed")
            return 0
        fi
        # On success the last line of the -o file is "ELAPSED_S MAXRSS_KB".
        read -r e m < <(tail -n 1 "$timing")
        secs+=("$e")
        kbs+=("$m")
    done
    if [[ -n $label ]]; then
        # train.sh ends its stderr with a table headed "stage status seconds bytes"
        # and then one line of its own ("train.sh: model: ...").
        stages+=("$label|$(sed -n '/^stage  *status  *seconds  *bytes/,$p' "$errlog" |
            grep -v '^train\.sh:')")
    fi
    local s mb
    s=$(printf '%s\n' "${secs[@]}" | median | awk '{ printf "%.2f", $1 }')
    mb=$(printf '%s\n' "${kbs[@]}" | median | awk '{ printf "%.1f", $1 / 1024 }')
    table+=("$name|$s|$mb|$n")
}

train=(bash "$root/workflows/train.sh" --cache-dir @CACHE@ "${train_args[@]}")
measure "train.sh, cold" "$runs" new_cache "cold (train.sh)" "${train[@]}"
# The last cold run's cache holds every stage: each run below finds them all.
cold_cache=$cache
measure "train.sh, fully cached" "$runs" keep_cache "" "${train[@]}"
[[ $cache == "$cold_cache" ]] || die "internal: the cached runs used another cache"
# Check the claim of the row's name on the last cached run's stage table.
if grep -Eq '^[a-z0-9-]+ +ran ' "$errlog"; then
    warn "a 'fully cached' run still ran stages:"
    grep -E '^[a-z0-9-]+ +ran ' "$errlog" >&2
fi
measure "train.sh --shards 2, cold" "$runs" new_cache "cold (train.sh --shards 2)" \
    "${train[@]}" --shards 2
if ((with_peer)); then
    measure "original pandas + scikit-learn" "$peer_runs" keep_cache "" \
        "$py" "$bench/peers/original_pipeline.py" "$zst" "$work/original-metrics.json"
fi

# --- report ---------------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}"
echo "data: $rows events, $(du -h "$zst" | cut -f1) zst ($zst)"
echo
row() { printf '| %-30s | %8s | %14s | %6s |\n' "$@"; }
row pipeline "median s" "median peak MB" runs
row ------------------------------ -------- -------------- ------
for r in "${table[@]}"; do
    IFS='|' read -r -a fields <<<"$r"
    row "${fields[@]}"
done

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

# Fail the script (after printing everything) if any run failed, so a broken
# pipeline is not mistaken for a finished benchmark.
for r in "${table[@]}"; do
    [[ $r != *"|failed" ]] || exit 1
done
