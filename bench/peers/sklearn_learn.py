#!/usr/bin/env python3
"""scikit-learn peer of fu-fit and fu-cv, written as a data scientist would run it.

  sklearn_learn.py fit FEATURES.csv OUT.json        StandardScaler + LogisticRegression(balanced),
                                                    default lbfgs: what a user runs, timed
  sklearn_learn.py cv FEATURES.csv OUT.json         the same in a Pipeline, cross_val_score with
                                                    StratifiedKFold(5, shuffle, seed 42), F1; timed
  sklearn_learn.py reference FEATURES.csv OUT.json  newton-cholesky to tol 1e-12: the exact solution
                                                    every tool's coefficients are compared with
                                                    (lbfgs at its default tol stops early); not timed

X is every column except UserId and Fake, in the CSV's order; the JSON records that order
("features") so the comparison can match coefficients by name, not by position.
"""
import json
import sys

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("fit", "cv", "reference"):
        sys.exit(__doc__)
    mode, features, out = sys.argv[1:4]
    # UserId as text: ids like 0017D4F799 would otherwise be guessed as numbers or floats.
    frame = pd.read_csv(features, dtype={"UserId": str})
    y = frame["Fake"].to_numpy()
    x_frame = frame.drop(columns=["UserId", "Fake"])
    names = list(x_frame.columns)
    x = x_frame.to_numpy(dtype=float)
    if mode == "cv":
        # The scaler inside the Pipeline is refitted on each training fold, as fu-cv does.
        model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
        scores = cross_val_score(model, x, y, cv=folds, scoring="f1")
        result = {"f1_scores": scores.tolist(), "mean_f1": float(scores.mean())}
    else:
        z = StandardScaler().fit_transform(x)  # population std, as fu
        if mode == "reference":
            model = LogisticRegression(class_weight="balanced", solver="newton-cholesky", tol=1e-12, max_iter=1000)
        else:
            model = LogisticRegression(class_weight="balanced", max_iter=1000)
        model.fit(z, y)
        result = {"features": names, "coefficients": model.coef_[0].tolist(),
                  "intercept": float(model.intercept_[0]), "iterations": int(model.n_iter_[0])}
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
