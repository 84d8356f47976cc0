#!/usr/bin/env bash
# Tests FuTrainFlow without a cluster: the flow runs locally on the bundled events (4
# buckets) and must give train.sh's model and metrics; a featurize task made to fail is
# the only task `resume` reruns; and the S3 path runs against moto_server, an S3 emulator
# on 127.0.0.1. Metaflow, moto and boto3 (pinned in requirements-test.txt) go into the
# hidden venv .venv-metaflow/ of the repository, made once and remade when the pins change.
#   FU_BIN_DIR=DIR   the fu tools to test (default: .build/release, else .build/debug)
# Ends with "N passed, M failed"; exits 1 when any check failed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=$root/.venv-metaflow
passed=0
failed=0
started=$(date +%s)

say() { echo "test_flow: $*" >&2; }
die() { say "error: $*"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
check() { # check NAME COMMAND...: one check, counted
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok - $name"
    else
        failed=$((failed + 1))
        echo "FAILED - $name"
    fi
}

# --- the venv: made once, remade when the pinned requirements change.
stamp=$(cat "$here/requirements.txt" "$here/requirements-test.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$venv/.fu-requirements" 2>/dev/null)" != "$stamp" ]; then
    say "installing $(grep -hv '^[-#]' "$here/requirements.txt" "$here/requirements-test.txt" | tr '\n' ' ')into $venv"
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$venv"
    python3 -m venv "$venv" || die "cannot make $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-test.txt" || die "pip install failed"
    echo "$stamp" > "$venv/.fu-requirements"
fi
python=$venv/bin/python

# --- the tools: the same binaries for the flow (FU_BIN_DIR) and train.sh (FU_BIN).
if [ -z "${FU_BIN_DIR:-}" ]; then
    for dir in "$root/.build/release" "$root/.build/debug"; do
        if [ -x "$dir/fu-featurize" ]; then FU_BIN_DIR=$dir; break; fi
    done
fi
if [ -z "${FU_BIN_DIR:-}" ] || [ ! -x "$FU_BIN_DIR/fu-featurize" ]; then
    die "no fu tools: build with 'bash scripts/setup.sh'"
fi
for tool in fu-partition fu-merge; do
    [ -x "$FU_BIN_DIR/$tool" ] || command -v "$tool" >/dev/null || die "no $tool in $FU_BIN_DIR or on PATH"
done
export FU_BIN_DIR FU_BIN=$FU_BIN_DIR

# --- a scratch folder for everything: the local datastore, the metadata, the outputs.
work=$(mktemp -d)
moto_pid=""
cleanup() {
    [ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || die "no scratch folder"
# Metaflow needs a user name that is not root; no user config applies (METAFLOW_HOME).
export METAFLOW_USER=fu-test METAFLOW_HOME=$work/metaflow-home USERNAME=fu-test
unset METAFLOW_PROFILE
export METAFLOW_DEFAULT_DATASTORE=local METAFLOW_DEFAULT_METADATA=local
mkdir -p "$METAFLOW_HOME" logs
flow=$here/train_flow.py
events=$root/data/events.csv.zst

# train.sh with the same parameters: the reference outputs in ref-NAME/.
reference() {
    local name=$1
    shift
    bash "$root/workflows/train.sh" --input "$events" --cache-dir "$work/fu-cache" --log-dir "$work/logs" \
        --model-output "ref-$name/model.json" --metrics-output "ref-$name/metrics.json" \
        --test-events-output "ref-$name/test_events.csv" "$@" 2> "ref-$name.log" ||
        { cat "ref-$name.log" >&2; die "train.sh failed"; }
}

# same_outputs NAME RUN_ID: get_outputs.py's files for the run equal train.sh's.
same_outputs() {
    local name=$1 run_id=$2
    "$python" "$here/get_outputs.py" --run-id "$run_id" --model-output "out-$name/model.json" \
        --metrics-output "out-$name/metrics.json" --test-events-output "out-$name/test_events.csv" 2>> "out-$name.log" ||
        { cat "out-$name.log" >&2; return 1; }
    cmp "ref-$name/model.json" "out-$name/model.json" &&
        cmp <(jq -S . "ref-$name/metrics.json") <(jq -S . "out-$name/metrics.json") &&
        cmp "ref-$name/test_events.csv" "out-$name/test_events.csv" &&
        cmp "ref-$name/test_events.truth.csv" "out-$name/test_events.truth.csv"
}

# client PYTHON: runs Python with the Client API in the flow's namespace.
client() { "$python" -c "from metaflow import *; namespace(None); $1"; }

# --- 1. locally, 4 buckets, bucket 2 failing while the marker exists: the run fails after
#     one retry; resume (marker gone) reruns that task only and finishes with train.sh's
#     outputs.
reference local
touch "$work/marker"
say "local run, featurize of bucket 2 failing"
FU_FLOW_FAIL_BUCKET=2:$work/marker "$python" "$flow" --quiet run --buckets 4 --test-events true \
    --run-id-file "$work/failed-run" > local-failed.log 2>&1
check "a failing bucket task fails the run" test $? -ne 0
failed_run=$(cat "$work/failed-run" 2>/dev/null)
[ -n "$failed_run" ] || die "no run id for the failed run"
attempts=$(client "
ts = list(Step('FuTrainFlow/$failed_run/featurize'))
print(' '.join(sorted('%s:%s:%s' % (t.index, t.current_attempt, t.successful) for t in ts)))" 2>&1)
check "the failed run: buckets 0, 1, 3 done, bucket 2 tried twice (@retry) and failed [$attempts]" \
    test "$attempts" = "0:0:True 1:0:True 2:1:False 3:0:True"
rm "$work/marker"
say "resume"
FU_FLOW_FAIL_BUCKET=2:$work/marker "$python" "$flow" --quiet resume --origin-run-id "$failed_run" \
    --run-id-file "$work/resumed-run" > local-resume.log 2>&1
check "resume finishes the run" test $? -eq 0
resumed_run=$(cat "$work/resumed-run" 2>/dev/null)
ran=$(client "
r = Run('FuTrainFlow/$resumed_run')
print(' '.join(sorted('%s/%s' % (s.id, t.index if t.index is not None else '-') for s in r for t in s if 'origin-task-id' not in t.metadata_dict)))" 2>&1)
check "resume reran featurize of bucket 2 and the steps after it only [$ran]" \
    test "$ran" = "cv/- end/- featurize/2 fit/- merge/- score/- split/-"
check "the resumed run's model, metrics and test events are train.sh's" same_outputs local "$resumed_run"

# --- 2. S3: the datastore and the tables in moto_server's S3, the events read from s3://,
#     other parameters (threshold auto, calibrated, 3 folds, 3 features, 3 buckets).
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > moto.log 2>&1 &
moto_pid=$!
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port METAFLOW_S3_ENDPOINT_URL=http://127.0.0.1:$port
for _ in $(seq 50); do curl -s -o /dev/null "$AWS_ENDPOINT_URL" && break; sleep 0.1; done
"$python" -c "
import boto3
s3 = boto3.client('s3')
s3.create_bucket(Bucket='fu-test')
s3.upload_file('$events', 'fu-test', 'input/events.csv.zst')" || die "cannot make the S3 bucket in moto_server"
s3_features=total_events,click_ad_ratio,send_email_ratio,unique_categories
s3_args=(--threshold auto --calibrate sigmoid --cv-folds 3 --features "$s3_features")
reference s3 "${s3_args[@]}"
say "S3 run (moto_server on port $port)"
export METAFLOW_DEFAULT_DATASTORE=s3 METAFLOW_DATASTORE_SYSROOT_S3=s3://fu-test/metaflow
"$python" "$flow" --quiet run --events s3://fu-test/input/ --buckets 3 --test-events true "${s3_args[@]}" \
    --run-id-file "$work/s3-run" > s3.log 2>&1
check "the flow runs on the S3 datastore" test $? -eq 0
s3_run=$(cat "$work/s3-run" 2>/dev/null)
check "the S3 run's model, metrics and test events are train.sh's" same_outputs s3 "$s3_run"
tables=$("$python" -c "
import boto3
keys = [o['Key'] for o in boto3.client('s3').list_objects_v2(Bucket='fu-test', Prefix='metaflow/data/fu-tables/FuTrainFlow/$s3_run/').get('Contents', [])]
print(' '.join(sorted({k.split('/')[5] + '/' + k.split('/')[-1] for k in keys})))" 2>&1)
check "the S3 run's tables are in S3 [$tables]" test "$tables" = \
    "featurize/features.csv.zst merge/features.csv.zst partition/bucket-00000-of-00003.csv.zst partition/bucket-00001-of-00003.csv.zst partition/bucket-00002-of-00003.csv.zst score/predictions.csv.zst split/test.csv.zst split/test_events.csv.zst split/train.csv.zst split/train_events.csv.zst split/truth.csv.zst"
check "the S3 run wrote no local tables" test ! -e "$work/.metaflow/fu-tables/FuTrainFlow/$s3_run"

say "$(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
