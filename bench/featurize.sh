#!/usr/bin/env bash
# Benchmark fu-featurize against peers (zstd|wc baseline, DuckDB, Polars,
# pandas) on the same synthetic event log, in the same run, and print the
# median wall time and median peak RSS of each.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/featurize.sh [options]

Times fu-featurize and peer tools on the same event log and prints a table of
median wall time (s), median CPU time (user + system, s) and median peak RSS
(MB), measured with /usr/bin/time.

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

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

work=$bench/work
mkdir -p "$work"
command -v zstd >/dev/null || apt_install zstd
fu_tools fu-synth fu-featurize
events_data "$work" "$users"
csv=$work/events.csv
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

# CPU seconds (user + system) beside wall time: on a shared machine the steadier figure.
measure_cpu=1

# Old outputs would make the row counts at the end look valid for a skipped tool.
rm -f "$work"/out-*.csv

# Baseline: the cost of just decompressing and scanning the lines. bash -c so
# the pipeline is one timed command; peak RSS is that of its largest process.
# shellcheck disable=SC2016 # $1 expands inside the inner bash, not here
measure_tool "baseline: zstd -dc + wc -l" .zst "$runs" bash -c 'zstd -dc "$1" | wc -l' _ "$zst"

for file in "$zst" "$csv"; do
    label=.${file##*.} # .zst or .csv
    measure_tool fu-featurize "$label" "$runs" \
        "$fu_bin/fu-featurize" -i "$file" -o "$work/out-fu.csv"
    if have_py duckdb; then
        measure_tool duckdb "$label" "$runs" \
            "$py" "$bench/peers/duckdb_features.py" "$file" "$work/out-duckdb.csv"
    fi
    if have_py 'polars, zstandard'; then
        measure_tool polars "$label" "$runs" \
            "$py" "$bench/peers/polars_features.py" "$file" "$work/out-polars.csv"
    fi
    if ((with_pandas)) && have_py 'pandas, zstandard'; then
        measure_tool pandas "$label" "$pandas_runs" \
            "$py" "$bench/peers/pandas_features.py" "$file" "$work/out-pandas.csv"
    fi
done

# --- report ---------------------------------------------------------------------

echo
machine
echo "data: $rows events, $(du -h "$zst" | cut -f1) zst, $(du -h "$csv" | cut -f1) csv"
echo
row() { printf '| %-30s | %-5s | %8s | %12s | %14s | %6s |\n' "$@"; }
row tool input "median s" "median CPU s" "median peak MB" runs
row ------------------------------ ----- -------- ------------ -------------- ------
print_table '| %-30s | %-5s | %8s | %12s | %14s | %6s |\n'

# A cheap sanity check that the tools agree on the number of users; the
# outputs' contents are not compared here.
echo
echo "output rows (with header):"
for f in "$work"/out-*.csv; do
    if [[ -f $f ]]; then echo "  $(basename "$f"): $(wc -l <"$f")"; fi
done

exit_if_failed
