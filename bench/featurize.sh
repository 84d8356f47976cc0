#!/usr/bin/env bash
# Benchmark fu-featurize against peers (zstd|wc baseline, DuckDB, Polars,
# pandas) on the same synthetic event log, in the same run, and print the
# median wall time and median peak RSS of each.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/featurize.sh [options]

Times fu-featurize and peer tools on the same event log and prints a table of
median wall time (s) and median peak RSS (MB), measured with
/usr/bin/time -f '%e %M'.

Options:
  --runs N          runs per tool and input (default 5)
  --pandas-runs N   runs for the pandas peer, which is slow (default 1)
  --no-pandas       skip the pandas peer
  --users N         users in the synthetic data (default 550000, ~10M events);
                    use a small number for a quick smoke run
  -h, --help        show this help

Environment:
  FU_BIN            directory holding fu-synth and fu-featurize
                    (default: <repo>/.build/release, built if missing)

Files (all under bench/, git-ignored):
  work/events.csv.zst, work/events.csv   the data, reused between runs
  work/out-*.csv                         each tool's feature output
  .venv/                                 Python venv for the peers
EOF
}

die() { echo "featurize.sh: $*" >&2; exit 1; }
warn() { echo "featurize.sh: warning: $*" >&2; }

# Require a positive integer option value.
posint() {
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '${2:-}'"
    printf '%s\n' "$2"
}

runs=5
pandas_runs=1
with_pandas=1
users=550000
while (($#)); do
    case $1 in
        --runs) runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --pandas-runs) pandas_runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --no-pandas) with_pandas=0; shift ;;
        --users) users=$(posint "$1" "${2:-}"); shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/work
mkdir -p "$work"

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
# report peak RSS.
[[ -x /usr/bin/time ]] || apt_install time
command -v zstd >/dev/null || apt_install zstd

# --- fu binaries --------------------------------------------------------------

if [[ -n ${FU_BIN:-} ]]; then
    fu_bin=$FU_BIN
    [[ -x $fu_bin/fu-featurize ]] || die "FU_BIN=$FU_BIN has no fu-featurize"
else
    fu_bin=$root/.build/release
    # Build only when the binary is missing: a rebuild of an up-to-date tree
    # still costs time, and another build may be using the tree.
    if [[ ! -x $fu_bin/fu-featurize ]]; then
        echo "building fu (release) ..." >&2
        (cd "$root" && swift build -c release) >&2
    fi
fi

# --- data ---------------------------------------------------------------------

zst=$work/events.csv.zst
csv=$work/events.csv
stamp=$work/events.users # the --users value the data was made with

# Regenerate when the user count asked for differs from the one recorded;
# data without a record (made by hand) is reused as it is.
if [[ -f $zst && -f $stamp && $(<"$stamp") != "$users" ]]; then
    echo "data was made with --users $(<"$stamp"), regenerating for $users" >&2
    rm -f "$zst" "$csv" "$stamp"
fi
if [[ ! -f $zst ]]; then
    [[ -x $fu_bin/fu-synth ]] || die "no fu-synth in $fu_bin"
    echo "generating $zst (--users $users) ..." >&2
    rm -f "$csv"
    # Write to a temporary name and rename, so an interrupted run leaves no
    # half-written file to be reused next time.
    "$fu_bin/fu-synth" --users "$users" --seed 1 -o "$work/tmp-events.csv.zst" >&2
    mv "$work/tmp-events.csv.zst" "$zst"
    echo "$users" >"$stamp"
fi
if [[ ! -f $csv ]]; then
    echo "decompressing to $csv ..." >&2
    zstd -dc "$zst" >"$work/tmp-events.csv"
    mv "$work/tmp-events.csv" "$csv"
fi
rows=$(($(wc -l <"$csv") - 1)) # minus the header

# --- Python peers ---------------------------------------------------------------

venv=$bench/.venv
py=$venv/bin/python
py_ok=1
if ! "$py" -c 'import duckdb, polars, pandas, zstandard' 2>/dev/null; then
    echo "setting up $venv ..." >&2
    # A failed install only costs the Python peers, not the whole benchmark.
    if ! { [[ -x $py ]] || python3 -m venv "$venv"; } ||
        ! "$venv/bin/pip" install -q duckdb polars pandas zstandard; then
        warn "could not set up the Python venv; skipping the Python peers"
        py_ok=0
    fi
