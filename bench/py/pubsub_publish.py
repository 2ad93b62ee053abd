#!/usr/bin/env python3
"""Publishes each line of a file to a Pub/Sub topic with Google's client
(google-cloud-pubsub, from the bench venv), then waits for every publish.

    pubsub_publish.py PROJECT TOPIC FILE

The emulator is found through PUBSUB_EMULATOR_HOST, as the client does
itself. Batches of up to 1,000 messages (the client's default is 100),
like event-producer's, so that the two send the same requests. Prints
"N published" on stdout; exits 1 if any publish failed.
"""
import sys

from google.cloud import pubsub_v1


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    project, topic, path = sys.argv[1:]
    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(
            max_messages=1000, max_bytes=9 * 1000 * 1000, max_latency=0.01))
    name = publisher.topic_path(project, topic)
    futures = []
    with open(path, "rb") as f:
        for line in f:
            futures.append(publisher.publish(name, line.rstrip(b"\n")))
    failed = 0
    for fut in futures:
        try:
            fut.result(timeout=120)
        except Exception as e:  # pylint: disable=broad-except
            failed += 1
            if failed == 1:
                print(f"pubsub_publish.py: {e}", file=sys.stderr)
    print(f"{len(futures) - failed} published")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
