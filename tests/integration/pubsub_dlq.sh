#!/usr/bin/env bash
# The dead-letter topic on Pub/Sub (--dlq-topic): every toxic message is
# republished to it byte for byte, with attributes saying why and where it
# came from, and the batch is acknowledged only once the emulator has them.
#
# The messages are published through the emulator's REST API rather than
# event-producer, which cannot send a message of several lines, a "key"
# attribute or an empty one: 8 valid events (one with a "key" attribute) and
# 14 toxic messages, at least one for each reason: not_json payloads of
# several lines, with invalid UTF-8, with a NUL, the same bytes twice; a
# keyed one; an empty message carrying an attribute (Pub/Sub takes one with
# no data when it has attributes).
#
#  1. Consumer with --create: it makes the dead-letter topic and a
#     subscription of the same id. Exit 0; stdout is the valid events; one
#     report per toxic message on stderr; the summary counts them all as
#     dead_lettered and unacknowledged=0. The dead-letter subscription, pulled
#     through the REST API, holds each toxic message once, its data the
#     source's bytes, its attributes right for it (check_dead_letters).
#  2. A second consumer, its idle limit past the 10 s ack deadline, gets
#     nothing: everything was acknowledged.
#  3. A dead-letter topic that does not exist (no --create): exit 69 at
#     startup, an error naming it, nothing read or acknowledged, nothing
#     created; then the same subscription with a dead-letter topic made
#     through the REST API: every message, the dead letters checked again.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init

readonly ACK_DEADLINE=10 MAX_PAYLOAD=2048

# make_topic TOPIC SUB: both through the REST API, SUB on TOPIC with the
# ack deadline ACK_DEADLINE.
make_topic() {
  emulator_api PUT "projects/$PROJECT/topics/$1" >/dev/null
  emulator_api PUT "projects/$PROJECT/subscriptions/$2" \
    "{\"topic\":\"projects/$PROJECT/topics/$1\",\"ackDeadlineSeconds\":$ACK_DEADLINE}" \
    >/dev/null
}

# publish_mix TOPIC NAME: publishes the valid events of $IT_TMP/events.txt
# and the toxic messages below, interleaved, in one publish request. Writes
# $IT_TMP/NAME.manifest (JSON: one entry per message, its id, its data in
# base64, its "key" attribute or null, and "valid" or the reason the
# consumer must give) and $IT_TMP/NAME.summary (the key=value pairs the
# consumer's summary must hold, one a line).
publish_mix() {
  python3 - "$EMULATOR" "$PROJECT" "$1" "$IT_TMP/events.txt" "$MAX_PAYLOAD" \
    "$IT_TMP/$2.manifest" "$IT_TMP/$2.summary" <<'EOF' ||
import base64, collections, json, sys, urllib.request
host, project, topic, events, max_payload, manifest, summary = sys.argv[1:8]
max_payload = int(max_payload)
TS = b'"timestamp":"2026-11-22T10:15:00.000Z"'
toxic = [
    # (reason, data, attributes)
    ("not_json", b'{"timestamp": "2026-11-22T10:15:00Z", "level": ', {}),
    ("not_json", b'{\n  "service_name": "auth-service",\n  "level": "INFO"\n'
                 b'  "message": "no comma before me"\n}\n', {}),
    ("not_json", b'{"message": "caf\xe9 \xff\xfe broken UTF-8"}', {}),
    ("not_json", b'\xc3\x28 plain text\r\nsecond line\x00NUL', {}),
    ("not_json", b'{"a":"\xed\xa0\x80"}', {}),
    # The same bytes as the first: the dead-letter topic must hold both.
    ("not_json", b'{"timestamp": "2026-11-22T10:15:00Z", "level": ', {}),
    ("not_object", b'[1, 2, 3]', {}),
    ("missing_field", b'{' + TS + b',"service_name":"s","message":"m"}', {}),
    ("wrong_type", b'{' + TS + b',"service_name":"s","level":"INFO",'
                   b'"message":42}', {}),
    ("bad_timestamp", b'{"timestamp":"yesterday","service_name":"s",'
                      b'"level":"INFO","message":"m"}', {}),
    ("bad_level", b'{' + TS + b',"service_name":"s","level":"LOUD",'
                  b'"message":"m"}', {}),
    ("bad_level", b'{' + TS + b',"service_name":"payment-service",'
                  b'"level":"SHOUT","message":"keyed \xc3\xa9"}',
     {"key": "cl\u00e9-\u2713 42"}),
    ("too_large", b'{' + TS + b',"service_name":"s","level":"INFO",'
                  b'"message":"' + b"x" * (max_payload + 100) + b'"}', {}),
    ("empty", b"", {"note": "no data, an attribute"}),
]
with open(events, "rb") as f:
    valid = f.read().splitlines()
msgs = [("valid", v, {}) for v in valid]
msgs[3] = ("valid", valid[3], {"key": "valid-key"})
# Interleaved: valid and toxic messages share batches.
mixed = []
for i in range(max(len(msgs), len(toxic))):
    mixed += msgs[i:i + 1] + toxic[i:i + 1]
body = {"messages": []}
for reason, data, attrs in mixed:
    m = {"data": base64.b64encode(data).decode()}
    if attrs:
        m["attributes"] = attrs
    body["messages"].append(m)
req = urllib.request.Request(
    f"http://{host}/v1/projects/{project}/topics/{topic}:publish",
    data=json.dumps(body).encode(), method="POST",
    headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=30) as r:
    ids = json.load(r)["messageIds"]
if len(ids) != len(mixed) or len(set(ids)) != len(ids):
    sys.exit(f"publish answered {len(ids)} ids for {len(mixed)} messages")
with open(manifest, "w") as f:
    json.dump([{"id": i, "data": base64.b64encode(d).decode(),
                "key": a.get("key"), "reason": r}
               for i, (r, d, a) in zip(ids, mixed)], f)
n = collections.Counter(r for r, _, _ in mixed)
t = len(mixed) - n["valid"]
with open(summary, "w") as f:
    print(f"consumed={len(mixed)}\nvalid={n['valid']}\ntoxic={t}\n"
          "tombstones=0", file=f)
    for r in ("empty", "too_large", "not_json", "not_object",
              "missing_field", "wrong_type", "bad_timestamp", "bad_level"):
        print(f"{r}={n[r]}", file=f)
    print(f"unacknowledged=0\ndead_lettered={t}", file=f)
EOF
    fail "publishing the messages to $1 failed"
}

