#!/usr/bin/env python3
"""Latency driver for bench/watch.sh: a line written to a FIFO -> its answer read back.

Usage: latency.py EVENTS_CSV COUNT RATE FU_WATCH ARGS...
Starts FU_WATCH ARGS... --emit every FIFO (a FIFO made here) with its stdout on
a pipe, writes the CSV's header and then its first COUNT events into the FIFO,
one line per write, RATE lines a second, and reads the answers (one per event,
--emit every) on another thread. Prints the latencies in microseconds, one per
line, write to read-back, in event order; the first 10 (warm-up) are left out.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time


def main():
    path, count, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    command = sys.argv[4:]
    with open(path, "rb") as f:
        header = f.readline()
        lines = [f.readline() for _ in range(count)]
    lines = [line for line in lines if line]
    sent = [0] * len(lines)
    received = [0] * len(lines)
    with tempfile.TemporaryDirectory() as work:
        fifo = os.path.join(work, "events.fifo")
        os.mkfifo(fifo)
        proc = subprocess.Popen(command + ["--emit", "every", fifo], stdout=subprocess.PIPE, bufsize=0)
        fd = os.open(fifo, os.O_WRONLY)  # waits until fu-watch opens it

        def read_answers():
            answers = proc.stdout
            answers.readline()  # the header
            for i in range(len(lines)):
                if not answers.readline():
                    break
                received[i] = time.perf_counter_ns()

        reader = threading.Thread(target=read_answers)
        reader.start()
        os.write(fd, header)
        start = time.perf_counter()
        for i, line in enumerate(lines):
            # A fixed schedule, so a slow answer does not slow the rate down.
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent[i] = time.perf_counter_ns()
            os.write(fd, line)
        os.close(fd)
        reader.join()
        proc.wait()
    if proc.returncode != 0 or not all(received):
        sys.exit(f"latency.py: fu-watch exited {proc.returncode}, {sum(1 for r in received if r)} of {len(lines)} answers")
    for s, r in list(zip(sent, received))[10:]:
        print(f"{(r - s) / 1000:.1f}")


if __name__ == "__main__":
    main()
