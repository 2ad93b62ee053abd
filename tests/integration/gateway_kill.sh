#!/usr/bin/env bash
# Issue 11, integration test 4: event-consumer --sink firestore SIGKILLed
# KILLS times while requests flow (bench/gateway-load.py, open loop, through
# event-gateway and Pub/Sub), restarted each time. Every accepted request
# then ends as exactly one document: each tenant holds exactly the log ids
# the gateway accepted for it, and nothing else exists in the project
# (gateway/firestore.py expect).
#
# Half the kills come at random points of a run's work: once the run has
# written its share of documents and lived MIN_LIFE_S. The other half come
# while a commit is in flight, to make sure of the case that matters most:
# the test's own Firestore emulator (scripts/firestore-emulator.sh) is
# paused, the consumer's next commit hangs, the consumer is killed, and the
# emulator resumed then carries out the commit of a consumer that can no
# longer acknowledge it. Every kill comes while the stream still flows.
# What a killed run had pulled or written but not acknowledged is delivered
# again once its ack deadline (ACK_DEADLINE s) runs out; written again, a
# document keeps its id (the log id) and gets a later updateTime: the test
# counts those and requires some, else it proved nothing about redelivery.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=gateway_lib.sh
source "$(dirname "$0")/gateway_lib.sh"

readonly RATE=3000 DURATION=45 KILLS=4 STEP=150 MIN_LIFE_S=2 ACK_DEADLINE=10

# shellcheck disable=SC2317 # called by it_cleanup
it_on_exit() {
  own_firestore_stop
}
own_firestore "$IT_TMP/firestore"
gateway_init
topic=$(unique_name topic)
sub=$(unique_name sub)
pubsub_pair "$topic" "$sub" "$ACK_DEADLINE"
gateway_start gw "${PUBSUB[@]}" --pubsub-topic "$topic"

spawn load stream "$RATE" "$DURATION" --tenants 5
loader=$!
# A backlog first, so that the first run has a batch in hand at once.
sleep 3

consumer_args=("${PUBSUB[@]}" --subscription "$sub" "${SINK[@]}")
DOCS=$(fs_count)
for k in $(seq "$KILLS"); do
  consumer_start "run$k" "${consumer_args[@]}"
  born=$SECONDS
  wait_docs $((DOCS + STEP)) 60 "$CONSUMER_PID"
  while ((SECONDS - born < MIN_LIFE_S)); do
    sleep 0.2
  done
  how="at random"
  if ((k % 2 == 0)); then
    own_fs pause
    # The stream keeps coming: within a second the consumer's next batch
    # is committed, and the commit hangs.
    sleep 1.5
    how="with a commit in flight"
  fi
  crash "$CONSUMER_PID"
  ((k % 2)) || own_fs resume
  kill -0 "$loader" 2>/dev/null ||
    fail "kill $k came after the stream had ended: not mid-stream"
  log "kill $k ($how): $DOCS documents or more"
done

rc=0
reap "$loader" || rc=$?
load_done stream "$rc"

# The last run reads the rest, redeliveries included, and stops cleanly.
consumer_start last "${consumer_args[@]}"
wait_docs "$N" 120 "$CONSUMER_PID"
# What the killed runs left unacknowledged comes back within a deadline.
sleep $((ACK_DEADLINE + 5))
stop_process "$CONSUMER_PID" "the last event-consumer"
stop_process "$GW_PID" "event-gateway"
fs_expect "$IT_TMP/stream.accepted"
again=$(fs rewritten)
((again > 0)) ||
  fail "no document was written twice: no killed run left a write" \
    "unacknowledged, so the test proved nothing about redelivery"
log "ok: $KILLS kills mid-stream, $N accepted requests, $N documents" \
  "exactly; $again of them written again after a redelivery"
