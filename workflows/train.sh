#!/usr/bin/env bash
# Trains the fake-user model from events: featurize → split → cv → fit (with its stream
# policy) → score → early detection → report, each stage cached. The parameters and defaults are the original train.py's.
set -euo pipefail
workflow=train.sh
# shellcheck source=workflows/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: workflows/train.sh [options]

Featurizes the events, splits users into train and test (stratified), cross-validates,
fits the model on the train users with a stream policy chosen on their events (fu-fit
--policy-events), scores the test users, replays their events through fu-watch (the
metrics file's early_detection, with the policy, and early_detection_without_policy, at
the threshold alone), and writes the model, a metrics file and an HTML evaluation report
(with its curves as CSV files). Every stage's output is cached under the cache folder, keyed by the
content of its inputs, its arguments and the fu version: a rerun with nothing changed
runs no tool.

Options:
  -i, --input FILE           events (CSV or JSON Lines, plain or zstd) [data/events.csv.zst]
  --model-output FILE        [models/fake_user_detector.json] (the repository's own is
                             replaced only by a model of the bundled events)
  --metrics-output FILE      [models/training_metrics.json]
  --report-output FILE       the evaluation report [report.html beside the model]
  --curves-output DIR        roc.csv, pr.csv, calibration.csv, threshold.csv [curves/ beside the model]
  --test-size X              fraction (or number) of users held out [0.2]
  --folds N                  (or --cv-folds) [5]
  --seed N                   (or --random-state) seed of the split and the folds [42]
  --threshold X|auto|capacity:R|cost:fp=A,fn=B
                             decision threshold; auto (best F1), capacity:R (flag at most
                             a share R of users) and cost (least A·FP + B·FN) are chosen
                             on out-of-fold scores (fu-fit --threshold) [0.5]
  --calibrate none|sigmoid   Platt-calibrate the probabilities on out-of-fold scores
                             (fu-fit --calibrate); the report shows before and after [none]
  --bands capacity=R,precision=P
                             allow/review/block bands on out-of-fold scores: block where
                             precision reaches P, review at most a share R below (fu-fit)
  --policy-bound batch|X     real train users the stream policy may ever flag: as many as
                             the model flags on whole histories, or a share (fu-fit) [batch]
  --features A,B,C           feature columns (default: all)
  --test-events-output FILE  also write the test users' events without Fake, and their
                             ground truth beside it (FILE's name with .truth.csv)
  --shards N                 partition the events into N buckets, featurize them in
                             parallel and merge (fu-partition, fu-merge) [1]
  --cache-dir DIR            [.fu-cache]
  --log-dir DIR              FU_LOG_DIR for every tool [logs]
  --force                    ignore the cache
  --from STAGE               rerun from STAGE on (featurize, split, test-events, cv, fit,
                             score, early-detection, report)

The report carries no date, so the same input gives the same bytes, unless
SOURCE_DATE_EPOCH is set: then it shows that date.
  -h, --help                 this text
USAGE
}

input=$fu_root/data/events.csv.zst
model_output=models/fake_user_detector.json
metrics_output=models/training_metrics.json
report_output=""
curves_output=""
test_size=0.2
folds=5
seed=42
threshold=0.5
calibrate=none
policy_bound="batch"
bands=""
features=""
test_events_output=""
shards=1
cache_dir=.fu-cache
log_dir=logs
force=0
from_stage=""
stage_order=(featurize split test-events cv fit score early-detection report)

while (($#)); do
    case $1 in
        -i | --input) input=$2; shift 2 ;;
        --model-output) model_output=$2; shift 2 ;;
        --metrics-output) metrics_output=$2; shift 2 ;;
        --report-output) report_output=$2; shift 2 ;;
        --curves-output) curves_output=$2; shift 2 ;;
        --test-size) test_size=$2; shift 2 ;;
        --folds | --cv-folds) folds=$2; shift 2 ;;
        --seed | --random-state) seed=$2; shift 2 ;;
        --threshold) threshold=$2; shift 2 ;;
        --calibrate) calibrate=$2; shift 2 ;;
        --policy-bound) policy_bound=$2; shift 2 ;;
        --bands) bands=$2; shift 2 ;;
        --features) features=$2; shift 2 ;;
        --test-events-output) test_events_output=$2; shift 2 ;;
        --shards) shards=$2; shift 2 ;;
        --cache-dir) cache_dir=$2; shift 2 ;;
        --log-dir) log_dir=$2; shift 2 ;;
        --force) force=1; shift ;;
        --from) from_stage=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
