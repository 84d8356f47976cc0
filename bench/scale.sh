#!/usr/bin/env bash
# How fu's steps grow with the number of users: fu-featurize, fu-split, fu-fit, fu-cv
# (5 folds), fu-fit --policy-events (the stream policy search) and fu-score at several
# sizes, each the median of a few runs, with time and peak memory per user and the growth
# of time per user against the smallest size.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/scale.sh [options]

For each size N, makes events with `fu-synth --users N --seed 1` (kept between runs),
then times, in pipeline order, each step on the previous step's output:

  fu-featurize -i events.csv.zst -o features.csv
  fu-split     -i features.csv -o train.csv --test test.csv     (20% test)
  fu-fit       -i train.csv -o model.json
  fu-cv        -i train.csv --folds 5 -o cv.json
  fu-fit       -i train.csv --policy-events train-events.csv.zst -o policy.json   (fit+policy)
  fu-score     -m model.json -i test.csv -o predictions.csv

(train-events.csv.zst, the train users' events, is made once by fu-split on the events,
untimed), and prints per tool and size: median wall and CPU (user + system) seconds, median
peak RSS (/usr/bin/time -f %M), each per user of the tool's input (µs/user,
bytes/user; fu-fit, fit+policy and fu-cv read the 80% train side, fu-score the 20% test side),
the ratio of time per user to that at the first size, fu-cv's time over fu-fit's, and
fit+policy's over fu-cv's (issue 18: the policy search within 2× fu-cv).

Options:
  --sizes LIST   comma-separated user counts, smallest first; k and M suffixes allowed
                 (default 550k,1.1M,2.75M,5.5M)
  --runs K       runs per tool and size (default 3)
  --work DIR     where the data goes (default bench/work); each size in DIR/scale-N/
  -h, --help     show this help

Environment:
  FU_BIN         directory holding the fu tools
                 (default: <repo>/.build/release, built if missing)

5.5M users are about 100M events (a 1.3 GB .zst); making them takes minutes.
EOF
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sizes_text="550k,1.1M,2.75M,5.5M"
runs=3
work=$bench/work
while (($#)); do
    case $1 in
        --sizes) sizes_text=${2:-}; shift 2 || die "--sizes needs a list" ;;
        --runs) runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --work) [[ -n ${2:-} ]] || die "--work needs a directory"; work=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

# 550k -> 550000, 1.1M -> 1100000.
sizes=()
IFS=',' read -r -a parts <<<"$sizes_text"
for part in "${parts[@]}"; do
    n=$(awk -v s="$part" 'BEGIN {
        m = 1
        if (s ~ /[kK]$/) { m = 1e3; s = substr(s, 1, length(s) - 1) }
        else if (s ~ /M$/) { m = 1e6; s = substr(s, 1, length(s) - 1) }
        if (s !~ /^[0-9]+(\.[0-9]+)?$/) { print "bad"; exit }
        v = s * m
        if (v != int(v) || v < 1000) { print "bad"; exit }
        printf "%d\n", v }')
    [[ $n != bad ]] || die "--sizes: '$part' is not a user count of at least 1000 (like 50k, 1.1M)"
    sizes+=("$n")
