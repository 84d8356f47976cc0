"""FuTrainFlow: workflows/train.sh as a Metaflow flow, to run past one machine.

    start ─ partition ─ featurize (foreach bucket) ─ merge ─ split ─┬─ cv  ─┬─ score ─ end
                                                                    └─ fit ─┘

The parameters and defaults are train.sh's (--events is its --input, --buckets its
--shards). Tables move as files (a local folder, or s3:// through metaflow.S3); the model,
the metrics and the tables' URLs are artifacts. Get the model and metrics files after a
run with workflows/metaflow/get_outputs.py. See README.md, "Past one machine".
"""

import json
import os
import tempfile

from metaflow import FlowSpec, Parameter, current, resources, retry, step

from fu_tables import Tables, default_root, expand_events, run

# A test hook (workflows/metaflow/test_flow.sh): "B:FILE" makes featurize of bucket B fail
# while FILE exists, to check that `resume` reruns only that task.
FAIL_HOOK = "FU_FLOW_FAIL_BUCKET"

# Every step but start and end runs one pure command on files and writes under its own
# task's key: safely repeatable, so retried once at once (a lost node, a spot reclaim).
RETRY = dict(times=1, minutes_between_retries=0)


def number(text):
    """--test-size as jq's tonumber reads it (train.sh's metrics file): 0.2 or 500."""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


