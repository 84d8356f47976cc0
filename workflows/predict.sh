#!/usr/bin/env bash
# Predicts which users are fake: events → features → predictions, the original
# `main.py predict`.
set -euo pipefail
workflow=predict.sh
# shellcheck source=workflows/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: workflows/predict.sh [-m MODEL] -i EVENTS -o PREDICTIONS [options]

Featurizes the events and scores every user with the model: PREDICTIONS gets
UserId,Fake,Probability (Fake at the model's threshold).

Options:
  -m, --model FILE  model from train.sh or fu-fit [the bundled model, models/fake_user_detector.json
                    of the fu repository]; its path is shown on stderr
  -i, --input FILE  (or --data) events, CSV or JSON Lines, plain or zstd (required)
  -o, --output FILE predictions (required; .zst compresses)
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
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[ -n "$data" ] || { usage >&2; die "-i/--input (the events) is required"; }
[ -n "$output" ] || { usage >&2; die "-o/--output is required"; }
export FU_LOG_DIR=$log_dir

# When fu-featurize fails, fu-score then sees no input: its own error would only mislead,
# so it is shown only when the first step succeeded.
score_errors=$(mktemp)
status=0
"$(fu_tool fu-featurize)" -i "$data" | "$(fu_tool fu-score)" -m "$model" "${score_args[@]}" -o "$output" 2>"$score_errors" ||
    status=("${PIPESTATUS[@]}")
if ((status[0] == 0)); then cat "$score_errors" >&2; fi
rm -f "$score_errors"
if ((status[0] != 0 || ${status[1]:-0} != 0)); then exit 1; fi
# Said always (after the run, so that a failure shows its one error): without -m it is the
# bundled model, not one train.sh wrote here.
say "model: $(shown "$model")"
say "predictions: $output"
