#!/usr/bin/env bash
# --idle-exit after a crash: a consumer SIGKILLed mid-stream stays in the
# group until its session times out, and the rebalance that would give its
# partitions to a restarted consumer (no --instance-id) waits for that. The
# restarted consumer, with --idle-exit 3, must not take that wait for idle
# time and exit 0 with the backlog untouched: its clock starts once it holds
# partitions, and it drains every waiting event before exiting 0.
#
# Both consumers run with -X session.timeout.ms=6000 (the broker's
# group.min.session.timeout.ms) for this test only, so the dead member
# blocks the rebalance for about 6 s rather than the default 45 s: still
# twice the idle limit. The first one heartbeats every 0.5 s, so its session
# ends 5.5 to 6 s after the kill, whenever the kill lands.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_broker

readonly EVENTS=3000 RATE=500 IDLE_S=3
readonly SESSION=(-X session.timeout.ms=6000)
topic=$(unique_name topic)
group=$(unique_name group)
create_topic "$topic" 1
make_events "$EVENTS" "$topic" >"$IT_TMP/events.txt"

spawn "$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" "${SESSION[@]}" \
  -X heartbeat.interval.ms=500 --idle-exit 60 >"$IT_TMP/a.out" 2>"$IT_TMP/a.err"
a=$!
a_assigned() { grep -q '^INFO: kafka: assigned 1 partition' "$IT_TMP/a.err"; }
wait_until 20 a_assigned || fail "the first consumer was not assigned the partition in 20 s"
spawn "$PRODUCER" -b "$BROKERS" -t "$topic" --input "$IT_TMP/events.txt" \
  --rate "$RATE" >"$IT_TMP/producer.out" 2>"$IT_TMP/producer.err"
producer=$!

a_past_third() { (($(count_lines "$IT_TMP/a.out") >= EVENTS / 3)); }
wait_until 30 a_past_third ||
  fail "the first consumer printed only $(count_lines "$IT_TMP/a.out") events in 30 s"
crash "$a"
drop_partial_line "$IT_TMP/a.out"
t0=$(now_ms)
rc=0
"$CONSUMER" -b "$BROKERS" -t "$topic" -g "$group" "${SESSION[@]}" \
  --idle-exit "$IDLE_S" >"$IT_TMP/b.out" 2>"$IT_TMP/b.err" || rc=$?
took=$(($(now_ms) - t0))
expect_eq "restarted consumer exit status" "$rc" 0
rc=0
reap "$producer" || rc=$?
expect_eq "producer exit status" "$rc" 0
n=$(grep -c '^Published message ' "$IT_TMP/producer.out" || true)
expect_eq "events published" "$n" "$EVENTS"
check cover-some "$IT_TMP/events.txt" "$IT_TMP/a.out" "$IT_TMP/b.out"
log "ok: killed after $(count_lines "$IT_TMP/a.out") events; the restarted" \
  "consumer printed $(count_lines "$IT_TMP/b.out") and exited 0 after $took ms"
