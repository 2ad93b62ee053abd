#!/usr/bin/env bash
# The dead-letter topic cannot be written: nothing of the batch in hand is
# acknowledged, the consumer says so on stderr while it writes the dead
# letters again, and it exits 69 once --dlq-timeout is over. A rerun with a
# working dead-letter topic completes, with nothing lost: it reads again
# every toxic message (none was acknowledged) and dead-letters each one.
#
# One source partition, so that what was acknowledged is a prefix of it:
# VALID valid events with a toxic message every TOXIC_EVERY, the first at
# offset FIRST_TOXIC, of several reasons and hostile bytes (NUL, CR, invalid
# UTF-8, empty, too large). One group, four runs:
#   1. the dead-letter topic does not exist (deleted). The consumer may not
#      create it (-X allow.auto.create.topics=false, which the dead-letter
#      producer inherits): the test broker would auto-create it. Each dead
#      letter then waits for the topic until message.timeout.ms (a quarter
#      of the timeout), is written again, and --dlq-timeout 15 runs out;
#   2. it exists, but with max.message.bytes=64, which no dead letter fits: a
#      permanent error ("Message size too large"), written again with growing
#      pauses until --dlq-timeout 5 runs out;
#   2b. the same, SIGTERMed while it retries: exit 0 within seconds (a stop
#      is not a failure), the batch unacknowledged all the same;
#   3. the limit raised to the broker default (kafka.sh topic-config): exit 0.
# Each failed run: exit 69 within its timeout plus TIME_SLACK_S, a WARN per
# retry and an ERROR naming the dead-letter topic, dead_lettered=0, messages
# unacknowledged, nothing acknowledged past the first toxic message, and
# nothing on the dead-letter topic. The summaries of the runs add up to
# every message acknowledged exactly once; run 3 prints exactly the valid
# events from where the others stopped; together the runs print every valid
# event. The dead-letter topic ends with each toxic message exactly once,
# byte for byte: the failed runs wrote none (checked), and run 3 had no
# failure to repeat (no WARN), its writes being idempotent.
#
# Not min.insync.replicas=2 on the single broker: with Kafka 4.1's eligible
# leader replicas (KIP-966) the effective minimum ISR is
# min(min.insync.replicas, replication factor), and acks=all writes succeed.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker
require_kafka_sh

readonly VALID=3000 TOXIC_EVERY=100 FIRST_TOXIC=2 MAX_PAYLOAD=2000
readonly TIME_SLACK_S=20
readonly BROKER_MAX_MESSAGE_BYTES=1048588
topic=$(unique_name topic)
dlq=$(unique_name dlq)
group=$(unique_name group)
create_topic "$topic" 1

# stream.txt, one message a line: the valid events of make_events with the
# toxic payloads spliced in. valid-at.txt: "OFFSET<TAB>LINE" of each valid
# event; toxic/OFFSET.bin and manifest.txt (expect_dead_letters) the toxic
# ones, with the reason the consumer must give.
make_events "$VALID" "$topic" >"$IT_TMP/valid.txt"
python3 - "$IT_TMP" "$FIRST_TOXIC" "$TOXIC_EVERY" "$MAX_PAYLOAD" <<'EOF'
import json, os, sys
tmp, first, every, max_payload = sys.argv[1], *map(int, sys.argv[2:])
with open(os.path.join(tmp, "valid.txt"), "rb") as f:
    valid = f.read().split(b"\n")[:-1]
ok = {"timestamp": "2026-11-22T10:15:30Z", "service_name": "api",
      "level": "INFO"}
def event(i, **kw):
    return json.dumps(dict(ok, message="toxic %d" % i, **kw)).encode()
kinds = [
    ("not_json", lambda i: b"not json %d" % i),
    ("bad_level", lambda i: event(i, level="LOUD")),
    ("not_json", lambda i: b'{"message": "nul \x00 here %d"}' % i),
    ("missing_field", lambda i: json.dumps({"message": "toxic %d" % i}).encode()),
    ("not_json", lambda i: b"\xff\xfe invalid UTF-8 %d \xc3" % i),
    ("not_object", lambda i: b'[%d, "toxic"]' % i),
    ("wrong_type", lambda i: json.dumps(dict(ok, message=i)).encode()),
    ("not_json", lambda i: b'{"level": "INFO",\r "message": tru%d}' % i),
    ("bad_timestamp", lambda i: event(i, timestamp="yesterday")),
    ("too_large", lambda i: b"x%d " % i + b"y" * max_payload),
]
os.mkdir(os.path.join(tmp, "toxic"))
stream, valid_at, manifest = [], [], []
def toxic(k, i):
    reason, make = ("empty", lambda i: b"") if k < 0 else kinds[k % len(kinds)]
    path = os.path.join(tmp, "toxic", "%d.bin" % len(stream))
    with open(path, "wb") as f:
        f.write(make(i))
    manifest.append("0 %d %s - %s\n" % (len(stream), reason, path))
    stream.append(make(i))
