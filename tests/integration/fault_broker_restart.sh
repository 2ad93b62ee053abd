#!/usr/bin/env bash
# The broker crashes under a running consumer: SIGKILL (kafka.sh kill), then
# it comes back on the same data (kafka.sh resume). The consumer rides it
# out on its own, with no restart: it prints the events published before
# the crash and those published after, then stops cleanly on SIGTERM.
#
# This test takes down the broker every other test uses: ctest runs it
# alone (RUN_SERIAL), and it_on_exit brings the broker back even when the
# test fails half-way.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker
require_kafka_sh

readonly PARTITIONS=2 HALF=1000
readonly EVENTS=$((2 * HALF))
topic=$(unique_name topic)
group=$(unique_name group)
create_topic "$topic" "$PARTITIONS"
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"
head -n "$HALF" "$IT_TMP/events.txt" >"$IT_TMP/first.txt"
tail -n "$HALF" "$IT_TMP/events.txt" >"$IT_TMP/second.txt"

# shellcheck disable=SC2317 # called by it_cleanup
it_on_exit() {
  "$KAFKA_SH" status >/dev/null 2>&1 || "$KAFKA_SH" resume
}

# --idle-exit only as a safety net, longer than the outage: the test stops
# the consumer itself.
spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --idle-exit 90 \
  >"$IT_TMP/consumer.out" 2>"$IT_TMP/consumer.err"
consumer=$!
assigned() { grep -q "^INFO: kafka: assigned $PARTITIONS partition" "$IT_TMP/consumer.err"; }
wait_until 20 assigned || fail "the consumer was not assigned the partitions in 20 s"
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/first.txt" \
  >/dev/null 2>"$IT_TMP/producer1.err" || fail "producer (first half) failed"
printed() {
  (($(sort -u "$IT_TMP/consumer.out" | wc -l) >= $1))
}
wait_until 30 printed "$HALF" ||
  fail "the consumer printed $(count_lines "$IT_TMP/consumer.out") of $HALF events in 30 s"

broker_kill
down=$(now_ms)
# Let the consumer find the broker gone (failed fetches, heartbeats and
# commits) before it comes back.
sleep 2
kill -0 "$consumer" 2>/dev/null || fail "the consumer exited while the broker was down"
broker_resume
outage=$(($(now_ms) - down))

rc=0
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/second.txt" \
  >"$IT_TMP/producer2.out" 2>"$IT_TMP/producer2.err" || rc=$?
expect_eq "producer (second half) exit status" "$rc" 0
back=$(now_ms)
wait_until 60 printed "$EVENTS" ||
  fail "after the broker came back the consumer printed" \
    "$(sort -u "$IT_TMP/consumer.out" | wc -l) distinct events of $EVENTS in 60 s"
caught_up=$(($(now_ms) - back))
kill -TERM "$consumer"
rc=0
reap "$consumer" || rc=$?
expect_eq "consumer exit status after SIGTERM" "$rc" 0
check cover-some "$IT_TMP/events.txt" "$IT_TMP/consumer.out"
n=$(count_lines "$IT_TMP/consumer.out")
expect_summary "$IT_TMP/consumer.err" "consumed=$n" "valid=$n" toxic=0
log "ok: broker down for $outage ms; all $EVENTS events printed" \
  "($((n - EVENTS)) twice) $caught_up ms after the second half was published"
