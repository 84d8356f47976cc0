#!/usr/bin/env bash
# Benchmark fu-fit and fu-cv against scikit-learn and liblinear on the same rows, in
# the same run: median wall time and median peak RSS of each, and each tool's largest
# coefficient difference to the exact scikit-learn solution (standardized space).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/learn.sh [options]

Fits logistic regression (L2, C=1, balanced class weights, standardized features,
intercept) and cross-validates it 5-fold with fu-fit/fu-cv, scikit-learn (lbfgs, as a
user runs it, CSV reading included) and liblinear (liblinear-train -s 0), on the
same features table, and prints a table of median wall time (s) and median peak RSS
(MB), measured with /usr/bin/time -f '%e %M'. Then prints each tool's largest
|coefficient - exact| in standardized space, where "exact" is scikit-learn's
newton-cholesky at tol 1e-12 (not timed), and the CV scores.

The features are those of bench/work/events.csv.zst (fu-synth --users 550000
--seed 1, the data of bench/featurize.sh), made here if missing.

Options:
  --runs N          runs of fu-fit and the liblinear fit (default 5)
  --slow-runs N     runs of scikit-learn and of every CV run, fu-cv included
                    (default 3)
  --features FILE   use this features CSV (UserId,Fake,features...) instead of
                    the 550k-user one; for a quick smoke run
  -h, --help        show this help

Environment:
  FU_BIN            directory holding the fu tools
                    (default: <repo>/.build/release, built if missing)

Files (all under bench/, git-ignored):
  work/events.csv.zst, work/features.csv   the data, reused between runs
  work/learn-*                             converted data and each tool's output
  .venv/                                   Python venv for the peers
EOF
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=5
slow_runs=3
features=""
while (($#)); do
    case $1 in
        --runs) runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --slow-runs) slow_runs=$(posint "$1" "${2:-}"); shift 2 ;;
        --features)
            [[ -f ${2:-} && -r ${2:-} ]] || die "--features needs a readable file, got '${2:-}'"
            features=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

work=$bench/work
mkdir -p "$work"
command -v liblinear-train >/dev/null || apt_install liblinear-tools
fu_tools fu-synth fu-featurize fu-fit fu-cv

# --- Python peers ---------------------------------------------------------------

# The venv of bench/featurize.sh, with scikit-learn added. Unlike there, a failed
# install is fatal: the exact reference the differences are measured against is
# scikit-learn's, and so is the libsvm conversion.
venv=$bench/.venv
py=$venv/bin/python
if ! "$py" -c 'import sklearn, pandas, numpy' 2>/dev/null; then
    echo "setting up $venv with scikit-learn ..." >&2
    [[ -x $py ]] || python3 -m venv "$venv" || die "cannot make $venv"
    "$venv/bin/pip" install -q scikit-learn pandas || die "cannot install scikit-learn"
fi

# --- data ---------------------------------------------------------------------

if [[ -z $features ]]; then
    features_data "$work" 550000
fi
rows=$(($(wc -l <"$features") - 1))                        # minus the header
columns=$(($(head -n 1 "$features" | tr ',' '\n' | wc -l) - 2)) # minus UserId, Fake

machine
echo "data: $features: $rows rows, $columns features"

# Old outputs would make the comparison at the end use a failed tool's results.
rm -f "$work"/learn-{sk-reference.json,fu-model.json,sk-fit.json,liblinear.model,fu-cv.json,sk-cv.json}

# liblinear reads only LIBSVM format: convert once, outside the timing, with the
# same standardization, so every tool fits the same standardized rows.
echo "converting to LIBSVM format (not timed) ..." >&2
libsvm=$work/learn-features.libsvm
read -r w0 w1 < <("$py" "$bench/peers/to_libsvm.py" "$features" "$libsvm")
[[ -n ${w1:-} ]] || die "to_libsvm.py printed no class weights"
echo "balanced class weights n/(2 n_c): w0 $w0, w1 $w1"
echo "fitting the exact reference (scikit-learn newton-cholesky, tol 1e-12; not timed) ..." >&2
"$py" "$bench/peers/sklearn_learn.py" reference "$features" "$work/learn-sk-reference.json"
echo

# --- measurement ----------------------------------------------------------------