# check_reports NAME SUB: $IT_TMP/NAME.err holds one toxic report per toxic
# message of $IT_TMP/NAME.manifest (by message id, with its reason, located
# at subscription SUB) and no other ERROR line.
check_reports() {
  python3 - "$IT_TMP/$1.manifest" "$IT_TMP/$1.err" "$2" <<'EOF' ||
import collections, json, re, sys
manifest, err, sub = sys.argv[1:4]
want = collections.Counter((m["id"], m["reason"]) for m in json.load(open(manifest))
                           if m["reason"] != "valid")
report = re.compile(rb'^ERROR: (Malformed JSON|Invalid event) received: .* '
                    rb'\(reason=([a-z_]+) detail=".*" subscription=' +
                    re.escape(sub.encode()) + rb' message_id=([0-9A-Za-z]+)\)$')
got = collections.Counter()
for line in open(err, "rb").read().split(b"\n"):
    if not line.startswith(b"ERROR: "):
        continue
    m = report.match(line)
    if not m:
        sys.exit(f"{err}: an ERROR line that is not a toxic report from {sub}: {line[:200]!r}")
    got[(m.group(3).decode(), m.group(2).decode())] += 1
if got != want:
    sys.exit(f"{err}: reports (message id, reason) differ from the toxic messages:\n"
             f"  missing: {sorted((want - got).elements())}\n"
             f"  extra:   {sorted((got - want).elements())}")
EOF
    fail "the consumer's toxic reports in $1.err are wrong (see above)"
}

