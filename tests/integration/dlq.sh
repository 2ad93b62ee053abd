#!/usr/bin/env bash
# The dead-letter topic on Kafka: every toxic message republished there byte
# for byte, key included, with headers that say why it was rejected and
# where it came from; then the README's replay, after a fix, back through
# event-producer into a topic a consumer accepts it from.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

topic=$(unique_name topic)
dlq=$(unique_name dlq)
replay=$(unique_name replay)
group=$(unique_name group)

# 6 valid events, then 5 toxic messages of four reasons, two of them keyed,
# one of them on two lines (jansson's line number is then 2).
make_events 6 dlq >"$IT_TMP/valid.txt"
kcat -b "$BROKERS" -t "$topic" -P -l "$IT_TMP/valid.txt" ||
  fail "kcat could not produce the valid events"
python3 - "$IT_TMP/toxic" <<'EOF'
import json, os, sys
ok = {"timestamp": "2026-11-22T10:15:30Z", "service_name": "api",
      "level": "INFO", "message": "m"}
toxic = [
    ("not_json", None, b'{"level": "INFO",\n  "message": tru}'),
    ("bad_level", b"tenant-7", json.dumps(dict(ok, level="LOUD")).encode()),
    ("missing_field", None, json.dumps({"message": "no time"}).encode()),
    ("not_json", b"k\xc3\xa9", b"plain text, not JSON"),
    ("wrong_type", None, json.dumps(dict(ok, message=42)).encode()),
]
os.makedirs(sys.argv[1])
for i, (reason, key, payload) in enumerate(toxic):
    base = os.path.join(sys.argv[1], "%02d" % i)
    open(base + ".value", "wb").write(payload)
    open(base + ".reason", "w").write(reason)
    if key is not None:
        open(base + ".key", "wb").write(key)
