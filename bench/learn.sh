#!/usr/bin/env bash
# Benchmark fu-fit and fu-cv against scikit-learn and liblinear on the same rows, in the
# same run: median wall time and peak RSS, and each tool's largest coefficient difference
# to the exact scikit-learn solution.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bench/learn.sh [options]

Fits logistic regression (C=1, balanced class weights, standardized features) on the
features of bench/work/events.csv.zst (fu-synth --users 550000 --seed 1, about 10M
events; made by bench/featurize.sh or here) and cross-validates it 5-fold, with fu,
scikit-learn (lbfgs, as a user runs it) and liblinear (liblinear-train -s 0).

Options:
  --runs N          runs of the fast tools (fu, liblinear fit) [5]
  --slow-runs N     runs of scikit-learn and of the CV peers [3]
  --features FILE   use this features CSV instead of the 550k-user one
  -h, --help        this text

Environment: FU_BIN, the folder of the fu tools [<repo>/.build/release].
USAGE
}

die() { echo "learn.sh: $*" >&2; exit 1; }
runs=5
slow_runs=3
features=""
while (($#)); do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --slow-runs) slow_runs=$2; shift 2 ;;
        --features) features=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/work
mkdir -p "$work"
bin=${FU_BIN:-$root/.build/release}
[ -x "$bin/fu-fit" ] || (cd "$root" && swift build -c release)

apt_install() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
[ -x /usr/bin/time ] || apt_install time
command -v liblinear-train >/dev/null || apt_install liblinear-tools

# The peers' Python: the venv bench/featurize.sh made, with scikit-learn added.
[ -x "$bench/.venv/bin/python" ] || python3 -m venv "$bench/.venv"
python=$bench/.venv/bin/python
"$python" -c 'import sklearn, pandas' 2>/dev/null || "$python" -m pip install -q scikit-learn pandas

if [ -z "$features" ]; then
    features=$work/features.csv
    if [ ! -f "$work/events.csv.zst" ]; then
        "$bin/fu-synth" --users 550000 --seed 1 -o "$work/events.csv.zst"
    fi
    if [ ! -f "$features" ] || [ "$work/events.csv.zst" -nt "$features" ]; then
        "$bin/fu-featurize" -i "$work/events.csv.zst" -o "$features"
    fi
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "data: $(($(wc -l < "$features") - 1)) users, $(($(head -1 "$features" | tr ',' '\n' | wc -l) - 2)) features"
echo

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure NAME TASK RUNS COMMAND...: prints a table row of median seconds and peak MB.
rows=()
measure() {
    local name=$1 task=$2 count=$3
    shift 3
    local seconds=() megabytes=() i report
    report=$(mktemp)
    for ((i = 0; i < count; i++)); do
        /usr/bin/time -f '%e %M' -o "$report" "$@" >/dev/null 2>&1 || die "$name $task failed"
        local line
        line=$(tail -1 "$report")
        seconds+=("${line% *}")
        megabytes+=("$(awk -v k="${line#* }" 'BEGIN { printf "%.1f", k / 1024 }')")
    done
    rm -f "$report"
    rows+=("$(printf '| %-24s | %-4s | %8s | %9s | %4s |' "$name" "$task" \
        "$(printf '%s\n' "${seconds[@]}" | median)" "$(printf '%s\n' "${megabytes[@]}" | median)" "$count")")
}

echo "converting to LIBSVM format (not timed) ..." >&2
read -r w0 w1 < <("$python" "$bench/peers/to_libsvm.py" "$features" "$work/features.libsvm")
"$python" "$bench/peers/sklearn_learn.py" reference "$features" "$work/sk-reference.json"

echo "timing ..." >&2
measure fu-fit fit "$runs" "$bin/fu-fit" -i "$features" -o "$work/fu-model.json"
measure "scikit-learn (lbfgs)" fit "$slow_runs" "$python" "$bench/peers/sklearn_learn.py" fit "$features" "$work/sk-fit.json"
measure "liblinear -s 0" fit "$runs" liblinear-train -q -s 0 -c 1 -w-1 "$w0" -w1 "$w1" -B 1 "$work/features.libsvm" "$work/liblinear.model"
measure fu-cv cv "$runs" "$bin/fu-cv" -i "$features" -o "$work/fu-cv.json"
measure "scikit-learn (lbfgs)" cv "$slow_runs" "$python" "$bench/peers/sklearn_learn.py" cv "$features" "$work/sk-cv.json"
measure "liblinear -s 0 -v 5" cv "$slow_runs" liblinear-train -q -s 0 -c 1 -w-1 "$w0" -w1 "$w1" -B 1 -v 5 "$work/features.libsvm"

echo "| tool                     | task | median s | median MB | runs |"
echo "| ------------------------ | ---- | -------- | --------- | ---- |"
printf '%s\n' "${rows[@]}"
echo

# Largest |coefficient - exact| in standardized space (liblinear: its weights; its bias
# is penalised, a documented difference, so its intercept is not compared).
"$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
exact = json.load(open(f"{work}/sk-reference.json"))
def gap(coefficients, intercept=None):
    worst = max(abs(a - b) for a, b in zip(coefficients, exact["coefficients"]))
    return worst if intercept is None else max(worst, abs(intercept - exact["intercept"]))
fu = json.load(open(f"{work}/fu-model.json"))
sk = json.load(open(f"{work}/sk-fit.json"))
lines = open(f"{work}/liblinear.model").read().split("\n")
weights = [float(v) for v in lines[lines.index("w") + 1:] if v.strip()]
labels = next(l for l in lines if l.startswith("label")).split()[1:]
sign = 1 if labels[0] == "1" else -1  # liblinear's weights are for its first label
print("max |coefficient - exact| (exact: scikit-learn newton-cholesky, tol 1e-12)")
print(f"  fu-fit                 {gap(fu['coefficients'], fu['intercept']):.3g}  ({fu['training']['iterations']} Newton steps)")
print(f"  scikit-learn lbfgs     {gap(sk['coefficients'], sk['intercept']):.3g}  ({sk['iterations']} iterations)")
print(f"  liblinear -s 0         {gap([sign * w for w in weights[:-1]]):.3g}  (bias penalised)")
cv_fu = json.load(open(f"{work}/fu-cv.json"))["mean_f1"]
cv_sk = json.load(open(f"{work}/sk-cv.json"))["mean_f1"]
print(f"5-fold mean F1: fu-cv {cv_fu:.4f}, scikit-learn {cv_sk:.4f} (different fold assignments)")
PY
