#!/usr/bin/env bash
# The hostile corpus (tests/corpus, and the big payloads generate.sh makes)
# through the real broker, every payload ROUNDS times (default 100): the
# consumer exits 0, its summary counts each reason ROUNDS times the corpus's,
# stdout is exactly the valid payloads (raw CR and LF as spaces) ROUNDS
# times, and stderr holds exactly one escaped report per toxic message, with
# that payload's reason, and no raw control byte. The dead-letter topic is
# on: it ends with exactly one dead letter per toxic message, that payload
# and key byte for byte, its error.reason the payload's reason
# (expect_dead_letters), and the summary counts each as dead_lettered.
#
# Each payload is sent as a whole file (kcat -P FILE: no delimiter could be
# trusted, payloads hold newlines and NULs) with its file name as the key, so
# that each report's offset tells which payload it is about. kcat skips
# empty files: the empty payloads go as "KEY:" lines (-K:), an empty value.
# lz4 lets the 1 MiB payloads past the broker's default message.max.bytes
# (1 MiB + 12, counting the batch's framing). The consumer writes dead
# letters uncompressed, with headers: the dead-letter topic is created with
# a max.message.bytes of its own (DLQ_MAX_BYTES) that admits them.
#
# memcheck.sh sources this file with CORPUS_ROUNDS=1 and CORPUS_RUNNER, the
# command the consumer runs under (valgrind).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

ROUNDS=${CORPUS_ROUNDS:-100}
[[ -v CORPUS_RUNNER ]] || CORPUS_RUNNER=()
readonly ROUNDS
readonly CORPUS_SRC=$IT_DIR/../corpus
readonly DLQ_MAX_BYTES=4194304
topic=$(unique_name topic)
dlq=$(unique_name dlq)
group=$(unique_name group)
create_topic "$dlq" 1 "max.message.bytes=$DLQ_MAX_BYTES"

# The corpus in one directory: committed and generated payloads.
mkdir "$IT_TMP/corpus"
cp "$CORPUS_SRC"/*.bin "$IT_TMP/corpus/"
bash "$CORPUS_SRC/generate.sh" "$IT_TMP/corpus"
files=("$IT_TMP"/corpus/*.bin)

# Publish. A file's ROUNDS copies go in one kcat call under its name.
t0=$SECONDS
empties=()
for f in "${files[@]}"; do
  name=${f##*/}
  if [[ ! -s $f ]]; then
    empties+=("$name")
    continue
  fi
  copies=()
  for ((r = 0; r < ROUNDS; r++)); do
    copies+=("$f")
  done
  kcat -b "$BROKERS" -P -t "$topic" -k "$name" -z lz4 \
    -X message.max.bytes=4194304 "${copies[@]}" 2>"$IT_TMP/kcat-P.err" ||
    fail "kcat could not produce $name: $(tail -n 3 "$IT_TMP/kcat-P.err")"
done
for name in "${empties[@]}"; do
  for ((r = 0; r < ROUNDS; r++)); do
    printf '%s:\n' "$name"
  done
done | kcat -b "$BROKERS" -P -t "$topic" -K: 2>"$IT_TMP/kcat-P.err" ||
  fail "kcat could not produce the empty payloads: $(cat "$IT_TMP/kcat-P.err")"
