#!/usr/bin/env bash
# --log-format json on both binaries: the seed scenario (the producer, JSON
# by its flag, paced so that --stats-interval fires) plus hostile payloads
# sent byte for byte with kcat (terminal escapes, raw newlines, invalid
# UTF-8, NUL, C1 controls and U+2028, quotes and backslashes that try to
# close the JSON string, a 100 KB payload), read by a consumer with
# LOG_FORMAT=json at --log-level debug. Every stderr line of both is one
# JSON object with time, level and msg; each toxic message is reported
# once, with its reason, detail, escaped payload, payload_bytes, topic,
# partition and offset right; Stats and Summary records carry numbers. A
# second consumer, in text (its flag over LOG_FORMAT=json), prints the same
# reports as text lines, field for field.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

topic=$(unique_name topic)
group_json=$(unique_name json)
group_text=$(unique_name text)

# The seed scenario: 10 valid events, 3 malformed payloads, at 20 a second
# so that the 0.2 s --stats-interval fires; a consumer-only property makes
# librdkafka warn (CONFWARN) through our log.
rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" --log-format json --rate 20 \
  --stats-interval 0.2 -X auto.offset.reset=earliest \
  >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err" || rc=$?
expect_eq "producer exit status" "$rc" 0
expect_eq "producer stdout lines" "$(count_lines "$IT_TMP/producer.out")" 13

# Hostile payloads, separated by 0x1e (none holds one), each with the
# reason it must get ("valid" for the ones that are events).
python3 - "$IT_TMP/hostile.bin" "$IT_TMP/hostile.reasons" <<'EOF'
import sys
ts = '"timestamp":"2026-11-22T10:15:30Z"'
payloads = [
    ("not_json", b"\x1b[31mred\x1b[0m\nforged: line\r\x07bell\ttab"),
    ("not_json", b'\xff\xfe{"a":"\xc0\xaf"} \xed\xa0\x80 truncated \xe2\x82'),
    ("not_json", b'"}, {"level":"error","msg":"forged"} \\u0000 \\\\ \\" \\'),
    ("not_json", b'{"a":\x00"nul"}'),
    ("not_json", "\u0085 next line \u2028 separator \u009b[2J csi \u00e9t\u00e9 \u2713".encode()),
    ("not_json", b"x" * 511 + "\u00e9".encode() + b"y" * (102400 - 513)),
    ("not_json", b"\x01" * 600),
    ("bad_level", ('{%s,"service_name":"s\\"q","level":"\\u001b[2J\\"}","message":"m"}'
                   % ts).encode()),
    ("missing_field", b'{"service_name":"a\\\\b","level":"INFO","message":"\\"}\\n{"}'),
    ("valid", ('{%s,"service_name":"quote\\"svc","level":"WARN","message":"back\\\\slash \\"quoted\\" \\u2028"}'
               % ts).encode()),
]
with open(sys.argv[1], "wb") as f:
    f.write(b"\x1e".join(p for _, p in payloads))
with open(sys.argv[2], "w") as f:
    for reason, _ in payloads:
        print(reason, file=f)
EOF
kcat -b "$BROKERS" -P -t "$topic" -D '\x1e' <"$IT_TMP/hostile.bin" ||
  fail "kcat could not produce the hostile payloads"
# What the topic holds, framed by lengths so that any byte comes back.
kcat -b "$BROKERS" -C -e -q -o beginning -t "$topic" -f '%p %o %S\n%s\n' \
  >"$IT_TMP/topic.dump" || fail "kcat could not read $topic"
total=$((13 + $(count_lines "$IT_TMP/hostile.reasons")))

# Both consumers at once: JSON through the environment, text through the
# flag, which wins over the environment.
LOG_FORMAT=json spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group_json" \
  --idle-exit 3 --stats-interval 0.5 --log-level debug -X debug=cgrp \
  --metrics-addr 127.0.0.1:0 >"$IT_TMP/json.out" 2>"$IT_TMP/json.err"
