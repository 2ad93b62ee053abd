#!/usr/bin/env python3
"""The Python peer of event-consumer: confluent-kafka's Consumer reading
TOPIC from the beginning in group GROUP, json.loads plus the four field
checks of the event contract on every message, a synchronous commit every
1,000 messages (at-least-once, as event-consumer acknowledges), until N
messages were read.

    kafka_consume.py BROKERS TOPIC GROUP N [-X KEY=VALUE]...

Valid events are counted, not printed. Prints "consumed=N valid=V
toxic=T" on stderr; fails if the topic runs dry (no message for 30 s)
before N.
"""
import datetime
import json
import re
import sys

from confluent_kafka import Consumer

LEVELS = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
FIELDS = ("timestamp", "service_name", "level", "message")
RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt]([01]\d|2[0-3]):[0-5]\d:"
                     r"([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)")


def valid(payload):
    try:
        ev = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(ev, dict):
        return False
    for field in FIELDS:
        if not isinstance(ev.get(field), str):
            return False
    # RFC 3339 by pattern and a real calendar date (the leap-second rule
    # aside), as common/event.c checks it.
    ts = RFC3339.fullmatch(ev["timestamp"])
    if not ts:
        return False
    try:
        datetime.date(int(ts[1]), int(ts[2]), int(ts[3]))
    except ValueError:
        return False
    return ev["service_name"] != "" and ev["level"] in LEVELS


def main(argv):
    if len(argv) < 5:
        sys.exit("usage: kafka_consume.py BROKERS TOPIC GROUP N [-X K=V]...")
    brokers, topic, group, want = argv[1], argv[2], argv[3], int(argv[4])
    conf = {"bootstrap.servers": brokers, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    extra = argv[5:]
    for flag, kv in zip(extra[::2], extra[1::2]):
        if flag != "-X":
            sys.exit(f"unknown argument {flag}")
        key, _, value = kv.partition("=")
        conf[key] = value
    consumer = Consumer(conf)
    consumer.subscribe([topic])
    consumed = good = 0
    idle = 0.0
    while consumed < want:
        msgs = consumer.consume(num_messages=1000, timeout=1.0)
        if not msgs:
            idle += 1.0
            if idle >= 30:
                break
            continue
        idle = 0.0
        for msg in msgs:
            if msg.error():
                continue
            consumed += 1
            if valid(msg.value()):
                good += 1
            if consumed % 1000 == 0:
                # The positions of every assigned partition: what was
                # consumed so far.
                consumer.commit(asynchronous=False)
    if consumed % 1000:
        consumer.commit(asynchronous=False)
    consumer.close()
    print(f"consumed={consumed} valid={good} toxic={consumed - good}",
          file=sys.stderr)
    if consumed != want:
        sys.exit(f"kafka_consume.py: consumed {consumed} of {want}")


if __name__ == "__main__":
    main(sys.argv)
