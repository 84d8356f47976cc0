#!/usr/bin/env python3
"""The original project's training pipeline, as the peer of workflows/train.sh in
bench/workflow.sh: what a typical train.py does.

Usage: original_pipeline.py EVENTS METRICS.json

EVENTS is a CSV (header UserId,Event,Category,Fake), plain or zstd-compressed (.zst).
pandas featurization of the reference features (as bench/peers/pandas_features.py),
then scikit-learn: a stratified 80/20 split of the users (random_state 42),
StandardScaler + LogisticRegression(class_weight="balanced", max_iter=1000) with
5-fold stratified cross-validated F1 on the train users, a fit on them, and the
classification report of the test users, printed and written to METRICS.json.
"""
import json
import sys

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# The featurization is the pandas peer's (this folder is on sys.path when run as a script).
from pandas_features import featurize

TEST_SIZE = 0.2
RANDOM_STATE = 42
CV_FOLDS = 5


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    events, metrics_path = sys.argv[1:3]
    features = featurize(events)
    y = features.pop("Fake").to_numpy()
    x = features.to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=RANDOM_STATE)
    scores = cross_val_score(model, x_train, y_train, cv=folds, scoring="f1")
    print(f"cross-validated F1: {scores.mean():.4f} (+/- {scores.std():.4f})")
    model.fit(x_train, y_train)
    predictions = model.predict(x_test)
    probabilities = model.predict_proba(x_test)[:, 1]
    print(classification_report(y_test, predictions))
    report = classification_report(y_test, predictions, output_dict=True)
    report["roc_auc"] = float(roc_auc_score(y_test, probabilities))
    metrics = {
        "cross_validation": {"f1_scores": scores.tolist(), "mean_f1": float(scores.mean()),
                             "std_f1": float(scores.std())},
        "test_metrics": report,
        "parameters": {"test_size": TEST_SIZE, "cv_folds": CV_FOLDS, "random_state": RANDOM_STATE,
                       "features": list(features.columns)},
    }
    with open(metrics_path, "w") as handle:
        json.dump(metrics, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
