#!/usr/bin/env python3
"""pandas peer for bench/featurize.sh: per-user features from an event CSV.

Usage: pandas_features.py IN OUT
IN is a CSV (header UserId,Event,Category,Fake), plain or zstd-compressed
(.zst); OUT is the feature CSV, one row per user, ordered by UserId, with the
same columns as fu-featurize. This follows the original project's approach:
read the whole file into a DataFrame, then groupby/unstack.
"""
import sys

import pandas as pd

EVENTS = ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"]


def reference_features(df):
    """One row per user, ordered by UserId: the 10 reference features of an events DataFrame."""
    by_user = df.groupby("UserId", sort=True)
    # One count column per event type; reindex so a type absent from the
    # data still gets a column of zeros.
    counts = (
        df.groupby(["UserId", "Event"]).size().unstack(fill_value=0)
        .reindex(columns=EVENTS, fill_value=0)
    )
    out = pd.DataFrame(index=counts.index)
    out["total_events"] = by_user.size()
    out["click_ad_ratio"] = counts["click_ad"] / out["total_events"]
    out["send_email_ratio"] = counts["send_email"] / out["total_events"]
    out["unique_categories"] = by_user["Category"].nunique()
    out["category_repeat_ratio"] = out["total_events"] / out["unique_categories"]
    for e in EVENTS:
        out[e] = counts[e]
    return out.sort_index()


def featurize(path):
    """One row per user, ordered by UserId: Fake and the 10 reference features."""
    # compression="infer" picks zstd for .zst (needs the zstandard module).
    df = pd.read_csv(path, dtype={"UserId": str, "Event": str, "Category": str, "Fake": "int64"})
    out = reference_features(df)
    out.insert(0, "Fake", df.groupby("UserId", sort=True)["Fake"].max())
    return out


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    featurize(src).to_csv(dst, index_label="UserId")
    return 0


if __name__ == "__main__":
    sys.exit(main())
