#!/usr/bin/env python3
"""DuckDB peer for bench/featurize.sh: per-user features from an event CSV.

Usage: duckdb_features.py IN OUT
IN is a CSV (header UserId,Event,Category,Fake), plain or zstd-compressed
(.zst); OUT is the feature CSV, one row per user, ordered by UserId, with the
same columns as fu-featurize.
"""
import sys

import duckdb

EVENTS = ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"]


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    # DuckDB decompresses zstd CSV natively; say so explicitly rather than
    # relying on the extension. Fixed column types skip type sniffing.
    compression = "zstd" if src.endswith(".zst") else "none"
    per_event = ",\n        ".join(
        f"count(*) FILTER (WHERE Event = '{e}') AS {e}" for e in EVENTS
    )
    query = f"""
    COPY (
      WITH counts AS (
        SELECT UserId,
          max(Fake) AS Fake,
          count(*) AS total_events,
          count(DISTINCT Category) AS unique_categories,
          {per_event}
        FROM read_csv(?, header = true, compression = '{compression}',
                      columns = {{'UserId': 'VARCHAR', 'Event': 'VARCHAR',
                                  'Category': 'VARCHAR', 'Fake': 'INTEGER'}})
        GROUP BY UserId
      )
      SELECT UserId, Fake, total_events,
        click_ad / total_events AS click_ad_ratio,
        send_email / total_events AS send_email_ratio,
        unique_categories,
        total_events / unique_categories AS category_repeat_ratio,
        {", ".join(EVENTS)}
      FROM counts
      ORDER BY UserId
    ) TO '{dst.replace("'", "''")}' (FORMAT csv, HEADER true)
    """
    # COPY ... TO cannot take the target as a parameter, hence the quoting
    # above; the input path is a bound parameter.
    duckdb.connect().execute(query, [src])
    return 0


if __name__ == "__main__":
    sys.exit(main())
