#!/usr/bin/env bash
# Issue 11, integration test 5: Firestore stops answering for OUTAGE_S
# seconds in the middle of a stream, on an emulator of the test's own
# (scripts/firestore-emulator.sh pause, SIGSTOP: connections hang, as with
# a network partition; then resume): the shared one at
# FIRESTORE_EMULATOR_HOST stays up for the other tests.
#
# Requests keep flowing through event-gateway and Pub/Sub all along
# (bench/gateway-load.py): the gateway accepts every one of them, the
# outage being none of its business. Meanwhile event-consumer --sink
# firestore (--sink-timeout 120) retries, saying so in WARN lines, and
# acknowledges nothing: its messages_acknowledged_total (/metrics) does not
# move from the outage's first seconds to its end, so the subscription
# keeps every message. Once Firestore is back, nothing is lost: every
# accepted request is exactly one document, nothing else exists.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"

readonly RATE=1500 DURATION=45 OUTAGE_S=20 ACK_DEADLINE=10

# shellcheck disable=SC2317 # called by it_cleanup
it_on_exit() {
  own_firestore_stop
}
own_firestore "$IT_TMP/firestore"
gateway_init
log "own Firestore emulator at $FS_EMULATOR"

topic=$(unique_name topic)
sub=$(unique_name sub)
pubsub_pair "$topic" "$sub" "$ACK_DEADLINE"
gateway_start gw "${PUBSUB[@]}" --pubsub-topic "$topic"
# --request-timeout: a request to the stopped emulator hangs until then;
# a short one lets the client's own retries give up well inside the
# outage, and the sink's retries begin.
consumer_start consumer "${PUBSUB[@]}" --subscription "$sub" "${SINK[@]}" \
  --sink-timeout 120 --request-timeout 1
spawn load stream "$RATE" "$DURATION" --tenants 3
loader=$!

wait_docs 200 60 "$CONSUMER_PID"
own_fs pause
down=$SECONDS
log "Firestore paused at $DOCS documents or more"
retrying() {
  grep -qE '^WARN: sink firestore: .+; retrying in ' "$IT_TMP/consumer.err"
}
wait_until $((OUTAGE_S - 5)) retrying ||
  fail "no 'sink firestore: ...; retrying in' WARN line in $((OUTAGE_S - 5)) s" \
    "of the outage"
# The sink retries once the client's own attempts at a commit have all
# failed, seconds into the outage: a commit answered just before the pause
# has been acknowledged by then, and the count is settled.
acked1=$(acknowledged "$CONSUMER_PORT")
while ((SECONDS - down < OUTAGE_S)); do
  sleep 0.2
done
kill -0 "$CONSUMER_PID" 2>/dev/null || fail "the consumer exited during the outage"
acked2=$(acknowledged "$CONSUMER_PORT")
retries=$(metric_value "$IT_TMP/metrics.txt" event_ingest_sink_retries_total)
streaming=yes
kill -0 "$loader" 2>/dev/null || streaming=no
own_fs resume
log "Firestore resumed after $((SECONDS - down)) s (still streaming:" \
  "$streaming), $retries sink retries"
expect_eq "messages acknowledged while Firestore was down (/metrics)" \
  "$acked2" "$acked1"
[[ $streaming == yes ]] || fail "the stream had ended before the outage did"
((${retries:-0} > 0)) ||
  fail "event_ingest_sink_retries_total is ${retries:-absent} after the outage"

# Every request accepted, the outage notwithstanding.
rc=0
reap "$loader" || rc=$?
load_done stream "$rc"
((acked1 < N)) || fail "everything was acknowledged before the outage"

wait_docs "$N" 120 "$CONSUMER_PID"
stop_process "$CONSUMER_PID" "event-consumer"
stop_process "$GW_PID" "event-gateway"
fs_expect "$IT_TMP/stream.accepted"
log "ok: Firestore down ${OUTAGE_S}s mid-stream; $acked1 acknowledged" \
  "before, none more meanwhile; all $N accepted requests stored once"
