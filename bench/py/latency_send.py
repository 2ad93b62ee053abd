#!/usr/bin/env python3
"""The sender of bench/latency.sh: events at a steady rate, each stamped
with its send time to the microsecond.

    latency_send.py BROKERS TOPIC RATE SECONDS [-X KEY=VALUE]...

Sends RATE * SECONDS events to TOPIC (Python confluent-kafka, from the
bench virtualenv). Event n is due at start + n / RATE; when it is due it
gets "timestamp": the wall clock (CLOCK_REALTIME) read just before
produce(), as RFC 3339 with six fractional digits, and "seq": n. Why not
event-producer -r: its generator stamps to the millisecond (producer/
generator.c, "%03ld" of tv_nsec / 1e6), a truncation that adds 0 to 1 ms,
0.5 on average, to every latency: as much as the p50 being measured.

Producer settings: librdkafka's defaults, except linger.ms=1, and any -X
KEY=VALUE given. Why 1: with 0 every event is a produce request of its
own, 10,000 a second, more than the broker answers on a small shared
machine (delivery reports 0.9 s late, measured); librdkafka's default, 5,
adds up to 5 ms to each event, the whole p99 budget. At 10,000/s, 1 ms
makes batches of about 10 for at most 1 ms. Prints one JSON object to
stdout: sent, failed (delivery reports with an error), the seconds taken,
how far behind schedule the sends were (late_ms p99 and max), and the
delivery reports' latency (ack_ms p50 and p99, librdkafka's own). Exits 1
when an event could not be delivered.
"""
import json
import sys
import time

from confluent_kafka import Producer

# ~210 bytes, the size of the other benchmarks' events; the fields the
# consumer checks, and a few more.
TEMPLATE = ('{"timestamp":"%s.%06dZ","service_name":"latency-probe",'
            '"level":"INFO","message":"end-to-end latency probe, sent at the '
            'time in its timestamp","host":"bench-host-1",'
            '"request_id":"req-%08x","seq":%d}')


def main(argv):
    args = argv[1:]
    conf = {"linger.ms": 1}
    while "-X" in args:
        i = args.index("-X")
        key, _, val = args[i + 1].partition("=")
        conf[key] = val
        del args[i:i + 2]
    if len(args) != 4:
        sys.exit("usage: latency_send.py BROKERS TOPIC RATE SECONDS "
                 "[-X KEY=VALUE]...")
    brokers, topic, rate, seconds = args[0], args[1], float(args[2]), \
        float(args[3])
    conf["bootstrap.servers"] = brokers
    total = int(round(rate * seconds))
    failed = []

    acks = []

    def report(err, msg):
        if err is not None:
            failed.append(str(err))
        else:
            acks.append(msg.latency())

    p = Producer(conf)
    # Connect before the clock starts: the first send must not pay for it.
    p.list_topics(topic, timeout=10)
    prefix_sec, prefix = -1, ""
    lags = []
    clock = time.perf_counter
    wall = time.time_ns
    start = clock() + 0.01
    n = 0
    while n < total:
        now = clock()
        due = start + n / rate
        if now < due:
            p.poll(0)
            # time.sleep rounds up to ~60 us here; a busy wait would steal
            # a CPU from the consumer on a small machine.
            time.sleep(due - now)
            continue
        ns = wall()
        sec, us = divmod(ns // 1000, 1000000)
        if sec != prefix_sec:
            prefix_sec = sec
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        payload = TEMPLATE % (prefix, us, (n * 2654435761) & 0xffffffff, n)
        while True:
            try:
                p.produce(topic, payload.encode(), on_delivery=report)
                break
            except BufferError:
                p.poll(0.001)
        lags.append(now - due)
        n += 1
    left = p.flush(30)
    elapsed = clock() - start
    lags.sort()
    acks.sort()
    out = {"sent": total, "failed": len(failed) + left,
           "seconds": round(elapsed, 3),
           "achieved_per_s": round(total / elapsed, 1),
           "late_ms": {"p99": round(lags[int(0.99 * (len(lags) - 1))] * 1e3, 3)
                       if lags else 0,
                       "max": round(lags[-1] * 1e3, 3) if lags else 0},
           "ack_ms": {"p50": round(acks[len(acks) // 2] * 1e3, 3)
                      if acks else 0,
                      "p99": round(acks[int(0.99 * (len(acks) - 1))] * 1e3, 3)
                      if acks else 0},
           "first_errors": failed[:3]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 1 if out["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
