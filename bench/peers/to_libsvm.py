#!/usr/bin/env python3
"""to_libsvm.py FEATURES.csv OUT.libsvm

Writes the features in LIBSVM format for liblinear-train, which reads nothing else:
"label 1:v1 2:v2 ..." with label 1 (fake) or 0, features standardized with the mean and
population std (as fu and StandardScaler; a constant column keeps scale 1), in the CSV's
column order minus UserId and Fake. Every value is written, zeros included, so the index
of a weight in liblinear's model is the column's position.

Prints the balanced class weights "W0 W1", W_c = n / (2 n_c), for -w0 and -w1.
"""
import sys

import numpy as np
import pandas as pd

if len(sys.argv) != 3:
    sys.exit(__doc__)
frame = pd.read_csv(sys.argv[1], dtype={"UserId": str})
y = frame["Fake"].to_numpy().astype(int)
x = frame.drop(columns=["UserId", "Fake"]).to_numpy(dtype=float)
scale = x.std(axis=0)  # ddof=0: population std
scale[scale == 0] = 1
z = (x - x.mean(axis=0)) / scale

# %.17g round-trips a double, so liblinear sees exactly the standardized values.
template = " ".join(f"{j + 1}:%.17g" for j in range(z.shape[1]))
with open(sys.argv[2], "w") as out:
    for label, row in zip(y, z):
        out.write(f"{label} " + template % tuple(row) + "\n")

n, positives = len(y), int(y.sum())
print(f"{n / (2 * (n - positives)):.17g} {n / (2 * positives):.17g}")
