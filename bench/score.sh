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
prints median wall time (s) and median peak RSS (MB) of each, measured with
/usr/bin/time -f '%e %M', and the ratio of --explain 3 to plain scoring. The issue's
budget for --explain 3 is 1.5 times fu-score's time.

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
measure_tool fu-score csv "$runs" "${score[@]}" -o "$work/score-plain.csv"
measure_tool "fu-score --explain 3" csv "$runs" "${score[@]}" --explain 3 -o "$work/score-explain.csv"
measure_tool fu-score jsonl "$runs" "${score[@]}" --format jsonl -o "$work/score-plain.jsonl"
measure_tool "fu-score --explain 3" jsonl "$runs" "${score[@]}" --format jsonl --explain 3 -o "$work/score-explain.jsonl"

echo
row() { printf '| %-22s | %-5s | %8s | %14s | %6s |\n' "$@"; }
row tool format "median s" "median peak MB" runs
row ---------------------- ----- -------- -------------- ------
print_table '| %-22s | %-5s | %8s | %14s | %6s |\n'
echo
# Ratios of the medians, explain over plain, per format.
for format in csv jsonl; do
    plain="" explain=""
    for r in "${table[@]}"; do
        IFS='|' read -r tool what seconds _ <<<"$r"
        [[ $what == "$format" ]] || continue
        if [[ $tool == *--explain* ]]; then explain=$seconds; else plain=$seconds; fi
    done
    if [[ $plain != - && $explain != - ]]; then
        awk -v f="$format" -v p="$plain" -v e="$explain" \
            'BEGIN { printf "--explain 3 / plain (%s): %.2f (budget 1.5)\n", f, (p > 0 ? e / p : 0) }'
    fi
done

exit_if_failed