done
((${#sizes[@]})) || die "--sizes needs at least one size"

mkdir -p "$work"
work=$(cd "$work" && pwd)
fu_tools fu-synth fu-featurize fu-split fu-fit fu-cv fu-score

machine
echo "runs per measurement: $runs; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"

# rows FILE: data rows of a CSV (lines minus the header).
rows() { echo $(($(wc -l <"$1") - 1)); }

# results[tool:size] = "users|wall|cpu|kb"
declare -A results
tools=(fu-featurize fu-split fu-fit fu-cv fit+policy fu-score)

measure() {
    local tool=$1 size=$2 users=$3
    shift 3
    echo "  $tool, $users users ($runs runs) ..." >&2
    if time_runs "$runs" no_preparation "$@"; then
        results[$tool:$size]="$users|$run_seconds|$run_cpu|$run_kb"
    else
        results[$tool:$size]="$users|-|-|-"
        failed=1
    fi
}

failed=0
declare -A events_of
for size in "${sizes[@]}"; do
    dir=$work/scale-$size
    mkdir -p "$dir"
    echo "size $size users:" >&2
    events_data "$dir" "$size"
    if [[ ! -f $dir/events.count || $zst -nt $dir/events.count ]]; then
        zstd -dc "$zst" | tail -n +2 | wc -l >"$dir/events.count"
    fi
    events_of[$size]=$(<"$dir/events.count")
    measure fu-featurize "$size" "$size" "$fu_bin/fu-featurize" -i "$zst" -o "$dir/features.csv"
    [[ -f $dir/features.csv ]] || continue
    measure fu-split "$size" "$(rows "$dir/features.csv")" \
        "$fu_bin/fu-split" -i "$dir/features.csv" -o "$dir/train.csv" --test "$dir/test.csv"
    [[ -f $dir/train.csv ]] || continue
    train=$(rows "$dir/train.csv")
    measure fu-fit "$size" "$train" "$fu_bin/fu-fit" -i "$dir/train.csv" -o "$dir/model.json"
    measure fu-cv "$size" "$train" "$fu_bin/fu-cv" -i "$dir/train.csv" --folds 5 -o "$dir/cv.json"
    # The train users' events (fu-split's default seed and test size: the users of train.csv).
    if [[ ! -f $dir/train-events.csv.zst || $zst -nt $dir/train-events.csv.zst ]]; then
        "$fu_bin/fu-split" -i "$zst" --test /dev/null -o "$dir/train-events.csv.zst" || die "cannot split the events"
    fi
    measure fit+policy "$size" "$train" "$fu_bin/fu-fit" -i "$dir/train.csv" --policy-events "$dir/train-events.csv.zst" -o "$dir/policy.json"
    [[ -f $dir/model.json ]] || continue
    measure fu-score "$size" "$(rows "$dir/test.csv")" \
        "$fu_bin/fu-score" -m "$dir/model.json" -i "$dir/test.csv" -o "$dir/predictions.csv"
done

# --- report ---------------------------------------------------------------------

first=${sizes[0]}
echo
echo "Times are medians of $runs runs; per user = per row of the tool's input; growth ="
echo "time per user at this size / time per user at $first users (wall, CPU)."
echo
fmt='| %-12s | %9s | %10s | %7s | %7s | %7s | %7s | %13s | %8s | %7s |\n'
# shellcheck disable=SC2059
printf "$fmt" tool users "input" "wall s" "CPU s" "µs/user" "CPU µs" "growth w / cpu" "peak MB" "B/user"
# shellcheck disable=SC2059
printf "$fmt" ------------ --------- ---------- ------- ------- ------- ------- ------------- -------- -------
for tool in "${tools[@]}"; do
    IFS='|' read -r base_users base_wall base_cpu _ <<<"${results[$tool:$first]:-0|-|-|-}"
    for size in "${sizes[@]}"; do
        [[ -n ${results[$tool:$size]:-} ]] || continue
        IFS='|' read -r users wall cpu kb <<<"${results[$tool:$size]}"
        what="$users rows"
        [[ $tool != fu-featurize ]] || what="${events_of[$size]} ev"
        awk -v tool="$tool" -v size="$size" -v users="$users" -v what="$what" -v wall="$wall" -v cpu="$cpu" \
            -v kb="$kb" -v bu="$base_users" -v bw="$base_wall" -v bc="$base_cpu" -v fmt="$fmt" 'BEGIN {
            if (wall == "-") { printf fmt, tool, size, what, "failed", "-", "-", "-", "-", "-", "-"; exit }
            uw = wall / users * 1e6; uc = cpu / users * 1e6
            growth = "-"
            if (bw != "-" && bw > 0 && bc > 0)
                growth = sprintf("%.2f / %.2f", uw / (bw / bu * 1e6), uc / (bc / bu * 1e6))
            split(what, w, " ")
            shown = sprintf("%.2fM %s", w[1] / 1e6, w[2])
            printf fmt, tool, size, shown, sprintf("%.2f", wall), sprintf("%.2f", cpu), sprintf("%.2f", uw),
                sprintf("%.2f", uc), growth, sprintf("%.0f", kb / 1024), sprintf("%.0f", kb * 1024 / users) }'
    done
done
echo
# ratios A B: A's time over B's at each size, wall and CPU.
ratios() {
    local size a_wall a_cpu b_wall b_cpu
    for size in "${sizes[@]}"; do
        IFS='|' read -r _ a_wall a_cpu _ <<<"${results[$1:$size]:-0|-|-|-}"
        IFS='|' read -r _ b_wall b_cpu _ <<<"${results[$2:$size]:-0|-|-|-}"
        awk -v size="$size" -v aw="$a_wall" -v ac="$a_cpu" -v bw="$b_wall" -v bc="$b_cpu" 'BEGIN {
            if (aw == "-" || bw == "-" || bw <= 0 || bc <= 0) { printf "  %9s users: -\n", size; exit }
            printf "  %9s users: %.2f wall, %.2f CPU\n", size, aw / bw, ac / bc }'
    done
}
echo "fu-cv (5 folds) / fu-fit, wall and CPU:"
ratios fu-cv fu-fit
echo "fit+policy (fu-fit --policy-events) / fu-cv, wall and CPU:"
ratios fit+policy fu-cv
for size in "${sizes[@]}"; do
    IFS='|' read -r _ wall _ _ <<<"${results[fu-featurize:$size]:-0|-|-|-}"
    [[ $wall == - ]] || awk -v size="$size" -v e="${events_of[$size]}" -v w="$wall" 'BEGIN {
        printf "fu-featurize at %s users: %.2f s per 10M events (wall)\n", size, w / e * 1e7 }'
done
((!failed)) || exit 1
