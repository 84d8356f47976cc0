#!/usr/bin/env python3
"""scikit-learn peer of fu-fit and fu-cv, as a data scientist would run it.

  sklearn_learn.py fit FEATURES.csv OUT.json        StandardScaler + LogisticRegression(balanced), lbfgs
  sklearn_learn.py cv FEATURES.csv OUT.json         the same in a Pipeline, cross_val_score 5-fold F1
  sklearn_learn.py reference FEATURES.csv OUT.json  newton-cholesky to tol 1e-12: the exact solution
                                                    every tool's coefficients are compared with
"""
import json
import sys

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    mode, features, out = sys.argv[1:4]
    frame = pd.read_csv(features, dtype={"UserId": str})
    y = frame["Fake"].to_numpy()
    x = frame.drop(columns=["UserId", "Fake"]).to_numpy()
    if mode == "cv":
        model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
        scores = cross_val_score(model, x, y, cv=folds, scoring="f1")
        result = {"f1_scores": scores.tolist(), "mean_f1": float(scores.mean())}
    else:
        z = StandardScaler().fit_transform(x)
        if mode == "reference":
            model = LogisticRegression(class_weight="balanced", solver="newton-cholesky", tol=1e-12, max_iter=1000)
        else:
            model = LogisticRegression(class_weight="balanced", max_iter=1000)
        model.fit(z, y)
        result = {"coefficients": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
                  "iterations": int(model.n_iter_[0])}
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