# check_dead_letters NAME DLQ_SUB SUB T0 T1: pulls the dead-letter
# subscription DLQ_SUB (acknowledging what it gets) until it has one message
# per toxic message of $IT_TMP/NAME.manifest and then nothing more comes,
# and checks each: its data the toxic message's bytes (the data as a
# multiset, and each dead letter against the message its source.message_id
# names), and its attributes, exactly these: error.reason (the expected
# one), error.detail (non-empty), error.position (not_json only, and where
# its line says), error.time (RFC 3339 with ms, within the consumer's run
# T0..T1, ms since the epoch), source.subscription (SUB),
# source.message_id, source.timestamp (RFC 3339, not after error.time), and
# "key" and source.key for the keyed message only, both its key.
check_dead_letters() {
  python3 - "$EMULATOR" "$PROJECT" "$2" "$IT_TMP/$1.manifest" "$3" "$4" "$5" \
    <<'EOF' || fail "the dead letters of $1 in $2 are wrong (see above)"
import base64, collections, datetime, json, re, sys, time, urllib.request
host, project, dlq_sub, manifest, sub, t0, t1 = sys.argv[1:8]
t0, t1 = int(t0), int(t1)
toxic = [m for m in json.load(open(manifest)) if m["reason"] != "valid"]
by_id = {m["id"]: m for m in toxic}
url = f"http://{host}/v1/projects/{project}/subscriptions/{dlq_sub}"

def call(verb, body):
    req = urllib.request.Request(f"{url}:{verb}", data=json.dumps(body).encode(),
                                 method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)

got, empty, deadline = [], 0, time.monotonic() + 30
# Until every dead letter is in, and then two empty answers in a row: a
# duplicate or a stray message would come with the others.
while len(got) < len(toxic) or empty < 2:
    if time.monotonic() > deadline:
        sys.exit(f"{dlq_sub}: {len(got)} dead letters after 30 s, "
                 f"expected {len(toxic)}")
    received = call("pull", {"maxMessages": 1000,
                             "returnImmediately": True}).get("receivedMessages", [])
    if received:
        call("acknowledge", {"ackIds": [r["ackId"] for r in received]})
        got += [r["message"] for r in received]
        empty = 0
    else:
        empty += 1
        time.sleep(0.3)

def data(m):
    return base64.b64decode(m.get("data", ""))

want_data = collections.Counter(base64.b64decode(m["data"]) for m in toxic)
got_data = collections.Counter(data(m) for m in got)
if got_data != want_data:
    sys.exit(f"{dlq_sub}: the dead letters' data is not the toxic payloads "
             f"byte for byte (as a multiset):\n"
             f"  missing: {list((want_data - got_data).elements())!r:.600}\n"
             f"  extra:   {list((got_data - want_data).elements())!r:.600}")

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
POSITION = re.compile(r"^line=(-?[0-9]+) column=(-?[0-9]+) position=([0-9]+)$")

def ms(text):
    # Pub/Sub gives up to nanoseconds; fromisoformat takes microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp() * 1000

problems, seen = [], set()
for m in got:
    a = m.get("attributes", {})
    mid = a.get("source.message_id")
    what = f"dead letter {m.get('messageId')} (source.message_id={mid})"
    src = by_id.get(mid)
    if src is None:
        problems.append(f"{what}: names no toxic message of {sub}")
        continue
    if mid in seen:
        problems.append(f"{what}: a second dead letter for that message")
    seen.add(mid)
    reason = src["reason"]
    if data(m) != base64.b64decode(src["data"]):
        problems.append(f"{what}: data {data(m)[:80]!r} is not the source's")
    names = {"error.reason", "error.detail", "error.time",
             "source.subscription", "source.message_id", "source.timestamp"}
    if reason == "not_json":
        names.add("error.position")
    if src["key"] is not None:
        names |= {"key", "source.key"}
    if set(a) != names:
        problems.append(f"{what} ({reason}): attributes {sorted(a)}, expected "
                        f"{sorted(names)}")
    if a.get("error.reason") != reason:
        problems.append(f"{what}: error.reason={a.get('error.reason')!r}, "
                        f"expected {reason}")
    if not a.get("error.detail"):
        problems.append(f"{what}: empty or no error.detail")
    if "error.position" in a:
        p = POSITION.match(a["error.position"])
        if not p:
            problems.append(f"{what}: error.position={a['error.position']!r}")
        else:
            # jansson counts lines from 1 at the byte where it stopped.
            line, pos = int(p.group(1)), int(p.group(3))
            raw = base64.b64decode(src["data"])
            if pos > len(raw) or line != raw[:pos].count(b"\n") + 1:
                problems.append(f"{what}: error.position={a['error.position']!r} "
                                f"does not fit its {len(raw)}-byte payload")
    t = a.get("error.time", "")
    if not RFC3339_MS.match(t):
        problems.append(f"{what}: error.time={t!r} is not RFC 3339 with ms, UTC")
    elif not t0 - 1000 <= ms(t) <= t1 + 1000:
        problems.append(f"{what}: error.time={t} is outside the consumer's run")
    if a.get("source.subscription") != sub:
        problems.append(f"{what}: source.subscription="
                        f"{a.get('source.subscription')!r}, expected {sub}")
    ts = a.get("source.timestamp", "")
    if not RFC3339.match(ts):
        problems.append(f"{what}: source.timestamp={ts!r} is not RFC 3339")
    elif RFC3339_MS.match(t) and ms(ts) > ms(t):
        problems.append(f"{what}: source.timestamp={ts} after error.time={t}")
    if src["key"] is not None:
        for k in ("key", "source.key"):
            if a.get(k) != src["key"]:
                problems.append(f"{what}: {k}={a.get(k)!r}, expected {src['key']!r}")
missing = sorted(set(by_id) - seen)
if missing:
    problems.append(f"no dead letter for source messages {missing}")
if problems:
    sys.exit(f"{dlq_sub}:\n  " + "\n  ".join(problems))
print(f"{dlq_sub}: {len(got)} dead letters, each right", file=sys.stderr)
EOF
}

