#!/usr/bin/env python3
"""river peer for bench/watch.sh: score users as their events stream in.

Usage: river_watch.py IN [LIMIT]
IN is an event CSV (header UserId,Event,Category[,Fake]), plain; at most LIMIT
events are read (all when absent). Per event, as fu-watch --emit changes does:
update the user's counters (a dict per user: events per type and per category),
make the user's features from them, a river StandardScaler learns and scales
them, and LogisticRegression.predict_proba_one scores them; a line is written to
stdout when the user's decision changes. Prints "events wall-seconds
cpu-seconds" to stderr, timed from the first event to the last (not the imports).
"""
import csv
import math
import sys
import time

from river import linear_model, preprocessing

EVENTS = ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"]


def features(events, categories):
    """Counts, ratios, uniques and entropies of one user's counters."""
    total = sum(events.values())
    x = {"total_events": total}
    for e in EVENTS:
        n = events.get(e, 0)
        x[e] = n
        x[e + "_ratio"] = n / total
    x["unique_events"] = len(events)
    x["unique_categories"] = len(categories)
    x["event_entropy"] = -sum(n / total * math.log2(n / total) for n in events.values())
    x["category_entropy"] = -sum(n / total * math.log2(n / total) for n in categories.values())
    x["top_category_share"] = max(categories.values()) / total
    return x


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    scaler = preprocessing.StandardScaler()
    model = linear_model.LogisticRegression()
    users = {}  # UserId -> (events per type, events per category, flagged)
    out = sys.stdout
    n = 0
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        start, start_cpu = time.perf_counter(), time.process_time()
        for row in rows:
            if limit is not None and n >= limit:
                break
            n += 1
            user, event, category = row[0], row[1], row[2]
            state = users.get(user)
            if state is None:
                state = users[user] = [{}, {}, False]
            events, categories = state[0], state[1]
            events[event] = events.get(event, 0) + 1
            categories[category] = categories.get(category, 0) + 1
            x = features(events, categories)
            scaler.learn_one(x)
            p = model.predict_proba_one(scaler.transform_one(x))[True]
            flagged = p >= 0.5
            if flagged != state[2]:
                state[2] = flagged
                out.write(f"{user},{int(flagged)},{p:.6f},{x['total_events']}\n")
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(n, f"{seconds:.3f}", f"{cpu:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
