#!/usr/bin/env python3
"""Scale-out: K event-consumer processes in one fresh consumer group on a
filled topic, timed from their start until the group has committed every
message (each partition's committed offset at its high watermark), then
stopped with SIGTERM (they exit 0 with their Summary).

    kafka_scale.py RESULTS CONSUMER BROKERS TOPIC GROUP K REP SIZE LOGDIR
                   [CONSUMER_ARG]...

Appends one record to RESULTS: section "scale", tool "event-consumer",
consumers K, events (the topic's messages), bytes (of the events file,
from BENCH_BYTES), wall_s, cpu_s (all K processes), rss_kb (the largest).
Fails, writing no record, unless the group committed every message within
120 s and the processes' consumed= counts add up to at least that many (a
rebalance may deliver a few twice: at-least-once).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions,
                             TopicPartition)
from confluent_kafka.admin import AdminClient


def main(argv):
    if len(argv) < 10:
        sys.exit(__doc__)
    (results, consumer_bin, brokers, topic, group, k, rep, size,
     logdir) = argv[1:10]
    extra = argv[10:]
    k = int(k)
    # The watermarks from a consumer outside the group, the group's
    # commits from the admin API: nothing here joins or touches the group.
    probe = Consumer({"bootstrap.servers": brokers,
                      "group.id": group + "-probe"})
    admin = AdminClient({"bootstrap.servers": brokers})
    parts = [TopicPartition(topic, p)
             for p in probe.list_topics(topic, timeout=10)
             .topics[topic].partitions]
    high = {tp.partition: probe.get_watermark_offsets(tp, timeout=10)[1]
            for tp in parts}
    total = sum(high.values())
    logs = [open(os.path.join(logdir, f"scale-{k}-{rep}-{i}.log"), "wb")
            for i in range(k)]
    start = time.monotonic()
    procs = [subprocess.Popen([consumer_bin, "-b", brokers, "-t", topic,
                               "-g", group, *extra],
                              stdout=subprocess.DEVNULL, stderr=log)
             for log in logs]
    wall = None
    while time.monotonic() - start < 120:
        try:
            committed = admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group, parts)])[group].result(
                ).topic_partitions
        except Exception:  # the group does not exist yet
            committed = []
        # An empty partition gets no commit (offset stays unset).
        if committed and all(tp.offset >= high[tp.partition]
                             or high[tp.partition] == 0
                             for tp in committed):
            wall = time.monotonic() - start
            break
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.02)
    cpu = 0.0
    rss = 0
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        rss = max(rss, usage.ru_maxrss)
    probe.close()
    for log in logs:
        log.close()
    consumed = 0
    for log in logs:
        text = open(log.name, encoding="utf-8", errors="replace").read()
        found = re.findall(r"Summary: consumed=(\d+)", text)
        consumed += int(found[-1]) if found else 0
    bad = [p.returncode for p in procs if p.returncode != 0]
    if wall is None or bad or consumed < total:
        sys.exit(f"kafka_scale.py: {k} consumers: committed all: "
                 f"{wall is not None}, exit codes {bad}, consumed "
                 f"{consumed} of {total} (logs in {logdir})")
    record = {"section": "scale", "tool": "event-consumer", "rep": int(rep),
              "size": int(size), "consumers": k, "events": total,
              "bytes": int(os.environ.get("BENCH_BYTES", 0)),
              "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
              "rss_kb": rss, "consumed": consumed}
    with open(results, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(f"{k} consumer(s): {total} events in {wall:.2f} s, "
          f"{total / wall:.0f} msgs/s, consumed={consumed}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