done

[ -f "$input" ] || die "no input file '$(shown "$input")'"
# The bundled model is what the bundled events make (a test checks it): a model of other
# events must go elsewhere.
bundled_model=$fu_root/models/fake_user_detector.json
if [ "$(realpath -m -- "$model_output")" = "$(realpath -m -- "$bundled_model")" ] &&
    [ "$(realpath -- "$input")" != "$(realpath -- "$fu_root/data/events.csv.zst")" ]; then
    usage_error "will not overwrite the bundled model $(shown "$bundled_model") with a model of $(shown "$input"): choose another file with --model-output"
fi
[[ $shards =~ ^[1-9][0-9]*$ ]] || die "--shards needs a whole number, not '$shards'"
[[ $calibrate =~ ^(none|sigmoid)$ ]] || die "--calibrate needs none or sigmoid, not '$calibrate'"
if [ -n "$from_stage" ] && [[ ! " ${stage_order[*]} " == *" $from_stage "* ]]; then
    die "--from needs one of: ${stage_order[*]}"
fi
[ -n "$report_output" ] || report_output=$(dirname "$model_output")/report.html
[ -n "$curves_output" ] || curves_output=$(dirname "$model_output")/curves
export FU_LOG_DIR=$log_dir
mkdir -p "$cache_dir"

featurize=$(fu_tool fu-featurize)
split=$(fu_tool fu-split)
cv=$(fu_tool fu-cv)
fit=$(fu_tool fu-fit)
score=$(fu_tool fu-score)
report=$(fu_tool fu-report)
watch=$(fu_tool fu-watch)
partition=$(fu_tool fu-partition)
merge=$(fu_tool fu-merge)
# The version and the binaries themselves: a rebuilt tool invalidates what it made.
fu_version="$("$featurize" --version) $(cat "$featurize" "$split" "$cv" "$fit" "$score" "$report" "$watch" "$partition" "$merge" | sha256sum | cut -d' ' -f1)" ||
    die "cannot hash the fu tools for the cache keys"
feature_args=()
[ -z "$features" ] || feature_args=(--features "$features")

# --- featurize: one process, or N buckets (fu-partition by the --shard user hash, one
# pass), each featurized alone in parallel, and merged by UserId (fu-merge). Each bucket is
# a cache entry of its own. Both ways fu writes the table with its own zstd encoder, so the
# same rows are the same bytes and the later stages are cache hits.
# Featurize (or partition, the buckets at once, merge), split, test events, cv, fit, score,
# early detection, report.
stage_total=$((shards == 1 ? 8 : 10))
featurize_stage() { "$featurize" -i "$input" -o "$1/features.csv.zst"; }
if [ "$shards" = 1 ]; then
    run_stage featurize "" featurize_stage "$input"
    features_file=$stage_dir/features.csv.zst
    name_stage_file "$features_file" "the features of '$(shown "$input")' (stage featurize)"
else
    partition_stage() { "$partition" --buckets "$shards" --output-dir "$1" "$input"; }
    run_stage featurize-partition "--buckets $shards" partition_stage "$input"
    bucket_dir=$stage_dir
    bucket_file() { printf '%s/bucket-%05d-of-%05d.csv.zst' "$bucket_dir" "$1" "$shards"; }
    shard_stage() { "$featurize" -i "$bucket" -o "$1/features.csv.zst"; }
    shard_files=()
    # A failing (or interrupted) shard stops the others: see wait_stages.
    begin_stage_group
    for ((i = 0; i < shards; i++)); do
        bucket=$(bucket_file "$i")
        name_stage_file "$bucket" "bucket $((i + 1)) of $shards of '$(shown "$input")' (stage featurize-partition)"
        start_stage "featurize-shard-$i-of-$shards" "" shard_stage "$bucket"
    done
    wait_stages featurize
    for ((i = 0; i < shards; i++)); do
        stage_path "featurize-shard-$i-of-$shards" "" "$(bucket_file "$i")"
        shard_files+=("$stage_dir/features.csv.zst")
        name_stage_file "$stage_dir/features.csv.zst" "the features of bucket $((i + 1)) of $shards of '$(shown "$input")' (stage featurize-shard-$i-of-$shards)"
    done
    # Each bucket's table is sorted by UserId; fu-merge gives exactly the one-process table
    # (a per-type column a bucket lacks is filled with zeros).
    merge_stage() { "$merge" -o "$1/features.csv.zst" "${shard_files[@]}"; }
    run_stage featurize-merge "" merge_stage "${shard_files[@]}"
    features_file=$stage_dir/features.csv.zst
    name_stage_file "$features_file" "the features of '$(shown "$input")' (stage featurize-merge)"
