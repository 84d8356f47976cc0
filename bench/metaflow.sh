#!/usr/bin/env bash
# Times featurizing and the whole training workflow three ways on one synthetic event log:
# one process (train.sh), train.sh --shards 4, and FuTrainFlow run locally by Metaflow with
# 4 buckets; medians of --runs runs, a fresh cache / datastore each run. Also Metaflow's
# overhead per task: a task's wall time minus the seconds its fu tools ran.
#   bench/metaflow.sh [--users N (200000)] [--runs N (3)] [--work DIR (bench/work/metaflow)]
# Needs the venv of workflows/metaflow/test_flow.sh (.venv-metaflow) and the release build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
users=200000 runs=3 work=$root/bench/work/metaflow
while (($#)); do
    case $1 in
        --users) users=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        *) echo "usage: bench/metaflow.sh [--users N] [--runs N] [--work DIR]" >&2; exit 2 ;;
    esac
done
export FU_BIN=${FU_BIN:-$root/.build/release}
export FU_BIN_DIR=${FU_BIN_DIR:-$FU_BIN}
python=$root/.venv-metaflow/bin/python
export METAFLOW_USER=fu-bench METAFLOW_HOME=$work/metaflow-home METAFLOW_DEFAULT_DATASTORE=local METAFLOW_DEFAULT_METADATA=local
mkdir -p "$work" "$METAFLOW_HOME"
cd "$work"
events=$work/events-$users.csv.zst
[ -f "$events" ] || "$FU_BIN/fu-synth" --users "$users" --seed 1 -o "$events"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
seconds() { local s; s=$(date +%s.%N); "$@" > /dev/null 2>&1; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", b - a }'; }
train() { rm -rf cache; bash "$root/workflows/train.sh" --input "$events" --cache-dir cache --log-dir logs \
    --model-output m.json --metrics-output metrics.json "$@"; }
featurize_one() { "$FU_BIN/fu-featurize" -i "$events" | zstd -q -c > f.csv.zst; }
# train.sh's featurize stages alone: its summary table rows featurize*.
train_featurize() { train "$@" 2>&1 | awk '$1 ~ /^featurize/ && $2 == "ran" { if ($1 ~ /merge|^featurize$/) m += $3; else if ($3 > s) s = $3 } END { printf "%.2f\n", s + m }'; }
flow() { rm -rf .metaflow; "$python" "$root/workflows/metaflow/train_flow.py" --quiet run --events "$events" --buckets 4 --run-id-file run-id > flow.log 2>&1; }
# The run's featurize wall time (partition start → merge end), tasks, and overhead per task.
flow_stats() {
    "$python" - "$(cat run-id)" <<'PY'
import sys
from metaflow import Run, namespace
namespace(None)
run = Run("FuTrainFlow/" + sys.argv[1])
tasks = [t for s in run for t in s]
by_step = {s.id: list(s) for s in run}
first = min(t.created_at for t in by_step["partition"])
last = max(t.finished_at for t in by_step["merge"])
overhead = []
for t in tasks:
    tool = sum(float(l.split()[2]) for l in t.stdout.splitlines() if l.startswith("fu-seconds "))
    overhead.append((t.finished_at - t.created_at).total_seconds() - tool)
print("%.2f %d %.2f" % ((last - first).total_seconds(), len(tasks), sum(overhead) / len(overhead)))
PY
}
declare -A times
for ((r = 0; r < runs; r++)); do
    times[f1]+="$(seconds featurize_one) "
    times[fs]+="$(train_featurize --shards 4) "
    times[w1]+="$(seconds train) "
    times[ws]+="$(seconds train --shards 4) "
    times[wm]+="$(seconds flow) "
    read -r fm n oh < <(flow_stats)
    times[fm]+="$fm " times[oh]+="$oh "
done
med() { tr ' ' '\n' <<< "${times[$1]}" | grep . | median; }
echo "users $users, $(zstd -dc "$events" | wc -l) events, $runs runs, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '| %-38s | %10s | %10s |\n' "" "featurize" "whole flow"
printf '| %-38s | %10s | %10s |\n' "one process (train.sh)" "$(med f1)" "$(med w1)"
printf '| %-38s | %10s | %10s |\n' "train.sh --shards 4" "$(med fs)" "$(med ws)"
printf '| %-38s | %10s | %10s |\n' "Metaflow local, 4 buckets ($n tasks)" "$(med fm)" "$(med wm)"
echo "Metaflow overhead per task (wall minus fu tools): $(med oh) s"
