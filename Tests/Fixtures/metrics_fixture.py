"""Writes metrics_fixture.json: labels and probabilities with scikit-learn's values of the
metrics fu adds (log_loss, brier_score, balanced_accuracy, matthews_corrcoef, recall at a
false-positive rate) and of Platt's sigmoid fit, for MetricsFixtureTests.

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python Tests/Fixtures/metrics_fixture.py > Tests/Fixtures/metrics_fixture.json

scikit-learn has no precision at k; it is computed here with numpy by fu's definition:
among the k most probable users, a group tied at the k-th probability counts its
positives in proportion to the share of it inside the top k.
"""
import json
import sys

import numpy as np
import scipy
import sklearn
from scipy.optimize import minimize
from sklearn.calibration import _sigmoid_calibration
from sklearn.metrics import (balanced_accuracy_score, brier_score_loss, log_loss,
                             matthews_corrcoef, roc_curve)

TOP_COUNTS = [10, 100, 1000]
FALSE_POSITIVE_RATES = [0.01, 0.05]


def precision_at_k(y, p, k):
    cut = np.sort(p)[::-1][k - 1]
    above, tied = p > cut, p == cut
    positives = y[above].sum() + (k - above.sum()) * y[tied].sum() / tied.sum()
    return float(positives / k)


def recall_at_fpr(y, p, rate):
    if y.min() == y.max():
        return None  # undefined with one class
    fpr, tpr, _ = roc_curve(y, p, drop_intermediate=False)
    return float(tpr[fpr <= rate].max())


def mcc(y, predicted):
    return float(matthews_corrcoef(y, predicted))


def metrics_case(name, y, p, threshold):
    predicted = (p >= threshold).astype(int)
    ks = []
    for k in TOP_COUNTS:
        k = min(k, len(y))
        if k not in ks:
            ks.append(k)
    return {
        "name": name,
        "threshold": threshold,
        "labels": [int(v) for v in y],
        "probabilities": [float(v) for v in p],
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier_score": float(brier_score_loss(y, p, pos_label=1)),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
        "matthews_corrcoef": mcc(y, predicted),
        "precision_at_k": {str(k): precision_at_k(y, p, k) for k in ks},
        "recall_at_fpr": {str(rate): recall_at_fpr(y, p, rate) for rate in FALSE_POSITIVE_RATES},
    }


def platt_case(name, f, y):
    a, b = _sigmoid_calibration(f, y)
    # The same objective solved to the last digits, to tell the fit from the optimizer.
    prior1 = float(y.sum())
    prior0 = len(y) - prior1
    t = np.where(y > 0, (prior1 + 1) / (prior1 + 2), 1 / (prior0 + 2))

    def loss(ab):
        z = ab[0] * f + ab[1]
        return np.sum(np.logaddexp(0, z) - (1 - t) * z)

    def grad(ab):
        pr = 1 / (1 + np.exp(ab[0] * f + ab[1]))
        r = t - pr
        return np.array([r @ f, r.sum()])

    def hess(ab):
        pr = 1 / (1 + np.exp(ab[0] * f + ab[1]))
        w = pr * (1 - pr)
        return np.array([[w @ (f * f), w @ f], [w @ f, w.sum()]])

    ab = np.array([a, b])
    for _ in range(50):  # Newton from scikit-learn's answer
        step = np.linalg.solve(hess(ab), grad(ab))
        ab = ab - step
        if np.abs(step).max() < 1e-15 * max(1, np.abs(ab).max()):
            break
    return {"name": name, "decisions": [float(v) for v in f], "labels": [int(v) for v in y],
            "sklearn_a": float(a), "sklearn_b": float(b),
            "exact_a": float(ab[0]), "exact_b": float(ab[1]),
            "sklearn_gradient": [float(v) for v in grad(np.array([a, b]))],
            "exact_gradient": [float(v) for v in grad(ab)]}


rng = np.random.default_rng(12)
n = 400
y = (rng.random(n) < 0.3).astype(int)
score = rng.normal(size=n) + 1.4 * y
p = 1 / (1 + np.exp(-score))
p[::3] = np.round(p[::3], 2)          # many ties
p[:4] = [0.0, 1.0, 1e-20, 1 - 1e-17]  # clipping in log_loss
cases = [metrics_case("mixed", y, p, 0.5), metrics_case("mixed at 0.3", y, p, 0.3)]
small_y = np.array([1, 0, 0, 1, 0, 0, 1, 0])
small_p = np.array([0.9, 0.9, 0.2, 0.4, 0.4, 0.1, 0.4, 0.05])
cases.append(metrics_case("small", small_y, small_p, 0.5))
tie_y = np.array([1, 1, 0, 1, 1, 0, 1, 1] + [1, 0, 0, 0] + [0, 1] * 9)
tie_p = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92] + [0.9] * 4 + [0.5, 0.2] * 9)
cases.append(metrics_case("ties across the 10th", tie_y, tie_p, 0.5))
cases.append(metrics_case("one class", np.zeros(20, dtype=int), np.linspace(0.01, 0.6, 20), 0.5))
decision = 2.1 * score - 0.7
platt = [platt_case("decision values", decision, y),
         platt_case("large decision values", 40 * decision, y)]
json.dump({"generator": "Tests/Fixtures/metrics_fixture.py", "sklearn": sklearn.__version__,
           "numpy": np.__version__, "scipy": scipy.__version__,
           "metrics": cases, "platt": platt}, sys.stdout, indent=1)
sys.stdout.write("\n")