# expect_consumer_run NAME SUB: exit 0 ($RC), stdout the valid events byte
# for byte, the reports right, the summary right (dead_lettered=N
# included).
expect_consumer_run() {
  expect_eq "$1: consumer exit status" "$RC" 0
  check cover "$IT_TMP/events.txt" "$IT_TMP/$1.out"
  check_reports "$1" "$2"
  mapfile -t pairs <"$IT_TMP/$1.summary"
  expect_summary "$IT_TMP/$1.err" "${pairs[@]}"
  ! grep -q '^WARN: .*dead-letter' "$IT_TMP/$1.err" ||
    fail "$1: the consumer had to retry dead letters:" \
      "$(grep '^WARN: .*dead-letter' "$IT_TMP/$1.err" | head -n 3)"
}

make_events 8 "$IT_NAME" >"$IT_TMP/events.txt"

# --- 1. --create makes the dead-letter topic; every toxic message lands there
topic=$(unique_name topic)
sub=$(unique_name sub)
dlq=$(unique_name dlq)
make_topic "$topic" "$sub"
publish_mix "$topic" run1
t0=$(now_ms)
run run1 "$CONSUMER" "${PUBSUB[@]}" --pubsub-topic "$topic" \
  --subscription "$sub" --create --ack-deadline "$ACK_DEADLINE" \
  --max-payload-bytes "$MAX_PAYLOAD" --dlq-topic "$dlq" --idle-exit 3
t1=$(now_ms)
expect_consumer_run run1 "$sub"
emulator_api GET "projects/$PROJECT/subscriptions/$dlq" >"$IT_TMP/dlq-sub.json"
grep -qF "\"projects/$PROJECT/topics/$dlq\"" "$IT_TMP/dlq-sub.json" ||
  fail "--create made no subscription $dlq on topic $dlq:" \
    "$(cat "$IT_TMP/dlq-sub.json")"
check_dead_letters run1 "$dlq" "$sub" "$t0" "$t1"

# --- 2. nothing comes back: every message was acknowledged --------------------
# Its idle limit outlasts the ack deadline of anything left unacknowledged.
run rerun "$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" \
  --ack-deadline "$ACK_DEADLINE" --max-payload-bytes "$MAX_PAYLOAD" \
  --dlq-topic "$dlq" --idle-exit $((ACK_DEADLINE + 2))
expect_eq "rerun: consumer exit status" "$RC" 0
[[ ! -s $IT_TMP/rerun.out ]] ||
  fail "rerun: the consumer printed events again: $(head -c 300 "$IT_TMP/rerun.out")"
expect_summary "$IT_TMP/rerun.err" consumed=0 unacknowledged=0 dead_lettered=0

# A subscription on the dead-letter topic itself would loop every dead
# letter round again: refused at startup, whatever --pubsub-topic says.
run loop "$CONSUMER" "${PUBSUB[@]}" --subscription "$dlq" --dlq-topic "$dlq"
expect_eq "consumer of the dead-letter topic's subscription: exit status" \
  "$RC" 64
grep -q "^ERROR: subscription $dlq is on .*, the dead-letter topic" \
  "$IT_TMP/loop.err" ||
  fail "no ERROR refusing to consume the dead-letter topic: $(cat "$IT_TMP/loop.err")"

# --- 3. a dead-letter topic that does not exist --------------------------------
topic=$(unique_name topic2)
sub=$(unique_name sub2)
dlq=$(unique_name dlq2)
dlq_sub=$(unique_name dlq2sub)
missing=$(unique_name missing)
make_topic "$topic" "$sub"
make_topic "$dlq" "$dlq_sub"
publish_mix "$topic" run2
run nodlq "$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" \
  --ack-deadline "$ACK_DEADLINE" --dlq-topic "$missing" --idle-exit 3
expect_eq "consumer exit status, dead-letter topic missing" "$RC" 69
[[ ! -s $IT_TMP/nodlq.out ]] || fail "nodlq: the consumer wrote to stdout"
grep '^ERROR: ' "$IT_TMP/nodlq.err" | grep -F "dead-letter topic $missing" |
  grep -q NOT_FOUND ||
  fail "nodlq: no ERROR naming dead-letter topic $missing with NOT_FOUND:" \
    "$(cat "$IT_TMP/nodlq.err")"
! grep -qE '^ERROR: (Malformed JSON|Invalid event) received' "$IT_TMP/nodlq.err" ||
  fail "nodlq: the consumer read messages before failing"
expect_no_pubsub_name "$missing" "for a missing dead-letter topic"

# The failed run acknowledged nothing: all of it, to a topic that exists.
t0=$(now_ms)
run run2 "$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" \
  --ack-deadline "$ACK_DEADLINE" --max-payload-bytes "$MAX_PAYLOAD" \
  --dlq-topic "$dlq" --idle-exit 3
t1=$(now_ms)
expect_consumer_run run2 "$sub"
check_dead_letters run2 "$dlq_sub" "$sub" "$t0" "$t1"
log "ok: 14 toxic messages dead-lettered byte for byte with their attributes" \
  "(--create and an existing topic), all acknowledged; a missing" \
  "dead-letter topic is exit 69 with nothing read"