class FuTrainFlow(FlowSpec):
    # Not `input`: FlowSpec uses self.input for the foreach item, and a Parameter of that
    # name silently breaks.
    events = Parameter(
        "events",
        help="Events (CSV or JSON Lines, plain or zstd): comma-separated files, folders or "
        "s3:// URLs (a URL ending in / is a prefix). train.sh's --input",
        default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "events.csv.zst"),
    )
    test_size = Parameter("test-size", help="Fraction (or number) of users held out", default="0.2")
    cv_folds = Parameter("cv-folds", help="Cross-validation folds", type=int, default=5)
    random_state = Parameter("random-state", help="Seed of the split and the folds", type=int, default=42)
    threshold = Parameter(
        "threshold", help="Decision threshold, or auto, capacity:R or cost:fp=A,fn=B (fu-fit's rules)", default="0.5")
    calibrate = Parameter("calibrate", help="none, or sigmoid: Platt calibration on out-of-fold scores", default="none")
    policy_bound = Parameter(
        "policy-bound",
        help="Real train users the stream policy may ever flag: batch, or a share (fu-fit --policy-bound)",
        default="batch",
    )
    bands = Parameter(
        "bands",
        help="Allow/review/block bands on out-of-fold scores: capacity=R,precision=P (fu-fit --bands); default none",
        default="",
    )
    features = Parameter("features", help="Feature columns A,B,C (default: all)", default="")
    buckets = Parameter(
        "buckets",
        help="Buckets to featurize in parallel (train.sh's --shards); past 100 also pass "
        "--max-num-splits to run",
        type=int,
        default=4,
    )
    test_events = Parameter(
        "test-events",
        help="Also keep the test users' events without Fake, and their ground truth "
        "(train.sh's --test-events-output)",
        type=bool,
        default=False,
    )
    tables_root = Parameter(
        "tables-root",
        help="Where the tables go: a folder or s3://bucket/prefix (default: the S3 datatools "
        "root when the datastore is S3, else .metaflow/fu-tables)",
        default="",
    )

    @resources(cpu=1, memory=1024)
    @step
    def start(self):
        """Checks the parameters and lists the events files."""
        number(self.test_size)  # a ValueError here rather than after featurizing
        if not self.chosen_on_folds():
            float(self.threshold)  # fu-fit checks the rules' own syntax
        if not 1 <= self.buckets <= 256:
            raise ValueError("--buckets must be between 1 and 256 (fu-partition's limit)")
        if self.calibrate not in ("none", "sigmoid"):
            raise ValueError("--calibrate must be none or sigmoid")
        if self.cv_folds < 2:
            raise ValueError("--cv-folds must be at least 2")
        self.root = self.tables_root or default_root()
        self.inputs = expand_events(self.events)
        print("events: %s; tables: %s" % (" ".join(self.inputs), self.root))
        self.next(self.partition)

    @retry(**RETRY)
    @resources(cpu=1, memory=2048)
    @step
    def partition(self):
        """The events files → N bucket files by the --shard user hash, in one pass
        (fu-partition). One task: a join cannot fan out again, so a task per events file
        would cost two more tasks (two more pod starts) for the usual single file."""
        with tempfile.TemporaryDirectory(prefix="fu-task-") as work:
            tables = Tables(self.root, work)
            events = tables.get_many(self.inputs)
            out = os.path.join(work, "buckets")
            run("fu-partition", "--buckets", self.buckets, "--output-dir", out, *events)
            self.bucket_urls = [
                tables.put(os.path.join(out, "bucket-%05d-of-%05d.csv.zst" % (b, self.buckets)))
                for b in range(self.buckets)
            ]
            self.bucket_ids = list(range(self.buckets))
        self.next(self.featurize, foreach="bucket_ids")

    @retry(**RETRY)
    @resources(cpu=1, memory=4096)
    @step
    def featurize(self):
        """One bucket's events → its users' feature rows, sorted by UserId."""
        self.bucket = self.input
        hook = os.environ.get(FAIL_HOOK, "")
        if hook.partition(":")[0] == str(self.bucket) and os.path.exists(hook.partition(":")[2]):
            raise RuntimeError("%s: bucket %d fails while %s exists" % (FAIL_HOOK, self.bucket, hook.partition(":")[2]))
        with tempfile.TemporaryDirectory(prefix="fu-task-") as work:
            tables = Tables(self.root, work)
            events = tables.get(self.bucket_urls[self.bucket])
            out = os.path.join(work, "features.csv.zst")
            run("fu-featurize", "-i", events, "-o", out)
            self.features_url = tables.put(out)
        self.next(self.merge)

    @retry(**RETRY)
    @resources(cpu=1, memory=2048)
    @step
    def merge(self, inputs):
        """The buckets' tables → one table, exactly one fu-featurize's (fu-merge)."""
        self.merge_artifacts(inputs, include=["root", "inputs"])
        with tempfile.TemporaryDirectory(prefix="fu-task-") as work:
            tables = Tables(self.root, work)
            parts = sorted((i.bucket, i.features_url) for i in inputs)
            files = [tables.get(url, "features-%d.csv.zst" % b) for b, url in parts]
            out = os.path.join(work, "features.csv.zst")
            run("fu-merge", "-o", out, *files)
            self.features_url = tables.put(out)
        self.next(self.split)

    @retry(**RETRY)
    @resources(cpu=1, memory=4096)
    @step
    def split(self):
        """Users → train and test, stratified; their events split the same way (the train
        users' choose the stream policy, the test users' are replayed through fu-watch)."""
        with tempfile.TemporaryDirectory(prefix="fu-task-") as work:
            tables = Tables(self.root, work)
            features = tables.get(self.features_url)
            train, test = os.path.join(work, "train.csv.zst"), os.path.join(work, "test.csv.zst")
            run("fu-split", "-i", features, "--test-size", self.test_size, "--seed", self.random_state, "--test", test, "-o", train)
            self.train_url, self.test_url = tables.put(train), tables.put(test)
            events = tables.get_many(self.inputs)
            if len(events) > 1:
                run("fu-partition", "--buckets", 1, "--output-dir", os.path.join(work, "joined"), *events)
                events = [os.path.join(work, "joined", "bucket-00000-of-00001.csv.zst")]
            train_events = os.path.join(work, "train_events.csv.zst")
            test_events, truth = os.path.join(work, "test_events.csv.zst"), os.path.join(work, "truth.csv.zst")
            run("fu-split", "-i", events[0], "--test-size", self.test_size, "--seed", self.random_state,
                "--drop-label", "--test", test_events, "--truth", truth, "-o", train_events)
            self.train_events_url = tables.put(train_events)
            self.replay_events_url, self.replay_truth_url = tables.put(test_events), tables.put(truth)
            # Published (get_outputs.py --test-events-output) only when asked, as train.sh.
            self.test_events_url, self.truth_url = (self.replay_events_url, self.replay_truth_url) if self.test_events else (None, None)
        self.next(self.cv, self.fit)

    def chosen_on_folds(self):
        """auto, capacity:R and cost:fp=A,fn=B are chosen on out-of-fold scores."""
        return self.threshold == "auto" or self.threshold.startswith(("capacity:", "cost:"))

    def feature_args(self):
        return ["--features", self.features] if self.features else []

    @retry(**RETRY)
    @resources(cpu=2, memory=4096)
    @step
    def cv(self):
        """Cross-validation on the train users."""
        with tempfile.TemporaryDirectory(prefix="fu-task-") as work:
            train = Tables(self.root, work).get(self.train_url)
            out = os.path.join(work, "cv.json")
            run("fu-cv", "-i", train, "--folds", self.cv_folds, "--seed", self.random_state, *self.feature_args(), "-o", out)
            with open(out) as f:
                self.cv_metrics = json.load(f)
        self.next(self.score)

    @retry(**RETRY)
    @resources(cpu=2, memory=4096)
    @step
    def fit(self):
        """The model, fitted on all train users, with the stream policy chosen out of fold on their events."""
        with tempfile.TemporaryDirectory(prefix="fu-task-") as work:
            tables = Tables(self.root, work)
            train, train_events = tables.get(self.train_url), tables.get(self.train_events_url)
            args = ["--threshold", self.threshold] + self.feature_args()
            if self.calibrate != "none":
                args += ["--calibrate", self.calibrate]
            if self.bands:
                args += ["--bands", self.bands]
            args += ["--policy-bound", self.policy_bound, "--folds", self.cv_folds, "--seed", self.random_state]
            model, metrics = os.path.join(work, "model.json"), os.path.join(work, "train_metrics.json")
            run("fu-fit", "-i", train, "--policy-events", train_events, *args, "--metrics", metrics, "-o", model)
            with open(model) as f:
                self.model = f.read()  # the bytes fu-fit wrote, as train.sh's model file
            with open(metrics) as f:
                self.train_metrics = json.load(f)
        self.next(self.score)

    @retry(**RETRY)
    @resources(cpu=1, memory=2048)
    @step
    def score(self, inputs):
        """Scores the test users and replays their events (fu-watch, with the model's stream
        policy and with its threshold alone); the metrics have train.sh's keys."""
        self.merge_artifacts(inputs, include=["root", "inputs", "test_url", "test_events_url", "truth_url", "replay_events_url",
                                              "replay_truth_url", "features_url", "train_url"])
        self.model, self.train_metrics = inputs.fit.model, inputs.fit.train_metrics
        self.cv_metrics = inputs.cv.cv_metrics
        with tempfile.TemporaryDirectory(prefix="fu-task-") as work:
            tables = Tables(self.root, work)
            test = tables.get(self.test_url)
            model = os.path.join(work, "model.json")
            with open(model, "w") as f:
                f.write(self.model)
            metrics, predictions = os.path.join(work, "test_metrics.json"), os.path.join(work, "predictions.csv.zst")
            run("fu-score", "-m", model, "-i", test, "--metrics", metrics, "-o", predictions)
            with open(metrics) as f:
                self.test_metrics = json.load(f)
            self.predictions_url = tables.put(predictions)
            events, truth = tables.get(self.replay_events_url), tables.get(self.replay_truth_url)
            early = {}
            for key, extra in (("early_detection", []), ("early_detection_without_policy", ["--min-events", 1])):
                summary = os.path.join(work, key + ".json")
                run("fu-watch", "-m", model, *extra, "--truth", truth, "--summary", summary, "-o", "/dev/null", events)
                with open(summary) as f:
                    early[key] = json.load(f)["early_detection"]
            self.metrics = {
                "cross_validation": self.cv_metrics,
                "train_metrics": self.train_metrics,
                "test_metrics": self.test_metrics,
                **early,
                "parameters": {
                    "test_size": number(self.test_size),
                    "cv_folds": self.cv_folds,
                    "random_state": self.random_state,
                    "threshold": self.threshold,
                    "calibrate": self.calibrate,
                    "features": self.features or "all",
                    "policy_bound": self.policy_bound,
                    **({"bands": self.bands} if self.bands else {}),
                },
            }
        self.next(self.end)

    @resources(cpu=1, memory=1024)
    @step
    def end(self):
        """Reports; get the files with get_outputs.py."""
        print("test F1 %s; get the model and metrics with: python workflows/metaflow/get_outputs.py --run-id %s"
              % (self.test_metrics["1"]["f1-score"], current.run_id))


if __name__ == "__main__":
    FuTrainFlow()
