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

EVENTS = ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"]
DEFAULT_MODEL = os.environ.get("FU_PEER_MODEL", "model.pkl")

app = FastAPI()


def features(df):
    """The reference features per user, as the original's featurization built them."""
    by_user = df.groupby("UserId", sort=True)
    counts = df.groupby(["UserId", "Event"]).size().unstack(fill_value=0).reindex(columns=EVENTS, fill_value=0)
    out = pd.DataFrame(index=counts.index)
    out["total_events"] = by_user.size()
    out["click_ad_ratio"] = counts["click_ad"] / out["total_events"]
    out["send_email_ratio"] = counts["send_email"] / out["total_events"]
    out["unique_categories"] = by_user["Category"].nunique()
    out["category_repeat_ratio"] = out["total_events"] / out["unique_categories"]
    for e in EVENTS:
        out[e] = counts[e]
    return out.sort_index()


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
