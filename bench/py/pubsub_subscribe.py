#!/usr/bin/env python3
"""Reads N messages from a Pub/Sub subscription with Google's streaming-pull
subscriber (google-cloud-pubsub, from the bench venv): json.loads and the
four field checks on each, then ack; stops once N distinct messages came.

    pubsub_subscribe.py PROJECT SUBSCRIPTION N [TIMEOUT_S]

The emulator is found through PUBSUB_EMULATOR_HOST. The client's default
flow control (1,000 messages outstanding) and callback threads. Prints
"N received, V valid, B bytes" on stdout; exits 1 when fewer than N came
within TIMEOUT_S (default 300).
"""
import sys
import threading

from google.cloud import pubsub_v1

# The same checks as the Kafka peer's.
from kafka_consume import valid


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    project, sub, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) == 5 else 300.0
    lock = threading.Lock()
    done = threading.Event()
    seen = set()
    counts = {"valid": 0, "bytes": 0}

    def callback(msg):
        ok = valid(msg.data)
        msg.ack()
        with lock:
            # A redelivery is acknowledged again but counted once.
            if msg.message_id in seen:
                return
            seen.add(msg.message_id)
            counts["valid"] += ok
            counts["bytes"] += len(msg.data)
            if len(seen) >= want:
                done.set()

    subscriber = pubsub_v1.SubscriberClient()
    future = subscriber.subscribe(subscriber.subscription_path(project, sub),
                                  callback)
    done.wait(timeout)
    future.cancel()
    try:
        future.result(timeout=30)
    except Exception:  # pylint: disable=broad-except
        pass
    subscriber.close()
    print(f"{len(seen)} received, {counts['valid']} valid, "
          f"{counts['bytes']} bytes")
    sys.exit(0 if len(seen) >= want else 1)


if __name__ == "__main__":
    main()
