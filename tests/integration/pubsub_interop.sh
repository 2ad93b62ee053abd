#!/usr/bin/env bash
# Our binaries and Google's own Python client (google-cloud-pubsub, over
# gRPC) on the same emulator, each way round:
#   1. Python publishes events, some with attributes: event-consumer prints
#      every one of them, intact, once.
#   2. event-producer publishes --input lines: Python pulls exactly those
#      bytes, with the message ids the producer printed and no "key"
#      attribute (an --input line has no key).
#   3. event-producer's generator run: Python pulls 10 events, each with
#      attribute key = its service_name, and 3 malformed payloads, keyless.
#   4. event-producer --ordering --create: an ordered subscription, and
#      Python pulls each event with its service_name as ordering key, the
#      events of each key in the order they were sent.
# Needs IT_PUBSUB_PYTHON, a python with requirements.txt installed
# (scripts/test.sh makes one).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init

readonly INTEROP=$IT_DIR/pubsub/interop.py EVENTS=200
[[ -n ${IT_PUBSUB_PYTHON:-} && -x ${IT_PUBSUB_PYTHON:-} ]] ||
  fail "IT_PUBSUB_PYTHON is not set to a python with google-cloud-pubsub" \
    "(python3 -m venv DIR && DIR/bin/pip install -r" \
    "tests/integration/pubsub/requirements.txt; scripts/test.sh does this)"
"$IT_PUBSUB_PYTHON" -c 'import google.cloud.pubsub_v1' 2>"$IT_TMP/import.err" ||
  fail "$IT_PUBSUB_PYTHON cannot import google.cloud.pubsub_v1:" \
    "$(tail -n 1 "$IT_TMP/import.err")"

# interop ARGS...: interop.py with Google's client, on the emulator.
interop() {
  PUBSUB_EMULATOR_HOST=$EMULATOR "$IT_PUBSUB_PYTHON" "$INTEROP" "$@"
}

# --- 1. Python publishes, event-consumer reads --------------------------------
topic=$(unique_name topic)
sub=$(unique_name sub)
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"
interop setup "$PROJECT" "$topic" "$sub" 2>"$IT_TMP/py-setup.err" ||
  fail "interop.py setup failed: $(tail -n 3 "$IT_TMP/py-setup.err")"
interop publish "$PROJECT" "$topic" "$IT_TMP/events.txt" \
  2>"$IT_TMP/py-publish.err" ||
  fail "interop.py publish failed: $(tail -n 3 "$IT_TMP/py-publish.err")"
rc=0
"$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --max-messages "$EVENTS" \
  --idle-exit 20 >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err" || rc=$?
expect_eq "consumer exit status" "$rc" 0
check cover "$IT_TMP/events.txt" "$IT_TMP/consumer.out"
expect_summary "$IT_TMP/consumer.err" "consumed=$EVENTS" "valid=$EVENTS" \
  toxic=0 unacknowledged=0

# --- 2. event-producer publishes --input lines, Python reads ----------------
topic2=$(unique_name topic2)
sub2=$(unique_name sub2)
interop setup "$PROJECT" "$topic2" "$sub2" 2>"$IT_TMP/py-setup2.err" ||
  fail "interop.py setup failed: $(tail -n 3 "$IT_TMP/py-setup2.err")"
rc=0
"$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$topic2" \
  --input "$IT_DIR/pubsub/seed-input.ndjson" >"$IT_TMP/producer2.out" \
  2>"$IT_TMP/producer2.err" || rc=$?
expect_eq "producer --input exit status" "$rc" 0
expect_published "$IT_TMP/producer2.out" 13
interop pull "$PROJECT" "$sub2" 13 "$IT_TMP/pulled2.jsonl" \
  2>"$IT_TMP/py-pull2.err" ||
  fail "interop.py pull failed: $(tail -n 3 "$IT_TMP/py-pull2.err")"
interop same-data "$IT_DIR/pubsub/seed-input.ndjson" "$IT_TMP/pulled2.jsonl" \
  "$IT_TMP/producer2.out" || fail "what Python pulled is not what was sent"

# --- 3. event-producer's generator (keyed), Python reads --------------------
topic3=$(unique_name topic3)
sub3=$(unique_name sub3)
interop setup "$PROJECT" "$topic3" "$sub3" 2>"$IT_TMP/py-setup3.err" ||
  fail "interop.py setup failed: $(tail -n 3 "$IT_TMP/py-setup3.err")"
rc=0
"$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$topic3" \
  >"$IT_TMP/producer3.out" 2>"$IT_TMP/producer3.err" || rc=$?
expect_eq "producer generator run exit status" "$rc" 0
expect_published "$IT_TMP/producer3.out" 13
interop pull "$PROJECT" "$sub3" 13 "$IT_TMP/pulled3.jsonl" \
  2>"$IT_TMP/py-pull3.err" ||
  fail "interop.py pull failed: $(tail -n 3 "$IT_TMP/py-pull3.err")"
interop generated "$IT_TMP/pulled3.jsonl" "$IT_TMP/producer3.out" 10 3 ||
  fail "the generator's messages, as Python sees them, are not right"
# --- 4. event-producer --ordering, Python reads ------------------------------
topic4=$(unique_name topic4)
sub4=$(unique_name sub4)
rc=0
"$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$topic4" --subscription "$sub4" \
  --create --ordering --input "$IT_DIR/pubsub/seed-input.ndjson" \
  >"$IT_TMP/producer4.out" 2>"$IT_TMP/producer4.err" || rc=$?
expect_eq "producer --ordering exit status" "$rc" 0
expect_published "$IT_TMP/producer4.out" 13
emulator_api GET "projects/$PROJECT/subscriptions/$sub4" >"$IT_TMP/sub4.json"
grep -qE '"enableMessageOrdering": *true' "$IT_TMP/sub4.json" ||
  fail "--ordering --create did not make an ordered subscription:" \
    "$(tr -d '\n' <"$IT_TMP/sub4.json")"
interop pull "$PROJECT" "$sub4" 13 "$IT_TMP/pulled4.jsonl" \
  2>"$IT_TMP/py-pull4.err" ||
  fail "interop.py pull failed: $(tail -n 3 "$IT_TMP/py-pull4.err")"
interop ordered "$IT_DIR/pubsub/seed-input.ndjson" "$IT_TMP/pulled4.jsonl" \
  "$IT_TMP/producer4.out" || fail "the ordered run, as Python sees it, is wrong"
log "ok: $EVENTS Python messages read intact; our 13 + 13 + 13 read by" \
  "Python with their bytes, ids, keys and ordering keys"
