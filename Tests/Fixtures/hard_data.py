"""Writes hard_data.json: small hard cases for fu's solver and scikit-learn's answers.

Each case is raw feature rows X (before scaling), labels y, C, and scikit-learn's
StandardScaler + LogisticRegression(class_weight="balanced") fit on all rows: scaler
mean/scale, coefficients (standardized space), intercept, the objective
C·Σ sᵢ log(1 + exp(−ỹᵢ ηᵢ)) + ½‖w‖² at that solution, its scaled gradient (max |∂f| / (C·Σ sᵢ)),
and the solver that got the smaller gradient. `repeat` > 1: the rows are tiled that many
times (row order X, X, X, ...) before fitting.

Run: python hard_data.py > hard_data.json   (scikit-learn 1.9.1, numpy 2.4)
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def objective(Z, y, C, w, b):
    n, positives = len(y), int(y.sum())
    s = np.where(y == 1, n / (2 * positives), n / (2 * (n - positives)))
    eta = Z @ w + b
    margin = np.where(y == 1, eta, -eta)
    value = C * np.sum(s * np.logaddexp(0, -margin)) + 0.5 * w @ w
    residual = C * s * (1 / (1 + np.exp(-eta)) - y)
    gradient = np.concatenate([Z.T @ residual + w, [residual.sum()]])
    return float(value), float(np.abs(gradient).max() / (C * s.sum()))


def fit(name, X, y, C, repeat=1):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    Xt, yt = np.tile(X, (repeat, 1)), np.tile(y, repeat)
    scaler = StandardScaler().fit(Xt)
    Z = scaler.transform(Xt)
    best = None
    for solver in ["newton-cholesky", "lbfgs"]:
        model = LogisticRegression(class_weight="balanced", C=C, tol=1e-12, max_iter=10000, solver=solver).fit(Z, yt)
        w, b = model.coef_[0], float(model.intercept_[0])
        value, gradient = objective(Z, yt, C, w, b)
        if best is None or gradient < best["gradient_norm"]:
            best = {"solver": solver, "n_iter": int(model.n_iter_[0]), "coefficients": w.tolist(), "intercept": b,
                    "objective": value, "gradient_norm": gradient}
    rows = [[int(v) if v.is_integer() and abs(v) < 1e9 else v for v in row] for row in X.tolist()]  # shorter JSON
    return {"name": name, "C": C, "repeat": repeat, "X": rows, "y": y.tolist(),
            "scaler_mean": scaler.mean_.tolist(), "scaler_scale": scaler.scale_.tolist(), **best}


rng = np.random.default_rng(20240610)
cases = []

# Perfectly separable classes (a gap between them on feature 0), almost no penalty.
x0 = np.concatenate([rng.uniform(0, 4, 30), rng.uniform(6, 10, 30)])
x1 = rng.normal(0, 1, 60)
cases.append(fit("separable_C1e6", np.column_stack([x0, x1]), [0] * 30 + [1] * 30, 1e6))

# Overlapping classes, nearly all penalty: coefficients of order C.
X = rng.normal(0, 1, (80, 3))
y = (X[:, 0] + X[:, 1] + rng.normal(0, 1, 80) > 0.8).astype(int)
cases.append(fit("tiny_C1e-6", X, y, 1e-6))

# A constant column: StandardScaler gives it scale 1, so it is 0 after scaling.
X = np.column_stack([np.full(60, 7.0), rng.poisson(3, 60), rng.normal(0, 1, 60)])
y = (X[:, 1] + rng.normal(0, 1.5, 60) > 3.5).astype(int)
cases.append(fit("constant_column", X, y, 1.0))

# Values near 1e12 (spread of a few million, so the scaling keeps ~1e-10 relative digits).
X = np.column_stack([1e12 + rng.integers(0, 5_000_000, 70).astype(float), rng.normal(0, 1, 70)])
y = ((X[:, 0] - 1e12) / 5e6 + 0.5 * X[:, 1] + rng.normal(0, 0.3, 70) > 0.7).astype(int)
cases.append(fit("near_1e12", X, y, 1.0))

# Thousands of duplicated rows: 40 distinct rows, each 3000 times (120,000 rows, enough
# for fu's every-16th-row warm start, which then sees only 5 distinct rows).
X = rng.integers(0, 6, (40, 3)).astype(float)
y = (X[:, 0] + X[:, 1] + rng.integers(0, 4, 40) > 6).astype(int)
cases.append(fit("duplicated_rows", X, y, 1.0, repeat=3000))

# A training fold with a single positive among 40 rows.
X = rng.normal(0, 1, (40, 3))
y = np.zeros(40, dtype=int)
y[int(np.argmax(X[:, 0]))] = 1
cases.append(fit("single_positive", X, y, 1.0))

# 200 features on 300 rows (separable without the penalty), two columns duplicated.
X = rng.integers(0, 10, (300, 200)).astype(float)
X[:, 199] = X[:, 0]
X[:, 198] = X[:, 1]
y = (X[:, :20].sum(axis=1) + rng.normal(0, 6, 300) > 95).astype(int)
cases.append(fit("features_200", X, y, 1.0))

# One case a line.
sys.stdout.write('{"about": %s,\n"cases": [\n' % json.dumps(f"hard_data.py with scikit-learn {sklearn.__version__}, numpy {np.__version__}"))
sys.stdout.write(",\n".join(json.dumps(case, separators=(",", ":")) for case in cases))
sys.stdout.write("\n]}\n")