total=$((${#files[@]} * ROUNDS))
log "published ${#files[@]} payloads x $ROUNDS = $total messages in $((SECONDS - t0)) s"

# What the topic holds: offset, key (the file name) and size of each
# message, checked against the files before the consumer runs.
kcat -b "$BROKERS" -C -e -q -o beginning -t "$topic" -f '%o %k %S\n' \
  >"$IT_TMP/topic.txt" || fail "kcat could not read $topic"

rc=0
t0=$SECONDS
"${CORPUS_RUNNER[@]}" "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" \
  --dlq-topic "$dlq" --max-messages "$total" --idle-exit 60 \
  >"$IT_TMP/consumer.stdout" 2>"$IT_TMP/consumer.err" || rc=$?
log "consumer: exit $rc after $((SECONDS - t0)) s"
expect_eq "consumer exit status" "$rc" 0

# stdout is not named *.out: lib.sh would show its last lines on failure,
# and some are 1 MiB long.
# It also writes manifest.txt: the dead letters expected, one per toxic
# message on the topic.
python3 - "$IT_TMP/corpus" "$IT_TMP/topic.txt" "$IT_TMP/consumer.stdout" \
  "$IT_TMP/consumer.err" "$topic" "$ROUNDS" "$IT_TMP/manifest.txt" \
  >"$IT_TMP/summary.txt" <<'EOF' ||
import collections, os, re, sys

corpus, topic_txt, out_path, err_path, topic, rounds, manifest = sys.argv[1:]
rounds = int(rounds)
MALFORMED = {"empty", "not_json"}
problems = []

def problem(msg):
    problems.append(msg)
    if len(problems) >= 20:
        finish()

def finish():
    for p in problems:
        print("corpus check: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)

payload, reason = {}, {}
for name in sorted(os.listdir(corpus)):
    with open(os.path.join(corpus, name), "rb") as f:
        payload[name] = f.read()
    reason[name] = name.split("-")[1]

# The topic: every file ROUNDS times, whole.
key_at = {}
seen = collections.Counter()
with open(topic_txt, "rb") as f:
    for line in f:
        offset, key, size = line.decode().split()
        key_at[int(offset)] = key
        seen[key] += 1
        if key not in payload or int(size) != len(payload[key]):
            problem(f"offset {offset}: key {key}, {size} bytes: not a corpus file")
for name in payload:
    if seen[name] != rounds:
        problem(f"{name}: {seen[name]} copies on the topic, expected {rounds}")

# stdout: the valid payloads, raw CR and LF as spaces, ROUNDS times each.
with open(out_path, "rb") as f:
    out = f.read()
if out and not out.endswith(b"\n"):
    problem("stdout does not end with a newline")
got = collections.Counter(out.split(b"\n")[:-1])
want = collections.Counter()
for name, data in payload.items():
    if reason[name] == "valid":
        want[data.replace(b"\r", b" ").replace(b"\n", b" ")] += rounds
for line in (got - want):
    problem(f"stdout line that is no valid payload: {line[:120]!r}")
for line in (want - got):
    problem(f"valid payload missing from stdout: {line[:120]!r}")

# stderr: one report per toxic message, the payload's reason, clean bytes.
report = re.compile(r'ERROR: (Malformed JSON|Invalid event) received: .*'
                    r' \(reason=([a-z_]+) detail=".*" topic=(\S+)'
                    r' partition=0 offset=([0-9]+)\)')
logline = re.compile(r'(DEBUG|INFO|WARN): (kafka: |consuming |Summary: '
                     r'|toxic messages go to dead-letter topic )')
reported = collections.Counter()
with open(err_path, "rb") as f:
    err = f.read()
for n, raw in enumerate(err.split(b"\n")[:-1], start=1):
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        problem(f"stderr line {n} is not UTF-8: {raw[:120]!r}")
        continue
    m = report.fullmatch(line)
    if any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or c in "\u2028\u2029"
           for c in line):
        name = key_at.get(int(m.group(4))) if m else None
        problem(f"stderr line {n} ({name or 'no report'}) holds a raw"
                f" control character: {raw[:100]!r}")
    if not m:
        if not logline.match(line):
            problem(f"stderr line {n} is neither a report nor a log record: {line[:160]}")
        continue
    headline, why, where, offset = m.groups()
    offset = int(offset)
    name = key_at.get(offset)
    if where != topic or name is None:
        problem(f"stderr line {n}: no message at {where} offset {offset}")
        continue
    reported[offset] += 1
    if why != reason[name]:
        problem(f"{name} at offset {offset}: reported as {why}, expected {reason[name]}")
    if (headline == "Malformed JSON") != (why in MALFORMED):
        problem(f"{name} at offset {offset}: '{headline}' for reason {why}")
for offset, name in key_at.items():
    n = reported[offset]
    if n != (0 if reason[name] == "valid" else 1):
        problem(f"{name} at offset {offset}: reported {n} times")

# Each toxic message's dead letter: its payload and key (the file name).
with open(manifest, "w") as f:
    for offset, name in sorted(key_at.items()):
        if reason[name] != "valid":
            f.write(f"0 {offset} {reason[name]} {name.encode().hex()}"
                    f" {os.path.join(corpus, name)}\n")

# The summary the consumer must print, one key=value a line.
counts = collections.Counter(reason[k] for k in key_at.values())
print(f"consumed={len(key_at)}")
print(f"valid={counts['valid']}")
print(f"toxic={len(key_at) - counts['valid']}")
print("tombstones=0")
for r in ["empty", "too_large", "not_json", "not_object", "missing_field",
          "wrong_type", "bad_timestamp", "bad_level"]:
    print(f"{r}={counts[r]}")
print("unacknowledged=0")
print(f"dead_lettered={len(key_at) - counts['valid']}")
finish()
EOF
  fail "the consumer's output does not match the corpus (see above)"

mapfile -t summary <"$IT_TMP/summary.txt"
expect_eq "messages on the topic" "${summary[0]}" "consumed=$total"
expect_summary "$IT_TMP/consumer.err" "${summary[@]}"
t0=$SECONDS
expect_dead_letters "$dlq" "$topic" "$group" "$IT_TMP/manifest.txt"
log "dead letters checked in $((SECONDS - t0)) s"
log "ok: ${summary[*]}"