sk=$bench/peers/sklearn_learn.py
# liblinear: -s 0 is L2 logistic regression (primal); -c multiplies the loss, like
# scikit-learn's C; -wN scales C for class N; -B 1 adds a bias feature, which,
# unlike fu and scikit-learn, liblinear penalises (a documented difference).
liblinear=(liblinear-train -q -s 0 -c 1 -w0 "$w0" -w1 "$w1" -B 1)

measure_tool fu-fit fit "$runs" "$fu_bin/fu-fit" -i "$features" -o "$work/learn-fu-model.json"
measure_tool "scikit-learn (lbfgs)" fit "$slow_runs" "$py" "$sk" fit "$features" "$work/learn-sk-fit.json"
measure_tool "liblinear -s 0" fit "$runs" "${liblinear[@]}" "$libsvm" "$work/learn-liblinear.model"
measure_tool fu-cv cv "$slow_runs" "$fu_bin/fu-cv" -i "$features" --folds 5 -o "$work/learn-fu-cv.json"
measure_tool "scikit-learn (lbfgs)" cv "$slow_runs" "$py" "$sk" cv "$features" "$work/learn-sk-cv.json"
measure_tool "liblinear -s 0 -v 5" cv "$slow_runs" "${liblinear[@]}" -v 5 "$libsvm"
# liblinear -v prints "Cross Validation Accuracy = X%" even with -q.
liblinear_cv=$(grep -o '[0-9.]*%' "$run_stdout" || true)

# --- report ---------------------------------------------------------------------

echo
row() { printf '| %-24s | %-4s | %8s | %14s | %6s |\n' "$@"; }
row tool task "median s" "median peak MB" runs
row ------------------------ ---- -------- -------------- ------
print_table '| %-24s | %-4s | %8s | %14s | %6s |\n'
echo

# Coefficients are matched by feature name (fu's model lists its own order); a tool
# that failed above is reported as missing rather than stopping the report.
"$py" - "$work" "${liblinear_cv:-}" <<'PY'
import json, os, sys

work, liblinear_cv = sys.argv[1], sys.argv[2]
def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None

exact = load("learn-sk-reference.json")
names = exact["features"]
def gap(coefficients, intercept=None):
    worst = max(abs(a - b) for a, b in zip(coefficients, exact["coefficients"]))
    return worst if intercept is None else max(worst, abs(intercept - exact["intercept"]))

print("max |coefficient - exact| in standardized space, intercept included unless noted")
print(f"(exact: scikit-learn newton-cholesky, tol 1e-12, {exact['iterations']} iterations)")
fu = load("learn-fu-model.json")
if fu:
    by_name = dict(zip(fu["features"], fu["coefficients"]))
    t = fu["training"]
    print(f"  fu-fit                {gap([by_name[n] for n in names], fu['intercept']):10.3g}"
          f"  ({t['iterations']} iterations, converged {t['converged']},"
          f" gradient norm {t['gradient_norm']:.3g})")
    print(f"    fu's class weights {t.get('class_weights')}")
sk = load("learn-sk-fit.json")
if sk:
    print(f"  scikit-learn lbfgs    {gap(sk['coefficients'], sk['intercept']):10.3g}"
          f"  ({sk['iterations']} iterations; default tol 1e-4 stops early)")
path = os.path.join(work, "learn-liblinear.model")
if os.path.exists(path):
    lines = open(path).read().split("\n")
    weights = [float(v) for v in lines[lines.index("w") + 1:] if v.strip()]
    # A two-class model's weights score its first label (the first seen in the data).
    labels = next(l for l in lines if l.startswith("label")).split()[1:]
    sign = 1 if labels[0] == "1" else -1
    print(f"  liblinear -s 0        {gap([sign * w for w in weights[:-1]]):10.3g}"
          f"  (weights only: its bias is penalised; default -e 0.01;"
          f" bias {sign * weights[-1]:.4g} vs exact {exact['intercept']:.4g})")

print("5-fold CV (each tool's own fold assignment):")
fu_cv, sk_cv = load("learn-fu-cv.json"), load("learn-sk-cv.json")
if fu_cv:
    print(f"  fu-cv          mean F1 {fu_cv['mean_f1']:.4f}")
if sk_cv:
    print(f"  scikit-learn   mean F1 {sk_cv['mean_f1']:.4f}")
if liblinear_cv:
    print(f"  liblinear -v 5 accuracy {liblinear_cv} (liblinear reports no F1)")
PY

exit_if_failed
