#!/usr/bin/env python3
"""The Python peer of event-producer --input: confluent-kafka's Producer,
publishing each line of FILE as one message, then flushing.

    kafka_produce.py BROKERS TOPIC FILE [-X KEY=VALUE]...

Client defaults otherwise (what a Python user would write). Fails unless
every message was delivered; prints "delivered=N failed=0" on stderr.
"""
import sys

from confluent_kafka import Producer


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: kafka_produce.py BROKERS TOPIC FILE [-X K=V]...")
    brokers, topic, path = argv[1], argv[2], argv[3]
    conf = {"bootstrap.servers": brokers}
    extra = argv[4:]
    for flag, kv in zip(extra[::2], extra[1::2]):
        if flag != "-X":
            sys.exit(f"unknown argument {flag}")
        key, _, value = kv.partition("=")
        conf[key] = value
    failed = 0
    delivered = 0

    def on_delivery(err, _msg):
        nonlocal failed, delivered
        if err is None:
            delivered += 1
        else:
            failed += 1

    producer = Producer(conf)
    with open(path, "rb") as events:
        for line in events:
            payload = line.rstrip(b"\n")
            while True:
                try:
                    producer.produce(topic, payload, on_delivery=on_delivery)
                    break
                except BufferError:
                    # The local queue is full: serve delivery reports
                    # until there is room, as the client's docs advise.
                    producer.poll(0.05)
            producer.poll(0)
    left = producer.flush(60)
    print(f"delivered={delivered} failed={failed + left}", file=sys.stderr)
    if failed or left:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
