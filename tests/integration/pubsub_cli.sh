#!/usr/bin/env bash
# The Pub/Sub side of the command-line contract: usage errors (64), --help,
# a missing topic or subscription without --create (69, with the API's
# NOT_FOUND), --create made idempotent, and an --input file with an empty
# line (Pub/Sub refuses empty messages): that line is reported by number and
# counted as failed, the others are delivered, and the producer exits 69.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
pubsub_init

# --- usage and --help ----------------------------------------------------------
readonly OPTIONS=(--transport --project --pubsub-topic --subscription --create
  --ordering --credentials --emulator-host --pubsub-endpoint
  --request-timeout --ack-deadline)
closed=(--transport pubsub --emulator-host 127.0.0.1:1)
for bin in "$PRODUCER" "$CONSUMER"; do
  role=${bin##*/}
  expect_error 64 GCP_PROJECT_ID "$bin" --transport pubsub --emulator-host \
    127.0.0.1:1
  expect_error 64 GCP_PROJECT_ID env TRANSPORT=pubsub "$bin" --emulator-host \
    127.0.0.1:1
  expect_error 64 --transport "$bin" --transport carrier-pigeon
  expect_error 64 --ack-deadline "$bin" "${closed[@]}" --project "$PROJECT" \
    --ack-deadline 9
  expect_error 64 --ack-deadline "$bin" "${closed[@]}" --project "$PROJECT" \
    --ack-deadline 601

  run help "$bin" --help
  expect_eq "$role --help exit status" "$RC" 0
  for opt in "${OPTIONS[@]}"; do
    grep -qE -- "(^|[ ,])$opt( |$)" "$IT_TMP/help.out" ||
      fail "$role --help does not list $opt"
  done
done
run help "$CONSUMER" --help
for opt in --pull-max --pulls; do
  grep -qE -- "(^|[ ,])$opt( |$)" "$IT_TMP/help.out" ||
    fail "event-consumer --help does not list $opt"
done
expect_error 64 --pull-max "$CONSUMER" "${closed[@]}" --project \
  "$PROJECT" --pull-max 0
expect_error 64 --pull-max "$CONSUMER" "${closed[@]}" --project \
  "$PROJECT" --pull-max 1001

# --- a topic or subscription that does not exist -------------------------------
missing=$(unique_name missing)
run nosub "$CONSUMER" "${PUBSUB[@]}" --subscription "$missing" --idle-exit 5
expect_eq "consumer exit status, subscription missing, no --create" "$RC" 69
grep -q '^ERROR: .*NOT_FOUND' "$IT_TMP/nosub.err" ||
  fail "the consumer's error does not carry the API's NOT_FOUND:" \
    "$(cat "$IT_TMP/nosub.err")"
grep '^ERROR: ' "$IT_TMP/nosub.err" | grep -qF -- "$missing" ||
  fail "the consumer's error does not name the subscription $missing"
[[ ! -s $IT_TMP/nosub.out ]] || fail "the consumer wrote to stdout"
run notopic "$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$missing" --count 1 \
  --malformed 0
expect_eq "producer exit status, topic missing, no --create" "$RC" 69
grep -q '^ERROR: .*NOT_FOUND' "$IT_TMP/notopic.err" ||
  fail "the producer's error does not carry the API's NOT_FOUND:" \
    "$(cat "$IT_TMP/notopic.err")"
# Neither made anything: a failed check must not create.
expect_no_pubsub_name "$missing" "without --create"

# --- --create, twice ------------------------------------------------------------
topic=$(unique_name topic)
sub=$(unique_name sub)
for i in 1 2; do
  run create-c$i "$CONSUMER" "${PUBSUB[@]}" --pubsub-topic "$topic" \
    --subscription "$sub" --create --ack-deadline 42 --idle-exit 1
  expect_eq "consumer --create run $i exit status" "$RC" 0
  expect_summary "$IT_TMP/create-c$i.err" consumed=0
  run create-p$i "$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$topic" \
    --subscription "$sub" --create --ack-deadline 42 --count 0 --malformed 0
  expect_eq "producer --create run $i exit status" "$RC" 0
done
emulator_api GET "projects/$PROJECT/topics/$topic" >/dev/null
expect_ack_deadline "$sub" 42
emulator_api GET "projects/$PROJECT/subscriptions/$sub" >"$IT_TMP/sub.json"
grep -qF "\"projects/$PROJECT/topics/$topic\"" "$IT_TMP/sub.json" ||
  fail "subscription $sub is not on topic $topic: $(cat "$IT_TMP/sub.json")"

# --- an empty --input line ------------------------------------------------------
# On a topic and subscription of its own: the --create consumers above left
# pulls waiting on theirs, and the emulator would hand new messages to those
# (whose callers are gone) until the ack deadline ran out.
topic=$(unique_name topic2)
sub=$(unique_name sub2)
make_events 5 "$topic" >"$IT_TMP/events.txt"
{
  head -n 1 "$IT_TMP/events.txt"
  echo
  tail -n +2 "$IT_TMP/events.txt"
} >"$IT_TMP/input.txt"
run empty "$PRODUCER" "${PUBSUB[@]}" --pubsub-topic "$topic" \
  --subscription "$sub" --create --input "$IT_TMP/input.txt"
expect_eq "producer exit status with an empty line (failed > 0)" "$RC" 69
# Named by its line number ("line 2", as the README shows it for --input;
# "message 2" would say the same).
n=$(grep -cE '^ERROR: .*(line|message) 2 not published: ' "$IT_TMP/empty.err" ||
  true)
expect_eq "ERROR lines 'line 2 not published: ...'" "$n" 1
n=$(grep -c '^ERROR: ' "$IT_TMP/empty.err" || true)
expect_eq "ERROR lines of the producer" "$n" 1
grep -q 'Summary: queued=[0-9]* delivered=5 failed=1 undelivered=0$' \
  "$IT_TMP/empty.err" ||
  fail "producer summary is not delivered=5 failed=1: $(grep Summary "$IT_TMP/empty.err")"
expect_published "$IT_TMP/empty.out" 5
run empty-c "$CONSUMER" "${PUBSUB[@]}" --subscription "$sub" --max-messages 5 \
  --idle-exit 20
expect_eq "consumer exit status after the empty-line run" "$RC" 0
check cover "$IT_TMP/events.txt" "$IT_TMP/empty-c.out"
log "ok: usage 64, --help, NOT_FOUND 69, --create idempotent, empty line" \
  "reported by its line number"
