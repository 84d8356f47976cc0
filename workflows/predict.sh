#!/usr/bin/env bash
# Predicts which users are fake: events → features → predictions, the original
# `main.py predict`.
set -euo pipefail
workflow=predict.sh
# shellcheck source=workflows/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: workflows/predict.sh --model MODEL --data EVENTS --output PREDICTIONS [options]

Featurizes the events and scores every user with the model: PREDICTIONS gets
UserId,Fake,Probability (Fake at the model's threshold).

Options:
  --model FILE      model from train.sh or fu-fit [models/fake_user_detector.json]
  --data FILE       events, CSV or JSON Lines, plain or zstd (required)
  --output FILE     predictions (required; .zst compresses)
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
        --model) model=$2; shift 2 ;;
        --data) data=$2; shift 2 ;;
        --output) output=$2; shift 2 ;;
        --metrics) score_args+=(--metrics "$2"); shift 2 ;;
        --threshold) score_args+=(--threshold "$2"); shift 2 ;;
        --log-dir) log_dir=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[ -n "$data" ] || { usage >&2; die "--data is required"; }
[ -n "$output" ] || { usage >&2; die "--output is required"; }
export FU_LOG_DIR=$log_dir

"$(fu_tool fu-featurize)" -i "$data" | "$(fu_tool fu-score)" -m "$model" "${score_args[@]}" -o "$output"
say "predictions: $output"
