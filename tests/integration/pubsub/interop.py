#!/usr/bin/env python3
"""Google's own Pub/Sub client (google-cloud-pubsub) on the emulator, for
pubsub_interop.sh: what it publishes our consumer must read, and what our
producer publishes it must read. Run with the virtualenv's python that
scripts/test.sh makes from requirements.txt, with PUBSUB_EMULATOR_HOST set.

  interop.py setup PROJECT TOPIC SUBSCRIPTION
      create the topic and a subscription to it (ack deadline 60 s)
  interop.py publish PROJECT TOPIC FILE
      publish each line of FILE (without its newline) as one message; a third
      of them carry no attributes, a third "origin" and "seq", a third those
      and a "key": attributes must not disturb our consumer
  interop.py pull PROJECT SUBSCRIPTION N OUT
      pull and acknowledge until N messages have come (60 s at most), then
      write them to OUT in the order they came, one JSON object a line:
      message_id, data (base64), attributes, ordering_key
  interop.py same-data EXPECTED PULLED PRODUCER_STDOUT
      the data of the PULLED messages are the lines of EXPECTED, byte for
      byte (as multisets: Pub/Sub does not order without ordering keys),
      none has a "key" attribute (--input lines have no key), and the message
      ids are those the producer printed ("Published message message_id=ID")
  interop.py generated PULLED PRODUCER_STDOUT VALID MALFORMED
      the producer's generator run: VALID events, each with attribute "key"
      equal to its service_name, and MALFORMED payloads from the generator's
      list, with no "key"; ids as for same-data
  interop.py ordered EXPECTED PULLED PRODUCER_STDOUT
      a producer --ordering run of --input EXPECTED: same-data's checks, each
      event's ordering key its service_name (none for the other lines), and
      the events of each key pulled in the order of EXPECTED

Exit 0 when all holds; otherwise 1 with the reason on stderr.
"""
import base64
import collections
import json
import re
import sys
import time

PULL_DEADLINE_S = 60
# The generator's first malformed payloads (producer/generator.c); a default
# run (3 malformed) sends exactly these.
GENERATOR_MALFORMED = [
    b"invalid non-JSON string",
    b'{"timestamp": "2026-11-22T10:15:30Z", "service_name": '
    b'"auth-service", "level": "ERR',
    b"just another bad payload",
]


def show(data, limit=120):
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + "..."


def client_module():
    # Imported here so the checks run without the client installed.
    from google.cloud import pubsub_v1
    return pubsub_v1


def setup(project, topic, subscription):
    pubsub_v1 = client_module()
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic_path = publisher.topic_path(project, topic)
    sub_path = subscriber.subscription_path(project, subscription)
    publisher.create_topic(request={"name": topic_path}, timeout=30)
    subscriber.create_subscription(
        request={"name": sub_path, "topic": topic_path,
                 "ack_deadline_seconds": 60}, timeout=30)
    subscriber.close()


