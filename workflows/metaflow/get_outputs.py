"""Writes a finished FuTrainFlow run's model and metrics files (train.sh's outputs).

    python workflows/metaflow/get_outputs.py                      # the latest successful run
    python workflows/metaflow/get_outputs.py --run-id 1712345678 \
        --model-output m.json --metrics-output metrics.json --test-events-output test_events.csv

Run it with the Metaflow configuration (and, for a local run, from the folder) the flow
ran with: it reads the run through Metaflow's Client API.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from metaflow import Flow, Run, namespace


def write(path, text):
    """Writes beside PATH and renames: a failure leaves the old file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(os.path.abspath(path)))
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(temporary, 0o644)
    return temporary


def fetch_table(url, path):
    """Copies a table (s3:// or a local path) to PATH, decompressed unless PATH ends in .zst."""
    work = tempfile.mkdtemp(prefix="fu-outputs-")
    try:
        local = url
        if url.startswith("s3://"):
            from metaflow import S3

            with S3(tmproot=work) as s3:
                local = os.path.join(work, "table.csv.zst")
                shutil.move(s3.get(url).path, local)
        fd, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(os.path.abspath(path)))
        with os.fdopen(fd, "wb") as out:
            if path.endswith(".zst"):
                with open(local, "rb") as f:
                    shutil.copyfileobj(f, out)
            else:
                subprocess.run(["zstd", "-q", "-d", "-c", local], stdout=out, check=True)
        os.chmod(temporary, 0o644)
        return temporary
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-id", help="the run (default: the latest successful run)")
    parser.add_argument("--model-output", default="models/fake_user_detector.json")
    parser.add_argument("--metrics-output", default="models/training_metrics.json")
    parser.add_argument("--test-events-output", help="the test users' events (the run needs --test-events), and their truth in its name with .truth.csv")
    parser.add_argument("--all-namespaces", action="store_true", help="look past your own namespace (runs of other users, production)")
    args = parser.parse_args()
    if args.all_namespaces:
        namespace(None)
    if args.run_id:
        run = Run("FuTrainFlow/%s" % args.run_id)
        if not run.successful:
            sys.exit("get_outputs: run %s did not finish (resume it first)" % args.run_id)
    else:
        run = Flow("FuTrainFlow").latest_successful_run
        if run is None:
            sys.exit("get_outputs: no successful FuTrainFlow run in this namespace")
    data = run["end"].task.data
    pending = [(write(args.model_output, data.model), args.model_output),
               (write(args.metrics_output, json.dumps(data.metrics, indent=2) + "\n"), args.metrics_output)]
    try:
        if args.test_events_output:
            if not data.test_events_url:
                sys.exit("get_outputs: run %s was not started with --test-events" % run.id)
            truth = args.test_events_output[: -len(".csv")] if args.test_events_output.endswith(".csv") else args.test_events_output
            pending.append((fetch_table(data.test_events_url, args.test_events_output), args.test_events_output))
            pending.append((fetch_table(data.truth_url, truth + ".truth.csv"), truth + ".truth.csv"))
    except BaseException:
        for temporary, _ in pending:
            os.unlink(temporary)
        raise
    # All written: now renamed together, as train.sh publishes its outputs.
    for temporary, target in pending:
        os.replace(temporary, target)
    print("get_outputs: run %s → model %s, metrics %s" % (run.id, args.model_output, args.metrics_output), file=sys.stderr)


if __name__ == "__main__":
    main()
