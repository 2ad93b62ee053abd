#!/usr/bin/env python3
"""A plain REST pull loop on the Pub/Sub emulator, urllib only:
pull up to 1,000 messages, json.loads and the four field checks on each,
acknowledge them, and again, until N distinct messages came.

    pubsub_rest_pull.py HOST:PORT PROJECT SUBSCRIPTION N [TIMEOUT_S]

Prints "N received, V valid, B bytes" on stdout; exits 1 when fewer than
N came within TIMEOUT_S (default 300).
"""
import base64
import json
import sys
import time
import urllib.request

# The same checks as the Kafka peer's (that module is why this runs on the
# bench venv's python; this loop itself uses the standard library only).
from kafka_consume import valid


def post(url, body):
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"{}")


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    host, project, sub, want = sys.argv[1:5]
    want = int(want)
    timeout = float(sys.argv[5]) if len(sys.argv) == 6 else 300.0
    base = f"http://{host}/v1/projects/{project}/subscriptions/{sub}"
    seen = set()
    nvalid = nbytes = 0
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        # returnImmediately: an empty subscription answers at once rather
        # than holding the request open.
        got = post(base + ":pull",
                   {"maxMessages": 1000, "returnImmediately": True})
        received = got.get("receivedMessages", [])
        if not received:
            time.sleep(0.05)
            continue
        for r in received:
            msg = r["message"]
            data = base64.b64decode(msg.get("data", ""))
            ok = valid(data)
            if msg["messageId"] not in seen:
                seen.add(msg["messageId"])
                nvalid += ok
                nbytes += len(data)
        post(base + ":acknowledge",
             {"ackIds": [r["ackId"] for r in received]})
    print(f"{len(seen)} received, {nvalid} valid, {nbytes} bytes")
    sys.exit(0 if len(seen) >= want else 1)


if __name__ == "__main__":
    main()