fi

# --- split: stratified by user; the same seed gives the same users on events and features.
split_stage() { "$split" -i "$features_file" --test-size "$test_size" --seed "$seed" --test "$1/test.csv.zst" -o "$1/train.csv.zst"; }
run_stage split "--test-size $test_size --seed $seed" split_stage "$features_file"
train_file=$stage_dir/train.csv.zst
test_file=$stage_dir/test.csv.zst
name_stage_file "$train_file" "the train users' features of '$(shown "$input")' (stage split)"
name_stage_file "$test_file" "the test users' features of '$(shown "$input")' (stage split)"

# --- the same split of the events: the train users' events choose the stream policy, the
# test users' events (without Fake) and their truth are replayed through fu-watch.
test_events_stage() {
    "$split" -i "$input" --test-size "$test_size" --seed "$seed" --drop-label \
        --test "$1/test_events.csv.zst" --truth "$1/truth.csv.zst" -o "$1/train_events.csv.zst"
}
run_stage test-events "--test-size $test_size --seed $seed --train-events" test_events_stage "$input"
test_events_dir=$stage_dir
train_events_file=$stage_dir/train_events.csv.zst
test_events_file=$stage_dir/test_events.csv.zst
truth_file=$stage_dir/truth.csv.zst
name_stage_file "$train_events_file" "the train users' events of '$(shown "$input")' (stage test-events)"
name_stage_file "$test_events_file" "the test users' events of '$(shown "$input")' (stage test-events)"

# --- cv on the train users, keeping the out-of-fold predictions for the report.
cv_stage() { "$cv" -i "$train_file" --folds "$folds" --seed "$seed" "${feature_args[@]}" --oof "$1/oof.csv.zst" -o "$1/cv.json"; }
run_stage cv "--folds $folds --seed $seed ${feature_args[*]} --oof" cv_stage "$train_file"
cv_file=$stage_dir/cv.json
oof_file=$stage_dir/oof.csv.zst
name_stage_file "$oof_file" "the out-of-fold scores of the train users of '$(shown "$input")' (stage cv)"

# --- fit on all train users; the folds choose the stream policy (and the threshold with
# auto, the calibration with sigmoid) out of fold.
fit_args=(--threshold "$threshold" "${feature_args[@]}")
[ "$calibrate" = none ] || fit_args+=(--calibrate "$calibrate")
[ -z "$bands" ] || fit_args+=(--bands "$bands")
fit_args+=(--policy-bound "$policy_bound" --folds "$folds" --seed "$seed")
fit_stage() { "$fit" -i "$train_file" --policy-events "$train_events_file" "${fit_args[@]}" --metrics "$1/train_metrics.json" -o "$1/model.json"; }
run_stage fit "${fit_args[*]} --policy-events" fit_stage "$train_file" "$train_events_file"
model_file=$stage_dir/model.json
train_metrics=$stage_dir/train_metrics.json
name_stage_file "$model_file" "the model fitted on the train users of '$(shown "$input")' (stage fit)"

# --- score the test users.
score_stage() { "$score" -m "$model_file" -i "$test_file" --metrics "$1/test_metrics.json" -o "$1/predictions.csv.zst"; }
run_stage score "" score_stage "$model_file" "$test_file"
test_metrics=$stage_dir/test_metrics.json
predictions_file=$stage_dir/predictions.csv.zst
name_stage_file "$predictions_file" "the scores of the test users of '$(shown "$input")' (stage score)"

# --- early detection: the test users' events replayed in arrival order, with the model's
# stream policy and with its threshold alone (--min-events 1 sets the policy aside).
early_stage() {
    "$watch" -m "$model_file" --truth "$truth_file" --summary "$1/early.json" -o /dev/null "$test_events_file" &&
        "$watch" -m "$model_file" --min-events 1 --truth "$truth_file" --summary "$1/early_without_policy.json" -o /dev/null "$test_events_file"
}
run_stage early-detection "" early_stage "$model_file" "$test_events_file" "$truth_file"
early_file=$stage_dir/early.json
early_plain_file=$stage_dir/early_without_policy.json

