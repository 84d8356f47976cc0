#!/usr/bin/env bash
# Benchmark fu-score with and without --explain: median wall time and peak RSS of
# scoring the same features, and the cost of reasons as a ratio.
set -euo pipefail

usage() {
    cat <<'EOF_USAGE'
Usage: bench/score.sh [options]

Scores the features of bench/work/events.csv.zst (fu-synth --users 550000 --seed 1,
the data of bench/featurize.sh, made here if missing) with a model fitted on them
(fu-fit, not timed), as CSV and as JSON Lines, with and without --explain 3, and
prints the medians of wall time (s), CPU time (user + system, s) and peak RSS (MB) of
each, measured with /usr/bin/time, and the ratios of --explain 3 to plain scoring. The
cases take turns run by run. The issue's budget for --explain 3 is 1.5 times
fu-score's time.

Options:
  --runs N          runs of each case (default 5)
  --features FILE   use this features CSV instead of the 550k-user one
  -h, --help        show this help

Environment:
  FU_BIN            directory holding the fu tools
                    (default: <repo>/.build/release, built if missing)

Files (all under bench/, git-ignored):
  work/events.csv.zst, work/features.csv   the data, reused between runs
  work/score-*                             the model and each case's output
EOF_USAGE
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=5
features=""
while (($#)); do
    case $1 in
        --runs) runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --features)
            [[ -f ${2:-} && -r ${2:-} ]] || die "--features needs a readable file, got '${2:-}'"
            features=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

work=$bench/work
mkdir -p "$work"
fu_tools fu-synth fu-featurize fu-fit fu-score

if [[ -z $features ]]; then
    features_data "$work" 550000
fi
rows=$(($(wc -l <"$features") - 1))
machine
echo "data: $features: $rows users"
echo "fitting the model (not timed) ..." >&2
model=$work/score-model.json
"$fu_bin/fu-fit" -i "$features" -o "$model"

score=("$fu_bin/fu-score" -m "$model" -i "$features")
# The cases take turns, one run each per round, so that a burst of load elsewhere on the
# machine falls on all of them alike.
cases=("csv|" "csv|--explain 3" "jsonl|--format jsonl" "jsonl|--format jsonl --explain 3")
declare -A wall=() cpu=() mb=()
failed=0
for ((round = 1; round <= runs; round++)); do
    echo "round $round of $runs ..." >&2
    for c in "${cases[@]}"; do
        IFS='|' read -r format flags <<<"$c"
        read -r -a extra <<<"$flags"
        if time_runs 1 no_preparation "${score[@]}" "${extra[@]}" -o "$work/score-out.$format"; then
            wall[$c]+="$run_seconds "
            cpu[$c]+="$run_cpu "
            mb[$c]+="$run_mb "
        else
            failed=1
        fi
    done
done
((failed == 0)) || die "a run failed"

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
echo
row() { printf '| %-34s | %6s | %8s | %10s | %14s |\n' "$@"; }
row case format "median s" "median CPU s" "median peak MB"
row ---------------------------------- ------ -------- ------------ --------------
for c in "${cases[@]}"; do
    IFS='|' read -r format flags <<<"$c"
    flags=${flags/--format jsonl/}
    row "fu-score${flags:+ ${flags# }}" "$format" "$(med "${wall[$c]}")" "$(med "${cpu[$c]}")" "$(med "${mb[$c]}")"
done
echo
for format in csv jsonl; do
    plain="$format|" explained="$format|--explain 3"
    [[ $format == jsonl ]] && plain="jsonl|--format jsonl" explained="jsonl|--format jsonl --explain 3"
    awk -v f="$format" -v pw="$(med "${wall[$plain]}")" -v ew="$(med "${wall[$explained]}")" \
        -v pc="$(med "${cpu[$plain]}")" -v ec="$(med "${cpu[$explained]}")" \
        'BEGIN { printf "--explain 3 / plain (%s): wall %.2f, CPU %.2f (budget 1.5)\n", f, ew / pw, ec / pc }'
done
