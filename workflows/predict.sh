#!/usr/bin/env bash
# Predicts which users are fake: events → features → predictions, the original
# `main.py predict`.
set -euo pipefail
workflow=predict.sh
# shellcheck source=workflows/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: workflows/predict.sh [-m MODEL] -i EVENTS [-o PREDICTIONS] [options]

Featurizes the events and scores every user with the model: UserId,Fake,Probability
(Fake at the model's threshold) to PREDICTIONS, or to stdout like the tools. On a
terminal fu-score's summary shows; the model used is named on stderr.

Options:
  -m, --model FILE  model from train.sh or fu-fit [the bundled model, models/fake_user_detector.json
                    of the fu repository]; its path is shown on stderr
  -i, --input FILE  (or --data) events, CSV or JSON Lines, plain or zstd (required)
  -o, --output FILE predictions (.zst compresses) [stdout]
  --metrics FILE    also write metrics (the events must have Fake)
  --threshold X     instead of the model's threshold
  --log-dir DIR     FU_LOG_DIR for the tools [logs]
  -h, --help        this text
USAGE
}

model=$fu_root/models/fake_user_detector.json
data=""
output=""
score_args=()
log_dir=logs
while (($#)); do
    case $1 in
        -m | --model) model=$2; shift 2 ;;
        -i | --input | --data) data=$2; shift 2 ;;
        -o | --output) output=$2; shift 2 ;;
        --metrics) score_args+=(--metrics "$2"); shift 2 ;;
        --threshold) score_args+=(--threshold "$2"); shift 2 ;;
        --log-dir) log_dir=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
done
[ -n "$data" ] || usage_error "-i/--input (the events) is required; 'predict.sh --help' lists the options"
export FU_LOG_DIR=$log_dir

# The features go to a temporary file, so that a failing fu-featurize is the one error
# shown (fu-score would complain of an empty pipe) while fu-score keeps the terminal for
# its progress and summary.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fu-predict-XXXXXX")
pending_outputs+=("$scratch")  # removed at exit by lib.sh, with its other temporaries
features=$scratch/features.csv.zst
"$(fu_tool fu-featurize)" -i "$data" -o "$features" || exit 1
"$(fu_tool fu-score)" -m "$model" "${score_args[@]}" ${output:+-o "$output"} "$features" || exit 1
# Said always (after the run, so that a failure shows its one error): without -m it is the
# bundled model, not one train.sh wrote here.
say "model: $(shown "$model")"
[ -z "$output" ] || say "predictions: $output"