json_pid=$!
LOG_FORMAT=json spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group_text" \
  --idle-exit 3 --stats-interval 0.5 --log-format text \
  >"$IT_TMP/text.out" 2>"$IT_TMP/text.err"
text_pid=$!
for pid in "$json_pid" "$text_pid"; do
  rc=0
  reap "$pid" || rc=$?
  expect_eq "consumer exit status" "$rc" 0
done
cmp -s "$IT_TMP/json.out" "$IT_TMP/text.out" ||
  fail "the JSON and the text consumer printed different events"
check events "$IT_TMP/json.out" 11

python3 - "$IT_TMP" "$topic" "$total" <<'EOF' || fail "the JSON logs are wrong (see above)"
import json, re, sys

tmp, topic, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LEVELS = {"debug", "info", "warn", "error"}
UNSAFE = re.compile("[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")
problems = []

def problem(msg):
    problems.append(msg)
    if len(problems) > 20:
        finish()

def finish():
    for p in problems:
        print("logs:", p, file=sys.stderr)
    sys.exit(1 if problems else 0)

def records(name):
    """Every line of stderr NAME as a JSON object with time, level, msg."""
    out = []
    with open(f"{tmp}/{name}", "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        problem(f"{name}: the last line has no newline")
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            rec = json.loads(line.decode("utf-8"))  # strict: no raw controls
        except ValueError as e:
            problem(f"{name}:{n}: not JSON ({e}): {line[:200]!r}")
            continue
        if not isinstance(rec, dict):
            problem(f"{name}:{n}: not an object: {line[:200]!r}")
            continue
        keys = list(rec)[:3]
        if keys != ["time", "level", "msg"]:
            problem(f"{name}:{n}: begins with {keys}, not time, level, msg")
        elif (not isinstance(rec["time"], str) or not TIME.fullmatch(rec["time"])
              or rec["level"] not in LEVELS or not isinstance(rec["msg"], str)):
            problem(f"{name}:{n}: bad time, level or msg: {line[:200]!r}")
        out.append(rec)
    return out

def unescape(s):
    """The bytes the escaped text s stands for; None if an escape is bad."""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = s[i + 1:i + 2]
        if n in ("\\", "n", "r", "t"):
            out += {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t"}[n]
            i += 2
        elif n == "x" and re.fullmatch(r"[0-9a-f]{2}", s[i + 2:i + 4]):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif n == "u" and re.fullmatch(r"[0-9a-f]{4}", s[i + 2:i + 6]):
            out += chr(int(s[i + 2:i + 6], 16)).encode()
            i += 6
        else:
            return None
    return bytes(out)

def numbers(rec, keys, name):
    for k in keys:
        if type(rec.get(k)) is not int:
            problem(f"{name}: {rec['msg']} field {k} is {rec.get(k)!r}, not a number")

# The topic: (partition, offset) -> payload bytes (None for NULL).
payloads = {}
with open(f"{tmp}/topic.dump", "rb") as f:
    while True:
        head = f.readline()
        if not head:
            break
        p, o, size = map(int, head.split())
        payloads[(p, o)] = f.read(size) if size >= 0 else None
        f.read(1)
expected = {}
for o in (10, 11, 12):  # the generator's 3 malformed payloads
    expected[(0, o)] = "not_json"
with open(f"{tmp}/hostile.reasons") as f:
    for i, reason in enumerate(f.read().split()):
        if reason != "valid":
            expected[(0, 13 + i)] = reason
if len(payloads) != total:
    problem(f"the topic holds {len(payloads)} messages, not {total}")

# The consumer's JSON records.
recs = records("json.err")
toxic = [r for r in recs if r["msg"] in ("Malformed JSON received",
                                         "Invalid event received")]
seen = {}
FIELDS = ["time", "level", "msg", "reason", "detail", "payload",
          "payload_bytes", "topic", "partition", "offset"]
for r in toxic:
    where = f"report at offset {r.get('offset')}"
    if list(r) != FIELDS:
        problem(f"{where}: fields {list(r)}, expected {FIELDS}")
        continue
    numbers(r, ["payload_bytes", "partition", "offset"], where)
    key = (r["partition"], r["offset"])
    if key not in expected:
        problem(f"{where}: not a toxic message of the topic")
        continue
    seen[key] = seen.get(key, 0) + 1
    raw = payloads[key]
    if r["level"] != "error" or r["topic"] != topic:
        problem(f"{where}: level {r['level']}, topic {r['topic']}")
    if r["reason"] != expected[key]:
        problem(f"{where}: reason {r['reason']}, expected {expected[key]}")
    malformed = r["reason"] in ("empty", "not_json")
    if r["msg"] != ("Malformed JSON received" if malformed else "Invalid event received"):
        problem(f"{where}: msg {r['msg']!r} for reason {r['reason']}")
    if r["payload_bytes"] != len(raw):
        problem(f"{where}: payload_bytes {r['payload_bytes']}, the payload has {len(raw)}")
    for field in ("payload", "detail"):
        if UNSAFE.search(r[field]):
            problem(f"{where}: {field} holds an unescaped control: {r[field][:120]!r}")
    if not r["detail"]:
        problem(f"{where}: empty detail")
    shown = unescape(r["payload"])
    if shown is None:
        problem(f"{where}: payload has a bad escape: {r['payload'][:200]!r}")
    elif not raw.startswith(shown) or len(shown) < min(len(raw), 512 - 3) or len(shown) > 512:
        problem(f"{where}: payload {r['payload'][:120]!r} is not the payload's"
                f" first 509 to 512 bytes, escaped ({len(shown)} of {len(raw)})")
for key in sorted(expected):
    if seen.get(key) != 1:
        problem(f"offset {key[1]} ({expected[key]}): {seen.get(key, 0)} reports, expected 1")

# The same reports in text, line for line, in the same order.
with open(f"{tmp}/text.err", "rb") as f:
    text = [l for l in f.read().split(b"\n")
            if l.startswith((b"ERROR: Malformed JSON received: ",
                             b"ERROR: Invalid event received: "))]
want = []
for r in toxic:
    if list(r) != FIELDS:
        continue
    cut = "" if len(unescape(r["payload"]) or b"") == r["payload_bytes"] \
        else f"... [{r['payload_bytes']} bytes total]"
    want.append((f"ERROR: {r['msg']}: {r['payload']}{cut} (reason={r['reason']}"
                 f" detail=\"{r['detail']}\" topic={r['topic']}"
                 f" partition={r['partition']} offset={r['offset']})").encode())
if text != want:
    problem(f"the text reports are not the JSON ones: {len(text)} text, {len(want)} JSON")
    for a, b in zip(text, want):
        if a != b:
            problem(f"  text: {a[:300]!r}\n  json: {b[:300]!r}")
            break

# Stats and Summary: numbers, the summary's fields, in agreement with text.
def pairs(prefix):
    with open(f"{tmp}/text.err") as f:
        lines = [l for l in f.read().split("\n") if l.startswith(prefix)]
    return [dict((k, int(v)) for k, v in (p.split("=") for p in l[len(prefix):].split()))
            for l in lines]
text_summary = pairs("INFO: Summary: ")
summaries = [r for r in recs if r["msg"] == "Summary"]
stats = [r for r in recs if r["msg"] == "Stats"]
if len(summaries) != 1 or len(text_summary) != 1:
    problem(f"{len(summaries)} JSON and {len(text_summary)} text summaries, expected 1 each")
else:
    s = summaries[0]
    body = {k: v for k, v in s.items() if k not in ("time", "level", "msg")}
    if s["level"] != "info" or body != text_summary[0]:
        problem(f"JSON summary {body} differs from the text one {text_summary[0]}")
    numbers(s, list(body), "summary")
    if (body.get("consumed"), body.get("valid"), body.get("toxic")) != (total, 11, len(expected)):
        problem(f"summary {body}: expected consumed={total} valid=11 toxic={len(expected)}")
if not stats:
    problem("no Stats record with --stats-interval 0.5")
last = -1
for r in stats:
    body = {k: v for k, v in r.items() if k not in ("time", "level", "msg")}
    numbers(r, list(body), "Stats")
    if text_summary and set(body) != set(text_summary[0]):
        problem(f"Stats fields {list(body)} are not the summary's")
    if body.get("consumed", -1) < last:
        problem("Stats consumed went down")
    last = body.get("consumed", -1)
if not pairs("INFO: Stats: "):
    problem("no 'INFO: Stats:' line in the text consumer's stderr")
if not any(r["level"] == "debug" for r in recs):
    problem("no debug record at --log-level debug")
if not any(r["msg"].startswith("serving /metrics") for r in recs):
    problem("no 'serving /metrics' record")

# The producer's records.
precs = records("producer.err")
ps = [r for r in precs if r["msg"] == "Summary"]
want = {"queued": 13, "delivered": 13, "failed": 0, "undelivered": 0}
if len(ps) != 1 or {k: v for k, v in ps[0].items() if k not in ("time", "level", "msg")} != want:
    problem(f"producer summary {ps}, expected {want}")
else:
    numbers(ps[0], list(want), "producer summary")
pstats = [r for r in precs if r["msg"] == "Stats"]
if not pstats:
    problem("no producer Stats record with --stats-interval 0.2")
for r in pstats:
    numbers(r, ["queued", "delivered", "failed"], "producer Stats")
    if set(r) != {"time", "level", "msg", "queued", "delivered", "failed"}:
        problem(f"producer Stats fields {list(r)}")
if not any(r["level"] == "warn" and "CONFWARN" in r["msg"] for r in precs):
    problem("no librdkafka CONFWARN record from the producer")
finish()
EOF

# Text is as it was: every line of the text consumer a "LEVEL: " line.
n=$(grep -cvE '^(DEBUG|INFO|WARN|ERROR): ' "$IT_TMP/text.err" || true)
expect_eq "text stderr lines not beginning 'LEVEL: '" "$n" 0
expect_summary "$IT_TMP/text.err" "consumed=$total" valid=11 toxic=$((total - 11)) \
  unacknowledged=0 dead_lettered=0
grep -q '^INFO: Summary: consumed=' "$IT_TMP/text.err" ||
  fail "no text summary line"

# A failure in JSON: a file name with a quote and a backslash, in the msg.
bad=$IT_TMP/'no "such\ file'
rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" --log-format json --input "$bad" \
  >"$IT_TMP/nofile.out" 2>"$IT_TMP/nofile.err" || rc=$?
expect_eq "producer exit status, missing --input" "$rc" 74
expect_eq "stderr lines, missing --input" "$(count_lines "$IT_TMP/nofile.err")" 1
python3 - "$IT_TMP/nofile.err" "$bad" <<'EOF' ||
import json, sys
rec = json.loads(open(sys.argv[1], "rb").read())
assert rec["level"] == "error", rec
assert sys.argv[2] in rec["msg"], rec
EOF
  fail "a missing --input is not one JSON error record naming the file: $(cat "$IT_TMP/nofile.err")"

# Usage errors come before the format is known: text, one line, exit 64.
LOG_FORMAT=json expect_error 64 --max-messages "$CONSUMER" --max-messages abc
LOG_FORMAT=bogus expect_error 64 LOG_FORMAT "$CONSUMER"
expect_error 64 log-format "$PRODUCER" --log-format yaml
log "ok: $(wc -l <"$IT_TMP/json.err") consumer and $(wc -l <"$IT_TMP/producer.err")" \
  "producer JSON records parse; $((total - 11)) toxic reports right and equal" \
  "to the text ones; Stats and Summary numeric"
