#!/usr/bin/env python3
"""FastAPI peer for bench/serve.sh: the original project's prediction API, as its
main.py did it.

Usage: uvicorn fastapi_server:app --app-dir bench/peers --port PORT
with FU_PEER_MODEL=PATH (a pickle made by `fastapi_server.py train EVENTS PATH`).

POST /predict?model_path=PATH takes the events CSV in the multipart field `file`,
loads the pickled scikit-learn pipeline named by model_path on every request (as the
original did), builds the reference features with pandas, and answers a JSON list of
{"UserId", "Fake", "Probability"}.
"""
import io
import os
import pickle
import sys

import pandas as pd
from fastapi import FastAPI, File, UploadFile

# The original's featurization, as the pandas peer of bench/featurize.sh does it (this
# folder is uvicorn's --app-dir, so it is on sys.path).
from pandas_features import reference_features as features

DEFAULT_MODEL = os.environ.get("FU_PEER_MODEL", "model.pkl")

app = FastAPI()


@app.post("/predict")
async def predict(file: UploadFile = File(...), model_path: str = DEFAULT_MODEL):
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    df = pd.read_csv(io.BytesIO(await file.read()), dtype={"UserId": str})
    x = features(df)
    probabilities = model.predict_proba(x.to_numpy())[:, 1]
    labels = model.predict(x.to_numpy())
    return [
        {"UserId": user, "Fake": int(label), "Probability": float(p)}
        for user, label, p in zip(x.index, labels, probabilities)
    ]


def train(events_path, model_path):
    """Fits the original's pipeline on EVENTS and pickles it to MODEL."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df = pd.read_csv(events_path, dtype={"UserId": str})
    x = features(df)
    y = df.groupby("UserId", sort=True)["Fake"].max().loc[x.index]
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
    model.fit(x.to_numpy(), y.to_numpy())
    with open(model_path, "wb") as f:
        pickle.dump(model, f)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "train":
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    train(sys.argv[2], sys.argv[3])