# --- publish: the model, one metrics file with the original's top-level keys, the report
# and its curves, test events; all written beside their targets first, then renamed together.
prepare_output "$model_file" "$model_output"
new_output "$metrics_output"
metrics_draft=$output_file
name_stage_file "$metrics_draft" "the metrics file being made for '$(shown "$metrics_output")'"
jq -n --slurpfile cv "$cv_file" --slurpfile train "$train_metrics" --slurpfile test "$test_metrics" \
    --slurpfile early "$early_file" --slurpfile plain "$early_plain_file" \
    --arg test_size "$test_size" --arg folds "$folds" --arg seed "$seed" --arg threshold "$threshold" --arg calibrate "$calibrate" --arg features "$features" \
    --arg policy_bound "$policy_bound" --arg bands "$bands" \
    '{cross_validation: $cv[0], train_metrics: $train[0], test_metrics: $test[0],
      early_detection: $early[0].early_detection, early_detection_without_policy: $plain[0].early_detection,
      parameters: ({test_size: ($test_size | tonumber), cv_folds: ($folds | tonumber), random_state: ($seed | tonumber),
                   threshold: $threshold, calibrate: $calibrate, features: (if $features == "" then "all" else $features end),
                   policy_bound: $policy_bound} + (if $bands == "" then {} else {bands: $bands} end))}' > "$output_file" ||
    die "cannot make the metrics file (no output was changed)"

# --- report: the test users' scores beside their truth (the labelled test features), the
# out-of-fold scores, the metrics file (test metrics, cv, parameters). No wall-clock date:
# SOURCE_DATE_EPOCH's when set (it is then part of the stage's key).
input_digest=sha256:$(file_digest "$input" "no digest of the input for the report") || exit 1
# The name without its folder: the report must not depend on where the checkout is.
report_args=(--input-digest "$input_digest" --input-name "$(basename "$input")")
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    report_key="--input-digest $input_digest SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
else
    report_args+=(--no-date)
    report_key="${report_args[*]}"
fi
report_stage() {
    "$report" -m "$model_file" --predictions "$predictions_file" --truth "$test_file" --metrics "$metrics_draft" \
        --oof "$oof_file" "${report_args[@]}" --curves-dir "$1" -o "$1/report.html"
}
run_stage report "$report_key" report_stage "$model_file" "$predictions_file" "$test_file" "$metrics_draft" "$oof_file"
prepare_output "$stage_dir/report.html" "$report_output"
for curve in roc pr calibration threshold; do
    prepare_output "$stage_dir/$curve.csv" "$curves_output/$curve.csv"
done
if [ -n "$test_events_output" ]; then
    prepare_output "$test_events_dir/test_events.csv.zst" "$test_events_output"
    prepare_output "$test_events_dir/truth.csv.zst" "${test_events_output%.csv}.truth.csv"
fi
publish_outputs

print_summary
# A short human summary of what the model does, from the metrics file.
IFS=$'\t' read -r cv_mean cv_std cv_folds precision recall f1 auc cut tn fp fn tp < <(jq -r '
    .cross_validation as $cv | .test_metrics as $t | $t.confusion_matrix as $m |
    [$cv.mean_f1, $cv.std_f1, $cv.folds, $t["1"].precision, $t["1"].recall, $t["1"]["f1-score"], ($t.roc_auc // 0), $t.threshold,
     $m[0][0], $m[0][1], $m[1][0], $m[1][1]] | @tsv' "$metrics_output")
say "$(LC_ALL=C printf 'cross-validation F1 %.3f ± %.3f over %d folds' "$cv_mean" "$cv_std" "$cv_folds")"
say "$(LC_ALL=C printf 'test: precision %.3f, recall %.3f, F1 %.3f, ROC AUC %.4f at threshold %.4g' "$precision" "$recall" "$f1" "$auc" "$cut")"
say "confusion matrix: TN $(grouped "$tn"), FP $(grouped "$fp"), FN $(grouped "$fn"), TP $(grouped "$tp") (FP: real users flagged, FN: fakes missed)"
IFS=$'\t' read -r caught fakes median p90 ever plain_ever < <(jq -r '
    .early_detection as $e | [$e.fakes_caught, $e.fakes, $e.events_to_flag.median, ($e.events_to_flag.p90 | if . == null then null else (. * 10 | round) / 10 end), $e.real_ever_flagged,
    .early_detection_without_policy.real_ever_flagged] | map(. // "-") | @tsv' "$metrics_output")
say "stream (test events replayed with the model's policy): $caught of $fakes fakes caught, by event $median (median), $p90 (p90); real users ever flagged $ever (threshold alone: $plain_ever)"
say "model: $model_output; metrics: $metrics_output"
say "report: $report_output (open it in a browser; curves in $curves_output/)"
