#!/usr/bin/env python3
"""The reader of bench/latency.sh: stamps each line a consumer writes on
arrival and gives the latency from the event's timestamp.

    latency_read.py EXPECTED WARMUP RESULTS KEY=VALUE... < consumer-output

Reads stdin (a pipe from the consumer) with os.read, as it comes: each
read returns what the consumer has written so far, and gets one arrival
stamp (CLOCK_REALTIME, time.time_ns), shared by every line in it: they
arrived together, in one write of the consumer's. A line's latency is its
arrival stamp minus its "timestamp" (bench/py/latency_send.py writes six
fractional digits). Events with "seq" below WARMUP are read but left out
(broker and consumer warming up); the rest, EXPECTED - WARMUP of them, are
the sample. Ends at end of input, when the last seq (EXPECTED - 1) has
arrived, or after 10 s without a line (a consumer that lost some).

Appends one record to RESULTS: the KEY=VALUE fields given (numbers stored
as numbers) and p50_ms, p99_ms, p999_ms (nearest rank), max_ms, count (the
sample's lines received) and errors (the sample's lines missing, plus
lines that are not a sender's event). Parsing is the cheap part; the read
loop does only the stamping and the split, so the reader keeps up with a
consumer that writes 10,000 lines a second on one core.
"""
import calendar
import json
import math
import os
import select
import sys
import time

# KEY=VALUE fields are read as bench/measure.py reads them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from measure import value  # noqa: E402

IDLE_S = 10.0
TS_KEY = b'"timestamp":"'
SEQ_KEY = b'"seq":'


def percentile(sorted_values, q):
    """Nearest rank, as bench/gateway-load.py."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: latency_read.py EXPECTED WARMUP RESULTS KEY=VALUE...")
    expected, warmup, results = int(argv[1]), int(argv[2]), argv[3]
    record = {}
    for field in argv[4:]:
        key, _, text = field.partition("=")
        record[key] = value(text)

    # The read loop: stamp, split, keep. Nothing else.
    chunks = []
    fd = sys.stdin.fileno()
    rest = b""
    last_seq = str(expected - 1).encode()
    started = False
    while True:
        ready, _, _ = select.select([fd], [], [], IDLE_S if started else 120)
        if not ready:
            break
        data = os.read(fd, 1 << 20)
        stamp = time.time_ns()
        if not data:
            break
        started = True
        data = rest + data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            chunks.append((stamp, data[:cut]))
            # The last event is the last line of its chunk (one partition:
            # in order).
            tail = data[data.rfind(b"\n", 0, cut - 1) + 1:cut - 1]
            i = tail.find(SEQ_KEY)
            if i >= 0 and tail[i + len(SEQ_KEY):].rstrip(b"}") == last_seq:
                break

    # Now the parsing.
    epoch = {}
    lat_us = []
    foreign = 0
    seen = 0
    for stamp, block in chunks:
        now_us = stamp // 1000
        for line in block.split(b"\n")[:-1]:
            i = line.find(TS_KEY)
            j = line.find(SEQ_KEY)
            if i < 0 or j < 0:
                foreign += 1
                continue
            try:
                ts = line[i + len(TS_KEY):i + len(TS_KEY) + 27]
                seq = int(line[j + len(SEQ_KEY):].rstrip(b"}"))
                sec = epoch.get(ts[:19])
                if sec is None:
                    sec = epoch[ts[:19]] = calendar.timegm(
                        time.strptime(ts[:19].decode(), "%Y-%m-%dT%H:%M:%S"))
                us = sec * 1000000 + int(ts[20:26])
            except ValueError:
                foreign += 1
                continue
            if seq >= warmup:
                seen += 1
                lat_us.append(now_us - us)
    lat_us.sort()
    ms = lambda us: round(us / 1000.0, 3)  # noqa: E731
    sample = expected - warmup
    record.update(
        p50_ms=ms(percentile(lat_us, 0.50)),
        p99_ms=ms(percentile(lat_us, 0.99)),
        p999_ms=ms(percentile(lat_us, 0.999)),
        max_ms=ms(lat_us[-1] if lat_us else 0),
        count=seen,
        errors=max(0, sample - seen) + foreign)
    with open(results, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
