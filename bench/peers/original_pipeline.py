#!/usr/bin/env python3
"""The original project's training pipeline, as a peer of workflows/train.sh: pandas
featurization of the reference features, then scikit-learn: a stratified 80/20 split of
the users, 5-fold cross-validated F1 on the train users, a fit on them, and the test
classification report.

Usage: original_pipeline.py EVENTS.csv[.zst] METRICS.json
"""
import json
import sys

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

EVENTS = ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"]


def featurize(path):
    df = pd.read_csv(path, dtype={"UserId": str, "Event": str, "Category": str, "Fake": "int64"})
    by_user = df.groupby("UserId", sort=True)
    counts = df.groupby(["UserId", "Event"]).size().unstack(fill_value=0).reindex(columns=EVENTS, fill_value=0)
    out = pd.DataFrame(index=counts.index)
    out["Fake"] = by_user["Fake"].max()
    out["total_events"] = by_user.size()
    out["click_ad_ratio"] = counts["click_ad"] / out["total_events"]
    out["send_email_ratio"] = counts["send_email"] / out["total_events"]
    out["unique_categories"] = by_user["Category"].nunique()
    out["category_repeat_ratio"] = out["total_events"] / out["unique_categories"]
    for event in EVENTS:
        out[event] = counts[event]
    return out


def main():
    events, metrics_path = sys.argv[1:3]
    features = featurize(events)
    y = features.pop("Fake").to_numpy()
    x = features.to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
    scores = cross_val_score(model, x_train, y_train, cv=folds, scoring="f1")
    model.fit(x_train, y_train)
    probabilities = model.predict_proba(x_test)[:, 1]
    report = classification_report(y_test, model.predict(x_test), output_dict=True)
    report["roc_auc"] = roc_auc_score(y_test, probabilities)
    metrics = {"cross_validation": {"f1_scores": scores.tolist(), "mean_f1": scores.mean(), "std_f1": scores.std()},
               "test_metrics": report}
    with open(metrics_path, "w") as handle:
        json.dump(metrics, handle, indent=1)


if __name__ == "__main__":
    main()
