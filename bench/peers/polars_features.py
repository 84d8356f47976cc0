#!/usr/bin/env python3
"""Polars peer for bench/featurize.sh: per-user features from an event CSV.

Usage: polars_features.py IN OUT
IN is a CSV (header UserId,Event,Category,Fake), plain or zstd-compressed
(.zst); OUT is the feature CSV, one row per user, ordered by UserId, with the
same columns as fu-featurize.
"""
import io
import sys

import polars as pl
import zstandard

EVENTS = ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"]
SCHEMA = {"UserId": pl.String, "Event": pl.String, "Category": pl.String, "Fake": pl.Int64}


def source(path: str) -> pl.LazyFrame:
    if not path.endswith(".zst"):
        # Plain CSV: let the lazy scanner stream it from disk.
        return pl.scan_csv(path, schema=SCHEMA)
    # scan_csv does not read zstd, so decompress into memory first; the
    # decompressed bytes count towards this peer's peak RSS, as they would
    # for any user doing the same.
    with open(path, "rb") as f:
        data = zstandard.ZstdDecompressor().stream_reader(f).read()
    return pl.read_csv(io.BytesIO(data), schema=SCHEMA).lazy()


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    total = pl.col("total_events")
    features = (
        source(src)
        .group_by("UserId")
        .agg(
            pl.col("Fake").max(),
            pl.len().alias("total_events"),
            pl.col("Category").n_unique().alias("unique_categories"),
            *[(pl.col("Event") == e).sum().alias(e) for e in EVENTS],
        )
        .select(
            "UserId",
            "Fake",
            "total_events",
            (pl.col("click_ad") / total).alias("click_ad_ratio"),
            (pl.col("send_email") / total).alias("send_email_ratio"),
            "unique_categories",
            (total / pl.col("unique_categories")).alias("category_repeat_ratio"),
            *EVENTS,
        )
        .sort("UserId")
    )
    features.collect(engine="streaming").write_csv(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
