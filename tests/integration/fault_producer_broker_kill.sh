#!/usr/bin/env bash
# The broker crashes while event-producer sends 50,000 events: SIGKILL
# (kafka.sh kill) once 10,000 are delivered, then back on the same data
# (kafka.sh resume). The idempotent producer (enable.idempotence, acks=all)
# keeps what it could not send queued and retries it, so every event ends
# up on the topic exactly once, in order, and the producer exits 0.
#
# What it cannot show: a broker SIGKILLed on a live machine keeps what it
# wrote in the page cache, so here a retry found nothing lost and nothing to
# duplicate even with idempotence off; the test proves the end-to-end
# property (exactly once, in order, across the crash), not which setting
# provides it.
#
# Like fault_broker_restart it takes down the broker every other test uses:
# ctest runs it alone (RUN_SERIAL), and it_on_exit brings the broker back.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker
require_kafka_sh

readonly EVENTS=50000 KILL_AFTER=10000
topic=$(unique_name topic)
# One partition: "in order" is then a property of the whole topic.
create_topic "$topic" 1
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"

# shellcheck disable=SC2317 # called by it_cleanup
it_on_exit() {
  "$KAFKA_SH" status >/dev/null 2>&1 || "$KAFKA_SH" resume
}

# Paced, so that the crash lands mid-stream; a flush timeout well beyond
# the outage, so that the queued rest is delivered, not dropped.
spawn "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/events.txt" \
  --rate 10000 --flush-timeout 120 >"$IT_TMP/producer.out" \
  2>"$IT_TMP/producer.err"
producer=$!
delivered() { (($(count_lines "$IT_TMP/producer.out") >= KILL_AFTER)); }
wait_until 30 delivered ||
  fail "the producer delivered $(count_lines "$IT_TMP/producer.out") of" \
    "$KILL_AFTER events in 30 s"
broker_kill
log "broker killed after $(count_lines "$IT_TMP/producer.out") deliveries"
sleep 2
kill -0 "$producer" 2>/dev/null || fail "the producer exited while the broker was down"
broker_resume

rc=0
reap "$producer" || rc=$?
expect_eq "producer exit status" "$rc" 0
grep -q "Summary: queued=$EVENTS delivered=$EVENTS failed=0 undelivered=0\$" \
  "$IT_TMP/producer.err" ||
  fail "producer summary is not queued=$EVENTS delivered=$EVENTS failed=0:" \
    "$(grep 'Summary:' "$IT_TMP/producer.err")"
n=$(grep -cE '^Published message partition=0 offset=[0-9]+$' \
  "$IT_TMP/producer.out" || true)
expect_eq "'Published message' lines" "$n" "$EVENTS"

# What is really on the topic: each event once (no retry duplicated one),
# in the order it was sent (no retry reordered them).
kcat_read "$topic" >"$IT_TMP/topic.txt"
check cover "$IT_TMP/events.txt" "$IT_TMP/topic.txt"
cmp -s "$IT_TMP/events.txt" "$IT_TMP/topic.txt" ||
  fail "the topic holds every event once, but not in the order sent"
log "ok: $EVENTS events across a broker crash, each on the topic exactly" \
  "once and in order"