k = 0
for i, line in enumerate(valid):
    if i == first or (i and i % every == 0):
        toxic(k, i)
        k += 1
    if i == len(valid) // 2:
        toxic(-1, i)
    valid_at.append(b"%d\t%s" % (len(stream), line))
    stream.append(line)
for name, lines in (("stream.txt", stream), ("valid-at.txt", valid_at)):
    with open(os.path.join(tmp, name), "wb") as f:
        f.write(b"".join(x + b"\n" for x in lines))
with open(os.path.join(tmp, "manifest.txt"), "w") as f:
    f.writelines(manifest)
EOF
total=$(count_lines "$IT_TMP/stream.txt")
toxic=$(count_lines "$IT_TMP/manifest.txt")
run producer "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/stream.txt"
expect_eq "producer exit status" "$RC" 0
n=$(grep -c '^Published message ' "$IT_TMP/producer.out" || true)
expect_eq "messages published" "$n" "$total"

# The key=value of the summary in consumer stderr FILE.
summary_value() {
  local summary
  summary=" $(summary_of "$1") "
  summary=${summary#* "$2"=}
  echo "${summary%% *}"
}

# failed_run NAME DLQ_TIMEOUT WARNING FLAGS...: a consumer run that must
# give up on the dead-letter topic; WARNING is what its retry WARN gives as
# the reason. Leaves ACKED, how many messages it acknowledged.
failed_run() {
  local name=$1 timeout=$2 warning=$3 t0 took n unacked
  shift 3
  t0=$(now_ms)
  run "$name" "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" \
    --dlq-topic "$dlq" --dlq-timeout "$timeout" --max-payload-bytes "$MAX_PAYLOAD" \
    --idle-exit 60 "$@"
  took=$(($(now_ms) - t0))
  expect_eq "$name: exit status" "$RC" 69
  ((took >= timeout * 1000 && took <= (timeout + TIME_SLACK_S) * 1000)) ||
    fail "$name: exit after $took ms, expected --dlq-timeout ${timeout} s" \
      "to at most ${TIME_SLACK_S} s more"
  n=$(grep -cE "^WARN: dead-letter topic $dlq: [0-9]+ of [0-9]+ dead letter\(s\) not written \($warning\); retrying in [0-9.]+ s, nothing acknowledged meanwhile" \
    "$IT_TMP/$name.err" || true)
  ((n >= 1)) || fail "$name: no WARN that the dead letters are written again" \
    "for '$warning'"
  n=$(grep -cE "^ERROR: dead-letter topic $dlq: [0-9]+ of [0-9]+ dead letter\(s\) not confirmed within --dlq-timeout \(.*\); their batch is not acknowledged" \
    "$IT_TMP/$name.err" || true)
  expect_eq "$name: ERRORs naming the dead-letter topic" "$n" 1
  expect_summary "$IT_TMP/$name.err" dead_lettered=0 toxic=0
  unacked=$(summary_value "$IT_TMP/$name.err" unacknowledged)
  ACKED=$(summary_value "$IT_TMP/$name.err" consumed)
  ((unacked > 0)) || fail "$name: unacknowledged=$unacked, expected the batch in hand"
  # Only the batches before the one holding the first toxic message are
  # acknowledged: valid events, none after FIRST_TOXIC.
  ((ACKED <= FIRST_TOXIC)) ||
    fail "$name: $ACKED messages acknowledged, past the first toxic one (offset $FIRST_TOXIC)"
  log "$name: exit 69 after $took ms, $ACKED acknowledged, $unacked not;" \
    "$(grep -c '^WARN: dead-letter topic ' "$IT_TMP/$name.err") WARN(s)"
}

# 1. No dead-letter topic, and none created.
failed_run missing 15 'Local: (Message timed out|Unknown topic)' -X allow.auto.create.topics=false
acked=$ACKED
kcat -b "$BROKERS" -L -m 5 >"$IT_TMP/metadata.txt" 2>&1 ||
  fail "kcat could not list the topics"
! grep -qF "topic \"$dlq\" " "$IT_TMP/metadata.txt" ||
  fail "run 1 created the dead-letter topic $dlq"

# 2. A dead-letter topic that takes no dead letter.
create_topic "$dlq" 1 max.message.bytes=64
failed_run too_small 5 'Broker: Message size too large'
acked=$((acked + ACKED))
n=$(kcat -b "$BROKERS" -C -e -q -o beginning -t "$dlq" -f '%o\n' | wc -l)
expect_eq "dead letters written by the failed runs" "$n" 0

# 2b. Asked to stop while the dead letters are refused: the stop goes as
# asked (exit 0, within the grace for dead letters in flight), and the
# batch goes back unacknowledged.
spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --dlq-topic "$dlq" \
  --dlq-timeout 60 --max-payload-bytes "$MAX_PAYLOAD" --idle-exit 60 \
  >"$IT_TMP/stopped.out" 2>"$IT_TMP/stopped.err"
pid=$!
wait_until 30 grep -q '^WARN: dead-letter topic ' "$IT_TMP/stopped.err" ||
  fail "stopped: no retry WARN within 30 s: $(tail -n 3 "$IT_TMP/stopped.err")"
t0=$(now_ms)
kill -TERM "$pid"
rc=0
reap "$pid" || rc=$?
took=$(($(now_ms) - t0))
expect_eq "stopped: exit status" "$rc" 0
((took <= 10000)) || fail "stopped: exit $took ms after SIGTERM, expected under 10 s"
grep -qE "^WARN: dead-letter topic $dlq: .* not confirmed when the stop request came .*; stopping as asked$" \
  "$IT_TMP/stopped.err" ||
  fail "stopped: no WARN that the dead letters were cut short by the stop"
expect_summary "$IT_TMP/stopped.err" dead_lettered=0 toxic=0
ACKED=$(summary_value "$IT_TMP/stopped.err" consumed)
((ACKED <= FIRST_TOXIC)) ||
  fail "stopped: $ACKED messages acknowledged, past the first toxic one (offset $FIRST_TOXIC)"
acked=$((acked + ACKED))
log "stopped: exit 0 $took ms after SIGTERM, $ACKED acknowledged"

# 3. Fixed: everything the failed runs left is read again.
topic_config "$dlq" "max.message.bytes=$BROKER_MAX_MESSAGE_BYTES"
t0=$(now_ms)
run fixed "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --dlq-topic "$dlq" \
  --max-payload-bytes "$MAX_PAYLOAD" --idle-exit 5
took=$(($(now_ms) - t0))
expect_eq "fixed run: exit status" "$RC" 0
! grep -q '^WARN: dead-letter topic ' "$IT_TMP/fixed.err" ||
  fail "fixed run: dead letters were written again: $(grep -m1 '^WARN: dead-letter' "$IT_TMP/fixed.err")"
expect_summary "$IT_TMP/fixed.err" "consumed=$((total - acked))" \
  "valid=$((total - acked - toxic))" "toxic=$toxic" unacknowledged=0 \
  "dead_lettered=$toxic"
n=$(toxic_reports "$IT_TMP/fixed.err" | wc -l)
expect_eq "fixed run: toxic reports on stderr" "$n" "$toxic"
awk -F'\t' -v from="$acked" '$1 >= from' "$IT_TMP/valid-at.txt" | cut -f2- \
  >"$IT_TMP/expected-fixed.txt"
cmp -s "$IT_TMP/expected-fixed.txt" "$IT_TMP/fixed.out" ||
  fail "fixed run: stdout is not exactly the valid events from offset $acked on"
check cover-some "$IT_TMP/valid.txt" "$IT_TMP/missing.out" \
  "$IT_TMP/too_small.out" "$IT_TMP/fixed.out"
expect_dead_letters "$dlq" "$topic" "$group" "$IT_TMP/manifest.txt"
log "ok: $total messages ($toxic toxic); the failed runs acknowledged $acked," \
  "the fixed one the rest in $took ms; $toxic dead letters, each once, byte for byte"