def publish(project, topic, path):
    pubsub_v1 = client_module()
    publisher = pubsub_v1.PublisherClient()
    topic_path = publisher.topic_path(project, topic)
    with open(path, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n"):
        sys.exit(f"{path}: last line has no newline")
    futures = []
    for i, line in enumerate(data[:-1].split(b"\n")):
        attrs = {}
        if i % 3:
            attrs = {"origin": "python", "seq": str(i)}
        if i % 3 == 1:
            attrs["key"] = f"python-key-{i % 5}"
        futures.append(publisher.publish(topic_path, line, **attrs))
    for fut in futures:
        fut.result(timeout=60)
    print(f"interop.py: published {len(futures)} messages", file=sys.stderr)


def pull(project, subscription, n, out):
    from google.api_core import exceptions
    pubsub_v1 = client_module()
    subscriber = pubsub_v1.SubscriberClient()
    sub_path = subscriber.subscription_path(project, subscription)
    got = []
    deadline = time.monotonic() + PULL_DEADLINE_S
    while len(got) < n and time.monotonic() < deadline:
        try:
            # An empty pull waits on the emulator for ~90 s; the timeout
            # bounds each one, and the loop the whole.
            resp = subscriber.pull(
                request={"subscription": sub_path,
                         "max_messages": min(1000, n - len(got))},
                timeout=5, retry=None)
        except exceptions.DeadlineExceeded:
            continue
        if not resp.received_messages:
            continue
        for rm in resp.received_messages:
            got.append({
                "message_id": rm.message.message_id,
                "data": base64.b64encode(rm.message.data).decode("ascii"),
                "attributes": dict(rm.message.attributes),
                "ordering_key": rm.message.ordering_key,
            })
        subscriber.acknowledge(
            request={"subscription": sub_path,
                     "ack_ids": [rm.ack_id for rm in resp.received_messages]},
            timeout=30)
    subscriber.close()
    with open(out, "w", encoding="utf-8") as f:
        for m in got:
            f.write(json.dumps(m, sort_keys=True) + "\n")
    if len(got) != n:
        sys.exit(f"pulled {len(got)} of {n} messages from {subscription} in "
                 f"{PULL_DEADLINE_S} s")


def read_pulled(path):
    with open(path, encoding="utf-8") as f:
        msgs = [json.loads(line) for line in f]
    for m in msgs:
        m["data"] = base64.b64decode(m["data"])
    return msgs


def check_ids(msgs, producer_stdout):
    with open(producer_stdout, encoding="utf-8") as f:
        printed = re.findall(r"^Published message message_id=(\S+)$", f.read(),
                             re.M)
    pulled = collections.Counter(m["message_id"] for m in msgs)
    if collections.Counter(printed) != pulled:
        sys.exit(f"the producer printed {len(printed)} message ids "
                 f"({sorted(printed)[:3]}...), the subscriber got "
                 f"{len(pulled)} ({sorted(pulled)[:3]}...): not the same set")


def same_data(expected, pulled, producer_stdout):
    with open(expected, "rb") as f:
        want = f.read()
    if not want.endswith(b"\n"):
        sys.exit(f"{expected}: last line has no newline")
    want = collections.Counter(want[:-1].split(b"\n"))
    msgs = read_pulled(pulled)
    got = collections.Counter(m["data"] for m in msgs)
    if got != want:
        missing = list((want - got).elements())
        extra = list((got - want).elements())
        sys.exit(f"data differ: {len(missing)} expected lines not received "
                 f"(e.g. {show(missing[:1])}), {len(extra)} received not "
                 f"expected (e.g. {show(extra[:1])})")
    keyed = [m for m in msgs if "key" in m["attributes"]]
    if keyed:
        sys.exit(f"{len(keyed)} messages from --input lines carry a 'key' "
                 f"attribute, e.g. {show(keyed[0])}")
    check_ids(msgs, producer_stdout)


def service_of(data):
    try:
        ev = json.loads(data)
    except ValueError:
        return None
    if isinstance(ev, dict) and isinstance(ev.get("service_name"), str):
        return ev["service_name"]
    return None


def ordered(expected, pulled, producer_stdout):
    same_data(expected, pulled, producer_stdout)
    msgs = read_pulled(pulled)
    for m in msgs:
        want = service_of(m["data"]) or ""
        if m["ordering_key"] != want:
            sys.exit(f"{show(m['data'])} has ordering key "
                     f"{m['ordering_key']!r}, not {want!r}")
    with open(expected, "rb") as f:
        lines = f.read()[:-1].split(b"\n")
    for key in {service_of(line) for line in lines} - {None}:
        sent = [line for line in lines if service_of(line) == key]
        got = [m["data"] for m in msgs if m["ordering_key"] == key]
        if got != sent:
            sys.exit(f"the events of ordering key {key!r} came out of order")


def generated(pulled, producer_stdout, valid, malformed):
    msgs = read_pulled(pulled)
    n_valid = n_malformed = 0
    for m in msgs:
        try:
            ev = json.loads(m["data"])
        except ValueError:
            ev = None
        if isinstance(ev, dict) and isinstance(ev.get("service_name"), str):
            n_valid += 1
            if m["attributes"].get("key") != ev["service_name"]:
                sys.exit(f"event {show(m['data'])} has attributes "
                         f"{m['attributes']}, not key={ev['service_name']}")
            continue
        n_malformed += 1
        if m["data"] not in GENERATOR_MALFORMED:
            sys.exit(f"{show(m['data'])} is neither an event nor one of the "
                     "generator's malformed payloads")
        if "key" in m["attributes"]:
            sys.exit(f"malformed payload {show(m['data'])} has a key: "
                     f"{m['attributes']}")
    if (n_valid, n_malformed) != (valid, malformed):
        sys.exit(f"got {n_valid} events and {n_malformed} malformed payloads,"
                 f" expected {valid} and {malformed}")
    check_ids(msgs, producer_stdout)


def main(argv):
    if len(argv) == 4 and argv[0] == "setup":
        setup(*argv[1:])
    elif len(argv) == 4 and argv[0] == "publish":
        publish(*argv[1:])
    elif len(argv) == 5 and argv[0] == "pull":
        pull(argv[1], argv[2], int(argv[3]), argv[4])
    elif len(argv) == 4 and argv[0] == "same-data":
        same_data(*argv[1:])
    elif len(argv) == 4 and argv[0] == "ordered":
        ordered(*argv[1:])
    elif len(argv) == 5 and argv[0] == "generated":
        generated(argv[1], argv[2], int(argv[3]), int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
