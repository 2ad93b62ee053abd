#!/usr/bin/env bash
# SIGTERM in the middle of a stream: the consumer finishes the batch in hand,
# commits, prints its summary and exits 0, promptly. The next run of its
# group prints exactly what the first did not: nothing lost, nothing twice.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

readonly BACKLOG=100 LIVE=200 RATE=50
readonly EVENTS=$((BACKLOG + LIVE))
topic=$(unique_name topic)
group=$(unique_name group)
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"
head -n "$BACKLOG" "$IT_TMP/events.txt" >"$IT_TMP/backlog.txt"
tail -n "$LIVE" "$IT_TMP/events.txt" >"$IT_TMP/live.txt"

# A backlog first (it also creates the topic), then a paced stream while the
# consumer runs, so the signal lands mid-stream.
"$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/backlog.txt" \
  >/dev/null 2>"$IT_TMP/producer1.err" || fail "producer (backlog) failed"
spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" --idle-exit 30 \
  >"$IT_TMP/run1.out" 2>"$IT_TMP/run1.err"
consumer_pid=$!
spawn "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/live.txt" \
  --rate "$RATE" >"$IT_TMP/producer2.out" 2>"$IT_TMP/producer2.err"
producer_pid=$!

# Stdout is flushed once per batch, so its length is how far the consumer is.
past_backlog() {
  (($(count_lines "$IT_TMP/run1.out") >= BACKLOG + LIVE / 4))
}
wait_until 30 past_backlog ||
  fail "the consumer printed only $(count_lines "$IT_TMP/run1.out") events in 30 s"
kill -TERM "$consumer_pid"
sent=$SECONDS
rc=0
reap "$consumer_pid" || rc=$?
expect_eq "consumer exit status after SIGTERM" "$rc" 0
((SECONDS - sent <= 5)) ||
  fail "the consumer took $((SECONDS - sent)) s to stop after SIGTERM"
n1=$(count_lines "$IT_TMP/run1.out")
((n1 < EVENTS)) ||
  fail "the consumer had printed all $EVENTS events before SIGTERM; the test proved nothing"
expect_summary "$IT_TMP/run1.err" "consumed=$n1" "valid=$n1" toxic=0

rc=0
reap "$producer_pid" || rc=$?
expect_eq "producer (stream) exit status" "$rc" 0
n=$(grep -c '^Published message ' "$IT_TMP/producer2.out" || true)
expect_eq "events published while the consumer ran" "$n" "$LIVE"

consume_rest "$topic" "$group" $((EVENTS - n1)) run2
check cover "$IT_TMP/events.txt" "$IT_TMP/run1.out" "$IT_TMP/run2.out"
log "ok: stopped after $n1 events; the rerun printed the other $((EVENTS - n1))"