EOF
# One kcat per toxic message: a file argument is one whole message.
for value in "$IT_TMP"/toxic/*.value; do
  key_args=()
  [[ ! -f ${value%.value}.key ]] || key_args=(-k "$(<"${value%.value}.key")")
  kcat -b "$BROKERS" -t "$topic" -P "${key_args[@]}" "$value" ||
    fail "kcat could not produce $value"
done

start_ms=$(now_ms)
run consume "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" \
  --dlq-topic "$dlq" --idle-exit 3
end_ms=$(now_ms)
expect_eq "consumer exit status" "$RC" 0
cmp -s "$IT_TMP/valid.txt" "$IT_TMP/consume.out" ||
  fail "stdout is not exactly the 6 valid events"
n=$(grep -cE '^ERROR: (Malformed JSON|Invalid event) received: ' \
  "$IT_TMP/consume.err" || true)
expect_eq "toxic reports on stderr" "$n" 5
grep -qF "toxic messages go to dead-letter topic $dlq" "$IT_TMP/consume.err" ||
  fail "the consumer does not say where toxic messages go"
expect_summary "$IT_TMP/consume.err" consumed=11 valid=6 toxic=5 \
  unacknowledged=0 dead_lettered=5

# The source topic as kcat sees it (offsets, timestamps) and the dead
# letters, each as JSON with its key, value and headers (kcat -J).
kcat -b "$BROKERS" -C -e -q -o beginning -t "$topic" -J >"$IT_TMP/source.json" ||
  fail "kcat could not read $topic"
kcat -b "$BROKERS" -C -e -q -o beginning -t "$dlq" -J >"$IT_TMP/dlq.json" ||
  fail "kcat could not read $dlq"
python3 - "$IT_TMP" "$topic" "$group" "$start_ms" "$end_ms" <<'EOF' ||
import datetime, json, os, re, sys
tmp, topic, group, start_ms, end_ms = sys.argv[1:]
toxic_dir = os.path.join(tmp, "toxic")
names = sorted(f[:-6] for f in os.listdir(toxic_dir) if f.endswith(".value"))
def read(name, ext, mode="rb"):
    path = os.path.join(toxic_dir, name + ext)
    return open(path, mode).read() if os.path.exists(path) else None
expected = [(read(n, ".value"), read(n, ".key"), read(n, ".reason", "r"))
            for n in names]
source = [json.loads(l) for l in open(os.path.join(tmp, "source.json"))]
dead = [json.loads(l) for l in open(os.path.join(tmp, "dlq.json"))]
errors = []
if len(dead) != len(expected):
    sys.exit("%d dead letters, want %d" % (len(dead), len(expected)))
rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
def ms_of(text):
    return int(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
for i, (d, (value, key, reason)) in enumerate(zip(dead, expected)):
    src = source[6 + i]
    h = dict(zip(d["headers"][0::2], d["headers"][1::2]))
    if len(h) * 2 != len(d["headers"]):
        errors.append("%d: a header appears twice" % i)
    def want(name, val):
        if h.get(name) != val:
            errors.append("%d: %s is %r, want %r" % (i, name, h.get(name), val))
    if d["payload"].encode() != value:
        errors.append("%d: payload %r, want %r" % (i, d["payload"], value))
    if (d["key"].encode() if d["key"] is not None else None) != key:
        errors.append("%d: key %r, want %r" % (i, d["key"], key))
    want("error.reason", reason)
    if not h.get("error.detail"):
        errors.append("%d: no error.detail" % i)
    if reason == "not_json":
        m = re.match(r"^line=(\d+) column=(-?\d+) position=(\d+)$",
                     h.get("error.position", ""))
        if not m or int(m.group(3)) > len(value):
            errors.append("%d: error.position %r" % (i, h.get("error.position")))
        elif b"\n" in value and m.group(1) != "2":
            errors.append("%d: error.position %r is not on line 2"
                          % (i, h["error.position"]))
    elif "error.position" in h:
        errors.append("%d: error.position on a %s message" % (i, reason))
    t = h.get("error.time", "")
    if not rfc3339.match(t) or not int(start_ms) - 1 <= ms_of(t) <= int(end_ms) + 1:
        errors.append("%d: error.time %r not within the run" % (i, t))
    want("source.topic", topic)
    want("source.partition", str(src["partition"]))
    want("source.offset", str(src["offset"]))
    ts = src["ts"]
    want("source.timestamp",
         datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc)
         .strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ts % 1000))
    want("consumer.group", group)
    want("source.key", key.decode() if key is not None else None)
if errors:
    sys.exit("\n".join(errors))
print("dead letters: payloads, keys and headers right")
EOF
  fail "the dead-letter topic does not hold the toxic messages as expected"

# Nothing comes back: every toxic message was acknowledged once its dead
# letter was confirmed.
run again "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" \
  --dlq-topic "$dlq" --idle-exit 3
expect_eq "second consumer exit status" "$RC" 0
expect_summary "$IT_TMP/again.err" consumed=0 dead_lettered=0

# The README's replay after a fix: the dead letters back into a topic
# through event-producer; a consumer with the fix (here, --no-schema, which
# accepts the schema failures) takes the three JSON objects, and the two
# payloads that are not JSON are toxic again. The two-line payload is the
# one the line-based replay cannot carry whole: it arrives as two lines,
# each not JSON.
kcat -b "$BROKERS" -C -e -q -o beginning -t "$dlq" -f '%s\n' |
  "$PRODUCER" -b "$BROKERS" -t "$replay" --input - \
    >"$IT_TMP/replay-producer.out" 2>"$IT_TMP/replay-producer.err" ||
  fail "the replay pipeline failed: $(tail -n 2 "$IT_TMP/replay-producer.err")"
run replayed "$CONSUMER" -b "$BROKERS" -t "$replay" -g "$group" --no-schema \
  --idle-exit 3
expect_eq "replay consumer exit status" "$RC" 0
expect_summary "$IT_TMP/replayed.err" consumed=6 valid=3 toxic=3 not_json=3
for value in "$IT_TMP"/toxic/0[124].value; do
  cat "$value"
  echo
done >"$IT_TMP/fixed.txt"
check same-json "$IT_TMP/fixed.txt" "$IT_TMP/replayed.out"

# The README's byte-exact replay, kcat to kcat: keys kept, the two-line
# payload whole (framed by the ASCII unit and record separators).
replay_exact=$(unique_name replay-exact)
kcat -b "$BROKERS" -C -e -q -o beginning -t "$dlq" -K '\x1f' -D '\x1e' |
  kcat -b "$BROKERS" -t "$replay_exact" -P -K '\x1f' -D '\x1e' ||
  fail "the kcat replay pipeline failed"
framed() { kcat -b "$BROKERS" -C -e -q -o beginning -t "$1" -f '%k\x1f%s\x1e'; }
cmp <(framed "$dlq") <(framed "$replay_exact") ||
  fail "the kcat replay did not copy the dead letters' keys and values exactly"
log "ok: 5 dead letters byte for byte with their headers, none redelivered," \
  "replayed after a fix (line by line, and byte for byte with kcat)"
