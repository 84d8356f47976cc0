#!/usr/bin/env python3
"""Standardizes a features CSV (mean, population std, as fu and StandardScaler) and writes
it in LIBSVM format for liblinear-train; prints the balanced class weights -w0 and -w1."""
import sys

import numpy as np
import pandas as pd

frame = pd.read_csv(sys.argv[1], dtype={"UserId": str})
y = frame["Fake"].to_numpy()
x = frame.drop(columns=["UserId", "Fake"]).to_numpy(dtype=float)
scale = x.std(axis=0)
scale[scale == 0] = 1
z = (x - x.mean(axis=0)) / scale
with open(sys.argv[2], "w") as out:
    for label, row in zip(y, z):
        out.write(("+1 " if label == 1 else "-1 ") + " ".join(f"{j + 1}:{v:.17g}" for j, v in enumerate(row)) + "\n")
n, positives = len(y), int(y.sum())
print(f"{n / (2 * (n - positives)):.17g} {n / (2 * positives):.17g}")