fi
# Skip a peer whose modules still do not import, rather than time a crash.
have_py() { ((py_ok)) && "$py" -c "import $1" 2>/dev/null; }

# --- measurement ----------------------------------------------------------------

# Median of the numbers on stdin, one per line.
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "-";
              else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

table=() # rows of "tool|input|median s|median MB|runs"
timing=$work/time.out
errlog=$work/stderr.out
# Old outputs would make the row counts at the end look valid for a skipped tool.
rm -f "$work"/out-*.csv

# measure TOOL INPUT N CMD...: run CMD N times, record the medians as a row.
measure() {
    local tool=$1 input=$2 n=$3 i secs=() kbs=() e m
    shift 3
    echo "running $tool on $input ($n runs) ..." >&2
    for ((i = 1; i <= n; i++)); do
        if ! /usr/bin/time -f '%e %M' -o "$timing" "$@" >/dev/null 2>"$errlog"; then
            warn "$tool on $input failed (run $i):"
            tail -n 5 "$errlog" >&2
            table+=("$tool|$input|-|-|failed")
            return 0
        fi
        # On success the last line of the -o file is "ELAPSED_S MAXRSS_KB".
        read -r e m < <(tail -n 1 "$timing")
        secs+=("$e")
        kbs+=("$m")
    done
    local s mb
    s=$(printf '%s\n' "${secs[@]}" | median | awk '{ printf "%.2f", $1 }')
    mb=$(printf '%s\n' "${kbs[@]}" | median | awk '{ printf "%.1f", $1 / 1024 }')
    table+=("$tool|$input|$s|$mb|$n")
}

# Baseline: the cost of just decompressing and scanning the lines. bash -c so
# the pipeline is one timed command; peak RSS is that of its largest process.
# shellcheck disable=SC2016 # $1 expands inside the inner bash, not here
measure "baseline: zstd -dc + wc -l" .zst "$runs" bash -c 'zstd -dc "$1" | wc -l' _ "$zst"

for file in "$zst" "$csv"; do
    label=.${file##*.} # .zst or .csv
    measure fu-featurize "$label" "$runs" \
        "$fu_bin/fu-featurize" -i "$file" -o "$work/out-fu.csv"
    if have_py duckdb; then
        measure duckdb "$label" "$runs" \
            "$py" "$bench/peers/duckdb_features.py" "$file" "$work/out-duckdb.csv"
    fi
    if have_py 'polars, zstandard'; then
        measure polars "$label" "$runs" \
            "$py" "$bench/peers/polars_features.py" "$file" "$work/out-polars.csv"
    fi
    if ((with_pandas)) && have_py 'pandas, zstandard'; then
        measure pandas "$label" "$pandas_runs" \
            "$py" "$bench/peers/pandas_features.py" "$file" "$work/out-pandas.csv"
    fi
done
rm -f "$timing" "$errlog"

# --- report ---------------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}"
echo "data: $rows events, $(du -h "$zst" | cut -f1) zst, $(du -h "$csv" | cut -f1) csv"
echo
row() { printf '| %-30s | %-5s | %8s | %14s | %6s |\n' "$@"; }
row tool input "median s" "median peak MB" runs
row ------------------------------ ----- -------- -------------- ------
for r in "${table[@]}"; do
    IFS='|' read -r -a fields <<<"$r"
    row "${fields[@]}"
done

# A cheap sanity check that the tools agree on the number of users; the
# outputs' contents are not compared here.
echo
echo "output rows (with header):"
for f in "$work"/out-*.csv; do
    if [[ -f $f ]]; then echo "  $(basename "$f"): $(wc -l <"$f")"; fi
done

# Fail the script (after printing everything) if any tool failed, so a broken
# tool is not mistaken for a finished benchmark.
for r in "${table[@]}"; do
    [[ $r != *"|failed" ]] || exit 1
done
