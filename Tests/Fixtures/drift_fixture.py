"""Writes drift_fixture.json: training and new feature values with NumPy's decile edges,
bin shares and population stability index by fu's definition (docs/design.md, Drift),
for the drift tests (DriftMatchesNumPy, DriftEndToEnd). Any NumPy 1.22 or later:

    python3 -m venv /tmp/np && /tmp/np/bin/pip install numpy
    /tmp/np/bin/python Tests/Fixtures/drift_fixture.py > Tests/Fixtures/drift_fixture.json

The definition, as the code below computes it: edges are np.quantile of the training
values at k/10 for k = 1…9 (method "linear", NumPy's default), equal edges merged; a value
goes to bin searchsorted(edges, x, side="right"), so a value on an edge goes to the bin on
its right; each side's shares are floored at 1e-4; PSI = Σ (new − train) · ln(new / train),
summed bin by bin in order. Overall is the mean over features not constant in training.
"""
import json
import math
import sys

import numpy as np

FLOOR = 1e-4
DECILES = np.arange(1, 10) / 10


def distribution(train):
    edges = np.unique(np.quantile(train, DECILES))
    return edges, shares(edges, train)


def shares(edges, values):
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / len(values)


def psi(train_shares, new_shares):
    total = 0.0
    for t, n in zip(np.maximum(train_shares, FLOOR), np.maximum(new_shares, FLOOR)):
        total += (n - t) * math.log(n / t)
    return total


def case(name, train, new):
    train, new = np.asarray(train, dtype=float), np.asarray(new, dtype=float)
    edges, train_shares = distribution(train)
    new_shares = shares(edges, new)
    constant = train.min() == train.max()
    return {
        "name": name, "train": train.tolist(), "new": new.tolist(), "edges": edges.tolist(),
        "train_shares": train_shares.tolist(), "new_shares": new_shares.tolist(),
        "psi": None if constant else psi(train_shares, new_shares),
    }


def main():
    rng = np.random.default_rng(19)
    n, m = 997, 613  # not multiples of ten: most decile positions fall between two values
    columns = {
        # Fractions with three decimals: interpolated edges, on both sides of one half.
        "spread": (np.round(rng.normal(5, 2, n), 3), np.round(rng.normal(5.6, 2.3, m), 3)),
        # Counts: many values on the edges, some edges merged.
        "counts": (rng.poisson(2.0, n).astype(float), rng.poisson(2.6, m).astype(float)),
        # Mostly zero: every decile is 0, one edge, two bins.
        "sparse": ((rng.random(n) < 0.05).astype(float), (rng.random(m) < 0.3).astype(float)),
        # New values outside the training range on both sides; empty new bins hit the floor.
        "shifted": (np.round(rng.uniform(0, 1, n), 4), np.round(rng.uniform(0.7, 1.9, m), 4)),
        "constant": (np.full(n, 3.0), np.round(rng.uniform(2, 4, m), 2)),
    }
    features = [case(name, train, new) for name, (train, new) in columns.items()]
    measured = [f["psi"] for f in features if f["psi"] is not None]
    labels = (rng.random(n) < 0.2).astype(int)
    small = [
        case("one value", [4.0], [3.0, 4.0, 5.0]),
        case("two values", [1.0, 2.0], [1.0, 1.5, 2.0, 2.5]),
        case("three values", [0.0, 0.1, 0.7], [0.05, 0.3, 0.7, 0.9]),
        case("eleven values", [float(i) for i in range(11)], [0.0, 5.0, 5.0, 9.5, 10.0, 11.0]),
        case("ties on edges", [1, 1, 2, 2, 2, 3, 3, 3, 3, 7], [1, 2, 3, 3, 7, 7, 7, 8]),
    ]
    json.dump({
        "numpy": np.__version__,
        "table": {"labels": labels.tolist(), "features": features, "overall": sum(measured) / len(measured)},
        "small": small,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
